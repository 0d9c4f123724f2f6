/* The rules around an instruction the core carries out (hv/exit_rules.c):
 * interrupt shadow and single-step #DB after it, the decoded instruction
 * against the exit's access. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "hv/exit_rules.h"

static struct insn_done_out done(unsigned shadow, uint64_t rflags, uint64_t debugctl, bool pending)
{
    struct insn_done_in in = { shadow, rflags, debugctl, pending };
    return insn_done(&in);
}

static void test_plain(void **state)
{
    (void)state;
    struct insn_done_out o = done(0, 0x2, 0, false);
    assert_false(o.clear_shadow);
    assert_false(o.single_step);
    o = done(0, 0x202, 0, false); /* IF alone changes nothing */
    assert_false(o.single_step);
}

/* sti; cpuid: the shadow covered CPUID and ends with it. */
static void test_sti_shadow_ends(void **state)
{
    (void)state;
    struct insn_done_out o = done(SHADOW_STI, 0x202, 0, false);
    assert_true(o.clear_shadow);
    assert_false(o.single_step);
}

/* TF over CPUID: one #DB at the next instruction. */
static void test_tf_single_step(void **state)
{
    (void)state;
    struct insn_done_out o = done(0, 0x2 | RFLAGS_TF, 0, false);
    assert_false(o.clear_shadow);
    assert_true(o.single_step);
}

/* mov ss with TF, then CPUID (CVE-2018-8897): the shadow ends and the one
 * pending #DB is delivered after CPUID, not after the next instruction. */
static void test_movss_tf(void **state)
{
    (void)state;
    struct insn_done_out o = done(SHADOW_MOVSS, 0x2 | RFLAGS_TF, 0, true);
    assert_true(o.clear_shadow);
    assert_true(o.single_step);
    /* The exit did not save BS (SVM has no such field): TF alone decides. */
    o = done(SHADOW_MOVSS, 0x2 | RFLAGS_TF, 0, false);
    assert_true(o.clear_shadow);
    assert_true(o.single_step);
    /* Both shadows at once (sti; mov ss is not possible, but the bits are). */
    o = done(SHADOW_MOVSS | SHADOW_STI, 0x2, 0, false);
    assert_true(o.clear_shadow);
    assert_false(o.single_step);
}

/* BTF: single-step on branches only; CPUID is not one. A #DB already
 * pending stays due. */
static void test_btf(void **state)
{
    (void)state;
    assert_false(done(0, RFLAGS_TF, DEBUGCTL_BTF, false).single_step);
    assert_true(done(0, RFLAGS_TF, DEBUGCTL_BTF, true).single_step);
    assert_true(done(0, RFLAGS_TF, 1 /* LBR, not BTF */, false).single_step);
}

static struct decoded_insn insn_of(enum decode_kind kind)
{
    struct decoded_insn i;
    memset(&i, 0, sizeof(i));
    i.kind = (uint8_t)kind;
    i.size = 4;
    i.length = 2;
    return i;
}

static void test_decode_matches(void **state)
{
    (void)state;
    struct decoded_insn load = insn_of(DECODE_KIND_LOAD), store = insn_of(DECODE_KIND_STORE);
    struct decoded_insn rmw = insn_of(DECODE_KIND_RMW), alu = insn_of(DECODE_KIND_LOAD_ALU);
    struct decoded_insn cmp = insn_of(DECODE_KIND_COMPARE);
    assert_true(insn_matches_exit(&load, false, false));
    assert_true(insn_matches_exit(&alu, false, false));
    assert_true(insn_matches_exit(&cmp, false, false));
    assert_true(insn_matches_exit(&store, true, false));
    assert_true(insn_matches_exit(&rmw, true, false));
    assert_true(insn_matches_exit(&rmw, false, false));
}

/* The exit said write, the bytes now say read (another CPU rewrote a MOV
 * store into a load), and the reverse; a fetch is never a data access. */
/* SDM Vol. 3A Table 6-1's class column, vector by vector. */
/* MOV to CR0's #GP cases (SDM Vol. 2B MOV CR, Vol. 3A 9.8.5), each next
 * to the same write without the reason, which must go through. */
