/* The previous boot's log ring (issue 17): found through the UEFI variable
 * MINIHV_LOG_VAR_NAME, checked (log/ring_read.h), copied out, then saved
 * on the ESP as \EFI\minihv\last.log (older ones rotated to last.1.log ..)
 * and, when that run ended in FATAL, its last lines shown on the firmware
 * console for 5 seconds. */
#ifndef MINIHV_BOOT_LASTLOG_H
#define MINIHV_BOOT_LASTLOG_H

#include <efi.h>
#include <stdbool.h>
#include <stdint.h>

struct lastlog {
    uint64_t var_phys;        /* the variable's address; 0: none or unusable */
    uint64_t preferred_phys;  /* for log_ring_start (see lastlog_find) */
    uint64_t prev_boot_count; /* the previous ring's boot_count; 0: no valid ring */
    uint32_t flags;           /* its MINIHV_LOG_FLAG_* as found */
    char *text;               /* its lines as minihv-log prints them (pool); NULL: nothing to save */
    uint64_t text_len;
    unsigned lines;
};

/* Before the new ring of area_bytes is allocated (it may reuse the same
 * memory): reads the variable, checks the range against the memory map,
 * checks the ring, copies its lines and marks it MINIHV_LOG_FLAG_SAVED.
 * One log line. preferred_phys: the variable's address when a ring
 * survived there, else the lowest free RAM from 64 MiB that fits. */
void lastlog_find(struct lastlog *ll, uint64_t area_bytes);

/* After the new ring started at area_phys (0: none): rewrites the variable
 * when the address changed (NV writes wear the flash). */
void lastlog_remember(const struct lastlog *ll, uint64_t area_phys);

/* Saves the copied lines as \EFI\minihv\last.log on `device` (the volume
 * minihv.efi came from), keeping keep_logs files in all (0: writes
 * nothing); then, for a run that ended in FATAL, shows its last lines on
 * the console and waits 5 s. Frees the copy. */
void lastlog_save(struct lastlog *ll, EFI_HANDLE device, unsigned keep_logs);

#endif
