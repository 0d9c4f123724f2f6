/* The provider registry (iommu_select) with fake providers: a failed
 * probe, protect, attach or enable moves auto on to the next; a forced mode
 * that fails is an error, never a silent fall back to none; none always
 * says DMA is not contained. And acpi_table_hide. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include <minihv/iommu.h>
#include "test_iommu_fake.h"

/* ---- fake providers ---- */

enum fail_at { FAIL_NONE, FAIL_PROBE, FAIL_PROTECT, FAIL_ATTACH, FAIL_ENABLE };

struct fake {
    enum fail_at fail;
    unsigned probes, protects, attaches, enables;
    uint64_t protected_base;
    uint32_t attached;
};

static int fake_probe(void *ctx, struct field_error *err)
{
    struct fake *f = ctx;
    f->probes++;
    return f->fail == FAIL_PROBE ? field_fail(err, IOMMU_EINVAL, "DRHD.length", 0x30, "zero") : 0;
}

static int fake_protect(void *ctx, uint64_t base, uint64_t size, struct field_error *err)
{
    struct fake *f = ctx;
    (void)size;
    f->protects++;
    f->protected_base = base;
    return f->fail == FAIL_PROTECT ? field_fail(err, IOMMU_EINVAL, "RMRR", 0x80, "overlaps") : 0;
}

static int fake_attach(void *ctx, uint32_t sbdf, struct field_error *err)
{
    struct fake *f = ctx;
    f->attaches++;
    f->attached = sbdf;
    return f->fail == FAIL_ATTACH ? field_fail(err, IOMMU_ENODEV, "DRHD", 0, "no unit covers it") : 0;
}

static int fake_enable(void *ctx, struct field_error *err)
{
    struct fake *f = ctx;
    f->enables++;
    return f->fail == FAIL_ENABLE ? field_fail(err, IOMMU_ETIMEDOUT, "GSTS.TES", 0x1c, "no ack") : 0;
}

static struct fake vtd_fake, amd_fake;
static struct iommu_provider providers[2];

static void make_providers(enum fail_at vtd_fail, enum fail_at amd_fail)
{
    memset(&vtd_fake, 0, sizeof(vtd_fake));
    memset(&amd_fake, 0, sizeof(amd_fake));
    vtd_fake.fail = vtd_fail;
    amd_fake.fail = amd_fail;
    providers[0] = (struct iommu_provider){ .name = "vtd", .mode = IOMMU_MODE_VTD, .contains_dma = true,
                                            .ctx = &vtd_fake, .probe = fake_probe, .protect = fake_protect,
                                            .attach = fake_attach, .enable = fake_enable };
    providers[1] = providers[0];
    providers[1].name = "amdvi";
    providers[1].mode = IOMMU_MODE_AMDVI;
    providers[1].ctx = &amd_fake;
}

/* ---- log capture ---- */

static char log_text[4096];
static unsigned log_warn, log_error;

static void capture(void *opaque, enum iommu_log_level level, const char *line)
{
    (void)opaque;
    if (level == IOMMU_LOG_WARN)
        log_warn++;
    if (level == IOMMU_LOG_ERROR)
        log_error++;
    strncat(log_text, line, sizeof(log_text) - strlen(log_text) - 2);
    strcat(log_text, "\n");
}

static const struct iommu_range core_block = { 0x7c000000, 64 << 20 };
static const uint32_t passthrough = IOMMU_SBDF(0, 0, 2, 0);
static const struct iommu_request req = { &core_block, 1, &passthrough, 1, capture, NULL };

static int setup(void **state)
{
    (void)state;
    log_text[0] = 0;
    log_warn = log_error = 0;
    return 0;
}

static void test_auto_first_works(void **state)
{
    (void)state;
    make_providers(FAIL_NONE, FAIL_NONE);
    const struct iommu_provider *p = iommu_select(IOMMU_MODE_AUTO, providers, 2, &req);
    assert_ptr_equal(p, &providers[0]);
    assert_int_equal(vtd_fake.enables, 1);
    assert_int_equal(vtd_fake.protected_base, 0x7c000000);
    assert_int_equal(vtd_fake.attached, passthrough);
    assert_int_equal(amd_fake.probes, 0);
    assert_int_equal(log_warn, 0);
    assert_non_null(strstr(log_text, "iommu: vtd: enabled (auto)"));
}

