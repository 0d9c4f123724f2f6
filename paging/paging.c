/* The page-table builder behind the core's tables, EPT, NPT and the IOMMUs'
 * I/O page tables; see paging.h. */
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "paging/paging.h"

#define ENTRIES 512
#define ADDR_MASK 0x000ffffffffff000ull

static uint64_t level_size(int level)
{
    return 1ull << (12 + 9 * (level - 1));
}

static unsigned level_index(uint64_t va, int level)
{
    return (unsigned)(va >> (12 + 9 * (level - 1))) & (ENTRIES - 1);
}

/* ---- formats ---- */

/* Host paging: PAT entries as the firmware leaves them (PAT0 WB, PAT1 WT,
 * PAT3 UC), selected with PWT/PCD; MTRRs still apply. SDM 11.12.3. */
static uint64_t host_memtype_bits(uint32_t memtype)
{
    switch (memtype) {
    case MEMTYPE_UC: return PTE_PCD | PTE_PWT;
    case MEMTYPE_WT: return PTE_PWT;
    default:         return 0;
    }
}

static uint64_t host_table_entry(uint64_t pa)
{
    return (pa & ADDR_MASK) | PTE_P | PTE_RW;
}

static uint64_t host_leaf_entry(uint64_t pa, int level, uint32_t attrs)
{
    uint64_t e = (pa & ADDR_MASK) | PTE_P | host_memtype_bits(PT_ATTR_MEMTYPE(attrs));
    if (attrs & PT_WRITE)
        e |= PTE_RW;
    if (level > 1)
        e |= PTE_PS;
    return e;
}

static uint32_t host_leaf_attrs(uint64_t e, int level)
{
    (void)level;
    uint32_t memtype = MEMTYPE_WB;
    if ((e & (PTE_PCD | PTE_PWT)) == (PTE_PCD | PTE_PWT))
        memtype = MEMTYPE_UC;
    else if (e & PTE_PWT)
        memtype = MEMTYPE_WT;
    return PT_ATTRS(PT_READ | PT_EXEC | ((e & PTE_RW) ? PT_WRITE : 0), memtype);
}

static bool host_present(uint64_t e)
{
    return e & PTE_P;
}

static bool host_is_leaf(uint64_t e, int level)
{
    return level == 1 || (e & PTE_PS);
}

const struct pt_format pt_format_host = {
    "host", host_table_entry, host_leaf_entry, host_leaf_attrs, host_present, host_is_leaf,
    NULL,
};

/* NPT uses the host format, but every access is a user access (APM 15.25.5):
 * U/S must be set at all levels. */
static uint64_t npt_table_entry(uint64_t pa)
{
    return host_table_entry(pa) | PTE_US;
}

static uint64_t npt_leaf_entry(uint64_t pa, int level, uint32_t attrs)
{
    return host_leaf_entry(pa, level, attrs) | PTE_US;
}

const struct pt_format pt_format_npt = {
    "npt", npt_table_entry, npt_leaf_entry, host_leaf_attrs, host_present, host_is_leaf,
    NULL,
};

/* EPT (SDM 28.3.2, Tables 28-1..28-6): bits 0-2 R/W/X, 3-5 memory type in
 * leaves, bit 7 large page. "Present" means any of R/W/X. */
#define EPT_R 1ull
#define EPT_W 2ull
#define EPT_X 4ull
#define EPT_LARGE (1ull << 7)

static uint64_t ept_table_entry(uint64_t pa)
{
    return (pa & ADDR_MASK) | EPT_R | EPT_W | EPT_X;
}

static uint64_t ept_leaf_entry(uint64_t pa, int level, uint32_t attrs)
{
    uint64_t e = (pa & ADDR_MASK) | (uint64_t)PT_ATTR_MEMTYPE(attrs) << 3;
    if (attrs & PT_READ)
        e |= EPT_R;
    if (attrs & PT_WRITE)
        e |= EPT_W;
    if (attrs & PT_EXEC)
        e |= EPT_X;
    if (level > 1)
        e |= EPT_LARGE;
    return e;
}

static uint32_t ept_leaf_attrs(uint64_t e, int level)
{
    (void)level;
    return PT_ATTRS((uint32_t)(e & 7), (uint32_t)(e >> 3) & 7);
}

static bool ept_present(uint64_t e)
{
    return e & 7;
}

static bool ept_is_leaf(uint64_t e, int level)
{
    return level == 1 || (e & EPT_LARGE);
}

const struct pt_format pt_format_ept = {
    "ept", ept_table_entry, ept_leaf_entry, ept_leaf_attrs, ept_present, ept_is_leaf,
    NULL,
};

/* VT-d second-level entries (VT-d spec 9.8, legacy mode): bit 0 R, bit 1
 * W, bit 7 PS (leaf above 4 KiB); present means R or W. Memory type bits
 * are ignored in legacy mode, so leaves carry none. */
