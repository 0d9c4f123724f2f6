/* minihv.cfg: `key = value` lines, `#` comments. Pure C (host-tested). */
#ifndef MINIHV_BOOT_CONFIG_H
#define MINIHV_BOOT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_PATH 200
/* The guest's command line: a Linux one (initrd=, root=, console=, ...)
 * passes 200 characters easily; x86 Linux takes up to 2048. */
#define CONFIG_MAX_ARGS 1024
/* A line: the longest value (guest_args) behind its key and spaces. */
#define CONFIG_MAX_LINE (CONFIG_MAX_ARGS + 32)

enum passthrough_kind { PASSTHROUGH_NONE, PASSTHROUGH_IGD, PASSTHROUGH_BDF };
/* IOMMU_AUTO_REQUIRED is no config value: boot/main.c turns auto into it
 * under Secure Boot (no fallback to none, include/minihv/iommu.h). */
enum iommu_mode { IOMMU_AUTO, IOMMU_VTD, IOMMU_AMDVI, IOMMU_NONE, IOMMU_AUTO_REQUIRED };
/* Where the core guards other functions' config registers (PMBASE,
 * PCIEXBAR, the IOMMU's base; docs/security.md "Relocation"): AUTO only
 * with a passthrough device (CF8/CFC and ECAM are trapped then anyway),
 * ON always: CONFIG_DATA exits even without one (issue 15's cost, ~25,000
 * exits a Linux boot). */
enum config_guard_mode { CONFIG_GUARD_AUTO, CONFIG_GUARD_ON };

struct minihv_config {
    enum passthrough_kind passthrough;
    uint16_t pt_segment;
    uint8_t pt_bus, pt_dev, pt_fn;
    char guest[CONFIG_MAX_PATH]; /* empty: return to the firmware */
    char guest_args[CONFIG_MAX_ARGS]; /* the guest's load options (its command line) */
    uint16_t serial_port;        /* 0: off */
    uint32_t hv_mem_mb;
    enum iommu_mode iommu;
    enum config_guard_mode config_guard;
    bool igd_force;              /* TEST ONLY: IGD personality on a non-IGD device */
    char vbt[CONFIG_MAX_PATH];   /* VBT file on the ESP overriding the host's; empty: none */
    char rom[CONFIG_MAX_PATH];   /* ROM image on the ESP, the last ROM source; empty: none */
    uint32_t log_kb;             /* the log ring's size in KiB (issue 17): a power of two */
    uint32_t keep_logs;          /* saved logs kept on the ESP (last.log, last.1.log, ...) */
    /* TEST ONLY, a key only a test build (HV_TEST_HOOKS=1, MINIHV_TEST_HOOKS)
     * knows: the plan's CPU at this index (an AP, 1..) is not started, so
     * it stays the firmware's (check-attack's ap-not-entered). 0: none. */
    uint32_t test_skip_ap;
};

/* The log ring (issue 17). Default: a Linux boot logs 75-130 lines of
 * 72-87 characters on QEMU (check-linux, check-svm: 6-11 KiB of text,
 * 8-14 KiB as records of 24 bytes + text); a laptop with 16 CPUs and 50
 * PCI functions about 400 lines, ~45 KiB. A day of refused actions adds
 * at most 1 + log2(count / 1024) lines per kind (hv/refuse.h: the first,
 * then 1024, 2048, ...): under 32 per kind even at 2^40, 24 kinds,
 * ~750 lines of ~150 bytes, ~110 KiB. 256 KiB holds both. */
#define CONFIG_DEFAULT_LOG_KB 256
#define CONFIG_MIN_LOG_KB     16
#define CONFIG_MAX_LOG_KB     65536
#define CONFIG_DEFAULT_KEEP_LOGS 5
#define CONFIG_MAX_KEEP_LOGS  99

struct config_error {
    unsigned line; /* 1-based; 0 when not tied to a line */
    char msg[160];
};

void config_defaults(struct minihv_config *cfg);
/* Parses a whole file. On error returns -1 with err filled, and cfg is left
 * with the defaults (never half-applied). */
int config_parse(const char *text, size_t len, struct minihv_config *cfg, struct config_error *err);

const char *config_iommu_name(enum iommu_mode m);
const char *config_guard_name(enum config_guard_mode m);

#endif