static void test_auto_probe_fails_next(void **state)
{
    (void)state;
    make_providers(FAIL_PROBE, FAIL_NONE);
    const struct iommu_provider *p = iommu_select(IOMMU_MODE_AUTO, providers, 2, &req);
    assert_ptr_equal(p, &providers[1]);
    assert_int_equal(vtd_fake.protects, 0);
    assert_int_equal(amd_fake.enables, 1);
    assert_non_null(strstr(log_text, "iommu: vtd: probe failed (-22): DRHD.length at 0x30: zero"));
    assert_non_null(strstr(log_text, "iommu: vtd: not used, trying the next provider"));
}

static void test_auto_attach_fails_next(void **state)
{
    (void)state;
    make_providers(FAIL_ATTACH, FAIL_NONE);
    const struct iommu_provider *p = iommu_select(IOMMU_MODE_AUTO, providers, 2, &req);
    assert_ptr_equal(p, &providers[1]);
    assert_int_equal(vtd_fake.enables, 0);
    assert_non_null(strstr(log_text, "iommu: vtd: attach 0000:00:02.0 failed (-19): DRHD at 0x0: no unit covers it"));
}

static void test_auto_all_fail_none(void **state)
{
    (void)state;
    make_providers(FAIL_ENABLE, FAIL_PROTECT);
    const struct iommu_provider *p = iommu_select(IOMMU_MODE_AUTO, providers, 2, &req);
    assert_ptr_equal(p, &iommu_provider_none);
    assert_false(p->contains_dma);
    assert_non_null(strstr(log_text, "iommu: vtd: enable failed (-110): GSTS.TES at 0x1c"));
    assert_non_null(strstr(log_text, "iommu: amdvi: protect failed (-22): RMRR at 0x80"));
    assert_non_null(strstr(log_text, "DMA is NOT contained"));
    assert_int_equal(log_error, 0);
}

/* Under Secure Boot (the loader's AUTO_REQUIRED): the same failures end
 * in NULL (nothing virtualized), never in none; a working one is taken. */
static void test_auto_required_never_none(void **state)
{
    (void)state;
    make_providers(FAIL_ENABLE, FAIL_PROTECT);
    assert_null(iommu_select(IOMMU_MODE_AUTO_REQUIRED, providers, 2, &req));
    assert_null(strstr(log_text, "NOT contained"));
    assert_non_null(strstr(log_text, "not falling back to none"));
    assert_int_equal(log_error, 1);
    struct iommu_provider list[2] = { providers[0], iommu_provider_none };
    assert_null(iommu_select(IOMMU_MODE_AUTO_REQUIRED, list, 2, &req));
    make_providers(FAIL_PROBE, FAIL_NONE);
    assert_ptr_equal(iommu_select(IOMMU_MODE_AUTO_REQUIRED, providers, 2, &req), &providers[1]);
}

static void test_auto_none_in_list(void **state)
{
    (void)state;
    make_providers(FAIL_PROBE, FAIL_NONE);
    struct iommu_provider list[2] = { providers[0], iommu_provider_none };
    const struct iommu_provider *p = iommu_select(IOMMU_MODE_AUTO, list, 2, &req);
    assert_ptr_equal(p, &iommu_provider_none);
    assert_non_null(strstr(log_text, "NOT contained"));
}

static void test_forced_mode(void **state)
{
    (void)state;
    make_providers(FAIL_NONE, FAIL_NONE);
    assert_ptr_equal(iommu_select(IOMMU_MODE_AMDVI, providers, 2, &req), &providers[1]);
    assert_int_equal(vtd_fake.probes, 0);
    assert_non_null(strstr(log_text, "amdvi: enabled (forced)"));
}

