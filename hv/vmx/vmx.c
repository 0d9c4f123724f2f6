/* The VMX backend: capabilities, VMXON, a VMCS built from the CPU's
 * current state (the "blue pill": the guest resumes in the loader right
 * after its call into the core), its controls, and the start of each CPU.
 * The exits are vmx_exit.c's. Section numbers are the Intel SDM Vol. 3C. */
#include <minihv/io.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "hv/console.h"
#include "hv/ept.h"
#include "hv/heap.h"
#include "hv/host.h"
#include "hv/hv.h"
#include "hv/io.h"
#include "hv/msr_policy.h"
#include "hv/vcpu.h"
#include "hv/vcpu_policy.h"
#include "hv/vmx/vmx.h"
#include "hv/vmx/vmx_cpu.h"

/* The first failing field of a setup, for the report. */
uint64_t vmwrite_failed_field;

struct invept_desc {
    uint64_t eptp, zero;
};
struct invvpid_desc {
    uint64_t vpid, gla;
};

/* ---- capabilities ---- */

struct vmx_caps vmx_caps;
static uint64_t msr_bitmap_pa, io_bitmap_pa;

bool vmx_supported(const char **why)
{
    uint32_t r[4];
    x86_cpuid(0, 0, r);
    if (r[1] != 0x756e6547 || r[3] != 0x49656e69 || r[2] != 0x6c65746e) { /* GenuineIntel */
        *why = "not an Intel CPU";
        return false;
    }
    x86_cpuid(1, 0, r);
    if (!(r[2] & CPUID1_ECX_VMX)) {
        *why = "CPUID says no VMX";
        return false;
    }
    uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
    if ((fc & FEATURE_CONTROL_LOCK) && !(fc & FEATURE_CONTROL_VMXON_OUTSIDE)) {
        *why = "VMX disabled and locked by the firmware (IA32_FEATURE_CONTROL)";
        return false;
    }
    uint64_t proc = rdmsr(MSR_VMX_PROCBASED);
    if (!(proc & ((uint64_t)PROC_ACTIVATE_SECONDARY << 32))) {
        *why = "no secondary processor-based controls";
        return false;
    }
    uint64_t proc2 = rdmsr(MSR_VMX_PROCBASED2) >> 32;
    if (!(proc2 & PROC2_ENABLE_EPT) || !(proc2 & PROC2_UNRESTRICTED)) {
        *why = "VMX without EPT or unrestricted guest";
        return false;
    }
    return true;
}

/* A control value: the bits we want, plus those that must be 1, minus
 * those that must be 0 (A.3: allowed-0 settings in bits 31:0, allowed-1
 * in 63:32). -1 when a bit we need is not allowed. */
static int64_t adjust(uint32_t want, uint32_t optional, uint64_t cap, const char *name)
{
    uint32_t must1 = (uint32_t)cap, may1 = (uint32_t)(cap >> 32);
    uint32_t v = (want | (optional & may1) | must1) & may1;
    if ((v & want) != want) {
        hv_log("vmx: %s controls: wanted 0x%x not allowed (allowed-1 0x%x)", name, want, may1);
        return -1;
    }
    return v;
}