#define VTD_R 1ull
#define VTD_W 2ull
#define VTD_PS (1ull << 7)

static uint64_t vtd_table_entry(uint64_t pa)
{
    return (pa & ADDR_MASK) | VTD_R | VTD_W;
}

static uint64_t vtd_leaf_entry(uint64_t pa, int level, uint32_t attrs)
{
    uint64_t e = pa & ADDR_MASK;
    if (attrs & PT_READ)
        e |= VTD_R;
    if (attrs & PT_WRITE)
        e |= VTD_W;
    if (level > 1)
        e |= VTD_PS;
    return e;
}

static uint32_t vtd_leaf_attrs(uint64_t e, int level)
{
    (void)level;
    return PT_ATTRS((uint32_t)(e & 3), MEMTYPE_WB);
}

static bool vtd_present(uint64_t e)
{
    return e & (VTD_R | VTD_W);
}

static bool vtd_is_leaf(uint64_t e, int level)
{
    return level == 1 || (e & VTD_PS);
}

const struct pt_format pt_format_vtd = {
    "vtd", vtd_table_entry, vtd_leaf_entry, vtd_leaf_attrs, vtd_present, vtd_is_leaf, NULL,
};

/* AMD-Vi I/O page table entries (AMD IOMMU spec 2.2.3): bit 0 PR, bits
 * 11:9 next level (the level of the table pointed to; 0 in a leaf, at any
 * level: a page of that level's size), bit 61 IR, bit 62 IW. Permissions
 * are the AND over all levels, so table entries allow both. */
#define AMDVI_PR 1ull
#define AMDVI_NL_SHIFT 9
#define AMDVI_NL_MASK (7ull << AMDVI_NL_SHIFT)
#define AMDVI_IR (1ull << 61)
#define AMDVI_IW (1ull << 62)

static uint64_t amdvi_table_entry_at(uint64_t pa, int child_level)
{
    return (pa & ADDR_MASK) | (uint64_t)child_level << AMDVI_NL_SHIFT | AMDVI_IR | AMDVI_IW | AMDVI_PR;
}

static uint64_t amdvi_table_entry(uint64_t pa)
{
    return amdvi_table_entry_at(pa, 1); /* not used: table_entry_at is set */
}

static uint64_t amdvi_leaf_entry(uint64_t pa, int level, uint32_t attrs)
{
    (void)level;
    uint64_t e = (pa & ADDR_MASK) | AMDVI_PR;
    if (attrs & PT_READ)
        e |= AMDVI_IR;
    if (attrs & PT_WRITE)
        e |= AMDVI_IW;
    return e;
}

static uint32_t amdvi_leaf_attrs(uint64_t e, int level)
{
    (void)level;
    return PT_ATTRS(((e & AMDVI_IR) ? PT_READ : 0) | ((e & AMDVI_IW) ? PT_WRITE : 0), MEMTYPE_WB);
}

static bool amdvi_present(uint64_t e)
{
    return e & AMDVI_PR;
}

static bool amdvi_is_leaf(uint64_t e, int level)
{
    return level == 1 || (e & AMDVI_NL_MASK) == 0;
}

const struct pt_format pt_format_amdvi = {
    "amdvi", amdvi_table_entry, amdvi_leaf_entry, amdvi_leaf_attrs, amdvi_present, amdvi_is_leaf,
    amdvi_table_entry_at,
};

/* ---- builder ---- */

static uint64_t table_entry_for(const struct pt_format *fmt, uint64_t child_pa, int child_level)
{
    return fmt->table_entry_at ? fmt->table_entry_at(child_pa, child_level) : fmt->table_entry(child_pa);
}

static uint64_t *table_at(struct pt_ctx *pt, uint64_t pa)
{
    return pt->phys_to_virt(pt->opaque, pa);
}

static uint64_t new_table(struct pt_ctx *pt)
{
    uint64_t pa = pt->alloc_page(pt->opaque);
    if (pa) {
        memset(table_at(pt, pa), 0, PAGE_SIZE);
        pt->stats.tables++;
    }
    return pa;
}

int pt_init(struct pt_ctx *pt)
{
    memset(&pt->stats, 0, sizeof(pt->stats));
    pt->root_pa = new_table(pt);
    return pt->root_pa ? PT_OK : PT_ENOMEM;
}

/* Replaces a large leaf at `level` by a table of 512 leaves one level down
 * with the same attributes, so part of it can change. */
static int split_leaf(struct pt_ctx *pt, uint64_t *entry, int level)
{
    uint64_t child = new_table(pt);
    if (!child)
        return PT_ENOMEM;
    uint64_t *t = table_at(pt, child);
    uint64_t base = *entry & ADDR_MASK & ~(level_size(level) - 1);
    uint32_t attrs = pt->fmt->leaf_attrs(*entry, level);
    for (unsigned i = 0; i < ENTRIES; i++)
        t[i] = pt->fmt->leaf_entry(base + i * level_size(level - 1), level - 1, attrs);
    *entry = table_entry_for(pt->fmt, child, level - 1);
    return PT_OK;
}