static void test_forced_mode_fails_is_error(void **state)
{
    (void)state;
    make_providers(FAIL_PROBE, FAIL_NONE);
    assert_null(iommu_select(IOMMU_MODE_VTD, providers, 2, &req));
    assert_int_equal(amd_fake.probes, 0);
    assert_int_equal(log_error, 2);
    assert_non_null(strstr(log_text, "iommu = vtd failed: not falling back to none"));
    /* A forced provider this build lacks. */
    setup(NULL);
    assert_null(iommu_select(IOMMU_MODE_AMDVI, providers, 1, &req));
    assert_non_null(strstr(log_text, "iommu = amdvi: no such provider"));
}

static void test_mode_none(void **state)
{
    (void)state;
    make_providers(FAIL_NONE, FAIL_NONE);
    assert_ptr_equal(iommu_select(IOMMU_MODE_NONE, providers, 2, &req), &iommu_provider_none);
    assert_int_equal(vtd_fake.probes + amd_fake.probes, 0);
    assert_int_equal(log_warn, 1);
    assert_non_null(strstr(log_text, "iommu: none (iommu = none): device DMA is NOT contained"));
    /* No log callback, no request: still works. */
    assert_ptr_equal(iommu_select(IOMMU_MODE_AUTO, NULL, 0, NULL), &iommu_provider_none);
    assert_string_equal(iommu_mode_name(IOMMU_MODE_AMDVI), "amdvi");
}

/* ---- acpi_table_hide ---- */

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

static void test_hide(void **state)
{
    (void)state;
    struct tbl t;
    struct field_error err;
    t_header(&t, "DMAR", 38, 1);
    t_zero(&t, 40);
    t_finish(&t);
    assert_int_equal(sum(t.b, t.n), 0);
    assert_int_equal(acpi_table_hide(t.b, t.n, "XMAR", &err), 0);
    assert_memory_equal(t.b, "XMAR", 4);
    assert_int_equal(sum(t.b, t.n), 0);
    /* A table whose checksum was already wrong sums to 0 afterwards too. */
    t_header(&t, "IVRS", 0, 0);
    t_finish(&t);
    t.b[20] ^= 0x55;
    assert_int_equal(acpi_table_hide(t.b, t.n + 100, "XVRS", &err), 0);
    assert_memory_equal(t.b, "XVRS", 4);
    assert_int_equal(sum(t.b, t.n), 0);
}

static void test_hide_bad_lengths(void **state)
{
    (void)state;
    struct tbl t;
    struct field_error err;
    t_header(&t, "DMAR", 38, 1);
    t_finish(&t);
    uint8_t copy[64];
    memcpy(copy, t.b, sizeof(copy));
    assert_int_equal(acpi_table_hide(t.b, 35, "XMAR", &err), -IOMMU_ERANGE);
    assert_string_equal(err.field, "buffer");
    assert_int_equal(acpi_table_hide(t.b, t.n - 1, "XMAR", &err), -IOMMU_ERANGE);
    assert_string_equal(err.field, "header.length");
    t.b[4] = 20;
    assert_int_equal(acpi_table_hide(t.b, t.n, "XMAR", &err), -IOMMU_EINVAL);
    assert_int_equal(err.offset, 4);
    t.b[4] = copy[4];
    assert_memory_equal(t.b, copy, sizeof(copy)); /* refused: untouched */
    assert_int_equal(acpi_table_hide(NULL, 100, "XMAR", &err), -IOMMU_ERANGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_auto_first_works, setup),
        cmocka_unit_test_setup(test_auto_probe_fails_next, setup),
        cmocka_unit_test_setup(test_auto_attach_fails_next, setup),
        cmocka_unit_test_setup(test_auto_all_fail_none, setup),
        cmocka_unit_test_setup(test_auto_none_in_list, setup),
        cmocka_unit_test_setup(test_auto_required_never_none, setup),
        cmocka_unit_test_setup(test_forced_mode, setup),
        cmocka_unit_test_setup(test_forced_mode_fails_is_error, setup),
        cmocka_unit_test_setup(test_mode_none, setup),
        cmocka_unit_test(test_hide),
        cmocka_unit_test(test_hide_bad_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
