/* The VMX backend's exits: the vcpu_ops the neutral code calls back, the
 * exit dispatch (each reason translated, counted and handed to a neutral
 * vcpu_handle_* where one exists), the few exits only VMX has (CR access
 * through the guest/host masks, INIT/SIPI, EPT
 * misconfiguration) and the work before the next entry. Section numbers
 * are the Intel SDM Vol. 3C. */
#include <minihv/format.h>
#include <minihv/io.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "hv/console.h"
#include "hv/ept.h"
#include "hv/event_rules.h"
#include "hv/exit_rules.h"
#include "hv/hv.h"
#include "hv/ipi.h"
#include "hv/msr.h"
#include "hv/msr_policy.h"
#include "hv/refuse.h"
#include "hv/vcpu.h"
#include "hv/vmx/vmx_cpu.h"

/* ---- vcpu_ops ---- */

static void vmx_get_mode(struct vcpu *v, struct vcpu_guest_mode *m)
{
    struct vmx_cpu *c = vmx_of(v);
    uint64_t cs_ar = vmread(VMCS_GUEST_CS_AR);
    m->cr0 = (vmread(VMCS_GUEST_CR0) & ~c->cr0_mask) | (vmread(VMCS_CR0_SHADOW) & c->cr0_mask);
    m->cr3 = vmread(VMCS_GUEST_CR3);
    m->cr4 = (vmread(VMCS_GUEST_CR4) & ~c->cr4_mask) | (vmread(VMCS_CR4_SHADOW) & c->cr4_mask);
    m->efer = vmread(VMCS_GUEST_EFER);
    m->cs_base = vmread(VMCS_GUEST_CS_BASE);
    m->cs_l = cs_ar & VMX_AR_L;
    m->cs_db = cs_ar & VMX_AR_DB;
    m->cpl = (unsigned)(vmread(VMCS_GUEST_SS_AR) >> 5) & 3; /* SS.DPL is the CPL (24.4.1) */
}

/* Event injection (25.8.3, 26.6): delivered through the guest's IDT at
 * the next VM entry. */
static void vmx_inject_exception(struct vcpu *v, unsigned vector, bool has_error, uint32_t error)
{
    uint32_t info = INTR_INFO_VALID | INTR_TYPE_HW_EXCEPTION | vector;
    /* Real mode pushes no error code, and an entry that says one with
     * CR0.PE clear fails (26.2.1.3): a refused WRMSR in real mode. */
    if (has_error && (vmread(VMCS_GUEST_CR0) & CR0_PE)) {
        info |= INTR_INFO_ERR_VALID;
        vmwrite(VMCS_ENTRY_EXCEPTION_ERR, error);
    }
    vmwrite(VMCS_ENTRY_INTR_INFO, info);
    vmx_of(v)->injected = true;
    if (exception_sets_rf(vector)) /* as a fault pushes it (hv/exit_rules.h) */
        v->regs.rflags |= RFLAGS_RF;
}

static void vmx_dump(struct vcpu *v)
{
    (void)v;
    hv_log("  vmx: exit reason 0x%lx, insn len %lu, insn info 0x%lx, IDT vectoring 0x%lx/0x%lx, "
           "exit intr 0x%lx/0x%lx", vmread(VMCS_EXIT_REASON), vmread(VMCS_EXIT_INSN_LEN),
           vmread(VMCS_EXIT_INSN_INFO), vmread(VMCS_IDT_VECTORING_INFO), vmread(VMCS_IDT_VECTORING_ERR),
           vmread(VMCS_EXIT_INTR_INFO), vmread(VMCS_EXIT_INTR_ERR));
    hv_log("  vmx: guest linear 0x%lx, CS %04lx base 0x%lx AR 0x%lx, SS %04lx AR 0x%lx, activity %lu, "
           "interruptibility 0x%lx, entry controls 0x%lx, shadows cr0 0x%lx cr4 0x%lx",
           vmread(VMCS_GUEST_LINEAR_ADDR), vmread(VMCS_GUEST_CS_SEL), vmread(VMCS_GUEST_CS_BASE),
           vmread(VMCS_GUEST_CS_AR), vmread(VMCS_GUEST_SS_SEL), vmread(VMCS_GUEST_SS_AR),
           vmread(VMCS_GUEST_ACTIVITY), vmread(VMCS_GUEST_INTERRUPTIBILITY),
           vmread(VMCS_ENTRY_CONTROLS), vmread(VMCS_CR0_SHADOW), vmread(VMCS_CR4_SHADOW));
}

const struct vcpu_ops vmx_ops = {
    .name = "vmx",
    .get_mode = vmx_get_mode,
    .inject_exception = vmx_inject_exception,
    .dump = vmx_dump,
};

/* ---- VMX-only exits ---- */

static void set_ia32e_mode(struct vmx_cpu *c, bool on)
{
    uint64_t efer = vmread(VMCS_GUEST_EFER);
    efer = on ? efer | EFER_LMA : efer & ~EFER_LMA;
    vmwrite(VMCS_GUEST_EFER, efer);
    c->entry_ctls = on ? c->entry_ctls | ENTRY_IA32E_GUEST : c->entry_ctls & ~ENTRY_IA32E_GUEST;
    vmwrite(VMCS_ENTRY_CONTROLS, c->entry_ctls);
}

/* CPUID.80000008H:EAX[7:0] (the VMX CPUs the core runs on have the leaf). */
static unsigned maxphyaddr(void)
{
    uint32_t r[4];
    x86_cpuid(0x80000008, 0, r);
    return r[0] & 0xff;
}

/* PAE paging's PDPTEs into the VMCS for the next entry (hv/exit_rules.h
 * pae_pdptes_ok): false, and nothing written, when the instruction would
 * raise #GP instead (a reserved bit, or CR3 not in guest RAM, which the
 * core does not read). */
