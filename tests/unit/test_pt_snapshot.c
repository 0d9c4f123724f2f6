/* boot/pt_snapshot.c: personality flags, BARs and ECAM window of the
 * passthrough snapshot, ROM choice (IGD and non-IGD), region size, and the
 * exact log text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "boot/pt_snapshot.h"

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }

/* One ROM image at rom+off: 0x55AA, init size, PCIR at 0x1C. */
static void make_image(uint8_t *rom, size_t off, unsigned blocks, uint8_t code, bool last, uint16_t vendor,
                       uint16_t device, uint8_t base_class)
{
    uint8_t *h = rom + off, *d = h + 0x1C;
    memset(h, 0, blocks * 512u);
    h[0] = 0x55;
    h[1] = 0xAA;
    if (code == 3) {
        put16(h + 2, (uint16_t)blocks);
        put32(h + 4, 0x0EF1);
        put16(h + 8, 10);
        put16(h + 0x0A, 0x8664);
    } else {
        h[2] = (uint8_t)blocks;
    }
    put16(h + 0x18, 0x1C);
    memcpy(d, "PCIR", 4);
    put16(d + 4, vendor);
    put16(d + 6, device);
    put16(d + 0x0A, 0x18);
    d[0x0C] = 0;
    d[0x0F] = base_class;
    put16(d + 0x10, (uint16_t)blocks);
    d[0x14] = code;
    d[0x15] = last ? 0x80 : 0;
}

static struct pci_dev_info nvme(void)
{
    struct pci_dev_info d = { .bus = 0, .dev = 5, .fn = 0, .vendor = 0x1b36, .device = 0x0010,
                              .class_code = 0x010802 };
    d.bars[0] = (struct pci_bar_info){ .addr = 0xc1040000, .size = 0x4000, .is64 = true };
    d.msix_cap = 0x80;
    d.msix_entries = 65;
    d.msix_table_off = 0x2000;
    d.msix_pba_off = 0x3000;
    return d;
}

static void test_flags(void **state)
{
    (void)state;
    struct minihv_config cfg;
    config_defaults(&cfg);
    struct pci_dev_info d = nvme();
    cfg.passthrough = PASSTHROUGH_BDF;
    assert_int_equal(pt_flags(&d, &cfg), 0);
    cfg.igd_force = true;
    assert_int_equal(pt_flags(&d, &cfg), MINIHV_PT_IGD | MINIHV_PT_IGD_FORCED);
    struct pci_dev_info igd = { .bus = 0, .dev = 2, .vendor = 0x8086, .device = 0x3e9b, .class_code = 0x030000 };
    assert_true(pt_is_igd(&igd));
    assert_int_equal(pt_flags(&igd, &cfg), MINIHV_PT_IGD); /* a real IGD is never "forced" */
    cfg.igd_force = false;
    assert_int_equal(pt_flags(&igd, &cfg), MINIHV_PT_IGD);
    igd.dev = 3; /* Intel VGA elsewhere: not the IGD */
    assert_false(pt_is_igd(&igd));
    assert_int_equal(pt_flags(&igd, &cfg), 0);
    igd.dev = 2;
    igd.class_code = 0x038000; /* display, not VGA */
    assert_false(pt_is_igd(&igd));
    cfg.passthrough = PASSTHROUGH_IGD; /* platform.c matched it as the IGD */
    assert_int_equal(pt_flags(&igd, &cfg), MINIHV_PT_IGD);
}

