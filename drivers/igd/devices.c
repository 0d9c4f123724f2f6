/* IGD device IDs by generation, a few per platform (from i915_pciids.h /
 * early-quirks.c's intel_early_ids). What the stolen-memory decode needs
 * (which GGC encoding and where BDSM is) and which BAR ranges are judged
 * (bar_judged.h). */
#include <minihv/libc.h>
#include <drivers/igd/bar_judged.h>
#include <drivers/igd/stolen.h>

const struct igd_device igd_devices[] = {
    /* gen5: Ironlake (INTEL_ILK_IDS); stolen memory not decoded (the
     * GMCH encoding before SNB), listed for bar_judged.h's generation */
    { 0x0042, 5, false, "ILK" }, { 0x0046, 5, false, "ILK" },
    /* gen6: Sandy Bridge */
    { 0x0102, 6, false, "SNB" }, { 0x0106, 6, false, "SNB" }, { 0x010A, 6, false, "SNB" },
    { 0x0112, 6, false, "SNB" }, { 0x0116, 6, false, "SNB" }, { 0x0122, 6, false, "SNB" },
    { 0x0126, 6, false, "SNB" },
    /* gen7: Ivy Bridge, Haswell, Valleyview (gen6 GGC encoding) */
    { 0x0152, 7, false, "IVB" }, { 0x0156, 7, false, "IVB" }, { 0x015A, 7, false, "IVB" },
    { 0x0162, 7, false, "IVB" }, { 0x0166, 7, false, "IVB" }, { 0x016A, 7, false, "IVB" },
    { 0x0402, 7, false, "HSW" }, { 0x0412, 7, false, "HSW" }, { 0x0416, 7, false, "HSW" },
    { 0x041E, 7, false, "HSW" }, { 0x0A16, 7, false, "HSW" }, { 0x0A26, 7, false, "HSW" },
    { 0x0A2E, 7, false, "HSW" }, { 0x0D22, 7, false, "HSW" }, { 0x0D26, 7, false, "HSW" },
    { 0x0F30, 7, false, "VLV" }, { 0x0F31, 7, false, "VLV" },
    /* gen8: Broadwell, Cherryview */
    { 0x1606, 8, false, "BDW" }, { 0x1612, 8, false, "BDW" }, { 0x1616, 8, false, "BDW" },
    { 0x161E, 8, false, "BDW" }, { 0x1626, 8, false, "BDW" }, { 0x162B, 8, false, "BDW" },
    { 0x22B0, 8, true, "CHV" }, { 0x22B1, 8, true, "CHV" },
    /* gen9: Skylake, Broxton, Kaby Lake, Gemini Lake, Coffee/Whiskey/Comet Lake */
    { 0x1902, 9, false, "SKL" }, { 0x1912, 9, false, "SKL" }, { 0x1916, 9, false, "SKL" },
    { 0x191B, 9, false, "SKL" }, { 0x191E, 9, false, "SKL" }, { 0x1926, 9, false, "SKL" },
    { 0x5A84, 9, false, "BXT" }, { 0x5A85, 9, false, "BXT" },
    { 0x5912, 9, false, "KBL" }, { 0x5916, 9, false, "KBL" }, { 0x5917, 9, false, "KBL" },
    { 0x591B, 9, false, "KBL" },
    { 0x3184, 9, false, "GLK" }, { 0x3185, 9, false, "GLK" },
    { 0x3E91, 9, false, "CFL" }, { 0x3E92, 9, false, "CFL" }, { 0x3E98, 9, false, "CFL" },
    { 0x3E9B, 9, false, "CFL" }, { 0x3EA0, 9, false, "WHL" },
    { 0x9B41, 9, false, "CML" }, { 0x9BC5, 9, false, "CML" }, { 0x9BC8, 9, false, "CML" },
    { 0x9BCA, 9, false, "CML" },
    /* gen10: Cannon Lake */
    { 0x5A52, 10, false, "CNL" },
    /* gen11: Ice Lake, Elkhart Lake, Jasper Lake (64-bit BDSM at 0xC0) */
    { 0x8A52, 11, false, "ICL" }, { 0x8A56, 11, false, "ICL" }, { 0x8A5A, 11, false, "ICL" },
    { 0x8A5C, 11, false, "ICL" },
    { 0x4551, 11, false, "EHL" }, { 0x4571, 11, false, "EHL" },
    { 0x4E55, 11, false, "JSL" }, { 0x4E61, 11, false, "JSL" }, { 0x4E71, 11, false, "JSL" },
    /* gen12 / Xe: Tiger Lake, Rocket Lake, Alder Lake, Raptor Lake, Meteor Lake */
    { 0x9A40, 12, false, "TGL" }, { 0x9A49, 12, false, "TGL" }, { 0x9A60, 12, false, "TGL" },
    { 0x9A68, 12, false, "TGL" }, { 0x9A78, 12, false, "TGL" },
    { 0x4C8A, 12, false, "RKL" }, { 0x4C8B, 12, false, "RKL" },
    { 0x4680, 12, false, "ADL-S" }, { 0x4690, 12, false, "ADL-S" }, { 0x4692, 12, false, "ADL-S" },
    { 0x46A0, 12, false, "ADL-P" }, { 0x46A6, 12, false, "ADL-P" }, { 0x46A8, 12, false, "ADL-P" },
    { 0x46D0, 12, false, "ADL-N" }, { 0x46D1, 12, false, "ADL-N" },
    { 0xA780, 12, false, "RPL-S" }, { 0xA720, 12, false, "RPL-P" }, { 0xA7A0, 12, false, "RPL-P" },
    { 0x7D40, 12, false, "MTL" }, { 0x7D45, 12, false, "MTL" }, { 0x7D55, 12, false, "MTL" },
    { 0x7DD5, 12, false, "MTL" },
};

const size_t igd_ndevices = ARRAY_SIZE(igd_devices);

const struct igd_device *igd_device_lookup(uint16_t device_id)
{
    for (size_t i = 0; i < ARRAY_SIZE(igd_devices); i++)
        if (igd_devices[i].device_id == device_id)
            return &igd_devices[i];
    return NULL;
}

static const struct igd_bar_judged bar_judged[] = {
    { 0, 6, IGD_MCHBAR_MIRROR_SNB + 0x5400, 0x18, "MCHBAR mirror: GFXVTBAR, VTDPVC0BAR" },
};

unsigned igd_bar_judged_ranges(uint16_t vendor, uint16_t device_id, const struct igd_bar_judged **out,
                               unsigned max)
{
    if (vendor != 0x8086)
        return 0;
    const struct igd_device *d = igd_device_lookup(device_id);
    unsigned gen = d ? d->gen : 6;
    unsigned n = 0;
    for (size_t i = 0; i < ARRAY_SIZE(bar_judged) && n < max; i++)
        if (gen >= bar_judged[i].min_gen)
            out[n++] = &bar_judged[i];
    return n;
}
