/* The SVM backend: EFER.SVME, a VMCB built from the CPU's current state
 * (the "blue pill": the guest resumes in the loader right after its call
 * into the core), the intercepts, event injection and the start of each
 * CPU. The exits are svm_exit.c; what both share is svm_cpu.h. Section
 * numbers are the AMD APM Vol. 2 unless said otherwise. */
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
#include "hv/vcpu_policy.h"



/* ---- capabilities and shared state ---- */

struct svm_caps svm_caps;
static uint64_t msrpm_pa, iopm_pa;

bool svm_supported(const char **why)
{
    uint32_t r[4];
    if (!x86_cpu_amd_like()) {
        *why = "not an AMD CPU";
        return false;
    }
    x86_cpuid(0x80000000, 0, r);
    uint32_t max_ext = r[0];
    x86_cpuid(0x80000001, 0, r);
    if (max_ext < 0x8000000a || !(r[2] & CPUID_80000001_ECX_SVM)) {
        *why = "CPUID says no SVM";
        return false;
    }
    x86_cpuid(0x8000000a, 0, r);
    if (!(r[3] & 1)) {
        *why = "SVM without nested paging";
        return false;
    }
    if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS) {
        *why = "SVM disabled by the firmware (VM_CR.SVMDIS)";
        return false;
    }
    return true;
}

static uint64_t efer_allowed_bits(void)
{
    uint32_t r[4];
    x86_cpuid(0x80000001, 0, r);
    uint64_t allowed = EFER_SCE;
    if (r[3] & (1u << 29))
        allowed |= EFER_LME;
    if (r[3] & (1u << 20))
        allowed |= EFER_NXE_BIT;
    if (r[3] & (1u << 25))
        allowed |= EFER_FFXSR;
    if (r[2] & (1u << 17))
        allowed |= EFER_TCE;
    x86_cpuid(0x80000000, 0, r);
    if (r[0] >= 0x80000021) {
        x86_cpuid(0x80000021, 0, r);
        if (r[0] & (1u << 8))
            allowed |= EFER_AUTOIBRS;
    }
    return allowed;
}

int svm_global_init(struct guest_map_spec *map)
{
    uint32_t r[4];
    x86_cpuid(0x8000000a, 0, r);
    svm_caps.asids = r[1];
    svm_caps.nrips = r[3] & (1u << 3);
    svm_caps.vnmi = r[3] & (1u << 25);
    svm_caps.efer_allowed = efer_allowed_bits();
    uint32_t ext[4];
    x86_cpuid(0x80000001, 0, ext);
    svm_caps.npt_1g = ext[3] & (1u << 26);
    hv_log("svm: revision %u, %u ASIDs, next-RIP save %s, NPT 1 GiB pages %s, virtual NMIs %s", r[0] & 0xff,
           svm_caps.asids, svm_caps.nrips ? "yes" : "no (instruction lengths decoded)",
           svm_caps.npt_1g ? "yes" : "no", svm_caps.vnmi ? "yes" : "no (IRET intercepted)");

    /* MSR permission map (15.11): 8 KiB. I/O permission map (15.10.1):
     * 12 KiB, one bit per port (p % 8 of byte p / 8), the bits past
     * 0xffff for accesses that wrap; only the ports registered in
     * hv/io.h are set. */
    msrpm_pa = heap_alloc(MSRPM_BYTES / PAGE_SIZE);
    iopm_pa = heap_alloc(3);
    if (!msrpm_pa || !iopm_pa)
        return -1;
    msrpm_fill((uint8_t *)(uintptr_t)msrpm_pa);
    io_bitmap_fill((uint8_t *)(uintptr_t)iopm_pa, 3 * PAGE_SIZE);

    map->fmt = &pt_format_npt;
    map->allow_1g = svm_caps.npt_1g;
    map->name = "NPT";
    return 0;
}

/* ---- per-CPU state ---- */

static struct svm_cpu svm_cpus[MINIHV_MAX_CPUS];

/* hv/svm/svm_entry.asm */
int svm_launch(struct vcpu *v, uint64_t guest_vmcb_pa, uint64_t host_vmcb_pa, uint64_t stack_top);


/* ---- the guest's current state, read from this CPU ---- */

struct dtr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

#define READ_SEL(name) ({ uint16_t s_; __asm__ volatile("mov %%" name ", %0" : "=r"(s_)); s_; })

/* A segment as the CPU has it loaded, from its descriptor in the GDT
 * (APM Vol. 2 4.7, 4.8), in the VMCB attribute format (Table B-2). */