static void test_fill_and_ecam(void **state)
{
    (void)state;
    static struct minihv_passthrough pt;
    struct pci_dev_info d = nvme();
    d.bars[2] = (struct pci_bar_info){ .addr = 0x6000, .size = 32, .io = true };
    d.bars[4] = (struct pci_bar_info){ .addr = 0x800000000, .size = 1ull << 30, .is64 = true, .prefetch = true };
    d.rom_size = 0x40000;
    memset(&pt, 0xAA, sizeof(pt));
    pt_fill_device(&pt, &d, 0, MINIHV_PT_IGD);
    assert_int_equal(pt.present, 1);
    assert_int_equal(pt.flags, MINIHV_PT_IGD);
    assert_int_equal(pt.bus, 0);
    assert_int_equal(pt.dev, 5);
    assert_int_equal(pt.fn, 0);
    assert_int_equal(pt.bars[0].addr, 0xc1040000);
    assert_int_equal(pt.bars[0].size, 0x4000);
    assert_int_equal(pt.bars[0].is64, 1);
    assert_int_equal(pt.bars[1].size, 0); /* upper half */
    assert_int_equal(pt.bars[2].io, 1);
    assert_int_equal(pt.bars[2].size, 32);
    assert_int_equal(pt.bars[4].prefetch, 1);
    assert_int_equal(pt.bars[4].addr, 0x800000000);
    assert_int_equal(pt.rom_bar_size, 0x40000);

    const struct acpi_mcfg_segment m[] = {
        { .base = 0xe0000000, .segment = 1, .bus_start = 0, .bus_end = 0xff },
        { .base = 0xb0000000, .segment = 0, .bus_start = 0, .bus_end = 0x7f },
        { .base = 0xc0000000, .segment = 0, .bus_start = 0x80, .bus_end = 0xff },
    };
    assert_true(pt_find_ecam(&pt, m, 3, 0, 5));
    assert_int_equal(pt.ecam_base, 0xb0000000);
    assert_int_equal(pt.ecam_bus_start, 0);
    assert_int_equal(pt.ecam_bus_end, 0x7f);
    /* MCFG base is that of bus 0: the window starts bus_start MiB in. */
    assert_true(pt_find_ecam(&pt, m, 3, 0, 0x90));
    assert_int_equal(pt.ecam_base, 0xc0000000 + (0x80ull << 20));
    assert_int_equal(pt.ecam_bus_start, 0x80);
    assert_false(pt_find_ecam(&pt, m, 3, 2, 0));
    assert_int_equal(pt.ecam_base, 0);
    assert_false(pt_find_ecam(&pt, m, 0, 0, 0));
}

static void test_region_size(void **state)
{
    (void)state;
    assert_int_equal(pt_rom_region_size(IGD_ROM_SRC_SHADOW, 0xE000, 0), 0x20000);
    assert_int_equal(pt_rom_region_size(IGD_ROM_SRC_PCIIO, 198144, 0), 256 * 1024);
    assert_int_equal(pt_rom_region_size(IGD_ROM_SRC_PCIIO, 512, 0), 2048);
    assert_int_equal(pt_rom_region_size(IGD_ROM_SRC_FILE, 512, 0x10000), 0x10000);
    assert_int_equal(pt_rom_region_size(IGD_ROM_SRC_PCIIO, 0x30000, 0x10000), 0x40000);
}

static uint8_t rom_a[64 * 1024], rom_b[64 * 1024], shadow[128 * 1024];

