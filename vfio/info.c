/* Capability chains and the two info ioctls, after vfio_info_cap_add(),
 * msix_sparse_mmap_cap() and vfio_pci_ioctl() of Linux 4.6. */
#include <minihv/libc.h>

#include "vfio.h"

const char *vfio_strerror(int err)
{
    switch (err) {
    case 0: return "OK";
    case VFIO_EPERM: return "EPERM";
    case VFIO_EIO: return "EIO";
    case VFIO_EFAULT: return "EFAULT";
    case VFIO_ENODEV: return "ENODEV";
    case VFIO_EINVAL: return "EINVAL";
    case VFIO_ENOSPC: return "ENOSPC";
    case VFIO_ERANGE: return "ERANGE";
    case VFIO_ELOOP: return "ELOOP";
    default: return "unknown error";
    }
}

const char *vfio_region_name(uint32_t index)
{
    static const char *const names[] = { "BAR0", "BAR1", "BAR2", "BAR3", "BAR4",
                                         "BAR5", "ROM",  "CONFIG", "VGA" };
    return index < MINIHV_VFIO_PCI_NUM_REGIONS ? names[index] : "DEV";
}

int vfio_info_next_cap(const uint8_t *buf, size_t len, uint32_t *at, int *steps,
                       struct vfio_cap_view *c)
{
    const size_t hdr = sizeof(struct minihv_vfio_info_cap_header);
    if (!*at || ++*steps > 64 || *at > len || len - *at < hdr)
        return 0;
    struct minihv_vfio_info_cap_header h;
    memcpy(&h, buf + *at, hdr);
    c->id = h.id;
    c->version = h.version;
    c->body = buf + *at + hdr;
    c->body_len = (h.next > *at + hdr && h.next <= len) ? h.next - *at - hdr : len - *at - hdr;
    *at = h.next > *at ? h.next : 0;
    return 1;
}

int vfio_region_add_cap(struct vfio_region *r, uint16_t id, uint16_t version, const void *body,
                        size_t body_len)
{
    const size_t info = sizeof(struct minihv_vfio_region_info);
    const size_t hdr = sizeof(struct minihv_vfio_info_cap_header);

    if (body_len > VFIO_REGION_CAPS_MAX || !range_ok(r->caps_len, hdr + body_len, VFIO_REGION_CAPS_MAX))
        return VFIO_ENOSPC;
    /* Link the current last capability to the new one. Every offset the
     * walk follows was written by this function, so it stays in bounds. */
    uint32_t pos = (uint32_t)(info + r->caps_len);
    if (r->caps_len) {
        uint32_t at = 0;
        for (;;) {
            struct minihv_vfio_info_cap_header h;
            memcpy(&h, r->caps + at, sizeof(h));
            if (!h.next) {
                h.next = pos;
                memcpy(r->caps + at, &h, sizeof(h));
                break;
            }
            at = h.next - (uint32_t)info;
        }
    }
    struct minihv_vfio_info_cap_header h = { .id = id, .version = version, .next = 0 };
    memcpy(r->caps + r->caps_len, &h, hdr);
    if (body_len)
        memcpy(r->caps + r->caps_len + hdr, body, body_len);
    r->caps_len += (uint32_t)(hdr + body_len);
    r->flags |= MINIHV_VFIO_REGION_INFO_FLAG_CAPS;
    return 0;
}

int vfio_region_add_sparse_cap(struct vfio_region *r,
                               const struct minihv_vfio_region_sparse_mmap_area *areas,
                               uint32_t nr_areas)
{
    uint8_t body[8 + 4 * sizeof(struct minihv_vfio_region_sparse_mmap_area)];
    const size_t area = sizeof(struct minihv_vfio_region_sparse_mmap_area);

    if (nr_areas > 4)
        return VFIO_ENOSPC;
    memset(body, 0, sizeof(body));
    memcpy(body, &nr_areas, 4); /* nr_areas, then reserved = 0 */
    if (nr_areas)
        memcpy(body + 8, areas, nr_areas * area);
    return vfio_region_add_cap(r, MINIHV_VFIO_REGION_INFO_CAP_SPARSE_MMAP, 1, body,
                               8 + nr_areas * area);
}

int vfio_region_add_type_cap(struct vfio_region *r, uint32_t type, uint32_t subtype)
{
    uint32_t body[2] = { type, subtype };
    return vfio_region_add_cap(r, MINIHV_VFIO_REGION_INFO_CAP_TYPE, 1, body, sizeof(body));
}

/* A hole's pages: [start, end), end saturating instead of wrapping (a
 * range reaching past 2^64 leaves nothing mappable after it). */