static void seg_from_gdt(const struct dtr *gdtr, uint16_t sel, struct vmcb_seg *s)
{
    *s = (struct vmcb_seg){ .selector = sel };
    if ((sel & ~3u) == 0 || (sel & 4) || (sel | 7u) > gdtr->limit)
        return; /* null (or LDT-based): attributes 0, not present */
    uint64_t d = ((const uint64_t *)(uintptr_t)gdtr->base)[sel >> 3];
    s->base = ((d >> 16) & 0xffffff) | ((d >> 56) & 0xff) << 24;
    s->limit = (uint32_t)((d & 0xffff) | ((d >> 48) & 0xf) << 16);
    if (d & (1ull << 55))
        s->limit = s->limit << 12 | 0xfff;
    s->attrib = (uint16_t)(((d >> 40) & 0xff) | ((d >> 52) & 0xf) << 8);
    if (s->attrib & 0x10)
        s->attrib |= 1; /* code/data: "accessed", as the CPU sets it on load */
}

/* Guest state = this CPU as it is now, with RIP/RSP/RFLAGS/CR3 from the
 * loader's resume context (15.5.1). FS, GS, TR, LDTR and the syscall MSRs
 * come from VMSAVE (15.5.2), done by the caller before the core's own
 * tables are loaded. */
static void setup_guest_state(struct vmcb *vmcb, const struct minihv_resume *resume,
                              const struct dtr *gdtr, const struct dtr *idtr)
{
    struct vmcb_save *s = &vmcb->save;
    seg_from_gdt(gdtr, READ_SEL("es"), &s->es);
    seg_from_gdt(gdtr, READ_SEL("cs"), &s->cs);
    seg_from_gdt(gdtr, READ_SEL("ss"), &s->ss);
    seg_from_gdt(gdtr, READ_SEL("ds"), &s->ds);
    s->gdtr.base = gdtr->base;
    s->gdtr.limit = gdtr->limit;
    s->idtr.base = idtr->base;
    s->idtr.limit = idtr->limit;
    s->cpl = s->cs.selector & 3;
    uint64_t dr6, dr7, cr2;
    __asm__ volatile("mov %%dr6, %0; mov %%dr7, %1; mov %%cr2, %2" : "=r"(dr6), "=r"(dr7), "=r"(cr2));
    s->efer = rdmsr(MSR_EFER) | EFER_SVME;
    s->cr0 = read_cr0();
    s->cr2 = cr2;
    s->cr3 = resume->cr3;
    s->cr4 = read_cr4();
    s->dr6 = dr6;
    s->dr7 = dr7;
    s->rflags = resume->rflags;
    s->rip = resume->rip;
    s->rsp = resume->rsp;
    s->rax = 0; /* the loader's call returns success */
    s->g_pat = rdmsr(MSR_IA32_PAT);
    s->dbgctl = rdmsr(MSR_DEBUGCTL);
}

static void setup_controls(struct vmcb *vmcb, struct vcpu *v)
{
    struct vmcb_control *c = &vmcb->control;
    /* #UD: the guest's VMCALL (Intel's hypercall) becomes ours, any other
     * #UD goes back to the guest; #DB and #AC: see svm_cpu.h. */
    c->intercept_exceptions = ALWAYS_INTERCEPTED_VECTORS;
    /* NMI: the kick that carries INIT (ipi.h). INIT: a physical INIT
     * must never reset a virtualized CPU silently. Shutdown: a triple
     * fault is a fatal report, not a reset of the machine (15.13). */
    /* SMI: taken in host mode at the exit's STGI, as KVM does (its
     * intercept_smi): an SMI in guest mode runs the firmware's SMM code
     * with the core's intercepts armed, and its first intercepted access
     * (RDMSR EFER in SMM entry code, under QEMU TCG) exits with the SMM
     * state, which no VMRUN takes (EFER.SVME clear): a FATAL at the first
     * UEFI variable write of a Secure Boot firmware (check-secureboot). */
    c->intercept_misc1 = SVM_INTERCEPT_NMI | SVM_INTERCEPT_SMI | SVM_INTERCEPT_INIT | SVM_INTERCEPT_CPUID |
                         SVM_INTERCEPT_INVD | SVM_INTERCEPT_INVLPGA | SVM_INTERCEPT_MSR_PROT |
                         SVM_INTERCEPT_IOIO_PROT | SVM_INTERCEPT_SHUTDOWN;
    /* Every SVM instruction: #UD, as on a CPU without SVM (the guest's
     * EFER.SVME must stay set, so they would otherwise run). VMMCALL: the
     * hypercall. */
    c->intercept_misc2 = SVM_INTERCEPT_VMRUN | SVM_INTERCEPT_VMMCALL | SVM_INTERCEPT_VMLOAD |
                         SVM_INTERCEPT_VMSAVE | SVM_INTERCEPT_STGI | SVM_INTERCEPT_CLGI |
                         SVM_INTERCEPT_SKINIT | SVM_INTERCEPT_XSETBV;
    c->iopm_base_pa = iopm_pa;
    c->msrpm_base_pa = msrpm_pa;
    /* ASIDs tag TLB entries per core (15.16): one per CPU, from 1 (0 is
     * the host's); with fewer ASIDs than CPUs they repeat, which is
     * harmless since each core runs only its own guest. */
    c->asid = svm_caps.asids > 1 ? 1 + v->index % (svm_caps.asids - 1) : 1;
    c->tlb_control = SVM_TLB_FLUSH_ALL;
    /* V_INTR_MASKING clear (15.21.1): the guest's RFLAGS.IF masks the
     * physical interrupts, which go straight to the guest. */
    c->int_control = 0;
    /* Virtual NMIs (15.21.10): the CPU keeps the guest's NMI blocking
     * (V_NMI_MASK, set at delivery, cleared by IRET) and delivers a
     * pending one (V_NMI) when it may; without them svm_exit.c tracks the
     * blocking with the IRET intercept. Physical NMIs still exit. */
    if (svm_caps.vnmi)
        c->int_control |= SVM_V_NMI_ENABLE;
    c->np_control = 1; /* NP_ENABLE (15.25.3) */
    c->n_cr3 = ept_root_pa();
    c->clean_bits = 0;
}

