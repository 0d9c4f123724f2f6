/* Synthetic OpRegions: 2.0 + absolute RVDA, 2.1 + relative RVDA, 3.0, VBT
 * in mailbox 4, VBT override larger than 6 KiB; the guest copy is checked
 * field by field. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <drivers/igd/opregion.h>
#include <drivers/igd/vbt.h>

#define OPR 0x2000u
#define BASE_PHYS 0x7F000000ull

#include "test_igd_util.h"

static void make_opregion(uint8_t *o, size_t len, uint16_t version, uint32_t mboxes)
{
    memset(o, 0, len);
    memcpy(o, IGD_OPREGION_SIGNATURE, 16);
    put32(o + 0x10, OPR / 1024);
    put16(o + 0x16, version);
    put32(o + 0x58, mboxes);
    for (size_t i = 0x20; i < 0x58; i++)   /* bios_ver etc.: a recognisable pattern */
        o[i] = (uint8_t)i;
    for (size_t i = 0x100; i < 0x3B0; i++)  /* mailboxes 1-3 up to RVDA */
        o[i] = (uint8_t)(i ^ 0x5A);
}

/* Every byte of the guest copy's first 8 KiB equals the host's except the
 * version (0x16) and RVDA/RVDS (0x3BA..0x3C5), which the caller checks. */
static void assert_header_copied(const uint8_t *guest, const uint8_t *host, bool check_vbt_mailbox)
{
    assert_memory_equal(guest, host, 0x16);
    assert_memory_equal(guest + 0x18, host + 0x18, IGD_OPREGION_RVDA_OFF - 0x18);
    assert_memory_equal(guest + 0x3C6, host + 0x3C6, IGD_OPREGION_VBT_OFF - 0x3C6);
    if (check_vbt_mailbox)
        assert_memory_equal(guest + 0x400, host + 0x400, OPR - 0x400);
}

static uint8_t host[64 * 1024], guest[64 * 1024], vbt[16 * 1024];

static void test_mailbox4(void **state)
{
    (void)state;
    make_opregion(host, OPR, 0x0200, IGD_MBOX_ACPI | IGD_MBOX_ASLE);
    make_vbt(host + IGD_OPREGION_VBT_OFF, 4096, 1);
    struct igd_opregion_info o;
    struct field_error e;
    assert_int_equal(igd_opregion_parse(host, OPR, BASE_PHYS, &o, &e), 0);
    assert_int_equal(o.version, 0x0200);
    assert_int_equal(o.size, OPR);
    assert_int_equal(o.vbt_where, IGD_VBT_MAILBOX4);
    assert_int_equal(o.vbt_offset, 0x400);
    /* no mailbox 5 advertised: i915 lets the VBT use its space too */
    assert_int_equal(o.vbt_len, OPR - 0x400);
    static struct igd_vbt_summary s;
    assert_int_equal(igd_vbt_parse(host + o.vbt_offset, o.vbt_len, &s, &e), 0);
    assert_int_equal(s.bdb_version, 240);

    size_t n = 0;
    assert_int_equal(igd_opregion_guest_size(&o, 0), OPR);
    assert_int_equal(igd_opregion_build_guest(host, OPR, &o, NULL, 0, NULL, 0, guest, sizeof(guest), &n, &e), 0);
    assert_int_equal(n, OPR);
    assert_memory_equal(guest, host, OPR);
    /* the guest copy is the writable one: i915 writes ASLE fields */
    guest[0x300] = 0xAA;
    assert_int_equal(host[0x300], (uint8_t)(0x300 ^ 0x5A));
}

