/* ACPI IVRS parser (iommu/ivrs.c) on hand-built tables: an IOMMU
 * described by both a type 10h and a type 11h IVHD (the later wins), every
 * device entry kind, IVMDs, and tables that lie about lengths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "iommu/ivrs.h"
#include "test_iommu_fake.h"

static struct tbl t;
static struct ivrs_info info;
static struct field_error err;

static size_t off_10, off_11, off_range_start, off_special, off_ivmd;

static void build_good(void)
{
    t_header(&t, "IVRS", 0x41, 0x30); /* IVinfo: EFRSup, VA/PA sizes */
    /* Type 10h: the legacy description of IOMMU 00:00.2. */
    off_10 = t_ivhd(&t, 0x10, 0x0002, 0xfeb80000, 0);
    t_ivhd_entry4(&t, IVHD_SELECT, 0x0008, 0);
    t_end(&t, off_10);
    /* Type 11h of the same IOMMU: supersedes 10h. */
    off_11 = t_ivhd(&t, 0x11, 0x0002, 0xfeb80000, 0);
    t_ivhd_entry4(&t, IVHD_SELECT, 0x0000, 0);
    off_range_start = t.n;
    t_ivhd_entry4(&t, IVHD_RANGE_START, 0x0008, 0);
    t_ivhd_entry4(&t, IVHD_RANGE_END, 0x00ff, 0);
    t_ivhd_entry4(&t, IVHD_PAD4, 0, 0);
    t_ivhd_entry8(&t, IVHD_ALIAS_SELECT, 0x0300, 0, 0, 0x00a4, 0);      /* 03:00.0 requests as 00:14.4 */
    t_ivhd_entry8(&t, IVHD_ALIAS_RANGE_START, 0x0400, 0, 0, 0x00a5, 0);
    t_ivhd_entry4(&t, IVHD_RANGE_END, 0x04ff, 0);
    t_ivhd_entry8(&t, IVHD_EXT_SELECT, 0x0500, 0, 0, 0, 0x80);         /* ext setting in bytes 4-7 */
    off_special = t.n;
    t_ivhd_entry8(&t, IVHD_SPECIAL, 0, 0xd7, 0x21, 0x00a0, 1);          /* IOAPIC 0x21 as 00:14.0 */
    t_ivhd_entry8(&t, IVHD_SPECIAL, 0, 0, 0x00, 0x00a0, 2);             /* HPET 0 */
    /* ACPI HID device (F0h): 22 bytes + a 4-byte UID. */
    t_u8(&t, IVHD_ACPI_HID);
    t_u16(&t, 0x00a5);
    t_u8(&t, 0x40);
    memcpy(t.b + t.n, "AMDI0020", 8);
    t.n += 8;
    t_zero(&t, 8);     /* CID */
    t_u8(&t, 2);       /* UID format: string */
    t_u8(&t, 4);       /* UID length */
    memcpy(t.b + t.n, "ID00", 4);
    t.n += 4;
    t_end(&t, off_11);
    /* An unknown block type: skipped by length. */
    size_t other = t_begin(&t);
    t_u8(&t, 0x30);
    t_u8(&t, 0);
    t_u16(&t, 0);
    t_u32(&t, 0);
    t_end(&t, other);
    off_ivmd = t_ivmd(&t, 0x21, IVMD_FLAG_UNITY | IVMD_FLAG_IR | IVMD_FLAG_IW, 0x00a0, 0,
                    0x9d000000, 0x200000);
    t_ivmd(&t, 0x22, IVMD_FLAG_EXCLUSION, 0x0100, 0x01ff, 0xa0000000, 0x1000);
    t_ivmd(&t, 0x20, IVMD_FLAG_UNITY | IVMD_FLAG_IR, 0, 0, 0xa1000000, 0x3000);
    t_finish(&t);
}

