/* See special_pages.h. */
#include <minihv/format.h>
#include <minihv/libc.h>
#include "hv/special_pages.h"

#define SP_PAGE 4096ull

struct special_pages hv_special;

static const char *const kind_names[SPECIAL_KINDS] = {
    [SPECIAL_CORE_BLOCK] = "core-block",
    [SPECIAL_LAPIC] = "lapic",
    [SPECIAL_IOAPIC] = "ioapic",
    [SPECIAL_IOMMU_REGS] = "iommu-regs",
    [SPECIAL_ECAM_DEVICE] = "ecam-device",
    [SPECIAL_ECAM_BRIDGE] = "ecam-bridge",
    [SPECIAL_ECAM_IOMMU] = "ecam-iommu",
    [SPECIAL_ECAM_PM] = "ecam-pm",
    [SPECIAL_FCH_ACPIMMIO] = "fch-acpimmio",
    [SPECIAL_LOG_RING] = "log-ring",
    [SPECIAL_MSI_WINDOW] = "msi-window",
    [SPECIAL_SMM_DEFAULT] = "smm-default",
    [SPECIAL_SLEEP_REG] = "sleep-reg",
    [SPECIAL_MCHBAR_VTD] = "mchbar-vtd",
    [SPECIAL_HPET] = "hpet",
};

static const enum special_dma kind_dma[SPECIAL_KINDS] = {
    [SPECIAL_CORE_BLOCK] = SPECIAL_DMA_OUT,
    [SPECIAL_LAPIC] = SPECIAL_DMA_INTERRUPT,
    [SPECIAL_IOAPIC] = SPECIAL_DMA_OUT,
    [SPECIAL_IOMMU_REGS] = SPECIAL_DMA_OUT,
    [SPECIAL_ECAM_DEVICE] = SPECIAL_DMA_OUT,
    [SPECIAL_ECAM_BRIDGE] = SPECIAL_DMA_OUT,
    [SPECIAL_ECAM_IOMMU] = SPECIAL_DMA_OUT,
    [SPECIAL_ECAM_PM] = SPECIAL_DMA_OUT,
    [SPECIAL_FCH_ACPIMMIO] = SPECIAL_DMA_OUT,
    [SPECIAL_LOG_RING] = SPECIAL_DMA_OUT,
    [SPECIAL_MSI_WINDOW] = SPECIAL_DMA_INTERRUPT,
    [SPECIAL_SMM_DEFAULT] = SPECIAL_DMA_OUT,
    [SPECIAL_SLEEP_REG] = SPECIAL_DMA_OUT,
    [SPECIAL_MCHBAR_VTD] = SPECIAL_DMA_OUT,
    [SPECIAL_HPET] = SPECIAL_DMA_OUT,
};

enum special_dma special_kind_dma(enum special_kind kind)
{
    return (unsigned)kind < SPECIAL_KINDS ? kind_dma[kind] : SPECIAL_DMA_UNDECIDED;
}

static const char *const map_names[] = { "none", "read-only", "identity", "read-only-wb" };

const char *special_kind_name(enum special_kind kind)
{
    return (unsigned)kind < SPECIAL_KINDS ? kind_names[kind] : "?";
}

/* [base, base + size) is non-empty, does not wrap and stays below the
 * limit; *end gets its end. */
static bool range_valid(uint64_t base, uint64_t size, uint64_t *end)
{
    if (!size || base + size < base || base + size > SPECIAL_ADDR_LIMIT)
        return false;
    *end = base + size;
    return true;
}

int special_add(struct special_pages *r, enum special_kind kind, uint64_t base, uint64_t size,
                enum special_map map)
{
    uint64_t end;
    if ((unsigned)kind >= SPECIAL_KINDS || (unsigned)map > SPECIAL_MAP_READ_ONLY_WB || !range_valid(base, size, &end))
        return -1;
    uint64_t lo = base & ~(SP_PAGE - 1), hi = (end + SP_PAGE - 1) & ~(SP_PAGE - 1);
    if (hi > SPECIAL_ADDR_LIMIT)
        return -1;
    for (unsigned i = 0; i < r->count && i < SPECIAL_MAX; i++) {
        const struct special_page *e = &r->e[i];
        if (e->kind == kind && e->map == map && e->base == lo && e->size == hi - lo)
            return 0;
    }
    if (r->count >= SPECIAL_MAX)
        return -1;
    r->e[r->count++] = (struct special_page){ lo, hi - lo, kind, map };
    return 0;
}

const struct special_page *special_find(const struct special_pages *r, uint64_t base, uint64_t size)
{
    if (!size)
        return NULL;
    uint64_t end = base + size < base ? ~0ull : base + size; /* a range that wraps: up to the top */
    for (unsigned i = 0; i < r->count && i < SPECIAL_MAX; i++) {
        const struct special_page *e = &r->e[i];
        if (base < e->base + e->size && e->base < end)
            return e;
    }
    return NULL;
}

/* The entry that holds address a (first added), or NULL and *next = the
 * lowest entry base above a (or ~0 when none). */
static const struct special_page *holding(const struct special_pages *r, uint64_t a, uint64_t *next)
{
    *next = ~0ull;
    for (unsigned i = 0; i < r->count && i < SPECIAL_MAX; i++) {
        const struct special_page *e = &r->e[i];
        if (a >= e->base && a - e->base < e->size)
            return e;
        if (e->base > a && e->base < *next)
            *next = e->base;
    }
    return NULL;
}

int special_split(const struct special_pages *r, uint64_t base, uint64_t size,
                  int (*plain)(void *opaque, uint64_t base, uint64_t size),
                  int (*special)(void *opaque, const struct special_page *e, uint64_t base, uint64_t size),
                  void *opaque)
{
    uint64_t end;
    if (!range_valid(base, size, &end))
        return -1;
    for (uint64_t a = base; a < end;) {
        uint64_t next;
        const struct special_page *e = holding(r, a, &next);
        /* An entry that starts inside this one but was added earlier wins
         * from its base on: cut the run there. */
        uint64_t stop = e ? e->base + e->size : next;
        if (e)
            for (unsigned i = 0; i < r->count && &r->e[i] != e; i++)
                if (r->e[i].base > a && r->e[i].base < stop)
                    stop = r->e[i].base;
        stop = MIN(stop, end);
        int rc = e ? special(opaque, e, a, stop - a) : plain(opaque, a, stop - a);
        if (rc)
            return rc;
        a = stop;
    }
    return 0;
}

int special_format(const struct special_pages *r, char *buf, unsigned len)
{
    int n = fmt_snprintf(buf, len, "special pages:");
    for (unsigned i = 0; i < r->count && i < SPECIAL_MAX; i++) {
        const struct special_page *e = &r->e[i];
        unsigned used = (unsigned)n < len ? (unsigned)n : len;
        bool mib = e->size >= (1ull << 20) && !(e->size & ((1ull << 20) - 1));
        n += fmt_snprintf(buf + used, len - used, "%s %s 0x%lx+%lu %s %s", i ? "," : "", kind_names[e->kind],
                          (unsigned long)e->base, (unsigned long)(mib ? e->size >> 20 : e->size >> 10),
                          mib ? "MiB" : "KiB", map_names[e->map]);
    }
    if (!r->count) {
        unsigned used = (unsigned)n < len ? (unsigned)n : len;
        n += fmt_snprintf(buf + used, len - used, " none");
    }
    return (unsigned)n < len ? n : (len ? (int)len - 1 : 0);
}
