/* minihv-preflight: the IOMMU provider's probe on the running machine's
 * registers (see preflight_iommu.c). */
#ifndef MINIHV_TOOLS_PREFLIGHT_IOMMU_H
#define MINIHV_TOOLS_PREFLIGHT_IOMMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <minihv/iommu.h>

struct preflight_iommu_io {
    /* len bytes at physical address pa (malloc'd; the caller frees), or NULL. */
    uint8_t *(*read_phys)(uint64_t pa, size_t len);
    void (*line)(const char *fmt, ...);
};

/* Runs the VT-d (amd false, table = DMAR) or AMD-Vi (IVRS) provider's probe
 * with registers read through io->read_phys and `top` the end of memory;
 * on success prints each unit's capability registers and one summary line.
 * 0, or the provider's IOMMU_E* with err naming the field. */
int preflight_iommu_probe(bool amd, const void *table, size_t len, uint64_t top,
                          const struct preflight_iommu_io *io, struct field_error *err);

#endif
