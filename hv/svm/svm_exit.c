/* The SVM backend's exits: instruction lengths (next-RIP save or the
 * bytes at RIP), the SVM-only exits (MSR, #UD for VMCALL, NPF, IOIO,
 * INIT/NMI), and the dispatch svm_launch calls after every #VMEXIT. The
 * VMCB setup and start are svm.c. Section numbers are the AMD APM Vol. 2
 * unless said otherwise. */
#include <minihv/format.h>
#include <minihv/io.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "hv/console.h"
#include "hv/ept.h"
#include "hv/event_rules.h"
#include "hv/heap.h"
#include "hv/host.h"
#include "hv/exit_rules.h"
#include "hv/hv.h"
#include "hv/svm/svm.h"
#include "hv/svm/svm_cpu.h"
#include "hv/io.h"
#include "hv/ipi.h"
#include "hv/msr.h"
#include "hv/msr_policy.h"
#include "hv/refuse.h"
#include "hv/svm/svm_policy.h"
#include "hv/svm/vmcb.h"
#include "hv/vcpu.h"

/* ---- instruction lengths ---- */

/* The code segment's address size as a mask: the next IP wraps there
 * (hv/event_rules.h; 16-bit code at IP 0xffff continues at 0). */
static uint64_t guest_ip_mask(struct vcpu *v)
{
    const struct vmcb_save *s = &svm_of(v)->vmcb->save;
    return ip_mask((s->efer & EFER_LMA) && (s->cs.attrib & VMCB_ATTR_L), s->cs.attrib & VMCB_ATTR_DB);
}

/* Sets v->exit.insn_len for an intercepted instruction: next RIP minus
 * RIP where the CPU saves it (15.7.1), modulo the address size, else the
 * bytes at RIP must be that instruction (with any prefixes). False when
 * they are not. */
static bool find_insn_len(struct vcpu *v, enum svm_insn insn)
{
    const struct vmcb *vmcb = svm_of(v)->vmcb;
    if (svm_caps.nrips) {
        unsigned len = insn_len_wrapped(v->regs.rip, vmcb->control.next_rip, guest_ip_mask(v));
        if (len) {
            v->exit.insn_len = len;
            return true;
        }
    }
    uint8_t bytes[DECODE_MAX_INSN_LEN];
    enum decode_mode mode;
    unsigned n = vcpu_fetch_insn(v, bytes, &mode);
    v->exit.insn_len = svm_insn_length(bytes, n, mode, insn);
    return v->exit.insn_len != 0;
}

/* False when the length is not known: the bytes at RIP are no longer the
 * intercepted instruction (another CPU rewrote them) or cannot be read.
 * Never FATAL: the caller returns with RIP unchanged and the guest runs
 * what is there now, exiting again if it must (counted insn-length). */
static bool need_insn_len(struct vcpu *v, enum svm_insn insn)
{
    if (find_insn_len(v, insn))
        return true;
    hv_refuse(HV_REFUSE_INSN_LENGTH, "cpu %u: exit %s: the intercepted instruction is not at RIP 0x%lx (no "
              "next-RIP save): run again", v->index, v->exit.name, v->regs.rip);
    return false;
}

/* ---- SVM-only exits ---- */

static void handle_cpuid(struct vcpu *v)
{
    uint32_t leaf = (uint32_t)v->regs.gpr[DECODE_RAX], sub = (uint32_t)v->regs.gpr[DECODE_RCX];
    if (!need_insn_len(v, SVM_INSN_CPUID))
        return;
    vcpu_handle_cpuid(v);
    uint32_t r[4] = { (uint32_t)v->regs.gpr[DECODE_RAX], (uint32_t)v->regs.gpr[DECODE_RBX],
                      (uint32_t)v->regs.gpr[DECODE_RCX], (uint32_t)v->regs.gpr[DECODE_RDX] };
    svm_cpuid_policy(leaf, sub, r);
    v->regs.gpr[DECODE_RAX] = r[0];
    v->regs.gpr[DECODE_RBX] = r[1];
    v->regs.gpr[DECODE_RCX] = r[2];
    v->regs.gpr[DECODE_RDX] = r[3];
}

static void msr_done(struct vcpu *v, enum msr_result rc, bool read, uint64_t value)
{
    if (rc != MSR_OK) {
        svm_inject_exception(v, 13, true, 0);
        return;
    }
    if (read) {
        v->regs.gpr[DECODE_RAX] = (uint32_t)value;
        v->regs.gpr[DECODE_RDX] = value >> 32;
    }
    vcpu_skip_insn(v);
}

/* MSR exit (15.11): EXITINFO1 0 = RDMSR, 1 = WRMSR. The row (hv/msr_policy.c)
 * says who answers: the emulated MSRs that live in the VMCB here, the rest
 * msr_handle_exit. */