static bool load_pdptes(struct vcpu *v, uint64_t cr3, unsigned maxphyaddr)
{
    uint64_t pd[4];
    if (!vcpu_read_pdptes(v, cr3, pd) || !pae_pdptes_ok(pd, maxphyaddr))
        return false;
    for (unsigned i = 0; i < 4; i++)
        vmwrite(VMCS_GUEST_PDPTE0 + 2 * i, pd[i]);
    return true;
}

/* MOV to CR0 that touched a bit the core owns (25.6.6, 27.1.3). */
static void write_cr0(struct vcpu *v, uint64_t value)
{
    struct vmx_cpu *c = vmx_of(v);
    uint64_t old = vmread(VMCS_GUEST_CR0);
    uint64_t efer = vmread(VMCS_GUEST_EFER);
    struct cr0_write_in w = {
        .old_cr0 = (old & ~c->cr0_mask) | (vmread(VMCS_CR0_SHADOW) & c->cr0_mask),
        .new_cr0 = value,
        .cr4 = vmread(VMCS_GUEST_CR4),
        .efer = efer,
        .cs_l = vmread(VMCS_GUEST_CS_AR) & (1u << 13),
    };
    if (cr0_write_faults(&w)) {
        vmx_inject_exception(v, 13, true, 0);
        return;
    }
    /* PAE paging after the write (not IA-32e: LME clear), turned on or
     * with PG/CD/NW changed: the PDPTEs load now (SDM Vol. 3A 4.4.1). */
    if ((value & CR0_PG) && (w.cr4 & CR4_PAE) && !(efer & EFER_LME) &&
        ((value ^ w.old_cr0) & (CR0_PG | CR0_CD | CR0_NW)) &&
        !load_pdptes(v, vmread(VMCS_GUEST_CR3), maxphyaddr())) {
        vmx_inject_exception(v, 13, true, 0);
        return;
    }
    uint64_t real = (value | (vmx_caps.cr0_fixed0 & ~(CR0_PE | CR0_PG))) & vmx_caps.cr0_fixed1;
    /* Paging on with EFER.LME set enters IA-32e mode; off leaves it
     * (SDM Vol. 3A 9.8.5): hardware does this unless the write exits. */
    if ((value & CR0_PG) && !(old & CR0_PG) && (efer & EFER_LME))
        set_ia32e_mode(c, true);
    else if (!(value & CR0_PG) && (old & CR0_PG) && (efer & EFER_LMA))
        set_ia32e_mode(c, false);
    vmwrite(VMCS_GUEST_CR0, real);
    vmwrite(VMCS_CR0_SHADOW, value);
    if ((old ^ real) & (CR0_PG | CR0_PE | CR0_WP))
        invvpid_single(v);
    vcpu_skip_insn(v);
}

static void write_cr4(struct vcpu *v, uint64_t value)
{
    /* VMXE (hidden: CPUID says no VMX) and bits the CPU lacks are reserved
     * to the guest: #GP, as on a CPU without VMX. */
    if ((value & CR4_VMXE) || (value & ~vmx_caps.cr4_fixed1)) {
        vmx_inject_exception(v, 13, true, 0);
        return;
    }
    uint64_t old = vmread(VMCS_GUEST_CR4);
    uint64_t real = value | vmx_caps.cr4_fixed0;
    vmwrite(VMCS_GUEST_CR4, real);
    vmwrite(VMCS_CR4_SHADOW, value);
    if ((old ^ real) & (CR4_PAE | CR4_PGE | CR4_PCIDE))
        invvpid_single(v);
    vcpu_skip_insn(v);
}

/* MOV to CR3 (CR3-load exiting, forced on where the TRUE controls are
 * missing): what the instruction raises #GP on (SDM Vol. 2 MOV CR, Vol.
 * 3A 4.5): bits above MAXPHYADDR; bit 63 only with CR4.PCIDE (no
 * flush). The VMCS would otherwise fail the next entry (26.3.1.1). */
static void guest_write_cr3(struct vcpu *v, uint64_t value)
{
    unsigned phys = maxphyaddr();
    bool pcide = (vmread(VMCS_GUEST_CR4) & CR4_PCIDE) && (value & (1ull << 63));
    uint64_t cr3 = pcide ? value & ~(1ull << 63) : value;
    if (cr3 >> phys) {
        vmx_inject_exception(v, 13, true, 0);
        return;
    }
    /* Under PAE paging the write loads the PDPTEs (SDM Vol. 3A 4.4.1). */
    bool pae_paging = (vmread(VMCS_GUEST_CR0) & CR0_PG) && (vmread(VMCS_GUEST_CR4) & CR4_PAE) &&
                      !(vmread(VMCS_GUEST_EFER) & EFER_LMA);
    if (pae_paging && !load_pdptes(v, cr3, phys)) {
        vmx_inject_exception(v, 13, true, 0);
        return;
    }
    vmwrite(VMCS_GUEST_CR3, cr3);
    if (!pcide)
        invvpid_single(v);
    vcpu_skip_insn(v);
}

