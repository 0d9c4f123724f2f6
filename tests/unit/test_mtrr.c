/* The MTRR model (hv/mtrr.c): fixed ranges, variable ranges and their
 * overlaps (SDM 11.11.4.1), and the uniform-block test the EPT builder
 * uses to pick 1 GiB / 2 MiB / 4 KiB leaves. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <minihv/x86.h>
#include "hv/mtrr.h"

#define E  (1ull << 11)
#define FE (1ull << 10)
#define VALID (1ull << 11)
#define MIB (1ull << 20)
#define GIB (1ull << 30)

static uint64_t bytes8(unsigned t)
{
    return 0x0101010101010101ull * t;
}

/* OVMF-like: default UC, WB for [0, 2 GiB), fixed ranges WB except the
 * VGA window 0xA0000-0xBFFFF UC. */
static struct mtrr_state typical(void)
{
    struct mtrr_state s = { .cap = 0x508, .def_type = E | FE | MEMTYPE_UC, .phys_bits = 40, .var_count = 8 };
    for (unsigned i = 0; i < MTRR_FIXED_MSRS; i++)
        s.fixed[i] = bytes8(MEMTYPE_WB);
    s.fixed[2] = bytes8(MEMTYPE_UC); /* FIX16K_A0000: 0xA0000-0xBFFFF */
    s.var[0] = (struct mtrr_var){ 0 | MEMTYPE_WB, (~(2 * GIB - 1) & ((1ull << 40) - 1)) | VALID };
    return s;
}

static void test_fixed_msr_numbers(void **state)
{
    (void)state;
    assert_int_equal(mtrr_fixed_msr(0), 0x250);
    assert_int_equal(mtrr_fixed_msr(1), 0x258);
    assert_int_equal(mtrr_fixed_msr(2), 0x259);
    assert_int_equal(mtrr_fixed_msr(3), 0x268);
    assert_int_equal(mtrr_fixed_msr(10), 0x26f);
}

static void test_type_at(void **state)
{
    (void)state;
    struct mtrr_state s = typical();
    assert_int_equal(mtrr_type_at(&s, 0), MEMTYPE_WB);
    assert_int_equal(mtrr_type_at(&s, 0xa0000), MEMTYPE_UC);
    assert_int_equal(mtrr_type_at(&s, 0xbffff), MEMTYPE_UC);
    assert_int_equal(mtrr_type_at(&s, 0xc0000), MEMTYPE_WB);
    assert_int_equal(mtrr_type_at(&s, 1 * GIB), MEMTYPE_WB);
    assert_int_equal(mtrr_type_at(&s, 2 * GIB), MEMTYPE_UC);
    assert_int_equal(mtrr_type_at(&s, 0xfee00000), MEMTYPE_UC);
}

static void test_fixed_byte_layout(void **state)
{
    (void)state;
    struct mtrr_state s = typical();
    s.fixed[0] = 0x0600000000000000ull; /* only 0x70000-0x7ffff WB */
    s.fixed[3] = 0x0000000000000100ull; /* FIX4K_C0000: 0xC1000 WC */
    assert_int_equal(mtrr_type_at(&s, 0x60000), MEMTYPE_UC);
    assert_int_equal(mtrr_type_at(&s, 0x70000), MEMTYPE_WB);
    assert_int_equal(mtrr_type_at(&s, 0xc0000), MEMTYPE_UC);
    assert_int_equal(mtrr_type_at(&s, 0xc1000), MEMTYPE_WC);
    s.fixed[1] = 0x0500000000000000ull; /* FIX16K_80000 byte 7: 0x9C000 WP */
    assert_int_equal(mtrr_type_at(&s, 0x9c000), MEMTYPE_WP);
    assert_int_equal(mtrr_type_at(&s, 0x98000), MEMTYPE_UC);
}

static void test_disabled_and_fixed_off(void **state)
{
    (void)state;
    struct mtrr_state s = typical();
    s.def_type &= ~FE; /* fixed off: variable ranges cover < 1 MiB too */
    assert_int_equal(mtrr_type_at(&s, 0xa0000), MEMTYPE_WB);
    s.def_type &= ~E; /* all off: UC everywhere */
    assert_int_equal(mtrr_type_at(&s, 0), MEMTYPE_UC);
    unsigned t = 99;
    assert_true(mtrr_block_type(&s, 0, GIB, &t));
    assert_int_equal(t, MEMTYPE_UC);
}