int vmx_global_init(struct guest_map_spec *map)
{
    vmx_caps.basic = rdmsr(MSR_VMX_BASIC);
    bool true_ctls = vmx_caps.basic & VMX_BASIC_TRUE_CTLS; /* A.1: TRUE_* MSRs exist */
    vmx_caps.pin = rdmsr(true_ctls ? MSR_VMX_TRUE_PINBASED : MSR_VMX_PINBASED);
    vmx_caps.proc = rdmsr(true_ctls ? MSR_VMX_TRUE_PROCBASED : MSR_VMX_PROCBASED);
    vmx_caps.exit = rdmsr(true_ctls ? MSR_VMX_TRUE_EXIT : MSR_VMX_EXIT);
    vmx_caps.entry = rdmsr(true_ctls ? MSR_VMX_TRUE_ENTRY : MSR_VMX_ENTRY);
    vmx_caps.proc2 = rdmsr(MSR_VMX_PROCBASED2);
    vmx_caps.misc = rdmsr(MSR_VMX_MISC);
    vmx_caps.ept_vpid = rdmsr(MSR_VMX_EPT_VPID_CAP);
    vmx_caps.cr0_fixed0 = rdmsr(MSR_VMX_CR0_FIXED0);
    vmx_caps.cr0_fixed1 = rdmsr(MSR_VMX_CR0_FIXED1);
    vmx_caps.cr4_fixed0 = rdmsr(MSR_VMX_CR4_FIXED0);
    vmx_caps.cr4_fixed1 = rdmsr(MSR_VMX_CR4_FIXED1);
    hv_log("vmx: virtual NMIs and NMI-window exiting: %s", vmx_virtual_nmis() ? "yes" : "no (NMI blocking kept by "
           "the core, inexact: docs/design.md)");
    hv_log("vmx: basic 0x%lx (%s controls), EPT/VPID caps 0x%lx, misc 0x%lx%s",
           vmx_caps.basic, true_ctls ? "TRUE" : "default", vmx_caps.ept_vpid, vmx_caps.misc,
           (vmx_caps.misc & VMX_MISC_WAIT_FOR_SIPI) ? "" : " (no wait-for-SIPI state!)");

    /* MSR bitmap (25.6.9 "MSR-Bitmap Address"): filled from the MSR
     * table (hv/msr_policy.c); every exit goes to msr_handle_exit. */
    msr_bitmap_pa = heap_alloc(1);
    if (!msr_bitmap_pa)
        return -1;
    msr_bitmap_fill_vmx((uint8_t *)(uintptr_t)msr_bitmap_pa);

    /* I/O bitmaps A and B (25.6.4): two pages, contiguous here so that
     * port p is bit p % 8 of byte p / 8 across both; only the ports
     * registered in hv/io.h exit. */
    io_bitmap_pa = heap_alloc(2);
    if (!io_bitmap_pa)
        return -1;
    io_bitmap_fill((uint8_t *)(uintptr_t)io_bitmap_pa, 2 * PAGE_SIZE);

    map->fmt = &pt_format_ept;
    map->allow_1g = vmx_caps.ept_vpid & EPT_CAP_1G;
    map->name = "EPT";
    return 0;
}

/* EPTP (24.6.11): memory type of the tables (WB if allowed), page-walk
 * length - 1 = 3 in bits 5:3, no accessed/dirty flags. The map is built by
 * then (hv/main.c). */
static uint64_t vmx_eptp(void)
{
    return ept_root_pa() | ((vmx_caps.ept_vpid & EPT_CAP_WB) ? MEMTYPE_WB : MEMTYPE_UC) | (3u << 3);
}
/* ---- per-CPU state ---- */

static struct vmx_cpu vmx_cpus[MINIHV_MAX_CPUS];
static uint64_t vmx_bytes_per_cpu;

uint64_t vmx_cpu_bytes(void)
{
    return vmx_bytes_per_cpu;
}

/* hv/vmx/vmx_entry.asm */
int vmx_launch(struct vcpu *v);
void vmx_exit_entry(void);

/* ---- the guest's current state, read from this CPU ---- */

/* A segment as the CPU has it loaded, from its descriptor in the GDT
 * (SDM Vol. 3A 3.4.5), in the VMCS access-rights format (24.4.1). */
static void seg_from_gdt(uint64_t gdt_base, uint16_t gdt_limit, uint16_t sel, bool is_cs, struct seg_state *s)
{
    s->sel = sel;
    if ((sel & ~3u) == 0 || (sel & 4) || (sel | 7u) > gdt_limit) {
        /* Null (or LDT-based): unusable (24.4.1, bit 16). */
        s->base = 0;
        s->limit = 0;
        s->ar = VMX_AR_UNUSABLE;
        (void)is_cs;
        return;
    }
    const uint64_t *gdt = (const uint64_t *)(uintptr_t)gdt_base;
    uint64_t d = gdt[sel >> 3];
    s->base = ((d >> 16) & 0xffffff) | ((d >> 56) & 0xff) << 24;
    s->limit = (uint32_t)((d & 0xffff) | ((d >> 48) & 0xf) << 16);
    if (d & (1ull << 55))
        s->limit = s->limit << 12 | 0xfff;
    s->ar = (uint32_t)((d >> 40) & 0xff) | (uint32_t)((d >> 52) & 0xf) << 12;
    if (s->ar & 0x10)
        s->ar |= 1; /* code/data: "accessed", as the CPU sets it on load (26.3.1.2) */
    else if (((unsigned)(sel >> 3) + 1) * 8 + 7 <= gdt_limit)
        s->base |= gdt[(sel >> 3) + 1] << 32; /* 16-byte system descriptor */
}

