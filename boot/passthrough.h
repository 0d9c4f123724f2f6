/* The loader's snapshot of the passthrough device (issue 8): config space,
 * BARs, ROM, and for an IGD its OpRegion and bridges, read while the
 * firmware still serves us. launch.c copies it into the boot info and puts
 * the ROM into the core's block. */
#ifndef MINIHV_BOOT_PASSTHROUGH_H
#define MINIHV_BOOT_PASSTHROUGH_H

#include <efi.h>
#include <minihv/boot_info.h>
#include "boot/config.h"
#include "boot/platform.h"

struct pt_prep {
    struct minihv_passthrough pt; /* all but rom_phys: launch.c places the ROM */
    const uint8_t *rom;           /* the chosen ROM (firmware or pool memory); NULL: none */
    uint32_t rom_len;             /* == pt.rom_len */
};

/* Fills *out (zeroed first; pt.present 0 when no device was found). `volume`
 * is the ESP the `vbt =` and `rom =` paths are on. Logs one line per stage. */
void passthrough_prepare(const struct minihv_config *cfg, const struct platform *p, EFI_HANDLE volume,
                         struct pt_prep *out);

#endif