static void test_v20_absolute_rvda(void **state)
{
    (void)state;
    const uint64_t rvda = 0x7E000000ull;
    const uint32_t rvds = 8704;   /* > 6 KiB, like clevo_tgl-u_l140mu */
    make_opregion(host, OPR, 0x0200, IGD_MBOX_ACPI | IGD_MBOX_SWSCI | IGD_MBOX_ASLE);
    make_vbt(host + 0x400, 1024, 9);   /* a stale small VBT in mailbox 4 stays */
    put64(host + IGD_OPREGION_RVDA_OFF, rvda);
    put32(host + IGD_OPREGION_RVDS_OFF, rvds);
    make_vbt(vbt, rvds, 2);

    struct igd_opregion_info o;
    struct field_error e;
    assert_int_equal(igd_opregion_parse(host, OPR, BASE_PHYS, &o, &e), 0);
    assert_int_equal(o.vbt_where, IGD_VBT_RVDA_ABSOLUTE);
    assert_int_equal(o.vbt_offset, rvda);
    assert_int_equal(o.vbt_len, rvds);

    size_t n = 0;
    assert_int_equal(igd_opregion_guest_size(&o, 0), OPR + rvds);
    assert_int_equal(igd_opregion_build_guest(host, OPR, &o, vbt, rvds, NULL, 0, guest, sizeof(guest), &n, &e), 0);
    assert_int_equal(n, OPR + rvds);
    assert_header_copied(guest, host, true);
    assert_int_equal(get16(guest + 0x16), 0x0201);          /* presented as 2.1 */
    assert_int_equal(get64(guest + IGD_OPREGION_RVDA_OFF), OPR); /* relative, right after */
    assert_int_equal(get32(guest + IGD_OPREGION_RVDS_OFF), rvds);
    assert_memory_equal(guest + OPR, vbt, rvds);

    /* and the copy reads back as a valid 2.1 OpRegion with that VBT */
    struct igd_opregion_info g;
    assert_int_equal(igd_opregion_parse(guest, n, 0, &g, &e), 0);
    assert_int_equal(g.version, 0x0201);
    assert_int_equal(g.vbt_where, IGD_VBT_RVDA_RELATIVE);
    assert_int_equal(g.vbt_offset, OPR);
    static struct igd_vbt_summary s;
    assert_int_equal(igd_vbt_parse(guest + g.vbt_offset, g.vbt_len, &s, &e), 0);
    assert_int_equal(s.vbt_size, rvds);

    /* fewer extended-VBT bytes than RVDS from the caller */
    assert_int_equal(igd_opregion_build_guest(host, OPR, &o, vbt, rvds - 1, NULL, 0, guest, sizeof(guest), &n, &e), -IGD_ERANGE);
    assert_string_equal(e.field, "asle.rvds");
    /* guest buffer too small */
    assert_int_equal(igd_opregion_build_guest(host, OPR, &o, vbt, rvds, NULL, 0, guest, OPR + rvds - 1, &n, &e), -IGD_ENOSPC);
}

