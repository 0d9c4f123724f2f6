/* The one DMA domain a provider keeps: page tables from paging/paging.c in the
 * provider's entry format, identity-mapped by the provider, and the
 * protected ranges no mapping may reach again. Shared by VT-d and AMD-Vi;
 * the IOTLB invalidation after a change is the provider's. */
#ifndef MINIHV_IOMMU_DOMAIN_H
#define MINIHV_IOMMU_DOMAIN_H

#include <minihv/iommu.h>
#include "paging/paging.h"

/* Room for every range the core keeps from devices (hv/iommu_hw.c): the
 * block, the log ring, each special page whose kind is out of the DMA
 * domain (up to SPECIAL_MAX: I/O APICs, IOMMU register sets, judged pages,
 * default SMRAM) and each MCFG window; hv/iommu_hw.c asserts it at build
 * time. 8 was less than one server's I/O APICs (review R s7, finding 3). */
#define IOMMU_DOMAIN_MAX_PROTECTED 80

struct iommu_domain {
    struct pt_ctx pt;
    struct iommu_mem mem;
    uint64_t reach;  /* IOVAs below this fit the tables the hardware walks */
    unsigned protected_count;
    struct iommu_range protected_ranges[IOMMU_DOMAIN_MAX_PROTECTED];
};

static inline bool iommu_ranges_overlap(uint64_t a, uint64_t asize, uint64_t b, uint64_t bsize)
{
    return a < b + bsize && b < a + asize;
}

/* Allocates the root table; no mappings, nothing protected. */
int iommu_domain_init(struct iommu_domain *d, const struct pt_format *fmt, bool allow_1g,
                      const struct iommu_mem *mem, uint64_t reach, struct field_error *err);
/* [base, base + size) identity with PT_READ/PT_WRITE `perm`; errors name
 * `field` at `offset` (the firmware structure that asked for it). */
int iommu_domain_identity(struct iommu_domain *d, uint64_t base, uint64_t size, uint32_t perm,
                          const char *field, uint32_t offset, struct field_error *err);
/* The provider API's map and unmap (perm 0 unmaps), checked. */
int iommu_domain_map(struct iommu_domain *d, uint64_t iova, uint64_t phys, uint64_t size,
                     uint32_t perm, struct field_error *err);
int iommu_domain_unmap(struct iommu_domain *d, uint64_t iova, uint64_t size, struct field_error *err);
/* Rounds [base, base + size) out to pages, records it and unmaps it. A
 * range inside one already recorded takes no slot; past
 * IOMMU_DOMAIN_MAX_PROTECTED it fails IOMMU_ENOSPC naming the base. */
int iommu_domain_protect(struct iommu_domain *d, uint64_t base, uint64_t size, struct field_error *err);

#endif