#define READ_SEL(name) ({ uint16_t s_; __asm__ volatile("mov %%" name ", %0" : "=r"(s_)); s_; })

struct dtr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

void write_guest_seg(int n, const struct seg_state *s)
{
    vmwrite(VMCS_GUEST_SEL(n), s->sel);
    vmwrite(VMCS_GUEST_BASE(n), s->base);
    vmwrite(VMCS_GUEST_LIMIT(n), s->limit);
    vmwrite(VMCS_GUEST_AR(n), s->ar);
}

/* Guest state = this CPU as it is now, with RIP/RSP/RFLAGS/CR3 from the
 * loader's resume context (24.4, 26.3.1). */
static void setup_guest_state(const struct minihv_resume *resume, uint64_t cr0_orig, uint64_t cr4_orig)
{
    struct dtr gdtr, idtr;
    uint16_t ldtr_sel, tr_sel;
    __asm__ volatile("sgdt %0; sidt %1; sldt %2; str %3"
                     : "=m"(gdtr), "=m"(idtr), "=r"(ldtr_sel), "=r"(tr_sel));
    struct seg_state s;
    uint16_t sels[6] = { READ_SEL("es"), READ_SEL("cs"), READ_SEL("ss"),
                         READ_SEL("ds"), READ_SEL("fs"), READ_SEL("gs") };
    for (int n = SEG_ES; n <= SEG_GS; n++) {
        seg_from_gdt(gdtr.base, gdtr.limit, sels[n], n == SEG_CS, &s);
        if (n == SEG_FS)
            s.base = rdmsr(MSR_FS_BASE);
        if (n == SEG_GS)
            s.base = rdmsr(MSR_GS_BASE);
        write_guest_seg(n, &s);
    }
    seg_from_gdt(gdtr.base, gdtr.limit, ldtr_sel, false, &s);
    write_guest_seg(SEG_LDTR, &s);
    if (tr_sel & ~3u) {
        seg_from_gdt(gdtr.base, gdtr.limit, tr_sel, false, &s);
        s.ar |= 2; /* busy (26.3.1.2: TR type must be 11 in IA-32e mode) */
    } else {
        /* The firmware never loaded a TR (OVMF): a usable one is required
         * (26.3.1.2), give it an empty busy 64-bit TSS at 0. */
        s = (struct seg_state){ .sel = 0, .base = 0, .limit = 0x67, .ar = 0x8b };
    }
    write_guest_seg(SEG_TR, &s);
    vmwrite(VMCS_GUEST_GDTR_BASE, gdtr.base);
    vmwrite(VMCS_GUEST_GDTR_LIMIT, gdtr.limit);
    vmwrite(VMCS_GUEST_IDTR_BASE, idtr.base);
    vmwrite(VMCS_GUEST_IDTR_LIMIT, idtr.limit);

    uint64_t dr7;
    __asm__ volatile("mov %%dr7, %0" : "=r"(dr7));
    vmwrite(VMCS_GUEST_CR0, read_cr0());
    vmwrite(VMCS_GUEST_CR3, resume->cr3);
    vmwrite(VMCS_GUEST_CR4, read_cr4());
    vmwrite(VMCS_CR0_SHADOW, cr0_orig);
    vmwrite(VMCS_CR4_SHADOW, cr4_orig & ~CR4_VMXE);
    vmwrite(VMCS_GUEST_DR7, dr7);
    vmwrite(VMCS_GUEST_RSP, resume->rsp);
    vmwrite(VMCS_GUEST_RIP, resume->rip);
    vmwrite(VMCS_GUEST_RFLAGS, resume->rflags);
    vmwrite(VMCS_GUEST_DEBUGCTL, rdmsr(MSR_DEBUGCTL));
    vmwrite(VMCS_GUEST_SYSENTER_CS, rdmsr(MSR_SYSENTER_CS));
    vmwrite(VMCS_GUEST_SYSENTER_ESP, rdmsr(MSR_SYSENTER_ESP));
    vmwrite(VMCS_GUEST_SYSENTER_EIP, rdmsr(MSR_SYSENTER_EIP));
    vmwrite(VMCS_GUEST_EFER, rdmsr(MSR_EFER));
    vmwrite(VMCS_GUEST_PAT, rdmsr(MSR_IA32_PAT));
    vmwrite(VMCS_LINK_POINTER, ~0ull); /* no shadow VMCS (24.4.2) */
    vmwrite(VMCS_GUEST_ACTIVITY, ACTIVITY_ACTIVE);
    vmwrite(VMCS_GUEST_INTERRUPTIBILITY, 0);
    vmwrite(VMCS_GUEST_PENDING_DBG, 0);
}

