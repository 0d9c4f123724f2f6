/* libFuzzer target over the passthrough model (hv/passthrough.c) as a
 * hostile guest drives it: a snapshot (NVMe-like, with BAR sizes, ROM and
 * IGD bits from the input), then a stream of CF8/CFC accesses and trapped
 * MMIO accesses anywhere near the device's windows and ECAM pages. The
 * fake machine aborts on what must never happen: a guest mapping over the
 * core's block or a special page (the APIC page, an IOMMU register page,
 * the ECAM pages; a page given back read-only as the registry says is the
 * one map allowed there), identity over a special page, a host access
 * outside the device's BAR or across the end of its page, a write to a
 * guarded register of another function (an IOMMU's base), an unmasked
 * MSI-X entry with an address outside the MSI window or a delivery mode
 * other than fixed or lowest priority, a config write to
 * a bridge; for an IGD of gen 6 or later (drivers/igd/bar_judged.h, decided
 * here from the input, not from the model), its MCHBAR mirror page mapped
 * writable or a write reaching GFXVTBAR/VTDPVC0BAR there (BAR0 + 0x145400).
 *
 * Input: [flags][bar0 size code][rom size code][cfg 256][ops: kind, port/addr, size, value] */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <minihv/x86.h>
#include "hv/passthrough.h"
#include "hv/special_pages.h"
#include "paging/paging.h"

#define BAR0    0xfebf0000ull
#define ECAM    0xb0000000ull
#define HV_BASE 0x40000000ull
#define HV_SIZE 0x04000000ull
#define ROM_PA  0x41000000ull
#define MAX_BAR 0x200000ull /* 2 MiB: an IGD's BAR0 reaches the mirror at 0x145000 */
#define MIRROR_VTD 0x145400ull /* BAR0 + 0x140000 (MCHBAR mirror) + 0x5400, 0x18 bytes */
#define LAPIC   0xfee00000ull
#define IOMMU   0xfed90000ull

struct stream {
    const uint8_t *p;
    size_t n;
};

static uint64_t take(struct stream *s, size_t bytes)
{
    uint64_t v = 0;
    for (size_t i = 0; i < bytes && s->n; i++, s->n--)
        v |= (uint64_t)*s->p++ << (8 * i);
    return v;
}

static uint64_t bar0_size;
static uint8_t bar0[MAX_BAR];
static uint8_t rom[0x10000];
static uint8_t dev_cfg[4096], bridge_cfg[4096];
static struct pt_device dev;
static struct special_pages special;

/* The input made an IGD whose mirror must be judged: Intel, not gen 5,
 * BAR0 holding the range. */
static bool mirror_judged;

static bool over_hv(uint64_t gpa, uint64_t size)
{
    return gpa < HV_BASE + HV_SIZE && HV_BASE < gpa + size;
}

static int f_map(void *o, uint64_t gpa, uint64_t hpa, uint64_t size, uint32_t attrs)
{
    (void)o;
    if (over_hv(gpa, size) || !size || (gpa | size) & 0xfff)
        abort();
    /* Over a special page only what the registry says there: read-only
     * identity for a read-only entry (a window leaving it). */
    const struct special_page *e = special_find(&special, gpa, size);
    if (e) {
        if (e->map != SPECIAL_MAP_READ_ONLY || hpa != gpa || attrs != PT_ATTRS(PT_READ | PT_EXEC, MEMTYPE_UC) ||
            gpa < e->base || gpa + size > e->base + e->size)
            abort();
        return 0;
    }
    /* Only the device's BAR or the ROM copy are ever mapped. */
    if (!(hpa >= BAR0 && hpa + size <= BAR0 + bar0_size) && hpa != ROM_PA)
        abort();
    /* The mirror's VT-d page: never writable for the guest. */
    if (mirror_judged && (attrs & PT_WRITE) && hpa < BAR0 + MIRROR_VTD + 0x18 && BAR0 + MIRROR_VTD < hpa + size)
        abort();
    return 0;
}

static int f_trap(void *o, uint64_t gpa, uint64_t size)
{
    (void)o;
    if (over_hv(gpa, size) || !size || (gpa | size) & 0xfff)
        abort();
    return 0;
}

static int f_identity(void *o, uint64_t gpa, uint64_t size)
{
    const struct special_page *e = special_find(&special, gpa, size);
    if (e && e->map != SPECIAL_MAP_IDENTITY)
        abort(); /* a special page never goes back to plain identity */
    return f_trap(o, gpa, size);
}

static void f_flush(void *o)
{
    (void)o;
}

static uint32_t f_cfg_read(void *o, uint8_t bus, uint8_t d, uint8_t fn, uint16_t off, unsigned size)
{
    (void)o;
    uint32_t v = 0;
    uint8_t *c = (bus == 0 && d == 5 && fn == 0) ? dev_cfg : bridge_cfg;
    if (off + size > 4096u || (size != 1 && size != 2 && size != 4))
        abort();
    memcpy(&v, c + off, size);
    return v;
}

static bool guarded; /* 00:00.0's 0x48-0x4f guarded (an IOMMU's relocation registers) */