static void test_v20_absolute_rvda_rejected(void **state)
{
    (void)state;
    struct igd_opregion_info o;
    struct field_error e;
    make_opregion(host, OPR, 0x0200, IGD_MBOX_ASLE);
    /* overlaps the OpRegion itself */
    put64(host + IGD_OPREGION_RVDA_OFF, BASE_PHYS + 0x1000);
    put32(host + IGD_OPREGION_RVDS_OFF, 0x2000);
    assert_int_equal(igd_opregion_parse(host, OPR, BASE_PHYS, &o, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "asle.rvda");
    assert_int_equal(e.offset, 0x3BA);
    /* ends inside the OpRegion */
    put64(host + IGD_OPREGION_RVDA_OFF, BASE_PHYS - 0x100);
    assert_int_equal(igd_opregion_parse(host, OPR, BASE_PHYS, &o, &e), -IGD_EINVAL);
    /* RVDA + RVDS wraps */
    put64(host + IGD_OPREGION_RVDA_OFF, UINT64_MAX - 0x10);
    assert_int_equal(igd_opregion_parse(host, OPR, BASE_PHYS, &o, &e), -IGD_ERANGE);
    assert_string_equal(e.field, "asle.rvda");
    /* too small to hold a VBT header */
    put64(host + IGD_OPREGION_RVDA_OFF, 0x1000);
    put32(host + IGD_OPREGION_RVDS_OFF, 20);
    assert_int_equal(igd_opregion_parse(host, OPR, BASE_PHYS, &o, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "asle.rvds");
    /* without the ASLE mailbox RVDA/RVDS are not read (i915 does the same) */
    put32(host + 0x58, IGD_MBOX_ACPI);
    put64(host + IGD_OPREGION_RVDA_OFF, BASE_PHYS);
    assert_int_equal(igd_opregion_parse(host, OPR, BASE_PHYS, &o, &e), 0);
    assert_int_equal(o.vbt_where, IGD_VBT_NONE);
    assert_int_equal(o.rvda, 0);
}

static void test_v21_relative_rvda(void **state)
{
    (void)state;
    const uint32_t gap = 0x1000, rvds = 9216;   /* like cwwk_adl */
    const size_t len = OPR + gap + rvds;
    make_opregion(host, len, 0x0201, IGD_MBOX_ACPI | IGD_MBOX_ASLE | IGD_MBOX_ASLE_EXT);
    put64(host + IGD_OPREGION_RVDA_OFF, OPR + gap);
    put32(host + IGD_OPREGION_RVDS_OFF, rvds);
    make_vbt(host + OPR + gap, rvds, 3);

    struct igd_opregion_info o;
    struct field_error e;
    assert_int_equal(igd_opregion_parse(host, len, BASE_PHYS, &o, &e), 0);
    assert_int_equal(o.version, 0x0201);
    assert_int_equal(o.vbt_where, IGD_VBT_RVDA_RELATIVE);
    assert_int_equal(o.vbt_offset, OPR + gap);
    assert_int_equal(o.vbt_len, rvds);

    size_t n = 0;
    assert_int_equal(igd_opregion_build_guest(host, len, &o, NULL, 0, NULL, 0, guest, sizeof(guest), &n, &e), 0);
    assert_int_equal(n, OPR + rvds);                   /* the gap is dropped */
    assert_header_copied(guest, host, true);
    assert_int_equal(get16(guest + 0x16), 0x0201);
    assert_int_equal(get64(guest + IGD_OPREGION_RVDA_OFF), OPR);
    assert_int_equal(get32(guest + IGD_OPREGION_RVDS_OFF), rvds);
    assert_memory_equal(guest + OPR, host + OPR + gap, rvds);
}

static void test_v21_relative_rvda_rejected(void **state)
{
    (void)state;
    struct igd_opregion_info o;
    struct field_error e;
    const size_t len = OPR + 0x2000;
    make_opregion(host, len, 0x0201, IGD_MBOX_ASLE);
    make_vbt(host + OPR, 0x2000, 4);
    put32(host + IGD_OPREGION_RVDS_OFF, 0x2000);
    /* points into the OpRegion (over the header and mailboxes) */
    put64(host + IGD_OPREGION_RVDA_OFF, 0x100);
    assert_int_equal(igd_opregion_parse(host, len, 0, &o, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "asle.rvda");
    /* past the buffer */
    put64(host + IGD_OPREGION_RVDA_OFF, OPR + 1);
    assert_int_equal(igd_opregion_parse(host, len, 0, &o, &e), -IGD_ERANGE);
    assert_string_equal(e.field, "asle.rvds");
    /* offset + size wraps */
    put64(host + IGD_OPREGION_RVDA_OFF, UINT64_MAX - 0x100);
    assert_int_equal(igd_opregion_parse(host, len, 0, &o, &e), -IGD_ERANGE);
    /* no "$VBT" there */
    put64(host + IGD_OPREGION_RVDA_OFF, OPR);
    host[OPR] = 'X';
    assert_int_equal(igd_opregion_parse(host, len, 0, &o, &e), -IGD_EINVAL);
    assert_string_equal(e.what, "no \"$VBT\" at RVDA");
}

static void test_v30(void **state)
{
    (void)state;
    make_opregion(host, OPR, 0x0300, IGD_MBOX_ACPI | IGD_MBOX_ASLE | IGD_MBOX_ASLE_EXT | IGD_MBOX_BACKLIGHT);
    make_vbt(host + IGD_OPREGION_VBT_OFF, IGD_OPREGION_VBT_SIZE, 5);
    struct igd_opregion_info o;
    struct field_error e;
    assert_int_equal(igd_opregion_parse(host, OPR, 0, &o, &e), 0);
    assert_int_equal(o.version, 0x0300);
    assert_int_equal(o.mboxes, 0x35);
    assert_int_equal(o.vbt_where, IGD_VBT_MAILBOX4);
    assert_int_equal(o.vbt_len, IGD_OPREGION_VBT_SIZE);   /* mailbox 5 in use */
    size_t n;
    assert_int_equal(igd_opregion_build_guest(host, OPR, &o, NULL, 0, NULL, 0, guest, sizeof(guest), &n, &e), 0);
    assert_int_equal(n, OPR);
    assert_memory_equal(guest, host, OPR);

    /* 3.0 with a relative extended VBT: the version is kept */
    const uint32_t rvds = 7249;   /* like framework_marigold */
    make_opregion(host, OPR + rvds, 0x0300, IGD_MBOX_ASLE);
    put64(host + IGD_OPREGION_RVDA_OFF, OPR);
    put32(host + IGD_OPREGION_RVDS_OFF, rvds);
    make_vbt(host + OPR, rvds, 6);
    assert_int_equal(igd_opregion_parse(host, OPR + rvds, 0, &o, &e), 0);
    assert_int_equal(o.vbt_where, IGD_VBT_RVDA_RELATIVE);
    assert_int_equal(igd_opregion_build_guest(host, OPR + rvds, &o, NULL, 0, NULL, 0, guest, sizeof(guest), &n, &e), 0);
    assert_int_equal(n, OPR + rvds);
    assert_int_equal(get16(guest + 0x16), 0x0300);
    assert_memory_equal(guest, host, OPR + rvds);
}

static void test_override_large(void **state)
{
    (void)state;
    const uint32_t olen = 7 * 1024;
    make_opregion(host, OPR, 0x0200, IGD_MBOX_ACPI | IGD_MBOX_ASLE);
    make_vbt(host + IGD_OPREGION_VBT_OFF, 4096, 7);
    make_vbt(vbt, olen, 8);
    struct igd_opregion_info o;
    struct field_error e;
    assert_int_equal(igd_opregion_parse(host, OPR, BASE_PHYS, &o, &e), 0);
    size_t n;
    assert_int_equal(igd_opregion_guest_size(&o, olen), OPR + olen);
    assert_int_equal(igd_opregion_build_guest(host, OPR, &o, NULL, 0, vbt, olen, guest, sizeof(guest), &n, &e), 0);
    assert_int_equal(n, OPR + olen);
    assert_header_copied(guest, host, false);
    assert_int_equal(get16(guest + 0x16), 0x0201);
    assert_int_equal(get64(guest + IGD_OPREGION_RVDA_OFF), OPR);
    assert_int_equal(get32(guest + IGD_OPREGION_RVDS_OFF), olen);
    for (uint32_t i = IGD_OPREGION_VBT_OFF; i < IGD_OPREGION_VBT_OFF + IGD_OPREGION_VBT_SIZE; i++)
        assert_int_equal(guest[i], 0);             /* the host VBT is gone */
    assert_memory_equal(guest + IGD_OPREGION_ASLE_EXT_OFF, host + IGD_OPREGION_ASLE_EXT_OFF, OPR - IGD_OPREGION_ASLE_EXT_OFF);
    assert_memory_equal(guest + OPR, vbt, olen);

    /* an extended VBT needs 2.0+ and the ASLE mailbox */
    make_opregion(host, OPR, 0x0100, IGD_MBOX_ACPI | IGD_MBOX_ASLE);
    assert_int_equal(igd_opregion_parse(host, OPR, 0, &o, &e), 0);
    assert_int_equal(igd_opregion_build_guest(host, OPR, &o, NULL, 0, vbt, olen, guest, sizeof(guest), &n, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "version");
    make_opregion(host, OPR, 0x0200, IGD_MBOX_ACPI);
    assert_int_equal(igd_opregion_parse(host, OPR, 0, &o, &e), 0);
    assert_int_equal(igd_opregion_build_guest(host, OPR, &o, NULL, 0, vbt, olen, guest, sizeof(guest), &n, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "mboxes");
    /* not a VBT */
    vbt[0] = 'X';
    make_opregion(host, OPR, 0x0200, IGD_MBOX_ASLE);
    assert_int_equal(igd_opregion_parse(host, OPR, 0, &o, &e), 0);
    assert_int_equal(igd_opregion_build_guest(host, OPR, &o, NULL, 0, vbt, olen, guest, sizeof(guest), &n, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "override");
}

static void test_override_small_replaces_extended(void **state)
{
    (void)state;
    /* host has a relative extended VBT; a 5 KiB override goes to mailbox 4
     * and RVDA/RVDS are cleared */
    const uint32_t rvds = 0x2000, olen = 5 * 1024;
    make_opregion(host, OPR + rvds, 0x0201, IGD_MBOX_ASLE);
    put64(host + IGD_OPREGION_RVDA_OFF, OPR);
    put32(host + IGD_OPREGION_RVDS_OFF, rvds);
    make_vbt(host + OPR, rvds, 10);
    make_vbt(vbt, olen, 11);
    struct igd_opregion_info o;
    struct field_error e;
    assert_int_equal(igd_opregion_parse(host, OPR + rvds, 0, &o, &e), 0);
    size_t n;
    assert_int_equal(igd_opregion_build_guest(host, OPR + rvds, &o, NULL, 0, vbt, olen, guest, sizeof(guest), &n, &e), 0);
    assert_int_equal(n, OPR);
    assert_header_copied(guest, host, false);
    assert_int_equal(get16(guest + 0x16), 0x0201);
    assert_int_equal(get64(guest + IGD_OPREGION_RVDA_OFF), 0);
    assert_int_equal(get32(guest + IGD_OPREGION_RVDS_OFF), 0);
    assert_memory_equal(guest + 0x400, vbt, olen);
    for (uint32_t i = 0x400 + olen; i < 0x400 + IGD_OPREGION_VBT_SIZE; i++)
        assert_int_equal(guest[i], 0);
    struct igd_opregion_info g;
    assert_int_equal(igd_opregion_parse(guest, n, 0, &g, &e), 0);
    assert_int_equal(g.vbt_where, IGD_VBT_MAILBOX4);
}

static void test_header_errors(void **state)
{
    (void)state;
    struct igd_opregion_info o;
    struct field_error e;
    make_opregion(host, OPR, 0x0200, IGD_MBOX_ASLE);
    assert_int_equal(igd_opregion_parse(host, OPR - 1, 0, &o, &e), -IGD_ERANGE);
    assert_string_equal(e.field, "opregion");
    assert_int_equal(igd_opregion_parse(NULL, OPR, 0, &o, &e), -IGD_ERANGE);

    host[3] = 'x';
    assert_int_equal(igd_opregion_parse(host, OPR, 0, &o, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "signature");
    assert_int_equal(e.offset, 0);

    make_opregion(host, OPR, 0x0200, IGD_MBOX_ASLE);
    put32(host + 0x10, 7);
    assert_int_equal(igd_opregion_parse(host, OPR, 0, &o, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "size");
    assert_int_equal(e.offset, 0x10);
    put32(host + 0x10, 9);
    assert_int_equal(igd_opregion_parse(host, OPR, 0, &o, &e), -IGD_ERANGE);
    put32(host + 0x10, UINT32_MAX);   /* KiB -> bytes must not wrap */
    assert_int_equal(igd_opregion_parse(host, OPR, 0, &o, &e), -IGD_ERANGE);

    make_opregion(host, OPR, 0x0000, IGD_MBOX_ASLE);
    assert_int_equal(igd_opregion_parse(host, OPR, 0, &o, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "version");
    assert_int_equal(e.offset, 0x16);

    make_opregion(host, OPR, 0x0200, IGD_MBOX_ASLE | (1u << 3));
    assert_int_equal(igd_opregion_parse(host, OPR, 0, &o, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "mboxes");
    assert_int_equal(e.offset, 0x58);

    /* no VBT anywhere is not an error: the guest gets the OpRegion alone */
    make_opregion(host, OPR, 0x0200, IGD_MBOX_ASLE);
    assert_int_equal(igd_opregion_parse(host, OPR, 0, &o, &e), 0);
    assert_int_equal(o.vbt_where, IGD_VBT_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mailbox4),
        cmocka_unit_test(test_v20_absolute_rvda),
        cmocka_unit_test(test_v20_absolute_rvda_rejected),
        cmocka_unit_test(test_v21_relative_rvda),
        cmocka_unit_test(test_v21_relative_rvda_rejected),
        cmocka_unit_test(test_v30),
        cmocka_unit_test(test_override_large),
        cmocka_unit_test(test_override_small_replaces_extended),
        cmocka_unit_test(test_header_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
