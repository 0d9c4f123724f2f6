/* The shared DMA domain; see domain.h. */
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "iommu/domain.h"

static uint64_t alloc_table(void *opaque)
{
    struct iommu_domain *d = opaque;
    return d->mem.alloc_pages(d->mem.opaque, 1);
}

static void *table_virt(void *opaque, uint64_t pa)
{
    struct iommu_domain *d = opaque;
    return d->mem.phys_to_virt(d->mem.opaque, pa);
}

static int pt_error(int rc, const char *field, uint32_t offset, struct field_error *err)
{
    if (rc == PT_ENOMEM)
        return field_fail(err, IOMMU_ENOMEM, field, offset, "out of pages for the page tables");
    return field_fail(err, IOMMU_EINVAL, field, offset, "range the page tables cannot map");
}

int iommu_domain_init(struct iommu_domain *d, const struct pt_format *fmt, bool allow_1g,
                      const struct iommu_mem *mem, uint64_t reach, struct field_error *err)
{
    memset(d, 0, sizeof(*d));
    d->mem = *mem;
    d->reach = MIN(reach, 1ull << 47); /* the builder's low canonical half */
    d->pt = (struct pt_ctx){ .fmt = fmt, .allow_1g = allow_1g, .alloc_page = alloc_table,
                             .phys_to_virt = table_virt, .opaque = d };
    if (pt_init(&d->pt))
        return field_fail(err, IOMMU_ENOMEM, "page tables", 0, "no page for the root");
    return IOMMU_OK;
}

int iommu_domain_identity(struct iommu_domain *d, uint64_t base, uint64_t size, uint32_t perm,
                          const char *field, uint32_t offset, struct field_error *err)
{
    int rc = pt_map(&d->pt, base, base, size, PT_ATTRS(perm, 0));
    return rc ? pt_error(rc, field, offset, err) : IOMMU_OK;
}

static bool fits(const struct iommu_domain *d, uint64_t iova, uint64_t size)
{
    return size && iova < d->reach && size <= d->reach - iova;
}

int iommu_domain_map(struct iommu_domain *d, uint64_t iova, uint64_t phys, uint64_t size,
                     uint32_t perm, struct field_error *err)
{
    if (!fits(d, iova, size) || ((iova | phys | size) & (PAGE_SIZE - 1)))
        return field_fail(err, IOMMU_EINVAL, "map", 0, "unaligned, empty or beyond the address width");
    for (unsigned i = 0; i < d->protected_count; i++)
        if (iommu_ranges_overlap(phys, size, d->protected_ranges[i].base, d->protected_ranges[i].size))
            return field_fail(err, IOMMU_EINVAL, "map.phys", 0, "would expose a protected range");
    uint32_t attrs = ((perm & IOMMU_READ) ? PT_READ : 0) | ((perm & IOMMU_WRITE) ? PT_WRITE : 0);
    int rc = attrs ? pt_map(&d->pt, iova, phys, size, PT_ATTRS(attrs, 0)) : pt_unmap(&d->pt, iova, size);
    return rc ? pt_error(rc, "map", 0, err) : IOMMU_OK;
}

int iommu_domain_unmap(struct iommu_domain *d, uint64_t iova, uint64_t size, struct field_error *err)
{
    if (!fits(d, iova, size) || ((iova | size) & (PAGE_SIZE - 1)))
        return field_fail(err, IOMMU_EINVAL, "unmap", 0, "unaligned, empty or beyond the address width");
    int rc = pt_unmap(&d->pt, iova, size);
    return rc ? pt_error(rc, "unmap", 0, err) : IOMMU_OK;
}

int iommu_domain_protect(struct iommu_domain *d, uint64_t base, uint64_t size, struct field_error *err)
{
    uint64_t start = ALIGN_DOWN(base, PAGE_SIZE), end = ALIGN_UP(base + size, PAGE_SIZE);
    if (!size || base + size < base || end <= start)
        return field_fail(err, IOMMU_EINVAL, "protect", 0, "empty or wrapping range");
    for (unsigned i = 0; i < d->protected_count; i++)
        if (start >= d->protected_ranges[i].base &&
            end - d->protected_ranges[i].base <= d->protected_ranges[i].size)
            return IOMMU_OK; /* already recorded and unmapped (an ECAM page inside its window) */
    if (d->protected_count == IOMMU_DOMAIN_MAX_PROTECTED)
        return field_fail(err, IOMMU_ENOSPC, "protect", IOMMU_DOMAIN_MAX_PROTECTED,
                          "no room: the domain already holds that many protected ranges");
    d->protected_ranges[d->protected_count++] = (struct iommu_range){ start, end - start };
    if (start >= d->reach)
        return IOMMU_OK; /* beyond what any device can address */
    int rc = pt_unmap(&d->pt, start, MIN(end, d->reach) - start);
    return rc ? pt_error(rc, "protect", 0, err) : IOMMU_OK;
}