static void test_rom_non_igd(void **state)
{
    (void)state;
    struct pt_rom_pick pick;
    char kinds[64];
    /* x86 + EFI, 3 KiB in all, in a 64 KiB PciIo buffer (the ROM BAR's size). */
    memset(rom_a, 0, sizeof(rom_a));
    make_image(rom_a, 0, 2, 0, false, 0x8086, 0x10d3, 0x02);
    make_image(rom_a, 1024, 4, 3, true, 0x8086, 0x10d3, 0x02);
    struct igd_rom_candidate cand[IGD_ROM_SRC_COUNT] = { { rom_a, sizeof(rom_a) }, { rom_a, sizeof(rom_a) }, { NULL, 0 } };
    assert_int_equal(pt_rom_pick(cand, false, 0x8086, 0x10d3, 0, &pick), 0);
    assert_int_equal(pick.source, MINIHV_PT_ROM_PCIIO); /* the shadow is never used for a non-IGD */
    assert_int_equal(pick.len, 3072);
    assert_int_equal(pick.region_size, 4096);
    assert_int_equal(pick.info.nimages, 2);
    pt_rom_kinds(&pick.info, kinds, sizeof(kinds));
    assert_string_equal(kinds, "x86+EFI images");
    assert_string_equal(pt_rom_source_name(pick.source), "PciIo");
    /* The ROM BAR's size wins when larger. */
    assert_int_equal(pt_rom_pick(cand, false, 0x8086, 0x10d3, 0x40000, &pick), 0);
    assert_int_equal(pick.region_size, 0x40000);

    /* A bad PciIo ROM: logged reason, then the file. */
    memcpy(rom_b, rom_a, sizeof(rom_b));
    memcpy(rom_b + 0x1C, "PCIX", 4);
    make_image(rom_a, 0, 8, 0, true, 0x1234, 0x5678, 0x02);
    struct igd_rom_candidate c2[IGD_ROM_SRC_COUNT] = { { NULL, 0 }, { rom_b, sizeof(rom_b) }, { rom_a, 4096 } };
    assert_int_equal(pt_rom_pick(c2, false, 0x8086, 0x10d3, 0, &pick), 0);
    assert_int_equal(pick.source, MINIHV_PT_ROM_FILE);
    assert_string_equal(pick.errs[IGD_ROM_SRC_PCIIO].field, "pcir.signature");
    assert_int_equal(pick.len, 4096);
    pt_rom_kinds(&pick.info, kinds, sizeof(kinds));
    assert_string_equal(kinds, "x86 image");

    /* Nothing usable. */
    struct igd_rom_candidate c3[IGD_ROM_SRC_COUNT] = { { NULL, 0 }, { rom_b, sizeof(rom_b) }, { NULL, 0 } };
    assert_int_equal(pt_rom_pick(c3, false, 0x8086, 0x10d3, 0, &pick), -IGD_ENOENT);
    assert_int_equal(pick.source, MINIHV_PT_ROM_NONE);
    assert_int_equal(pick.len, 0);
    assert_string_equal(pick.errs[IGD_ROM_SRC_FILE].what, "source has no ROM");
    /* Truncated: the image runs past the buffer. */
    make_image(rom_a, 0, 8, 0, true, 0x1234, 0x5678, 0x02);
    struct igd_rom_candidate c4[IGD_ROM_SRC_COUNT] = { { NULL, 0 }, { rom_a, 4095 }, { NULL, 0 } };
    assert_int_equal(pt_rom_pick(c4, false, 0x1234, 0x5678, 0, &pick), -IGD_ENOENT);
    assert_string_equal(pick.errs[IGD_ROM_SRC_PCIIO].field, "pcir.image_length");
    /* A ROM BAR over 16 MiB is refused. */
    struct igd_rom_candidate c5[IGD_ROM_SRC_COUNT] = { { NULL, 0 }, { rom_a, 4096 }, { NULL, 0 } };
    assert_int_equal(pt_rom_pick(c5, false, 0x1234, 0x5678, 32u << 20, &pick), -IGD_ERANGE);
    assert_int_equal(pick.source, MINIHV_PT_ROM_NONE);
}

static void test_rom_igd(void **state)
{
    (void)state;
    struct pt_rom_pick pick;
    /* Shadow: 0x55AA but another device's: passed over; PciIo matches. */
    memset(shadow, 0, sizeof(shadow));
    make_image(shadow, 0, 0x70, 0, true, 0x8086, 0x0102, 0x03);
    make_image(rom_a, 0, 0x70, 0, false, 0x8086, 0x3e9b, 0x03);
    make_image(rom_a, 0x70 * 512, 0x10, 3, true, 0x8086, 0x3e9b, 0x03);
    struct igd_rom_candidate cand[IGD_ROM_SRC_COUNT] = { { shadow, sizeof(shadow) }, { rom_a, sizeof(rom_a) }, { NULL, 0 } };
    assert_int_equal(pt_rom_pick(cand, true, 0x8086, 0x3e9b, 0, &pick), 0);
    assert_int_equal(pick.source, MINIHV_PT_ROM_PCIIO);
    assert_string_equal(pick.errs[IGD_ROM_SRC_SHADOW].field, "pcir.device");
    assert_int_equal(pick.len, 0x80 * 512);
    assert_int_equal(pick.region_size, 0x10000);
    /* The matching shadow wins, with the 128 KiB region Linux gives it. */
    make_image(shadow, 0, 0x70, 0, true, 0x8086, 0x3e9b, 0x03);
    assert_int_equal(pt_rom_pick(cand, true, 0x8086, 0x3e9b, 0, &pick), 0);
    assert_int_equal(pick.source, MINIHV_PT_ROM_SHADOW);
    assert_int_equal(pick.len, 0x70 * 512);
    assert_int_equal(pick.region_size, 0x20000);
    /* No shadow (UEFI-only) and a non-display PciIo ROM: none. */
    memset(shadow, 0, 4096);
    make_image(rom_a, 0, 8, 0, true, 0x8086, 0x3e9b, 0x02);
    assert_int_equal(pt_rom_pick(cand, true, 0x8086, 0x3e9b, 0, &pick), -IGD_ENOENT);
    assert_string_equal(pick.errs[IGD_ROM_SRC_SHADOW].field, "rom_header.signature");
    assert_string_equal(pick.errs[IGD_ROM_SRC_PCIIO].field, "pcir.class_code");
}