static void test_good_table(void **state)
{
    (void)state;
    build_good();
    assert_int_equal(ivrs_parse(t.b, t.n, &info, &err), 0);
    assert_int_equal(info.ivinfo & 0xffff, 0x3041);
    assert_int_equal(info.unit_count, 2);
    assert_int_equal(info.skipped, 1);
    const struct ivrs_unit *legacy = &info.units[0], *u = &info.units[1];
    assert_true(legacy->superseded);
    assert_false(u->superseded);
    assert_int_equal(u->type, 0x11);
    assert_int_equal(u->devid, 2);
    assert_int_equal(u->base, 0xfeb80000);
    assert_int_equal(u->efr, 0x0000004000000046ull);
    assert_int_equal(u->range_count, 5);
    const struct ivrs_range *r = &info.ranges[u->first_range];
    assert_int_equal(r[0].first, 0);
    assert_int_equal(r[0].last, 0);
    assert_int_equal(r[1].first, 8);
    assert_int_equal(r[1].last, 0xff);
    assert_true(r[2].aliased);
    assert_int_equal(r[2].alias, 0xa4);
    assert_int_equal(r[3].first, 0x400);
    assert_int_equal(r[3].last, 0x4ff);
    assert_int_equal(r[3].alias, 0xa5);
    assert_int_equal(r[4].ext_setting, 0x80000000u);
    assert_int_equal(u->special_count, 2);
    const struct ivrs_special *s = &info.special[u->first_special];
    assert_int_equal(s[0].handle, 0x21);
    assert_int_equal(s[0].variety, 1);
    assert_int_equal(s[0].devid, 0xa0);
    assert_int_equal(s[1].variety, 2);
    assert_int_equal(u->acpi_hid_count, 1);
    assert_int_equal(info.memory_count, 3);
    assert_int_equal(info.memory[0].first, 0xa0);
    assert_int_equal(info.memory[0].last, 0xa0);
    assert_int_equal(info.memory[0].start, 0x9d000000);
    assert_int_equal(info.memory[1].first, 0x100);
    assert_int_equal(info.memory[1].last, 0x1ff);
    assert_int_equal(info.memory[2].last, 0xffff);
    assert_int_equal(ivrs_unit_max_devid(&info, 1), 0x500);
}

static void test_device_lookup(void **state)
{
    (void)state;
    build_good();
    assert_int_equal(ivrs_parse(t.b, t.n, &info, &err), 0);
    assert_int_equal(ivrs_unit_for_device(&info, IOMMU_SBDF(0, 0, 1, 0)), 1); /* 0x08 */
    assert_int_equal(ivrs_unit_for_device(&info, IOMMU_SBDF(0, 4, 0x1f, 7)), 1);
    assert_int_equal(ivrs_unit_for_device(&info, IOMMU_SBDF(0, 6, 0, 0)), -IOMMU_ENODEV);
    assert_int_equal(ivrs_unit_for_device(&info, IOMMU_SBDF(1, 0, 1, 0)), -IOMMU_ENODEV);
}

static void expect_error(int code, const char *field, size_t offset)
{
    memset(&err, 0, sizeof(err));
    check_error(ivrs_parse(t.b, t.n, &info, &err), &err, code, field, offset);
}

static void test_header_errors(void **state)
{
    (void)state;
    build_good();
    assert_int_equal(ivrs_parse(t.b, 40, &info, &err), -IOMMU_ERANGE);
    assert_int_equal(ivrs_parse(t.b, t.n - 1, &info, &err), -IOMMU_ERANGE);
    assert_string_equal(err.field, "IVRS.length");
    t.b[1] = 'W';
    expect_error(IOMMU_EINVAL, "IVRS.signature", 0);
}

