/* x86 architectural constants shared by the loader, the core and the tests.
 * Section numbers refer to the Intel SDM Vol. 3 and the AMD APM Vol. 2. */
#ifndef MINIHV_X86_H
#define MINIHV_X86_H

#include <stdbool.h>
#include <stdint.h>

#define PAGE_SIZE 4096ull
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define SIZE_2M   (2ull << 20)
#define SIZE_1G   (1ull << 30)

#define CR0_PE (1ull << 0)
#define CR0_PG (1ull << 31)
#define CR4_PAE  (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define CR4_VMXE (1ull << 13)

#define MSR_IA32_FEATURE_CONTROL 0x3a
#define MSR_IA32_MTRRCAP         0xfe
#define MSR_IA32_PAT             0x277
#define MSR_IA32_MTRR_DEF_TYPE   0x2ff
#define MSR_EFER                 0xc0000080
#define EFER_NXE  (1ull << 11)
#define EFER_SVME (1ull << 12)

/* Page-table entry bits, 4-level paging (SDM 4.5, Table 4-15..4-20). */
#define PTE_P    (1ull << 0)
#define PTE_RW   (1ull << 1)
#define PTE_US   (1ull << 2)
#define PTE_PWT  (1ull << 3)
#define PTE_PCD  (1ull << 4)
#define PTE_PS   (1ull << 7)
#define PTE_G    (1ull << 8)
#define PTE_NX   (1ull << 63)

/* Memory types, as encoded in MTRRs, PAT and EPT entries (SDM 11.11, 28.3.7). */
enum x86_memtype {
    MEMTYPE_UC = 0,
    MEMTYPE_WC = 1,
    MEMTYPE_WT = 4,
    MEMTYPE_WP = 5,
    MEMTYPE_WB = 6,
};

/* A 64-bit IDT gate descriptor (SDM Vol. 3A 6.14.1, Figure 6-8). */
struct x86_idt_gate {
    uint16_t offset_low, selector;
    uint8_t ist, type_attr;
    uint16_t offset_mid;
    uint32_t offset_high, reserved;
} __attribute__((packed));

#define X86_GATE_INTR64 0x8e /* present, DPL 0, 64-bit interrupt gate */
#define X86_GATE_P      0x80

static inline uint64_t x86_idt_gate_offset(const struct x86_idt_gate *g)
{
    return (uint64_t)g->offset_low | (uint64_t)g->offset_mid << 16 | (uint64_t)g->offset_high << 32;
}

static inline void x86_idt_gate_set_offset(struct x86_idt_gate *g, uint64_t offset)
{
    g->offset_low = (uint16_t)offset;
    g->offset_mid = (uint16_t)(offset >> 16);
    g->offset_high = (uint32_t)(offset >> 32);
}

/* A present DPL-0 interrupt gate to offset through selector, IST ist. */
static inline struct x86_idt_gate x86_idt_gate_intr(uint64_t offset, uint16_t selector, uint8_t ist)
{
    struct x86_idt_gate g = { .selector = selector, .ist = ist, .type_attr = X86_GATE_INTR64 };
    x86_idt_gate_set_offset(&g, offset);
    return g;
}

/* Interrupt delivery modes: bits 10:8 of an interrupt command, an LVT
 * entry, an I/O APIC redirection entry and MSI data (SDM Vol. 3A 11.5.1,
 * 11.6.1, 11.11.2; 82093AA datasheet 3.2.4). */
#define X86_DELIVERY_MODE(reg) (((reg) >> 8) & 7u)
enum x86_delivery_mode {
    X86_DM_FIXED = 0,
    X86_DM_LOWEST = 1,
    X86_DM_SMI = 2,
    X86_DM_NMI = 4,
    X86_DM_INIT = 5,
    X86_DM_STARTUP = 6,
    X86_DM_EXTINT = 7,
};

/* Who asks for a delivery mode: the guest's interrupt command, its LVT
 * entries, the I/O APIC's redirection entries, the passthrough device's
 * MSI/MSI-X data. */
enum x86_interrupt_source { X86_SRC_ICR, X86_SRC_LVT, X86_SRC_IOAPIC_RTE, X86_SRC_MSI, X86_SRC_COUNT };

/* The core's one table of delivery modes each source may reach the
 * hardware with (docs/security.md, "interrupt delivery modes"). SMI never:
 * it runs SMM outside the core; reserved modes (011, 110 outside the ICR)
 * never. INIT and SIPI only by command, whose destinations hv/ipi.c routes
 * itself. ExtINT only where the 8259 sits (LINT0, an RTE); lowest priority
 * not in an LVT (no such mode there); a device message only fixed or
 * lowest priority (an NMI or INIT from a device is the guest's DMA). */
static inline bool x86_delivery_mode_allowed(enum x86_interrupt_source source, unsigned mode)
{
    static const uint8_t allowed[X86_SRC_COUNT] = {
        [X86_SRC_ICR] = 1u << X86_DM_FIXED | 1u << X86_DM_LOWEST | 1u << X86_DM_NMI | 1u << X86_DM_INIT |
                        1u << X86_DM_STARTUP,
        [X86_SRC_LVT] = 1u << X86_DM_FIXED | 1u << X86_DM_NMI | 1u << X86_DM_EXTINT,
        [X86_SRC_IOAPIC_RTE] = 1u << X86_DM_FIXED | 1u << X86_DM_LOWEST | 1u << X86_DM_NMI | 1u << X86_DM_EXTINT,
        [X86_SRC_MSI] = 1u << X86_DM_FIXED | 1u << X86_DM_LOWEST,
    };
    return source < X86_SRC_COUNT && mode < 8 && (allowed[source] >> mode & 1u);
}

static inline const char *x86_delivery_mode_name(unsigned mode)
{
    static const char *const names[8] = { "fixed", "lowest-priority", "SMI",    "reserved (011)",
                                          "NMI",   "INIT",            "reserved (110)", "ExtINT" };
    return names[mode & 7];
}

static inline void x86_cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

/* CPUID.0's vendor string is AuthenticAMD or HygonGenuine (an AMD-licensed
 * core: the same MSRs, SVM and FCH). */
static inline bool x86_cpu_amd_like(void)
{
    uint32_t r[4];
    x86_cpuid(0, 0, r);
    bool amd = r[1] == 0x68747541 && r[3] == 0x69746e65 && r[2] == 0x444d4163;   /* AuthenticAMD */
    bool hygon = r[1] == 0x6f677948 && r[3] == 0x6e65476e && r[2] == 0x656e6975; /* HygonGenuine */
    return amd || hygon;
}

#endif
