/* ACPI DMAR parser (iommu/dmar.c) on hand-built tables: a good one like a
 * laptop's (graphics DRHD, INCLUDE_PCI_ALL DRHD with IOAPIC/HPET, RMRRs,
 * an ATSR to skip), the device-to-unit lookup, and every way a table can
 * lie about its lengths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "iommu/dmar.h"
#include "test_iommu_fake.h"

static struct tbl t;
static struct dmar_info info;
static struct field_error err;

/* The good table: offsets noted for the error tests that patch it. */
static size_t off_gfx, off_all, off_rmrr_gfx, off_pcie;

static void build_good(void)
{
    static const uint8_t igd[] = { 2, 0 }, ioapic[] = { 0x1f, 0 }, hpet[] = { 0x1f, 7 },
                         usb[] = { 0x14, 0 }, root_port[] = { 0x1c, 0, 0, 0 }, bridge[] = { 0x1d, 0 };
    t_header(&t, "DMAR", 38, DMAR_FLAG_INTR_REMAP);
    off_gfx = t_dmar_drhd(&t, 0, 0, 0xfed90000);
    t_dmar_scope(&t, DMAR_SCOPE_ENDPOINT, 0, 0, igd, 1);
    t_end(&t, off_gfx);
    off_pcie = t_dmar_drhd(&t, 0, 0, 0xfed92000); /* a device two hops down, and a bridge's subtree */
    t_dmar_scope(&t, DMAR_SCOPE_ENDPOINT, 0, 0, root_port, 2);
    t_dmar_scope(&t, DMAR_SCOPE_BRIDGE, 0, 0, bridge, 1);
    t_end(&t, off_pcie);
    off_all = t_dmar_drhd(&t, 1, 0, 0xfed91000);
    t_dmar_scope(&t, DMAR_SCOPE_IOAPIC, 2, 0xf0, ioapic, 1);
    t_dmar_scope(&t, DMAR_SCOPE_HPET, 0, 0, hpet, 1);
    t_end(&t, off_all);
    off_rmrr_gfx = t_dmar_rmrr(&t, 0, 0x7b800000, 0x7fffffff);
    t_dmar_scope(&t, DMAR_SCOPE_ENDPOINT, 0, 0, igd, 1);
    t_end(&t, off_rmrr_gfx);
    size_t r = t_dmar_rmrr(&t, 0, 0x3e2e0000, 0x3e2fffff);
    t_dmar_scope(&t, DMAR_SCOPE_ENDPOINT, 0, 0, usb, 1);
    t_end(&t, r);
    size_t atsr = t_begin(&t); /* type 2, skipped by length */
    t_u16(&t, 2);
    t_u16(&t, 0);
    t_u8(&t, 1);
    t_u8(&t, 0);
    t_u16(&t, 0);
    t_end(&t, atsr);
    t_finish(&t);
}

/* 00:1c.0 is a root port with secondary bus 3; 00:1d.0 bridges buses 5-7. */
static bool fake_bridge(void *opaque, uint16_t seg, uint8_t bus, uint8_t dev, uint8_t fn,
                        uint8_t *sec, uint8_t *sub)
{
    (void)opaque;
    if (seg || bus || fn)
        return false;
    if (dev == 0x1c) {
        *sec = *sub = 3;
        return true;
    }
    if (dev == 0x1d) {
        *sec = 5;
        *sub = 7;
        return true;
    }
    return false;
}