/* Control-register access exit, qualification per Table 28-3. */
static void handle_cr_access(struct vcpu *v)
{
    uint64_t q = v->exit.qualification;
    unsigned cr = q & 15, type = (q >> 4) & 3, reg = (q >> 8) & 15;
    uint64_t *gpr = &v->regs.gpr[reg];
    /* Outside 64-bit mode MOV CR takes the low 32 bits of the register;
     * its upper half is whatever 64-bit code left there. */
    bool long64 = (vmread(VMCS_GUEST_EFER) & EFER_LMA) && (vmread(VMCS_GUEST_CS_AR) & VMX_AR_L);
    uint64_t value = long64 ? *gpr : (uint32_t)*gpr;
    switch (type) {
    case 0: /* MOV to CR */
        if (cr == 0)
            write_cr0(v, value);
        else if (cr == 4)
            write_cr4(v, value);
        else if (cr == 3)
            guest_write_cr3(v, value);
        else if (cr == 8 && (value >> 4)) /* TPR: bits 63:4 reserved, #GP (SDM Vol. 3A 10.8.6.1) */
            vmx_inject_exception(v, 13, true, 0);
        else if (cr == 8) {
            __asm__ volatile("mov %0, %%cr8" ::"r"(value));
            vcpu_skip_insn(v);
        } else
            vcpu_fatal(v, "MOV to an unexpected control register");
        return;
    case 1: /* MOV from CR */
        if (cr == 3)
            *gpr = vmread(VMCS_GUEST_CR3);
        else if (cr == 8)
            __asm__ volatile("mov %%cr8, %0" : "=r"(*gpr));
        else
            vcpu_fatal(v, "MOV from an unexpected control register");
        vcpu_skip_insn(v);
        return;
    case 2: /* CLTS */
        vmwrite(VMCS_GUEST_CR0, vmread(VMCS_GUEST_CR0) & ~CR0_TS);
        vmwrite(VMCS_CR0_SHADOW, vmread(VMCS_CR0_SHADOW) & ~CR0_TS);
        vcpu_skip_insn(v);
        return;
    default: { /* LMSW: bits 3:0, cannot clear PE (SDM Vol. 2 LMSW) */
        uint64_t shadow = (vmread(VMCS_GUEST_CR0) & ~vmx_of(v)->cr0_mask) |
                          (vmread(VMCS_CR0_SHADOW) & vmx_of(v)->cr0_mask);
        uint64_t src = (q >> 16) & 0xf;
        write_cr0(v, (shadow & ~0xeull) | (src & 0xe) | ((shadow | src) & 1));
        return;
    }
    }
}

/* The INIT state (SDM Vol. 3A 9.1.1 Table 9-1), in the VMCS. */
static void reset_to_init_state(struct vcpu *v)
{
    struct vmx_cpu *c = vmx_of(v);
    vcpu_reset_regs_to_init(v);
    set_ia32e_mode(c, false);
    vmwrite(VMCS_GUEST_EFER, 0);
    uint64_t cr0 = 0x60000010ull;
    vmwrite(VMCS_GUEST_CR0, (cr0 | (vmx_caps.cr0_fixed0 & ~(CR0_PE | CR0_PG))) & vmx_caps.cr0_fixed1);
    vmwrite(VMCS_CR0_SHADOW, cr0);
    vmwrite(VMCS_GUEST_CR3, 0);
    vmwrite(VMCS_GUEST_CR4, vmx_caps.cr4_fixed0);
    vmwrite(VMCS_CR4_SHADOW, 0);
    vmwrite(VMCS_GUEST_DR7, 0x400);
    for (int n = SEG_ES; n <= SEG_GS; n++) {
        struct seg_state s = { 0, 0xffff, 0x93, 0 }; /* present RW data, accessed */
        if (n == SEG_CS)
            s = (struct seg_state){ 0xf000, 0xffff, 0x9b, 0xffff0000ull }; /* code, accessed */
        write_guest_seg(n, &s);
    }
    write_guest_seg(SEG_LDTR, &(struct seg_state){ 0, 0xffff, 0x82, 0 });
    write_guest_seg(SEG_TR, &(struct seg_state){ 0, 0xffff, 0x8b, 0 });
    vmwrite(VMCS_GUEST_GDTR_BASE, 0);
    vmwrite(VMCS_GUEST_GDTR_LIMIT, 0xffff);
    vmwrite(VMCS_GUEST_IDTR_BASE, 0);
    vmwrite(VMCS_GUEST_IDTR_LIMIT, 0xffff);
    vmwrite(VMCS_GUEST_DEBUGCTL, 0);
    vmwrite(VMCS_GUEST_SYSENTER_CS, 0);
    vmwrite(VMCS_GUEST_SYSENTER_ESP, 0);
    vmwrite(VMCS_GUEST_SYSENTER_EIP, 0);
    vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
    vmwrite(VMCS_GUEST_PENDING_DBG, 0);
    vmwrite(VMCS_ENTRY_INTR_INFO, 0);
    vmwrite(VMCS_GUEST_ACTIVITY, ACTIVITY_ACTIVE);
    v->nmi_pending = false;
    vmx_of(v)->nmi_soft_blocked = false;
    invvpid_single(v);
}

/* The start of a CPU by a SIPI (SDM Vol. 3A 9.4.4.1, 3C 28.2.1): real
 * mode at vector << 12, CS = vector << 8, nothing blocked. */
static void start_at_sipi_vector(struct vcpu *v, uint8_t vector)
{
    vmwrite(VMCS_GUEST_CS_SEL, (uint64_t)vector << 8);
    vmwrite(VMCS_GUEST_CS_BASE, (uint64_t)vector << 12);
    v->regs.rip = 0;
    vmwrite(VMCS_GUEST_ACTIVITY, ACTIVITY_ACTIVE);
    vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
    vmwrite(VMCS_GUEST_PENDING_DBG, 0);
}

/* A physical INIT exit (28.1; SDM Vol. 3C 26.6.2 / 25.4.2): the vCPU takes
 * the INIT state and waits for a SIPI in the wait-for-SIPI activity state.
 * The core's own INIT/SIPI (handle_virtual_init) keeps physical INITs away
 * from virtualized CPUs; this is the path for one that still comes (e.g.
 * a broadcast by a sender the core does not see). */
static void handle_init(struct vcpu *v)
{
    reset_to_init_state(v);
    vmwrite(VMCS_GUEST_ACTIVITY, ACTIVITY_WAIT_FOR_SIPI);
    hv_log("cpu %u: physical INIT: waiting for SIPI", v->index);
}

/* A virtual INIT (ipi.h: the sender's interrupt command is the
 * core's, posted in the target's mailbox, the target kicked with an NMI).
 * Why not let the physical INIT through: an INIT makes a VM exit (28.1)
 * and is consumed by it, but Bochs 2.7 keeps the INIT pending after the
 * exit (fixed upstream after 2.7: stlintel/Bochs#11), so every later VM
 * entry to the active state exits with INIT again and a restarted AP
 * never runs. The vCPU takes the INIT state and waits in the core for
 * the SIPI's vector (SDM Vol. 3A 9.4.4.1), then starts there. */
