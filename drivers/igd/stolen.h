/* Graphics stolen memory ("Data Stolen Memory", DSM) of the IGD: GGC
 * (config 0x50, u16) gives its size, BDSM its base (config 0x5C, u32, before
 * gen11; 64-bit at 0xC0 from gen11). Decode per i915 gem/i915_gem_stolen.c
 * and intel-gtt / early-quirks.c. The range stays identity-mapped and
 * reserved for the guest; this file only computes it. */
#ifndef MINIHV_DRIVERS_IGD_STOLEN_H
#define MINIHV_DRIVERS_IGD_STOLEN_H

#include <drivers/igd/igd.h>

#define IGD_PCI_GGC        0x50u
#define IGD_PCI_BDSM       0x5Cu
#define IGD_PCI_BDSM_GEN11 0xC0u
#define IGD_PCI_ASLS       0xFCu

struct igd_device {
    uint16_t device_id;
    uint8_t gen;              /* 6, 7, 8, 9, 10, 11, 12 (12 = Xe: TGL..MTL) */
    bool chv;                 /* Cherryview: its own GMS encoding */
    const char *platform;     /* "SNB", "HSW", ... */
};

/* The device-ID table (drivers/igd/devices.c), NULL when unknown. */
const struct igd_device *igd_device_lookup(uint16_t device_id);
extern const struct igd_device igd_devices[];
extern const size_t igd_ndevices;

struct igd_stolen {
    uint8_t gen;
    uint16_t ggc;
    uint8_t gms;              /* the GGC field that encodes the size */
    uint64_t size;            /* bytes */
    uint32_t gtt_size;        /* GGMS: bytes of GTT (GSM) */
    bool ggc_locked;          /* GGC bit 0 */
    bool vga_disabled;        /* GGC bit 1, IVD */
    uint64_t bdsm;            /* register as read */
    uint64_t base;            /* 1 MiB aligned base */
    bool bdsm_locked;         /* BDSM bit 0 */
};

/* Decodes GGC and BDSM for device_id. Fails on an unknown device, a reserved
 * GMS value, or base + size past 4 GiB (gen<11) or 2^64. */
int igd_stolen_decode(uint16_t device_id, uint16_t ggc, uint64_t bdsm,
                      struct igd_stolen *out, struct field_error *err);

/* Same from the IGD's config space (at least 256 bytes, as read from the
 * host): device ID @2, GGC @0x50, BDSM @0x5C or @0xC0 by generation. */
int igd_stolen_from_config(const uint8_t *cfg, size_t len, struct igd_stolen *out,
                           struct field_error *err);

#endif
