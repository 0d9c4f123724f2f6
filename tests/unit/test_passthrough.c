/* The passthrough model (hv/passthrough.c) over a fake machine: what it
 * maps and traps in the guest-physical map, what reaches the device's
 * config space and MSI-X table, what the guest reads back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <cmocka.h>

#include <minihv/x86.h>
#include "hv/passthrough.h"
#include "hv/special_pages.h"
#include "paging/paging.h"
#include "test_vfio_util.h"

#define BAR0     0xfebf0000ull
#define BAR0_SZ  0x4000ull
#define ECAM     0xb0000000ull
#define HV_BASE  0x40000000ull
#define HV_SIZE  0x04000000ull
#define ROM_PA   0x41000000ull /* inside the core's block, as the loader puts it */
#define ROM_SZ   0x8000ull
#define BAR2     0xfebf8000ull /* a sub-page BAR (256 bytes), when the test adds it */
#define BAR2_SZ  0x100ull
#define LAPIC    0xfee00000ull
#define IOMMU    0xfed90000ull
/* An IGD's GTTMMADR (BAR0, 64-bit) and the page of its MCHBAR mirror
 * (BAR0 + 0x140000, i915 MCHBAR_MIRROR_BASE_SNB) that holds GFXVTBAR
 * (+0x5400) and VTDPVC0BAR (+0x5410). */
#define IGD_BAR0    0xe0000000ull
#define IGD_BAR0_SZ 0x400000ull /* 4 MiB: Sandy Bridge's */
#define MIRROR_PAGE (IGD_BAR0 + 0x145000)

/* ---- the fake machine ---- */

enum op { OP_MAP, OP_TRAP, OP_IDENTITY };
struct map_call {
    enum op op;
    uint64_t gpa, hpa, size;
    uint32_t attrs;
};

struct fake {
    struct map_call calls[64];
    unsigned ncalls;
    unsigned flushes;
    uint8_t dev_cfg[4096];      /* the device's physical config space */
    uint8_t bridge_cfg[256];    /* 00:00.0 */
    uint16_t bridge_ext_write;  /* the last write past bridge_cfg (extended register) */
    uint32_t bridge_writes;
    uint8_t bar0[BAR0_SZ];      /* the device's BAR0 registers */
    uint8_t rom[ROM_SZ];
    uint8_t page2[4096];        /* the page that holds BAR2 (identity around it) */
    uint8_t mirror[0x2000];     /* an IGD's BAR0 from MIRROR_PAGE: the mirror's page and the next */
    unsigned host_accesses;
    uint16_t guard_lo, guard_hi; /* 00:00.0 registers guarded by the test */
    uint8_t dev_bus;            /* the device's bus (0, or 1 behind rp_cfg) */
    uint8_t rp_cfg[256];        /* a root port at 00:1c.0 when dev_bus is 1 */
    unsigned conf1_hw;          /* accesses for other functions */
    uint32_t conf1_hw_addr;
    char log[8][200];
    unsigned nlog;
};
static struct fake fk;
static struct special_pages fk_special; /* the machine's special pages */
static struct pt_device dev; /* big: static, as in the core */

static int f_map(void *o, uint64_t gpa, uint64_t hpa, uint64_t size, uint32_t attrs)
{
    (void)o;
    fk.calls[fk.ncalls++ % 64] = (struct map_call){ OP_MAP, gpa, hpa, size, attrs };
    return 0;
}
static int f_trap(void *o, uint64_t gpa, uint64_t size)
{
    (void)o;
    fk.calls[fk.ncalls++ % 64] = (struct map_call){ OP_TRAP, gpa, 0, size, 0 };
    return 0;
}
static int f_identity(void *o, uint64_t gpa, uint64_t size)
{
    (void)o;
    fk.calls[fk.ncalls++ % 64] = (struct map_call){ OP_IDENTITY, gpa, gpa, size, 0 };
    return 0;
}
static void f_flush(void *o)
{
    (void)o;
    fk.flushes++;
}
static uint8_t *cfg_of(uint8_t bus, uint8_t d, uint8_t fn)
{
    if (bus == fk.dev_bus && d == 5 && fn == 0)
        return fk.dev_cfg;
    if (bus == 0 && d == 0 && fn == 0)
        return fk.bridge_cfg;
    if (fk.dev_bus && bus == 0 && d == 0x1c && fn == 0)
        return fk.rp_cfg;
    return NULL;
}
static uint32_t f_cfg_read(void *o, uint8_t bus, uint8_t d, uint8_t fn, uint16_t off, unsigned size)
{
    (void)o;
    uint8_t *c = cfg_of(bus, d, fn);
    uint32_t v = 0;
    if (!c && fk.dev_bus)
        return ~0u; /* the bridge walk's scan: nothing there */
    assert_non_null(c);
    memcpy(&v, c + off, size);
    return v;
}
static void f_cfg_write(void *o, uint8_t bus, uint8_t d, uint8_t fn, uint16_t off, unsigned size, uint32_t v)
{
    (void)o;
    uint8_t *c = cfg_of(bus, d, fn);
    /* Never the IGD bridge; the host bridge only when the test guards it
     * (an IOMMU's relocation registers) and never inside the guard. */
    assert_true(c == fk.dev_cfg || (c == fk.rp_cfg && (off >= 0x40 || off + size <= 0x18)) ||
                (c == fk.bridge_cfg && fk.guard_hi && (off >= fk.guard_hi || off + size <= fk.guard_lo)));
    if (c == fk.bridge_cfg && off + size > sizeof(fk.bridge_cfg)) {
        fk.bridge_ext_write = off; /* extended space: not modelled, remembered */
        return;
    }
    memcpy(c + off, &v, size);
}
static void f_conf1(void *o, uint32_t addr, uint16_t port, unsigned size, bool in, uint32_t *value)
{
    (void)o;
    (void)port;
    (void)size;
    fk.conf1_hw++;
    fk.conf1_hw_addr = addr;
    if (in)
        *value = 0x12345678;
}
/* BAR0's registers, or BAR2's page; never across a page end. */
static uint8_t *host_bytes(uint64_t hpa, unsigned size)
{
    fk.host_accesses++;
    /* An IGD's BAR0 around the mirror page: a write may cross that page's
     * end into the next page of the same BAR, as on the hardware. */
    if (hpa >= MIRROR_PAGE && hpa + size <= MIRROR_PAGE + sizeof(fk.mirror))
        return fk.mirror + (hpa - MIRROR_PAGE);
    assert_true((hpa & ~0xfffull) == ((hpa + size - 1) & ~0xfffull));
    if (hpa >= BAR2 && hpa + size <= BAR2 + 4096)
        return fk.page2 + (hpa - BAR2);
    assert_true(hpa >= BAR0 && hpa + size <= BAR0 + BAR0_SZ);
    return fk.bar0 + (hpa - BAR0);
}
static uint64_t f_mmio_read(void *o, uint64_t hpa, unsigned size)
{
    (void)o;
    uint64_t v = 0;
    memcpy(&v, host_bytes(hpa, size), size);
    return v;
}
static void f_mmio_write(void *o, uint64_t hpa, unsigned size, uint64_t v)
{
    (void)o;
    memcpy(host_bytes(hpa, size), &v, size);
}
static const void *f_phys_ptr(void *o, uint64_t pa)
{
    (void)o;
    return pa == ROM_PA ? fk.rom : NULL;
}
static void f_log(void *o, const char *msg)
{
    (void)o;
    snprintf(fk.log[fk.nlog++ % 8], sizeof(fk.log[0]), "%s", msg);
}

static const struct pt_platform fake_platform = {
    f_map, f_trap, f_identity, f_flush, f_cfg_read, f_cfg_write, f_conf1,
    f_mmio_read, f_mmio_write, f_phys_ptr, f_log, NULL, &fk_special, 0,
};

/* NVMe at 00:05.0 as QEMU has it: BAR0 16 KiB, MSI-X 65 entries, table
 * at 0x2000, PBA at 0x3000. */
