/* The passthrough device on the machine (passthrough_hw.c): set up at the
 * core's global init, then the guest's trapped accesses. */
#ifndef MINIHV_HV_PASSTHROUGH_HW_H
#define MINIHV_HV_PASSTHROUGH_HW_H

#include <stdbool.h>
#include <stdint.h>
#include <minihv/boot_info.h>


/* When a device is configured: CONFIG_DATA 0xcfc-0xcff, or without ECAM
 * on segment 0 CF8-CFF (0xcf9 included: its reset handling moves here);
 * an IGD's MMIO_INDEX/MMIO_DATA pair; before the backend builds its I/O
 * bitmap. -1 when the IGD's pair cannot be intercepted (fail closed). */
int passthrough_register_ports(const struct minihv_boot_info *bi);

/* Builds the model from bi->pt and maps the device's windows: after the
 * EPT/NPT exists, before any CPU enters the guest. A device that cannot be passed through is logged and left as
 * it is (0); -1 only when the core cannot go on. Registers the device
 * model (hv/devmodel.h): its trapped pages' nested page faults, and the
 * summary's `passthrough ...` and `passthrough regions: ...` lines. */
int passthrough_init(const struct minihv_boot_info *bi);
/* MINIHV_HC_PT_MSIX_CHECK: ptdev_msix_physical_check on the device. */
unsigned passthrough_msix_check(unsigned *bad, unsigned *unmasked);


/* Guards config registers [lo, hi) of seg:bus:dev.fn (ptdev_guard_config:
 * writes there dropped and counted as refused iommu-regs). Only with a
 * passthrough device on that segment (CF8/CFC and ECAM trapped); else -1,
 * logged. After passthrough_init, before any CPU enters the guest. */
int passthrough_guard_config(uint16_t segment, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t lo, uint16_t hi,
                             const char *what);

/* Secondary and subordinate bus numbers of the type 1 (bridge) function at
 * seg:bus:dev.fn, read from the hardware (ECAM or CF8/CFC): for the VT-d
 * provider's bridge scopes (iommu/dmar.h dmar_bridge_fn). false when it is
 * not a bridge or not on the passthrough device's segment (0 without one). */
bool passthrough_bridge_buses(void *opaque, uint16_t segment, uint8_t bus, uint8_t dev, uint8_t fn, uint8_t *secondary,
                              uint8_t *subordinate);

#endif
