/* The IOMMU on the machine (iommu_hw.c): the providers of iommu/ over the
 * core's identity map and heap, chosen at global init, faults polled. */
#ifndef MINIHV_HV_IOMMU_HW_H
#define MINIHV_HV_IOMMU_HW_H

#include <stdbool.h>
#include <minihv/boot_info.h>

/* Chooses and enables a provider (bi->iommu_mode; the loader's DMAR/IVRS
 * copies) protecting the core's block, with the passthrough device
 * attached: after the EPT/NPT and passthrough_init, before any CPU enters
 * the guest. -1 when a forced provider (vtd, amdvi) failed: the core must
 * not go on (docs/iommu.md, "The registry"). Registers the summary's
 * `iommu ...` line as a device model (hv/devmodel.h). */
int iommu_hw_init(const struct minihv_boot_info *bi);

/* Reads and clears recorded DMA faults, logging each
 * (`iommu: DMA fault: 00:05.0 write at 0x...`); returns the number
 * reported since the start. Any CPU, any time after iommu_hw_init. */
unsigned long iommu_hw_poll_faults(void);

/* A provider other than none is on. */
bool iommu_hw_contains_dma(void);

/* `iommu vtd (auto), DMA contained, faults N` for the summary. */
int iommu_hw_summary(char *buf, unsigned len);

#endif
