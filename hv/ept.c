/* See ept.h. */
#include <minihv/boot_info.h>
#include <minihv/io.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "hv/console.h"
#include "hv/ept.h"
#include "hv/ioapic.h"
#include "hv/heap.h"
#include "hv/special_pages.h"

#define MSR_IA32_APIC_BASE 0x1b
#define IOAPIC_DEFAULT_BASE 0xfec00000ull

static struct pt_ctx ept;
static const struct minihv_boot_info *ept_bi;
static struct mtrr_state ept_mtrr; /* the types the map was built with */
static volatile uint64_t ept_gen;

void mtrr_read_cpu(struct mtrr_state *s)
{
    uint32_t r[4];
    memset(s, 0, sizeof(*s));
    x86_cpuid(1, 0, r);
    if (!(r[3] & (1u << 12))) {
        /* No MTRRs: take everything as WB; MMIO is made UC below. */
        s->def_type = (1ull << 11) | MEMTYPE_WB;
        return;
    }
    s->cap = rdmsr(MSR_IA32_MTRRCAP);
    s->def_type = rdmsr(MSR_IA32_MTRR_DEF_TYPE);
    if (s->cap & (1ull << 8))
        for (unsigned i = 0; i < MTRR_FIXED_MSRS; i++)
            s->fixed[i] = rdmsr(mtrr_fixed_msr(i));
    s->var_count = MIN((unsigned)(s->cap & 0xff), (unsigned)MTRR_MAX_VAR);
    for (unsigned i = 0; i < s->var_count; i++) {
        s->var[i].base = rdmsr(MSR_MTRR_PHYSBASE0 + 2 * i);
        s->var[i].mask = rdmsr(MSR_MTRR_PHYSBASE0 + 2 * i + 1);
    }
    x86_cpuid(0x80000000, 0, r);
    s->phys_bits = 36;
    if (r[0] >= 0x80000008) {
        x86_cpuid(0x80000008, 0, r);
        s->phys_bits = r[0] & 0xff;
    }
}

static uint64_t alloc_page(void *opaque)
{
    (void)opaque;
    return heap_alloc(1);
}

static void *identity(void *opaque, uint64_t pa)
{
    (void)opaque;
    return (void *)(uintptr_t)pa;
}

enum coverage { COVER_NONE, COVER_ALL, COVER_PART };

/* How much of [base, base+size) the firmware's memory map calls memory
 * (RAM or reserved RAM) rather than MMIO or a hole. */
static enum coverage memory_coverage(const struct minihv_boot_info *bi, uint64_t base, uint64_t size)
{
    if (!bi->mem_range_count)
        return COVER_ALL; /* no map: trust the MTRRs */
    uint64_t covered = 0, end = base + size;
    for (unsigned i = 0; i < bi->mem_range_count && i < MINIHV_MAX_MEM_RANGES; i++) {
        const struct minihv_mem_range *r = &bi->mem[i];
        if (r->type != MINIHV_MEM_RAM && r->type != MINIHV_MEM_RESERVED)
            continue;
        uint64_t lo = MAX(base, r->base), hi = MIN(end, r->base + r->size);
        if (lo < hi)
            covered += hi - lo;
    }
    return covered == 0 ? COVER_NONE : covered >= size ? COVER_ALL : COVER_PART;
}

static unsigned valid_type(unsigned t)
{
    return (t == MEMTYPE_UC || t == MEMTYPE_WC || t == MEMTYPE_WT || t == MEMTYPE_WP ||
            t == MEMTYPE_WB) ? t : MEMTYPE_UC;
}

/* Level 3 = 1 GiB, 2 = 2 MiB, 1 = 4 KiB: maps [base, base + size) with
 * one leaf when the type is the same over it, else splits. */