static void test_good_table(void **state)
{
    (void)state;
    build_good();
    assert_int_equal(dmar_parse(t.b, t.n, &info, &err), 0);
    assert_int_equal(info.address_width, 39);
    assert_int_equal(info.flags, DMAR_FLAG_INTR_REMAP);
    assert_int_equal(info.unit_count, 3);
    assert_int_equal(info.rmrr_count, 2);
    assert_int_equal(info.skipped, 1);
    assert_int_equal(info.scope_count, 7);
    const struct dmar_unit *gfx = &info.units[0], *all = &info.units[2];
    assert_false(gfx->include_pci_all);
    assert_int_equal(gfx->reg_base, 0xfed90000);
    assert_int_equal(gfx->scope_count, 1);
    assert_int_equal(info.scopes[gfx->first_scope].path[0].dev, 2);
    assert_true(all->include_pci_all);
    assert_int_equal(all->reg_base, 0xfed91000);
    assert_int_equal(all->scope_count, 2);
    const struct dmar_scope *io = &info.scopes[all->first_scope];
    assert_int_equal(io->type, DMAR_SCOPE_IOAPIC);
    assert_int_equal(io->enumeration_id, 2);
    assert_int_equal(io->start_bus, 0xf0);
    assert_int_equal(info.rmrrs[0].base, 0x7b800000);
    assert_int_equal(info.rmrrs[0].limit, 0x7fffffff);
    assert_int_equal(info.rmrrs[0].offset, off_rmrr_gfx);
    assert_int_equal(info.units[1].scope_count, 2);
    assert_int_equal(info.scopes[info.units[1].first_scope].path_len, 2);
}

static void test_device_lookup(void **state)
{
    (void)state;
    build_good();
    assert_int_equal(dmar_parse(t.b, t.n, &info, &err), 0);
    assert_int_equal(dmar_drhd_for_device(&info, IOMMU_SBDF(0, 0, 2, 0), NULL, NULL), 0);
    /* Not in a scope: the segment's INCLUDE_PCI_ALL unit. */
    assert_int_equal(dmar_drhd_for_device(&info, IOMMU_SBDF(0, 0, 0x1f, 3), NULL, NULL), 2);
    assert_int_equal(dmar_drhd_for_device(&info, IOMMU_SBDF(0, 3, 0, 0), NULL, NULL), 2);
    /* Another segment: nothing covers it. */
    assert_int_equal(dmar_drhd_for_device(&info, IOMMU_SBDF(1, 0, 2, 0), NULL, NULL), -IOMMU_ENODEV);
    /* Two hops (00:1c.0 -> bus 3, 00.0) and a bridge's subtree need config space. */
    assert_int_equal(dmar_drhd_for_device(&info, IOMMU_SBDF(0, 3, 0, 0), fake_bridge, NULL), 1);
    assert_int_equal(dmar_drhd_for_device(&info, IOMMU_SBDF(0, 6, 1, 0), fake_bridge, NULL), 1);
    assert_int_equal(dmar_drhd_for_device(&info, IOMMU_SBDF(0, 0, 0x1d, 0), NULL, NULL), 1);
    assert_int_equal(dmar_drhd_for_device(&info, IOMMU_SBDF(0, 8, 0, 0), fake_bridge, NULL), 2);
    assert_true(dmar_rmrr_has_device(&info, 0, IOMMU_SBDF(0, 0, 2, 0), NULL, NULL));
    assert_false(dmar_rmrr_has_device(&info, 0, IOMMU_SBDF(0, 0, 0x14, 0), NULL, NULL));
    assert_true(dmar_rmrr_has_device(&info, 1, IOMMU_SBDF(0, 0, 0x14, 0), NULL, NULL));
    assert_false(dmar_rmrr_has_device(&info, 2, IOMMU_SBDF(0, 0, 0x14, 0), NULL, NULL));
}

/* Expects dmar_parse to fail with `code` naming `field` at `offset`. */
static void expect_error(int code, const char *field, size_t offset)
{
    memset(&err, 0, sizeof(err));
    check_error(dmar_parse(t.b, t.n, &info, &err), &err, code, field, offset);
}