static void snapshot(struct minihv_passthrough *s, bool rom, bool igd)
{
    memset(s, 0, sizeof(*s));
    memset(&fk, 0, sizeof(fk));
    /* The core's block, the APIC page and a VT-d unit, as the core
     * registers them before the device (hv/ept.c, hv/iommu_hw.c). */
    memset(&fk_special, 0, sizeof(fk_special));
    special_add(&fk_special, SPECIAL_CORE_BLOCK, HV_BASE, HV_SIZE, SPECIAL_MAP_NONE);
    special_add(&fk_special, SPECIAL_LAPIC, LAPIC, 4096, SPECIAL_MAP_READ_ONLY);
    special_add(&fk_special, SPECIAL_IOMMU_REGS, IOMMU, 0x4000, SPECIAL_MAP_NONE);
    s->present = 1;
    s->dev = 5;
    s->cfg_len = 4096;
    cfg_nvme(s->cfg, sizeof(s->cfg), 65);
    memcpy(fk.dev_cfg, s->cfg, sizeof(fk.dev_cfg));
    s->bars[0] = (struct minihv_pt_bar){ BAR0, BAR0_SZ, 0, 1, 0, { 0 } };
    s->ecam_base = ECAM;
    s->ecam_bus_end = 255;
    if (rom) {
        s->rom_phys = ROM_PA;
        s->rom_region_size = ROM_SZ;
        s->rom_len = 0x6000;
        s->rom_source = MINIHV_PT_ROM_PCIIO;
        fk.rom[0] = 0x55;
        fk.rom[1] = 0xaa;
    }
    if (igd) {
        s->flags = MINIHV_PT_IGD | MINIHV_PT_IGD_FORCED;
        s->host_bridge.present = 1;
        fk.bridge_cfg[0] = 0x86;
        fk.bridge_cfg[1] = 0x80;
        fk.bridge_cfg[0x50] = 0x42;
        memcpy(s->host_bridge.cfg, fk.bridge_cfg, 256);
    }
}

static int find_call(enum op op, uint64_t gpa, uint64_t size)
{
    for (unsigned i = 0; i < fk.ncalls && i < 64; i++)
        if (fk.calls[i].op == op && fk.calls[i].gpa == gpa && fk.calls[i].size == size)
            return (int)i;
    return -1;
}

static uint32_t conf1_read(uint8_t d, uint16_t off, unsigned size)
{
    uint32_t a = 0x80000000u | (uint32_t)d << 11 | (off & 0xfc), v = 0;
    assert_int_equal(ptdev_conf1_io(&dev, 0xcf8, 4, false, &a), MINIHV_EXIT_IO);
    ptdev_conf1_io(&dev, (uint16_t)(0xcfc + (off & 3)), size, true, &v);
    return v;
}

static enum minihv_exit_kind conf1_write(uint8_t d, uint16_t off, unsigned size, uint32_t v)
{
    uint32_t a = 0x80000000u | (uint32_t)d << 11 | (off & 0xfc);
    ptdev_conf1_io(&dev, 0xcf8, 4, false, &a);
    return ptdev_conf1_io(&dev, (uint16_t)(0xcfc + (off & 3)), size, false, &v);
}

static bool mmio(uint64_t gpa, unsigned size, bool write, uint64_t *v, enum minihv_exit_kind *kind)
{
    return ptdev_mmio(&dev, gpa, size, write, v, kind);
}

/* ---- tests ---- */

static void test_init_maps_sparse_areas_and_traps_table(void **state)
{
    (void)state;
    struct minihv_passthrough s;
    snapshot(&s, false, false);
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), 0);
    /* The region info's sparse areas: [0, 0x2000) and [0x3000, 0x4000),
     * UC read-write; the whole BAR trapped first (the table page). */
    int trap = find_call(OP_TRAP, BAR0, BAR0_SZ);
    int lo = find_call(OP_MAP, BAR0, 0x2000), hi = find_call(OP_MAP, BAR0 + 0x3000, 0x1000);
    assert_true(trap >= 0 && lo > trap && hi > trap);
    assert_int_equal(fk.calls[lo].hpa, BAR0);
    assert_int_equal(fk.calls[hi].hpa, BAR0 + 0x3000);
    assert_int_equal(fk.calls[lo].attrs, PT_ATTRS(PT_READ | PT_WRITE, MEMTYPE_UC));
    assert_int_equal(find_call(OP_MAP, BAR0 + 0x2000, 0x1000), -1);
    /* The device's ECAM page is trapped. */
    assert_true(find_call(OP_TRAP, ECAM + (5 << 15), 4096) >= 0);
    assert_true(fk.flushes >= 1);
    assert_true(ptdev_claims(&dev, BAR0 + 0x2010));
    assert_false(ptdev_claims(&dev, BAR0 + BAR0_SZ));
    /* The regions as the log shows them, from GET_REGION_INFO. */
    char line[200];
    assert_true(ptdev_format_region(&dev, 0, line, sizeof(line)) > 0);
    assert_string_equal(line, "BAR0 16 KiB RW mmap sparse [0x0,0x2000) [0x3000,0x4000)");
    assert_true(ptdev_format_region(&dev, 7, line, sizeof(line)) > 0);
    assert_string_equal(line, "CONFIG 4 KiB RW");
    assert_int_equal(ptdev_format_region(&dev, 1, line, sizeof(line)), 0);
    assert_int_equal(ptdev_format_region(&dev, 6, line, sizeof(line)), 0); /* no ROM */
}

static void test_config_reads_and_other_functions(void **state)
{
    (void)state;
    struct minihv_passthrough s;
    snapshot(&s, false, false);
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), 0);
    assert_int_equal(conf1_read(5, 0, 4), 0x00101b36);
    assert_int_equal(conf1_read(5, 2, 2), 0x0010);
    assert_int_equal(dev.count.cfg_reads, 2);
    /* Another function: the hardware, with the guest's CONFIG_ADDRESS. */
    assert_int_equal(conf1_read(7, 0, 4), 0x12345678);
    assert_int_equal(fk.conf1_hw, 1);
    assert_int_equal(fk.conf1_hw_addr, 0x80000000u | 7 << 11);
    /* The same register through the ECAM page. */
    uint64_t v = 0;
    enum minihv_exit_kind k;
    assert_true(mmio(ECAM + (5 << 15) + 0, 4, false, &v, &k));
    assert_int_equal(k, MINIHV_EXIT_PT_CONFIG);
    assert_int_equal(v, 0x00101b36);
    /* A dword straddling CONFIG_DATA's end is refused, reads all-ones. */
    uint32_t a = 0x80000000u | 5 << 11, r = 0;
    ptdev_conf1_io(&dev, 0xcf8, 4, false, &a);
    assert_int_equal(ptdev_conf1_io(&dev, 0xcfe, 4, true, &r), MINIHV_EXIT_PT_CONFIG);
    assert_int_equal(r, 0xffffffffu);
    assert_int_equal(dev.count.refused, 1);
}

static void test_msix_table_goes_to_the_device_validated(void **state)
{
    (void)state;
    struct minihv_passthrough s;
    snapshot(&s, false, false);
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), 0);
    enum minihv_exit_kind k;
    /* Enable MSI-X (message control, capability + 2). */
    uint8_t pos = dev.vfio.config.msix_pos;
    assert_int_equal(conf1_write(5, pos + 2, 2, 0x8000 | 64), MINIHV_EXIT_PT_CONFIG);
    assert_int_equal(*(uint16_t *)(fk.dev_cfg + pos + 2) & 0x8000, 0x8000);
    uint64_t e1 = BAR0 + 0x2000 + 16;
    uint64_t v = 0xfee01000;
    assert_true(mmio(e1, 4, true, &v, &k));
    assert_int_equal(k, MINIHV_EXIT_PT_MSIX);
    v = 0;
    assert_true(mmio(e1 + 4, 4, true, &v, &k));
    v = 0x4041;
    assert_true(mmio(e1 + 8, 4, true, &v, &k));
    v = 0; /* unmask */
    assert_true(mmio(e1 + 12, 4, true, &v, &k));
    uint32_t phys[4];
    memcpy(phys, fk.bar0 + 0x2010, 16);
    assert_int_equal(phys[0], 0xfee01000);
    assert_int_equal(phys[2], 0x4041);
    assert_int_equal(phys[3] & 1, 0);
    /* The guest reads back its own entry. */
    assert_true(mmio(e1 + 8, 4, false, &v, &k));
    assert_int_equal(v, 0x4041);
    /* An address outside the MSI window never reaches the table. */
    uint64_t e2 = BAR0 + 0x2000 + 32;
    v = 0x40000000; /* the core's block */
    mmio(e2, 4, true, &v, &k);
    v = 0x55;
    mmio(e2 + 8, 4, true, &v, &k);
    v = 0;
    mmio(e2 + 12, 4, true, &v, &k);
    memcpy(phys, fk.bar0 + 0x2020, 16);
    assert_int_equal(phys[0], 0);
    assert_int_equal(dev.vfio.msix.refused, 1);
    assert_int_equal(dev.count.msix_writes, 7);
    assert_int_equal(dev.count.msix_reads, 1);
    assert_int_equal(dev.count.msix_bytes, 32);
    assert_int_equal(dev.count.bar_exits, 0);
    /* The hardware's table as MINIHV_HC_PT_MSIX_CHECK reads it: entry 1
     * unmasked and valid, nothing refused; a bad message put there behind
     * the core's back (what a core bug would leave) is found. */
    for (unsigned i = 0; i < 65; i++)
        if (i != 1)
            fk.bar0[0x2000 + i * 16 + 12] |= 1;
    unsigned bad = 99, unmasked = 99;
    assert_int_equal(ptdev_msix_physical_check(&dev, &bad, &unmasked), 65);
    assert_int_equal(bad, 0);
    assert_int_equal(unmasked, 1);
    uint32_t forged[4] = { 0x40000000, 0, 0x55, 0 };
    memcpy(fk.bar0 + 0x2030, forged, 16);
    assert_int_equal(ptdev_msix_physical_check(&dev, &bad, &unmasked), 65);
    assert_int_equal(bad, 1);
    assert_int_equal(unmasked, 2);
    forged[0] = 0xfee00000;
    forged[2] = 0x500; /* INIT */
    memcpy(fk.bar0 + 0x2030, forged, 16);
    ptdev_msix_physical_check(&dev, &bad, &unmasked);
    assert_int_equal(bad, 1);
}