static int map_block(const struct minihv_boot_info *bi, const struct mtrr_state *mtrr,
                     uint64_t base, uint64_t size, int level)
{
    uint64_t hv_lo = bi->hv_phys_base, hv_hi = bi->hv_phys_base + bi->hv_phys_size;
    if (base >= hv_lo && base + size <= hv_hi)
        return 0; /* the core's memory: never mapped for the guest */
    bool touches_hv = base < hv_hi && hv_lo < base + size;
    unsigned type = MEMTYPE_UC;
    bool uniform = mtrr_block_type(mtrr, base, size, &type);
    enum coverage cov = memory_coverage(bi, base, size);
    bool leaf_ok = level == 1 || (level == 2) || (level == 3 && ept.allow_1g);
    if (level == 1 || (leaf_ok && uniform && !touches_hv && cov != COVER_PART)) {
        if (!uniform)
            type = MEMTYPE_UC; /* cannot happen at 4 KiB: MTRRs are page-granular */
        type = valid_type(type);
        if (cov != COVER_ALL && type == MEMTYPE_WB)
            type = MEMTYPE_UC; /* MMIO or a hole: never WB */
        return pt_map(&ept, base, base, size, PT_ATTRS(PT_RWX, type));
    }
    uint64_t sub = size / 512;
    for (uint64_t a = base; a < base + size; a += sub) {
        int rc = map_block(bi, mtrr, a, sub, level - 1);
        if (rc)
            return rc;
    }
    return 0;
}

/* One registry entry onto the map: not present, read-only identity, or
 * identity as built (hv/special_pages.h). [gpa, +size) inside the entry. */
static int apply_special(void *opaque, const struct special_page *e, uint64_t gpa, uint64_t size);

/* Identity as ept_build made it, for [gpa, gpa + size) (page-aligned).
 * The largest block map_block may decide on: 2 MiB when aligned. */
static int identity_run(void *opaque, uint64_t gpa, uint64_t size)
{
    (void)opaque;
    uint64_t end = gpa + size;
    while (gpa < end) {
        bool big = !(gpa & (SIZE_2M - 1)) && end - gpa >= SIZE_2M;
        uint64_t chunk = big ? SIZE_2M : PAGE_SIZE;
        int rc = gpa >= ept_bi->phys_top ? pt_map(&ept, gpa, gpa, chunk, PT_ATTRS(PT_RWX, MEMTYPE_UC))
                                         : map_block(ept_bi, &ept_mtrr, gpa, chunk, big ? 2 : 1);
        if (rc)
            return rc;
        gpa += chunk;
    }
    return 0;
}

static int apply_special(void *opaque, const struct special_page *e, uint64_t gpa, uint64_t size)
{
    switch (e->map) {
    case SPECIAL_MAP_NONE:
        return pt_unmap(&ept, gpa, size);
    case SPECIAL_MAP_READ_ONLY:
        return pt_map(&ept, gpa, gpa, size, PT_ATTRS(PT_READ | PT_EXEC, MEMTYPE_UC));
    case SPECIAL_MAP_READ_ONLY_WB:
        return pt_map(&ept, gpa, gpa, size, PT_ATTRS(PT_READ | PT_EXEC, MEMTYPE_WB));
    default:
        return identity_run(opaque, gpa, size);
    }
}

int ept_reserve(enum special_kind kind, uint64_t base, uint64_t size, enum special_map map)
{
    if (special_add(&hv_special, kind, base, size, map)) {
        hv_log("ept: special page %s 0x%lx+0x%lx not registered (bad range or table full, %u entries)",
               special_kind_name(kind), base, size, hv_special.count);
        return -1;
    }
    if (!ept.root_pa)
        return 0; /* ept_build applies it */
    const struct special_page *e = &hv_special.e[hv_special.count - 1];
    return apply_special(NULL, e, e->base, e->size);
}