static void f_cfg_write(void *o, uint8_t bus, uint8_t d, uint8_t fn, uint16_t off, unsigned size, uint32_t v)
{
    (void)o;
    if (off + size > 4096 || (size != 1 && size != 2 && size != 4))
        abort();
    /* The host bridge when guarded (not an IGD bridge), outside the guard. */
    if (guarded && bus == 0 && d == 0 && fn == 0 && (off >= 0x50 || off + size <= 0x48)) {
        memcpy(bridge_cfg + off, &v, size);
        return;
    }
    if (!(bus == 0 && d == 5 && fn == 0))
        abort(); /* bridges and guarded registers are never written */
    memcpy(dev_cfg + off, &v, size);
}

static void f_conf1(void *o, uint32_t addr, uint16_t port, unsigned size, bool in, uint32_t *value)
{
    (void)o;
    (void)addr;
    (void)port;
    (void)size;
    if (in)
        *value = 0xffffffff;
}

/* The model touches the device's BAR, or, for the rest of a page it
 * trapped for a window under 4 KiB (a 2 KiB ROM), the identity page the
 * guest could reach before; never the core's block. */
static bool check_host(uint64_t hpa, unsigned size)
{
    if (size != 1 && size != 2 && size != 4 && size != 8)
        abort();
    if (hpa >= BAR0 && hpa + size <= BAR0 + bar0_size)
        return true;
    if ((hpa & ~0xfffull) != ((hpa + size - 1) & ~0xfffull))
        abort(); /* outside the BAR: never past the end of the page trapped for it */
    bool subpage = false;
    for (unsigned i = 0; i < VFIO_CONFIG_BARS; i++) {
        const struct pt_window *w = &dev.win[i];
        subpage |= w->mapped && w->size < 4096 && (w->guest & ~0xfffull) == (hpa & ~0xfffull);
    }
    if (!subpage || over_hv(hpa, size))
        abort();
    return false; /* an identity page: nothing modelled there */
}

static uint64_t f_mmio_read(void *o, uint64_t hpa, unsigned size)
{
    (void)o;
    uint64_t v = ~0ull;
    if (check_host(hpa, size))
        memcpy(&v, bar0 + (hpa - BAR0), size);
    return v;
}

/* The MSI-X table (when in BAR0, the one BAR the fake has): an entry may only be unmasked with an
 * address inside 0xfee00000-0xfeefffff and data with delivery mode fixed or lowest priority. */
static void f_mmio_write(void *o, uint64_t hpa, unsigned size, uint64_t v)
{
    (void)o;
    if (!check_host(hpa, size))
        return;
    if (mirror_judged && hpa < BAR0 + MIRROR_VTD + 0x18 && BAR0 + MIRROR_VTD < hpa + size)
        abort();
    memcpy(bar0 + (hpa - BAR0), &v, size);
    const struct vfio_msix *m = &dev.vfio.msix;
    uint64_t t = BAR0 + m->table_offset;
    if (m->present && m->table_bar == 0 && hpa >= t && hpa < t + (uint64_t)m->entries * 16 && ((hpa - t) & 15) == 12 &&
        !(v & 1)) {
        uint32_t lo, hi, data;
        memcpy(&lo, bar0 + (hpa - 12 - BAR0), 4);
        memcpy(&hi, bar0 + (hpa - 8 - BAR0), 4);
        memcpy(&data, bar0 + (hpa - 4 - BAR0), 4);
        if (hi || (lo & 0xfff00000u) != 0xfee00000u || ((data >> 8) & 7) > 1)
            abort();
    }
}

static const void *f_phys_ptr(void *o, uint64_t pa)
{
    (void)o;
    return pa == ROM_PA ? rom : NULL;
}

static void f_log(void *o, const char *msg)
{
    (void)o;
    (void)msg;
}

