/* vfio-info: the real CLI entry point (tools/vfio-info.c built without its
 * main) run on synthetic dumps, output captured in memory. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <unistd.h>

#include "test_vfio_util.h"

int vfio_info_main(int argc, char **argv, FILE *out, FILE *err);

struct run {
    int rc;
    char *out, *err;
    size_t out_len, err_len;
};

static void run_tool(struct run *r, int argc, const char **argv)
{
    FILE *out = open_memstream(&r->out, &r->out_len);
    FILE *err = open_memstream(&r->err, &r->err_len);
    r->rc = vfio_info_main(argc, (char **)argv, out, err);
    fclose(out);
    fclose(err);
}

static void run_free(struct run *r)
{
    free(r->out);
    free(r->err);
}

static char path[64];

static const char *write_dump(const uint8_t *cfg, size_t len)
{
    strcpy(path, "/tmp/test_vfio_tool.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, cfg, len), (ssize_t)len);
    close(fd);
    return path;
}

static void test_json(void **state)
{
    (void)state;
    uint8_t cfg[256];
    cfg_nvme(cfg, sizeof(cfg), 64);
    const char *argv[] = { "vfio-info", write_dump(cfg, sizeof(cfg)), "--bar", "0=16K", "--json" };
    struct run r;
    run_tool(&r, 5, argv);
    unlink(path);
    assert_int_equal(r.rc, 0);
    assert_string_equal(r.out,
        "{\"device\":{\"flags\":2,\"num_regions\":9,\"num_irqs\":5},\"regions\":["
        "{\"index\":0,\"flags\":15,\"size\":16384,\"offset\":0,\"caps\":[{\"id\":1,\"version\":1,"
        "\"areas\":[{\"offset\":0,\"size\":8192},{\"offset\":12288,\"size\":4096}]}]},"
        "{\"index\":1,\"flags\":0,\"size\":0,\"offset\":1099511627776,\"caps\":[]},"
        "{\"index\":2,\"flags\":0,\"size\":0,\"offset\":2199023255552,\"caps\":[]},"
        "{\"index\":3,\"flags\":0,\"size\":0,\"offset\":3298534883328,\"caps\":[]},"
        "{\"index\":4,\"flags\":0,\"size\":0,\"offset\":4398046511104,\"caps\":[]},"
        "{\"index\":5,\"flags\":0,\"size\":0,\"offset\":5497558138880,\"caps\":[]},"
        "{\"index\":6,\"flags\":0,\"size\":0,\"offset\":6597069766656,\"caps\":[]},"
        "{\"index\":7,\"flags\":3,\"size\":256,\"offset\":7696581394432,\"caps\":[]}]}\n");
    assert_int_equal(r.err_len, 0);
    run_free(&r);
}

static void test_table(void **state)
{
    (void)state;
    uint8_t cfg[256];
    cfg_nvme(cfg, sizeof(cfg), 64);
    const char *argv[] = { "vfio-info", write_dump(cfg, sizeof(cfg)), "--bar", "0=0x4000", "--bar", "6=64K" };
    struct run r;
    run_tool(&r, 6, argv);
    unlink(path);
    assert_int_equal(r.rc, 0);
    assert_non_null(strstr(r.out, "device: flags 0x2 PCI  num_regions 9  num_irqs 5\n"));
    assert_non_null(strstr(r.out, "0      BAR0    0xf  R W MMAP CAPS"));
    assert_non_null(strstr(r.out, "cap sparse-mmap v1: 2 areas [0x0, 0x2000) [0x3000, 0x4000)\n"));
    assert_non_null(strstr(r.out, "6      ROM     0x1  R"));
    assert_null(strstr(r.out, "VGA"));
    run_free(&r);
}

static void test_raw_region_matches_library(void **state)
{
    (void)state;
    uint8_t cfg[256];
    cfg_nvme(cfg, sizeof(cfg), 64);
    const char *file = write_dump(cfg, sizeof(cfg));
    struct vfio_device *dev = dev_alloc();
    assert_int_equal(vfio_device_init_pci(dev, cfg, sizeof(cfg), nvme_bars, 0), 0);
    static const char *const argszs[] = { "32", "40", "80", "96" };
    for (size_t i = 0; i < 4; i++) {
        const char *argv[] = { "vfio-info", file, "--bar", "0=16K", "--raw-region", "0", "--argsz", argszs[i] };
        struct run r;
        run_tool(&r, 8, argv);
        assert_int_equal(r.rc, 0);
        uint32_t argsz = (uint32_t)atoi(argszs[i]);
        uint8_t want[96] = {0};
        memcpy(want, &argsz, 4);
        assert_int_equal(vfio_device_get_region_info(dev, 0, want, argsz), 0);
        assert_int_equal(r.out_len, argsz);
        assert_memory_equal(r.out, want, argsz);
        run_free(&r);
    }
    const char *argv[] = { "vfio-info", file, "--raw-device", "--argsz", "16" };
    struct run r;
    run_tool(&r, 5, argv);
    assert_int_equal(r.rc, 0);
    assert_int_equal(r.out_len, 16);
    assert_memory_equal(r.out, "\x10\0\0\0\x02\0\0\0\x09\0\0\0\x05\0\0\0", 16);
    run_free(&r);
    const char *small[] = { "vfio-info", file, "--raw-region", "0", "--argsz", "31" };
    run_tool(&r, 6, small);
    assert_int_equal(r.rc, 2);
    assert_int_equal(r.out_len, 0);
    assert_non_null(strstr(r.err, "EINVAL"));
    run_free(&r);
    unlink(file);
    free(dev);
}

static void expect_error(const uint8_t *cfg, size_t len, int argc, const char **extra, const char *msg)
{
    const char *argv[8] = { "vfio-info", write_dump(cfg, len) };
    for (int i = 0; i < argc; i++)
        argv[2 + i] = extra[i];
    struct run r;
    run_tool(&r, 2 + argc, argv);
    unlink(path);
    assert_int_equal(r.rc, 2);
    assert_int_equal(r.out_len, 0);
    if (!strstr(r.err, msg))
        fail_msg("stderr \"%s\" lacks \"%s\"", r.err, msg);
    run_free(&r);
}

static void test_malformed_dumps(void **state)
{
    (void)state;
    uint8_t cfg[256];
    cfg_nvme(cfg, sizeof(cfg), 4);
    expect_error(cfg, 100, 0, NULL, "config dump is 100 bytes, expected 256 or 4096");
    cfg[0x61] = 0x40;
    expect_error(cfg, 256, 0, NULL, "capability chain loops at config offset 0x61");
    cfg_nvme(cfg, sizeof(cfg), 4);
    cfg[0x51] = 0x10;
    expect_error(cfg, 256, 0, NULL, "capability pointer into the standard header at config offset 0x51");
    cfg_nvme(cfg, sizeof(cfg), 4);
    expect_error(cfg, 256, 2, (const char *[]){ "--bar", "0=12K" }, "not a power of two");
    expect_error(cfg, 256, 2, (const char *[]){ "--bar", "0=12K" }, "at config offset 0x10");
    expect_error(cfg, 256, 2, (const char *[]){ "--bar", "7=4K" }, "--bar 7=4K");
    expect_error(cfg, 256, 1, (const char *[]){ "--raw-device" }, "need --argsz");
    expect_error(cfg, 256, 3, (const char *[]){ "--json", "--argsz", "8" }, "--argsz only goes with");
    expect_error(cfg, 256, 2, (const char *[]){ "--json", "--raw-device" }, "only one of");
    expect_error(cfg, 256, 1, (const char *[]){ "--frobnicate" }, "unknown option --frobnicate");

    const char *argv[] = { "vfio-info", "/nonexistent/config" };
    struct run r;
    run_tool(&r, 2, argv);
    assert_int_equal(r.rc, 2);
    run_free(&r);
    run_tool(&r, 1, argv);
    assert_int_equal(r.rc, 2);
    assert_non_null(strstr(r.err, "usage:"));
    run_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_raw_region_matches_library),
        cmocka_unit_test(test_malformed_dumps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