static void test_bar_move_follows_and_guards_host_window(void **state)
{
    (void)state;
    struct minihv_passthrough s;
    snapshot(&s, false, false);
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), 0);
    fk.ncalls = 0;
    /* Sizing with decode off (as Linux and OVMF do): nothing is mapped. */
    assert_int_equal(conf1_write(5, 0x04, 2, 0x0004), MINIHV_EXIT_PT_CONFIG); /* memory off */
    assert_true(find_call(OP_TRAP, BAR0, BAR0_SZ) >= 0); /* host window guarded */
    conf1_write(5, 0x10, 4, 0xffffffff);
    assert_int_equal(conf1_read(5, 0x10, 4), (uint32_t)(~(BAR0_SZ - 1) | 4));
    unsigned maps = 0;
    for (unsigned i = 0; i < fk.ncalls; i++)
        maps += fk.calls[i].op == OP_MAP;
    assert_int_equal(maps, 0);
    /* Placed at 0xd0000000 and decoding: mapped there to the host BAR. */
    conf1_write(5, 0x10, 4, 0xd0000004);
    conf1_write(5, 0x04, 2, 0x0006);
    int m = find_call(OP_MAP, 0xd0000000, 0x2000);
    assert_true(m >= 0);
    assert_int_equal(fk.calls[m].hpa, BAR0);
    /* The physical BAR never moved. */
    assert_int_equal(*(uint32_t *)(fk.dev_cfg + 0x10), (uint32_t)BAR0 | 4);
    /* The old place: all-ones, counted; the new one reaches the table model. */
    uint64_t v = 0;
    enum minihv_exit_kind k;
    assert_true(mmio(BAR0 + 0x10, 4, false, &v, &k));
    assert_int_equal(v, 0xffffffffu);
    assert_int_equal(k, MINIHV_EXIT_PT_BAR);
    assert_int_equal(dev.count.bar_exits, 1);
    assert_true(mmio(0xd0002000, 4, false, &v, &k));
    assert_int_equal(k, MINIHV_EXIT_PT_MSIX);
    /* Moving away from 0xd0000000 gives it back to the identity map. */
    fk.ncalls = 0;
    conf1_write(5, 0x10, 4, 0xe0000004);
    assert_true(find_call(OP_IDENTITY, 0xd0000000, BAR0_SZ) >= 0);
    assert_true(find_call(OP_MAP, 0xe0000000, 0x2000) >= 0);
    /* A BAR over the core's block is refused and said so. */
    conf1_write(5, 0x10, 4, (uint32_t)HV_BASE | 4);
    assert_int_equal(find_call(OP_MAP, HV_BASE, 0x2000), -1);
    assert_true(dev.count.refused >= 1);
    assert_non_null(strstr(fk.log[(fk.nlog - 1) % 8], "hypervisor"));
}

static void test_rom_mapped_read_only_and_writes_dropped(void **state)
{
    (void)state;
    struct minihv_passthrough s;
    snapshot(&s, true, false);
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), 0);
    /* ROM BAR reads as a 32 KiB BAR, disabled. */
    conf1_write(5, 0x30, 4, 0xfffff800);
    assert_int_equal(conf1_read(5, 0x30, 4), (uint32_t)~(ROM_SZ - 1));
    conf1_write(5, 0x30, 4, 0xfe000001);
    int m = find_call(OP_MAP, 0xfe000000, ROM_SZ);
    assert_true(m >= 0);
    assert_int_equal(fk.calls[m].hpa, ROM_PA);
    assert_int_equal(fk.calls[m].attrs, PT_ATTRS(PT_READ, MEMTYPE_WB));
    /* The device's own ROM BAR is untouched. */
    assert_int_equal(*(uint32_t *)(fk.dev_cfg + 0x30), 0);
    uint64_t v = 0xdead;
    enum minihv_exit_kind k;
    assert_true(mmio(0xfe000000, 2, true, &v, &k));
    assert_int_equal(dev.count.rom_writes_dropped, 1);
    assert_true(mmio(0xfe000000, 2, false, &v, &k));
    assert_int_equal(v, 0xaa55);
}

static void test_igd_bridge_read_only_and_asls(void **state)
{
    (void)state;
    struct minihv_passthrough s;
    snapshot(&s, false, true);
    s.opregion_phys = 0; /* no OpRegion: bridges only */
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), 0);
    assert_true(find_call(OP_TRAP, ECAM, 4096) >= 0);
    assert_int_equal(conf1_read(0, 0x50, 1), 0x42);
    assert_int_equal(conf1_write(0, 0x50, 1, 0x99), MINIHV_EXIT_PT_CONFIG);
    assert_int_equal(fk.bridge_cfg[0x50], 0x42);
    uint64_t v = 0x77;
    enum minihv_exit_kind k;
    assert_true(mmio(ECAM + 0x50, 1, true, &v, &k));
    assert_int_equal(fk.bridge_cfg[0x50], 0x42);
    assert_int_equal(dev.count.bridge_writes_dropped, 2);
    char line[400];
    ptdev_format_summary(&dev, line, sizeof(line));
    assert_non_null(strstr(line, "passthrough 00:05.0 1b36:0010 "));
    assert_non_null(strstr(line, "bridge-writes-dropped=2"));
}

static void test_bad_snapshot_refused_with_reason(void **state)
{
    (void)state;
    struct minihv_passthrough s;
    snapshot(&s, false, false);
    s.cfg_len = 100;
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), -1);
    assert_non_null(strstr(fk.log[0], "cfg_len 100"));
    assert_int_equal(fk.ncalls, 0);
    assert_false(ptdev_claims(&dev, BAR0));
    /* An MSI-X table in a BAR the loader found absent: refused. */
    snapshot(&s, false, false);
    s.bars[0].size = 0;
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), -1);
    assert_non_null(strstr(fk.log[0], "MSI-X table in BAR0"));
    assert_int_equal(fk.ncalls, 0);
    /* A ROM whose size is no power of two: the device goes on, no ROM. */
    snapshot(&s, true, false);
    s.rom_region_size = 0x7000;
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), 0);
    assert_non_null(strstr(fk.log[0], "rom_region_size"));
    conf1_write(5, 0x30, 4, 0xfffff800);
    assert_int_equal(conf1_read(5, 0x30, 4), 0);
}

static unsigned count_op(enum op op, uint64_t gpa, uint64_t size)
{
    unsigned n = 0;
    for (unsigned i = 0; i < fk.ncalls && i < 64; i++)
        n += fk.calls[i].op == op && fk.calls[i].gpa < gpa + size && gpa < fk.calls[i].gpa + fk.calls[i].size;
    return n;
}

/* Issue 14, path 5: a BAR moved onto the APIC page, an IOMMU register
 * page, its own ECAM page or another window is refused (counted); one
 * that leaves a page the registry holds gives back what the registry
 * says, never plain identity. */