static void handle_virtual_init(struct vcpu *v)
{
    struct vmx_cpu *c = vmx_of(v);
    vcpu_count(v, MINIHV_EXIT_INIT);
    uint8_t vector = ipi_wait_for_sipi(v, reset_to_init_state, NULL);
    vcpu_count(v, MINIHV_EXIT_SIPI);
    start_at_sipi_vector(v, vector);
    v->nmi_pending = false; /* the kick was ours (taken here or in the core) */
    c->injected = true;     /* nothing else goes in with this entry */
    if (++c->inits <= 2)
        hv_log("cpu %u: INIT, then SIPI vector 0x%x: starting at 0x%x in real mode", v->index, vector,
               (unsigned)vector << 12);
}

/* NMIs stay blocked after a VM exit caused by one until the next IRET
 * (SDM Vol. 3A 6.7.1; KVM runs the host's NMI handler after such an exit
 * for its IRET, vmx_do_nmi_irqoff), and Bochs keeps them blocked across
 * the VM entry too: the AP's next kick, or the guest's next NMI, would
 * never exit (a second StartupThisAP of an AP under minihv never
 * returned). One IRET to the next instruction unblocks them; an NMI held
 * meanwhile hits the core's IDT now (hv/host.c: v->nmi_pending). */
static void unblock_nmis_by_iret(void)
{
    __asm__ volatile("mov %%rsp, %%rax\n\t"
                     "mov %%ss, %%ecx\n\t"
                     "push %%rcx\n\t"
                     "push %%rax\n\t"
                     "pushfq\n\t"
                     "mov %%cs, %%ecx\n\t"
                     "push %%rcx\n\t"
                     "lea 1f(%%rip), %%rcx\n\t"
                     "push %%rcx\n\t"
                     "iretq\n"
                     "1:" ::: "rax", "rcx", "memory", "cc");
}

/* NMI exit (pin-based NMI exiting, 25.6.1): the kick of a virtual INIT,
 * or a real NMI, which goes back to the guest. */
static void handle_nmi(struct vcpu *v)
{
    uint32_t info = (uint32_t)vmread(VMCS_EXIT_INTR_INFO);
    unblock_nmis_by_iret();
    /* The NMI came while an IRET unblocked NMIs: block them again before
     * the entry (28.2.2, no virtual NMIs). */
    if (info & INTR_INFO_NMI_UNBLOCKED)
        vmwrite(VMCS_GUEST_INTERRUPTIBILITY, vmread(VMCS_GUEST_INTERRUPTIBILITY) | INTERRUPTIBILITY_NMI);
    if (ipi_state(v->index) != SIPI_RUNNING) {
        handle_virtual_init(v);
        return;
    }
    vcpu_count(v, MINIHV_EXIT_EXCEPTION);
    v->nmi_pending = true;
}

static uint64_t read_dr6(void)
{
    uint64_t v;
    __asm__ volatile("mov %%dr6, %0" : "=r"(v));
    return v;
}

/* #DB and #AC, intercepted always (vmx.c's exception bitmap): the guest's,
 * back as the CPU raised them. A #DB that exits leaves DR6 alone (SDM Vol.
 * 3C 27.1) and reports its B0-B3, BD, BS and RTM bits in the exit
 * qualification (Table 28-1): they go to DR6 (live: VMX does not switch
 * it) as the delivery would have written them, and DR7.GD is cleared as
 * every #DB's delivery does (18.2.4). ICEBP (INT1, type 5) exits on the
 * instruction itself: past it first (its shadow ended), its #DB a trap. Otherwise, with TF set under an STI/MOV SS shadow, BS
 * pending, which VM entry requires then (26.3.1.5) and the exit did not
 * save (KVM's handle_exception_nmi). */
static void handle_exception(struct vcpu *v, uint32_t info)
{
    unsigned vector = info & 0xff;
    vcpu_count(v, MINIHV_EXIT_EXCEPTION);
    if (vector != 1) {
        vmx_inject_exception(v, vector, info & INTR_INFO_ERR_VALID, (uint32_t)vmread(VMCS_EXIT_INTR_ERR));
        return;
    }
    /* B0-B3 are the CPU's to clear; BD, BS and the rest stay as they
     * were (18.2.3: "the remaining contents of the DR6 register are never
     * cleared by the processor"); RTM and BLD are active low (1 unless
     * this #DB reports them). */
    const uint64_t active_low = DR6_RTM | DR6_BLD;
    uint64_t q = v->exit.qualification, dr6 = (read_dr6() & ~(0xfull | active_low)) | active_low;
    dr6 |= q & (0xfull | DR6_BD | DR6_BS);
    dr6 &= ~(q & active_low);
    __asm__ volatile("mov %0, %%dr6" ::"r"(dr6));
    /* Any #DB's delivery clears GD, so the handler may read DR6 (18.2.4). */
    vmwrite(VMCS_GUEST_DR7, vmread(VMCS_GUEST_DR7) & ~DR7_GD);
    uint32_t intr = (uint32_t)vmread(VMCS_GUEST_INTERRUPTIBILITY);
    if ((info & INTR_TYPE_MASK) == INTR_TYPE_PRIV_SW_EXC) {
        /* Past ICEBP, which ends an STI/MOV SS shadow as any instruction:
         * left set with TF, VM entry would want BS pending (26.3.1.5) and
         * fail: a guest-reachable FATAL (Xen XSA-308; KVM's skip). */
        v->regs.rip += v->exit.insn_len;
        vmwrite(VMCS_GUEST_INTERRUPTIBILITY, intr & ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS));
    } else if ((v->regs.rflags & RFLAGS_TF) && (intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS)))
        vmwrite(VMCS_GUEST_PENDING_DBG, vmread(VMCS_GUEST_PENDING_DBG) | DR6_BS);
    vmx_inject_exception(v, 1, false, 0);
}