static void handle_msr(struct vcpu *v)
{
    struct vmcb_save *s = &svm_of(v)->vmcb->save;
    bool write = v->exit.qualification & 1;
    uint32_t msr = (uint32_t)v->regs.gpr[DECODE_RCX];
    uint64_t value = (uint32_t)v->regs.gpr[DECODE_RAX] | v->regs.gpr[DECODE_RDX] << 32;
    vcpu_count(v, write ? MINIHV_EXIT_MSR_WRITE : MINIHV_EXIT_MSR_READ);
    if (!need_insn_len(v, write ? SVM_INSN_WRMSR : SVM_INSN_RDMSR))
        return;
    const struct msr_rule *r = msr_rule_find(msr, MSR_ON_SVM);
    if ((write ? r->write : r->read) != MSR_EMUL) {
        msr_handle_exit(v, MSR_ON_SVM, write);
        return;
    }
    switch ((enum msr_emul)r->emul) {
    case MSR_EMUL_EFER:
        if (!write) {
            msr_done(v, MSR_OK, true, svm_efer_read(s->efer));
        } else {
            uint64_t efer = 0;
            enum msr_result rc = svm_efer_write(s->efer, value, svm_caps.efer_allowed, s->cr0 & CR0_PG, &efer);
            if (rc == MSR_OK && efer != s->efer) {
                s->efer = efer;
                svm_of(v)->vmcb->control.tlb_control = SVM_TLB_FLUSH_ALL; /* NXE changes walks */
            }
            msr_done(v, rc, false, 0);
        }
        return;
    case MSR_EMUL_VM_CR:
    case MSR_EMUL_VM_HSAVE_PA: {
        /* The policy call first: passed as two arguments of one call, `out`
         * may be read before the policy writes it (the order of argument
         * evaluation is unspecified, C11 6.5.2.2p10), and GCC did so: the
         * guest read VM_CR as 0, SVM enabled and unlocked. */
        uint64_t out = 0;
        enum msr_result rc = write ? svm_msr_write_policy(msr, value) : svm_msr_read_policy(msr, &out);
        msr_done(v, rc, !write, out);
        return;
    }
    case MSR_EMUL_PAT:
        /* With NPT the guest's PAT is the VMCB's g_pat (15.25.8); a native
         * WRMSR would change the host PAT, the core's memory types. */
        if (!write) {
            msr_done(v, MSR_OK, true, s->g_pat);
        } else if (msr_pat_valid(value)) {
            s->g_pat = value;
            svm_of(v)->vmcb->control.tlb_control = SVM_TLB_FLUSH_ALL;
            msr_done(v, MSR_OK, false, 0);
        } else {
            msr_done(v, MSR_GP, false, 0); /* reserved type: #GP as the hardware */
        }
        return;
    default:
        msr_handle_exit(v, MSR_ON_SVM, write); /* the neutral ones: x2APIC ICR, ... */
        return;
    }
}

/* #UD intercept: Intel's VMCALL at CPL 0 is our hypercall too (so that
 * guests built for VMX keep working), any other #UD is the guest's. */
static void handle_ud(struct vcpu *v)
{
    /* No next RIP for exceptions: the bytes at RIP decide. */
    uint8_t bytes[DECODE_MAX_INSN_LEN];
    enum decode_mode mode;
    unsigned n = vcpu_fetch_insn(v, bytes, &mode);
    v->exit.insn_len = svm_insn_length(bytes, n, mode, SVM_INSN_VMCALL);
    if (v->exit.insn_len) {
        vcpu_count(v, MINIHV_EXIT_HYPERCALL);
        vcpu_handle_hypercall(v);
        return;
    }
    vcpu_count(v, MINIHV_EXIT_EXCEPTION);
    svm_inject_exception(v, VECTOR_UD, false, 0);
}

/* Nested page fault (15.25.6): the core's memory goes to the neutral
 * handler (decoder: reads all-ones, writes dropped); a write to the local
 * APIC page to ipi.c. */