static void test_bar_placement_special(void **state)
{
    (void)state;
    struct minihv_passthrough s;
    snapshot(&s, true, false);
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), 0);
    /* The model put its ECAM page in the registry. */
    const struct special_page *e = special_find(&fk_special, ECAM + (5 << 15), 1);
    assert_non_null(e);
    assert_int_equal(e->kind, SPECIAL_ECAM_DEVICE);
    static const struct {
        uint64_t at;
        const char *why;
    } bad[] = {
        { LAPIC, "lapic" },
        { IOMMU, "iommu-regs" },
        { ECAM + (5 << 15), "ecam-device" },
        { HV_BASE + 0x100000, "hypervisor" },
    };
    for (unsigned k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        fk.ncalls = 0;
        uint64_t before = dev.count.placement_refused;
        conf1_write(5, 0x10, 4, (uint32_t)bad[k].at | 4);
        conf1_write(5, 0x14, 4, (uint32_t)(bad[k].at >> 32));
        assert_int_equal(count_op(OP_MAP, bad[k].at, BAR0_SZ), 0);
        assert_int_equal(count_op(OP_IDENTITY, bad[k].at, BAR0_SZ), 0);
        assert_int_equal(dev.count.placement_refused, before + 1);
        assert_non_null(strstr(fk.log[(fk.nlog - 1) % 8], bad[k].why));
        /* The page answers as before: the model does not claim it. */
        assert_false(ptdev_claims(&dev, bad[k].at + 0x10) && bad[k].at != ECAM + (5 << 15));
    }
    /* The ROM over BAR0's window: another window of the device. */
    conf1_write(5, 0x10, 4, 0xd0000004);
    conf1_write(5, 0x14, 4, 0);
    assert_true(find_call(OP_MAP, 0xd0000000, 0x2000) >= 0);
    uint64_t before = dev.count.placement_refused;
    conf1_write(5, 0x30, 4, 0xd0000001);
    for (unsigned i = 0; i < fk.ncalls && i < 64; i++) /* BAR0's own maps only, never the ROM copy */
        assert_false(fk.calls[i].op == OP_MAP && fk.calls[i].hpa == ROM_PA);
    assert_int_equal(dev.count.placement_refused, before + 1);
    assert_non_null(strstr(fk.log[(fk.nlog - 1) % 8], "another window"));

    /* A page registered while the window was over it (an IOMMU unit the
     * core adds after the device): leaving gives it back as the registry
     * says, read-only or trapped, and only the rest goes to identity. */
    special_add(&fk_special, SPECIAL_LAPIC, 0xd0001000, 0x1000, SPECIAL_MAP_READ_ONLY);
    special_add(&fk_special, SPECIAL_IOMMU_REGS, 0xd0003000, 0x1000, SPECIAL_MAP_NONE);
    fk.ncalls = 0;
    conf1_write(5, 0x10, 4, 0xe0000004);
    assert_true(find_call(OP_IDENTITY, 0xd0000000, 0x1000) >= 0);
    int ro = find_call(OP_MAP, 0xd0001000, 0x1000);
    assert_true(ro >= 0);
    assert_int_equal(fk.calls[ro].hpa, 0xd0001000);
    assert_int_equal(fk.calls[ro].attrs, PT_ATTRS(PT_READ | PT_EXEC, MEMTYPE_UC));
    assert_true(find_call(OP_IDENTITY, 0xd0002000, 0x1000) >= 0);
    assert_true(find_call(OP_TRAP, 0xd0003000, 0x1000) >= 0);
    assert_int_equal(count_op(OP_IDENTITY, 0xd0001000, 0x1000), 0);
    assert_int_equal(count_op(OP_IDENTITY, 0xd0003000, 0x1000), 0);
    char line[400];
    ptdev_format_summary(&dev, line, sizeof(line));
    assert_non_null(strstr(line, "placement-refused=5"));
}

/* Issue 14, path 5: the rest of a sub-page BAR's trapped page reaches the
 * hardware only inside that page and outside the window; 8 bytes at the
 * page end - 4 (the next page may be the block) are refused. */
static void test_subpage_page_bound(void **state)
{
    (void)state;
    struct minihv_passthrough s;
    snapshot(&s, false, false);
    cfg_w32(s.cfg, 0x18, (uint32_t)BAR2);
    memcpy(fk.dev_cfg, s.cfg, sizeof(fk.dev_cfg));
    s.bars[2] = (struct minihv_pt_bar){ BAR2, BAR2_SZ, 0, 0, 0, { 0 } };
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), 0);
    assert_true(dev.win[2].mapped);
    assert_true(find_call(OP_TRAP, BAR2, 0x1000) >= 0);
    assert_true(ptdev_claims(&dev, BAR2 + 0xffc));
    enum minihv_exit_kind k;
    uint64_t v = 0;
    fk.page2[0xffc] = 0x11;
    fk.host_accesses = 0;
    /* Inside the page, outside the window: the hardware there. */
    assert_true(mmio(BAR2 + 0xffc, 4, false, &v, &k));
    assert_int_equal(v, 0x11);
    assert_int_equal(fk.host_accesses, 1);
    /* Across the page end: refused, all-ones, nothing touched. */
    assert_true(mmio(BAR2 + 0xffc, 8, false, &v, &k));
    assert_int_equal(v, ~0ull);
    v = 0x1122334455667788ull;
    assert_true(mmio(BAR2 + 0xffc, 8, true, &v, &k));
    assert_int_equal(fk.host_accesses, 1);
    assert_int_equal(fk.page2[0xffc], 0x11);
    /* Into the window from below its page part: refused too. */
    v = 0;
    assert_true(mmio(BAR2 + BAR2_SZ - 4, 8, false, &v, &k)); /* in the window, past its end */
    assert_int_equal(v, ~0ull);
    assert_int_equal(fk.host_accesses, 1);
    assert_int_equal(dev.count.bounds_refused, 2);
    /* Inside the window: the region, at the host BAR. */
    assert_true(mmio(BAR2 + 0x10, 4, false, &v, &k));
    assert_int_equal(fk.host_accesses, 2);
}

/* Review R, finding 3: the device at 01:05.0 behind a root port at 00:1c.0
 * (secondary = subordinate = 1). The root port's bus numbers, windows and
 * Bridge Control take no write (path writes), through CF8/CFC or its ECAM
 * page (trapped, in the registry as ecam-bridge); its command register
 * does. */
static void test_bridge_path_guarded(void **state)
{
    (void)state;
    struct minihv_passthrough s;
    snapshot(&s, false, false);
    s.bus = 1;
    fk.dev_bus = 1;
    fk.rp_cfg[0] = 0x86, fk.rp_cfg[1] = 0x80, fk.rp_cfg[0x0e] = 0x01;
    fk.rp_cfg[0x19] = 1, fk.rp_cfg[0x1a] = 1;
    fk.bridge_cfg[0] = 0x86, fk.bridge_cfg[1] = 0x80;
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), 0);
    assert_int_equal(ptdev_guard_bridge_path(&dev), 1);
    const uint64_t rp_page = ECAM + (0x1cull << 15);
    const struct special_page *e = special_find(&fk_special, rp_page, 1);
    assert_non_null(e);
    assert_int_equal(e->kind, SPECIAL_ECAM_BRIDGE);
    uint32_t a = 0x80000000u | 0x1cu << 11 | 0x18, v = 0x00404000;
    ptdev_conf1_io(&dev, 0xcf8, 4, false, &a);
    ptdev_conf1_io(&dev, 0xcfc, 4, false, &v); /* renumber */
    uint64_t w = 0x40;
    enum minihv_exit_kind k;
    assert_true(mmio(rp_page + 0x3e, 1, true, &w, &k)); /* secondary bus reset */
    w = 0xfff0;
    assert_true(mmio(rp_page + 0x20, 4, true, &w, &k)); /* memory window */
    assert_int_equal(fk.rp_cfg[0x19], 1);
    assert_int_equal(fk.rp_cfg[0x3e], 0);
    assert_int_equal(fk.rp_cfg[0x20], 0);
    assert_int_equal(dev.count.guarded_writes_dropped[PT_GUARD_PATH], 3);
    w = 0x0006;
    assert_true(mmio(rp_page + 0x04, 2, true, &w, &k)); /* command: the hardware's */
    assert_int_equal(fk.rp_cfg[0x04], 6);
    assert_true(mmio(rp_page + 0x18, 4, false, &w, &k));
    assert_int_equal(w, 0x00010100);
    /* No bridge leads to the device's bus: -1. */
    fk.rp_cfg[0x19] = 2, fk.rp_cfg[0x1a] = 2;
    assert_int_equal(ptdev_guard_bridge_path(&dev), -1);
}

