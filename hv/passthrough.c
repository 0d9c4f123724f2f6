/* See passthrough.h. */
#include <minihv/format.h>
#include <minihv/libc.h>
#include <minihv/pci.h>
#include <minihv/x86.h>
#include <drivers/igd/bar_judged.h>
#include <drivers/igd/regions.h>
#include "hv/passthrough.h"
#include "hv/passthrough_map.h"
#include "paging/paging.h"

#define CONF1_ENABLE    0x80000000u
#define CONF1_ADDR_PORT 0xcf8
#define CONF1_DATA_PORT 0xcfc
#define IGD_ASLS        0xfc /* ASL Storage: the OpRegion's physical address */

void pt_say(struct pt_device *d, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (d->hw.log)
        d->hw.log(d->hw.opaque, msg);
}

void pt_say_limited(struct pt_device *d, enum pt_say_kind kind, const char *fmt, ...)
{
    if ((unsigned)kind >= PT_SAY_KINDS || d->said[kind] >= PT_SAY_LIMIT)
        return;
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (++d->said[kind] == PT_SAY_LIMIT && n >= 0 && (unsigned)n < sizeof(msg))
        fmt_snprintf(msg + n, sizeof(msg) - (unsigned)n, " (later ones only counted)");
    if (d->hw.log)
        d->hw.log(d->hw.opaque, msg);
}

/* ---- the region ops: BARs to the host BAR, the ROM to the core's copy ---- */

static bool mmio_size_ok(size_t len)
{
    return len == 1 || len == 2 || len == 4 || len == 8;
}

static int bar_read(void *opaque, uint64_t off, void *buf, size_t len)
{
    struct pt_bar_ctx *c = opaque;
    if (!mmio_size_ok(len))
        return VFIO_EINVAL;
    uint64_t v = c->d->hw.mmio_read(c->d->hw.opaque, c->d->host_bar[c->bar] + off, (unsigned)len);
    memcpy(buf, &v, len);
    return 0;
}

static int bar_write(void *opaque, uint64_t off, const void *buf, size_t len)
{
    struct pt_bar_ctx *c = opaque;
    if (!mmio_size_ok(len))
        return VFIO_EINVAL;
    uint64_t v = 0;
    memcpy(&v, buf, len);
    c->d->hw.mmio_write(c->d->hw.opaque, c->d->host_bar[c->bar] + off, (unsigned)len, v);
    return 0;
}

static const struct vfio_region_ops bar_ops = { bar_read, bar_write };

static int rom_read(void *opaque, uint64_t off, void *buf, size_t len)
{
    struct pt_device *d = opaque;
    const uint8_t *rom = d->hw.phys_ptr(d->hw.opaque, d->win[VFIO_CONFIG_ROM_BAR].host);
    if (!rom)
        return VFIO_EIO;
    memcpy(buf, rom + off, len); /* region_rw checked off + len against the size */
    return 0;
}

static const struct vfio_region_ops rom_ops = { rom_read, NULL };

/* ---- MSI and MSI-X on the hardware ---- */

static uint32_t dev_cfg_read(struct pt_device *d, uint16_t off, unsigned size)
{
    return d->hw.cfg_read(d->hw.opaque, d->bus, d->dev, d->fn, off, size);
}

static void dev_cfg_write(struct pt_device *d, uint16_t off, unsigned size, uint32_t v)
{
    d->hw.cfg_write(d->hw.opaque, d->bus, d->dev, d->fn, off, size, v);
}

static int phys_read(void *opaque, uint16_t off, void *buf, size_t len)
{
    struct pt_device *d = opaque;
    if (len != 1 && len != 2 && len != 4)
        return -1;
    uint32_t v = dev_cfg_read(d, off, (unsigned)len);
    memcpy(buf, &v, len);
    return 0;
}

static int phys_write(void *opaque, uint16_t off, const void *buf, size_t len)
{
    struct pt_device *d = opaque;
    if (len != 1 && len != 2 && len != 4)
        return -1;
    uint32_t v = 0;
    memcpy(&v, buf, len);
    dev_cfg_write(d, off, (unsigned)len, v);
    return 0;
}

#define MSI_FLAGS_ENABLE 0x0001u
#define MSI_FLAGS_QSIZE  0x0070u /* multiple message enable */
#define MSI_FLAGS_64BIT  0x0080u
#define MSI_FLAGS_MASKBIT 0x0100u

/* The guest's MSI capability, validated by vfio/config.c, onto the device
 * (PCI 3.0 6.8.1): disabled while address and data change. */
static void msi_update(void *opaque, const struct vfio_msi_state *msi)
{
    struct pt_device *d = opaque;
    uint16_t pos = d->vfio.config.msi_pos;
    uint16_t flags = (uint16_t)dev_cfg_read(d, pos + 2, 2);
    bool is64 = flags & MSI_FLAGS_64BIT;
    dev_cfg_write(d, pos + 2, 2, flags & ~MSI_FLAGS_ENABLE);
    if (!msi->enabled)
        return;
    dev_cfg_write(d, pos + 4, 4, (uint32_t)msi->addr);
    if (is64)
        dev_cfg_write(d, pos + 8, 4, (uint32_t)(msi->addr >> 32));
    dev_cfg_write(d, pos + (is64 ? 12 : 8), 2, msi->data);
    if ((flags & MSI_FLAGS_MASKBIT) && msi->maskable)
        dev_cfg_write(d, pos + (is64 ? 16 : 12), 4, msi->mask);
    unsigned mme = 0;
    while ((1u << mme) < msi->vectors && mme < 5)
        mme++;
    flags = (uint16_t)((flags & ~MSI_FLAGS_QSIZE) | (mme << 4) | MSI_FLAGS_ENABLE);
    dev_cfg_write(d, pos + 2, 2, flags);
}