static void test_overlaps(void **state)
{
    (void)state;
    struct mtrr_state s = typical();
    uint64_t m256 = (~(256 * MIB - 1) & ((1ull << 40) - 1)) | VALID;
    s.var[1] = (struct mtrr_var){ (256 * MIB) | MEMTYPE_UC, m256 };      /* UC wins over WB */
    s.var[2] = (struct mtrr_var){ (512 * MIB) | MEMTYPE_WT, m256 };      /* WT + WB = WT */
    s.var[3] = (struct mtrr_var){ (768 * MIB) | MEMTYPE_WC, m256 };      /* WC + WB: undefined -> UC */
    assert_int_equal(mtrr_type_at(&s, 300 * MIB), MEMTYPE_UC);
    assert_int_equal(mtrr_type_at(&s, 600 * MIB), MEMTYPE_WT);
    assert_int_equal(mtrr_type_at(&s, 800 * MIB), MEMTYPE_UC);
    assert_int_equal(mtrr_type_at(&s, 100 * MIB), MEMTYPE_WB);
    /* An invalid (V=0) range counts for nothing. */
    s.var[1].mask &= ~VALID;
    assert_int_equal(mtrr_type_at(&s, 300 * MIB), MEMTYPE_WB);
    /* VCNT limits the ranges looked at. */
    s.cap = 0x502;
    assert_int_equal(mtrr_type_at(&s, 800 * MIB), MEMTYPE_WB);
}

static void test_blocks(void **state)
{
    (void)state;
    struct mtrr_state s = typical();
    unsigned t = 99;
    /* [0, 1 GiB) holds the fixed ranges: not uniform; neither is [0, 2 MiB). */
    assert_false(mtrr_block_type(&s, 0, GIB, &t));
    assert_false(mtrr_block_type(&s, 0, 2 * MIB, &t));
    /* Inside the fixed area, 4 KiB pages have their own type. */
    assert_true(mtrr_block_type(&s, 0xa0000, PAGE_SIZE, &t));
    assert_int_equal(t, MEMTYPE_UC);
    assert_true(mtrr_block_type(&s, 0xf0000, PAGE_SIZE, &t));
    assert_int_equal(t, MEMTYPE_WB);
    /* 1 GiB blocks in the WB range and in the UC default. */
    assert_true(mtrr_block_type(&s, GIB, GIB, &t));
    assert_int_equal(t, MEMTYPE_WB);
    assert_true(mtrr_block_type(&s, 3 * GIB, GIB, &t));
    assert_int_equal(t, MEMTYPE_UC);
    assert_true(mtrr_block_type(&s, 2 * MIB, 2 * MIB, &t));
    assert_int_equal(t, MEMTYPE_WB);
    /* A 16 MiB UC hole inside a 1 GiB block splits it, 2 MiB blocks are whole. */
    s.var[1] = (struct mtrr_var){ (64 * MIB) | MEMTYPE_UC, (~(16 * MIB - 1) & ((1ull << 40) - 1)) | VALID };
    assert_false(mtrr_block_type(&s, 0, GIB, &t));
    assert_true(mtrr_block_type(&s, 64 * MIB, 2 * MIB, &t));
    assert_int_equal(t, MEMTYPE_UC);
    assert_true(mtrr_block_type(&s, 80 * MIB, 2 * MIB, &t));
    assert_int_equal(t, MEMTYPE_WB);
    /* Misaligned or odd-sized blocks are refused. */
    assert_false(mtrr_block_type(&s, PAGE_SIZE, 2 * MIB, &t));
    assert_false(mtrr_block_type(&s, 0, 3 * PAGE_SIZE, &t));
    assert_false(mtrr_block_type(&s, 0, 512, &t));
}

/* Block answers agree with the per-address model on every page of a
 * messy layout (and its 2 MiB blocks, where uniform). */
static void test_blocks_match_addresses(void **state)
{
    (void)state;
    struct mtrr_state s = typical();
    s.var[1] = (struct mtrr_var){ (6 * MIB) | MEMTYPE_UC, (~(2 * MIB - 1) & ((1ull << 40) - 1)) | VALID };
    s.var[2] = (struct mtrr_var){ (20 * MIB) | MEMTYPE_WC, (~(4 * MIB - 1) & ((1ull << 40) - 1)) | VALID };
    s.var[3] = (struct mtrr_var){ (9 * MIB) | MEMTYPE_WT, (~(MIB - 1) & ((1ull << 40) - 1)) | VALID };
    for (uint64_t base = 0; base < 32 * MIB; base += 2 * MIB) {
        unsigned t;
        bool uniform = mtrr_block_type(&s, base, 2 * MIB, &t);
        bool same = true;
        unsigned first = mtrr_type_at(&s, base);
        for (uint64_t pa = base; pa < base + 2 * MIB; pa += PAGE_SIZE) {
            unsigned pt;
            assert_true(mtrr_block_type(&s, pa, PAGE_SIZE, &pt));
            assert_int_equal(pt, mtrr_type_at(&s, pa));
            same &= pt == first;
        }
        if (uniform)
            assert_int_equal(t, first);
        assert_int_equal(uniform, same);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_msr_numbers),
        cmocka_unit_test(test_type_at),
        cmocka_unit_test(test_fixed_byte_layout),
        cmocka_unit_test(test_disabled_and_fixed_off),
        cmocka_unit_test(test_overlaps),
        cmocka_unit_test(test_blocks),
        cmocka_unit_test(test_blocks_match_addresses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
