/* The passthrough device's windows in the guest-physical map: each BAR's
 * mmap-able parts (as VFIO_DEVICE_GET_REGION_INFO gives them) mapped to the
 * host BAR, the rest trapped; placement checks, moves when the guest
 * reprograms a BAR, and host windows no guest window covers kept trapped.
 * The config-space side that calls pt_bar_remap is passthrough.c. */
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "hv/passthrough.h"
#include "hv/passthrough_map.h"
#include "paging/paging.h"

/* What VFIO_DEVICE_GET_REGION_INFO says of a BAR: which parts may be
 * mapped (mmap-able, sparse areas). Read back through the ABI, as a user
 * of vfio would, so the map follows the model and nothing else. */
struct bar_mmap {
    bool mmap;
    uint32_t nr_areas; /* 0 with mmap: the whole BAR */
    struct minihv_vfio_region_sparse_mmap_area areas[4];
};

/* GET_REGION_INFO for region i into buf (argsz = its size); < 0 on error. */
int pt_region_info(const struct pt_device *d, uint32_t i, uint8_t *buf, size_t len)
{
    struct minihv_vfio_region_info *info = (void *)buf;
    memset(buf, 0, len);
    info->argsz = (uint32_t)len;
    info->index = i;
    return vfio_device_get_region_info(&d->vfio, i, buf, len);
}

static void bar_mmap_info(const struct pt_device *d, unsigned i, struct bar_mmap *out)
{
    uint8_t buf[REGION_INFO_BYTES];
    const struct minihv_vfio_region_info *info = (const void *)buf;
    memset(out, 0, sizeof(*out));
    if (pt_region_info(d, i, buf, sizeof(buf)) < 0)
        return;
    out->mmap = info->flags & MINIHV_VFIO_REGION_INFO_FLAG_MMAP;
    uint32_t at = (info->flags & MINIHV_VFIO_REGION_INFO_FLAG_CAPS) ? info->cap_offset : 0;
    int steps = 0;
    struct vfio_cap_view c;
    while (vfio_info_next_cap(buf, sizeof(buf), &at, &steps, &c)) {
        if (c.id != MINIHV_VFIO_REGION_INFO_CAP_SPARSE_MMAP || c.body_len < 8)
            continue;
        uint32_t n;
        memcpy(&n, c.body, 4);
        n = MIN(n, (uint32_t)ARRAY_SIZE(out->areas));
        for (uint32_t k = 0; k < n && 8 + (k + 1) * sizeof(out->areas[0]) <= c.body_len; k++, out->nr_areas++)
            memcpy(&out->areas[k], c.body + 8 + k * sizeof(out->areas[0]), sizeof(out->areas[0]));
        /* nr_areas 0 in a sparse cap: nothing of the BAR is mapped. */
        if (!out->nr_areas)
            out->mmap = false;
        return;
    }
}

static int trap_range(struct pt_device *d, uint64_t gpa, uint64_t size)
{
    return d->hw.trap(d->hw.opaque, page_down(gpa), page_up(gpa + size) - page_down(gpa));
}

/* A window the guest may have: aligned as a BAR is, not wrapping, not
 * over the core's memory (never mapped for the guest). */
bool window_ok(const struct pt_device *d, uint64_t gpa, uint64_t size, const char **why)
{
    if (!gpa) {
        *why = "address 0";
        return false;
    }
    if (gpa & (size - 1)) {
        *why = "not aligned to its size";
        return false;
    }
    if (gpa + size < gpa || gpa + size > MAX_ADDR) {
        *why = "beyond the physical address space";
        return false;
    }
    if (pt_overlaps(gpa, size, d->forbid_base, d->forbid_size)) {
        *why = "over the hypervisor's memory";
        return false;
    }
    return true;
}

bool placement_ok(const struct pt_device *d, unsigned i, uint64_t gpa, uint64_t size, const char **why)
{
    if (!window_ok(d, gpa, size, why))
        return false;
    const struct special_page *e =
        d->hw.special ? special_find(d->hw.special, page_down(gpa), page_up(gpa + size) - page_down(gpa)) : NULL;
    if (e) {
        *why = special_kind_name(e->kind); /* "lapic", "iommu-regs", "ecam-device", ... */
        return false;
    }
    for (unsigned j = 0; j < VFIO_CONFIG_BARS; j++)
        if (j != i && d->win[j].mapped && pt_overlaps(gpa, size, d->win[j].guest, d->win[j].size)) {
            *why = "over another window of the device";
            return false;
        }
    return true;
}

int window_map(struct pt_device *d, unsigned i)
{
    struct pt_window *w = &d->win[i];
    int rc;
    if (i == VFIO_CONFIG_ROM_BAR && w->size < PT_PAGE) {
        rc = trap_range(d, w->guest, w->size); /* a 2 KiB ROM: reads emulated */
    } else if (i == VFIO_CONFIG_ROM_BAR) {
        /* The copy is padded to the region size: map all of it, read-only
         * (writes exit and are dropped). */
        rc = d->hw.map(d->hw.opaque, w->guest, w->host, w->size, PT_ATTRS(PT_READ, MEMTYPE_WB));
    } else {
        struct bar_mmap mm;
        bar_mmap_info(d, i, &mm);
        const uint32_t uc_rw = PT_ATTRS(PT_READ | PT_WRITE, MEMTYPE_UC);
        if (!mm.mmap || w->size < PT_PAGE) {
            rc = trap_range(d, w->guest, w->size);
        } else if (!mm.nr_areas) {
            rc = d->hw.map(d->hw.opaque, w->guest, w->host, w->size, uc_rw);
        } else {
            rc = trap_range(d, w->guest, w->size);
            for (uint32_t k = 0; !rc && k < mm.nr_areas; k++) {
                const struct minihv_vfio_region_sparse_mmap_area *a = &mm.areas[k];
                if (a->size && range_ok(a->offset, a->size, w->size) && !(a->offset & (PT_PAGE - 1)) &&
                    !(a->size & (PT_PAGE - 1)))
                    rc = d->hw.map(d->hw.opaque, w->guest + a->offset, w->host + a->offset, a->size, uc_rw);
            }
            /* The pages of judged ranges (an IGD's MCHBAR mirror): read
             * natively (i915 reads the mirror, no exit per read), each
             * write exits to the model, which drops those touching the
             * range (vfio_device_add_judged). */
            for (uint32_t k = 0; !rc && k < d->vfio.nr_judged; k++) {
                const struct vfio_judged_range *j = &d->vfio.judged[k];
                uint64_t first = page_down(j->offset), end = page_up(j->offset + j->size);
                if (j->index == i && end <= w->size)
                    rc = d->hw.map(d->hw.opaque, w->guest + first, w->host + first, end - first,
                                   PT_ATTRS(PT_READ, MEMTYPE_UC));
            }
        }
    }
    if (rc)
        return rc;
    w->mapped = true;
    d->count.remaps++;
    return 0;
}