static void test_cr0_write_faults(void **state)
{
    (void)state;
    const uint64_t pe = 1, ne = 1ull << 5, wp = 1ull << 16, nw = 1ull << 29, cd = 1ull << 30, pg = 1ull << 31;
    const uint64_t pae = 1ull << 5, pcide = 1ull << 17, lme = 1ull << 8, lma = 1ull << 10;
    const uint64_t lm_cr0 = pg | wp | ne | pe;
    /* 64-bit mode (LMA, CS.L), PCIDE on: clearing PG (R3's recipe: NE flipped too). */
    struct cr0_write_in w = { lm_cr0, (lm_cr0 & ~pg) ^ ne, pae | pcide, lme | lma, true };
    assert_true(cr0_write_faults(&w));
    w.cr4 = pae; /* no PCIDE: still 64-bit mode */
    assert_true(cr0_write_faults(&w));
    w.cs_l = false; /* compatibility mode, no PCIDE: how long mode is left */
    assert_false(cr0_write_faults(&w));
    w.cr4 = pae | pcide; /* PCIDE forbids it in compatibility mode too */
    assert_true(cr0_write_faults(&w));
    /* Paging on with LME: PAE needed, CS.L must be 0. */
    struct cr0_write_in on = { wp | ne | pe, lm_cr0, pae, lme, false };
    assert_false(cr0_write_faults(&on));
    on.cr4 = 0;
    assert_true(cr0_write_faults(&on));
    on.cr4 = pae, on.cs_l = true;
    assert_true(cr0_write_faults(&on));
    on.efer = 0, on.cr4 = 0; /* legacy 32-bit paging: CS.L is ignored */
    assert_false(cr0_write_faults(&on));
    /* Paging already on: a write that keeps PG is not a mode change. */
    struct cr0_write_in keep = { lm_cr0, lm_cr0 ^ ne, pae | pcide, lme | lma, true };
    assert_false(cr0_write_faults(&keep));
    /* Invalid combinations and reserved bits. */
    struct cr0_write_in bad = { pe, pg, 0, 0, false };
    assert_true(cr0_write_faults(&bad)); /* PG without PE */
    bad.new_cr0 = pe | nw;
    assert_true(cr0_write_faults(&bad));
    bad.new_cr0 = pe | nw | cd;
    assert_false(cr0_write_faults(&bad));
    bad.new_cr0 = pe | (1ull << 32);
    assert_true(cr0_write_faults(&bad));
    /* WP clear with CET on. */
    keep.new_cr0 = lm_cr0 & ~wp, keep.cr4 = pae | CR4_CET_BIT;
    assert_true(cr0_write_faults(&keep));
    keep.cr4 = pae;
    assert_false(cr0_write_faults(&keep));
}

/* PDPTE reserved bits (SDM Vol. 3A 4.4.1, Table 4-8): 2:1, 8:5 and
 * 63:MAXPHYADDR, checked only where P is set. */
static void test_pae_pdptes(void **state)
{
    (void)state;
    uint64_t pd[4] = { 0x1000 | 1, 0x2000 | 1, 0x3000 | 1 | 0x18 /* PWT, PCD */, 0 };
    assert_true(pae_pdptes_ok(pd, 39));
    pd[3] = 0xfffffffffffff000ull; /* not present: ignored */
    assert_true(pae_pdptes_ok(pd, 39));
    for (unsigned bit = 1; bit < 64; bit++) {
        bool reserved = bit == 1 || bit == 2 || (bit >= 5 && bit <= 8) || bit >= 39;
        pd[3] = 0x4000 | 1 | (1ull << bit);
        assert_int_equal(pae_pdptes_ok(pd, 39), !reserved);
    }
    pd[3] = 0x4000 | 1 | (1ull << 45);
    assert_true(pae_pdptes_ok(pd, 46));
    assert_false(pae_pdptes_ok(pd, 45));
}

static void test_fault_rf(void **state)
{
    (void)state;
    static const char cls[32] = "FTNTTFFFAFFFFFF-FFAFFF----------"; /* F fault, T trap, A abort, N NMI, - reserved */
    for (unsigned v = 0; v < 32; v++)
        assert_int_equal(exception_sets_rf(v), cls[v] == 'F' && v != 1);
    assert_false(exception_sets_rf(1));  /* #DB: trap as the core raises it */
    assert_true(exception_sets_rf(13));  /* #GP */
    assert_true(exception_sets_rf(17));  /* #AC */
    assert_false(exception_sets_rf(8));  /* #DF: abort */
    assert_false(exception_sets_rf(32)); /* an interrupt */
}

static void test_decode_mismatch(void **state)
{
    (void)state;
    struct decoded_insn load = insn_of(DECODE_KIND_LOAD), store = insn_of(DECODE_KIND_STORE);
    struct decoded_insn cmp = insn_of(DECODE_KIND_COMPARE), rmw = insn_of(DECODE_KIND_RMW);
    assert_false(insn_matches_exit(&load, true, false));
    assert_false(insn_matches_exit(&cmp, true, false));
    assert_false(insn_matches_exit(&store, false, false));
    assert_false(insn_matches_exit(&rmw, false, true));
    assert_false(insn_matches_exit(&load, false, true));
    struct decoded_insn odd = insn_of(DECODE_KIND_LOAD);
    odd.kind = 99;
    assert_false(insn_matches_exit(&odd, false, false));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain),
        cmocka_unit_test(test_sti_shadow_ends),
        cmocka_unit_test(test_tf_single_step),
        cmocka_unit_test(test_movss_tf),
        cmocka_unit_test(test_btf),
        cmocka_unit_test(test_decode_matches),
        cmocka_unit_test(test_decode_mismatch),
        cmocka_unit_test(test_fault_rf),
        cmocka_unit_test(test_cr0_write_faults),
        cmocka_unit_test(test_pae_pdptes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