static uint64_t msix_entry_hpa(const struct pt_device *d, uint32_t index)
{
    const struct vfio_msix *m = &d->vfio.msix;
    return d->host_bar[m->table_bar] + m->table_offset + (uint64_t)index * VFIO_MSIX_ENTRY_SIZE;
}

/* An entry onto the physical table (PCI 3.0 6.8.2.6-9): masked while its
 * address and data change, unmasked last. */
static void msix_write_entry(void *opaque, uint32_t index, uint64_t addr, uint32_t data, bool masked)
{
    struct pt_device *d = opaque;
    uint64_t e = msix_entry_hpa(d, index);
    uint32_t ctrl = (uint32_t)d->hw.mmio_read(d->hw.opaque, e + 12, 4);
    d->hw.mmio_write(d->hw.opaque, e + 12, 4, ctrl | VFIO_MSIX_CTRL_MASKBIT);
    if (masked)
        return;
    d->hw.mmio_write(d->hw.opaque, e, 4, (uint32_t)addr);
    d->hw.mmio_write(d->hw.opaque, e + 4, 4, (uint32_t)(addr >> 32));
    d->hw.mmio_write(d->hw.opaque, e + 8, 4, data);
    d->hw.mmio_write(d->hw.opaque, e + 12, 4, ctrl & ~VFIO_MSIX_CTRL_MASKBIT);
}

static int msix_read_pba(void *opaque, uint64_t off, void *buf, size_t len)
{
    struct pt_device *d = opaque;
    const struct vfio_msix *m = &d->vfio.msix;
    if (len != 4 && len != 8)
        return -1;
    uint64_t v = d->hw.mmio_read(d->hw.opaque, d->host_bar[m->pba_bar] + m->pba_offset + off, (unsigned)len);
    memcpy(buf, &v, len);
    return 0;
}

static void msix_set_control(void *opaque, bool enable, bool function_mask)
{
    struct pt_device *d = opaque;
    uint16_t pos = (uint16_t)(d->vfio.config.msix_pos + PCI_MSIX_FLAGS);
    uint16_t f = (uint16_t)dev_cfg_read(d, pos, 2);
    f = (uint16_t)(f & ~(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL));
    f |= (enable ? PCI_MSIX_FLAGS_ENABLE : 0) | (function_mask ? PCI_MSIX_FLAGS_MASKALL : 0);
    dev_cfg_write(d, pos, 2, f);
}

/* Every physical MSI-X entry masked before the guest runs (review R,
 * finding 11): the firmware or a previous OS may have left one unmasked
 * with any address and data, which the device would send as soon as the
 * guest sets MSI-X Enable, before the guest writes that entry through the
 * trapped table. Address and data stay; only msix_write_entry unmasks an
 * entry, after writing the validated ones (vfio/msix.c sync_entry). The
 * mask bit is bit 0 of Vector Control (PCI 3.0 6.8.2.9); the other bits
 * are kept. The table's BAR must decode for it: Memory Space (PCI 3.0
 * 6.2.2) is turned on meanwhile if the firmware left it off. */
static void msix_mask_physical(struct pt_device *d)
{
    const struct vfio_msix *m = &d->vfio.msix;
    if (!m->present || !d->hw.mmio_write || !d->hw.cfg_write)
        return; /* a platform that never writes the hardware (minihv-preflight's model) */
    uint64_t first = msix_entry_hpa(d, 0), end = msix_entry_hpa(d, m->entries);
    if (!d->host_bar[m->table_bar] || (d->hw.host_top && end > d->hw.host_top)) {
        pt_say(d, "passthrough: MSI-X table at 0x%lx (BAR%u) out of the core's reach: its physical entries NOT masked",
               first, m->table_bar);
        return;
    }
    uint16_t cmd = (uint16_t)dev_cfg_read(d, PCI_COMMAND, 2);
    if (!(cmd & PCI_COMMAND_MEMORY))
        dev_cfg_write(d, PCI_COMMAND, 2, cmd | PCI_COMMAND_MEMORY);
    unsigned unmasked = 0;
    for (uint32_t i = 0; i < m->entries; i++) {
        uint64_t ctrl_pa = msix_entry_hpa(d, i) + 12;
        uint32_t ctrl = (uint32_t)d->hw.mmio_read(d->hw.opaque, ctrl_pa, 4);
        if (ctrl & VFIO_MSIX_CTRL_MASKBIT)
            continue;
        d->hw.mmio_write(d->hw.opaque, ctrl_pa, 4, ctrl | VFIO_MSIX_CTRL_MASKBIT);
        unmasked++;
    }
    if (!(cmd & PCI_COMMAND_MEMORY))
        dev_cfg_write(d, PCI_COMMAND, 2, cmd);
    pt_say(d, "passthrough: MSI-X: %u of %u physical entries were unmasked before the core: all masked until the "
           "guest programs them", unmasked, m->entries);
}

static const struct vfio_config_ops config_ops = { phys_read, phys_write, pt_bar_remap, msi_update };
static const struct vfio_msix_ops msix_ops = { msix_write_entry, msix_read_pba, msix_set_control };

/* ---- start ---- */

uint64_t ptdev_ecam_page(const struct pt_device *d, uint8_t bus, uint8_t dev, uint8_t fn)
{
    if (!d->ecam_base || bus < d->ecam_bus_start || bus > d->ecam_bus_end || dev > 31 || fn > 7)
        return 0;
    return d->ecam_base + ((uint64_t)(bus - d->ecam_bus_start) << 20) + ((uint64_t)dev << 15) +
           ((uint64_t)fn << 12);
}

/* Config space through the model from now on: the snapshot's ECAM window
 * (0: CF8/CFC only). */
static void ecam_from_snapshot(struct pt_device *d, const struct minihv_passthrough *s)
{
    d->ecam_base = s->ecam_base;
    d->ecam_bus_start = s->ecam_bus_start;
    d->ecam_bus_end = s->ecam_bus_end;
    d->config_trapped = true;
}