/* ---- vcpu_ops ---- */

static void svm_get_mode(struct vcpu *v, struct vcpu_guest_mode *m)
{
    const struct vmcb_save *s = &svm_of(v)->vmcb->save;
    m->cr0 = s->cr0;
    m->cr3 = s->cr3;
    m->cr4 = s->cr4;
    m->efer = s->efer;
    m->cs_base = s->cs.base;
    m->cs_l = s->cs.attrib & VMCB_ATTR_L;
    m->cs_db = s->cs.attrib & VMCB_ATTR_DB;
    m->cpl = s->cpl;
}

/* Event injection (15.20): delivered through the guest's IDT at the next
 * VMRUN; injected events are not subject to the intercepts. */
void svm_inject_exception(struct vcpu *v, unsigned vector, bool has_error, uint32_t error)
{
    uint64_t ev = SVM_EVENT_VALID | SVM_EVENT_TYPE_EXCEPTION | (vector & 0xff);
    /* Real mode pushes no error code (APM Vol. 2 8.2): not in EVENTINJ then. */
    if (has_error && (svm_of(v)->vmcb->save.cr0 & CR0_PE))
        ev |= SVM_EVENT_ERR_VALID | (uint64_t)error << 32;
    svm_of(v)->vmcb->control.event_inj = ev;
    svm_of(v)->injected = true;
    if (exception_sets_rf(vector)) /* as a fault pushes it (hv/exit_rules.h) */
        v->regs.rflags |= RFLAGS_RF;
}

static void svm_dump(struct vcpu *v)
{
    const struct vmcb *vmcb = svm_of(v)->vmcb;
    const struct vmcb_save *s = &vmcb->save;
    hv_log("  svm: exit code 0x%lx, info1 0x%lx, info2 0x%lx, exitintinfo 0x%lx, eventinj 0x%lx, "
           "next RIP 0x%lx, interrupt shadow %lu, ASID %u",
           vmcb->control.exit_code, vmcb->control.exit_info1, vmcb->control.exit_info2,
           vmcb->control.exit_int_info, vmcb->control.event_inj, vmcb->control.next_rip,
           vmcb->control.int_state & 1, vmcb->control.asid);
    hv_log("  svm: CS %04x base 0x%lx limit 0x%x attr 0x%x, SS %04x attr 0x%x, CPL %u, "
           "GDTR 0x%lx/0x%x, IDTR 0x%lx/0x%x, TR %04x base 0x%lx attr 0x%x, cr2 0x%lx, g_pat 0x%lx",
           s->cs.selector, s->cs.base, s->cs.limit, s->cs.attrib, s->ss.selector, s->ss.attrib, s->cpl,
           s->gdtr.base, s->gdtr.limit, s->idtr.base, s->idtr.limit, s->tr.selector, s->tr.base,
           s->tr.attrib, s->cr2, s->g_pat);
}

static const struct vcpu_ops svm_ops = {
    .name = "svm",
    .get_mode = svm_get_mode,
    .inject_exception = svm_inject_exception,
    .dump = svm_dump,
};

/* ---- start ---- */