static void test_header_errors(void **state)
{
    (void)state;
    build_good();
    memset(&err, 0, sizeof(err));
    assert_int_equal(dmar_parse(t.b, 47, &info, &err), -IOMMU_ERANGE);
    assert_string_equal(err.field, "DMAR");
    assert_int_equal(dmar_parse(t.b, t.n - 1, &info, &err), -IOMMU_ERANGE); /* truncated */
    assert_string_equal(err.field, "DMAR.length");
    t.b[0] = 'X';
    expect_error(IOMMU_EINVAL, "DMAR.signature", 0);
    build_good();
    t.b[4] = 40; t.b[5] = 0;
    expect_error(IOMMU_EINVAL, "DMAR.length", 4);
    build_good();
    t.b[36] = 70;
    expect_error(IOMMU_EINVAL, "DMAR.host_address_width", 36);
}

static void test_structure_length_lies(void **state)
{
    (void)state;
    build_good();
    t_set16(&t, off_gfx + 2, 0);
    expect_error(IOMMU_EINVAL, "structure.length", off_gfx + 2);
    build_good();
    t_set16(&t, off_gfx + 2, 0xfff0);
    expect_error(IOMMU_ERANGE, "structure.length", off_gfx + 2);
    build_good();
    t_set16(&t, off_gfx + 2, 12); /* shorter than a DRHD's fixed part */
    expect_error(IOMMU_EINVAL, "DRHD.length", off_gfx + 2);
    build_good();
    t_set16(&t, off_rmrr_gfx + 2, 20);
    expect_error(IOMMU_EINVAL, "RMRR.length", off_rmrr_gfx + 2);
    /* Two stray bytes at the end: no room for a structure header. */
    build_good();
    t_u16(&t, 0);
    t_finish(&t);
    expect_error(IOMMU_ERANGE, "structure", t.n - 2);
}

static void test_scope_errors(void **state)
{
    (void)state;
    size_t scope_off = 0;
    build_good();
    scope_off = off_gfx + 16;
    t.b[scope_off + 1] = 10; /* scope claims 10 bytes, its DRHD ends after 8 */
    expect_error(IOMMU_ERANGE, "scope.length", scope_off + 1);
    build_good();
    t.b[scope_off + 1] = 6; /* no path entry */
    expect_error(IOMMU_EINVAL, "scope.length", scope_off + 1);
    build_good();
    t.b[scope_off + 1] = 9;
    expect_error(IOMMU_EINVAL, "scope.length", scope_off + 1);
    build_good();
    t.b[scope_off] = 9;
    expect_error(IOMMU_EINVAL, "scope.type", scope_off);
    build_good();
    t.b[scope_off + 6] = 32; /* device 32 */
    expect_error(IOMMU_EINVAL, "scope.path", scope_off + 6);
    /* The DRHD's length cuts its scope short: 3 bytes of scope left. */
    build_good();
    t_set16(&t, off_gfx + 2, 19);
    memmove(t.b + off_gfx + 19, t.b + off_gfx + 24, t.n - off_gfx - 24);
    t.n -= 5;
    t_finish(&t);
    expect_error(IOMMU_ERANGE, "scope", off_gfx + 16);
}

static void test_address_errors(void **state)
{
    (void)state;
    build_good();
    t.b[off_gfx + 8] = 0x10; /* register base 0xfed90010 */
    expect_error(IOMMU_EINVAL, "DRHD.register_base", off_gfx + 8);
    build_good();
    memset(t.b + off_gfx + 8, 0, 8);
    expect_error(IOMMU_EINVAL, "DRHD.register_base", off_gfx + 8);
    build_good();
    t.b[off_rmrr_gfx + 8] = 0x80; /* base 0x7b800080 */
    expect_error(IOMMU_EINVAL, "RMRR.base", off_rmrr_gfx + 8);
    build_good();
    t.b[off_rmrr_gfx + 16] = 0xfe; /* limit 0x7ffffffe: limit + 1 unaligned */
    expect_error(IOMMU_EINVAL, "RMRR.limit", off_rmrr_gfx + 16);
    build_good();
    memset(t.b + off_rmrr_gfx + 16, 0, 8);
    t.b[off_rmrr_gfx + 16] = 0xff;
    t.b[off_rmrr_gfx + 17] = 0x0f; /* limit 0xfff < base */
    expect_error(IOMMU_EINVAL, "RMRR.limit", off_rmrr_gfx + 16);
}