static int check_snapshot(struct pt_device *d, const struct minihv_passthrough *s)
{
    if (s->cfg_len != 256 && s->cfg_len != MINIHV_PT_CFG_MAX) {
        pt_say(d, "passthrough: snapshot cfg_len %u (want 256 or 4096): device not passed through", s->cfg_len);
        return -1;
    }
    if (s->dev > 31 || s->fn > 7) {
        pt_say(d, "passthrough: snapshot device %u function %u out of range", s->dev, s->fn);
        return -1;
    }
    if (s->rom_phys && (s->rom_region_size < 2048 || (s->rom_region_size & (s->rom_region_size - 1)) ||
                        s->rom_len > s->rom_region_size || !d->hw.phys_ptr(d->hw.opaque, s->rom_phys))) {
        pt_say(d, "passthrough: snapshot rom_region_size 0x%lx (rom_len %u): not a ROM BAR size; ROM not presented",
            s->rom_region_size, s->rom_len);
        return 1;
    }
    return 0;
}

static void add_igd(struct pt_device *d, const struct minihv_passthrough *s)
{
    if (s->opregion_phys) {
        /* ASLS: the guest copy's address; guest writes stay virtual. */
        if (vfio_config_add_vreg(&d->vfio.config, IGD_ASLS, 4, (uint32_t)s->opregion_phys, 0xffffffffu, NULL, NULL))
            pt_say(d, "passthrough: IGD ASLS (0xfc) cannot be virtualized: the guest reads the device's");
        const void *op = s->opregion_len ? d->hw.phys_ptr(d->hw.opaque, s->opregion_phys) : NULL;
        struct igd_regions r = {
            { op, s->opregion_len },
            { s->host_bridge.cfg, s->host_bridge.present ? sizeof(s->host_bridge.cfg) : 0 },
            { s->lpc_bridge.cfg, s->lpc_bridge.present ? sizeof(s->lpc_bridge.cfg) : 0 },
        };
        int idx = op ? igd_add_vfio_regions(&d->vfio, &r) : -1;
        if (idx < 0)
            pt_say(d, "passthrough: IGD vfio regions not registered (%d): OpRegion %u bytes, bridges %u/%u", idx,
                s->opregion_len, s->host_bridge.present, s->lpc_bridge.present);
        else
            pt_say(d, "passthrough: IGD regions %d-%d (OpRegion %u bytes at 0x%lx, host and LPC bridge config)", idx,
                idx + 2, s->opregion_len, s->opregion_phys);
    }
    /* BAR ranges whose writes are dropped (drivers/igd/bar_judged.h: the
     * MCHBAR mirror's VT-d base registers); never on a device igd_force
     * made an IGD: its BARs are its own. */
    const struct igd_bar_judged *judged[IGD_BAR_JUDGED_MAX];
    unsigned nj = s->flags & MINIHV_PT_IGD_FORCED
                      ? 0
                      : igd_bar_judged_ranges(d->vendor, d->device, judged, IGD_BAR_JUDGED_MAX);
    for (unsigned k = 0; k < nj; k++) {
        const struct igd_bar_judged *j = judged[k];
        int rc = vfio_device_add_judged(&d->vfio, j->bar, j->offset, j->size);
        if (rc == VFIO_ERANGE)
            continue; /* a BAR that ends before it: nothing there to write */
        pt_say(d, "passthrough: IGD BAR%u [0x%x,0x%x) %s: %s", j->bar, j->offset, j->offset + j->size, j->what,
               rc ? "NOT judged (the model refused it)" : "its page read-only, writes there dropped");
    }
    const struct minihv_pt_bridge *b[2] = { &s->host_bridge, &s->lpc_bridge };
    for (unsigned k = 0; k < 2; k++)
        if (b[k]->present && b[k]->dev <= 31 && b[k]->fn <= 7)
            d->bridges[k] = (struct pt_bridge){ true, b[k]->bus, b[k]->dev, b[k]->fn };
}

