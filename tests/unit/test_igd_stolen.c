/* GGC/BDSM decode: at least one device ID per generation, gen6 to Xe
 * (values worked out from early-quirks.c's *_stolen_size formulas). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include <drivers/igd/stolen.h>

#define MiB (1024ull * 1024ull)

struct stolen_case {
    uint16_t device;
    uint8_t gen;
    uint16_t ggc;
    uint64_t bdsm;
    uint64_t size;
    uint32_t gtt;
    uint64_t base;
};

static const struct stolen_case cases[] = {
    /* gen6/7: GMS = GGC[7:3] x 32 MiB, GGMS = GGC[9:8] MiB */
    { 0x0116, 6,  (2u << 8) | (5u << 3) | 1, 0xBF800001, 160 * MiB, 2 * MiB, 0xBF800000 },  /* SNB */
    { 0x0166, 7,  (2u << 8) | (1u << 3),     0xDB000000, 32 * MiB, 2 * MiB, 0xDB000000 },   /* IVB */
    { 0x0416, 7,  (2u << 8) | (2u << 3),     0xCA000001, 64 * MiB, 2 * MiB, 0xCA000000 },   /* HSW */
    { 0x0F31, 7,  (2u << 8) | (2u << 3),     0x7B000000, 64 * MiB, 2 * MiB, 0x7B000000 },   /* VLV */
    /* gen8: GMS = GGC[15:8] x 32 MiB, GGMS = 2^GGC[7:6] MiB */
    { 0x1616, 8,  (2u << 8) | (3u << 6),     0x9D000000, 64 * MiB, 8 * MiB, 0x9D000000 },   /* BDW */
    { 0x22B0, 8,  (1u << 8) | (0x13u << 3),  0x7A000000, 16 * MiB, 2 * MiB, 0x7A000000 },   /* CHV 4 MiB steps from 8 */
    { 0x22B1, 8,  (0x18u << 3),              0x7A000000, 40 * MiB, 0,       0x7A000000 },   /* CHV 4 MiB steps from 36 */
    /* gen9+: below 0xF0 x 32 MiB, 0xF0-0xFE 4 MiB steps from 4 MiB */
    { 0x1912, 9,  (2u << 8) | (3u << 6) | 1, 0x7B000001, 64 * MiB, 8 * MiB, 0x7B000000 },   /* SKL */
    { 0x5917, 9,  (0xF0u << 8) | (3u << 6),  0x8B800000, 4 * MiB,  8 * MiB, 0x8B800000 },   /* KBL */
    { 0x3E92, 9,  (0xFEu << 8) | (3u << 6),  0x8C000000, 60 * MiB, 8 * MiB, 0x8C000000 },   /* CFL */
    { 0x5A84, 9,  (0x04u << 8) | (3u << 6),  0x7C000000, 128 * MiB, 8 * MiB, 0x7C000000 },  /* BXT */
    { 0x5A52, 10, (0x02u << 8) | (3u << 6),  0x8F800000, 64 * MiB, 8 * MiB, 0x8F800000 },   /* CNL */
    /* gen11+: BDSM is 64-bit at 0xC0; a base above 4 GiB is kept */
    { 0x8A52, 11, (0x02u << 8) | (3u << 6),  0x000000047C000001ull, 64 * MiB, 8 * MiB, 0x47C000000ull }, /* ICL */
    { 0x4E61, 11, (0xF1u << 8) | (3u << 6),  0x7B800000, 8 * MiB, 8 * MiB, 0x7B800000 },    /* JSL */
    { 0x9A49, 12, (0x05u << 8) | (3u << 6),  0x000000047B000001ull, 160 * MiB, 8 * MiB, 0x47B000000ull }, /* TGL */
    { 0x46A6, 12, (0x02u << 8) | (3u << 6),  0x7C000000, 64 * MiB, 8 * MiB, 0x7C000000 },   /* ADL-P */
    { 0x7D55, 12, (0x02u << 8) | (3u << 6),  0x7B800000, 64 * MiB, 8 * MiB, 0x7B800000 },   /* MTL */
};

static void test_per_generation(void **state)
{
    (void)state;
    bool seen[13] = { 0 };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct stolen_case *c = &cases[i];
        struct igd_stolen s;
        struct field_error e = { 0 };
        int rc = igd_stolen_decode(c->device, c->ggc, c->bdsm, &s, &e);
        if (rc)
            fail_msg("0x%04x: %s: %s", c->device, e.field, e.what);
        if (s.gen != c->gen || s.size != c->size || s.gtt_size != c->gtt || s.base != c->base)
            fail_msg("0x%04x: gen %u size %llu gtt %u base 0x%llx", c->device, s.gen,
                     (unsigned long long)s.size, s.gtt_size, (unsigned long long)s.base);
        assert_int_equal(s.ggc_locked, c->ggc & 1);
        assert_int_equal(s.bdsm_locked, c->bdsm & 1);
        seen[c->gen] = true;
    }
    for (int g = 6; g <= 12; g++)
        assert_true(seen[g]);
}