/* Host state (24.5, 27.5): the core's tables, its stack, vmx_exit_entry. */
static void setup_host_state(const struct vmx_cpu *c, const struct minihv_boot_info *bi)
{
    vmwrite(VMCS_HOST_CR0, read_cr0());
    vmwrite(VMCS_HOST_CR3, bi->host_cr3);
    vmwrite(VMCS_HOST_CR4, read_cr4());
    vmwrite(VMCS_HOST_CS_SEL, HOST_CS);
    vmwrite(VMCS_HOST_SS_SEL, HOST_DS);
    vmwrite(VMCS_HOST_DS_SEL, 0);
    vmwrite(VMCS_HOST_ES_SEL, 0);
    vmwrite(VMCS_HOST_FS_SEL, 0);
    vmwrite(VMCS_HOST_GS_SEL, 0);
    vmwrite(VMCS_HOST_TR_SEL, HOST_TR);
    vmwrite(VMCS_HOST_FS_BASE, 0);
    vmwrite(VMCS_HOST_GS_BASE, 0);
    vmwrite(VMCS_HOST_TR_BASE, c->host.tr_base);
    vmwrite(VMCS_HOST_GDTR_BASE, c->host.gdt_base);
    vmwrite(VMCS_HOST_IDTR_BASE, c->host.idt_base);
    vmwrite(VMCS_HOST_SYSENTER_CS, 0);
    vmwrite(VMCS_HOST_SYSENTER_ESP, 0);
    vmwrite(VMCS_HOST_SYSENTER_EIP, 0);
    vmwrite(VMCS_HOST_EFER, rdmsr(MSR_EFER));
    vmwrite(VMCS_HOST_PAT, rdmsr(MSR_IA32_PAT)); /* the firmware's, which the core's tables assume */
    vmwrite(VMCS_HOST_RSP, c->host_rsp);
    vmwrite(VMCS_HOST_RIP, (uint64_t)(uintptr_t)vmx_exit_entry);
}