static void handle_npf(struct vcpu *v, uint64_t intinfo)
{
    const struct vmcb_control *c = &svm_of(v)->vmcb->control;
    uint64_t gpa = c->exit_info2, err = c->exit_info1;
    v->exit.gpa = gpa;
    if (intinfo & SVM_EVENT_VALID) {
        /* The event's IDT gate, TSS or stack is on a page the guest may
         * not touch (15.7.2: EXITINTINFO holds the event). Never FATAL:
         * the #GP hardware raises for an unusable gate, combined with the
         * event by SDM Vol. 3A Table 6-5 (hv/event_rules.h): #GP, #DF, or
         * after a #DF the shutdown (the core's machine reset). The event
         * is dropped, not re-injected: the fault replaces it. */
        unsigned type = (unsigned)(intinfo >> 8) & 7, vector = (unsigned)intinfo & 0xff;
        enum event_outcome o = event_delivery_fault(type == 3, vector);
        vcpu_count(v, MINIHV_EXIT_NPF_HV_MEMORY);
        hv_refuse(HV_REFUSE_EVENT_DELIVERY, "cpu %u: event delivery touched 0x%lx, a page the guest may not (its "
                  "IDT, TSS or stack; event in flight 0x%lx, RIP 0x%lx): %s", v->index, gpa, intinfo, v->regs.rip,
                  o == EVENT_RAISE_GP ? "#GP" : o == EVENT_RAISE_DF ? "#DF" : "shutdown");
        if (o == EVENT_TRIPLE_FAULT)
            vcpu_reset_machine(v, "guest triple fault (a #DF could not be delivered)");
        if (o == EVENT_RAISE_DF)
            svm_inject_exception(v, 8, true, 0);
        else /* types 0 INTR, 2 NMI, 3 exception are external: EXT (6.13) */
            svm_inject_exception(v, 13, true, event_idt_error_code(vector, type != 4));
        return;
    }
    unsigned access = (err & SVM_NPF_WRITE) ? NPF_WRITE : NPF_READ;
    if (err & SVM_NPF_FETCH)
        access = NPF_FETCH;
    /* Checked against the decode only for the access itself, not a fault
     * on the guest's own page tables (EXITINFO1 bit 33, 15.25.6). */
    v->exit.access = (err & SVM_NPF_IN_WALK) ? 0 : access;
    if ((gpa & ~(PAGE_SIZE - 1)) == ipi_apic_page() && (err & SVM_NPF_PRESENT) && !(err & SVM_NPF_FETCH)) {
        vcpu_count(v, MINIHV_EXIT_NPF_MMIO);
        ipi_apic_write(v, gpa);
        return;
    }
    vcpu_handle_npf(v, gpa, access);
}

/* IOIO intercept (15.10.2): EXITINFO1 says what, EXITINFO2 is the next
 * RIP (saved for IOIO even without NRIPS). */
static void handle_ioio(struct vcpu *v)
{
    const struct vmcb_control *c = &svm_of(v)->vmcb->control;
    uint64_t info = c->exit_info1;
    unsigned size = (info & SVM_IOIO_SZ32) ? 4 : (info & SVM_IOIO_SZ16) ? 2 : 1;
    /* Modulo the address size: `in al, dx` at IP 0xffff in 16-bit code
     * continues at 0. A length no instruction has: #GP, never FATAL. */
    unsigned len = insn_len_wrapped(v->regs.rip, c->exit_info2, guest_ip_mask(v));
    vcpu_count(v, MINIHV_EXIT_IO);
    if (!len) {
        hv_refuse(HV_REFUSE_INSN_LENGTH, "cpu %u: IOIO intercept: EXITINFO2 (next RIP 0x%lx) is not past RIP "
                  "0x%lx: #GP", v->index, c->exit_info2, v->regs.rip);
        svm_inject_exception(v, 13, true, 0);
        return;
    }
    v->exit.insn_len = len;
    vcpu_handle_io(v, SVM_IOIO_PORT(info), size, info & SVM_IOIO_IN, info & SVM_IOIO_STR, info & SVM_IOIO_REP);
}

/* ---- NMIs (15.21.4, 15.9, 15.20; SDM Vol. 3A 6.7.1) ----
 * Every physical NMI exits (the core's kick for a virtual INIT rides on
 * it, hv/ipi.h), so the guest's NMI blocking is the core's to keep: a
 * guest NMI is injected only while the guest does not block NMIs; its
 * injection blocks them and intercepts IRET; at the IRET #VMEXIT the
 * IRET has not run yet, so the window opens after it: with an NMI
 * pending, the IRET is single-stepped (TF, #DB intercepted) and the NMI
 * injected at the #DB exit, at the instruction the IRET returned to, as
 * hardware takes it (KVM's iret_interception and svm_enable_nmi_window,
 * bhyve's the same). Meanwhile one NMI is held (v->nmi_pending), more
 * collapse into it. With vNMI (15.21.10) the CPU does all of it.
 * A MOV SS/STI shadow with IF set is waited out with a VINTR window
 * instead (no flag of the guest's touched). Inexact, as in KVM: an NMI
 * pending while the core injects another event (a faulting IRET's fault
 * included), or while the guest single-steps the IRET itself, waits for
 * the next exit instead of coming right after that event's delivery; a
 * stepped instruction that saves RFLAGS itself (PUSHF, INT n, SYSCALL
 * under a MOV SS shadow with IF clear, never an IRET) saves the step's
 * TF. */

