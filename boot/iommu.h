/* The loader's part of the IOMMU (issue 9, docs/iommu.md "Wiring"): the
 * core gets its own copies of DMAR and IVRS inside its block, and once it
 * runs the firmware's tables are renamed (XMAR, XVRS) so the guest never
 * programs the remapping hardware the core owns. */
#ifndef MINIHV_BOOT_IOMMU_H
#define MINIHV_BOOT_IOMMU_H

#include <stdint.h>
#include <minihv/boot_info.h>
#include "boot/acpi.h"

/* Records `mode` (enum iommu_mode of include/minihv/iommu.h; boot/config.h's
 * enum has the same values) in bi and, unless it is none, copies DMAR and
 * IVRS (acpi may be NULL: no ACPI) into pages taken from [*next, end) of
 * the block, advancing *next. One log line per table. */
void boot_iommu_place(struct minihv_boot_info *bi, uint32_t mode, const struct acpi_info *acpi,
                      uint64_t *next, uint64_t end);

/* After the core runs: renames the firmware's tables that were copied
 * (acpi_table_hide, checksum fixed). Never touches bi (the core's now). */
void boot_iommu_hide(void);

#endif
