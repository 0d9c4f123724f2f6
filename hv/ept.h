/* The guest-physical map (EPT now, NPT later through the same builder):
 * identity over [0, phys_top), memory types from the MTRRs (never WB over
 * MMIO), the core's block left unmapped. One map, shared by every CPU. */
#ifndef MINIHV_HV_EPT_H
#define MINIHV_HV_EPT_H

#include <stdbool.h>
#include <minihv/boot_info.h>
#include "hv/mtrr.h"
#include "hv/paging.h"

/* Reads this CPU's MTRRs (SDM 11.11) into *s. */
void mtrr_read_cpu(struct mtrr_state *s);

/* Builds the map with `fmt` (pt_format_ept); 0 or -1 (out of memory). */
int ept_build(const struct minihv_boot_info *bi, const struct pt_format *fmt, bool allow_1g,
              const struct mtrr_state *mtrr);
uint64_t ept_root_pa(void);
uint64_t ept_table_bytes(void);
void ept_count_leaves(struct pt_stats *out);

#endif