/* Descends into (allocating or splitting) the table below `entry`. */
static uint64_t *next_table(struct pt_ctx *pt, uint64_t *entry, int level, bool create)
{
    if (!pt->fmt->present(*entry)) {
        if (!create)
            return NULL;
        uint64_t child = new_table(pt);
        if (!child)
            return NULL;
        *entry = table_entry_for(pt->fmt, child, level - 1);
    } else if (pt->fmt->is_leaf(*entry, level)) {
        if (split_leaf(pt, entry, level))
            return NULL;
    }
    return table_at(pt, *entry & ADDR_MASK);
}

static bool leaf_allowed(struct pt_ctx *pt, int level)
{
    return level == 1 || level == 2 || (level == 3 && pt->allow_1g);
}

/* present==false: unmap. Recursion depth is at most 4. */
static int update_range(struct pt_ctx *pt, uint64_t *table, int level, uint64_t va,
                        uint64_t end, uint64_t pa, uint32_t attrs, bool present)
{
    while (va < end) {
        uint64_t sz = level_size(level);
        uint64_t next = (va & ~(sz - 1)) + sz;
        uint64_t chunk_end = (next == 0 || next > end) ? end : next; /* next==0: wrapped at 2^64 */
        uint64_t *e = &table[level_index(va, level)];
        bool whole = (va & (sz - 1)) == 0 && chunk_end - va == sz;

        if (whole && leaf_allowed(pt, level) && (!present || (pa & (sz - 1)) == 0)) {
            *e = present ? pt->fmt->leaf_entry(pa, level, attrs) : 0;
        } else if (!present && !pt->fmt->present(*e)) {
            /* nothing mapped here: nothing to remove */
        } else {
            uint64_t *child = next_table(pt, e, level, true);
            if (!child)
                return PT_ENOMEM;
            int rc = update_range(pt, child, level - 1, va, chunk_end, pa, attrs, present);
            if (rc)
                return rc;
        }
        pa += chunk_end - va;
        va = chunk_end;
        if (va == 0)
            break;
    }
    return PT_OK;
}

/* 4-level paging translates 48 bits; upper-half canonical addresses
 * (the core's image) index the same tables by their low 48 bits. */
#define VA_BITS 48
#define VA_LIMIT (1ull << VA_BITS)

static bool to_table_va(uint64_t va, uint64_t size, uint64_t *out)
{
    uint64_t limit = VA_LIMIT / 2; /* low canonical half */
    if (va >= ~(VA_LIMIT / 2 - 1)) { /* upper canonical half */
        va &= VA_LIMIT - 1;
        limit = VA_LIMIT;
    }
    if (!size || (va & ~PAGE_MASK) || (size & ~PAGE_MASK) || va >= limit || size > limit - va)
        return false;
    *out = va;
    return true;
}

int pt_map(struct pt_ctx *pt, uint64_t va, uint64_t pa, uint64_t size, uint32_t attrs)
{
    if (!to_table_va(va, size, &va) || (pa & ~PAGE_MASK))
        return PT_EINVAL;
    return update_range(pt, table_at(pt, pt->root_pa), 4, va, va + size, pa, attrs, true);
}

int pt_unmap(struct pt_ctx *pt, uint64_t va, uint64_t size)
{
    if (!to_table_va(va, size, &va))
        return PT_EINVAL;
    return update_range(pt, table_at(pt, pt->root_pa), 4, va, va + size, 0, 0, false);
}

uint64_t *pt_lookup(struct pt_ctx *pt, uint64_t va, int *level)
{
    uint64_t *table = table_at(pt, pt->root_pa);
    for (int l = 4; l >= 1; l--) {
        uint64_t *e = &table[level_index(va, l)];
        if (!pt->fmt->present(*e))
            return NULL;
        if (pt->fmt->is_leaf(*e, l)) {
            *level = l;
            return e;
        }
        table = table_at(pt, *e & ADDR_MASK);
    }
    return NULL;
}

static void count_table(struct pt_ctx *pt, uint64_t *table, int level)
{
    for (unsigned i = 0; i < ENTRIES; i++) {
        uint64_t e = table[i];
        if (!pt->fmt->present(e))
            continue;
        if (pt->fmt->is_leaf(e, level))
            pt->stats.leaves[level - 1]++;
        else
            count_table(pt, table_at(pt, e & ADDR_MASK), level - 1);
    }
}

void pt_count_leaves(struct pt_ctx *pt)
{
    memset(pt->stats.leaves, 0, sizeof(pt->stats.leaves));
    count_table(pt, table_at(pt, pt->root_pa), 4);
}
