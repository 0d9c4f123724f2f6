/* minihv.cfg parser (boot/config.c): good files, and every kind of bad line
 * reported with its number and the config left at defaults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "boot/config.h"

static int parse(const char *text, size_t len, struct minihv_config *cfg, struct config_error *err)
{
    return config_parse(text, len, cfg, err);
}
#define PARSE(s, cfg, err) parse((s), sizeof(s) - 1, (cfg), (err))

static void test_missing_keys_are_defaults(void **state)
{
    (void)state;
    struct minihv_config cfg;
    struct config_error err;
    assert_int_equal(PARSE("", &cfg, &err), 0);
    assert_int_equal(cfg.passthrough, PASSTHROUGH_NONE);
    assert_string_equal(cfg.guest, "");
    assert_int_equal(cfg.serial_port, 0x3f8);
    assert_int_equal(cfg.hv_mem_mb, 64);
    assert_int_equal(cfg.iommu, IOMMU_AUTO);
    assert_false(cfg.igd_force);
    assert_string_equal(cfg.vbt, "");
    assert_string_equal(cfg.rom, "");
    assert_int_equal(cfg.log_kb, 256);
    assert_int_equal(cfg.keep_logs, 5);
    assert_int_equal(cfg.config_guard, CONFIG_GUARD_AUTO);
}

static void test_config_guard(void **state)
{
    (void)state;
    struct minihv_config cfg;
    struct config_error err;
    assert_int_equal(PARSE("config_guard = on\n", &cfg, &err), 0);
    assert_int_equal(cfg.config_guard, CONFIG_GUARD_ON);
    assert_string_equal(config_guard_name(cfg.config_guard), "on");
    assert_int_equal(PARSE("config_guard = auto\n", &cfg, &err), 0);
    assert_int_equal(cfg.config_guard, CONFIG_GUARD_AUTO);
    assert_int_equal(PARSE("iommu = none\nconfig_guard = off\n", &cfg, &err), -1);
    assert_int_equal(err.line, 2);
    assert_string_equal(err.msg, "bad value for 'config_guard': expected auto or on");
    assert_int_equal(cfg.config_guard, CONFIG_GUARD_AUTO);
    assert_int_equal(cfg.iommu, IOMMU_AUTO); /* never half-applied */
    assert_int_equal(PARSE("config_guard = on\nconfig_guard = on\n", &cfg, &err), -1);
    assert_int_equal(err.line, 2);
    /* auto-required is the loader's, never a config value */
    assert_int_equal(PARSE("iommu = auto-required\n", &cfg, &err), -1);
}

static void test_log_keys(void **state)
{
    (void)state;
    struct minihv_config cfg;
    struct config_error err;
    static const char text[] = "log_kb = 16\nkeep_logs = 0\n";
    assert_int_equal(PARSE(text, &cfg, &err), 0);
    assert_int_equal(cfg.log_kb, 16);
    assert_int_equal(cfg.keep_logs, 0);
    static const char text2[] = "log_kb = 65536\nkeep_logs = 99\n";
    assert_int_equal(PARSE(text2, &cfg, &err), 0);
    assert_int_equal(cfg.log_kb, 65536);
    assert_int_equal(cfg.keep_logs, 99);
    static const char text3[] = "log_kb = 0x400\n";
    assert_int_equal(PARSE(text3, &cfg, &err), 0);
    assert_int_equal(cfg.log_kb, 1024);
}

static void test_passthrough_files(void **state)
{
    (void)state;
    struct minihv_config cfg;
    struct config_error err;
    static const char text[] =
        "passthrough = 00:01.0\n"
        "igd_force = 1   # test only\n"
        "vbt = \\EFI\\minihv\\board.vbt\n"
        "rom = /EFI/minihv/vbios.rom\n";
    assert_int_equal(PARSE(text, &cfg, &err), 0);
    assert_true(cfg.igd_force);
    assert_string_equal(cfg.vbt, "\\EFI\\minihv\\board.vbt");
    assert_string_equal(cfg.rom, "/EFI/minihv/vbios.rom");
    assert_int_equal(PARSE("igd_force = 0\nvbt =\nrom = \n", &cfg, &err), 0);
    assert_false(cfg.igd_force);
    assert_string_equal(cfg.vbt, "");
    assert_string_equal(cfg.rom, "");
}

