/* drivers/igd/: the pieces of Intel integrated graphics (IGD) passthrough
 * that are pure data handling — OpRegion, VBT, video BIOS image, stolen
 * memory decode. Every parser takes a caller's buffer and a length, writes
 * into a caller's struct, allocates nothing, and on failure fills a
 * struct field_error naming the field and the byte offset it objected to.
 *
 * References: Intel "IGD OpRegion Specification" 2.0/2.1/3.0, Linux
 * drivers/gpu/drm/i915/display/intel_opregion.c, intel_bios.c,
 * intel_vbt_defs.h, drivers/vfio/pci/vfio_pci_igd.c, PCI Firmware Spec 3.0. */
#ifndef MINIHV_DRIVERS_IGD_IGD_H
#define MINIHV_DRIVERS_IGD_IGD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <minihv/field_error.h>

/* Return codes (negated, like the rest of minihv). */
#define IGD_OK          0
#define IGD_EINVAL      22  /* a field holds a value the format forbids */
#define IGD_ERANGE      34  /* a length or offset points outside the buffer */
#define IGD_ENOSPC      28  /* the caller's output buffer or table is too small */
#define IGD_ENOENT      2   /* the thing looked for is absent */

/* Errors: struct field_error and field_fail (minihv/field_error.h), the
 * offset a byte offset into the buffer the caller passed to the parser. */

#endif
