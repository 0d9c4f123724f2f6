/* See typed_map.h. */
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "hv/typed_map.h"

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

int typed_map_block(struct pt_ctx *pt, const struct minihv_boot_info *bi, const struct mtrr_state *mtrr,
                     uint64_t base, uint64_t size, int level, bool guest)
{
    uint64_t hv_lo = bi->hv_phys_base, hv_hi = bi->hv_phys_base + bi->hv_phys_size;
    if (guest && base >= hv_lo && base + size <= hv_hi)
        return 0; /* the core's memory: never mapped for the guest */
    bool touches_hv = guest && base < hv_hi && hv_lo < base + size;
    unsigned type = MEMTYPE_UC;
    bool uniform = mtrr_block_type(mtrr, base, size, &type);
    enum coverage cov = memory_coverage(bi, base, size);
    bool leaf_ok = level == 1 || (level == 2) || (level == 3 && pt->allow_1g);
    if (level == 1 || (leaf_ok && uniform && !touches_hv && cov != COVER_PART)) {
        if (!uniform)
            type = MEMTYPE_UC; /* cannot happen at 4 KiB: MTRRs are page-granular */
        type = valid_type(type);
        if (cov != COVER_ALL && type == MEMTYPE_WB)
            type = MEMTYPE_UC; /* MMIO or a hole: never WB */
        return pt_map(pt, base, base, size, PT_ATTRS(PT_RWX, type));
    }
    uint64_t sub = size / 512;
    for (uint64_t a = base; a < base + size; a += sub) {
        int rc = typed_map_block(pt, bi, mtrr, a, sub, level - 1, guest);
        if (rc)
            return rc;
    }
    return 0;
}