static void test_rejects(void **state)
{
    (void)state;
    struct igd_stolen s;
    struct field_error e;
    assert_int_equal(igd_stolen_decode(0x1234, 0x200, 0x7B000000, &s, &e), -IGD_ENOENT);
    assert_string_equal(e.field, "device_id");
    /* gen9 GMS 0xFF is reserved */
    assert_int_equal(igd_stolen_decode(0x1912, 0xFF00, 0x7B000000, &s, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "ggc.gms");
    /* CHV above 0x1D is reserved */
    assert_int_equal(igd_stolen_decode(0x22B0, 0x1E << 3, 0x7B000000, &s, &e), -IGD_EINVAL);
    /* enabled but no base */
    assert_int_equal(igd_stolen_decode(0x1912, 0x0200, 0, &s, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "bdsm");
    assert_int_equal(e.offset, 0x5C);
    assert_int_equal(igd_stolen_decode(0x9A49, 0x0200, 1, &s, &e), -IGD_EINVAL);
    assert_int_equal(e.offset, 0xC0);
    /* gen<11 BDSM is 32 bits: base + size past 4 GiB */
    assert_int_equal(igd_stolen_decode(0x1912, 0x0400, 0xFC000000, &s, &e), -IGD_ERANGE);
    /* gen11: 64-bit wrap */
    assert_int_equal(igd_stolen_decode(0x8A52, 0x0400, 0xFFFFFFFFFFF00000ull, &s, &e), -IGD_ERANGE);
    /* stolen memory off: size 0, base 0 is fine */
    assert_int_equal(igd_stolen_decode(0x1912, 0x00C0, 0, &s, &e), 0);
    assert_int_equal(s.size, 0);
    /* gen<11 ignores bits above 31 of what the caller passes */
    assert_int_equal(igd_stolen_decode(0x1912, 0x0200, 0x17B000000ull, &s, &e), 0);
    assert_int_equal(s.base, 0x7B000000);
}

static void test_from_config(void **state)
{
    (void)state;
    uint8_t cfg[256];
    struct igd_stolen s;
    struct field_error e;
    memset(cfg, 0, sizeof(cfg));
    cfg[0] = 0x86; cfg[1] = 0x80;
    cfg[2] = 0x12; cfg[3] = 0x19;               /* SKL GT2 */
    cfg[0x50] = 0xC1; cfg[0x51] = 0x02;         /* GMS 2, GGMS 3, locked */
    cfg[0x5C] = 0x01; cfg[0x5F] = 0x7B;         /* 0x7B000001 */
    cfg[0xC4] = 0x04;                           /* ignored before gen11 */
    assert_int_equal(igd_stolen_from_config(cfg, sizeof(cfg), &s, &e), 0);
    assert_int_equal(s.size, 64 * MiB);
    assert_int_equal(s.base, 0x7B000000);

    cfg[2] = 0x52; cfg[3] = 0x8A;               /* ICL: BDSM at 0xC0 */
    cfg[0xC0] = 0x01; cfg[0xC3] = 0x7C;         /* 0x4_7C000001 */
    assert_int_equal(igd_stolen_from_config(cfg, sizeof(cfg), &s, &e), 0);
    assert_int_equal(s.base, 0x47C000000ull);

    assert_int_equal(igd_stolen_from_config(cfg, 255, &s, &e), -IGD_ERANGE);
    cfg[0] = 0x02;
    assert_int_equal(igd_stolen_from_config(cfg, sizeof(cfg), &s, &e), -IGD_EINVAL);
    assert_string_equal(e.field, "vendor_id");
}

static void test_device_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < igd_ndevices; i++) {
        assert_true(igd_devices[i].gen >= 5 && igd_devices[i].gen <= 12);
        for (size_t j = i + 1; j < igd_ndevices; j++)
            assert_int_not_equal(igd_devices[i].device_id, igd_devices[j].device_id);
        assert_ptr_equal(igd_device_lookup(igd_devices[i].device_id), &igd_devices[i]);
    }
    assert_null(igd_device_lookup(0xFFFF));
}

/* Ironlake (gen 5) is in the table for what differs before Sandy Bridge
 * (its MCHBAR mirror at 0x10000: drivers/igd/bar_judged.h); its stolen
 * memory (the older GMCH encoding) is not decoded. */
static void test_gen5_known_not_decoded(void **state)
{
    (void)state;
    const struct igd_device *ilk = igd_device_lookup(0x0046);
    assert_non_null(ilk);
    assert_int_equal(ilk->gen, 5);
    assert_string_equal(ilk->platform, "ILK");
    struct igd_stolen s;
    struct field_error e = { 0 };
    assert_int_equal(igd_stolen_decode(0x0046, 0x0030, 0x7B000000, &s, &e), -IGD_ENOENT);
    assert_string_equal(e.field, "device_id");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_per_generation),
        cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_from_config),
        cmocka_unit_test(test_device_table),
        cmocka_unit_test(test_gen5_known_not_decoded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
