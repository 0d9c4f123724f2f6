/* Ranges of an IGD's BARs whose writes the hypervisor drops (docs/
 * security.md, "Relocation of the IOMMU registers"): registers the guest
 * could reach through the passthrough BAR that move what the core guards.
 * One row so far: the MCHBAR mirror. From Sandy Bridge (gen 6) on, BAR0
 * (GTTMMADR) + 0x140000 mirrors the host bridge's MCHBAR window (Linux
 * i915 intel_mchbar_regs.h, MCHBAR_MIRROR_BASE_SNB), and MCHBAR + 0x5400
 * (GFXVTBAR) and + 0x5410 (VTDPVC0BAR), 64-bit each, are the base and
 * enable of the graphics and the other VT-d unit (iommu/vtd.h); the 8
 * bytes between are EDRAMBAR on Haswell (coreboot haswell registers/
 * mchbar.h), a base the guest has no business moving either, so the row
 * is 0x5400-0x5417 whole (the MCHBAR page's own judge, vtd_mchbar_guarded,
 * passes 0x5408-0x540f). Whether
 * the mirror forwards writes is not documented (i915: "Starting from
 * Haswell, you can't write registers using the MCHBAR mirror, just
 * read"): taken as if it did, on every generation from 6. Gen 5 and
 * earlier mirror MCHBAR at 0x10000 (MCHBAR_MIRROR_BASE) and are left as
 * they are. Pure data, so that the core, preflight and the tests share it. */
#ifndef MINIHV_DRIVERS_IGD_BAR_JUDGED_H
#define MINIHV_DRIVERS_IGD_BAR_JUDGED_H

#include <drivers/igd/igd.h>

struct igd_bar_judged {
    uint8_t bar;        /* 0-5 */
    uint8_t min_gen;    /* the row applies from this generation on */
    uint32_t offset, size;
    const char *what;
};

#define IGD_MCHBAR_MIRROR_SNB 0x140000u /* i915 MCHBAR_MIRROR_BASE_SNB */
#define IGD_BAR_JUDGED_MAX    1

/* The rows that apply to vendor:device_id (an IGD's, not one forced to be
 * one): by its generation in drivers/igd's device table; a device ID the
 * table does not know is taken as gen 6 or later (every IGD since 2011
 * is; the table lists a few IDs per platform). Writes up to `max` rows
 * into out; returns how many. 0 for a vendor other than Intel. */
unsigned igd_bar_judged_ranges(uint16_t vendor, uint16_t device_id, const struct igd_bar_judged **out,
                               unsigned max);

#endif
