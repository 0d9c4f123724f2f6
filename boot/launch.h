/* Loading the core: reserved block, image copy, page tables, the call. */
#ifndef MINIHV_BOOT_LAUNCH_H
#define MINIHV_BOOT_LAUNCH_H

#include "boot/config.h"
#include "boot/passthrough.h"
#include "boot/platform.h"

/* Returns 0 when the core ran and returned success; the block stays
 * allocated (EfiReservedMemoryType) either way once the core was entered.
 * `pt` (the passthrough snapshot) goes into the boot info, its ROM into
 * the block. */
int launch_core(const struct minihv_config *cfg, const struct platform *p, const struct pt_prep *pt);

/* Re-reads the memory map and reports the descriptor holding the core's
 * block: the map the OS will get. */
void launch_report_final_memmap(void);

/* When the core runs: asks it (VMCALL MINIHV_HC_DUMP_STATS) to print its
 * exit statistics and footprint on its serial log. */
void launch_dump_stats(void);

#endif
