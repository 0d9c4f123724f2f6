/* ACPI walk (boot/acpi.c) over tables built here in a fake physical space. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "boot/acpi.h"

#define PHYS_SIZE 0x8000
static uint8_t phys[PHYS_SIZE];

static const void *fake_map(void *opaque, uint64_t pa, size_t len)
{
    (void)opaque;
    if (pa >= PHYS_SIZE || len > PHYS_SIZE - pa)
        return NULL;
    return phys + pa;
}

static void fix_checksum(uint8_t *t, size_t len, size_t at)
{
    uint8_t s = 0;
    t[at] = 0;
    for (size_t i = 0; i < len; i++)
        s = (uint8_t)(s + t[i]);
    t[at] = (uint8_t)-s;
}

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static void header(uint64_t pa, const char *sig, uint32_t len)
{
    memcpy(phys + pa, sig, 4);
    put32(phys + pa + 4, len);
    memcpy(phys + pa + 10, "MINIHV", 6);
}

/* RSDP rev 2 at 0x100; XSDT at 0x1000 -> MADT 0x2000, MCFG 0x3000, DMAR 0x4000. */
static void build_tables(void)
{
    memset(phys, 0, sizeof(phys));
    uint8_t *r = phys + 0x100;
    memcpy(r, "RSD PTR ", 8);
    memcpy(r + 9, "MINIHV", 6);
    r[15] = 2;
    put32(r + 20, 36);
    put64(r + 24, 0x1000);
    fix_checksum(r, 20, 8);
    fix_checksum(r, 36, 32);

    header(0x1000, "XSDT", 36 + 3 * 8);
    put64(phys + 0x1000 + 36, 0x2000);
    put64(phys + 0x1000 + 44, 0x3000);
    put64(phys + 0x1000 + 52, 0x4000);
    fix_checksum(phys + 0x1000, 36 + 24, 9);

    /* MADT: 3 Local APICs (one disabled), one x2APIC enabled. */
    uint8_t *m = phys + 0x2000;
    uint32_t off = 44;
    for (int i = 0; i < 3; i++, off += 8) {
        m[off] = 0, m[off + 1] = 8, m[off + 3] = (uint8_t)i;
        put32(m + off + 4, i == 2 ? 0 : 1);
    }
    m[off] = 9, m[off + 1] = 16;
    put32(m + off + 8, 1);
    off += 16;
    header(0x2000, "APIC", off);
    fix_checksum(m, off, 9);

    uint8_t *c = phys + 0x3000;
    header(0x3000, "MCFG", 44 + 16);
    put64(c + 44, 0xb0000000);
    c[44 + 10] = 0, c[44 + 11] = 0xff;
    fix_checksum(c, 60, 9);

    header(0x4000, "DMAR", 48);
    fix_checksum(phys + 0x4000, 48, 9);
}

static void test_walk(void **state)
{
    (void)state;
    struct acpi_info info;
    const char *why = NULL;
    build_tables();
    assert_int_equal(acpi_parse(0x100, fake_map, NULL, &info, &why), 0);
    assert_true(info.xsdt);
    assert_int_equal(info.revision, 2);
    assert_string_equal(info.oem_id, "MINIHV");
    assert_int_equal(info.table_count, 3);
    assert_string_equal(info.tables[0].sig, "APIC");
    assert_int_equal(info.madt_cpus, 3);
    assert_int_equal(info.mcfg_count, 1);
    assert_int_equal(info.mcfg[0].base, 0xb0000000);
    assert_int_equal(info.mcfg[0].bus_end, 0xff);
    assert_true(info.has_dmar);
    assert_false(info.has_ivrs);
    assert_int_equal(info.skipped, 0);
}

static void test_bad_rsdp(void **state)
{
    (void)state;
    struct acpi_info info;
    const char *why = NULL;
    build_tables();
    phys[0x100 + 9] ^= 1; /* breaks the checksum */
    assert_int_equal(acpi_parse(0x100, fake_map, NULL, &info, &why), -1);
    assert_non_null(strstr(why, "RSDP"));
    assert_int_equal(acpi_parse(0x7ff0, fake_map, NULL, &info, &why), -1);
}

