/* The VMX backend: VMXON, a VMCS built from the CPU's current state (the
 * "blue pill": the guest resumes in the loader right after its call into
 * the core), the exit dispatch, and the few exits only VMX has (CR access
 * through the guest/host masks, INIT/SIPI, EPT misconfiguration). Section
 * numbers are the Intel SDM Vol. 3C. */
#include <minihv/format.h>
#include <minihv/io.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "hv/console.h"
#include "hv/ept.h"
#include "hv/heap.h"
#include "hv/host.h"
#include "hv/hv.h"
#include "hv/io.h"
#include "hv/ipi.h"
#include "hv/vcpu.h"
#include "hv/vcpu_policy.h"
#include "hv/vmx/vmcs.h"
#include "hv/vmx/vmx.h"

#define MSR_DEBUGCTL        0x1d9
#define MSR_SYSENTER_CS     0x174
#define MSR_SYSENTER_ESP    0x175
#define MSR_SYSENTER_EIP    0x176
#define MSR_FS_BASE         0xc0000100
#define MSR_GS_BASE         0xc0000101
#define MSR_APIC_BASE       0x1b
#define MSR_X2APIC_ICR_NR   0x830
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define CR0_TS (1ull << 3)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR4_PGE (1ull << 7)
#define CR4_PCIDE (1ull << 17)

/* ---- VMX instructions (SDM Vol. 2 / 3C 31.2: CF or ZF set = failure) ---- */