/* SIPI in wait-for-SIPI (25.2, 28.2.1): start at vector << 12, real mode. */
static void handle_sipi(struct vcpu *v)
{
    /* A CPU waiting for SIPI blocks NMIs and SMIs, and the exit may save
     * that (Bochs does); the started CPU blocks nothing, and "blocking by
     * SMI" outside SMM fails the entry (26.3.1.5). */
    start_at_sipi_vector(v, (uint8_t)(v->exit.qualification & 0xff));
}

/* An event the core cannot deliver (its IDT gate, TSS or stack on a page
 * the guest may not touch: an EPT violation during delivery, 28.2.4) or a
 * task switch the core does not carry out (the exit is unconditional,
 * 25.1.2; emulating SDM Vol. 3A 7.3 is not done). Never FATAL: the guest
 * gets the #GP hardware raises for an unusable gate or TSS, combined with
 * the event in flight by SDM Vol. 3A Table 6-5 (hv/event_rules.h): #GP,
 * #DF, or after a #DF the shutdown, the core's machine reset. The event
 * in flight (IDT-vectoring information) is dropped, not re-injected: the
 * injected fault replaces it, as the second exception does on hardware. */
static void refuse_event(struct vcpu *v, uint32_t vectoring, enum hv_refuse_kind kind, const uint16_t *tss_sel,
                         const char *what)
{
    bool valid = vectoring & INTR_INFO_VALID;
    unsigned type = (vectoring & INTR_TYPE_MASK) >> 8, vector = vectoring & 0xff;
    /* Types 0 external interrupt, 2 NMI, 3 hardware exception come from
     * outside the program: EXT in the error code (Table 24-15). */
    bool external = valid && (type == 0 || type == 2 || type == 3);
    enum event_outcome o = valid ? event_delivery_fault(type == 3, vector) : EVENT_RAISE_GP;
    uint32_t err = tss_sel ? event_selector_error_code(*tss_sel, external) : event_idt_error_code(vector, external);
    hv_refuse(kind, "cpu %u: %s (event in flight 0x%x, RIP 0x%lx): %s", v->index, what, vectoring, v->regs.rip,
              o == EVENT_RAISE_GP ? "#GP" : o == EVENT_RAISE_DF ? "#DF" : "shutdown");
    if (o == EVENT_TRIPLE_FAULT)
        vcpu_reset_machine(v, "guest triple fault (a #DF could not be delivered)");
    /* An NMI whose delivery began keeps NMIs blocked until IRET (6.7.1). */
    if (valid && type == 2)
        vmwrite(VMCS_GUEST_INTERRUPTIBILITY, vmread(VMCS_GUEST_INTERRUPTIBILITY) | INTERRUPTIBILITY_NMI);
    if (o == EVENT_RAISE_DF)
        vmx_inject_exception(v, 8, true, 0);
    else
        vmx_inject_exception(v, 13, true, err);
}

static const char *exit_name(unsigned reason)
{
    switch (reason) {
    case VMX_EXIT_EXCEPTION_NMI: return "exception or NMI";
    case VMX_EXIT_EXTERNAL_INTERRUPT: return "external interrupt";
    case VMX_EXIT_INTERRUPT_WINDOW: return "interrupt window";
    case VMX_EXIT_NMI_WINDOW: return "NMI window";
    case VMX_EXIT_TRIPLE_FAULT: return "triple fault";
    case VMX_EXIT_INIT: return "INIT";
    case VMX_EXIT_SIPI: return "SIPI";
    case VMX_EXIT_TASK_SWITCH: return "task switch";
    case VMX_EXIT_CPUID: return "CPUID";
    case VMX_EXIT_INVD: return "INVD";
    case VMX_EXIT_VMCALL: return "VMCALL";
    case VMX_EXIT_CR_ACCESS: return "CR access";
    case VMX_EXIT_DR_ACCESS: return "DR access";
    case VMX_EXIT_IO: return "I/O";
    case VMX_EXIT_RDMSR: return "RDMSR";
    case VMX_EXIT_WRMSR: return "WRMSR";
    case VMX_EXIT_INVALID_GUEST_STATE: return "VM entry: invalid guest state";
    case VMX_EXIT_MSR_LOADING: return "VM entry: MSR loading";
    case VMX_EXIT_MACHINE_CHECK: return "VM entry: machine check";
    case VMX_EXIT_EPT_VIOLATION: return "EPT violation";
    case VMX_EXIT_EPT_MISCONFIG: return "EPT misconfiguration";
    case VMX_EXIT_WBINVD: return "WBINVD";
    case VMX_EXIT_XSETBV: return "XSETBV";
    default: return (reason >= VMX_EXIT_VMCALL && reason <= VMX_EXIT_VMXON) ? "VMX instruction" : "other";
    }
}

/* An instruction the core carried out for the guest (RIP moved past it,
 * nothing injected): what the CPU would leave behind (hv/exit_rules.h).
 * The STI/MOV SS blocking it was under ends with it (25.4.2); a single
 * step becomes BS in the pending debug exceptions (25.4.2, 27.7.3), where
 * the exit left any #DB a MOV SS held, so the guest takes one #DB right
 * after the entry, at the new RIP. True when that #DB is due. */
static bool vmx_insn_done(struct vcpu *v)
{
    uint32_t intr = (uint32_t)vmread(VMCS_GUEST_INTERRUPTIBILITY);
    uint64_t pending = vmread(VMCS_GUEST_PENDING_DBG);
    bool tf = v->regs.rflags & RFLAGS_TF;
    struct insn_done_in in = {
        .shadow = ((intr & INTERRUPTIBILITY_STI) ? SHADOW_STI : 0) |
                  ((intr & INTERRUPTIBILITY_MOVSS) ? SHADOW_MOVSS : 0),
        .rflags = v->regs.rflags,
        /* Saved by the exit where the CPU allows it (exit control bit 2). */
        .debugctl = (tf && ((vmx_caps.exit >> 32) & EXIT_SAVE_DEBUG)) ? vmread(VMCS_GUEST_DEBUGCTL) : 0,
        .db_pending = pending & DR6_BS,
    };
    struct insn_done_out out = insn_done(&in);
    v->regs.rflags &= ~RFLAGS_RF; /* completed (hv/exit_rules.h) */
    if (out.clear_shadow)
        vmwrite(VMCS_GUEST_INTERRUPTIBILITY, intr & ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS));
    if (out.single_step && !(pending & DR6_BS))
        vmwrite(VMCS_GUEST_PENDING_DBG, pending | DR6_BS);
    return out.single_step;
}