static void test_lying_lengths(void **state)
{
    (void)state;
    struct acpi_info info;
    const char *why = NULL;
    build_tables();
    /* XSDT claims to run past the end of memory. */
    put32(phys + 0x1000 + 4, PHYS_SIZE);
    assert_int_equal(acpi_parse(0x100, fake_map, NULL, &info, &why), -1);
    assert_non_null(strstr(why, "XSDT"));

    build_tables();
    /* MCFG checksum broken: skipped, the others still used. */
    phys[0x3000 + 44] ^= 0x10;
    assert_int_equal(acpi_parse(0x100, fake_map, NULL, &info, &why), 0);
    assert_int_equal(info.skipped, 1);
    assert_int_equal(info.mcfg_count, 0);
    assert_int_equal(info.madt_cpus, 3);

    build_tables();
    /* A MADT entry of length 0 must stop the walk, not loop. */
    phys[0x2000 + 44 + 8 + 1] = 0;
    fix_checksum(phys + 0x2000, 44 + 3 * 8 + 16, 9);
    assert_int_equal(acpi_parse(0x100, fake_map, NULL, &info, &why), 0);
    assert_int_equal(info.madt_cpus, 1);

    build_tables();
    /* A table header shorter than 36 bytes is rejected. */
    put32(phys + 0x4000 + 4, 20);
    fix_checksum(phys + 0x4000, 20, 9);
    assert_int_equal(acpi_parse(0x100, fake_map, NULL, &info, &why), 0);
    assert_false(info.has_dmar);
    assert_int_equal(info.skipped, 1);
}

/* A FADT at 0x5000 as the XSDT's 4th entry; fields set by the caller,
 * then the checksum. */
static uint8_t *fadt_begin(uint32_t len)
{
    build_tables();
    header(0x1000, "XSDT", 36 + 4 * 8);
    put64(phys + 0x1000 + 60, 0x5000);
    fix_checksum(phys + 0x1000, 36 + 32, 9);
    header(0x5000, "FACP", len);
    phys[0x5000 + 8] = 6; /* revision */
    return phys + 0x5000;
}

static void fadt_end(uint32_t len)
{
    fix_checksum(phys + 0x5000, len, 9);
}

static void gas(uint8_t *g, uint8_t space, uint8_t width, uint64_t address)
{
    g[0] = space, g[1] = width, g[2] = 0, g[3] = width == 8 ? 1 : 2;
    put64(g + 4, address);
}

static void parse_ok(struct acpi_info *info)
{
    const char *why = NULL;
    assert_int_equal(acpi_parse(0x100, fake_map, NULL, info, &why), 0);
}