/* Real firmware (issue 18): an RMRR with base 0 and limit 0. Linux warns
 * and goes on; the parser skips it with one warning, keeps the rest. */
static void test_rmrr_zero_skipped(void **state)
{
    (void)state;
    build_good();
    memset(t.b + off_rmrr_gfx + 8, 0, 16); /* base 0, limit 0 */
    t_finish(&t);
    assert_int_equal(dmar_parse(t.b, t.n, &info, &err), 0);
    assert_int_equal(info.rmrr_count, 1);
    assert_int_equal(info.rmrrs[0].base, 0x3e2e0000);
    assert_int_equal(info.unit_count, 3);
    assert_int_equal(info.warnings, 1);
    assert_string_equal(info.warning.field, "RMRR.limit");
    assert_int_equal(info.warning.offset, off_rmrr_gfx + 16);
    /* The good table has no warning; base 0 with a real limit is a region. */
    build_good();
    assert_int_equal(dmar_parse(t.b, t.n, &info, &err), 0);
    assert_int_equal(info.warnings, 0);
    memset(t.b + off_rmrr_gfx + 8, 0, 8);
    t_finish(&t);
    assert_int_equal(dmar_parse(t.b, t.n, &info, &err), 0);
    assert_int_equal(info.rmrr_count, 2);
    assert_int_equal(info.rmrrs[0].base, 0);
    /* A DRHD at address 0 stays refused, as in Linux. */
    build_good();
    memset(t.b + off_all + 8, 0, 8);
    expect_error(IOMMU_EINVAL, "DRHD.register_base", off_all + 8);
}

/* A big 2-socket server (issue 18) has 94 scopes: 4 units of 40 scopes
 * (160) parse. */
static void test_server_scopes(void **state)
{
    (void)state;
    static const uint8_t p[] = { 3, 0 };
    t_header(&t, "DMAR", 45, 0);
    for (unsigned u = 0; u < 4; u++) {
        size_t d = t_dmar_drhd(&t, 0, 0, 0xfbffc000 - 0x100000 * u);
        for (unsigned k = 0; k < 40; k++)
            t_dmar_scope(&t, DMAR_SCOPE_ENDPOINT, 0, (uint8_t)k, p, 1);
        t_end(&t, d);
    }
    t_finish(&t);
    assert_int_equal(dmar_parse(t.b, t.n, &info, &err), 0);
    assert_int_equal(info.scope_count, 160);
    assert_int_equal(info.units[3].scope_count, 40);
}

static void test_capacity(void **state)
{
    (void)state;
    /* One DRHD more than the fixed array. */
    t_header(&t, "DMAR", 38, 0);
    for (unsigned i = 0; i < DMAR_MAX_UNITS + 1; i++) {
        size_t d = t_dmar_drhd(&t, 0, 0, 0xfed00000 + 0x1000 * i);
        t_end(&t, d);
    }
    t_finish(&t);
    expect_error(IOMMU_ENOSPC, "DRHD", 48 + 16 * DMAR_MAX_UNITS);
    /* A 9-hop path. */
    static const uint8_t deep[18] = { 0 };
    t_header(&t, "DMAR", 38, 0);
    size_t d = t_dmar_drhd(&t, 0, 0, 0xfed00000);
    t_dmar_scope(&t, DMAR_SCOPE_ENDPOINT, 0, 0, deep, 9);
    t_end(&t, d);
    t_finish(&t);
    expect_error(IOMMU_ENOSPC, "scope.path", 48 + 16 + 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_table),
        cmocka_unit_test(test_device_lookup),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_structure_length_lies),
        cmocka_unit_test(test_scope_errors),
        cmocka_unit_test(test_address_errors),
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_rmrr_zero_skipped),
        cmocka_unit_test(test_server_scopes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