int ept_build(const struct minihv_boot_info *bi, const struct pt_format *fmt, bool allow_1g,
              const struct mtrr_state *mtrr)
{
    ept = (struct pt_ctx){
        .fmt = fmt, .allow_1g = allow_1g, .alloc_page = alloc_page, .phys_to_virt = identity,
    };
    if (pt_init(&ept))
        return -1;
    ept_bi = bi;
    ept_mtrr = *mtrr;
    for (uint64_t base = 0; base < bi->phys_top; base += SIZE_1G)
        if (map_block(bi, mtrr, base, SIZE_1G, 3))
            return -1;
    /* The special pages known now (others register later through
     * ept_reserve): the block (never mapped above) and the local APIC
     * page, read-only so that ICR writes exit (hv/ipi.c, SDM 10.4.4). */
    special_add(&hv_special, SPECIAL_CORE_BLOCK, bi->hv_phys_base, bi->hv_phys_size, SPECIAL_MAP_NONE);
    special_add(&hv_special, SPECIAL_LAPIC, rdmsr(MSR_IA32_APIC_BASE) & 0x000ffffffffff000ull, PAGE_SIZE,
                SPECIAL_MAP_READ_ONLY);
    /* Every I/O APIC of the MADT (the PC default without one): read-only,
     * so that redirection entry writes exit to hv/ioapic.c (INIT/SMI modes
     * refused); no BAR or hypercall buffer goes over it. One the model
     * cannot take stops the core: its entries would reach the hardware. */
    unsigned n_ioapic = bi->ioapic_count ? bi->ioapic_count : 1;
    if (n_ioapic > MINIHV_MAX_IOAPICS) {
        hv_log("ept: boot_info.ioapic_count %u: more than %u", bi->ioapic_count, MINIHV_MAX_IOAPICS);
        return -1;
    }
    for (unsigned i = 0; i < n_ioapic; i++) {
        uint64_t base = bi->ioapic_count ? bi->ioapic_base[i] : IOAPIC_DEFAULT_BASE;
        if (ioapic_model_add(base) ||
            special_add(&hv_special, SPECIAL_IOAPIC, base & ~(PAGE_SIZE - 1), PAGE_SIZE, SPECIAL_MAP_READ_ONLY))
            return -1;
    }
    /* The default SMRAM the loader took (open SMM): not present, only SMM
     * (no EPT/NPT there) runs its RSM; any other address is a loader bug. */
    if (bi->smm_default_phys && (bi->smm_default_phys != MINIHV_SMBASE_DEFAULT ||
                                 special_add(&hv_special, SPECIAL_SMM_DEFAULT, bi->smm_default_phys,
                                             MINIHV_SMM_DEFAULT_SIZE, SPECIAL_MAP_NONE))) {
        hv_log("ept: boot_info.smm_default_phys 0x%lx: not 0x%lx or not registered", bi->smm_default_phys,
               MINIHV_SMBASE_DEFAULT);
        return -1;
    }
    for (unsigned i = 0; i < hv_special.count; i++)
        if (apply_special(NULL, &hv_special.e[i], hv_special.e[i].base, hv_special.e[i].size))
            return -1;
    return 0;
}

int ept_set_attrs(uint64_t gpa, uint64_t size, uint32_t attrs)
{
    return pt_map(&ept, gpa, gpa, size, attrs);
}

int ept_map(uint64_t gpa, uint64_t hpa, uint64_t size, uint32_t attrs)
{
    return pt_map(&ept, gpa, hpa, size, attrs);
}

int ept_unmap(uint64_t gpa, uint64_t size)
{
    return pt_unmap(&ept, gpa, size);
}

int ept_restore_identity(uint64_t gpa, uint64_t size)
{
    if (!ept_bi || (gpa | size) & (PAGE_SIZE - 1))
        return -1;
    /* Identity, except where the registry says otherwise: a BAR moved off
     * the APIC page or an ECAM page gives back what the core had there. */
    return special_split(&hv_special, gpa, size, identity_run, apply_special, NULL);
}

void ept_changed(void)
{
    __atomic_add_fetch(&ept_gen, 1, __ATOMIC_RELEASE);
}

uint64_t ept_generation(void)
{
    return __atomic_load_n(&ept_gen, __ATOMIC_ACQUIRE);
}

uint64_t ept_root_pa(void)
{
    return ept.root_pa;
}

uint64_t ept_table_bytes(void)
{
    return ept.stats.tables * PAGE_SIZE;
}

void ept_count_leaves(struct pt_stats *out)
{
    struct pt_ctx copy = ept; /* counted on a copy: CPUs may ask at once */
    if (copy.root_pa)
        pt_count_leaves(&copy);
    *out = copy.stats;
}