static void test_fadt(void **state)
{
    (void)state;
    struct acpi_info info;

    /* QEMU q35 (ACPI 6, 276 bytes): PM1a_CNT 0x604 in both forms, reset
     * register 0xcf9 <- 0x0f with RESET_REG_SUP. */
    uint8_t *f = fadt_begin(276);
    put32(f + 64, 0x604);
    f[89] = 2;
    put32(f + 112, 1u << 10);
    gas(f + 116, 1, 8, 0xcf9);
    f[128] = 0x0f;
    gas(f + 172, 1, 16, 0x604);
    fadt_end(276);
    parse_ok(&info);
    assert_true(info.has_fadt);
    assert_int_equal(info.table_count, 4);
    assert_int_equal(info.pm1a_cnt, 0x604);
    assert_int_equal(info.pm1b_cnt, 0);
    assert_int_equal(info.reset_port, 0xcf9);
    assert_int_equal(info.reset_value, 0x0f);
    assert_int_equal(info.madt_cpus, 3); /* the others still walked */

    /* X_PM1a_CNT_BLK nonzero wins; in System Memory space: no port. */
    f = fadt_begin(276);
    put32(f + 64, 0x604);
    f[89] = 2;
    gas(f + 172, 0, 16, 0xfed00004);
    fadt_end(276);
    parse_ok(&info);
    assert_int_equal(info.pm1a_cnt, 0);
    assert_int_equal(info.reset_port, 0); /* no RESET_REG_SUP */

    /* X_ blocks zero: the 32-bit ones, PM1b too (PIIX4-style 0xb004). */
    f = fadt_begin(244);
    put32(f + 64, 0xb004);
    put32(f + 68, 0xb104);
    f[89] = 2;
    fadt_end(244);
    parse_ok(&info);
    assert_int_equal(info.pm1a_cnt, 0xb004);
    assert_int_equal(info.pm1b_cnt, 0xb104);

    /* A 180-byte FADT: X_PM1a_CNT_BLK (172-183) is cut off, so the
     * 32-bit blocks stand even though its first bytes look valid. */
    f = fadt_begin(180);
    put32(f + 64, 0x404);
    put32(f + 68, 0x408);
    f[89] = 2;
    gas(f + 172, 1, 16, 0x504);
    fadt_end(180);
    parse_ok(&info);
    assert_int_equal(info.pm1a_cnt, 0x404);
    assert_int_equal(info.pm1b_cnt, 0x408);

    /* ACPI 1.0 FADT (116 bytes): PM1a from offset 64, no reset register. */
    f = fadt_begin(116);
    put32(f + 64, 0x8004);
    f[89] = 2;
    fadt_end(116);
    parse_ok(&info);
    assert_int_equal(info.pm1a_cnt, 0x8004);
    assert_int_equal(info.reset_port, 0);

    /* Reset register: memory space, wrong width, port past 0xffff. */
    f = fadt_begin(276);
    put32(f + 112, 1u << 10);
    gas(f + 116, 0, 8, 0xcf9);
    fadt_end(276);
    parse_ok(&info);
    assert_int_equal(info.reset_port, 0);
    f = fadt_begin(276);
    put32(f + 112, 1u << 10);
    gas(f + 116, 1, 16, 0xcf9);
    fadt_end(276);
    parse_ok(&info);
    assert_int_equal(info.reset_port, 0);
    f = fadt_begin(276);
    put32(f + 112, 1u << 10);
    gas(f + 116, 1, 8, 0x10000);
    fadt_end(276);
    parse_ok(&info);
    assert_int_equal(info.reset_port, 0);

    /* Hardware-reduced ACPI: no PM1 blocks even if the fields are set;
     * PM1_CNT_LEN < 2: none either; port 0xffff cannot hold 2 bytes. */
    f = fadt_begin(276);
    put32(f + 64, 0x604);
    f[89] = 2;
    put32(f + 112, 1u << 20);
    fadt_end(276);
    parse_ok(&info);
    assert_int_equal(info.pm1a_cnt, 0);
    f = fadt_begin(276);
    put32(f + 64, 0x604);
    fadt_end(276);
    parse_ok(&info);
    assert_int_equal(info.pm1a_cnt, 0);
    f = fadt_begin(276);
    put32(f + 64, 0xffff);
    f[89] = 2;
    fadt_end(276);
    parse_ok(&info);
    assert_int_equal(info.pm1a_cnt, 0);

    /* Too short for PM1_CNT_LEN (80 bytes): a FADT, no ports. */
    f = fadt_begin(80);
    put32(f + 64, 0x604);
    fadt_end(80);
    parse_ok(&info);
    assert_true(info.has_fadt);
    assert_int_equal(info.pm1a_cnt, 0);

    /* Bad checksum: skipped, no FADT. */
    f = fadt_begin(276);
    put32(f + 64, 0x604);
    f[89] = 2;
    fadt_end(276);
    f[64] ^= 1;
    parse_ok(&info);
    assert_false(info.has_fadt);
    assert_int_equal(info.pm1a_cnt, 0);
    assert_int_equal(info.skipped, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk),
        cmocka_unit_test(test_bad_rsdp),
        cmocka_unit_test(test_lying_lengths),
        cmocka_unit_test(test_fadt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