/* ---- NMIs (SDM Vol. 3A 6.7.1; Vol. 3C 25.3, 25.6.1, 25.6.2, 26.6.1) ----
 * Every physical NMI exits (NMI exiting: the core's kick for a virtual
 * INIT rides on it, hv/ipi.h); a guest NMI goes back in by injection.
 * With virtual NMIs the CPU keeps the guest's NMI blocking (interruptibility
 * bit 3: set by the injection, cleared by the guest's IRET, 25.3) and
 * physical NMIs are never blocked in the guest (26.6.1), so a kick always
 * exits. A guest NMI that cannot go in now (blocked, a MOV SS/STI shadow,
 * another event or a single-step #DB entering first) is held, one only
 * (v->nmi_pending; more collapse into it), and NMI-window exiting asks
 * for the exit at the first instruction boundary where it may: right
 * after the IRET, or after the other event's delivery (26.7.6), so it
 * comes exactly where hardware takes it.
 * Without virtual NMIs (older CPUs; the SDM leaves no exact way): with NMI
 * exiting, the guest's IRET does not unblock NMIs (25.3) and blocking by
 * NMI would hold every physical NMI, the kick too, until the next exit
 * (26.6.1). So the core never enters with it set and keeps a soft
 * blocking instead: from the injection until the guest runs with
 * RFLAGS.IF set, the point an NMI handler has surely returned or allowed
 * interrupts (interrupt-window exiting finds it; KVM's old heuristic).
 * An NMI sent meanwhile comes then: late when the handler IRETs to code
 * that runs with IF clear, nested when the handler sets IF itself. */


static void set_proc_bit(uint32_t bit, bool on)
{
    uint32_t proc = (uint32_t)vmread(VMCS_PROC_CONTROLS);
    if (!!(proc & bit) != on)
        vmwrite(VMCS_PROC_CONTROLS, on ? proc | bit : proc & ~bit);
}

/* NMI-window exit (25.2): the guest no longer blocks NMIs; the held one
 * goes in at this entry (nmi_before_entry). Interrupt-window exit
 * (no virtual NMIs): RFLAGS.IF is set, the soft blocking ends. */
static void handle_nmi_window(struct vcpu *v)
{
    vcpu_count(v, MINIHV_EXIT_EXCEPTION);
    if (!vmx_virtual_nmis())
        vmx_of(v)->nmi_soft_blocked = false;
}

/* Before the entry: the held NMI in, or the window that lets it in
 * asked for. `busy`: an event or a single-step #DB enters first. */
static void nmi_before_entry(struct vcpu *v, bool busy)
{
    struct vmx_cpu *c = vmx_of(v);
    bool vnmi = vmx_virtual_nmis();
    uint32_t intr = (uint32_t)vmread(VMCS_GUEST_INTERRUPTIBILITY);
    uint64_t activity = vmread(VMCS_GUEST_ACTIVITY);
    if (!vnmi) {
        if (intr & INTERRUPTIBILITY_NMI) { /* never entered with: see above */
            intr &= ~INTERRUPTIBILITY_NMI;
            vmwrite(VMCS_GUEST_INTERRUPTIBILITY, intr);
            c->nmi_soft_blocked = true;
        }
        if (c->nmi_soft_blocked && (v->regs.rflags & RFLAGS_IF) &&
            !(intr & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOVSS)))
            c->nmi_soft_blocked = false;
    }
    bool window = false;
    if (v->nmi_pending && activity != ACTIVITY_WAIT_FOR_SIPI) {
        /* 26.3.1.5: no NMI injection under MOV SS blocking or (with
         * virtual NMIs) virtual-NMI blocking; STI blocking too on some
         * processors (KVM's vmx_nmi_blocked assumes so). */
        bool blocked = (intr & (INTERRUPTIBILITY_NMI | INTERRUPTIBILITY_MOVSS | INTERRUPTIBILITY_STI)) ||
                       (!vnmi && c->nmi_soft_blocked);
        if (!busy && !blocked) {
            vmwrite(VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_NMI | 2);
            /* An NMI wakes a halted CPU (HLT's RIP is already past it). */
            if (activity == ACTIVITY_HLT)
                vmwrite(VMCS_GUEST_ACTIVITY, ACTIVITY_ACTIVE);
            v->nmi_pending = false;
            c->nmi_soft_blocked = !vnmi;
        } else {
            window = true;
        }
    }
    if (vnmi)
        set_proc_bit(PROC_NMI_WINDOW, window);
    else
        set_proc_bit(PROC_INTERRUPT_WINDOW, window);
}

/* Called by vmx_exit_entry with the guest GPRs saved in v->regs. Returns
 * to VMRESUME. */