static int setup_controls(struct vmx_cpu *c, struct vcpu *v)
{
    /* External interrupts go straight to the guest (25.6.1). NMIs exit:
     * an NMI is the kick that carries a virtual INIT (handle_virtual_init);
     * any other NMI is given back to the guest. Virtual NMIs where the
     * CPU has them and NMI-window exiting with them (25.6.1, 25.6.2; the
     * latter needs the former, 26.2.1.1): the CPU keeps the guest's NMI
     * blocking and says when it ends (vmx_exit.c, "NMIs"). */
    int64_t pin = adjust(PIN_NMI_EXITING, vmx_virtual_nmis() ? PIN_VIRTUAL_NMIS : 0, vmx_caps.pin, "pin-based");
    /* MSR and I/O bitmaps, secondary controls; nothing else exits
     * (25.6.2). With the TRUE MSRs, CR3 load/store, unconditional I/O
     * exiting and the rest can be 0. */
    int64_t proc = adjust(PROC_USE_MSR_BITMAPS | PROC_USE_IO_BITMAPS | PROC_ACTIVATE_SECONDARY, 0, vmx_caps.proc,
                          "processor-based");
    /* EPT, VPID, unrestricted guest (real mode after INIT-SIPI runs as a
     * guest); RDTSCP, INVPCID, XSAVES enabled where the CPU has them, or
     * the guest would get #UD for them (25.6.2, Table 25-7). */
    int64_t proc2 = adjust(PROC2_ENABLE_EPT | PROC2_UNRESTRICTED,
                           PROC2_ENABLE_VPID | PROC2_ENABLE_RDTSCP | PROC2_ENABLE_INVPCID |
                               PROC2_ENABLE_XSAVES,
                           vmx_caps.proc2, "secondary");
    /* 64-bit host, EFER and PAT saved and loaded on both sides (25.7.1,
     * 25.8.1, 27.3.4, 27.5.1): the guest's WRMSRs to them run without
     * exits (hv/msr_policy.c) and the core always runs with its own
     * values (a guest PAT with UC or WC at index 0 would be the core's). */
    int64_t exit = adjust(EXIT_HOST_64 | EXIT_SAVE_EFER | EXIT_LOAD_EFER | EXIT_SAVE_PAT | EXIT_LOAD_PAT,
                          EXIT_SAVE_DEBUG, vmx_caps.exit, "exit");
    uint64_t efer = rdmsr(MSR_EFER);
    int64_t entry = adjust(ENTRY_LOAD_EFER | ENTRY_LOAD_PAT | ((efer & EFER_LMA) ? ENTRY_IA32E_GUEST : 0),
                           ENTRY_LOAD_DEBUG, vmx_caps.entry, "entry");
    if (pin < 0 || proc < 0 || proc2 < 0 || exit < 0 || entry < 0)
        return -1;
    c->entry_ctls = (uint32_t)entry;
    vmwrite(VMCS_PIN_CONTROLS, (uint64_t)pin);
    vmwrite(VMCS_PROC_CONTROLS, (uint64_t)proc);
    vmwrite(VMCS_PROC2_CONTROLS, (uint64_t)proc2);
    vmwrite(VMCS_EXIT_CONTROLS, (uint64_t)exit);
    vmwrite(VMCS_ENTRY_CONTROLS, (uint64_t)entry);
    /* #DB and #AC always: an exception whose delivery raises it again is
     * then one exit per delivery, not a microcode loop that nothing
     * interrupts (CVE-2015-8104, CVE-2015-5307; KVM, Xen XSA-156). */
    vmwrite(VMCS_EXCEPTION_BITMAP, (1u << 1) | (1u << 17));
    vmwrite(VMCS_CR3_TARGET_COUNT, 0);
    vmwrite(VMCS_EXIT_MSR_STORE_COUNT, 0);
    vmwrite(VMCS_EXIT_MSR_LOAD_COUNT, 0);
    vmwrite(VMCS_ENTRY_MSR_LOAD_COUNT, 0);
    vmwrite(VMCS_ENTRY_INTR_INFO, 0);
    vmwrite(VMCS_MSR_BITMAP, msr_bitmap_pa);
    vmwrite(VMCS_IO_BITMAP_A, io_bitmap_pa);
    vmwrite(VMCS_IO_BITMAP_B, io_bitmap_pa + PAGE_SIZE);
    vmwrite(VMCS_EPT_POINTER, vmx_eptp());
    if ((uint64_t)proc2 & PROC2_ENABLE_VPID)
        vmwrite(VMCS_VPID, v->index + 1); /* 0 is the host's (28.1) */

    /* Guest/host masks (25.6.6): bits the guest may not choose are owned
     * by the core; the guest reads them from the shadows. CR0: the fixed
     * bits except PE/PG (unrestricted guest), e.g. NE. CR4: VMXE, which
     * VMX operation needs set and the guest must see clear. */
    uint64_t cr0_owned = (vmx_caps.cr0_fixed0 & ~(CR0_PE | CR0_PG)) | (~vmx_caps.cr0_fixed1 & 0xffffffffull);
    uint64_t cr4_owned = vmx_caps.cr4_fixed0 | (~vmx_caps.cr4_fixed1 & 0xffffffffull);
    c->cr0_mask = cr0_owned;
    c->cr4_mask = cr4_owned;
    vmwrite(VMCS_CR0_MASK, cr0_owned);
    vmwrite(VMCS_CR4_MASK, cr4_owned);
    return 0;
}

void invvpid_single(struct vcpu *v)
{
    if (!(vmx_caps.ept_vpid & VPID_CAP_INVVPID))
        return;
    struct invvpid_desc d = { v->index + 1, 0 };
    uint64_t type = (vmx_caps.ept_vpid & VPID_CAP_INVVPID_SINGLE) ? 1 : 2;
    __asm__ volatile("invvpid %0, %1" ::"m"(d), "r"(type) : "cc", "memory");
}

void invept_all(void)
{
    if (!(vmx_caps.ept_vpid & EPT_CAP_INVEPT))
        return;
    struct invept_desc d = { vmx_eptp(), 0 };
    uint64_t type = (vmx_caps.ept_vpid & EPT_CAP_INVEPT_ALL) ? 2 : 1;
    __asm__ volatile("invept %0, %1" ::"m"(d), "r"(type) : "cc", "memory");
}

/* ---- start ---- */