static void test_full_file(void **state)
{
    (void)state;
    struct minihv_config cfg;
    struct config_error err;
    static const char text[] =
        "# minihv example\r\n"
        "passthrough = 0000:03:00.1   # the NIC\r\n"
        "\tguest=\\EFI\\debian\\grubx64.efi\n"
        "guest_args = initrd=\\initrd.img console=ttyS0 quiet\n"
        "serial = off\n"
        "hv_mem_mb = 0x80\n"
        "iommu = vtd\n"
        "   \n"
        "# UTF-8 in a comment is fine: caf\xc3\xa9\n";
    assert_int_equal(PARSE(text, &cfg, &err), 0);
    assert_int_equal(cfg.passthrough, PASSTHROUGH_BDF);
    assert_int_equal(cfg.pt_segment, 0);
    assert_int_equal(cfg.pt_bus, 3);
    assert_int_equal(cfg.pt_dev, 0);
    assert_int_equal(cfg.pt_fn, 1);
    assert_string_equal(cfg.guest, "\\EFI\\debian\\grubx64.efi");
    assert_string_equal(cfg.guest_args, "initrd=\\initrd.img console=ttyS0 quiet");
    assert_int_equal(cfg.serial_port, 0);
    assert_int_equal(cfg.hv_mem_mb, 128);
    assert_int_equal(cfg.iommu, IOMMU_VTD);
}

static void test_igd_and_short_bdf(void **state)
{
    (void)state;
    struct minihv_config cfg;
    struct config_error err;
    assert_int_equal(PARSE("passthrough = igd\n", &cfg, &err), 0);
    assert_int_equal(cfg.passthrough, PASSTHROUGH_IGD);
    assert_int_equal(PARSE("passthrough = 1f:1f.7\nserial = 0x2f8\n", &cfg, &err), 0);
    assert_int_equal(cfg.pt_bus, 0x1f);
    assert_int_equal(cfg.pt_dev, 0x1f);
    assert_int_equal(cfg.pt_fn, 7);
    assert_int_equal(cfg.serial_port, 0x2f8);
}

struct bad_case {
    const char *text;
    unsigned line;
    const char *msg_part;
};

/* A Linux command line past 200 characters (was refused: 'bad value for
 * guest_args'); its end is kept whole. */
static void test_long_guest_args(void **state)
{
    (void)state;
    static char text[CONFIG_MAX_LINE + 64];
    memcpy(text, "guest_args = ", 13);
    memset(text + 13, 'x', 1019);
    memcpy(text + 13 + 1019, " end\n", 6);
    struct minihv_config cfg;
    struct config_error err;
    assert_int_equal(parse(text, strlen(text), &cfg, &err), 0);
    assert_int_equal(strlen(cfg.guest_args), CONFIG_MAX_ARGS - 1); /* the longest there is */
    assert_string_equal(cfg.guest_args + 1019, " end");
    /* one more: refused, the message names the limit */
    memcpy(text + 13 + 1020, " end\n", 6);
    assert_int_equal(parse(text, strlen(text), &cfg, &err), -1);
    assert_non_null(strstr(err.msg, "longer than 1023"));
}