/* Review R, finding 8: a guest that moves BAR0 onto the APIC page again
 * and again gets each move refused and counted, but only the first
 * PT_SAY_LIMIT lines (said under pt_lock, on a slow serial log). */
static void test_refusal_lines_limited(void **state)
{
    (void)state;
    struct minihv_passthrough s;
    snapshot(&s, false, false);
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), 0);
    unsigned lines = fk.nlog;
    uint64_t before = dev.count.placement_refused;
    for (unsigned k = 0; k < 3 * PT_SAY_LIMIT; k++) {
        conf1_write(5, 0x10, 4, (uint32_t)LAPIC | 4);
        conf1_write(5, 0x10, 4, (uint32_t)BAR0 | 4); /* back, mapped */
    }
    assert_int_equal(dev.count.placement_refused, before + 3 * PT_SAY_LIMIT);
    assert_int_equal(fk.nlog - lines, PT_SAY_LIMIT);
    assert_non_null(strstr(fk.log[(fk.nlog - 1) % 8], "lapic (later ones only counted)"));
}

/* Review R, finding 5: a sub-page BAR the guest moves above the core's
 * map (host_top; a 64-bit BAR may go up to 2^52) leaves the rest of its
 * page trapped, and the core cannot reach the hardware there: refused
 * (all-ones, dropped, bounds_refused), never an access (in the core a
 * page fault under pt_lock). */
static void test_subpage_above_host_top(void **state)
{
    (void)state;
    struct minihv_passthrough s;
    snapshot(&s, false, false);
    cfg_w32(s.cfg, 0x18, (uint32_t)BAR2);
    memcpy(fk.dev_cfg, s.cfg, sizeof(fk.dev_cfg));
    s.bars[2] = (struct minihv_pt_bar){ BAR2, BAR2_SZ, 0, 0, 0, { 0 } };
    struct pt_platform hw = fake_platform;
    hw.host_top = BAR2 + 0x1000; /* the original page is inside, the next ones are not */
    assert_int_equal(ptdev_init(&dev, &s, &hw, HV_BASE, HV_SIZE), 0);
    const uint64_t high = BAR2 + 0x2000;
    conf1_write(5, 0x18, 4, (uint32_t)high);
    assert_true(dev.win[2].mapped);
    assert_int_equal(dev.win[2].guest, high);
    assert_true(ptdev_claims(&dev, high + 0xffc));
    enum minihv_exit_kind k;
    uint64_t v = 0;
    fk.host_accesses = 0;
    /* The rest of the page, above host_top: refused, nothing touched. */
    assert_true(mmio(high + 0xffc, 4, false, &v, &k));
    assert_int_equal(v, 0xffffffffull);
    v = 0x55;
    assert_true(mmio(high + 0x800, 1, true, &v, &k));
    assert_int_equal(fk.host_accesses, 0);
    assert_int_equal(dev.count.bounds_refused, 2);
    /* Inside the window: the region, at the host BAR (below host_top). */
    assert_true(mmio(high + 0x10, 4, false, &v, &k));
    assert_int_equal(fk.host_accesses, 1);
}

/* Issue 14, path 1: the registers that place an IOMMU's register set (here
 * Intel's MCHBAR, 00:00.0 0x48) read through and never take a write, by
 * CF8/CFC or by the ECAM page, which is trapped and registered; other
 * registers of that function are written as before. */
static void test_guarded_config(void **state)
{
    (void)state;
    struct minihv_passthrough s;
    snapshot(&s, false, false);
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), 0);
    fk.guard_lo = 0x48;
    fk.guard_hi = 0x50;
    fk.bridge_cfg[0x48] = 0x01;
    fk.bridge_cfg[0x4a] = 0xd1;
    fk.ncalls = 0;
    assert_int_equal(ptdev_guard_config(&dev, PT_GUARD_IOMMU, 0, 0, 0, 0x48, 0x50), 0);
    assert_true(find_call(OP_TRAP, ECAM, 4096) >= 0);
    const struct special_page *e = special_find(&fk_special, ECAM, 1);
    assert_non_null(e);
    assert_int_equal(e->kind, SPECIAL_ECAM_IOMMU);
    /* Reads through, by either path. */
    assert_int_equal(conf1_read(0, 0x48, 4), 0x00d10001);
    uint64_t v = 0;
    enum minihv_exit_kind k;
    assert_true(mmio(ECAM + 0x48, 4, false, &v, &k));
    assert_int_equal(v, 0x00d10001);
    /* Writes into the guard: dropped and counted; a byte that overlaps it too. */
    assert_int_equal(conf1_write(0, 0x48, 4, 0xfed10001), MINIHV_EXIT_PT_CONFIG);
    v = 0xfe;
    assert_true(mmio(ECAM + 0x4c, 1, true, &v, &k));
    assert_int_equal(fk.bridge_cfg[0x4a], 0xd1);
    assert_int_equal(fk.bridge_cfg[0x4c], 0);
    assert_int_equal(dev.count.guarded_writes_dropped[PT_GUARD_IOMMU], 2);
    assert_int_equal(dev.count.guarded_writes_dropped[PT_GUARD_PM_BLOCK], 0);
    /* Outside the guard: the hardware. */
    assert_int_equal(conf1_write(0, 0x50, 1, 0x42), MINIHV_EXIT_PT_CONFIG);
    assert_int_equal(fk.bridge_cfg[0x50], 0x42);
    /* The device itself, a bad range: refused. */
    assert_int_equal(ptdev_guard_config(&dev, PT_GUARD_IOMMU, 0, 5, 0, 0x40, 0x44), -1);
    assert_int_equal(ptdev_guard_config(&dev, PT_GUARD_IOMMU, 0, 0, 0, 0x50, 0x48), -1);
    assert_int_equal(ptdev_guard_config(&dev, PT_GUARD_KINDS, 0, 0, 0, 0x40, 0x48), -1);
    /* A BAR may not go onto that ECAM page now. */
    conf1_write(5, 0x10, 4, (uint32_t)ECAM | 4);
    assert_int_equal(count_op(OP_MAP, ECAM, BAR0_SZ), 0);
    assert_int_equal(dev.count.guarded_writes_dropped[PT_GUARD_PATH], 0);
}

/* Review R, finding 2: PCIEXBAR (00:00.0 0x60-0x67) moves ECAM, and with it
 * the device's config path: read through, writes dropped and counted as
 * path writes too (the core's config-guard), next to an IOMMU guard on the
 * same function. */
static void test_guarded_config_path(void **state)
{
    (void)state;
    struct minihv_passthrough s;
    snapshot(&s, false, false);
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), 0);
    fk.guard_lo = 0x48;
    fk.guard_hi = 0x68; /* the fake's own check: both guards, and the gap between them unwritten here */
    fk.bridge_cfg[0x60] = 0x01;
    fk.bridge_cfg[0x63] = 0xb0;
    assert_int_equal(ptdev_guard_config(&dev, PT_GUARD_IOMMU, 0, 0, 0, 0x48, 0x50), 0);
    assert_int_equal(ptdev_guard_config(&dev, PT_GUARD_PATH, 0, 0, 0, 0x60, 0x68), 0);
    assert_int_equal(conf1_read(0, 0x60, 4), 0xb0000001);
    assert_int_equal(conf1_write(0, 0x60, 4, 0xe0000001), MINIHV_EXIT_PT_CONFIG);
    uint64_t v = 1;
    enum minihv_exit_kind k;
    assert_true(mmio(ECAM + 0x64, 4, true, &v, &k)); /* the high dword */
    v = 0xe0;
    assert_true(mmio(ECAM + 0x63, 1, true, &v, &k));
    assert_int_equal(fk.bridge_cfg[0x63], 0xb0);
    assert_int_equal(fk.bridge_cfg[0x64], 0);
    assert_int_equal(dev.count.guarded_writes_dropped[PT_GUARD_PATH], 3);
    /* The IOMMU guard's drops are not path writes. */
    assert_int_equal(conf1_write(0, 0x48, 4, 0), MINIHV_EXIT_PT_CONFIG);
    assert_int_equal(dev.count.guarded_writes_dropped[PT_GUARD_IOMMU], 1);
    assert_int_equal(dev.count.guarded_writes_dropped[PT_GUARD_PATH], 3);
}