static int fail_cpu(struct vcpu *v, const char *what, bool vmxon)
{
    uint64_t err = vmxon ? vmread(VMCS_INSN_ERROR) : 0;
    hv_log("cpu %u: %s%s (VM-instruction error %lu)", v->index, what,
           vmwrite_failed_field ? ", a VMWRITE failed" : "", err);
    if (vmwrite_failed_field)
        hv_log("cpu %u: first failing VMWRITE: field 0x%lx", v->index, vmwrite_failed_field & 0xffff);
    if (vmxon)
        vmx_off();
    __asm__ volatile("mov %0, %%cr4" ::"r"(read_cr4() & ~CR4_VMXE));
    return -1;
}

int vmx_cpu_start(struct vcpu *v, const struct minihv_boot_info *bi,
                  const struct minihv_resume *resume, uint64_t stack_slot)
{
    struct vmx_cpu *c = &vmx_cpus[v->index];
    v->arch = c;
    v->ops = &vmx_ops;
    if (!c->vmxon_pa) {
        uint64_t bytes = 0;
        c->vmxon_pa = heap_alloc(1);
        c->vmcs_pa = heap_alloc(1);
        if (!c->vmxon_pa || !c->vmcs_pa || host_cpu_tables(stack_slot + 16, &c->host, &bytes)) {
            hv_log("cpu %u: out of memory for VMX state", v->index);
            return -1;
        }
        vmx_bytes_per_cpu = bytes + 2 * PAGE_SIZE;
        hv_footprint.per_cpu_bytes += vmx_bytes_per_cpu;
    }
    c->host_rsp = stack_slot;
    *(struct vcpu **)(uintptr_t)stack_slot = v;

    /* IA32_FEATURE_CONTROL (23.7): lock it with VMXON outside SMX enabled
     * if the firmware left it open. */
    uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
    if (!(fc & FEATURE_CONTROL_LOCK))
        wrmsr(MSR_IA32_FEATURE_CONTROL, fc | FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMXON_OUTSIDE);
    else if (!(fc & FEATURE_CONTROL_VMXON_OUTSIDE)) {
        hv_log("cpu %u: VMX disabled by the firmware", v->index);
        return -1;
    }
    /* CR0/CR4 must respect the fixed bits in VMX operation (23.8). */
    uint64_t cr0_orig = read_cr0(), cr4_orig = read_cr4();
    uint64_t cr0 = (cr0_orig | vmx_caps.cr0_fixed0) & vmx_caps.cr0_fixed1;
    uint64_t cr4 = (cr4_orig | vmx_caps.cr4_fixed0 | CR4_VMXE) & vmx_caps.cr4_fixed1;
    __asm__ volatile("mov %0, %%cr0; mov %1, %%cr4" ::"r"(cr0), "r"(cr4) : "memory");

    /* VMXON region and VMCS start with the revision identifier (24.2, 25.11.5). */
    uint32_t revision = (uint32_t)vmx_caps.basic & 0x7fffffffu;
    *(uint32_t *)(uintptr_t)c->vmxon_pa = revision;
    *(uint32_t *)(uintptr_t)c->vmcs_pa = revision;
    if (!vmx_on(c->vmxon_pa)) {
        __asm__ volatile("mov %0, %%cr4" ::"r"(cr4_orig & ~CR4_VMXE));
        hv_log("cpu %u: VMXON failed", v->index);
        return -1;
    }
    if (!vmcs_clear(c->vmcs_pa) || !vmcs_load(c->vmcs_pa))
        return fail_cpu(v, "VMCLEAR/VMPTRLD failed", true);
    vmwrite_failed_field = 0;
    if (setup_controls(c, v))
        return fail_cpu(v, "VMX controls not supported", true);
    setup_host_state(c, bi);
    setup_guest_state(resume, cr0_orig, cr4_orig);
    if (vmwrite_failed_field)
        return fail_cpu(v, "VMCS setup failed", true);
    invept_all();
    invvpid_single(v);

    /* The guest resumes with RAX = 0: the loader's call returns success. */
    memset(v->regs.gpr, 0, sizeof(v->regs.gpr));
    v->regs.rip = resume->rip;
    v->regs.rflags = resume->rflags;
    hv_log("cpu %u (APIC id %u) virtualized", v->index, v->apic_id);
    vmx_launch(v);
    return fail_cpu(v, "VMLAUNCH failed", true);
}