void vmx_handle_exit(struct vcpu *v)
{
    uint32_t reason = (uint32_t)vmread(VMCS_EXIT_REASON);
    unsigned basic = reason & 0xffff;
    struct vmx_cpu *c = vmx_of(v);
    bool injected = c->injected = false;
    v->exit.raw_reason = basic;
    v->exit.name = exit_name(basic);
    v->exit.qualification = vmread(VMCS_EXIT_QUALIFICATION);
    v->exit.insn_len = (unsigned)vmread(VMCS_EXIT_INSN_LEN);
    v->exit.gpa = 0;
    v->exit.access = 0;
    v->regs.gpr[DECODE_RSP] = vmread(VMCS_GUEST_RSP);
    v->regs.rip = vmread(VMCS_GUEST_RIP);
    v->regs.rflags = vmread(VMCS_GUEST_RFLAGS);
    uint32_t vectoring = (uint32_t)vmread(VMCS_IDT_VECTORING_INFO);
    uint64_t rip_before = v->regs.rip;
    bool db_due = false, iret_unblocked = false;

    if (reason & VMX_EXIT_REASON_ENTRY_FAILURE) {
        vcpu_count(v, MINIHV_EXIT_OTHER);
        vcpu_fatal(v, "VM entry failed (SDM 26.7): guest state or MSR loading rejected");
    }
    switch (basic) {
    case VMX_EXIT_CPUID:
        vcpu_count(v, MINIHV_EXIT_CPUID);
        vcpu_handle_cpuid(v);
        break;
    case VMX_EXIT_VMCALL:
        vcpu_count(v, MINIHV_EXIT_HYPERCALL);
        vcpu_handle_hypercall(v);
        break;
    case VMX_EXIT_RDMSR:
    case VMX_EXIT_WRMSR:
        /* Every MSR the bitmap does not pass (hv/msr_policy.c). */
        vcpu_count(v, basic == VMX_EXIT_WRMSR ? MINIHV_EXIT_MSR_WRITE : MINIHV_EXIT_MSR_READ);
        msr_handle_exit(v, MSR_ON_VMX, basic == VMX_EXIT_WRMSR);
        break;
    case VMX_EXIT_IO: {
        /* Exit qualification per Table 28-5; the length from the exit
         * (VM-exit instruction length, 28.2.5). */
        uint64_t q = v->exit.qualification;
        vcpu_count(v, MINIHV_EXIT_IO);
        vcpu_handle_io(v, IO_QUAL_PORT(q), IO_QUAL_SIZE(q), q & IO_QUAL_IN, q & IO_QUAL_STRING,
                       q & IO_QUAL_REP);
        break;
    }
    case VMX_EXIT_CR_ACCESS:
        vcpu_count(v, MINIHV_EXIT_CR_ACCESS);
        handle_cr_access(v);
        break;
    case VMX_EXIT_XSETBV:
        vcpu_count(v, MINIHV_EXIT_XSETBV);
        vcpu_handle_xsetbv(v);
        break;
    case VMX_EXIT_INVD:
    case VMX_EXIT_WBINVD:
        vcpu_count(v, MINIHV_EXIT_INVD);
        vcpu_handle_invd(v);
        break;
    case VMX_EXIT_GETSEC:
    case VMX_EXIT_VMCLEAR: case VMX_EXIT_VMLAUNCH: case VMX_EXIT_VMPTRLD: case VMX_EXIT_VMPTRST:
    case VMX_EXIT_VMREAD: case VMX_EXIT_VMRESUME: case VMX_EXIT_VMWRITE: case VMX_EXIT_VMXOFF:
    case VMX_EXIT_VMXON: case VMX_EXIT_INVEPT: case VMX_EXIT_INVVPID: case VMX_EXIT_VMFUNC:
        /* As on a CPU without VMX (CR4.VMXE reads 0): #UD. */
        vcpu_count(v, MINIHV_EXIT_VIRT_INSN);
        vmx_inject_exception(v, 6, false, 0);
        break;
    case VMX_EXIT_EPT_VIOLATION: {
        /* Qualification bits 0-2: read, write, fetch (Table 28-7). */
        unsigned access = (unsigned)(v->exit.qualification & 7);
        iret_unblocked = !(vectoring & INTR_INFO_VALID) && (v->exit.qualification & EPT_QUAL_NMI_UNBLOCKED);
        /* The decode is checked against this (vcpu_emulate_mmio) only for
         * the access itself: bits 7 and 8 set (Table 28-7), not a fault
         * on the guest's own paging structures. */
        v->exit.access = (v->exit.qualification & 0x180) == 0x180 ? access : 0;
        if (vectoring & INTR_INFO_VALID) {
            vcpu_count(v, MINIHV_EXIT_NPF_HV_MEMORY);
            v->exit.gpa = vmread(VMCS_GUEST_PHYS_ADDR);
            refuse_event(v, vectoring, HV_REFUSE_EVENT_DELIVERY, NULL, "event delivery touched a page the guest "
                         "may not (its IDT, TSS or stack)");
            break;
        }
        uint64_t gpa = vmread(VMCS_GUEST_PHYS_ADDR);
        /* A write to the read-only local APIC page: carried out on the
         * real APIC, INIT/SIPI for virtualized CPUs posted instead. */
        if ((gpa & ~(PAGE_SIZE - 1)) == ipi_apic_page() && (access & NPF_WRITE) && !(access & NPF_FETCH)) {
            vcpu_count(v, MINIHV_EXIT_NPF_MMIO);
            v->exit.gpa = gpa;
            ipi_apic_write(v, gpa);
            break;
        }
        vcpu_handle_npf(v, gpa, access);
        break;
    }
    case VMX_EXIT_EPT_MISCONFIG:
        vcpu_count(v, MINIHV_EXIT_OTHER);
        v->exit.gpa = vmread(VMCS_GUEST_PHYS_ADDR);
        vcpu_fatal(v, "EPT misconfiguration: the core built a bad EPT entry");
    case VMX_EXIT_TRIPLE_FAULT:
        /* The guest's shutdown (27.2, 28.2): on bare metal the chipset
         * resets the machine, and so does the core, after its summary. */
        vcpu_count(v, MINIHV_EXIT_OTHER);
        vcpu_reset_machine(v, "guest triple fault (shutdown)");
    case VMX_EXIT_INIT:
        vcpu_count(v, MINIHV_EXIT_INIT);
        handle_init(v);
        vectoring = 0;
        break;
    case VMX_EXIT_SIPI:
        vcpu_count(v, MINIHV_EXIT_SIPI);
        handle_sipi(v);
        break;
    case VMX_EXIT_NMI_WINDOW:
    case VMX_EXIT_INTERRUPT_WINDOW:
        handle_nmi_window(v);
        break;
    case VMX_EXIT_EXCEPTION_NMI:
        if (((uint32_t)vmread(VMCS_EXIT_INTR_INFO) & INTR_TYPE_MASK) == INTR_TYPE_NMI) {
            handle_nmi(v);
            break;
        }
        handle_exception(v, (uint32_t)vmread(VMCS_EXIT_INTR_INFO));
        break;
    case VMX_EXIT_TASK_SWITCH: {
        /* Qualification (Table 28-2): bits 15:0 the new TSS selector,
         * 31:30 the source (0 CALL, 1 IRET, 2 JMP, 3 a task gate in the
         * IDT, with the event in the IDT-vectoring information). Not
         * emulated: #GP(selector) at the instruction (docs/security.md). */
        uint16_t sel = (uint16_t)v->exit.qualification;
        unsigned source = (unsigned)(v->exit.qualification >> 30) & 3;
        static const char *const sources[] = { "CALL", "IRET", "JMP", "task gate" };
        char what[64];
        fmt_snprintf(what, sizeof(what), "task switch by %s to TSS 0x%x", sources[source], sel);
        vcpu_count(v, MINIHV_EXIT_OTHER);
        refuse_event(v, source == 3 ? vectoring : 0, HV_REFUSE_TASK_SWITCH, &sel, what);
        break;
    }
    default:
        vcpu_count(v, MINIHV_EXIT_OTHER);
        vcpu_fatal(v, "unexpected VM exit");
    }

    /* Past the instruction, in its address size, as SVM does (an intercepted
     * instruction at IP 0xFFFF of 16-bit code continues at 0: SDM Vol. 1
     * 3.6); only an advance across a 64 KiB line can wrap, so the mode is
     * read only then (check-transparency ipwrap-*). */
    if ((v->regs.rip ^ rip_before) >> 16) {
        uint64_t cs_ar = vmread(VMCS_GUEST_CS_AR);
        bool sixty_four = (vmread(VMCS_GUEST_EFER) & EFER_LMA) && (cs_ar & VMX_AR_L);
        v->regs.rip &= ip_mask(sixty_four, cs_ar & VMX_AR_DB);
        /* Past the end of the lower canonical half (an exiting instruction
         * that ends at 0x7FFF_FFFF_FFFF): hardware faults on the next
         * fetch, but a VMCS RIP there fails the VM entry (SDM Vol. 3C
         * 26.3.1.4), a FATAL the guest chose (review R3, finding 3).
         * #GP(0) at the instruction instead. */
        if (sixty_four && !c->injected && !addr_canonical(v->regs.rip, vmread(VMCS_GUEST_CR4) & CR4_LA57)) {
            hv_refuse(HV_REFUSE_INSN_LENGTH, "cpu %u: exit %s: RIP 0x%lx past the instruction is not canonical: #GP",
                      v->index, v->exit.name, v->regs.rip);
            v->regs.rip = rip_before;
            vmx_inject_exception(v, 13, true, 0);
        }
    }
    if (v->regs.rip != rip_before && !c->injected)
        db_due = vmx_insn_done(v);

    /* A virtual INIT posted while this exit was handled (its NMI kick hit
     * the core, not the guest): take it now. Like a real INIT it drops
     * whatever event was to be delivered (SDM Vol. 3A 9.1.1). */
    if (ipi_state(v->index) != SIPI_RUNNING)
        handle_virtual_init(v);

    /* The EPT changed at run time (a passthrough BAR moved): drop this
     * CPU's cached guest translations (28.4.3.1). */
    uint64_t gen = ept_generation();
    if (gen != v->ept_gen_seen) {
        v->ept_gen_seen = gen;
        invept_all();
    }

    vmwrite(VMCS_GUEST_RSP, v->regs.gpr[DECODE_RSP]);
    vmwrite(VMCS_GUEST_RIP, v->regs.rip);
    vmwrite(VMCS_GUEST_RFLAGS, v->regs.rflags);
    injected = c->injected;

    /* An event whose delivery the exit interrupted is delivered again
     * (27.2.4, 28.2.3 "IDT-vectoring information"). */
    if (!injected && (vectoring & INTR_INFO_VALID)) {
        vmwrite(VMCS_ENTRY_INTR_INFO, vectoring & ~0x1000u);
        if (vectoring & INTR_INFO_ERR_VALID)
            vmwrite(VMCS_ENTRY_EXCEPTION_ERR, vmread(VMCS_IDT_VECTORING_ERR));
        vmwrite(VMCS_ENTRY_INSN_LEN, v->exit.insn_len);
        /* An NMI goes in again with blocking by NMI clear (26.3.1.5);
         * its delivery sets it (FreeBSD's bhyve hit the entry failure). */
        if ((vectoring & INTR_TYPE_MASK) == INTR_TYPE_NMI)
            vmwrite(VMCS_GUEST_INTERRUPTIBILITY, vmread(VMCS_GUEST_INTERRUPTIBILITY) & ~INTERRUPTIBILITY_NMI);
        injected = true;
    }
    /* An IRET that unblocked NMIs and hit an EPT violation runs again:
     * blocked again until then (28.2.3). */
    if (iret_unblocked && v->regs.rip == rip_before && !injected)
        vmwrite(VMCS_GUEST_INTERRUPTIBILITY, vmread(VMCS_GUEST_INTERRUPTIBILITY) | INTERRUPTIBILITY_NMI);
    /* A guest NMI held or just arrived: in now, or at its window. A
     * single-step #DB due comes first (priority 4 over NMIs, SDM Vol. 3A
     * 6.9; an injection would drop it, 27.7.3). */
    nmi_before_entry(v, injected || db_due);
}

/* VMRESUME failed (VMfail, 31.4): the VMCS is broken. */
__attribute__((noreturn)) void vmx_resume_failed(struct vcpu *v)
{
    char why[80];
    fmt_snprintf(why, sizeof(why), "VMRESUME failed, VM-instruction error %lu (SDM 31.4)",
                 vmread(VMCS_INSN_ERROR));
    vcpu_fatal(v, why);
}
