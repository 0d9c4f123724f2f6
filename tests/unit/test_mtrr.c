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

/* mtrr_state_write: each MSR lands where the model reads it. */
static void test_state_write(void **state)
{
    (void)state;
    struct mtrr_state s = typical();
    assert_true(mtrr_state_write(&s, 0x2ff, E | MEMTYPE_WB));
    assert_int_equal(s.def_type, E | MEMTYPE_WB);
    assert_true(mtrr_state_write(&s, 0x259, bytes8(MEMTYPE_WC)));
    assert_int_equal(s.fixed[2], bytes8(MEMTYPE_WC));
    assert_true(mtrr_state_write(&s, 0x26f, 7));
    assert_int_equal(s.fixed[10], 7);
    assert_true(mtrr_state_write(&s, 0x20e, 0x1234000 | MEMTYPE_WT)); /* PHYSBASE7 */
    assert_true(mtrr_state_write(&s, 0x20f, 0xfff000 | VALID));      /* PHYSMASK7 */
    assert_int_equal(s.var[7].base, 0x1234000 | MEMTYPE_WT);
    assert_int_equal(s.var[7].mask, 0xfff000 | VALID);
    assert_false(mtrr_state_write(&s, 0x210, 0)); /* pair 8: beyond VCNT 8 */
    assert_false(mtrr_state_write(&s, 0x277, 0)); /* PAT: not an MTRR */
}

/* The reference: page by page, the type after either equals the type
 * before or is WB or UC. */
static bool keeps_by_pages(const struct mtrr_state *b, const struct mtrr_state *a, uint64_t base, uint64_t size)
{
    for (uint64_t pa = base & ~(PAGE_SIZE - 1); pa < base + size; pa += PAGE_SIZE) {
        unsigned tb = mtrr_type_at(b, pa), ta = mtrr_type_at(a, pa);
        if (ta != tb && ta != MEMTYPE_WB && ta != MEMTYPE_UC)
            return false;
    }
    return true;
}

/* The core's block in the middle of WB RAM (not a power of two, not
 * aligned to its size) against one MTRR write each. A range of another
 * type over WB is UC (WB with WC or WP is undefined: the model's UC), so
 * only WT over WB, or changing the WB range itself, reaches WC/WT/WP. */
static void test_write_keeps_range(void **state)
{
    (void)state;
    const uint64_t block = 0x7b000000, block_size = 0x1a00000; /* 26 MiB at 1968 MiB */
    const uint64_t mask40 = (1ull << 40) - 1;
    struct {
        uint32_t msr;
        uint64_t value;
        bool keeps;
    } cases[] = {
        { 0x200, 0 | MEMTYPE_WC, false },                                   /* var[0], the WB RAM, made WC */
        { 0x200, 0 | MEMTYPE_WP, false },
        { 0x200, 0 | MEMTYPE_UC, true },
        { 0x200, 0 | MEMTYPE_WB, true },                                    /* unchanged */
        { 0x200, 0x80000000ull | MEMTYPE_WC, true },                        /* var[0] moved off: the block is UC */
        { 0x201, (~(1 * GIB - 1) & mask40) | VALID, true },                 /* var[0] 1 GiB: the block UC */
        { 0x2ff, FE | MEMTYPE_WB, true },                                   /* MTRRs off: all UC */
        { 0x2ff, E | FE | MEMTYPE_WC, true },                               /* default WC: var[0] still covers it */
        { 0x2ff, E | FE | MEMTYPE_WT, true },
    };
    struct mtrr_state before = typical();
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct mtrr_state after = before;
        assert_true(mtrr_state_write(&after, cases[i].msr, cases[i].value));
        assert_int_equal(keeps_by_pages(&before, &after, block, block_size), cases[i].keeps);
        assert_int_equal(mtrr_write_keeps_range(&before, &after, block, block_size), cases[i].keeps);
    }
    /* Pairs written one MSR at a time, each judged against the state the
     * previous ones left: a WT pair over part of the block. */
    struct mtrr_state s1 = before, s2;
    assert_true(mtrr_state_write(&s1, 0x202, (block + 24 * MIB) | MEMTYPE_WT)); /* mask not valid yet */
    assert_true(mtrr_write_keeps_range(&before, &s1, block, block_size));
    s2 = s1;
    assert_true(mtrr_state_write(&s2, 0x203, (~(2 * MIB - 1) & mask40) | VALID)); /* the last 2 MiB WB+WT = WT */
    assert_false(keeps_by_pages(&s1, &s2, block, block_size));
    assert_false(mtrr_write_keeps_range(&s1, &s2, block, block_size));
    assert_true(mtrr_write_keeps_range(&s1, &s2, block, 24 * MIB)); /* the part below it: unchanged */
    /* Off, then the default WC with var[0] invalid: the second write is the one refused. */
    struct mtrr_state off = before, wc;
    mtrr_state_write(&off, 0x201, 0);
    assert_true(mtrr_write_keeps_range(&before, &off, block, block_size)); /* default UC */
    wc = off;
    mtrr_state_write(&wc, 0x2ff, E | FE | MEMTYPE_WC);
    assert_false(mtrr_write_keeps_range(&off, &wc, block, block_size));
    /* A range that already is WT stays allowed while it keeps that type. */
    struct mtrr_state wt = s2, wt2 = s2;
    mtrr_state_write(&wt2, 0x204, 0x80000000ull | MEMTYPE_WC);
    mtrr_state_write(&wt2, 0x205, (~(MIB - 1) & mask40) | VALID);
    assert_true(mtrr_write_keeps_range(&wt, &wt2, block, block_size));
    assert_false(mtrr_write_keeps_range(&before, &before, block, 0)); /* an empty range is an error */
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
        cmocka_unit_test(test_state_write),
        cmocka_unit_test(test_write_keeps_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
