/* See mtrr.h. */
#include <minihv/x86.h>
#include "hv/mtrr.h"

#define MTRR_DEF_E  (1ull << 11)
#define MTRR_DEF_FE (1ull << 10)
#define MTRR_CAP_FIX (1ull << 8)
#define MTRR_VALID  (1ull << 11)

uint32_t mtrr_fixed_msr(unsigned i)
{
    if (i == 0)
        return MSR_MTRR_FIX64K_00000;
    if (i <= 2)
        return MSR_MTRR_FIX16K_80000 + (i - 1);
    return MSR_MTRR_FIX4K_C0000 + (i - 3);
}

/* Table 11-9: 8 x 64 KiB at 0, 16 x 16 KiB at 0x80000, 64 x 4 KiB at 0xC0000;
 * each MSR holds eight one-byte types. */
static unsigned fixed_type(const struct mtrr_state *s, uint64_t pa)
{
    unsigned msr, byte;
    if (pa < 0x80000) {
        msr = 0;
        byte = (unsigned)(pa >> 16);
    } else if (pa < 0xc0000) {
        unsigned n = (unsigned)((pa - 0x80000) >> 14);
        msr = 1 + n / 8;
        byte = n % 8;
    } else {
        unsigned n = (unsigned)((pa - 0xc0000) >> 12);
        msr = 3 + n / 8;
        byte = n % 8;
    }
    return (unsigned)(s->fixed[msr] >> (8 * byte)) & 0xff;
}

static uint64_t phys_mask(const struct mtrr_state *s)
{
    unsigned bits = s->phys_bits ? s->phys_bits : 36;
    if (bits > 52)
        bits = 52;
    return ((1ull << bits) - 1) & PAGE_MASK;
}

/* SDM 11.11.4.1: UC wins; WT and WB give WT; any other mix is undefined,
 * taken as UC. `seen` is a bit set of the types of matching ranges. */
static unsigned combine(unsigned seen, unsigned def)
{
    if (!seen)
        return def;
    if (seen & (1u << MEMTYPE_UC))
        return MEMTYPE_UC;
    if (seen == (1u << MEMTYPE_WT) || seen == (1u << MEMTYPE_WB) ||
        seen == ((1u << MEMTYPE_WT) | (1u << MEMTYPE_WB)))
        return (seen & (1u << MEMTYPE_WT)) ? MEMTYPE_WT : MEMTYPE_WB;
    for (unsigned t = 0; t < 8; t++)
        if (seen == (1u << t))
            return t;
    return MEMTYPE_UC;
}

static unsigned var_count(const struct mtrr_state *s)
{
    unsigned vcnt = (unsigned)(s->cap & 0xff);
    if (vcnt > s->var_count)
        vcnt = s->var_count;
    return vcnt > MTRR_MAX_VAR ? MTRR_MAX_VAR : vcnt;
}

static bool fixed_active(const struct mtrr_state *s)
{
    return (s->cap & MTRR_CAP_FIX) && (s->def_type & MTRR_DEF_FE);
}

unsigned mtrr_type_at(const struct mtrr_state *s, uint64_t pa)
{
    if (!(s->def_type & MTRR_DEF_E))
        return MEMTYPE_UC; /* MTRRs disabled: everything UC (11.11.2.1) */
    if (pa < MTRR_FIXED_END && fixed_active(s))
        return fixed_type(s, pa);
    uint64_t pm = phys_mask(s);
    unsigned seen = 0;
    for (unsigned i = 0; i < var_count(s); i++) {
        const struct mtrr_var *v = &s->var[i];
        if (!(v->mask & MTRR_VALID))
            continue;
        uint64_t m = v->mask & pm;
        if ((pa & m) == (v->base & m))
            seen |= 1u << (v->base & 7);
    }
    return combine(seen, (unsigned)(s->def_type & 0xff));
}

bool mtrr_block_type(const struct mtrr_state *s, uint64_t base, uint64_t size, unsigned *type)
{
    if (size < PAGE_SIZE || (size & (size - 1)) || (base & (size - 1)))
        return false;
    if (!(s->def_type & MTRR_DEF_E)) {
        *type = MEMTYPE_UC;
        return true;
    }
    if (base < MTRR_FIXED_END && fixed_active(s)) {
        if (base + size > MTRR_FIXED_END)
            return false; /* straddles fixed and variable ranges */
        unsigned t = fixed_type(s, base);
        for (uint64_t pa = base + PAGE_SIZE; pa < base + size; pa += PAGE_SIZE)
            if (fixed_type(s, pa) != t)
                return false;
        *type = t;
        return true;
    }
    /* A block of size 2^k: the mask bits >= k select whether the block can
     * match at all; mask bits < k set means only part of it matches. */
    uint64_t pm = phys_mask(s), low = size - 1;
    unsigned seen = 0;
    for (unsigned i = 0; i < var_count(s); i++) {
        const struct mtrr_var *v = &s->var[i];
        if (!(v->mask & MTRR_VALID))
            continue;
        uint64_t m = v->mask & pm;
        if ((base & m & ~low) != (v->base & m & ~low))
            continue; /* no byte of the block matches */
        if (m & low)
            return false; /* some bytes match, others not */
        seen |= 1u << (v->base & 7);
    }
    *type = combine(seen, (unsigned)(s->def_type & 0xff));
    return true;
}

bool mtrr_state_write(struct mtrr_state *s, uint32_t msr, uint64_t value)
{
    if (msr == MSR_IA32_MTRR_DEF_TYPE) {
        s->def_type = value;
        return true;
    }
    for (unsigned i = 0; i < MTRR_FIXED_MSRS; i++)
        if (msr == mtrr_fixed_msr(i)) {
            s->fixed[i] = value;
            return true;
        }
    if (msr >= MSR_MTRR_PHYSBASE0 && msr < MSR_MTRR_PHYSBASE0 + 2 * var_count(s)) {
        struct mtrr_var *v = &s->var[(msr - MSR_MTRR_PHYSBASE0) / 2];
        if ((msr - MSR_MTRR_PHYSBASE0) & 1)
            v->mask = value;
        else
            v->base = value;
        return true;
    }
    return false;
}

/* WB, and UC: the type of every byte while the MTRRs are off, as an OS has
 * them while it rewrites them (SDM 11.11.7.2); UC accesses snoop the
 * caches, so both stay coherent with the core's other mappings. */
static bool core_type_ok(unsigned t)
{
    return t == MEMTYPE_WB || t == MEMTYPE_UC;
}

bool mtrr_write_keeps_range(const struct mtrr_state *before, const struct mtrr_state *after, uint64_t base,
                            uint64_t size)
{
    uint64_t a = base & PAGE_MASK, end = (base + size + PAGE_SIZE - 1) & PAGE_MASK;
    if (!size || end < a)
        return false;
    while (a < end) {
        /* The largest naturally aligned power-of-two block at `a` that
         * fits; the types are taken per block, split until uniform. */
        uint64_t blk = a ? (a & -a) : (1ull << 62);
        while (blk > end - a)
            blk >>= 1;
        for (;;) {
            unsigned t_before, t_after;
            bool u_before = mtrr_block_type(before, a, blk, &t_before);
            bool u_after = mtrr_block_type(after, a, blk, &t_after);
            if (u_before && u_after) {
                if (t_after != t_before && !core_type_ok(t_after))
                    return false;
                break;
            }
            if (blk == PAGE_SIZE)
                return false; /* cannot happen: MTRRs are page-granular */
            blk >>= 1;
        }
        a += blk;
    }
    return true;
}