static void test_length_lies(void **state)
{
    (void)state;
    build_good();
    t_set16(&t, off_10 + 2, 0);
    expect_error(IOMMU_EINVAL, "block.length", off_10 + 2);
    build_good();
    t_set16(&t, off_11 + 2, 0x7000);
    expect_error(IOMMU_ERANGE, "block.length", off_11 + 2);
    build_good();
    t_set16(&t, off_11 + 2, 30); /* below the 40-byte 11h header */
    expect_error(IOMMU_EINVAL, "IVHD.length", off_11 + 2);
    build_good();
    t_set16(&t, off_ivmd + 2, 24);
    expect_error(IOMMU_EINVAL, "IVMD.length", off_ivmd + 2);
    /* The IVHD ends two bytes into an 8-byte entry. */
    build_good();
    t_set16(&t, off_11 + 2, (uint16_t)(off_special + 2 - off_11));
    expect_error(IOMMU_ERANGE, "IVHD entry", off_special);
    /* The F0h entry's UID length runs past the IVHD. */
    build_good();
    t.b[off_special + 16 + 21] = 40;
    expect_error(IOMMU_ERANGE, "IVHD entry", off_special + 16);
}

static void test_entry_errors(void **state)
{
    (void)state;
    build_good();
    t.b[off_range_start + 4] = IVHD_SELECT; /* range start followed by a select */
    expect_error(IOMMU_EINVAL, "IVHD entry.type", off_range_start + 4);
    build_good();
    t.b[off_range_start] = IVHD_SELECT; /* range end without a start */
    expect_error(IOMMU_EINVAL, "IVHD entry.type", off_range_start + 4);
    build_good();
    t_set16(&t, off_range_start + 5, 0x0004); /* end 0x04 below start 0x08 */
    expect_error(IOMMU_EINVAL, "IVHD range end.device_id", off_range_start + 5);
    build_good();
    t.b[off_special + 7] = 3;
    expect_error(IOMMU_EINVAL, "IVHD special.variety", off_special + 7);
    build_good();
    t.b[off_special] = 0x90; /* variable-length type with no known size */
    expect_error(IOMMU_EINVAL, "IVHD entry.type", off_special);
    build_good();
    t.b[off_11 + 8] = 0x10; /* base 0xfeb80010 */
    expect_error(IOMMU_EINVAL, "IVHD.base_address", off_11 + 8);
    build_good();
    t.b[off_ivmd + 16] = 0x10;
    expect_error(IOMMU_EINVAL, "IVMD.start_address", off_ivmd + 16);
    build_good();
    memset(t.b + off_ivmd + 24, 0xff, 8); /* rounding up would wrap: the error names the length */
    expect_error(IOMMU_EINVAL, "IVMD.memory_block_length", off_ivmd + 24);
    build_good();
    memset(t.b + off_ivmd + 24, 0, 8);
    expect_error(IOMMU_EINVAL, "IVMD.memory_block_length", off_ivmd + 24);
    /* A range start as the IVHD's last entry. */
    t_header(&t, "IVRS", 0, 0);
    size_t h = t_ivhd(&t, 0x10, 2, 0xfeb80000, 0);
    t_ivhd_entry4(&t, IVHD_RANGE_START, 8, 0);
    t_end(&t, h);
    t_finish(&t);
    expect_error(IOMMU_ERANGE, "IVHD entry", h + 24);
}

/* Real firmware (issue 18) ships IVMD lengths of 1; Linux page-aligns
 * them. Rounded up to 4 KiB, one warning naming the length. */
static void test_ivmd_length_rounded(void **state)
{
    (void)state;
    build_good();
    assert_int_equal(ivrs_parse(t.b, t.n, &info, &err), 0);
    assert_int_equal(info.warnings, 0);
    memset(t.b + off_ivmd + 24, 0, 8);
    t.b[off_ivmd + 24] = 1;
    t_finish(&t);
    assert_int_equal(ivrs_parse(t.b, t.n, &info, &err), 0);
    assert_int_equal(info.memory_count, 3);
    assert_int_equal(info.memory[0].length, 0x1000);
    assert_int_equal(info.warnings, 1);
    assert_string_equal(info.warning.field, "IVMD.memory_block_length");
    assert_int_equal(info.warning.offset, off_ivmd + 24);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_table),
        cmocka_unit_test(test_device_lookup),
        cmocka_unit_test(test_header_errors),
        cmocka_unit_test(test_length_lies),
        cmocka_unit_test(test_entry_errors),
        cmocka_unit_test(test_ivmd_length_rounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
