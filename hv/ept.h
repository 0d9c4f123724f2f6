/* The guest-physical map, EPT (VMX) or NPT (SVM): one builder, the entry
 * format a parameter (paging/paging.c). Identity over [0, phys_top), memory
 * types from the MTRRs (never WB over MMIO), the core's block left
 * unmapped. One map, shared by every CPU.
 *
 * Memory types. EPT leaves carry the type itself (SDM 28.3.7). An NPT leaf
 * has the host paging format, so the type is a host PAT index (PWT/PCD,
 * pt_format_npt): WB -> PAT0, WT -> PAT1, UC -> PAT3 of the PAT the
 * firmware left (the core never changes it), and the CPU combines it with
 * the real MTRRs, which stay in force for system-physical addresses under
 * NPT, and the guest's own PAT type (APM Vol. 2 15.25.8). WC and WP ranges
 * get PAT0 (WB): combined with their MTRR type that gives WC/WP. MMIO and
 * holes are never WB (UC, PAT3), whatever the guest later does to the
 * MTRRs. */
#ifndef MINIHV_HV_EPT_H
#define MINIHV_HV_EPT_H

#include <stdbool.h>
#include <minihv/boot_info.h>
#include "hv/mtrr.h"
#include "hv/special_pages.h"
#include "paging/paging.h"

/* What a backend's map needs: its entry format and 1 GiB leaves. */
struct guest_map_spec {
    const struct pt_format *fmt;
    bool allow_1g;
    const char *name; /* "EPT" or "NPT" */
};

/* Reads this CPU's MTRRs (SDM 11.11) into *s. */
void mtrr_read_cpu(struct mtrr_state *s);

/* Builds the map with `fmt` (pt_format_ept or pt_format_npt); 0 or -1
 * (out of memory). */
int ept_build(const struct minihv_boot_info *bi, const struct pt_format *fmt, bool allow_1g,
              const struct mtrr_state *mtrr);
/* Maps [gpa, gpa + size) anew with `attrs` (PT_ATTRS(perm, memtype)),
 * e.g. read-only for a page whose writes the core emulates. Before any
 * CPU runs the guest, or followed by a flush on every CPU. */
int ept_set_attrs(uint64_t gpa, uint64_t size, uint32_t attrs);
/* gpa -> hpa (a passthrough BAR where the guest put it). */
int ept_map(uint64_t gpa, uint64_t hpa, uint64_t size, uint32_t attrs);
/* Not present: every access exits (a trapped page). */
int ept_unmap(uint64_t gpa, uint64_t size);
/* Registers a special page (hv/special_pages.h) in hv_special and applies
 * it to the map when the map exists (ept_build applies those registered
 * before it, and itself adds the block and the local APIC page). At
 * global init only. 0, or -1 (logged). */
int ept_reserve(enum special_kind kind, uint64_t base, uint64_t size, enum special_map map);
/* Back to the identity map with the types ept_build gave it, except over
 * a special page: what the registry says for it. */
int ept_restore_identity(uint64_t gpa, uint64_t size);
/* After a change at run time: every CPU flushes its cached guest
 * translations (INVEPT / TLB_CONTROL) before its next entry, when it sees
 * the generation move. Callers serialize their changes. */
void ept_changed(void);
uint64_t ept_generation(void);
uint64_t ept_root_pa(void);
/* Gives the core's own identity map (boot_info.host_cr3) the guest map's
 * memory types, UC through the PAT over MMIO and holes, so that the guest's
 * MTRR writes cannot make the core's MMIO accesses cacheable. The number
 * of table pages it added, or -1 (out of memory). */
int host_map_retype(const struct minihv_boot_info *bi, const struct mtrr_state *mtrr, bool allow_1g);
uint64_t ept_table_bytes(void);
void ept_count_leaves(struct pt_stats *out);

#endif
