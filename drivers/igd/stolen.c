/* GGC/BDSM decode, following arch/x86/kernel/early-quirks.c
 * (gen6/gen8/chv/gen9_stolen_size, gen11_stolen_base) and i915
 * intel_gtt / i915_gem_stolen.c for the GTT size (GGMS). */
#include <minihv/libc.h>
#include <drivers/igd/stolen.h>

#define MiB (1024ull * 1024ull)
#define BDSM_BASE_MASK 0xFFFFFFFFFFF00000ull   /* bits 63:20 (31:20 before gen11) */

int igd_stolen_decode(uint16_t device_id, uint16_t ggc, uint64_t bdsm,
                      struct igd_stolen *s, struct field_error *err)
{
    memset(s, 0, sizeof(*s));
    const struct igd_device *dev = igd_device_lookup(device_id);
    if (!dev)
        return field_fail(err, IGD_ENOENT, "device_id", 0x02, "not an IGD in the device table");
    if (dev->gen < 6)
        return field_fail(err, IGD_ENOENT, "device_id", 0x02, "before Sandy Bridge (gen 5): GGC not decoded");
    s->gen = dev->gen;
    s->ggc = ggc;
    s->ggc_locked = ggc & 1;
    s->vga_disabled = (ggc >> 1) & 1;

    if (dev->gen < 8 || dev->chv) {
        /* SNB_GMCH_GMS_SHIFT 3, mask 0x1f; GGMS at bits 9:8 */
        s->gms = (ggc >> 3) & 0x1F;
        uint32_t ggms = (ggc >> 8) & 3;
        if (dev->chv) {
            /* chv_stolen_size: 0x00-0x10 x 32 MiB, 0x11-0x16 4 MiB steps from
             * 8 MiB, 0x17-0x1d 4 MiB steps from 36 MiB. */
            if (s->gms < 0x11)
                s->size = s->gms * 32 * MiB;
            else if (s->gms < 0x17)
                s->size = (s->gms - 0x11) * 4 * MiB + 8 * MiB;
            else if (s->gms <= 0x1D)
                s->size = (s->gms - 0x17) * 4 * MiB + 36 * MiB;
            else
                return field_fail(err, IGD_EINVAL, "ggc.gms", IGD_PCI_GGC, "reserved GMS value (CHV)");
            s->gtt_size = ggms ? (uint32_t)(1u << (20 + ggms)) : 0;  /* chv_get_total_gtt_size */
        } else {
            s->size = s->gms * 32 * MiB;                  /* gen6_stolen_size */
            s->gtt_size = ggms * (uint32_t)MiB;           /* gen6_get_total_gtt_size */
        }
    } else {
        /* BDW_GMCH_GMS_SHIFT 8, mask 0xff; GGMS at bits 7:6 */
        s->gms = (uint8_t)(ggc >> 8);
        uint32_t ggms = (ggc >> 6) & 3;
        s->gtt_size = ggms ? (uint32_t)((1u << ggms) * MiB) : 0;  /* gen8_get_total_gtt_size */
        if (dev->gen == 8 || s->gms < 0xF0)
            s->size = s->gms * 32 * MiB;                  /* gen8/gen9_stolen_size */
        else if (s->gms <= 0xFE)
            s->size = (s->gms - 0xF0 + 1) * 4 * MiB;      /* gen9+: 4 MiB steps from 4 MiB */
        else
            return field_fail(err, IGD_EINVAL, "ggc.gms", IGD_PCI_GGC + 1, "reserved GMS value 0xFF");
    }

    s->bdsm = dev->gen >= 11 ? bdsm : (uint32_t)bdsm;
    s->bdsm_locked = s->bdsm & 1;
    s->base = s->bdsm & BDSM_BASE_MASK;
    uint32_t bdsm_off = dev->gen >= 11 ? IGD_PCI_BDSM_GEN11 : IGD_PCI_BDSM;
    if (s->size && s->base == 0)
        return field_fail(err, IGD_EINVAL, "bdsm", bdsm_off, "stolen memory enabled but base is 0");
    uint64_t limit = dev->gen >= 11 ? UINT64_MAX : (uint64_t)UINT32_MAX + 1;
    if (s->size > limit - s->base)
        return field_fail(err, IGD_ERANGE, "bdsm", bdsm_off, "base + size past the addressable range");
    return IGD_OK;
}

int igd_stolen_from_config(const uint8_t *cfg, size_t len, struct igd_stolen *s,
                           struct field_error *err)
{
    if (!cfg || len < 256)
        return field_fail(err, IGD_ERANGE, "config", 0, "config space shorter than 256 bytes");
    if (le16(cfg) != 0x8086)
        return field_fail(err, IGD_EINVAL, "vendor_id", 0, "not Intel (0x8086)");
    uint16_t device_id = le16(cfg + 2);
    const struct igd_device *dev = igd_device_lookup(device_id);
    if (!dev)
        return field_fail(err, IGD_ENOENT, "device_id", 0x02, "not an IGD in the device table");
    uint64_t bdsm = dev->gen >= 11 ? le64(cfg + IGD_PCI_BDSM_GEN11) : le32(cfg + IGD_PCI_BDSM);
    return igd_stolen_decode(device_id, le16(cfg + IGD_PCI_GGC), bdsm, s, err);
}