static void test_sizes_and_describe(void **state)
{
    (void)state;
    char s[320];
    pt_size_str(32, s, sizeof(s));
    assert_string_equal(s, "32 bytes");
    pt_size_str(16384, s, sizeof(s));
    assert_string_equal(s, "16 KiB");
    pt_size_str(256ull << 20, s, sizeof(s));
    assert_string_equal(s, "256 MiB");
    pt_size_str(8ull << 30, s, sizeof(s));
    assert_string_equal(s, "8 GiB");
    pt_size_str(0x1800 + 1, s, sizeof(s));
    assert_string_equal(s, "6145 bytes");

    static struct minihv_passthrough pt;
    struct pci_dev_info d = nvme();
    memset(&pt, 0, sizeof(pt));
    pt_fill_device(&pt, &d, 0, 0);
    pt.cfg_len = 4096;
    pt_describe(&pt, &d, s, sizeof(s));
    assert_string_equal(s, "00:05.0 1b36:0010 NVMe, config 4096 bytes via ECAM, BAR0 0xc1040000 16 KiB 64-bit, "
                           "MSI-X 65 entries (table BAR0+0x2000, PBA BAR0+0x3000), ROM BAR none");
    struct pci_dev_info v = { .bus = 0, .dev = 1, .fn = 0, .vendor = 0x1234, .device = 0x1111,
                              .class_code = 0x030000, .rom_size = 0x10000 };
    v.bars[0] = (struct pci_bar_info){ .addr = 0x80000000, .size = 16u << 20, .prefetch = true };
    v.bars[2] = (struct pci_bar_info){ .addr = 0xc1000000, .size = 4096 };
    pt_fill_device(&pt, &v, 0, MINIHV_PT_IGD | MINIHV_PT_IGD_FORCED);
    pt.cfg_len = 256;
    pt_describe(&pt, &v, s, sizeof(s));
    assert_string_equal(s, "00:01.0 1234:1111 VGA, config 256 bytes via CF8/CFC, BAR0 0x80000000 16 MiB prefetchable, "
                           "BAR2 0xc1000000 4 KiB, no MSI/MSI-X, ROM BAR 64 KiB, "
                           "IGD personality forced (igd_force = 1, test only)");
    /* Truncation is safe and NUL-terminated. */
    pt_describe(&pt, &v, s, 20);
    assert_int_equal(strlen(s), 19);
}

static void test_fnv(void **state)
{
    (void)state;
    assert_int_equal(pt_fnv1a32("", 0), 0x811c9dc5u);
    assert_int_equal(pt_fnv1a32("a", 1), 0xe40c292cu);
    assert_int_equal(pt_fnv1a32("foobar", 6), 0xbf9cf968u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flags),
        cmocka_unit_test(test_fill_and_ecam),
        cmocka_unit_test(test_region_size),
        cmocka_unit_test(test_rom_non_igd),
        cmocka_unit_test(test_rom_igd),
        cmocka_unit_test(test_sizes_and_describe),
        cmocka_unit_test(test_fnv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
