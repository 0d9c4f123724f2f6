/* See vcpu_policy.h. */
#include <minihv/hypercall.h>
#include <minihv/x86.h>
#include "hv/vcpu_policy.h"
#include "hv/vmx/vmcs.h"

unsigned cpuid_leaf_row(uint32_t leaf)
{
    if (leaf < CPUID_ROWS_BASIC)
        return leaf;
    if (leaf >= 0x40000000u && leaf <= 0x400000ffu)
        return CPUID_ROW_CORE;
    if (leaf >= 0x40000100u && leaf <= 0x4000ffffu)
        return CPUID_ROW_OTHER_HV;
    if (leaf >= 0x80000000u && leaf < 0x80000000u + CPUID_ROWS_EXT)
        return CPUID_ROW_EXT0 + (leaf - 0x80000000u);
    return CPUID_ROW_OTHER;
}

uint32_t cpuid_row_leaf(unsigned row)
{
    if (row < CPUID_ROWS_BASIC)
        return row;
    if (row == CPUID_ROW_CORE)
        return 0x40000000u;
    if (row == CPUID_ROW_OTHER_HV)
        return 0x40000100u;
    if (row >= CPUID_ROW_EXT0 && row < CPUID_ROW_OTHER)
        return 0x80000000u + (row - CPUID_ROW_EXT0);
    return 0xffffffffu;
}

void cpuid_policy(uint32_t leaf, uint32_t subleaf, uint32_t r[4])
{
    if (leaf == 1) {
        r[2] &= ~(CPUID1_ECX_VMX | CPUID1_ECX_DTES64 | CPUID1_ECX_DS_CPL);
        r[2] |= CPUID1_ECX_HYPERVISOR;
        r[3] &= ~CPUID1_EDX_DS;
    } else if (leaf == 7 && subleaf == 0) {
        r[1] &= ~CPUID7_EBX_PT;
        r[2] &= ~CPUID7_ECX_CET_SS;
        r[3] &= ~CPUID7_EDX_CET_IBT;
    } else if (leaf == 0xd && subleaf == 1) {
        r[2] &= ~(XSS_PT | XSS_CET_U | XSS_CET_S);
    } else if (leaf == 0x14) {
        r[0] = r[1] = r[2] = r[3] = 0; /* Intel PT: no leaf */
    } else if (leaf == MINIHV_CPUID_BASE) {
        r[0] = MINIHV_CPUID_MAX_LEAF;
        r[1] = MINIHV_CPUID_SIG_EBX;
        r[2] = MINIHV_CPUID_SIG_ECX;
        r[3] = MINIHV_CPUID_SIG_EDX;
    } else if (leaf == MINIHV_CPUID_BASE + 1) {
        r[0] = MINIHV_ABI_VERSION;
        r[1] = r[2] = r[3] = 0;
    } else if ((leaf & 0xffffff00u) == MINIHV_CPUID_BASE) {
        r[0] = r[1] = r[2] = r[3] = 0; /* reserved hypervisor leaves */
    }
}

#define CPUID1_ECX_OSXSAVE (1u << 27)
#define CPUID7_ECX_OSPKE   (1u << 4)
#define CR4_OSXSAVE_BIT    (1ull << 18)
#define CR4_PKE_BIT        (1ull << 22)

void cpuid_mirror_guest(uint32_t leaf, uint32_t subleaf, uint64_t guest_cr4, uint32_t r[4])
{
    if (leaf == 1) {
        r[2] &= ~CPUID1_ECX_OSXSAVE;
        if (guest_cr4 & CR4_OSXSAVE_BIT)
            r[2] |= CPUID1_ECX_OSXSAVE;
    } else if (leaf == 7 && subleaf == 0) {
        r[2] &= ~CPUID7_ECX_OSPKE;
        if (guest_cr4 & CR4_PKE_BIT)
            r[2] |= CPUID7_ECX_OSPKE;
    }
}

enum msr_result msr_read_policy(uint32_t msr, uint64_t hw_value, uint64_t *value)
{
    if (msr == MSR_IA32_FEATURE_CONTROL) {
        *value = (hw_value | FEATURE_CONTROL_LOCK) &
                 ~(FEATURE_CONTROL_VMXON_IN_SMX | FEATURE_CONTROL_VMXON_OUTSIDE);
        return MSR_OK;
    }
    return MSR_GP;
}