int ptdev_init(struct pt_device *d, const struct minihv_passthrough *s, const struct pt_platform *hw,
            uint64_t forbid_base, uint64_t forbid_size)
{
    memset(d, 0, sizeof(*d));
    d->hw = *hw;
    d->forbid_base = forbid_base;
    d->forbid_size = forbid_size;
    if (!s->present) {
        if (s->flags & MINIHV_PT_CONFIG_GUARD)
            ecam_from_snapshot(d, s);
        return 0;
    }
    int rom_ok = check_snapshot(d, s);
    if (rom_ok < 0)
        return -1;
    bool rom = s->rom_phys && rom_ok == 0;
    uint64_t sizes[6];
    for (unsigned i = 0; i < 6; i++)
        sizes[i] = s->bars[i].size;
    if (vfio_device_init_pci(&d->vfio, s->cfg, s->cfg_len, sizes, rom ? s->rom_region_size : 0) < 0) {
        pt_say(d, "passthrough: config snapshot refused by the vfio model: %s at 0x%x", d->vfio.error.what,
            d->vfio.error.offset);
        return -1;
    }
    /* vfio/ accepts an MSI-X table in a BAR of unknown size (a dump
     * without sizes); here the BAR must exist, or the guest could enable
     * MSI-X with a table it can never program. */
    const struct vfio_msix *mx = &d->vfio.msix;
    if (mx->present && (!sizes[mx->table_bar] || !sizes[mx->pba_bar])) {
        pt_say(d, "passthrough: MSI-X table in BAR%u and PBA in BAR%u, but the snapshot sized BAR%u as absent: "
            "device not passed through", mx->table_bar, mx->pba_bar, sizes[mx->table_bar] ? mx->pba_bar : mx->table_bar);
        return -1;
    }
    d->bus = s->bus;
    d->dev = s->dev;
    d->fn = s->fn;
    d->vendor = le16(s->cfg + PCI_VENDOR_ID);
    d->device = le16(s->cfg + PCI_DEVICE_ID);
    d->flags = s->flags;
    ecam_from_snapshot(d, s);
    vfio_config_set_ops(&d->vfio.config, &config_ops, d);
    if (d->vfio.msix.present)
        vfio_msix_set_ops(&d->vfio.msix, &msix_ops, d);
    for (unsigned i = 0; i < 6; i++) {
        d->host_bar[i] = s->bars[i].addr;
        d->bar_ctx[i] = (struct pt_bar_ctx){ d, i };
        if (is_mem_bar(d, i))
            vfio_device_set_region_ops(&d->vfio, i, &bar_ops, &d->bar_ctx[i]);
    }
    msix_mask_physical(d);
    if (rom) {
        d->host_bar[VFIO_CONFIG_ROM_BAR] = 0; /* the hardware's ROM BAR is never used */
        d->win[VFIO_CONFIG_ROM_BAR].host = s->rom_phys;
        vfio_device_set_region_ops(&d->vfio, VFIO_CONFIG_ROM_BAR, &rom_ops, d);
    }
    if (s->flags & MINIHV_PT_IGD)
        add_igd(d, s);
    d->present = true;

    /* The ECAM pages the model traps: the device's and its bridges', in
     * the registry first, so that no window goes over them. */
    uint64_t pages[3];
    enum special_kind kinds[3] = { SPECIAL_ECAM_DEVICE, SPECIAL_ECAM_BRIDGE, SPECIAL_ECAM_BRIDGE };
    pages[0] = ptdev_ecam_page(d, d->bus, d->dev, d->fn);
    for (unsigned k = 0; k < 2; k++)
        pages[k + 1] = d->bridges[k].present
                           ? ptdev_ecam_page(d, d->bridges[k].bus, d->bridges[k].dev, d->bridges[k].fn)
                           : 0;
    for (unsigned k = 0; k < 3; k++)
        if (pages[k] && d->hw.special && special_add(d->hw.special, kinds[k], pages[k], PT_PAGE, SPECIAL_MAP_NONE))
            pt_say(d, "passthrough: ECAM page 0x%lx not in the special-page registry (full)", pages[k]);

    /* The windows as the firmware left them: guest address = host address. */
    for (unsigned i = 0; i < VFIO_CONFIG_BARS; i++) {
        const struct vfio_bar *b = &d->vfio.config.bars[i];
        struct pt_window *w = &d->win[i];
        if (!is_mem_bar(d, i))
            continue;
        w->size = b->size;
        if (i != VFIO_CONFIG_ROM_BAR)
            w->host = d->host_bar[i];
        w->guest = b->reported_addr;
        const char *why = NULL;
        if (b->reported_decode && (i != VFIO_CONFIG_ROM_BAR || w->host)) {
            if (!placement_ok(d, i, w->guest, w->size, &why)) {
                d->count.placement_refused++;
                pt_say(d, "passthrough: BAR%u at 0x%lx not mapped: %s", i, w->guest, why);
            } else if (window_map(d, i)) {
                return -1;
            }
        }
    }
    trap_host_windows(d);
    for (unsigned k = 0; k < 3; k++)
        if (pages[k])
            d->hw.trap(d->hw.opaque, pages[k], PT_PAGE);
    if (d->hw.flush)
        d->hw.flush(d->hw.opaque);
    return 0;
}

int ptdev_guard_config(struct pt_device *d, enum pt_guard_kind kind, uint8_t bus, uint8_t dev, uint8_t fn,
                       uint16_t lo, uint16_t hi)
{
    if (!d->config_trapped || (unsigned)kind >= PT_GUARD_KINDS || dev > 31 || fn > 7 || lo >= hi || hi > 4096 ||
        (d->present && bus == d->bus && dev == d->dev && fn == d->fn))
        return -1;
    for (unsigned k = 0; k < PT_MAX_GUARDED; k++) {
        struct pt_guarded *g = &d->guarded[k];
        if (g->present)
            continue;
        *g = (struct pt_guarded){ true, bus, dev, fn, lo, hi, kind };
        uint64_t page = ptdev_ecam_page(d, bus, dev, fn);
        /* An IGD bridge's page is trapped already (its writes all dropped). */
        if (page && !(d->hw.special && special_find(d->hw.special, page, PT_PAGE))) {
            enum special_kind sk = kind == PT_GUARD_PM_BLOCK ? SPECIAL_ECAM_PM
                                   : kind == PT_GUARD_PATH  ? SPECIAL_ECAM_BRIDGE
                                                            : SPECIAL_ECAM_IOMMU;
            if (d->hw.special && special_add(d->hw.special, sk, page, PT_PAGE, SPECIAL_MAP_NONE))
                pt_say(d, "passthrough: ECAM page 0x%lx not in the special-page registry (full)", page);
            d->hw.trap(d->hw.opaque, page, PT_PAGE);
            if (d->hw.flush)
                d->hw.flush(d->hw.opaque);
        }
        return 0;
    }
    return -1;
}

/* The bridge on `bus` whose secondary..subordinate range holds `target`
 * (secondary > bus: a sane firmware numbering); false when none. */