/* The ACPI I/O block's placement (Intel PMBASE 0x40 and ACPI_CNTL 0x44 of
 * the LPC bridge or PMC; the fake has config space for 00:00.0 only, the
 * model does not care which function): writes to 0x40-0x47 by CF8/CFC
 * (dword, byte at ACPI_CNTL) and by ECAM (word at PMBASE)
 * dropped and counted as the PM block's, not the IOMMU's; the page is
 * ecam-pm in the registry; 0x48 on is written. */
/* 00:00.0 (the fake's one other function) as an ICH's PMBASE/ACPI_CNTL
 * owner, guarded PT_GUARD_PM_BLOCK: its ECAM page trapped as ecam-pm, 3
 * writes (CF8/CFC dword and byte, ECAM word) dropped and counted, reads
 * and the registers past the guard through. With a device or without. */
/* 00:00.0's PMBASE 0x600 and ACPI_EN in [0x40,0x48), guarded as the ACPI
 * I/O block's registers. */
static void guard_pm_block(void)
{
    fk.guard_lo = 0x40;
    fk.guard_hi = 0x48;
    fk.bridge_cfg[0x40] = 0x01;
    fk.bridge_cfg[0x41] = 0x06; /* PMBASE 0x600, I/O space */
    fk.bridge_cfg[0x44] = 0x80; /* ACPI_EN */
    assert_int_equal(ptdev_guard_config(&dev, PT_GUARD_PM_BLOCK, 0, 0, 0, 0x40, 0x48), 0);
}

static void check_pm_block_guarded(void)
{
    guard_pm_block();
    assert_true(find_call(OP_TRAP, ECAM, 4096) >= 0);
    const struct special_page *e = special_find(&fk_special, ECAM, 1);
    assert_non_null(e);
    assert_int_equal(e->kind, SPECIAL_ECAM_PM);
    assert_string_equal(special_kind_name(e->kind), "ecam-pm");
    assert_true(ptdev_claims(&dev, ECAM + 0x40));
    assert_int_equal(conf1_read(0, 0x40, 4), 0x0601);
    assert_int_equal(conf1_write(0, 0x40, 4, 0x0701), MINIHV_EXIT_PT_CONFIG);
    assert_int_equal(conf1_write(0, 0x44, 1, 0x00), MINIHV_EXIT_PT_CONFIG);
    uint64_t v = 0x0701;
    enum minihv_exit_kind k;
    assert_true(mmio(ECAM + 0x40, 2, true, &v, &k));
    assert_int_equal(k, MINIHV_EXIT_PT_CONFIG);
    assert_int_equal(fk.bridge_cfg[0x41], 0x06);
    assert_int_equal(fk.bridge_cfg[0x44], 0x80);
    assert_int_equal(dev.count.guarded_writes_dropped[PT_GUARD_PM_BLOCK], 3);
    assert_int_equal(dev.count.guarded_writes_dropped[PT_GUARD_IOMMU], 0);
    assert_int_equal(conf1_write(0, 0x48, 1, 0x5a), MINIHV_EXIT_PT_CONFIG);
    assert_int_equal(fk.bridge_cfg[0x48], 0x5a);
}

static void test_guarded_pm_block(void **state)
{
    (void)state;
    struct minihv_passthrough s;
    snapshot(&s, false, false);
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), 0);
    check_pm_block_guarded();
    char line[400];
    ptdev_format_summary(&dev, line, sizeof(line));
    assert_non_null(strstr(line, "guarded-writes-dropped=0 pm-writes-dropped=3"));
}

/* Review R3, finding 1: CONFIG_ADDRESS bits 27:24 are reserved and
 * ignored on Intel chipsets, the PIIX4, QEMU and Bochs (PCI 3.0
 * 3.2.2.3.2); only AMD's NB_CFG EnableCf8ExtCfg makes them register bits
 * 11:8. CF8 0x8f000040 is register 0x40 (PMBASE) to such a chipset, so
 * the guard must see 0x40 and drop the write: the model took it for
 * register 0xf40, passed it on, and the conf1 path put the bits back for
 * a chipset that ignores them (Bochs PIIX4: PMBA 0xb001 -> 0xb801). With
 * the extension decoded, 0xf40 is what the hardware writes too. */
static void test_guarded_conf1_ext_bits(void **state)
{
    (void)state;
    struct minihv_passthrough s;
    snapshot(&s, false, false);
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), 0);
    guard_pm_block();
    for (uint32_t ext = 1; ext < 16; ext++) {
        uint32_t a = 0x80000000u | ext << 24 | 0x40, v = 0x0e01;
        ptdev_conf1_io(&dev, 0xcf8, 4, false, &a);
        assert_int_equal(ptdev_conf1_io(&dev, 0xcfc, 4, false, &v), MINIHV_EXIT_PT_CONFIG);
        a = 0x80000000u | ext << 24 | 0x44, v = 0;
        ptdev_conf1_io(&dev, 0xcf8, 4, false, &a);
        assert_int_equal(ptdev_conf1_io(&dev, 0xcfd, 1, false, &v), MINIHV_EXIT_PT_CONFIG);
    }
    assert_int_equal(fk.bridge_cfg[0x41], 0x06);
    assert_int_equal(dev.count.guarded_writes_dropped[PT_GUARD_PM_BLOCK], 30);
    assert_int_equal(conf1_register(0x8f000b41, 0xcfd, false), 0x41);
    /* An AMD chipset with the extension on: register 0xf40, not guarded. */
    dev.conf1_ext_regs = true;
    uint32_t a = 0x8f000040, v = 0x0e01;
    ptdev_conf1_io(&dev, 0xcf8, 4, false, &a);
    assert_int_equal(ptdev_conf1_io(&dev, 0xcfc, 4, false, &v), MINIHV_EXIT_PT_CONFIG);
    assert_int_equal(fk.bridge_ext_write, 0xf40);
    assert_int_equal(dev.count.guarded_writes_dropped[PT_GUARD_PM_BLOCK], 30);
    assert_int_equal(fk.bridge_cfg[0x41], 0x06);
    assert_int_equal(conf1_register(0x8f000b41, 0xcfd, true), 0xf41);
}

/* Review R4, F4: with the model keeping CONFIG_ADDRESS (no ECAM), a
 * dword at 0xcfa covers CONFIG_DATA bytes 0-1 (a real CPU splits it at
 * the dword boundary); the latch is the guarded PMBASE, so the data half
 * must be judged by the guard, not passed on whole. */
static void test_conf1_split_at_cfa(void **state)
{
    (void)state;
    struct minihv_passthrough s;
    snapshot(&s, false, false);
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), 0);
    guard_pm_block();
    uint32_t a = 0x80000040u, v = 0x0e010000u;
    ptdev_conf1_io(&dev, 0xcf8, 4, false, &a);
    unsigned hw_before = fk.conf1_hw;
    ptdev_conf1_io(&dev, 0xcfa, 4, false, &v);
    /* 0xcfa and 0xcfb to the hardware a byte each, 0xcfc-0xcfd through
     * the model's latch: the guarded PMBASE, dropped. */
    assert_int_equal(fk.conf1_hw, hw_before + 2);
    assert_int_equal(dev.count.guarded_writes_dropped[PT_GUARD_PM_BLOCK], 1);
    /* A read: the upper half is the latched register's. */
    v = 0;
    ptdev_conf1_io(&dev, 0xcfa, 4, true, &v);
    assert_int_equal(v >> 16, 0x0601);
    /* A dword at 0xcfb: 0xcfb to the hardware, then 0xcfc-0xcfe a byte
     * each through the model (no 3-byte access anywhere, review R5): each
     * on the guarded PMBASE/ACPI_CNTL range, dropped. */
    uint64_t dropped = dev.count.guarded_writes_dropped[PT_GUARD_PM_BLOCK];
    a = 0x80000040u;
    ptdev_conf1_io(&dev, 0xcf8, 4, false, &a);
    v = 0x5a0e0100u;
    ptdev_conf1_io(&dev, 0xcfb, 4, false, &v);
    assert_int_equal(fk.conf1_hw, hw_before + 2 + 2 + 1);
    assert_int_equal(dev.count.guarded_writes_dropped[PT_GUARD_PM_BLOCK], dropped + 3);
}

/* Review R, finding 11: an entry the firmware left unmasked in the
 * physical MSI-X table (here an address in the core's block) is masked at
 * init, with Memory Space on meanwhile; the guest's MSI-X Enable sends
 * nothing from it, and only the guest's validated entry unmasks it. */