static void hole_pages(const struct vfio_hole *h, uint64_t *start, uint64_t *end)
{
    *start = ALIGN_DOWN(h->offset, VFIO_PAGE_SIZE);
    if (h->offset > UINT64_MAX - h->size || h->offset + h->size > UINT64_MAX - (VFIO_PAGE_SIZE - 1))
        *end = UINT64_MAX;
    else
        *end = ALIGN_UP(h->offset + h->size, VFIO_PAGE_SIZE);
}

uint32_t vfio_mmap_areas(uint64_t bar_size, const struct vfio_hole *holes, uint32_t n,
                         struct minihv_vfio_region_sparse_mmap_area *areas, uint32_t max)
{
    bool taken[VFIO_HOLES_MAX] = { false };
    uint32_t count = 0;
    uint64_t pos = 0; /* everything below is an area or a hole */
    n = MIN(n, (uint32_t)VFIO_HOLES_MAX);
    for (;;) {
        /* The next hole by offset: a handful, so a scan. */
        int next = -1;
        uint64_t start = 0, end = 0;
        for (uint32_t i = 0; i < n; i++) {
            uint64_t s, e;
            hole_pages(&holes[i], &s, &e);
            if (!taken[i] && (next < 0 || s < start)) {
                next = (int)i;
                start = s;
                end = e;
            }
        }
        if (next < 0)
            break;
        taken[next] = true;
        if (start > pos && pos < bar_size && count < max) {
            areas[count].offset = pos;
            areas[count].size = MIN(start, bar_size) - pos;
            count++;
        }
        pos = MAX(pos, end);
    }
    if (pos < bar_size && count < max) {
        areas[count].offset = pos;
        areas[count].size = bar_size - pos;
        count++;
    }
    return count;
}

/* Linux 4.6 reports nr_areas = 1 with a zeroed area when the table covers
 * the whole BAR (it counts before it fills); we report the areas there
 * are, none in that case, as later kernels and the issue ask. */
uint32_t vfio_msix_mmap_areas(uint64_t bar_size, uint64_t table_offset, uint64_t table_size,
                              struct minihv_vfio_region_sparse_mmap_area areas[2])
{
    const struct vfio_hole table = { table_offset, table_size };
    return vfio_mmap_areas(bar_size, &table, 1, areas, 2);
}

int vfio_device_get_info(const struct vfio_device *dev, void *buf, size_t bufsz)
{
    /* minsz = offsetofend(struct vfio_device_info, num_irqs) */
    const size_t minsz = offsetof(struct minihv_vfio_device_info, num_irqs) + sizeof(uint32_t);
    struct minihv_vfio_device_info info;

    if (!buf || bufsz < minsz)
        return VFIO_EFAULT;
    memcpy(&info, buf, minsz);
    if (info.argsz < minsz)
        return VFIO_EINVAL;
    info.flags = dev->flags;
    info.num_regions = dev->num_regions;
    info.num_irqs = MINIHV_VFIO_PCI_NUM_IRQS;
    memcpy(buf, &info, minsz);
    return 0;
}

int vfio_device_get_region_info(const struct vfio_device *dev, uint32_t index, void *buf,
                                size_t bufsz)
{
    const size_t minsz = sizeof(struct minihv_vfio_region_info);
    struct minihv_vfio_region_info info;

    if (!buf || bufsz < minsz)
        return VFIO_EFAULT;
    memcpy(&info, buf, minsz);
    if (info.argsz < minsz)
        return VFIO_EINVAL;
    if (index >= dev->num_regions || !dev->regions[index].present)
        return VFIO_EINVAL;

    const struct vfio_region *r = &dev->regions[index];
    info.index = index;
    info.flags = r->flags;
    info.size = r->size;
    info.offset = MINIHV_VFIO_PCI_INDEX_TO_OFFSET(index);
    /* Without capabilities the kernel leaves cap_offset as the caller set
     * it: it copies the whole structure in and back out. */
    if (r->caps_len) {
        info.flags |= MINIHV_VFIO_REGION_INFO_FLAG_CAPS;
        if (info.argsz < minsz + r->caps_len) {
            info.argsz = (uint32_t)(minsz + r->caps_len);
            info.cap_offset = 0;
        } else {
            if (bufsz < minsz + r->caps_len)
                return VFIO_EFAULT;
            memcpy((uint8_t *)buf + minsz, r->caps, r->caps_len);
            info.cap_offset = (uint32_t)minsz;
        }
    }
    memcpy(buf, &info, minsz);
    return 0;
}