static bool bridge_towards(struct pt_device *d, uint8_t bus, uint8_t target, uint8_t *dev, uint8_t *fn,
                           uint8_t *secondary)
{
    for (unsigned dv = 0; dv < 32; dv++)
        for (unsigned f = 0; f < 8; f++) {
            uint32_t id = d->hw.cfg_read(d->hw.opaque, bus, (uint8_t)dv, (uint8_t)f, 0x00, 4);
            if ((id & 0xffff) == 0xffff || !(id & 0xffff)) {
                if (!f)
                    break; /* no function 0: no device */
                continue;
            }
            uint8_t header = (uint8_t)d->hw.cfg_read(d->hw.opaque, bus, (uint8_t)dv, (uint8_t)f, 0x0e, 1);
            if ((header & 0x7f) == 1) { /* type 1: a PCI-to-PCI bridge */
                uint32_t nums = d->hw.cfg_read(d->hw.opaque, bus, (uint8_t)dv, (uint8_t)f, 0x18, 4);
                uint8_t sec = (uint8_t)(nums >> 8), sub = (uint8_t)(nums >> 16);
                if (sec > bus && sec <= target && target <= sub) {
                    *dev = (uint8_t)dv;
                    *fn = (uint8_t)f;
                    *secondary = sec;
                    return true;
                }
            }
            if (!f && !(header & 0x80))
                break; /* not multi-function */
        }
    return false;
}

int ptdev_guard_bridge_path(struct pt_device *d)
{
    if (!d->present)
        return -1;
    uint8_t bus = d->ecam_base ? d->ecam_bus_start : 0;
    int n = 0;
    while (bus != d->bus) {
        uint8_t dev, fn, sec;
        if (n >= 32 || !bridge_towards(d, bus, d->bus, &dev, &fn, &sec))
            return -1;
        if (ptdev_guard_config(d, PT_GUARD_PATH, bus, dev, fn, 0x18, 0x34) ||
            ptdev_guard_config(d, PT_GUARD_PATH, bus, dev, fn, 0x3e, 0x40))
            return -1;
        n++;
        bus = sec;
    }
    return n;
}

/* ---- guest accesses ---- */

enum target { TARGET_OTHER, TARGET_DEVICE, TARGET_BRIDGE, TARGET_GUARDED };

static enum target classify(const struct pt_device *d, uint8_t bus, uint8_t dev, uint8_t fn)
{
    if (!d->config_trapped)
        return TARGET_OTHER;
    if (d->present && bus == d->bus && dev == d->dev && fn == d->fn)
        return TARGET_DEVICE;
    for (unsigned k = 0; k < 2; k++)
        if (d->bridges[k].present && bus == d->bridges[k].bus && dev == d->bridges[k].dev &&
            fn == d->bridges[k].fn)
            return TARGET_BRIDGE;
    for (unsigned k = 0; k < PT_MAX_GUARDED; k++)
        if (d->guarded[k].present && bus == d->guarded[k].bus && dev == d->guarded[k].dev && fn == d->guarded[k].fn)
            return TARGET_GUARDED;
    return TARGET_OTHER;
}

static bool in_window(const struct pt_window *w, uint64_t gpa)
{
    return w->mapped && gpa >= w->guest && gpa - w->guest < w->size;
}

