/* minihv-preflight's passthrough candidate, through the core's own model:
 * the snapshot the loader would take (boot/pt_snapshot.c), then
 * hv/passthrough.c's ptdev_init on a platform that maps nothing, then the
 * lines the core logs at start (ptdev_report): BAR windows, the vfio
 * regions as VFIO_DEVICE_GET_REGION_INFO gives them (sparse areas around
 * the MSI-X table), the MSI-X table. */
#include <stdio.h>
#include <string.h>

#include <minihv/libc.h>
#include "boot/pt_snapshot.h"
#include "hv/passthrough.h"
#include "tools/preflight_vfio.h"

static struct minihv_passthrough snap;
static struct pt_device model;

static int no_map(void *o, uint64_t gpa, uint64_t hpa, uint64_t size, uint32_t attrs)
{
    (void)o, (void)gpa, (void)hpa, (void)size, (void)attrs;
    return 0;
}

static int no_trap(void *o, uint64_t gpa, uint64_t size)
{
    (void)o, (void)gpa, (void)size;
    return 0;
}

/* The model reads the hardware's config only for other functions and
 * BARs only when the guest touches them: never here. */
static uint32_t cfg_none(void *o, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, unsigned size)
{
    (void)o, (void)bus, (void)dev, (void)fn, (void)off, (void)size;
    return 0xffffffffu;
}

static uint64_t mmio_none(void *o, uint64_t hpa, unsigned size)
{
    (void)o, (void)hpa, (void)size;
    return ~0ull;
}

static const void *phys_none(void *o, uint64_t pa)
{
    (void)o, (void)pa;
    return NULL;
}

struct say_ctx {
    preflight_line_fn line;
    preflight_line_fn diag;
};

static void model_log(void *opaque, const char *msg)
{
    ((struct say_ctx *)opaque)->diag("%s", msg);
}

static void model_line(void *opaque, const char *msg)
{
    ((struct say_ctx *)opaque)->line("%s", msg);
}

int preflight_vfio_report(const struct pci_dev_info *d, const uint8_t *cfg, size_t cfg_len, uint32_t flags,
                          const struct acpi_mcfg_segment *mcfg, unsigned mcfg_count, preflight_line_fn line,
                          preflight_line_fn diag)
{
    memset(&snap, 0, sizeof(snap));
    /* The loader reads 4 KiB through ECAM, else 256 bytes (CF8/CFC). */
    size_t want = cfg_len >= MINIHV_PT_CFG_MAX ? MINIHV_PT_CFG_MAX : 256;
    if (cfg_len < 256) {
        diag("passthrough: %02x:%02x.%x config: %zu bytes (run as root): not modelled", d->bus, d->dev, d->fn,
             cfg_len);
        return -1;
    }
    pt_fill_device(&snap, d, 0, flags);
    memcpy(snap.cfg, cfg, want);
    snap.cfg_len = (uint32_t)want;
    pt_find_ecam(&snap, mcfg, mcfg_count, 0, d->bus);
    struct say_ctx ctx = { line, diag };
    struct pt_platform hw = {
        .map = no_map, .trap = no_trap, .identity = no_trap, .cfg_read = cfg_none, .mmio_read = mmio_none,
        .phys_ptr = phys_none, .log = model_log, .opaque = &ctx,
    };
    if (ptdev_init(&model, &snap, &hw, 0, 0) < 0)
        return -1;
    ptdev_report(&model, model_line, &ctx);
    return 0;
}

unsigned preflight_vfio_regions(void)
{
    return model.present ? model.vfio.num_regions : 0;
}

int preflight_rom_report(const struct pci_dev_info *d, bool igd, const uint8_t *shadow, size_t shadow_len,
                         const uint8_t *rom_bar, size_t rom_bar_len, preflight_line_fn line, preflight_line_fn diag)
{
    struct igd_rom_candidate cand[IGD_ROM_SRC_COUNT] = { { NULL, 0 } };
    if (igd && shadow)
        cand[IGD_ROM_SRC_SHADOW] = (struct igd_rom_candidate){ shadow, shadow_len };
    if (rom_bar)
        cand[IGD_ROM_SRC_PCIIO] = (struct igd_rom_candidate){ rom_bar, rom_bar_len };
    static struct pt_rom_pick pick;
    int rc = pt_rom_pick(cand, igd, d->vendor, d->device, d->rom_size, &pick);
    /* The loader's lines (boot/passthrough.c choose_rom); its PciIo
     * RomImage is the ROM BAR's content, which Linux gives as sysfs `rom`. */
    for (int s = 0; s < IGD_ROM_SRC_COUNT; s++)
        if (cand[s].buf && (rc || (int)pick.source - 1 > s) && pick.errs[s].field)
            diag("passthrough: ROM from %s rejected: %s at 0x%x: %s", s == IGD_ROM_SRC_PCIIO ? "sysfs rom" :
                 pt_rom_source_name((uint32_t)s + 1), pick.errs[s].field, pick.errs[s].offset, pick.errs[s].what);
    if (rc) {
        line("passthrough: ROM none (%ssysfs rom: %s)", igd ? "shadow: no usable image, " : "",
             rom_bar ? "rejected" : "none or unreadable");
        return -1;
    }
    char kinds[64], region[32];
    pt_rom_kinds(&pick.info, kinds, sizeof(kinds));
    pt_size_str(pick.region_size, region, sizeof(region));
    line("passthrough: ROM %u bytes from %s (%s), region %s", pick.len,
         pick.source == MINIHV_PT_ROM_PCIIO ? "sysfs rom (PciIo at boot)" : pt_rom_source_name(pick.source), kinds,
         region);
    return 0;
}