static const struct pt_platform platform = {
    f_map, f_trap, f_identity, f_flush, f_cfg_read, f_cfg_write, f_conf1,
    f_mmio_read, f_mmio_write, f_phys_ptr, f_log, NULL, &special, 0,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct stream s = { data, size };
    static struct minihv_passthrough snap;
    memset(&snap, 0, sizeof(snap));
    uint8_t flags = (uint8_t)take(&s, 1);
    bar0_size = 0x1000ull << (take(&s, 1) % 10); /* 4 KiB .. 2 MiB */
    unsigned rom_code = (unsigned)take(&s, 1);
    snap.present = 1;
    snap.dev = 5;
    snap.cfg_len = 256;
    for (unsigned i = 0; i < 256; i++)
        snap.cfg[i] = (uint8_t)take(&s, 1);
    /* Keep a device the model accepts often: type 0 header, 64-bit BAR0. */
    if (flags & 1) {
        snap.cfg[0x0e] = 0;
        snap.cfg[0x10] = 0x04;
        memcpy(snap.cfg + 0x11, (const uint8_t[]){ 0x00, 0xbf, 0xfe }, 3);
    }
    snap.bars[0] = (struct minihv_pt_bar){ BAR0, bar0_size, 0, 1, 0, { 0 } };
    snap.ecam_base = (flags & 2) ? ECAM : 0;
    snap.ecam_bus_end = 255;
    if (flags & 4) {
        snap.rom_phys = ROM_PA;
        snap.rom_region_size = 0x800ull << (rom_code % 6);
        snap.rom_len = (uint32_t)snap.rom_region_size / 2;
    }
    mirror_judged = false;
    if (flags & 8) {
        snap.flags = MINIHV_PT_IGD;
        snap.host_bridge.present = 1;
        snap.lpc_bridge = (struct minihv_pt_bridge){ 1, 0, 31, 0, 0, { 0 } };
        if (flags & 0x20) { /* an Intel IGD: SNB, TGL, unknown, Ironlake (gen 5) */
            static const uint16_t ids[] = { 0x0126, 0x9a49, 0x0bee, 0x0046 };
            uint16_t id = ids[(flags >> 6) & 3];
            memcpy(snap.cfg, (const uint8_t[]){ 0x86, 0x80, (uint8_t)id, (uint8_t)(id >> 8) }, 4);
            mirror_judged = id != 0x0046 && bar0_size >= MIRROR_VTD + 0x18;
            /* Decoding at an address aligned for any size, so the window
             * is mapped from the start (the host BAR stays at BAR0). */
            memcpy(snap.cfg + 0x10, (const uint8_t[]){ 0x04, 0x00, 0x00, 0xd0, 0, 0, 0, 0 }, 8);
            snap.cfg[0x04] |= 0x02;
            snap.cfg[0x0e] = 0;
        }
    }
    memset(dev_cfg, 0, sizeof(dev_cfg));
    memcpy(dev_cfg, snap.cfg, 256);
    memset(bar0, 0, bar0_size);
    memset(&special, 0, sizeof(special));
    special_add(&special, SPECIAL_CORE_BLOCK, HV_BASE, HV_SIZE, SPECIAL_MAP_NONE);
    special_add(&special, SPECIAL_LAPIC, LAPIC, 0x1000, SPECIAL_MAP_READ_ONLY);
    special_add(&special, SPECIAL_IOMMU_REGS, IOMMU, 0x4000, SPECIAL_MAP_NONE);
    special_add(&special, SPECIAL_IOAPIC, 0xfec00000ull, 0x1000, SPECIAL_MAP_IDENTITY);
    if (ptdev_init(&dev, &snap, &platform, HV_BASE, HV_SIZE))
        return 0;
    guarded = (flags & 0x10) && !(flags & 8);
    if (guarded && ptdev_guard_config(&dev, PT_GUARD_IOMMU, 0, 0, 0, 0x48, 0x50))
        abort();
    while (s.n) {
        uint8_t kind = (uint8_t)take(&s, 1);
        unsigned sz = 1u << (take(&s, 1) % 4);
        uint64_t value = take(&s, 8);
        uint32_t v32 = (uint32_t)value;
        enum minihv_exit_kind k;
        switch (kind % 4) {
        case 0: { /* CONFIG_ADDRESS: mostly the device or a bridge */
            uint32_t a = (uint32_t)take(&s, 2);
            uint32_t bdf = (kind & 0x10) ? (5u << 11) : (kind & 0x20) ? (31u << 11) : ((a & 0xff) << 8);
            uint32_t addr = 0x80000000u | bdf | (a & 0x0f0000fc);
            ptdev_conf1_io(&dev, 0xcf8, 4, false, &addr);
            break;
        }
        case 1: /* CONFIG_DATA; bit 6: a BAR value onto a special page (or the block) */
            if (kind & 0x40) {
                static const uint32_t onto[] = { (uint32_t)LAPIC, (uint32_t)IOMMU, 0xfec00000u,
                                                 (uint32_t)ECAM + (5 << 15), (uint32_t)ECAM, (uint32_t)HV_BASE };
                v32 = onto[(v32 >> 8) % 6] | (v32 & 0xf);
            }
            ptdev_conf1_io(&dev, (uint16_t)(0xcfc + (take(&s, 1) & 3)), sz > 4 ? 4 : sz, kind & 0x80, &v32);
            break;
        default: { /* MMIO near the windows, the ECAM pages, old and new BAR places */
            static const uint64_t bases[] = { BAR0, 0xd0000000ull, 0xfe000000ull, ECAM + (5 << 15), ECAM,
                                              ECAM + (31 << 15), HV_BASE - 0x1000, LAPIC - 0x1000, IOMMU - 0x1000 };
            uint64_t gpa = bases[take(&s, 1) % 9] + (take(&s, 3) % (2 * MAX_BAR));
            if (kind & 0x40) /* around the mirror's VT-d registers, where BAR0's window is now */
                gpa = dev.win[0].guest + MIRROR_VTD - 8 + take(&s, 1) % 0x28;
            if (ptdev_claims(&dev, gpa))
                ptdev_mmio(&dev, gpa, sz, kind & 0x80, &value, &k);
            break;
        }
        }
    }
    return 0;
}
