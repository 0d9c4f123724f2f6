/* The pure decisions behind the vCPU handlers: what the guest sees of
 * CPUID, which MSRs exit and what they do, which XCR0 values are valid,
 * which hypercall buffers are acceptable. No hardware access: the host
 * tests (tests/unit/test_vcpu_policy.c) call these directly. */
#ifndef MINIHV_HV_VCPU_POLICY_H
#define MINIHV_HV_VCPU_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include <minihv/boot_info.h>
#include "hv/special_pages.h"

#define CPUID1_ECX_DTES64     (1u << 2)
#define CPUID1_ECX_DS_CPL     (1u << 4)
#define CPUID1_ECX_VMX        (1u << 5)
#define CPUID1_ECX_HYPERVISOR (1u << 31)
#define CPUID1_EDX_DS         (1u << 21)
#define CPUID7_EBX_PT         (1u << 25)
#define CPUID7_ECX_CET_SS     (1u << 7)
#define CPUID7_EDX_CET_IBT    (1u << 20)
#define XSS_PT    (1u << 8)
#define XSS_CET_U (1u << 11)
#define XSS_CET_S (1u << 12)

/* Adjusts r[] = {EAX, EBX, ECX, EDX}, the hardware's answer for
 * (leaf, subleaf), into what the guest sees: leaf 1 ECX.VMX clear and
 * ECX.hypervisor set; leaves 0x40000000-0x400000ff are the core's.
 * Hidden because their MSRs raise #GP (hv/msr_policy.c): the debug store
 * (leaf 1 EDX.DS, ECX.DTES64/DS-CPL: BTS and PEBS write to IA32_DS_AREA,
 * also while the core runs), Intel PT (leaf 7 EBX[25], leaf 0x14 all
 * zero: its output goes to host-physical addresses), CET (leaf 7
 * ECX.CET_SS, EDX.CET_IBT: S_CET would turn on IBT for the core), and
 * their supervisor XSAVE components (leaf 0xd.1 ECX bits 8, 11, 12). */
void cpuid_policy(uint32_t leaf, uint32_t subleaf, uint32_t r[4]);

/* The CPUID bits that mirror the caller's CR4 (SDM Vol. 2A CPUID, Table
 * 3-8; APM Vol. 3 E.3): leaf 1 ECX[27] OSXSAVE = CR4.OSXSAVE (bit 18),
 * leaf 7.0 ECX[4] OSPKE = CR4.PKE (bit 22). The core executes CPUID with
 * its own CR4: these must show the guest's. Leaf 0xd's sizes follow XCR0
 * and IA32_XSS, which the core shares with the guest (its XSETBV runs on
 * the hardware, neither VMX nor SVM switches XCR0, and the core uses no
 * XSAVE state), so they need nothing here. APIC IDs (leaf 1 EBX[31:24],
 * 0xb/0x1f EDX) are right as is: each vCPU runs on its own CPU. */
void cpuid_mirror_guest(uint32_t leaf, uint32_t subleaf, uint64_t guest_cr4, uint32_t r[4]);

/* The summary's CPUID exits by leaf (issue 15, `make bench`): a row per
 * basic leaf 0-0x1f and extended leaf 0x80000000-0x8000002f, one for the
 * core's range 0x40000000-0x400000ff, one for 0x40000100-0x4000ffff (the
 * bases other hypervisors' guests probe: Linux scans them for Xen's
 * signature), one for any other leaf. The row of a leaf, and the first
 * leaf of a row (its name). */
#define CPUID_ROWS_BASIC 0x20u
#define CPUID_ROWS_EXT   0x30u
enum { CPUID_ROW_CORE = CPUID_ROWS_BASIC, CPUID_ROW_OTHER_HV, CPUID_ROW_EXT0,
       CPUID_ROW_OTHER = CPUID_ROW_EXT0 + CPUID_ROWS_EXT, CPUID_ROWS };
unsigned cpuid_leaf_row(uint32_t leaf);
uint32_t cpuid_row_leaf(unsigned row);

/* What RDMSR/WRMSR do: the table in hv/msr_policy.h. */
enum msr_result { MSR_OK, MSR_GP };
/* A read of IA32_FEATURE_CONTROL (the row's MSR_EMUL_FEATURE_CONTROL):
 * the hardware value locked with both VMXON-enable bits clear ("VMX
 * disabled by firmware", as CPUID hides VMX); MSR_GP for any other MSR. */