/* Undoes the single step at the exit that follows it, whatever the exit
 * is: TF back to the guest's own (unless the IRET ran: RFLAGS is then the
 * one it popped), its faults no longer intercepted. True if a step was
 * armed. */
static bool nmi_step_end(struct vcpu *v)
{
    struct svm_cpu *c = svm_of(v);
    if (!c->nmi_step)
        return false;
    c->nmi_step = false;
    c->vmcb->control.intercept_exceptions &= ~(STEP_FAULT_VECTORS & ~ALWAYS_INTERCEPTED_VECTORS);
    c->vmcb->control.intercept_misc1 &= ~SVM_INTERCEPT_INTR;
    if (v->regs.rip == c->nmi_step_rip || !c->nmi_step_iret)
        v->regs.rflags = (v->regs.rflags & ~RFLAGS_TF) | c->nmi_step_tf;
    return true;
}

/* The #DB intercept (always, svm_cpu.h). After the core's step: the
 * step's own trap is not the guest's (DR6 as it was, nothing delivered);
 * with the guest's own TF set or a breakpoint hit as well, the guest gets
 * its #DB, BS in DR6 only if its TF was set (SDM Vol. 3B 18.2.3).
 * Otherwise it is the guest's, with DR6 as the CPU wrote it in the VMCB
 * (15.12; the VMCB's DR6 is the guest's, 15.5.1), and DR7.GD cleared as
 * the delivery of any #DB clears it (SDM Vol. 3B 18.2.4). */
static void handle_db(struct vcpu *v, bool stepped)
{
    struct svm_cpu *c = svm_of(v);
    struct vmcb_save *s = &c->vmcb->save;
    vcpu_count(v, MINIHV_EXIT_EXCEPTION);
    if (stepped && !c->nmi_step_tf && !((s->dr6 ^ c->nmi_step_dr6) & 0xf)) {
        s->dr6 = c->nmi_step_dr6;
        return;
    }
    if (stepped && !c->nmi_step_tf)
        s->dr6 = (s->dr6 & ~DR6_BS) | (c->nmi_step_dr6 & DR6_BS);
    s->dr7 &= ~DR7_GD; /* as every #DB's delivery clears it (SDM Vol. 3B 18.2.4) */
    svm_inject_exception(v, VECTOR_DB, false, 0);
}

/* The IRET intercept (15.9): the guest leaves an NMI handler. RIP stays
 * at the IRET, which runs at the entry; NMIs are unblocked once RIP has
 * moved (nmi_before_entry). */
static void handle_iret(struct vcpu *v)
{
    struct svm_cpu *c = svm_of(v);
    vcpu_count(v, MINIHV_EXIT_EXCEPTION);
    c->vmcb->control.intercept_misc1 &= ~SVM_INTERCEPT_IRET;
    c->nmi_iret = true;
    c->nmi_iret_rip = v->regs.rip;
}

/* Before VMRUN, with the VMCB written back: the guest's pending NMI in,
 * or the window that lets it in armed. */
static void nmi_before_entry(struct vcpu *v)
{
    struct svm_cpu *c = svm_of(v);
    struct vmcb *vmcb = c->vmcb;
    if (c->nmi_iret && vmcb->save.rip != c->nmi_iret_rip) {
        c->nmi_iret = false; /* the IRET ran (SDM 6.7.1: even if it faulted) */
        c->nmi_blocked = false;
    }
    if (!v->nmi_pending)
        return;
    if (svm_caps.vnmi) {
        /* One held: a second collapses into V_NMI (15.21.10). */
        vmcb->control.int_control |= SVM_V_NMI_PENDING;
        v->nmi_pending = false;
        return;
    }
    if (c->injected || (vmcb->control.event_inj & SVM_EVENT_VALID))
        return; /* after that event, at the next exit */
    bool shadow = vmcb->control.int_state & 1;
    if (!c->nmi_blocked && !shadow) {
        vmcb->control.event_inj = SVM_EVENT_VALID | SVM_EVENT_TYPE_NMI | VECTOR_NMI;
        vmcb->control.int_control &= ~(SVM_V_IRQ | SVM_V_IGN_TPR); /* a VINTR window's */
        vmcb->control.intercept_misc1 &= ~SVM_INTERCEPT_VINTR;
        v->nmi_pending = false;
        c->nmi_blocked = true;
        c->nmi_iret = false;
        vmcb->control.intercept_misc1 |= SVM_INTERCEPT_IRET;
        return;
    }
    if (c->nmi_blocked && !c->nmi_iret)
        return; /* the IRET intercept is armed */
    if (!c->nmi_blocked && (vmcb->save.rflags & RFLAGS_IF)) {
        /* A MOV SS/STI shadow holds NMIs for one instruction (SDM 6.8.3)
         * and, with IF set, interrupts too: a virtual interrupt that is
         * never taken exits (VINTR, 15.21.4) exactly when the shadow
         * ends, without touching the guest's flags. */
        vmcb->control.int_control |= SVM_V_IRQ | SVM_V_IGN_TPR;
        vmcb->control.intercept_misc1 |= SVM_INTERCEPT_VINTR;
        return;
    }
    /* The IRET that unblocks NMIs runs next, or a MOV SS shadow with IF
     * clear holds NMIs for one instruction: single-step it (TF traps
     * after an instruction that began with TF set, SDM Vol. 3B 18.3.1.4),
     * with its faults intercepted so that none is delivered with the
     * step's TF in its frame (nmi_step_fault). */
    c->nmi_step = true;
    c->nmi_step_iret = c->nmi_blocked;
    c->nmi_step_rip = vmcb->save.rip;
    c->nmi_step_tf = vmcb->save.rflags & RFLAGS_TF;
    c->nmi_step_dr6 = vmcb->save.dr6;
    vmcb->save.rflags |= RFLAGS_TF;
    vmcb->control.intercept_exceptions |= STEP_FAULT_VECTORS;
    /* With the guest's IF set a physical interrupt may come before the
     * stepped IRET runs, and its frame would hold the step's TF: it exits
     * first (nmi_step_intr). */
    vmcb->control.intercept_misc1 |= SVM_INTERCEPT_INTR;
}