static uint64_t all_ones(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/* A config access to the device or a bridge; off + size inside 4 KiB. */
static void config_access(struct pt_device *d, enum target t, uint8_t bus, uint8_t dev, uint8_t fn,
                          uint16_t off, unsigned size, bool write, uint64_t *value)
{
    if (t == TARGET_GUARDED) {
        const struct pt_guarded *hit = NULL;
        for (unsigned k = 0; k < PT_MAX_GUARDED && !hit; k++) {
            const struct pt_guarded *g = &d->guarded[k];
            if (g->present && bus == g->bus && dev == g->dev && fn == g->fn && off < g->hi && g->lo < off + size)
                hit = g;
        }
        if (!write) {
            *value = d->hw.cfg_read(d->hw.opaque, bus, dev, fn, off, size);
        } else if (hit) {
            d->count.guarded_writes_dropped[hit->kind]++;
        } else {
            d->hw.cfg_write(d->hw.opaque, bus, dev, fn, off, size, (uint32_t)*value);
        }
        return;
    }
    if (t == TARGET_BRIDGE) {
        if (write)
            d->count.bridge_writes_dropped++;
        else
            *value = d->hw.cfg_read(d->hw.opaque, bus, dev, fn, off, size);
        return;
    }
    uint32_t v = write ? (uint32_t)*value : 0;
    int rc = off + size > d->vfio.config.size ? VFIO_ERANGE
             : write ? vfio_region_write(&d->vfio, MINIHV_VFIO_PCI_CONFIG_REGION_INDEX, off, &v, size)
                     : vfio_region_read(&d->vfio, MINIHV_VFIO_PCI_CONFIG_REGION_INDEX, off, &v, size);
    if (write)
        d->count.cfg_writes++;
    else
        d->count.cfg_reads++;
    if (rc < 0) {
        /* Past the dump (a 256-byte device has no extended space) or a
         * model error: reads all-ones, the write is dropped. */
        d->count.refused += write;
        v = (uint32_t)all_ones(size);
    }
    if (!write)
        *value = v & all_ones(size);
}

enum minihv_exit_kind ptdev_conf1_io(struct pt_device *d, uint16_t port, unsigned size, bool in, uint32_t *value)
{
    if (port == CONF1_ADDR_PORT && size == 4) {
        if (in)
            *value = d->conf1_addr;
        else
            d->conf1_addr = *value;
        return MINIHV_EXIT_IO;
    }
    /* An access below CONFIG_DATA that runs into it (a dword or word at
     * 0xcfa/0xcfb): the bytes at 0xcfc on are CONFIG_DATA's, through the
     * model's CONFIG_ADDRESS and its guards; the rest the hardware's, one
     * byte each. Whole, it went to the hardware, whose own latch is not the
     * guest's here (review R4). */
    if (port < CONF1_DATA_PORT && port + size > CONF1_DATA_PORT && size <= 4) {
        enum minihv_exit_kind kind = MINIHV_EXIT_IO;
        unsigned below = CONF1_DATA_PORT - port;
        uint32_t out = 0;
        for (unsigned i = 0; i < below; i++) {
            uint32_t byte = (*value >> (8 * i)) & 0xff;
            d->hw.conf1_hw(d->hw.opaque, d->conf1_addr, (uint16_t)(port + i), 1, in, &byte);
            out |= (byte & 0xff) << (8 * i);
        }
        /* 1 or 2 bytes in one piece; 3 (a dword at 0xcfb) a byte each: no
         * 3-byte access reaches the model or the hardware (review R5). */
        unsigned rest = size - below, piece = rest == 3 ? 1 : rest;
        for (unsigned i = below; i < size; i += piece) {
            uint32_t data = (*value >> (8 * i)) & (uint32_t)((1ull << (8 * piece)) - 1);
            enum minihv_exit_kind k = ptdev_conf1_io(d, (uint16_t)(port + i), piece, in, &data);
            if (k != MINIHV_EXIT_IO)
                kind = k;
            out |= (uint32_t)((uint64_t)(data & ((1ull << (8 * piece)) - 1)) << (8 * i));
        }
        if (in)
            *value = out;
        return kind;
    }
    uint32_t a = d->conf1_addr;
    if (port >= CONF1_DATA_PORT && port < CONF1_DATA_PORT + 4 && (a & CONF1_ENABLE)) {
        uint8_t bus = (uint8_t)(a >> 16), dev = (a >> 11) & 31, fn = (a >> 8) & 7;
        enum target t = classify(d, bus, dev, fn);
        if (t != TARGET_OTHER) {
            uint16_t off = conf1_register(a, port, d->conf1_ext_regs);
            uint64_t v = *value;
            if ((port & 3) + size > 4 || (size != 1 && size != 2 && size != 4)) {
                d->count.refused++;
                if (in)
                    *value = (uint32_t)all_ones(size > 4 ? 4 : size);
                return MINIHV_EXIT_PT_CONFIG;
            }
            config_access(d, t, bus, dev, fn, off, size, !in, &v);
            if (in)
                *value = (uint32_t)v;
            return MINIHV_EXIT_PT_CONFIG;
        }
    }
    d->hw.conf1_hw(d->hw.opaque, a, port, size, in, value);
    return MINIHV_EXIT_IO;
}

bool ptdev_igd_io_write(struct pt_device *d, uint32_t index, unsigned at, unsigned size, uint32_t value)
{
    if (!d->present || !d->vfio.nr_judged || at + size <= 4 || (index & 1))
        return false;
    if (at < 4 || at + size > 8 || (size != 1 && size != 2 && size != 4)) {
        d->count.refused++; /* across MMIO_INDEX and MMIO_DATA, or past the pair */
        return true;
    }
    uint64_t offset = (uint64_t)(index & ~3u) + (at - 4);
    if (vfio_region_write(&d->vfio, MINIHV_VFIO_PCI_BAR0_REGION_INDEX, offset, &value, size) < 0)
        d->count.refused++; /* past BAR0 (a judged range returns 0: judged_dropped counts it) */
    return true;
}

/* The function whose ECAM page holds gpa, if it is ours. */
static enum target ecam_target(const struct pt_device *d, uint64_t gpa, uint8_t *bus, uint8_t *dev, uint8_t *fn)
{
    uint64_t page = page_down(gpa);
    if (!d->ecam_base || page < d->ecam_base)
        return TARGET_OTHER;
    uint64_t rel = page - d->ecam_base;
    if ((rel >> 20) > (uint64_t)(d->ecam_bus_end - d->ecam_bus_start))
        return TARGET_OTHER;
    *bus = (uint8_t)(d->ecam_bus_start + (rel >> 20));
    *dev = (rel >> 15) & 31;
    *fn = (rel >> 12) & 7;
    return classify(d, *bus, *dev, *fn);
}

/* A mapped sub-page BAR (or 2 KiB ROM) whose page holds gpa. */
static bool in_subpage_bar_page(const struct pt_device *d, uint64_t gpa)
{
    for (unsigned i = 0; i < VFIO_CONFIG_BARS; i++) {
        const struct pt_window *w = &d->win[i];
        if (w->mapped && w->size < PT_PAGE && page_down(gpa) == page_down(w->guest))
            return true;
    }
    return false;
}

bool ptdev_claims(const struct pt_device *d, uint64_t gpa)
{
    uint8_t bus, dev, fn;
    if (!d->config_trapped)
        return false;
    if (ecam_target(d, gpa, &bus, &dev, &fn) != TARGET_OTHER)
        return true;
    for (unsigned i = 0; i < VFIO_CONFIG_BARS; i++)
        if (in_window(&d->win[i], gpa))
            return true;
    return touches_host_window(d, gpa, 1) || in_subpage_bar_page(d, gpa);
}

bool ptdev_drops_writes(const struct pt_device *d, uint64_t gpa)
{
    uint8_t bus, dev, fn;
    if (!d->config_trapped || ecam_target(d, gpa, &bus, &dev, &fn) != TARGET_OTHER)
        return false;
    for (unsigned i = 0; i < VFIO_CONFIG_BARS; i++)
        if (in_window(&d->win[i], gpa))
            return i == VFIO_CONFIG_ROM_BAR;
    return touches_host_window(d, gpa, 1); /* ptdev_mmio's order: before the sub-page BAR pages */
}

bool ptdev_mmio(struct pt_device *d, uint64_t gpa, unsigned size, bool write, uint64_t *value,
             enum minihv_exit_kind *kind)
{
    if (!d->config_trapped)
        return false;
    *kind = MINIHV_EXIT_PT_BAR;
    if (!write)
        *value = all_ones(size);
    /* ECAM pages: the device's and the bridges'. */
    uint8_t bus, dev, fn;
    enum target t = ecam_target(d, gpa, &bus, &dev, &fn);
    if (t != TARGET_OTHER) {
        *kind = MINIHV_EXIT_PT_CONFIG;
        uint16_t off = gpa & (PT_PAGE - 1);
        if ((size != 1 && size != 2 && size != 4) || (off & (size - 1))) {
            d->count.refused++;
            return true;
        }
        config_access(d, t, bus, dev, fn, off, size, write, value);
        return true;
    }
    for (unsigned i = 0; i < VFIO_CONFIG_BARS; i++) {
        struct pt_window *w = &d->win[i];
        if (!in_window(w, gpa))
            continue;
        uint64_t off = gpa - w->guest;
        if (i == VFIO_CONFIG_ROM_BAR) {
            if (write) {
                d->count.rom_writes_dropped++;
                return true;
            }
        }
        const struct vfio_msix *m = &d->vfio.msix;
        bool msix = m->present &&
                    ((m->table_bar == i && pt_overlaps(off, size, m->table_offset, vfio_msix_table_size(m))) ||
                     (m->pba_bar == i && pt_overlaps(off, size, m->pba_offset, vfio_msix_pba_size(m))));
        uint64_t v = write ? *value : 0;
        int rc = !range_ok(off, size, w->size) ? VFIO_ERANGE
                 : write ? vfio_region_write(&d->vfio, i, off, &v, size)
                         : vfio_region_read(&d->vfio, i, off, &v, size);
        if (msix) {
            *kind = MINIHV_EXIT_PT_MSIX;
            if (write)
                d->count.msix_writes++;
            else
                d->count.msix_reads++;
            d->count.msix_bytes += size;
        } else {
            d->count.bar_exits++;
            d->count.bar_bytes += size;
        }
        if (rc < 0)
            d->count.refused++;
        else if (!write)
            *value = v & all_ones(size);
        return true;
    }
    /* A host window the guest has left: the device is not there for it. */
    if (touches_host_window(d, gpa, 1)) {
        d->count.bar_exits++;
        return true;
    }
    /* The rest of a page trapped for a sub-page BAR: the hardware there,
     * bound to that page and to what no window covers. An access that
     * crosses the page end (8 bytes at page end - 4: the next page may be
     * the block), runs into a window or lies at or above host_top is
     * refused: all-ones, dropped. */
    if (in_subpage_bar_page(d, gpa)) {
        d->count.bar_exits++;
        bool inside = mmio_size_ok(size) && page_down(gpa) == page_down(gpa + size - 1);
        /* A 64-bit BAR the guest put above the core's map (review R,
         * finding 5): the core cannot reach the rest of that page. */
        inside = inside && (!d->hw.host_top || gpa + size <= d->hw.host_top);
        for (unsigned i = 0; inside && i < VFIO_CONFIG_BARS; i++)
            inside = !(d->win[i].mapped && pt_overlaps(gpa, size, d->win[i].guest, d->win[i].size));
        if (!inside) {
            d->count.refused++;
            d->count.bounds_refused++;
            return true;
        }
        if (write)
            d->hw.mmio_write(d->hw.opaque, gpa, size, *value);
        else
            *value = d->hw.mmio_read(d->hw.opaque, gpa, size);
        return true;
    }
    return false;
}

static const char *size_text(uint64_t size, char *buf, unsigned len)
{
    if (size >= (1ull << 20) && !(size & ((1ull << 20) - 1)))
        fmt_snprintf(buf, len, "%lu MiB", size >> 20);
    else if (size >= 1024 && !(size & 1023))
        fmt_snprintf(buf, len, "%lu KiB", size >> 10);
    else
        fmt_snprintf(buf, len, "%lu bytes", size);
    return buf;
}

int ptdev_format_region(const struct pt_device *d, uint32_t index, char *buf, unsigned len)
{
    uint8_t info_buf[REGION_INFO_BYTES];
    const struct minihv_vfio_region_info *info = (const void *)info_buf;
    if (!d->present || index >= d->vfio.num_regions || pt_region_info(d, index, info_buf, sizeof(info_buf)) < 0 ||
        !info->size)
        return 0;
    char sz[24];
    int n = fmt_snprintf(buf, len, "%s %s%s%s%s", vfio_region_name(index), size_text(info->size, sz, sizeof(sz)),
                         info->flags & MINIHV_VFIO_REGION_INFO_FLAG_READ ? " R" : "",
                         info->flags & MINIHV_VFIO_REGION_INFO_FLAG_WRITE ? "W" : "",
                         info->flags & MINIHV_VFIO_REGION_INFO_FLAG_MMAP ? " mmap" : "");
    uint32_t at = (info->flags & MINIHV_VFIO_REGION_INFO_FLAG_CAPS) ? info->cap_offset : 0;
    int steps = 0;
    struct vfio_cap_view c;
    while (vfio_info_next_cap(info_buf, sizeof(info_buf), &at, &steps, &c) && n >= 0 && (unsigned)n < len) {
        uint32_t w[2] = { 0, 0 };
        memcpy(w, c.body, MIN(c.body_len, sizeof(w)));
        if (c.id == MINIHV_VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
            n += fmt_snprintf(buf + n, len - (unsigned)n, " sparse");
            for (uint32_t k = 0; k < w[0] && 8 + (k + 1) * 16 <= c.body_len && (unsigned)n < len; k++) {
                struct minihv_vfio_region_sparse_mmap_area a;
                memcpy(&a, c.body + 8 + k * 16, sizeof(a));
                n += fmt_snprintf(buf + n, len - (unsigned)n, " [0x%lx,0x%lx)", a.offset, a.offset + a.size);
            }
        } else if (c.id == MINIHV_VFIO_REGION_INFO_CAP_TYPE) {
            n += fmt_snprintf(buf + n, len - (unsigned)n, " type 0x%x/%u", w[0], w[1]);
        }
    }
    return n;
}

int ptdev_format_summary(const struct pt_device *d, char *buf, unsigned len)
{
    if (!d->present)
        return fmt_snprintf(buf, len, "passthrough none");
    const struct pt_counters *c = &d->count;
    return fmt_snprintf(buf, len,
                        "passthrough %02x:%02x.%x %04x:%04x cfg-reads=%lu cfg-writes=%lu msix-reads=%lu "
                        "msix-writes=%lu msix-bytes=%lu bar-exits=%lu bar-bytes=%lu rom-writes-dropped=%lu "
                        "bridge-writes-dropped=%lu refused=%lu remaps=%lu msi-refused=%lu msix-refused=%lu "
                        "placement-refused=%lu bounds-refused=%lu guarded-writes-dropped=%lu pm-writes-dropped=%lu",
                        d->bus, d->dev, d->fn, d->vendor, d->device, c->cfg_reads, c->cfg_writes, c->msix_reads,
                        c->msix_writes, c->msix_bytes, c->bar_exits, c->bar_bytes, c->rom_writes_dropped,
                        c->bridge_writes_dropped, c->refused, c->remaps, d->vfio.config.msi_refused,
                        d->vfio.msix.refused, c->placement_refused, c->bounds_refused, c->guarded_writes_dropped[PT_GUARD_IOMMU],
                        c->guarded_writes_dropped[PT_GUARD_PM_BLOCK]);
}

/* The guest's MSI-X table as it programmed it (issue 19): the capability's
 * enable and function-mask bits, then each entry with a non-zero address
 * or data, or unmasked (PCI 3.0 6.8.2.6-9), as "index:addr/data" with
 * ",m" when masked and ",live" when the physical entry is programmed. */
int ptdev_format_msix(const struct pt_device *d, char *buf, unsigned len)
{
    const struct vfio_msix *m = &d->vfio.msix;
    if (!d->present || !m->present)
        return 0;
    int n = fmt_snprintf(buf, len, "passthrough msix: enabled=%u function-masked=%u entries=%u programmed:",
                         m->enabled, m->function_masked, m->entries);
    unsigned shown = 0, more = 0;
    for (uint32_t i = 0; i < m->entries && i < VFIO_MSIX_MAX_ENTRIES; i++) {
        const struct vfio_msix_entry *e = &m->table[i];
        bool masked = e->ctrl & VFIO_MSIX_CTRL_MASKBIT;
        if (masked && !e->addr_lo && !e->addr_hi && !e->data)
            continue;
        if ((unsigned)n + 48 >= len) {
            more++;
            continue;
        }
        n += fmt_snprintf(buf + n, len - (unsigned)n, " %u:0x%lx/0x%x%s%s", i,
                          (uint64_t)e->addr_hi << 32 | e->addr_lo, e->data, masked ? ",m" : "",
                          m->live[i / 8] & (1u << (i % 8)) ? ",live" : "");
        shown++;
    }
    if (!shown && !more)
        n += fmt_snprintf(buf + n, len - (unsigned)n, " none");
    if (more)
        n += fmt_snprintf(buf + n, len - (unsigned)n, " +%u more", more);
    return n;
}

unsigned ptdev_msix_physical_check(const struct pt_device *d, unsigned *bad, unsigned *unmasked)
{
    const struct vfio_msix *m = &d->vfio.msix;
    *bad = *unmasked = 0;
    if (!d->present || !m->present)
        return 0;
    unsigned n = m->entries < VFIO_MSIX_MAX_ENTRIES ? m->entries : VFIO_MSIX_MAX_ENTRIES;
    for (unsigned i = 0; i < n; i++) {
        uint64_t e = msix_entry_hpa(d, i);
        /* Vector control first: the core masks an entry before it changes
         * it (msix_write_entry), so an unmasked one is whole. */
        if (d->hw.mmio_read(d->hw.opaque, e + 12, 4) & VFIO_MSIX_CTRL_MASKBIT)
            continue;
        (*unmasked)++;
        uint64_t addr = d->hw.mmio_read(d->hw.opaque, e, 4) | d->hw.mmio_read(d->hw.opaque, e + 4, 4) << 32;
        if (vfio_msi_check(addr, (uint32_t)d->hw.mmio_read(d->hw.opaque, e + 8, 4)) != VFIO_MSI_OK)
            (*bad)++;
    }
    return n;
}

void ptdev_report(const struct pt_device *d, void (*say)(void *opaque, const char *line), void *opaque)
{
    char line[256];
    if (!d->present)
        return;
    for (unsigned i = 0; i < VFIO_CONFIG_BARS; i++) {
        const struct pt_window *w = &d->win[i];
        if (!w->size)
            continue;
        fmt_snprintf(line, sizeof(line), "passthrough: %s%u guest 0x%lx -> %s 0x%lx, %lu KiB, %s",
                     i == 6 ? "ROM" : "BAR", i == 6 ? 0 : i, w->guest, i == 6 ? "copy" : "host", w->host,
                     w->size >> 10, w->mapped ? "mapped" : "not decoding");
        say(opaque, line);
    }
    for (uint32_t i = 0; i < d->vfio.num_regions; i++) {
        char region[200];
        if (ptdev_format_region(d, i, region, sizeof(region)) > 0) {
            fmt_snprintf(line, sizeof(line), "passthrough: region %u: %s", i, region);
            say(opaque, line);
        }
    }
    const struct vfio_msix *m = &d->vfio.msix;
    if (m->present) {
        fmt_snprintf(line, sizeof(line),
                     "passthrough: MSI-X %u entries, table BAR%u+0x%x and PBA BAR%u+0x%x trapped page(s)",
                     m->entries, m->table_bar, m->table_offset, m->pba_bar, m->pba_offset);
        say(opaque, line);
    }
    fmt_snprintf(line, sizeof(line), "passthrough: %02x:%02x.%x %04x:%04x ready: config via CF8/CFC%s, %u vfio regions",
                 d->bus, d->dev, d->fn, d->vendor, d->device, d->ecam_base ? " and ECAM" : "", d->vfio.num_regions);
    say(opaque, line);
}