/* Does [gpa, +size) touch where the hardware decodes one of our BARs? */
bool touches_host_window(const struct pt_device *d, uint64_t gpa, uint64_t size)
{
    for (unsigned j = 0; j < 6; j++)
        if (is_mem_bar(d, j) && d->host_bar[j] && pt_overlaps(gpa, size, d->host_bar[j], d->win[j].size))
            return true;
    return false;
}

/* A run of a window the guest left that no special page touches: back to
 * identity, except over a host window, which stays trapped (all-ones). */
static int leave_plain(void *opaque, uint64_t base, uint64_t size)
{
    struct pt_device *d = opaque;
    return touches_host_window(d, base, size) ? d->hw.trap(d->hw.opaque, base, size)
                                              : d->hw.identity(d->hw.opaque, base, size);
}

/* A run over a special page: what the registry says for it, never plain
 * identity (a BAR moved onto the APIC page and back must not leave it
 * writable, nor an ECAM or IOMMU page mapped). */
static int leave_special(void *opaque, const struct special_page *e, uint64_t base, uint64_t size)
{
    struct pt_device *d = opaque;
    switch (e->map) {
    case SPECIAL_MAP_READ_ONLY:
        return d->hw.map(d->hw.opaque, base, base, size, PT_ATTRS(PT_READ | PT_EXEC, MEMTYPE_UC));
    case SPECIAL_MAP_IDENTITY:
        return d->hw.identity(d->hw.opaque, base, size);
    default:
        return d->hw.trap(d->hw.opaque, base, size);
    }
}

/* The guest left [gpa, +size): what was there before comes back. */
static int window_unmap(struct pt_device *d, unsigned i)
{
    struct pt_window *w = &d->win[i];
    uint64_t base = page_down(w->guest), size = page_up(w->guest + w->size) - base;
    static const struct special_pages none;
    int rc = special_split(d->hw.special ? d->hw.special : &none, base, size, leave_plain, leave_special, d);
    w->mapped = false;
    d->count.remaps++;
    return rc;
}

/* A host window no mapped guest window covers: trapped, so the guest
 * cannot reach the device past the model (a BAR moved away, or decode
 * off; PCI 3.0 6.2.2 would give a master abort there: all-ones). */
void trap_host_windows(struct pt_device *d)
{
    for (unsigned j = 0; j < 6; j++) {
        if (!is_mem_bar(d, j) || !d->host_bar[j])
            continue;
        const struct pt_window *w = &d->win[j];
        if (w->mapped && w->guest == d->host_bar[j])
            continue;
        const char *why;
        if (window_ok(d, d->host_bar[j], w->size, &why))
            trap_range(d, d->host_bar[j], w->size);
    }
}

void pt_bar_remap(void *opaque, uint32_t bar, uint64_t addr, uint64_t size, bool decode)
{
    struct pt_device *d = opaque;
    if (bar >= VFIO_CONFIG_BARS)
        return;
    enum vfio_bar_kind kind = d->vfio.config.bars[bar].kind;
    if (kind == VFIO_BAR_IO) {
        /* Port I/O is not remapped: the device keeps decoding where the
         * firmware put it. */
        if (decode && addr != d->host_bar[bar]) {
            d->count.refused++;
            pt_say_limited(d, PT_SAY_IO_BAR_MOVE,
                           "passthrough: guest moved I/O BAR%u to 0x%lx: not followed (device stays at 0x%lx)", bar,
                           addr, d->host_bar[bar]);
        }
        return;
    }
    if (!is_mem_bar(d, bar))
        return;
    struct pt_window *w = &d->win[bar];
    if (w->mapped)
        window_unmap(d, bar);
    w->guest = addr;
    w->size = size;
    const char *why = NULL;
    if (decode && (bar != VFIO_CONFIG_ROM_BAR || w->host)) {
        if (!placement_ok(d, bar, addr, size, &why)) {
            d->count.refused++;
            d->count.placement_refused++;
            pt_say_limited(d, PT_SAY_PLACEMENT, "passthrough: %s%u at 0x%lx (%lu KiB) not mapped: %s",
                           bar == 6 ? "ROM" : "BAR", bar == 6 ? 0 : bar, addr, size >> 10, why);
        } else if (window_map(d, bar)) {
            pt_say_limited(d, PT_SAY_MAP_MEMORY, "passthrough: BAR%u at 0x%lx: out of memory for the map", bar, addr);
        }
    }
    trap_host_windows(d);
    if (d->hw.flush)
        d->hw.flush(d->hw.opaque);
}