/* A physical interrupt before the stepped IRET ran (the guest's IF set
 * masks them, V_INTR_MASKING clear, 15.21.1): the intercept exits before
 * its delivery (15.21.2) and nmi_step_end has put the guest's TF back.
 * It is delivered at this entry without the step; the IRET intercept is
 * armed again, since the interrupt handler's IRET unblocks NMIs as any
 * IRET does (SDM Vol. 3A 6.7.1): that one is stepped instead. */
static void nmi_step_intr(struct vcpu *v, bool stepped)
{
    struct svm_cpu *c = svm_of(v);
    vcpu_count(v, MINIHV_EXIT_EXCEPTION);
    if (stepped && c->nmi_step_iret && v->regs.rip == c->nmi_step_rip) {
        c->nmi_iret = false;
        c->vmcb->control.intercept_misc1 |= SVM_INTERCEPT_IRET;
    }
}

/* The VINTR exit (15.21.4): the shadow is over; the window's virtual
 * interrupt is withdrawn, the NMI goes in at this entry. */
static void handle_vintr(struct vcpu *v)
{
    struct vmcb_control *ctl = &svm_of(v)->vmcb->control;
    vcpu_count(v, MINIHV_EXIT_EXCEPTION);
    ctl->int_control &= ~(SVM_V_IRQ | SVM_V_IGN_TPR);
    ctl->intercept_misc1 &= ~SVM_INTERCEPT_VINTR;
}

/* A fault of the stepped instruction (an IRET that faults, the shadowed
 * instruction): its exception intercept exits before delivery (15.12),
 * so nmi_step_end has already put the guest's TF back; delivered again
 * as it came, with CR2 for a #PF (EXITINFO2: the intercept does not
 * write CR2). */
static void nmi_step_fault(struct vcpu *v, unsigned vector)
{
    struct svm_cpu *c = svm_of(v);
    struct vmcb *vmcb = c->vmcb;
    vcpu_count(v, MINIHV_EXIT_EXCEPTION);
    if (c->nmi_step_iret) /* an IRET unblocks NMIs even if it faults (SDM 6.7.1) */
        c->nmi_blocked = c->nmi_iret = false;
    if (vector == VECTOR_PF)
        vmcb->save.cr2 = vmcb->control.exit_info2;
    svm_inject_exception(v, vector, (1u << vector) & ERROR_CODE_VECTORS, (uint32_t)vmcb->control.exit_info1);
}

/* The #AC intercept (always, svm_cpu.h): the guest's, back as it came
 * (error code 0, SDM Vol. 3A 6.15 "Interrupt 17"); a step's fault is
 * nmi_step_fault's. Each delivery that raises #AC again exits again. */
static void handle_ac(struct vcpu *v, bool stepped)
{
    if (stepped) {
        nmi_step_fault(v, VECTOR_AC);
        return;
    }
    vcpu_count(v, MINIHV_EXIT_EXCEPTION);
    svm_inject_exception(v, VECTOR_AC, true, 0);
}

/* A virtual INIT ends whatever NMI state the guest had (SDM Vol. 3A
 * 9.1.1: INIT resets the CPU; nothing blocked after it). */