static void test_msix_physical_masked_at_init(void **state)
{
    (void)state;
    struct minihv_passthrough s;
    snapshot(&s, false, false);
    uint32_t left[4] = { 0x40000000, 0, 0x55, 0x0 }; /* unmasked, into the block */
    memcpy(fk.bar0 + 0x2000 + 3 * 16, left, 16);
    fk.bar0[0x2000 + 7 * 16 + 12] = 0x1; /* one already masked */
    fk.dev_cfg[0x04] = 0x04;             /* Memory Space off, as a firmware may leave it */
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), 0);
    for (unsigned i = 0; i < 65; i++)
        assert_int_equal(fk.bar0[0x2000 + i * 16 + 12] & 1, 1);
    assert_int_equal(*(uint32_t *)(fk.bar0 + 0x2000 + 3 * 16), 0x40000000); /* left, masked */
    assert_int_equal(fk.dev_cfg[0x04], 0x04);                                /* put back */
    unsigned bad = 99, unmasked = 99;
    assert_int_equal(ptdev_msix_physical_check(&dev, &bad, &unmasked), 65);
    assert_int_equal(unmasked, 0);
    bool said = false;
    for (unsigned i = 0; i < 8; i++)
        said |= strstr(fk.log[i], "MSI-X: 64 of 65 physical entries were unmasked") != NULL;
    assert_true(said);
    /* MSI-X Enable: entry 3 stays masked on the device. */
    uint8_t pos = dev.vfio.config.msix_pos;
    assert_int_equal(conf1_write(5, pos + 2, 2, 0x8000 | 64), MINIHV_EXIT_PT_CONFIG);
    assert_int_equal(fk.bar0[0x2000 + 3 * 16 + 12] & 1, 1);
    assert_int_equal(ptdev_msix_physical_check(&dev, &bad, &unmasked), 65);
    assert_int_equal(unmasked, 0);
    /* The guest's own entry 3: its address and data, then unmasked. */
    enum minihv_exit_kind k;
    uint64_t e3 = BAR0 + 0x2000 + 3 * 16, v = 0xfee00000;
    assert_true(mmio(e3, 4, true, &v, &k));
    v = 0x4031;
    assert_true(mmio(e3 + 8, 4, true, &v, &k));
    v = 0;
    assert_true(mmio(e3 + 12, 4, true, &v, &k));
    uint32_t phys[4];
    memcpy(phys, fk.bar0 + 0x2000 + 3 * 16, 16);
    assert_int_equal(phys[0], 0xfee00000);
    assert_int_equal(phys[2], 0x4031);
    assert_int_equal(phys[3] & 1, 0);
    assert_int_equal(ptdev_msix_physical_check(&dev, &bad, &unmasked), 65);
    assert_int_equal(unmasked, 1);
    assert_int_equal(bad, 0);
}

/* config_guard = on without a passthrough device (MINIHV_PT_CONFIG_GUARD,
 * present 0): the same guards as with one, on CF8/CFC and the guarded
 * function's ECAM page; every other function, 00:05.0 included, is the
 * hardware's and no page of it is the model's. */
static void test_guarded_without_device(void **state)
{
    (void)state;
    struct minihv_passthrough s;
    snapshot(&s, false, false);
    s.present = 0;
    s.flags = MINIHV_PT_CONFIG_GUARD;
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), 0);
    assert_false(dev.present);
    assert_int_equal(fk.ncalls, 0); /* no window mapped, no device page trapped */
    /* 00:00.0 is bus/dev/fn 0 like the absent device's fields: guarded. */
    check_pm_block_guarded();
    uint64_t v = 0;
    enum minihv_exit_kind k;
    /* 00:05.0 is no device of the model's: the hardware's, no exit kind. */
    unsigned hw = fk.conf1_hw;
    assert_int_equal(conf1_write(5, 0x10, 4, 0xffffffff), MINIHV_EXIT_IO);
    assert_int_equal(fk.conf1_hw, hw + 1);
    assert_false(ptdev_claims(&dev, ECAM + (5 << 15)));
    assert_false(mmio(ECAM + (5 << 15) + 0x10, 4, false, &v, &k));
    assert_false(ptdev_claims(&dev, BAR0));
    char line[400];
    ptdev_format_summary(&dev, line, sizeof(line));
    assert_string_equal(line, "passthrough none");
    /* Without the flag (config_guard = auto) no guard can be set. */
    snapshot(&s, false, false);
    s.present = 0;
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), 0);
    assert_int_equal(ptdev_guard_config(&dev, PT_GUARD_PM_BLOCK, 0, 0, 0, 0x40, 0x48), -1);
    assert_false(ptdev_claims(&dev, ECAM + 0x40));
}

/* ---- an IGD's MCHBAR mirror (docs/security.md, "Relocation of the IOMMU
 * registers"): GFXVTBAR/VTDPVC0BAR at BAR0 + 0x145400..0x145417 ---- */

/* An IGD (Intel, VGA class, `passthrough = igd`) with BAR0 of bar0_size. */
static void snapshot_igd(struct minihv_passthrough *s, uint16_t device_id, uint64_t bar0_size)
{
    snapshot(s, false, false);
    cfg_header(s->cfg, sizeof(s->cfg), 0x8086, device_id, 0x030000);
    cfg_w16(s->cfg, 0x04, 0x0006);
    cfg_w32(s->cfg, 0x10, (uint32_t)IGD_BAR0 | 4); /* 64-bit memory */
    memcpy(fk.dev_cfg, s->cfg, sizeof(fk.dev_cfg));
    s->bars[0] = (struct minihv_pt_bar){ IGD_BAR0, bar0_size, 0, 1, 0, { 0 } };
    s->flags = MINIHV_PT_IGD;
}

static void expect_bar0_line(uint16_t device_id, uint64_t bar0_size, uint32_t flags, const char *want)
{
    struct minihv_passthrough s;
    snapshot_igd(&s, device_id, bar0_size);
    s.flags = flags;
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), 0);
    char line[200];
    assert_true(ptdev_format_region(&dev, 0, line, sizeof(line)) > 0);
    if (strcmp(line, want))
        fail_msg("IGD 0x%04x BAR0 %llu KiB: region 0 '%s', want '%s'", device_id,
                 (unsigned long long)(bar0_size >> 10), line, want);
}

static void test_igd_mirror_region_gap(void **state)
{
    (void)state;
    /* Gen 6 and later (drivers/igd's table): the mirror's page left out
     * of the sparse areas, as vfio leaves out an MSI-X table's. */
    expect_bar0_line(0x0126, IGD_BAR0_SZ, MINIHV_PT_IGD, "BAR0 4 MiB RW mmap sparse [0x0,0x145000) [0x146000,0x400000)");
    expect_bar0_line(0x0166, IGD_BAR0_SZ, MINIHV_PT_IGD, "BAR0 4 MiB RW mmap sparse [0x0,0x145000) [0x146000,0x400000)");
    expect_bar0_line(0x9A49, 16 << 20, MINIHV_PT_IGD, "BAR0 16 MiB RW mmap sparse [0x0,0x145000) [0x146000,0x1000000)");
    /* An IGD the table does not know: taken as gen 6 or later. */
    expect_bar0_line(0x0BEE, IGD_BAR0_SZ, MINIHV_PT_IGD, "BAR0 4 MiB RW mmap sparse [0x0,0x145000) [0x146000,0x400000)");
    /* Gen 5 (Ironlake): its mirror is at 0x10000, not 0x140000; all mapped. */
    expect_bar0_line(0x0046, IGD_BAR0_SZ, MINIHV_PT_IGD, "BAR0 4 MiB RW mmap");
    /* A BAR0 that ends before the range: nothing to judge. */
    expect_bar0_line(0x0126, 1 << 20, MINIHV_PT_IGD, "BAR0 1 MiB RW mmap");
    /* igd_force on a device that is not an IGD: its BAR is its own. */
    expect_bar0_line(0x0126, IGD_BAR0_SZ, MINIHV_PT_IGD | MINIHV_PT_IGD_FORCED, "BAR0 4 MiB RW mmap");
}

