/* The identity maps' memory types, one rule for the guest's map (EPT/NPT,
 * hv/ept.c) and the core's own (host_map_retype): the type the MTRRs give
 * at launch, never WB over MMIO or a hole (what the firmware's memory map
 * does not call RAM or Reserved), UC where the MTRRs' types change inside
 * a 4 KiB page cannot happen. Pure C over a pt_ctx, a boot_info and an
 * MTRR state: the host tests build it. */
#ifndef MINIHV_HV_TYPED_MAP_H
#define MINIHV_HV_TYPED_MAP_H

#include <stdbool.h>
#include <minihv/boot_info.h>
#include "hv/mtrr.h"
#include "paging/paging.h"

/* Level 3 = 1 GiB, 2 = 2 MiB, 1 = 4 KiB: maps [base, base + size) of `pt`
 * identity, RWX, with one leaf when the type is the same over it, else
 * splits. guest: the core's block is left out (the guest's map); else it
 * is mapped as any memory (the core's own map). 0 or a PT_ error. */
int typed_map_block(struct pt_ctx *pt, const struct minihv_boot_info *bi, const struct mtrr_state *mtrr,
                    uint64_t base, uint64_t size, int level, bool guest);

#endif