enum msr_result msr_read_policy(uint32_t msr, uint64_t hw_value, uint64_t *value);

/* XSETBV (SDM Vol. 2 XSETBV, Vol. 1 13.3): only XCR0, bit 0 set, only
 * supported bits, AVX needs SSE, MPX bits together, AVX-512 bits together
 * and with AVX, AMX bits 17 (TILECFG) and 18 (TILEDATA) together.
 * `supported` is CPUID.(0xd,0):EDX:EAX. */
bool xsetbv_valid(uint32_t xcr, uint64_t value, uint64_t supported);

/* What guest memory the core may read or write for the guest: the
 * firmware's memory map (boot_info mem[]), the core's block and the
 * special pages (hv/special_pages.h). */
struct guest_memory {
    const struct minihv_mem_range *mem;
    unsigned count;
    bool reserved_ok;  /* MINIHV_MEM_RESERVED too (runtime code, ACPI): reads of
                        * the guest's page tables and code; hypercall buffers: RAM only */
    uint64_t hv_base, hv_size;
    const struct special_pages *special; /* NULL: none */
    /* Optional (NULL: none): the index of the range the last lookup
     * ended in, tried first. The guest's page walks and instruction
     * fetches hit the same few ranges exit after exit; a full scan of
     * the firmware's map per table level was most of an exit's cost
     * (docs/bench.md). The core keeps one per CPU (struct vcpu); only a
     * hint, checked like any range before it is believed. */
    unsigned *hint;
};

/* Whole 4 KiB pages guest_buffer_ok already accepted, two ways per set
 * (the most recent first): the pages of the guest's page walk and code, read again
 * exit after exit (an emulated xAPIC write or CPUID reads five table
 * entries and the instruction, each checked against the map and the
 * special pages: most of the exit's cost, docs/bench.md). One per CPU,
 * no lock. What decides (the memory map, the core's block) does not
 * change once the guest runs; special pages are only ever added, so a
 * changed registry count empties the cache. */
#define GUEST_PAGE_CACHE_SETS 32
struct guest_page_cache {
    uint64_t tag[GUEST_PAGE_CACHE_SETS][2]; /* page | 1 (| reserved_ok << 1); 0: empty */
    unsigned special_count;                 /* the registry's count when the tags were filled */
};

/* The cache's fast answer: true when [gpa, gpa + size) lies in one page
 * c holds for reserved_ok, filled while the registry held special_count
 * entries (as now); false means "ask guest_buffer_ok_cached". */
static inline bool guest_page_cache_hit(const struct guest_page_cache *c, uint64_t gpa, uint64_t size,
                                        bool reserved_ok, unsigned special_count)
{
    uint64_t offset = gpa & 4095, page = gpa - offset, pfn = page >> 12;
    uint64_t tag = page | 1 | (uint64_t)reserved_ok << 1;
    const uint64_t *set = c->tag[(pfn ^ pfn >> 5 ^ pfn >> 10) % GUEST_PAGE_CACHE_SETS];
    return size && size <= 4096 - offset && c->special_count == special_count && (set[0] == tag || set[1] == tag);
}

/* guest_buffer_ok(gpa, size, g), answered from c where the range lies in
 * one page that passed whole with the same g->reserved_ok; a page that
 * passes whole is remembered. The same answer as guest_buffer_ok for
 * every range (a range across pages, or in a page that does not pass
 * whole, is checked as is). c must be used with one memory map and
 * block only. */
bool guest_buffer_ok_cached(uint64_t gpa, uint64_t size, const struct guest_memory *g, struct guest_page_cache *c);

/* A guest buffer [gpa, gpa + size) the core may touch (issue 14, path 5):
 * wholly inside ranges of type RAM (or RESERVED with reserved_ok), not
 * overlapping the core's block or any special page, no wrap-around, size
 * > 0. So a hypercall never writes into MMIO: the MSI-X table, ECAM, the
 * APIC page, a hole above the top of RAM. */
bool guest_buffer_ok(uint64_t gpa, uint64_t size, const struct guest_memory *g);

#endif