static void nmi_reset(struct vcpu *v)
{
    struct svm_cpu *c = svm_of(v);
    c->nmi_blocked = c->nmi_iret = c->nmi_step = false;
    c->vmcb->control.intercept_misc1 &= ~(SVM_INTERCEPT_IRET | SVM_INTERCEPT_VINTR | SVM_INTERCEPT_INTR);
    c->vmcb->control.intercept_exceptions &= ~(STEP_FAULT_VECTORS & ~ALWAYS_INTERCEPTED_VECTORS);
    c->vmcb->control.int_control &= ~(SVM_V_NMI_PENDING | SVM_V_NMI_MASK | SVM_V_IRQ | SVM_V_IGN_TPR);
    v->nmi_pending = false;
}

/* INIT as the target of a virtual INIT (APM Vol. 2 14.1.3, Table 14-1):
 * the processor's reset state, except that the code runs from the SIPI's
 * vector once it comes. */
static void reset_to_init_state(struct vcpu *v)
{
    struct svm_cpu *c = svm_of(v);
    struct vmcb_save *s = &c->vmcb->save;
    vcpu_reset_regs_to_init(v);
    struct vmcb_seg data = { 0, 0x93, 0xffff, 0 }; /* present RW data, accessed */
    s->es = s->ss = s->ds = s->fs = s->gs = data;
    s->cs = (struct vmcb_seg){ 0xf000, 0x9b, 0xffff, 0xffff0000ull };
    s->gdtr = (struct vmcb_seg){ 0, 0, 0xffff, 0 };
    s->idtr = (struct vmcb_seg){ 0, 0, 0xffff, 0 };
    s->ldtr = (struct vmcb_seg){ 0, 0x82, 0xffff, 0 };
    s->tr = (struct vmcb_seg){ 0, 0x8b, 0xffff, 0 };
    s->cpl = 0;
    s->efer = EFER_SVME; /* the guest sees 0 */
    s->cr0 = 0x60000010ull; /* CD, NW, ET */
    s->cr2 = s->cr3 = s->cr4 = 0;
    s->dr6 = 0xffff0ff0ull;
    s->dr7 = 0x400;
    s->star = s->lstar = s->cstar = s->sfmask = s->kernel_gs_base = 0;
    s->sysenter_cs = s->sysenter_esp = s->sysenter_eip = 0;
    s->g_pat = PAT_POWER_ON;
    s->dbgctl = 0;
    c->vmcb->control.int_state = 0;
    c->vmcb->control.event_inj = 0;
    c->vmcb->control.tlb_control = SVM_TLB_FLUSH_ALL;
    nmi_reset(v);
    c->reset = true;
}

/* After a GIF window (take_pending_nmi): when this CPU's mailbox holds a
 * virtual INIT, its kick NMI may have been taken in that window, at any
 * exit's STGI (an NMI, SMI or physical INIT exit): the CPU takes the INIT
 * now and waits for the SIPI, opening GIF meanwhile so that SMIs and NMIs
 * are not held for as long as the guest sends none. True if it did. */
static bool take_virtual_init(struct vcpu *v)
{
    struct svm_cpu *c = svm_of(v);
    if (ipi_state(v->index) == SIPI_RUNNING)
        return false;
    vcpu_count(v, MINIHV_EXIT_INIT);
    uint8_t vector = ipi_wait_for_sipi(v, reset_to_init_state, take_pending_nmi);
    vcpu_count(v, MINIHV_EXIT_SIPI);
    v->nmi_pending = false; /* the kick was ours */
    struct vmcb_save *s = &c->vmcb->save;
    s->cs = (struct vmcb_seg){ (uint16_t)(vector << 8), 0x9b, 0xffff, (uint64_t)vector << 12 };
    v->regs.rip = 0;
    if (++c->inits <= 2)
        hv_log("cpu %u: INIT, then SIPI vector 0x%x: starting at 0x%x in real mode", v->index, vector,
               (unsigned)vector << 12);
    return true;
}

/* NMI exit: let the NMI in (GIF), then either it was the kick of a
 * virtual INIT (the mailbox says so) or a real NMI, which goes to the
 * guest. */
static void handle_nmi(struct vcpu *v)
{
    take_pending_nmi();
    if (take_virtual_init(v))
        return;
    vcpu_count(v, MINIHV_EXIT_EXCEPTION);
    v->nmi_pending = true; /* host.c set it too, if the NMI was taken */
}

static const char *exit_name(uint64_t code)
{
    switch (code) {
    case SVM_EXIT_EXCP_UD: return "#UD";
    case SVM_EXIT_NMI: return "NMI";
    case SVM_EXIT_IRET: return "IRET";
    case SVM_EXIT_INTR: return "INTR";
    case SVM_EXIT_EXCP_DB: return "#DB";
    case SVM_EXIT_INIT: return "INIT";
    case SVM_EXIT_SMI: return "SMI";
    case SVM_EXIT_CPUID: return "CPUID";
    case SVM_EXIT_INVD: return "INVD";
    case SVM_EXIT_MSR: return "MSR";
    case SVM_EXIT_IOIO: return "IOIO";
    case SVM_EXIT_SHUTDOWN: return "shutdown";
    case SVM_EXIT_VMMCALL: return "VMMCALL";
    case SVM_EXIT_XSETBV: return "XSETBV";
    case SVM_EXIT_NPF: return "nested page fault";
    case SVM_EXIT_INVALID: return "VMRUN: invalid guest state";
    default:
        return (code >= SVM_EXIT_VMRUN && code <= SVM_EXIT_SKINIT) || code == SVM_EXIT_INVLPGA
                   ? "SVM instruction" : "other";
    }
}