static void test_igd_mirror_mapped_read_only(void **state)
{
    (void)state;
    struct minihv_passthrough s;
    snapshot_igd(&s, 0x0116, IGD_BAR0_SZ);
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), 0);
    const uint32_t rw = PT_ATTRS(PT_READ | PT_WRITE, MEMTYPE_UC), ro = PT_ATTRS(PT_READ, MEMTYPE_UC);
    int lo = find_call(OP_MAP, IGD_BAR0, 0x145000), hi = find_call(OP_MAP, IGD_BAR0 + 0x146000, 0x2ba000);
    int mirror = find_call(OP_MAP, MIRROR_PAGE, 0x1000);
    assert_true(lo >= 0 && hi >= 0);
    assert_int_equal(fk.calls[lo].attrs, rw);
    assert_int_equal(fk.calls[hi].attrs, rw);
    /* Reads native (i915 reads the mirror: no exit per read), writes exit. */
    assert_true(mirror >= 0);
    assert_int_equal(fk.calls[mirror].hpa, MIRROR_PAGE);
    assert_int_equal(fk.calls[mirror].attrs, ro);
    /* Moved by the guest, the read-only page moves with the window. */
    fk.ncalls = 0;
    conf1_write(5, 0x10, 4, 0xd0000004);
    mirror = find_call(OP_MAP, 0xd0145000, 0x1000);
    assert_true(mirror >= 0);
    assert_int_equal(fk.calls[mirror].hpa, MIRROR_PAGE);
    assert_int_equal(fk.calls[mirror].attrs, ro);
    assert_true(find_call(OP_MAP, 0xd0146000, 0x2ba000) >= 0);
}

/* A guest write of `size` bytes at BAR0 + off: true when it reached the
 * device (the mirror's bytes changed). */
static bool igd_write_lands(uint64_t off, unsigned size)
{
    memset(fk.mirror, 0x5a, sizeof(fk.mirror));
    uint64_t v = 0x0123456789abcdefull;
    enum minihv_exit_kind k;
    assert_true(mmio(IGD_BAR0 + off, size, true, &v, &k));
    assert_int_equal(k, MINIHV_EXIT_PT_BAR);
    for (size_t i = 0; i < sizeof(fk.mirror); i++)
        if (fk.mirror[i] != 0x5a)
            return true;
    return false;
}

/* Review R5: the IGD's I/O BAR is an index/data pair onto BAR0 (MMIO_INDEX
 * +0, MMIO_DATA +4): a data write with the index on GFXVTBAR reaches the
 * mirror as a store through BAR0 would, so it meets the same judge. */
static void test_igd_io_index_judged(void **state)
{
    (void)state;
    struct minihv_passthrough s;
    snapshot_igd(&s, 0x0116, IGD_BAR0_SZ);
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), 0);
    memset(fk.mirror, 0x5a, sizeof(fk.mirror));
    /* The index on GFXVTBAR and VTDPVC0BAR's halves: the model's, dropped. */
    static const uint32_t vtd[] = { 0x145400, 0x145404, 0x145410, 0x145414 };
    for (size_t i = 0; i < sizeof(vtd) / sizeof(vtd[0]); i++) {
        assert_true(ptdev_igd_io_write(&dev, vtd[i], 4, 4, 0xfeedf00d));
        assert_true(ptdev_igd_io_write(&dev, vtd[i], 6, 2, 0xf00d)); /* the upper word */
    }
    for (size_t i = 0; i < sizeof(fk.mirror); i++)
        if (fk.mirror[i] != 0x5a)
            fail_msg("a write through MMIO_DATA reached the mirror at +0x%zx", i);
    assert_int_equal(dev.vfio.judged_dropped, 8);
    /* Another register of the mirror page: through BAR0 to the device. */
    assert_true(ptdev_igd_io_write(&dev, 0x145e04, 4, 4, 0x11223344));
    assert_int_equal(fk.mirror[0xe04], 0x44);
    /* MMIO_INDEX itself, a GTT entry (index bit 0) and reads stay the hardware's. */
    assert_false(ptdev_igd_io_write(&dev, 0x145400, 0, 4, 0x145400));
    assert_false(ptdev_igd_io_write(&dev, 0x145401, 4, 4, 0));
    /* Across MMIO_INDEX and MMIO_DATA, or past the pair: dropped. */
    uint64_t refused = dev.count.refused;
    assert_true(ptdev_igd_io_write(&dev, 0x145e04, 2, 4, 0));
    assert_true(ptdev_igd_io_write(&dev, 0x145e04, 6, 4, 0));
    assert_int_equal(dev.count.refused, refused + 2);
    assert_int_equal(dev.vfio.judged_dropped, 8);
}

static void test_igd_mirror_writes_judged(void **state)
{
    (void)state;
    struct minihv_passthrough s;
    snapshot_igd(&s, 0x0116, IGD_BAR0_SZ);
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), 0);
    uint64_t dropped = 0;
    /* Each byte of GFXVTBAR and VTDPVC0BAR (and the 8 bytes between). */
    for (uint64_t off = 0x145400; off < 0x145418; off++) {
        if (igd_write_lands(off, 1))
            fail_msg("a byte written at BAR0 + 0x%llx reached the mirror", (unsigned long long)off);
        dropped++;
    }
    /* Whole registers, and writes that straddle the range's edges. */
    static const struct { uint64_t off; unsigned size; } refused[] = {
        { 0x145400, 8 }, { 0x145404, 4 }, { 0x145410, 8 }, { 0x145410, 2 }, { 0x145414, 4 },
        { 0x1453fc, 8 }, { 0x1453ff, 2 }, { 0x145416, 4 }, { 0x145412, 8 },
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        if (igd_write_lands(refused[i].off, refused[i].size))
            fail_msg("%u-byte write at BAR0 + 0x%llx reached the mirror", refused[i].size,
                     (unsigned long long)refused[i].off);
        dropped++;
    }
    assert_int_equal(dev.vfio.judged_dropped, dropped);
    /* The rest of the page is the MCH's: to the hardware as written,
     * up to the page end and across it into the BAR's next page. */
    static const struct { uint64_t off; unsigned size; } passed[] = {
        { 0x1453fc, 4 }, { 0x1453ff, 1 }, { 0x145418, 8 }, { 0x145418, 1 }, { 0x145000, 4 },
        { 0x145e04, 4 }, { 0x145ff8, 8 }, { 0x145ffc, 8 },
    };
    for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++)
        if (!igd_write_lands(passed[i].off, passed[i].size))
            fail_msg("%u-byte write at BAR0 + 0x%llx did not reach the device", passed[i].size,
                     (unsigned long long)passed[i].off);
    assert_int_equal(dev.vfio.judged_dropped, dropped);
    /* A read that exits (a read-modify-write) reads the hardware. */
    memcpy(fk.mirror + 0x400, "\x01\x10\xd9\xfe\0\0\0\0", 8);
    uint64_t v = 0;
    enum minihv_exit_kind k;
    assert_true(mmio(IGD_BAR0 + 0x145400, 8, false, &v, &k));
    assert_int_equal(v, 0xfed91001ull);
    /* Gen 5: the same offsets are plain BAR. */
    snapshot_igd(&s, 0x0046, IGD_BAR0_SZ);
    assert_int_equal(ptdev_init(&dev, &s, &fake_platform, HV_BASE, HV_SIZE), 0);
    assert_true(igd_write_lands(0x145400, 8));
    assert_int_equal(dev.vfio.judged_dropped, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_maps_sparse_areas_and_traps_table),
        cmocka_unit_test(test_config_reads_and_other_functions),
        cmocka_unit_test(test_msix_table_goes_to_the_device_validated),
        cmocka_unit_test(test_bar_move_follows_and_guards_host_window),
        cmocka_unit_test(test_rom_mapped_read_only_and_writes_dropped),
        cmocka_unit_test(test_igd_bridge_read_only_and_asls),
        cmocka_unit_test(test_bad_snapshot_refused_with_reason),
        cmocka_unit_test(test_bar_placement_special),
        cmocka_unit_test(test_subpage_page_bound),
        cmocka_unit_test(test_subpage_above_host_top),
        cmocka_unit_test(test_refusal_lines_limited),
        cmocka_unit_test(test_bridge_path_guarded),
        cmocka_unit_test(test_guarded_config),
        cmocka_unit_test(test_guarded_config_path),
        cmocka_unit_test(test_guarded_pm_block),
        cmocka_unit_test(test_guarded_conf1_ext_bits),
        cmocka_unit_test(test_conf1_split_at_cfa),
        cmocka_unit_test(test_guarded_without_device),
        cmocka_unit_test(test_msix_physical_masked_at_init),
        cmocka_unit_test(test_igd_mirror_region_gap),
        cmocka_unit_test(test_igd_mirror_mapped_read_only),
        cmocka_unit_test(test_igd_mirror_writes_judged),
        cmocka_unit_test(test_igd_io_index_judged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