static inline bool vmx_on(uint64_t pa)
{
    uint8_t fail;
    __asm__ volatile("vmxon %1; setna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
    return !fail;
}

static inline bool vmcs_clear(uint64_t pa)
{
    uint8_t fail;
    __asm__ volatile("vmclear %1; setna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
    return !fail;
}

static inline bool vmcs_load(uint64_t pa)
{
    uint8_t fail;
    __asm__ volatile("vmptrld %1; setna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
    return !fail;
}

static inline void vmx_off(void)
{
    __asm__ volatile("vmxoff" ::: "cc", "memory");
}

static inline uint64_t vmread(uint64_t field)
{
    uint64_t value = 0;
    __asm__ volatile("vmread %1, %0" : "=rm"(value) : "r"(field) : "cc");
    return value;
}

/* The first failing field of a setup, for the report. */
static uint64_t vmwrite_failed_field;

static inline void vmwrite(uint64_t field, uint64_t value)
{
    uint8_t fail;
    __asm__ volatile("vmwrite %2, %1; setna %0" : "=qm"(fail) : "r"(field), "rm"(value) : "cc");
    if (fail && !vmwrite_failed_field)
        vmwrite_failed_field = field | (1ull << 63);
}

struct invept_desc {
    uint64_t eptp, zero;
};
struct invvpid_desc {
    uint64_t vpid, gla;
};

/* ---- capabilities ---- */

struct vmx_caps {
    uint64_t basic, misc, ept_vpid;
    uint64_t pin, proc, proc2, exit, entry; /* allowed-0 low, allowed-1 high (A.3-A.5) */
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};
static struct vmx_caps caps;
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

/* ---- MTRRs (SDM Vol. 3A 11.11) ---- */

#define MSR_MTRRCAP        0xfe
#define MSR_MTRR_PHYSBASE0 0x200
#define MSR_MTRR_FIX64K    0x250
#define MSR_MTRR_FIX16K_80 0x258
#define MSR_MTRR_FIX16K_A0 0x259
#define MSR_MTRR_FIX4K_C0  0x268
#define MSR_MTRR_FIX4K_F8  0x26f
#define MSR_MTRR_DEF_TYPE  0x2ff

static unsigned mtrr_variable_count; /* IA32_MTRRCAP.VCNT */

static bool is_mtrr_msr(uint32_t msr)
{
    return (msr >= MSR_MTRR_PHYSBASE0 && msr < MSR_MTRR_PHYSBASE0 + 2 * mtrr_variable_count) ||
           msr == MSR_MTRR_FIX64K || msr == MSR_MTRR_FIX16K_80 || msr == MSR_MTRR_FIX16K_A0 ||
           (msr >= MSR_MTRR_FIX4K_C0 && msr <= MSR_MTRR_FIX4K_F8) || msr == MSR_MTRR_DEF_TYPE;
}

/* UC, WC, WT, WP, WB (Table 11-8); 2, 3 and 7 and up are reserved. */
static bool mtrr_type_ok(uint64_t type)
{
    return type == 0 || type == 1 || type == 4 || type == 5 || type == 6;
}

/* What WRMSR would #GP on (11.11.2.1-11.11.2.3): reserved bits, bits at
 * or above MAXPHYADDR, undefined types. */
static bool mtrr_value_ok(uint32_t msr, uint64_t value)
{
    uint32_t r[4];
    x86_cpuid(0x80000008, 0, r);
    uint64_t phys = ((1ull << (r[0] & 0xff)) - 1) & ~0xfffull;
    if (msr == MSR_MTRR_DEF_TYPE)
        return !(value & ~0xcffull) && mtrr_type_ok(value & 0xff);
    if (msr >= MSR_MTRR_PHYSBASE0 && msr < MSR_MTRR_PHYSBASE0 + 2 * mtrr_variable_count) {
        if ((msr - MSR_MTRR_PHYSBASE0) & 1) /* PHYSMASKn: mask, V (bit 11) */
            return !(value & ~(phys | 0x800ull));
        return !(value & ~(phys | 0xffull)) && mtrr_type_ok(value & 0xff); /* PHYSBASEn */
    }
    for (unsigned i = 0; i < 8; i++) /* fixed ranges: 8 types */
        if (!mtrr_type_ok((value >> (8 * i)) & 0xff))
            return false;
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
    caps.basic = rdmsr(MSR_VMX_BASIC);
    bool true_ctls = caps.basic & VMX_BASIC_TRUE_CTLS; /* A.1: TRUE_* MSRs exist */
    caps.pin = rdmsr(true_ctls ? MSR_VMX_TRUE_PINBASED : MSR_VMX_PINBASED);
    caps.proc = rdmsr(true_ctls ? MSR_VMX_TRUE_PROCBASED : MSR_VMX_PROCBASED);
    caps.exit = rdmsr(true_ctls ? MSR_VMX_TRUE_EXIT : MSR_VMX_EXIT);
    caps.entry = rdmsr(true_ctls ? MSR_VMX_TRUE_ENTRY : MSR_VMX_ENTRY);
    caps.proc2 = rdmsr(MSR_VMX_PROCBASED2);
    caps.misc = rdmsr(MSR_VMX_MISC);
    caps.ept_vpid = rdmsr(MSR_VMX_EPT_VPID_CAP);
    caps.cr0_fixed0 = rdmsr(MSR_VMX_CR0_FIXED0);
    caps.cr0_fixed1 = rdmsr(MSR_VMX_CR0_FIXED1);
    caps.cr4_fixed0 = rdmsr(MSR_VMX_CR4_FIXED0);
    caps.cr4_fixed1 = rdmsr(MSR_VMX_CR4_FIXED1);
    hv_log("vmx: basic 0x%lx (%s controls), EPT/VPID caps 0x%lx, misc 0x%lx%s",
           caps.basic, true_ctls ? "TRUE" : "default", caps.ept_vpid, caps.misc,
           (caps.misc & VMX_MISC_WAIT_FOR_SIPI) ? "" : " (no wait-for-SIPI state!)");

    /* MSR bitmap (25.6.9): read-low at 0, read-high at 1 KiB, write-low at
     * 2 KiB, write-high at 3 KiB; a set bit makes the access exit. */
    msr_bitmap_pa = heap_alloc(1);
    if (!msr_bitmap_pa)
        return -1;
    uint8_t *bitmap = (uint8_t *)(uintptr_t)msr_bitmap_pa;
    for (uint32_t msr = 0; msr < 0x2000; msr++)
        if (msr_intercepted(msr)) {
            bitmap[msr / 8] |= (uint8_t)(1u << (msr % 8));
            bitmap[2048 + msr / 8] |= (uint8_t)(1u << (msr % 8));
        }
    /* Writes to the x2APIC ICR exit: INIT and SIPI for virtualized CPUs
     * are the core's (see handle_virtual_init). Writes to the MTRRs exit
     * too, to say once that they do not change the EPT (write_mtrr). */
    bitmap[2048 + MSR_X2APIC_ICR_NR / 8] |= (uint8_t)(1u << (MSR_X2APIC_ICR_NR % 8));
    mtrr_variable_count = (unsigned)rdmsr(MSR_MTRRCAP) & 0xff;
    for (uint32_t msr = 0x200; msr < 0x300; msr++)
        if (is_mtrr_msr(msr))
            bitmap[2048 + msr / 8] |= (uint8_t)(1u << (msr % 8));

    /* I/O bitmaps A and B (25.6.4): two pages, contiguous here so that
     * port p is bit p % 8 of byte p / 8 across both; only the ports
     * registered in hv/io.h exit. */
    io_bitmap_pa = heap_alloc(2);
    if (!io_bitmap_pa)
        return -1;
    io_bitmap_fill((uint8_t *)(uintptr_t)io_bitmap_pa, 2 * PAGE_SIZE);

    map->fmt = &pt_format_ept;
    map->allow_1g = caps.ept_vpid & EPT_CAP_1G;
    map->name = "EPT";
    return 0;
}

/* EPTP (24.6.11): memory type of the tables (WB if allowed), page-walk
 * length - 1 = 3 in bits 5:3, no accessed/dirty flags. The map is built by
 * then (hv/main.c). */
static uint64_t vmx_eptp(void)
{
    return ept_root_pa() | ((caps.ept_vpid & EPT_CAP_WB) ? MEMTYPE_WB : MEMTYPE_UC) | (3u << 3);
}
/* ---- per-CPU state ---- */

struct vmx_cpu {
    uint64_t vmxon_pa, vmcs_pa;
    uint64_t host_rsp;          /* slot holding the struct vcpu pointer */
    uint32_t entry_ctls;        /* as last written */
    uint64_t cr0_mask, cr4_mask;
    bool injected;              /* an event is queued for this entry */
    unsigned inits;             /* virtual INITs taken, for the log */
    struct host_tables host;
};
static struct vmx_cpu vmx_cpus[MINIHV_MAX_CPUS];
static uint64_t vmx_bytes_per_cpu;

uint64_t vmx_cpu_bytes(void)
{
    return vmx_bytes_per_cpu;
}

static struct vmx_cpu *vmx_of(struct vcpu *v)
{
    return v->arch;
}

/* hv/vmx/vmx_entry.asm */
int vmx_launch(struct vcpu *v);
void vmx_exit_entry(void);

/* ---- the guest's current state, read from this CPU ---- */

struct seg_state {
    uint16_t sel;
    uint32_t limit, ar;
    uint64_t base;
};

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

static void write_guest_seg(int n, const struct seg_state *s)
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
    vmwrite(VMCS_HOST_RSP, c->host_rsp);
    vmwrite(VMCS_HOST_RIP, (uint64_t)(uintptr_t)vmx_exit_entry);
}

static int setup_controls(struct vmx_cpu *c, struct vcpu *v)
{
    /* External interrupts go straight to the guest (25.6.1). NMIs exit:
     * an NMI is the kick that carries a virtual INIT (handle_virtual_init);
     * any other NMI is given back to the guest. */
    int64_t pin = adjust(PIN_NMI_EXITING, 0, caps.pin, "pin-based");
    /* MSR and I/O bitmaps, secondary controls; nothing else exits
     * (25.6.2). With the TRUE MSRs, CR3 load/store, unconditional I/O
     * exiting and the rest can be 0. */
    int64_t proc = adjust(PROC_USE_MSR_BITMAPS | PROC_USE_IO_BITMAPS | PROC_ACTIVATE_SECONDARY, 0, caps.proc,
                          "processor-based");
    /* EPT, VPID, unrestricted guest (real mode after INIT-SIPI runs as a
     * guest); RDTSCP, INVPCID, XSAVES enabled where the CPU has them, or
     * the guest would get #UD for them (25.6.2, Table 25-7). */
    int64_t proc2 = adjust(PROC2_ENABLE_EPT | PROC2_UNRESTRICTED,
                           PROC2_ENABLE_VPID | PROC2_ENABLE_RDTSCP | PROC2_ENABLE_INVPCID |
                               PROC2_ENABLE_XSAVES,
                           caps.proc2, "secondary");
    /* 64-bit host, EFER saved and loaded on both sides (25.7.1, 25.8.1). */
    int64_t exit = adjust(EXIT_HOST_64 | EXIT_SAVE_EFER | EXIT_LOAD_EFER, EXIT_SAVE_DEBUG, caps.exit, "exit");
    uint64_t efer = rdmsr(MSR_EFER);
    int64_t entry = adjust(ENTRY_LOAD_EFER | ((efer & EFER_LMA) ? ENTRY_IA32E_GUEST : 0), ENTRY_LOAD_DEBUG,
                           caps.entry, "entry");
    if (pin < 0 || proc < 0 || proc2 < 0 || exit < 0 || entry < 0)
        return -1;
    c->entry_ctls = (uint32_t)entry;
    vmwrite(VMCS_PIN_CONTROLS, (uint64_t)pin);
    vmwrite(VMCS_PROC_CONTROLS, (uint64_t)proc);
    vmwrite(VMCS_PROC2_CONTROLS, (uint64_t)proc2);
    vmwrite(VMCS_EXIT_CONTROLS, (uint64_t)exit);
    vmwrite(VMCS_ENTRY_CONTROLS, (uint64_t)entry);
    vmwrite(VMCS_EXCEPTION_BITMAP, 0);
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
    uint64_t cr0_owned = (caps.cr0_fixed0 & ~(CR0_PE | CR0_PG)) | (~caps.cr0_fixed1 & 0xffffffffull);
    uint64_t cr4_owned = caps.cr4_fixed0 | (~caps.cr4_fixed1 & 0xffffffffull);
    c->cr0_mask = cr0_owned;
    c->cr4_mask = cr4_owned;
    vmwrite(VMCS_CR0_MASK, cr0_owned);
    vmwrite(VMCS_CR4_MASK, cr4_owned);
    return 0;
}

static void invvpid_single(struct vcpu *v)
{
    if (!(caps.ept_vpid & VPID_CAP_INVVPID))
        return;
    struct invvpid_desc d = { v->index + 1, 0 };
    uint64_t type = (caps.ept_vpid & VPID_CAP_INVVPID_SINGLE) ? 1 : 2;
    __asm__ volatile("invvpid %0, %1" ::"m"(d), "r"(type) : "cc", "memory");
}

static void invept_all(void)
{
    if (!(caps.ept_vpid & EPT_CAP_INVEPT))
        return;
    struct invept_desc d = { vmx_eptp(), 0 };
    uint64_t type = (caps.ept_vpid & EPT_CAP_INVEPT_ALL) ? 2 : 1;
    __asm__ volatile("invept %0, %1" ::"m"(d), "r"(type) : "cc", "memory");
}

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
    if (has_error) {
        info |= INTR_INFO_ERR_VALID;
        vmwrite(VMCS_ENTRY_EXCEPTION_ERR, error);
    }
    vmwrite(VMCS_ENTRY_INTR_INFO, info);
    vmx_of(v)->injected = true;
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

static const struct vcpu_ops vmx_ops = {
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

/* MOV to CR0 that touched a bit the core owns (25.6.6, 27.1.3). */
static void write_cr0(struct vcpu *v, uint64_t value)
{
    struct vmx_cpu *c = vmx_of(v);
    if ((value >> 32) || ((value & CR0_PG) && !(value & CR0_PE)) || ((value & CR0_NW) && !(value & CR0_CD))) {
        vmx_inject_exception(v, 13, true, 0);
        return;
    }
    uint64_t old = vmread(VMCS_GUEST_CR0);
    uint64_t efer = vmread(VMCS_GUEST_EFER);
    uint64_t real = (value | (caps.cr0_fixed0 & ~(CR0_PE | CR0_PG))) & caps.cr0_fixed1;
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
    if ((value & CR4_VMXE) || (value & ~caps.cr4_fixed1)) {
        vmx_inject_exception(v, 13, true, 0);
        return;
    }
    uint64_t old = vmread(VMCS_GUEST_CR4);
    uint64_t real = value | caps.cr4_fixed0;
    vmwrite(VMCS_GUEST_CR4, real);
    vmwrite(VMCS_CR4_SHADOW, value);
    if ((old ^ real) & (CR4_PAE | CR4_PGE | CR4_PCIDE))
        invvpid_single(v);
    vcpu_skip_insn(v);
}

/* Control-register access exit, qualification per Table 28-3. */
static void handle_cr_access(struct vcpu *v)
{
    uint64_t q = v->exit.qualification;
    unsigned cr = q & 15, type = (q >> 4) & 3, reg = (q >> 8) & 15;
    uint64_t *gpr = &v->regs.gpr[reg];
    switch (type) {
    case 0: /* MOV to CR */
        if (cr == 0)
            write_cr0(v, *gpr);
        else if (cr == 4)
            write_cr4(v, *gpr);
        else if (cr == 3) {
            vmwrite(VMCS_GUEST_CR3, *gpr & ~(1ull << 63));
            if (!(*gpr & (1ull << 63)))
                invvpid_single(v);
            vcpu_skip_insn(v);
        } else if (cr == 8) {
            __asm__ volatile("mov %0, %%cr8" ::"r"(*gpr));
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
    vmwrite(VMCS_GUEST_CR0, (cr0 | (caps.cr0_fixed0 & ~(CR0_PE | CR0_PG))) & caps.cr0_fixed1);
    vmwrite(VMCS_CR0_SHADOW, cr0);
    vmwrite(VMCS_GUEST_CR3, 0);
    vmwrite(VMCS_GUEST_CR4, caps.cr4_fixed0);
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
    uint8_t vector = ipi_wait_for_sipi(v, reset_to_init_state);
    vcpu_count(v, MINIHV_EXIT_SIPI);
    start_at_sipi_vector(v, vector);
    v->nmi_pending = false; /* the kick was ours (taken here or in the core) */
    c->injected = true;     /* nothing else goes in with this entry */
    if (++c->inits <= 2)
        hv_log("cpu %u: INIT, then SIPI vector 0x%x: starting at 0x%x in real mode", v->index, vector,
               (unsigned)vector << 12);
}

/* NMI exit (pin-based NMI exiting, 25.6.1): the kick of a virtual INIT,
 * or a real NMI, which goes back to the guest. */
static void handle_nmi(struct vcpu *v)
{
    uint32_t info = (uint32_t)vmread(VMCS_EXIT_INTR_INFO);
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

/* SIPI in wait-for-SIPI (25.2, 28.2.1): start at vector << 12, real mode. */
static void handle_sipi(struct vcpu *v)
{
    /* A CPU waiting for SIPI blocks NMIs and SMIs, and the exit may save
     * that (Bochs does); the started CPU blocks nothing, and "blocking by
     * SMI" outside SMM fails the entry (26.3.1.5). */
    start_at_sipi_vector(v, (uint8_t)(v->exit.qualification & 0xff));
}

/* A guest write to an MTRR: the CPU's MTRR takes it (the guest reads its
 * MTRRs back unintercepted), but with EPT the guest's memory types come
 * from the EPT leaves and the guest PAT, not from the MTRRs (SDM Vol. 3C
 * 29.3.7.2), and the core built those from the MTRRs at launch. Said once. */
static void write_mtrr(struct vcpu *v, uint32_t msr, uint64_t value)
{
    static bool told;
    if (!mtrr_value_ok(msr, value)) {
        vmx_inject_exception(v, 13, true, 0);
        return;
    }
    if (!__atomic_exchange_n(&told, true, __ATOMIC_RELAXED))
        hv_log("cpu %u: guest writes MTRR 0x%x = 0x%lx: the EPT memory types were fixed from the MTRRs "
               "at launch and stay so (logged once)", v->index, msr, value);
    wrmsr(msr, value);
    vcpu_skip_insn(v);
}

static const char *exit_name(unsigned reason)
{
    switch (reason) {
    case VMX_EXIT_EXCEPTION_NMI: return "exception or NMI";
    case VMX_EXIT_EXTERNAL_INTERRUPT: return "external interrupt";
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
    v->regs.gpr[DECODE_RSP] = vmread(VMCS_GUEST_RSP);
    v->regs.rip = vmread(VMCS_GUEST_RIP);
    v->regs.rflags = vmread(VMCS_GUEST_RFLAGS);
    uint32_t vectoring = (uint32_t)vmread(VMCS_IDT_VECTORING_INFO);

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
        vcpu_count(v, MINIHV_EXIT_MSR_READ);
        vcpu_handle_msr_read(v);
        break;
    case VMX_EXIT_WRMSR:
        vcpu_count(v, MINIHV_EXIT_MSR_WRITE);
        if ((uint32_t)v->regs.gpr[DECODE_RCX] == MSR_X2APIC_ICR_NR) {
            uint64_t value = (uint32_t)v->regs.gpr[DECODE_RAX] | v->regs.gpr[DECODE_RDX] << 32;
            if (ipi_x2apic_icr_write(v, value))
                vcpu_skip_insn(v);
            else
                vmx_inject_exception(v, 13, true, 0); /* not in x2APIC mode: #GP */
            break;
        }
        if (is_mtrr_msr((uint32_t)v->regs.gpr[DECODE_RCX])) {
            write_mtrr(v, (uint32_t)v->regs.gpr[DECODE_RCX],
                       (uint32_t)v->regs.gpr[DECODE_RAX] | v->regs.gpr[DECODE_RDX] << 32);
            break;
        }
        vcpu_handle_msr_write(v);
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
        if (vectoring & INTR_INFO_VALID) {
            vcpu_count(v, MINIHV_EXIT_NPF_HV_MEMORY);
            v->exit.gpa = vmread(VMCS_GUEST_PHYS_ADDR);
            vcpu_fatal(v, "EPT violation while delivering an event (guest IDT/stack unmapped?)");
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
        vcpu_count(v, MINIHV_EXIT_OTHER);
        vcpu_fatal(v, "guest triple fault (shutdown)");
    case VMX_EXIT_INIT:
        vcpu_count(v, MINIHV_EXIT_INIT);
        handle_init(v);
        vectoring = 0;
        break;
    case VMX_EXIT_SIPI:
        vcpu_count(v, MINIHV_EXIT_SIPI);
        handle_sipi(v);
        break;
    case VMX_EXIT_EXCEPTION_NMI:
        if (((uint32_t)vmread(VMCS_EXIT_INTR_INFO) & INTR_TYPE_MASK) == INTR_TYPE_NMI) {
            handle_nmi(v);
            break;
        }
        vcpu_count(v, MINIHV_EXIT_EXCEPTION);
        vcpu_fatal(v, "unexpected exception exit (the exception bitmap is empty)");
    default:
        vcpu_count(v, MINIHV_EXIT_OTHER);
        vcpu_fatal(v, "unexpected VM exit");
    }

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
        injected = true;
    }
    /* An NMI that arrived while the core ran goes to the guest now, unless
     * the guest blocks NMIs or is in a MOV SS shadow (26.3.1.5). */
    if (!injected && v->nmi_pending && vmread(VMCS_GUEST_ACTIVITY) == ACTIVITY_ACTIVE &&
        !(vmread(VMCS_GUEST_INTERRUPTIBILITY) & (INTERRUPTIBILITY_NMI | INTERRUPTIBILITY_MOVSS))) {
        vmwrite(VMCS_ENTRY_INTR_INFO, INTR_INFO_VALID | INTR_TYPE_NMI | 2);
        v->nmi_pending = false;
    }
}

/* VMRESUME failed (VMfail, 31.4): the VMCS is broken. */
__attribute__((noreturn)) void vmx_resume_failed(struct vcpu *v)
{
    char why[80];
    fmt_snprintf(why, sizeof(why), "VMRESUME failed, VM-instruction error %lu (SDM 31.4)",
                 vmread(VMCS_INSN_ERROR));
    vcpu_fatal(v, why);
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
    uint64_t cr0 = (cr0_orig | caps.cr0_fixed0) & caps.cr0_fixed1;
    uint64_t cr4 = (cr4_orig | caps.cr4_fixed0 | CR4_VMXE) & caps.cr4_fixed1;
    __asm__ volatile("mov %0, %%cr0; mov %1, %%cr4" ::"r"(cr0), "r"(cr4) : "memory");

    /* VMXON region and VMCS start with the revision identifier (24.2, 25.11.5). */
    uint32_t revision = (uint32_t)caps.basic & 0x7fffffffu;
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
