/* Secure Boot in the loader: the firmware's state, the config check, and
 * the guest loaded from verified bytes (boot/secureboot.c). */
#ifndef MINIHV_BOOT_SECUREBOOT_H
#define MINIHV_BOOT_SECUREBOOT_H

#include <efi.h>
#include <stdbool.h>
#include "boot/config.h"

struct sb_guest {
    EFI_HANDLE child;  /* LoadImage'd, not started */
    void *bytes;       /* the file as read (measured into PCR 9), pool memory */
    UINTN size;
};

/* The SecureBoot variable (UEFI 2.9 3.3: 1 = the firmware enforces). */
bool sb_enabled(void);
/* Whether shim's SHIM_LOCK protocol is installed (minihv started by shim). */
bool sb_shim_present(void);
/* Under Secure Boot, refuses a config with a weakening key (one line) unless
 * built with SB_ALLOW_WEAK=1. Returns true if the boot may go on. */
bool sb_config_allowed(const struct minihv_config *cfg, bool secure_boot);
/* Reads the guest file, has shim verify it if shim started minihv, and
 * LoadImages it from those bytes (the firmware checks db/dbx under Secure
 * Boot). On a refusal: one line naming the file and why, and an error. */
EFI_STATUS sb_load_guest(EFI_HANDLE image, EFI_LOADED_IMAGE *li, const char *guest, struct sb_guest *out);

#endif