static void load_segments(uint16_t cs, uint16_t ds)
{
    __asm__ volatile("pushq %q0\n\t"
                     "leaq 1f(%%rip), %%rax\n\t"
                     "pushq %%rax\n\t"
                     "lretq\n"
                     "1:\n\t"
                     "mov %w1, %%ss\n\t"
                     "mov %w1, %%ds\n\t"
                     "mov %w1, %%es"
                     :: "r"((uint64_t)cs), "r"(ds) : "rax", "memory");
}

int svm_cpu_start(struct vcpu *v, const struct minihv_boot_info *bi,
                  const struct minihv_resume *resume, uint64_t stack_top)
{
    (void)bi;
    struct svm_cpu *c = &svm_cpus[v->index];
    if (!c->vmcb_pa) {
        uint64_t bytes = 0;
        c->vmcb_pa = heap_alloc(1);
        c->host_vmcb_pa = heap_alloc(1);
        c->hsave_pa = heap_alloc(1);
        if (!c->vmcb_pa || !c->host_vmcb_pa || !c->hsave_pa || host_cpu_tables(stack_top, &c->host, &bytes)) {
            hv_log("cpu %u: out of memory for SVM state", v->index);
            return -1;
        }
        hv_footprint.per_cpu_bytes += bytes + 3 * PAGE_SIZE;
        c->vmcb = (struct vmcb *)(uintptr_t)c->vmcb_pa;
    }

    /* EFER.SVME (15.4) and the host save area (15.30.4). */
    uint64_t efer_orig = rdmsr(MSR_EFER);
    wrmsr(MSR_EFER, efer_orig | EFER_SVME);
    wrmsr(MSR_VM_HSAVE_PA, c->hsave_pa);
    /* INIT redirection (APM Vol. 2 15.28, 15.29): an INIT this CPU takes
     * outside guest mode, e.g. pending after #VMEXIT(INIT) or arriving in
     * the STGI window of handle_nmi, becomes #SX (vector 30) in the core's
     * IDT instead of resetting the CPU out of the core (hv/host.c). The
     * guest never sees VM_CR (svm_msr_read_policy). */
    wrmsr(MSR_VM_CR, rdmsr(MSR_VM_CR) | VM_CR_R_INIT);

    struct dtr gdtr, idtr;
    __asm__ volatile("sgdt %0; sidt %1" : "=m"(gdtr), "=m"(idtr));
    uint16_t fw_cs = READ_SEL("cs"), fw_ss = READ_SEL("ss"), fw_ds = READ_SEL("ds"), fw_es = READ_SEL("es");
    memset(c->vmcb, 0, sizeof(*c->vmcb));
    setup_controls(c->vmcb, v);
    /* FS, GS, TR, LDTR, KernelGSBase, STAR..SFMASK, SYSENTER_*: the
     * firmware's, straight into the guest VMCB. */
    svm_vmsave(c->vmcb_pa);
    setup_guest_state(c->vmcb, resume, &gdtr, &idtr);

    /* The core's own GDT, TSS and IDT: the host state VMRUN saves and
     * #VMEXIT restores (CS, SS, GDTR, IDTR), plus TR through VMSAVE/VMLOAD. */
    struct dtr host_gdtr = { 5 * 8 - 1, c->host.gdt_base };
    struct dtr host_idtr = { 256 * 16 - 1, c->host.idt_base };
    __asm__ volatile("lgdt %0" ::"m"(host_gdtr) : "memory");
    load_segments(HOST_CS, HOST_DS);
    __asm__ volatile("ltr %w0; lidt %1" ::"r"((uint16_t)HOST_TR), "m"(host_idtr) : "memory");
    svm_vmsave(c->host_vmcb_pa);

    memset(v->regs.gpr, 0, sizeof(v->regs.gpr));
    v->regs.rip = resume->rip;
    v->regs.rflags = resume->rflags;
    v->arch = c;
    v->ops = &svm_ops;
    hv_log("cpu %u (APIC id %u) virtualized", v->index, v->apic_id);
    int rc = svm_launch(v, c->vmcb_pa, c->host_vmcb_pa, stack_top);

    /* The first VMRUN failed: the firmware's tables and state back. */
    v->ops = NULL;
    hv_log("cpu %u: VMRUN failed its consistency checks (APM 15.5.1): not virtualized", v->index);
    svm_dump(v);
    __asm__ volatile("lgdt %0; lidt %1" ::"m"(gdtr), "m"(idtr) : "memory");
    load_segments(fw_cs, fw_ss);
    __asm__ volatile("mov %w0, %%ds; mov %w1, %%es" ::"r"(fw_ds), "r"(fw_es));
    svm_vmload(c->vmcb_pa);
    wrmsr(MSR_EFER, efer_orig);
    return rc < 0 ? rc : -1;
}