#define XCR0_X87    (1ull << 0)
#define XCR0_SSE    (1ull << 1)
#define XCR0_AVX    (1ull << 2)
#define XCR0_MPX    (3ull << 3)
#define XCR0_AVX512 (7ull << 5)
#define XCR0_AMX    (3ull << 17) /* XTILECFG, XTILEDATA */

bool xsetbv_valid(uint32_t xcr, uint64_t value, uint64_t supported)
{
    if (xcr != 0 || !(value & XCR0_X87) || (value & ~supported))
        return false;
    if ((value & XCR0_AVX) && !(value & XCR0_SSE))
        return false;
    if ((value & XCR0_MPX) && (value & XCR0_MPX) != XCR0_MPX)
        return false;
    if ((value & XCR0_AVX512) &&
        ((value & XCR0_AVX512) != XCR0_AVX512 || !(value & XCR0_AVX)))
        return false;
    if ((value & XCR0_AMX) && (value & XCR0_AMX) != XCR0_AMX)
        return false;
    return true;
}

/* Does the memory map give [gpa, end) to ranges of an accepted type, end
 * to end? Ranges may come in any order and abut: walk from gpa, one range
 * at a time. */
static bool range_usable(const struct minihv_mem_range *r, const struct guest_memory *g)
{
    return r->type == MINIHV_MEM_RAM || (g->reserved_ok && r->type == MINIHV_MEM_RESERVED);
}

static bool covered_by_memory(uint64_t gpa, uint64_t end, const struct guest_memory *g)
{
    uint64_t at = gpa;
    if (g->hint) {
        unsigned h = __atomic_load_n(g->hint, __ATOMIC_RELAXED);
        const struct minihv_mem_range *r = h < g->count ? &g->mem[h] : (const struct minihv_mem_range *)0;
        if (r && range_usable(r, g) && at >= r->base && at - r->base < r->size && r->size - (at - r->base) >= end - at)
            return true;
    }
    for (unsigned steps = 0; at < end && steps <= g->count; steps++) {
        bool moved = false;
        for (unsigned i = 0; i < g->count && !moved; i++) {
            const struct minihv_mem_range *r = &g->mem[i];
            if (range_usable(r, g) && at >= r->base && at - r->base < r->size) {
                at = r->size - (at - r->base) >= end - at ? end : r->base + r->size;
                moved = true;
                if (g->hint)
                    __atomic_store_n(g->hint, i, __ATOMIC_RELAXED);
            }
        }
        if (!moved)
            return false;
    }
    return at >= end;
}

bool guest_buffer_ok(uint64_t gpa, uint64_t size, const struct guest_memory *g)
{
    uint64_t end = gpa + size;
    if (size == 0 || end < gpa || !g || !g->mem)
        return false;
    if (gpa < g->hv_base + g->hv_size && g->hv_base < end)
        return false; /* the core's block */
    if (g->special && special_find(g->special, gpa, size))
        return false; /* MMIO the core traps, the APIC page, IOMMU registers, ECAM */
    return covered_by_memory(gpa, end, g);
}

#define GUEST_PAGE 4096ull
#define GUEST_PAGE_CACHED 1ull

bool guest_buffer_ok_cached(uint64_t gpa, uint64_t size, const struct guest_memory *g, struct guest_page_cache *c)
{
    uint64_t offset = gpa & (GUEST_PAGE - 1), page = gpa - offset;
    if (!c || !g || size == 0 || size > GUEST_PAGE - offset)
        return guest_buffer_ok(gpa, size, g);
    unsigned count = g->special ? __atomic_load_n(&g->special->count, __ATOMIC_ACQUIRE) : 0;
    if (c->special_count != count) {
        for (unsigned i = 0; i < GUEST_PAGE_CACHE_SETS; i++)
            c->tag[i][0] = c->tag[i][1] = 0;
        c->special_count = count;
    }
    if (guest_page_cache_hit(c, gpa, size, g->reserved_ok, count))
        return true;
    /* Page-table pages sit at aligned addresses: the set folds higher
     * bits of the page number in (guest_page_cache_hit). */
    uint64_t tag = page | GUEST_PAGE_CACHED | (uint64_t)g->reserved_ok << 1, pfn = page / GUEST_PAGE;
    uint64_t *set = c->tag[(pfn ^ pfn >> 5 ^ pfn >> 10) % GUEST_PAGE_CACHE_SETS];
    if (guest_buffer_ok(page, GUEST_PAGE, g)) {
        set[1] = set[0];
        set[0] = tag;
        return true;
    }
    return guest_buffer_ok(gpa, size, g); /* part of the page may still be */
}
