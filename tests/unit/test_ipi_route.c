/* Which CPUs an INIT/SIPI reaches (hv/ipi_route.c): physical IDs,
 * broadcasts, shorthands, xAPIC flat and cluster logical IDs, x2APIC
 * logical IDs derived from the APIC ID (SDM Vol. 3A 10.6.2, 10.12.10.2). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "hv/ipi_route.h"

static const struct apic_logical reset = { 0, APIC_DFR_RESET };

/* The ICR low dword's fields (SDM 10.6.1), as apic_icr_parse gives them. */
static struct apic_icr icr(uint32_t low)
{
    return (struct apic_icr){ (uint8_t)low, (uint8_t)((low >> 8) & 7), (low >> 11) & 1, (low >> 14) & 1,
                              (uint8_t)((low >> 18) & 3) };
}

/* The ICR's fields (SDM Vol. 3A 10.6.1), as OVMF and Linux write them. */
static void test_icr_parse(void **state)
{
    (void)state;
    struct apic_icr init = apic_icr_parse(0x00004500); /* INIT assert, physical */
    assert_int_equal(init.delivery, X86_DM_INIT);
    assert_true(init.assert_level);
    assert_false(init.logical);
    assert_int_equal(init.shorthand, APIC_DEST_FIELD);
    struct apic_icr deassert = apic_icr_parse(0x00008500); /* level 0: de-assert */
    assert_int_equal(deassert.delivery, X86_DM_INIT);
    assert_false(deassert.assert_level);
    struct apic_icr sipi = apic_icr_parse(0x000c469f); /* SIPI 0x9f, all excluding self */
    assert_int_equal(sipi.delivery, X86_DM_STARTUP);
    assert_int_equal(sipi.vector, 0x9f);
    assert_int_equal(sipi.shorthand, APIC_DEST_OTHERS);
    assert_true(apic_icr_parse(0x00000d00).logical);
    struct apic_icr nmi_self = apic_icr_parse(0x00044400);
    assert_int_equal(nmi_self.delivery, X86_DM_NMI);
    assert_int_equal(nmi_self.shorthand, APIC_DEST_SELF);
}

/* SDM Vol. 3A 11.6.1, ICR bits 10:8: only SMI and the two reserved
 * encodings are refused. */
static void test_icr_delivery_ok(void **state)
{
    (void)state;
    const bool ok[8] = { true, true, false, false, true, true, true, false };
    for (unsigned m = 0; m < 8; m++) {
        struct apic_icr icr = apic_icr_parse(m << 8 | 0x4000 | 0x30);
        assert_int_equal(apic_icr_delivery_ok(&icr), ok[m]);
    }
}

static void test_physical_and_shorthands(void **state)
{
    (void)state;
    struct apic_icr init = icr(0x00004500);
    assert_true(ipi_route_targets(&init, 2, false, 0, 2, &reset));
    assert_false(ipi_route_targets(&init, 2, false, 0, 3, &reset));
    assert_true(ipi_route_targets(&init, 0xff, false, 0, 7, &reset));
    assert_false(ipi_route_targets(&init, 0xff, true, 0, 7, &reset));
    assert_true(ipi_route_targets(&init, 0xffffffffu, true, 0, 0x1234, &reset));
    struct apic_icr self = icr(0x00044500), all = icr(0x00084500),
                    others = icr(0x000c4500);
    assert_true(ipi_route_targets(&self, 9, false, 4, 4, &reset));
    assert_false(ipi_route_targets(&self, 4, false, 4, 9, &reset)); /* the field is ignored */
    assert_true(ipi_route_targets(&all, 0, false, 4, 4, &reset));
    assert_true(ipi_route_targets(&all, 0, false, 4, 5, &reset));
    assert_false(ipi_route_targets(&others, 0, false, 4, 4, &reset));
    assert_true(ipi_route_targets(&others, 0, false, 4, 5, &reset));
    /* A shorthand wins over logical mode. */
    struct apic_icr others_logical = icr(0x000c4d00);
    assert_true(ipi_route_targets(&others_logical, 0, false, 4, 5, &reset));
}

static void test_xapic_logical(void **state)
{
    (void)state;
    struct apic_icr init = icr(0x00004d00); /* INIT, logical */
    assert_true(init.logical);
    /* Flat: a bit per CPU, any overlap. */
    struct apic_logical flat2 = { 0x02000000, 0xffffffff };
    assert_true(ipi_route_targets(&init, 0x02, false, 0, 1, &flat2));
    assert_true(ipi_route_targets(&init, 0x0e, false, 0, 1, &flat2));
    assert_false(ipi_route_targets(&init, 0x01, false, 0, 1, &flat2));
    assert_true(ipi_route_targets(&init, 0xff, false, 0, 1, &flat2));
    /* After reset LDR is 0: only the broadcast reaches it. */
    assert_false(ipi_route_targets(&init, 0x7f, false, 0, 1, &reset));
    assert_true(ipi_route_targets(&init, 0xff, false, 0, 1, &reset));
    /* Cluster: high nibble the cluster, low nibble a member mask. */
    struct apic_logical c3m2 = { 0x32000000, 0x0fffffff };
    assert_true(ipi_route_targets(&init, 0x32, false, 0, 1, &c3m2));
    assert_true(ipi_route_targets(&init, 0x3f, false, 0, 1, &c3m2));
    assert_false(ipi_route_targets(&init, 0x31, false, 0, 1, &c3m2));
    assert_false(ipi_route_targets(&init, 0x22, false, 0, 1, &c3m2));
    /* Reserved DFR model: nobody. */
    struct apic_logical bad = { 0x02000000, 0x5fffffff };
    assert_false(ipi_route_targets(&init, 0x02, false, 0, 1, &bad));
    /* Physical mode ignores the logical registers. */
    struct apic_icr phys = icr(0x00004500);
    assert_false(ipi_route_targets(&phys, 0x02, false, 0, 1, &flat2));
}

static void test_x2apic_logical(void **state)
{
    (void)state;
    assert_int_equal(x2apic_logical_id(0), 0x00000001);
    assert_int_equal(x2apic_logical_id(0x13), 0x00010008);
    assert_int_equal(x2apic_logical_id(0xfffff), 0xffff8000);
    struct apic_icr sipi = icr(0x00000e9f); /* SIPI, logical */
    assert_true(ipi_route_targets(&sipi, 0x00010008, true, 0, 0x13, &reset));
    assert_true(ipi_route_targets(&sipi, 0x0001ffff, true, 0, 0x13, &reset));
    assert_false(ipi_route_targets(&sipi, 0x00010008, true, 0, 0x03, &reset)); /* other cluster */
    assert_false(ipi_route_targets(&sipi, 0x00010004, true, 0, 0x13, &reset));
    assert_true(ipi_route_targets(&sipi, 0xffffffffu, true, 0, 0x13, &reset));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_icr_parse),
        cmocka_unit_test(test_icr_delivery_ok),
        cmocka_unit_test(test_physical_and_shorthands),
        cmocka_unit_test(test_xapic_logical),
        cmocka_unit_test(test_x2apic_logical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
