/* Secure Boot and measured launch: the pure parts (host-tested, also
 * linked by tools/minihv-preflight). boot/secureboot.c and boot/measure.c
 * call them with what the firmware gave. */
#ifndef MINIHV_BOOT_SB_POLICY_H
#define MINIHV_BOOT_SB_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "boot/config.h"

/* hv_mem_mb outside this range is refused under Secure Boot: below, the
 * core may run out of page tables for a large machine and fail open (the
 * boot goes on unvirtualized); above, a quarter of an 8 GiB laptop is gone. */
#define SB_MIN_HV_MEM_MB 32
#define SB_MAX_HV_MEM_MB 2048

/* The PCRs minihv extends (README, "Measured launch"): as GRUB, 8 for what
 * configures the boot (its commands; here minihv.cfg and the parsed
 * policy) and 9 for the files it loads (here the guest image). */
#define SB_PCR_CONFIG 8
#define SB_PCR_FILES  9
#define SB_EV_IPL 0x0000000du /* TCG PC Client PFP 1.05, 10.4.1: EV_IPL, as GRUB's events */

/* The first config key that weakens the isolation, as "key = value: why",
 * or NULL. Under Secure Boot the loader refuses such a config unless built
 * with MINIHV_SB_ALLOW_WEAK. */
const char *sb_weakening_key(const struct minihv_config *cfg, char *buf, size_t n);

/* The policy the core will enforce, as one line (measured into PCR 8 and
 * printed in the log); returns its length, or -1 if it does not fit. */
int sb_policy_string(const struct minihv_config *cfg, char *buf, size_t n);

/* An EFI_SIGNATURE_LIST walk (UEFI 2.9 32.4.1): a db or MokList variable's
 * bytes. Returns 1 if an X.509 entry equals cert (DER), 0 if none does,
 * -1 if the lists are malformed, with err naming the field. count (if
 * non-NULL) gets the number of X.509 entries seen. */
int sb_siglist_has_cert(const uint8_t *buf, size_t len, const uint8_t *cert, size_t cert_len, unsigned *count,
                        char *err, size_t errn);

/* EFI_CERT_X509_GUID a5c059a1-94e4-4aa7-87b5-ab155c2bf072, as stored. */
extern const uint8_t sb_cert_x509_guid[16];

#endif
