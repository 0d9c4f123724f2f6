/* minihv-preflight: the passthrough candidate through hv/passthrough.c's
 * model, as the core will present it (see preflight_vfio.c). */
#ifndef MINIHV_TOOLS_PREFLIGHT_VFIO_H
#define MINIHV_TOOLS_PREFLIGHT_VFIO_H

#include <stddef.h>
#include <stdint.h>
#include "boot/acpi.h"
#include "boot/pci.h"

typedef void (*preflight_line_fn)(const char *fmt, ...);

/* The core's start-up lines for candidate d (config bytes cfg, flags
 * MINIHV_PT_*), through `line`; the model's refusals through `diag`.
 * 0, or -1 when the model refuses the device (said through diag). The
 * ROM and the IGD's OpRegion regions are the loader's choices at boot and
 * are not modelled here. */
int preflight_vfio_report(const struct pci_dev_info *d, const uint8_t *cfg, size_t cfg_len, uint32_t flags,
                          const struct acpi_mcfg_segment *mcfg, unsigned mcfg_count, preflight_line_fn line,
                          preflight_line_fn diag);

/* The model's region count after a successful preflight_vfio_report. */
unsigned preflight_vfio_regions(void);

#endif