/* An instruction the core carried out for the guest (RIP moved past it,
 * nothing injected): what the CPU would leave behind (hv/exit_rules.h).
 * Its STI/MOV SS interrupt shadow ends (INTERRUPT_SHADOW, 15.21.5); a
 * single step is a #DB with DR6.BS injected now (15.20; the VMCB's DR6 is
 * the guest's, 15.5.1), delivered at the new RIP before anything else. */
static void svm_insn_done(struct vcpu *v)
{
    struct vmcb *vmcb = svm_of(v)->vmcb;
    struct insn_done_in in = {
        .shadow = (vmcb->control.int_state & 1) ? SHADOW_STI | SHADOW_MOVSS : 0,
        .rflags = v->regs.rflags,
        /* No LBR virtualization: DEBUGCTL is the guest's own, live. */
        .debugctl = (v->regs.rflags & RFLAGS_TF) ? rdmsr(MSR_DEBUGCTL) : 0,
        .db_pending = false, /* SVM keeps no pending #DB across the exit */
    };
    struct insn_done_out out = insn_done(&in);
    v->regs.rflags &= ~RFLAGS_RF; /* completed (hv/exit_rules.h) */
    if (out.clear_shadow)
        vmcb->control.int_state &= ~1ull;
    if (out.single_step) {
        vmcb->save.dr6 |= DR6_BS;
        vmcb->save.dr7 &= ~DR7_GD; /* the #DB's delivery clears it (SDM Vol. 3B 18.2.4) */
        svm_inject_exception(v, VECTOR_DB, false, 0);
    }
}

/* Called by svm_launch after every #VMEXIT with the guest GPRs in v->regs.
 * 0: run the guest again; non-zero: the first VMRUN failed, give up. */
