/* igd_opregion_synthesize (drivers/igd/opregion.c): the host OpRegion the
 * loader makes up for igd_force = 1 on an emulated device. It must pass
 * igd_opregion_parse, and the guest copy built from it with a VBT override
 * (mailbox 4 up to 6 KiB, extended 2.1 beyond) must parse again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <drivers/igd/opregion.h>
#include <drivers/igd/vbt.h>

#include "test_igd_util.h"

#define MBOXES (IGD_MBOX_ACPI | IGD_MBOX_SWSCI | IGD_MBOX_ASLE)


static uint8_t host[IGD_OPREGION_SIZE + 64], guest[64 * 1024], vbt[16 * 1024];

static void test_synthesized_parses(void **state)
{
    (void)state;
    struct field_error err = { 0 };
    struct igd_opregion_info info;
    memset(host, 0xEE, sizeof(host));
    assert_int_equal(igd_opregion_synthesize(host, sizeof(host), 0x0200, MBOXES, &err), 0);
    assert_memory_equal(host, "IntelGraphicsMem", 16);
    assert_int_equal(get32(host + 0x10), 8);
    assert_int_equal(host[0x16], 0);
    assert_int_equal(host[0x17], 2);
    assert_int_equal(get32(host + 0x58), MBOXES);
    assert_int_equal(get64(host + IGD_OPREGION_RVDA_OFF), 0);
    assert_int_equal(get32(host + IGD_OPREGION_RVDS_OFF), 0);
    for (size_t i = 0x5C; i < IGD_OPREGION_SIZE; i++)
        if (host[i])
            fail_msg("byte 0x%zx is 0x%02x, not zero", i, host[i]);
    assert_int_equal(host[IGD_OPREGION_SIZE], 0xEE); /* nothing past 8 KiB */
    assert_int_equal(igd_opregion_parse(host, IGD_OPREGION_SIZE, 0, &info, &err), 0);
    assert_int_equal(info.size, IGD_OPREGION_SIZE);
    assert_int_equal(info.version, 0x0200);
    assert_int_equal(info.mboxes, MBOXES);
    assert_int_equal(info.vbt_where, IGD_VBT_NONE);
}

/* 4 KiB override: in mailbox 4, still 2.0; 9 KiB: after the OpRegion, 2.1. */
static void check_override(size_t vbt_len, bool extended)
{
    struct field_error err = { 0 };
    struct igd_opregion_info info, ginfo;
    size_t out_len = 0;
    assert_int_equal(igd_opregion_synthesize(host, sizeof(host), 0x0200, MBOXES, &err), 0);
    assert_int_equal(igd_opregion_parse(host, IGD_OPREGION_SIZE, 0, &info, &err), 0);
    make_vbt(vbt, vbt_len, 13);
    assert_int_equal(igd_opregion_guest_size(&info, vbt_len), extended ? IGD_OPREGION_SIZE + vbt_len : IGD_OPREGION_SIZE);
    assert_int_equal(igd_opregion_build_guest(host, IGD_OPREGION_SIZE, &info, NULL, 0, vbt, vbt_len,
                                              guest, sizeof(guest), &out_len, &err), 0);
    assert_int_equal(out_len, extended ? IGD_OPREGION_SIZE + vbt_len : IGD_OPREGION_SIZE);
    assert_int_equal(igd_opregion_parse(guest, out_len, 0, &ginfo, &err), 0);
    assert_int_equal(ginfo.version, extended ? 0x0201 : 0x0200);
    if (extended) {
        assert_int_equal(ginfo.vbt_where, IGD_VBT_RVDA_RELATIVE);
        assert_int_equal(ginfo.rvda, IGD_OPREGION_SIZE);
        assert_int_equal(ginfo.rvds, vbt_len);
    } else {
        assert_int_equal(ginfo.vbt_where, IGD_VBT_MAILBOX4);
    }
    assert_memory_equal(guest + ginfo.vbt_offset, vbt, vbt_len);
    struct igd_vbt_summary s;
    assert_int_equal(igd_vbt_parse(guest + ginfo.vbt_offset, ginfo.vbt_len, &s, &err), 0);
}

static void test_override_mailbox4(void **state)
{
    (void)state;
    check_override(4096, false);
    check_override(IGD_OPREGION_VBT_SIZE, false);
}

static void test_override_extended(void **state)
{
    (void)state;
    check_override(IGD_OPREGION_VBT_SIZE + 1, true);
    check_override(9216, true);
}

static void test_synthesize_errors(void **state)
{
    (void)state;
    struct field_error err = { 0 };
    assert_int_equal(igd_opregion_synthesize(host, IGD_OPREGION_SIZE - 1, 0x0200, MBOXES, &err), -IGD_ENOSPC);
    assert_string_equal(err.field, "opregion");
    assert_int_equal(igd_opregion_synthesize(NULL, IGD_OPREGION_SIZE, 0x0200, MBOXES, &err), -IGD_ENOSPC);
    assert_int_equal(igd_opregion_synthesize(host, sizeof(host), 0x0005, MBOXES, &err), -IGD_EINVAL);
    assert_string_equal(err.field, "version");
    assert_int_equal(igd_opregion_synthesize(host, sizeof(host), 0x0200, 1u << 3, &err), -IGD_EINVAL);
    assert_string_equal(err.field, "mboxes");
    assert_int_equal(igd_opregion_synthesize(host, sizeof(host), 0x0201, IGD_MBOX_BACKLIGHT, &err), -IGD_EINVAL);
    assert_string_equal(err.field, "mboxes");
    assert_int_equal(igd_opregion_synthesize(host, sizeof(host), 0x0300, MBOXES | IGD_MBOX_BACKLIGHT, &err), 0);
    struct igd_opregion_info info;
    assert_int_equal(igd_opregion_parse(host, IGD_OPREGION_SIZE, 0, &info, &err), 0);
    assert_int_equal(info.version, 0x0300);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_synthesized_parses),
        cmocka_unit_test(test_override_mailbox4),
        cmocka_unit_test(test_override_extended),
        cmocka_unit_test(test_synthesize_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
