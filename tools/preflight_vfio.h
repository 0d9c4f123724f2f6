/* minihv-preflight: the passthrough candidate through hv/passthrough.c's
 * model, as the core will present it (see preflight_vfio.c). */
#ifndef MINIHV_TOOLS_PREFLIGHT_VFIO_H
#define MINIHV_TOOLS_PREFLIGHT_VFIO_H

#include <stdbool.h>
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

/* The ROM the loader would give the guest: boot/pt_snapshot.c's pick over
 * the IGD's legacy shadow (0xC0000 through /dev/mem) and the ROM BAR's
 * image (sysfs `rom`, what PciIo's RomImage holds at boot); either may be
 * NULL. The loader's line (or "ROM none"); 0, or -1 when none is usable. */
int preflight_rom_report(const struct pci_dev_info *d, bool igd, const uint8_t *shadow, size_t shadow_len,
                         const uint8_t *rom_bar, size_t rom_bar_len, preflight_line_fn line, preflight_line_fn diag);

#endif