int svm_handle_exit(struct vcpu *v)
{
    struct svm_cpu *c = svm_of(v);
    struct vmcb *vmcb = c->vmcb;
    uint64_t code = vmcb->control.exit_code;
    /* VMEXIT_INVALID is -1 in the 64-bit EXITCODE (15.5.1); QEMU's TCG
     * writes it as 32 bits (0xffffffff): the same failure. */
    if (code == 0xffffffffull)
        code = SVM_EXIT_INVALID;
    uint64_t intinfo = vmcb->control.exit_int_info;
    c->injected = false;
    c->reset = false;
    v->exit.raw_reason = (uint32_t)code;
    v->exit.name = exit_name(code);
    v->exit.qualification = vmcb->control.exit_info1;
    v->exit.insn_len = 0;
    v->exit.gpa = 0;
    v->exit.access = 0;
    v->regs.gpr[DECODE_RAX] = vmcb->save.rax;
    v->regs.gpr[DECODE_RSP] = vmcb->save.rsp;
    v->regs.rip = vmcb->save.rip;
    v->regs.rflags = vmcb->save.rflags;
    vmcb->control.event_inj = 0;
    vmcb->control.tlb_control = SVM_TLB_FLUSH_NONE;

    if (code == SVM_EXIT_INVALID) {
        if (!c->launched)
            return -1;
        vcpu_count(v, MINIHV_EXIT_OTHER);
        vcpu_fatal(v, "VMRUN failed its consistency checks (APM 15.5.1)");
    }
    c->launched = true;
    bool stepped = nmi_step_end(v);
    uint64_t rip_before = v->regs.rip;
    switch (code) {
    case SVM_EXIT_CPUID:
        vcpu_count(v, MINIHV_EXIT_CPUID);
        handle_cpuid(v);
        break;
    case SVM_EXIT_VMMCALL:
        vcpu_count(v, MINIHV_EXIT_HYPERCALL);
        if (need_insn_len(v, SVM_INSN_VMMCALL))
            vcpu_handle_hypercall(v);
        break;
    case SVM_EXIT_MSR:
        handle_msr(v);
        break;
    case SVM_EXIT_IOIO:
        handle_ioio(v);
        break;
    case SVM_EXIT_XSETBV:
        vcpu_count(v, MINIHV_EXIT_XSETBV);
        if (need_insn_len(v, SVM_INSN_XSETBV))
            vcpu_handle_xsetbv(v);
        break;
    case SVM_EXIT_INVD:
        vcpu_count(v, MINIHV_EXIT_INVD);
        if (need_insn_len(v, SVM_INSN_INVD))
            vcpu_handle_invd(v);
        break;
    case SVM_EXIT_VMRUN: case SVM_EXIT_VMLOAD: case SVM_EXIT_VMSAVE: case SVM_EXIT_STGI:
    case SVM_EXIT_CLGI: case SVM_EXIT_SKINIT: case SVM_EXIT_INVLPGA:
        /* As on a CPU without SVM (CPUID says so, EFER.SVME reads 0): #UD. */
        vcpu_count(v, MINIHV_EXIT_VIRT_INSN);
        svm_inject_exception(v, VECTOR_UD, false, 0);
        break;
    case SVM_EXIT_EXCP_UD:
        handle_ud(v);
        break;
    case SVM_EXIT_NPF:
        handle_npf(v, intinfo);
        break;
    case SVM_EXIT_NMI:
        handle_nmi(v);
        break;
    case SVM_EXIT_IRET:
        handle_iret(v);
        break;
    case SVM_EXIT_EXCP_DB:
        handle_db(v, stepped);
        break;
    case SVM_EXIT_EXCP_BASE + VECTOR_AC:
        handle_ac(v, stepped);
        break;
    case SVM_EXIT_VINTR:
        handle_vintr(v);
        break;
    case SVM_EXIT_INTR:
        nmi_step_intr(v, stepped);
        break;
    case SVM_EXIT_INIT:
        /* A physical INIT: the core never sends one to a virtualized CPU
         * (hv/ipi.c) nor lets the passthrough device (vfio/msi.c); what is
         * left (IOAPIC entries, chipset INIT) is absorbed, not obeyed. It
         * stays pending after the exit: opening GIF turns it into #SX
         * (VM_CR.R_INIT), which the core's IDT drops (hv/host.c). */
        vcpu_count(v, MINIHV_EXIT_INIT);
        hv_refuse(HV_REFUSE_PHYSICAL_INIT, "cpu %u: a physical INIT in guest mode, absorbed", v->index);
        take_pending_nmi();
        take_virtual_init(v);
        break;
    case SVM_EXIT_SMI:
        /* A physical SMI (intercepted, svm.c): pending until GIF opens,
         * then the firmware's SMM handler runs over the core's state and
         * RSM returns here (APM 15.13.3, 10.3); the guest goes on. */
        vcpu_count(v, MINIHV_EXIT_OTHER);
        take_pending_nmi();
        take_virtual_init(v);
        break;
    case SVM_EXIT_SHUTDOWN:
        /* The guest's shutdown (15.13.3, a triple fault among others): on
         * bare metal the chipset resets the machine, and so does the core,
         * after its summary. */
        vcpu_count(v, MINIHV_EXIT_OTHER);
        vcpu_reset_machine(v, "guest triple fault (shutdown)");
    default:
        if (stepped && code >= SVM_EXIT_EXCP_BASE && code < SVM_EXIT_EXCP_BASE + 32 &&
            ((1u << (code - SVM_EXIT_EXCP_BASE)) & STEP_FAULT_VECTORS)) {
            nmi_step_fault(v, code - SVM_EXIT_EXCP_BASE);
            break;
        }
        vcpu_count(v, MINIHV_EXIT_OTHER);
        vcpu_fatal(v, "unexpected #VMEXIT");
    }

    if (v->regs.rip != rip_before) /* past the instruction, in its address size */
        v->regs.rip &= guest_ip_mask(v);
    if (v->regs.rip != rip_before && !c->injected && !c->reset)
        svm_insn_done(v);
    vmcb->save.rax = v->regs.gpr[DECODE_RAX];
    vmcb->save.rsp = v->regs.gpr[DECODE_RSP];
    vmcb->save.rip = v->regs.rip;
    vmcb->save.rflags = v->regs.rflags;
    /* The NPT changed at run time (a passthrough BAR moved): flush this
     * CPU's guest translations at the next VMRUN (15.16.2 TLB_CONTROL). */
    uint64_t gen = ept_generation();
    if (gen != v->ept_gen_seen) {
        v->ept_gen_seen = gen;
        vmcb->control.tlb_control = SVM_TLB_FLUSH_ALL;
    }
    /* An event whose delivery the exit interrupted is delivered again
     * (15.7.2: EXITINTINFO has the EVENTINJ format), unless a virtual
     * INIT came in between: it discards the event, and one with an
     * error code would fail VMRUN in real mode (15.20). */
    if (!c->injected && !c->reset && (intinfo & SVM_EVENT_VALID)) {
        vmcb->control.event_inj = intinfo;
        c->injected = true;
    }
    /* An NMI that arrived while the core ran, or one held back. */
    nmi_before_entry(v);
    return 0;
}