static void test_bad_lines(void **state)
{
    (void)state;
    static char overlong[CONFIG_MAX_LINE + 100];
    memset(overlong, 'a', sizeof(overlong) - 1);
    static const struct bad_case cases[] = {
        { "serial = 0x3f8\nfoo = 1\n", 2, "unknown key 'foo'" },
        /* The test build's key (boot/config.h): a release build has no such key. */
        { "test_skip_ap = 1\n", 1, "unknown key 'test_skip_ap'" },
        { "passthrough = 00:20.0\n", 1, "bad value for 'passthrough'" },
        { "passthrough = 00:02.8\n", 1, "bad value for 'passthrough'" },
        { "passthrough = 100:02.0\n", 1, "bad value for 'passthrough'" },
        { "passthrough = 00:02\n", 1, "bad value for 'passthrough'" },
        { "passthrough = gpu\n", 1, "bad value for 'passthrough'" },
        { "\n\nhv_mem_mb = 8\n", 3, "bad value for 'hv_mem_mb'" },
        { "hv_mem_mb = 99999999999999999999999\n", 1, "bad value for 'hv_mem_mb'" },
        { "hv_mem_mb = 12x\n", 1, "bad value for 'hv_mem_mb'" },
        { "serial = 0\n", 1, "bad value for 'serial'" },
        { "serial = 0x10000\n", 1, "bad value for 'serial'" },
        { "iommu = intel\n", 1, "bad value for 'iommu'" },
        { "guest\n", 1, "expected 'key = value'" },
        { "iommu = none\niommu = auto\n", 2, "set twice" },
        { "# ok\nguest = a\x01b\n", 2, "binary" },
        { "guest = caf\xc3\xa9\n", 1, "non-ASCII" },
        { "serial = off\nigd_force = yes\n", 2, "bad value for 'igd_force': expected 0 or 1" },
        { "igd_force = 2\n", 1, "bad value for 'igd_force'" },
        { "igd_force = 01\n", 1, "bad value for 'igd_force'" },
        { "igd_force =\n", 1, "bad value for 'igd_force'" },
        { "igd_force = 1\nigd_force = 1\n", 2, "'igd_force' is set twice" },
        { "vbt = a.vbt\n\nvbt = b.vbt\n", 3, "'vbt' is set twice" },
        { "rom = a\nrom = b\n", 2, "'rom' is set twice" },
        { "rom = vbios\xff.rom\n", 1, "non-ASCII" },
        { "vbt\n", 1, "expected 'key = value'" },
        { "log_kb = 8\n", 1, "bad value for 'log_kb': expected a power of two of KiB from 16 to 65536" },
        { "log_kb = 100\n", 1, "bad value for 'log_kb'" },
        { "log_kb = 131072\n", 1, "bad value for 'log_kb'" },
        { "log_kb = 0\n", 1, "bad value for 'log_kb'" },
        { "log_kb = -16\n", 1, "bad value for 'log_kb'" },
        { "log_kb = 64\nlog_kb = 64\n", 2, "'log_kb' is set twice" },
        { "keep_logs = 100\n", 1, "bad value for 'keep_logs': expected a number of saved logs from 0 to 99" },
        { "keep_logs = five\n", 1, "bad value for 'keep_logs'" },
        { "keep_logs =\n", 1, "bad value for 'keep_logs'" },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct minihv_config cfg;
        struct config_error err;
        assert_int_equal(parse(cases[i].text, strlen(cases[i].text), &cfg, &err), -1);
        assert_int_equal(err.line, cases[i].line);
        if (!strstr(err.msg, cases[i].msg_part))
            fail_msg("case %u: message '%s' lacks '%s'", i, err.msg, cases[i].msg_part);
        /* never half-applied */
        assert_int_equal(cfg.serial_port, 0x3f8);
        assert_int_equal(cfg.iommu, IOMMU_AUTO);
    }
    struct minihv_config cfg;
    struct config_error err;
    memcpy(overlong, "guest = ", 8);
    assert_int_equal(parse(overlong, strlen(overlong), &cfg, &err), -1);
    assert_int_equal(err.line, 1);
    assert_non_null(strstr(err.msg, "longer than 1056"));
    /* a NUL byte inside the file is binary garbage too */
    assert_int_equal(parse("serial = off\0\n", 14, &cfg, &err), -1);
    assert_non_null(strstr(err.msg, "binary"));
}

static void test_path_too_long(void **state)
{
    (void)state;
    char text[300] = "guest = ";
    memset(text + 8, 'p', CONFIG_MAX_PATH);
    struct minihv_config cfg;
    struct config_error err;
    assert_int_equal(parse(text, strlen(text), &cfg, &err), -1);
    assert_non_null(strstr(err.msg, "longer than 199"));
    memcpy(text, "vbt   = ", 8);
    assert_int_equal(parse(text, strlen(text), &cfg, &err), -1);
    assert_non_null(strstr(err.msg, "bad value for 'vbt': longer than 199"));
    memcpy(text, "rom   = ", 8);
    assert_int_equal(parse(text, strlen(text), &cfg, &err), -1);
    assert_non_null(strstr(err.msg, "bad value for 'rom': longer than 199"));
    text[8 + CONFIG_MAX_PATH - 1] = '\0'; /* 199 characters fit */
    assert_int_equal(parse(text, strlen(text), &cfg, &err), 0);
    assert_int_equal(strlen(cfg.rom), CONFIG_MAX_PATH - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_missing_keys_are_defaults),
        cmocka_unit_test(test_log_keys),
        cmocka_unit_test(test_config_guard),
        cmocka_unit_test(test_passthrough_files),
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_igd_and_short_bdf),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_long_guest_args),
        cmocka_unit_test(test_path_too_long),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
