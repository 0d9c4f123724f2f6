/* The HPET write judge (hv/hpet.c; review R s7 finding 5): FSB routes
 * outside the MSI window or with a delivery mode a device may not send,
 * and FSB enables over such a route, are dropped; the rest passes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "hv/hpet.h"

/* A fake block: 0x400 bytes of registers, read as the hardware would. */
static uint64_t regs[HPET_BLOCK_SIZE / 8];

static uint64_t rd(void *ctx, uint32_t off)
{
    (void)ctx;
    assert_true(off % 8 == 0 && off < HPET_BLOCK_SIZE);
    return regs[off / 8];
}

#define T0_CONFIG 0x100u
#define T0_ROUTE  0x110u
#define T2_CONFIG 0x140u
#define T2_ROUTE  0x150u
#define FSB_EN    (1u << 14)
#define GOOD_ROUTE (0xfee00000ull << 32 | 0x4041) /* fixed, vector 0x41 */

static enum hpet_verdict judge(uint32_t off, unsigned size, uint64_t value)
{
    uint64_t route;
    return hpet_write_judge(off, size, value, rd, NULL, &route);
}

static void test_route(void **state)
{
    (void)state;
    memset(regs, 0, sizeof(regs));
    /* R's attack: the block's address with any value, as one qword. */
    assert_int_equal(judge(T0_ROUTE, 8, 0x1b9f0000ull << 32 | 0x5a5a5a5a), HPET_DROP_ROUTE);
    assert_int_equal(judge(T0_ROUTE + 4, 4, 0x1b9f0000), HPET_DROP_ROUTE);      /* the address dword alone */
    assert_int_equal(judge(T0_ROUTE + 7, 1, 0x1b), HPET_DROP_ROUTE);            /* its top byte */
    assert_int_equal(judge(T0_ROUTE + 4, 4, 0xfee00010), HPET_DROP_ROUTE);      /* remappable format */
    assert_int_equal(judge(T0_ROUTE, 4, 0x0241), HPET_DROP_ROUTE);              /* SMI */
    assert_int_equal(judge(T0_ROUTE, 4, 0x0441), HPET_DROP_ROUTE);              /* NMI */
    assert_int_equal(judge(T0_ROUTE, 4, 0x0541), HPET_DROP_ROUTE);              /* INIT */
    assert_int_equal(judge(T2_ROUTE, 8, 0xfed00000ull << 32 | 0x41), HPET_DROP_ROUTE); /* timer 2 */
    /* Linux (hpet_msi_write): value, then address, dword by dword, over
     * the firmware's 0 address: each half judged on its own. */
    assert_int_equal(judge(T0_ROUTE, 4, 0x4041), HPET_PASS);
    assert_int_equal(judge(T0_ROUTE + 4, 4, 0xfee01000), HPET_PASS);
    assert_int_equal(judge(T0_ROUTE, 8, GOOD_ROUTE), HPET_PASS);
    assert_int_equal(judge(T0_ROUTE, 4, 0x0141), HPET_PASS);                    /* lowest priority */
}

static void test_enable(void **state)
{
    (void)state;
    memset(regs, 0, sizeof(regs));
    regs[T0_CONFIG / 8] = 0xff01040000000030ull; /* FSB off */
    /* FSB on over the firmware's route (0 -> 0): refused, any width. */
    assert_int_equal(judge(T0_CONFIG, 8, 0xff01040000004034ull), HPET_DROP_FSB_ENABLE);
    assert_int_equal(judge(T0_CONFIG, 4, 0x4034), HPET_DROP_FSB_ENABLE);
    assert_int_equal(judge(T0_CONFIG + 1, 1, 0x40), HPET_DROP_FSB_ENABLE);
    /* A write that leaves bit 14 clear, or another byte, passes. */
    assert_int_equal(judge(T0_CONFIG, 4, 0x0034), HPET_PASS);
    assert_int_equal(judge(T0_CONFIG, 1, 0x34), HPET_PASS);
    /* FSB already on in the hardware, a byte write elsewhere keeps it on:
     * the route is judged again. */
    regs[T0_CONFIG / 8] |= FSB_EN;
    assert_int_equal(judge(T0_CONFIG, 1, 0x34), HPET_DROP_FSB_ENABLE);
    /* Over a good route: passes. */
    regs[T0_ROUTE / 8] = GOOD_ROUTE;
    assert_int_equal(judge(T0_CONFIG, 4, 0x4034), HPET_PASS);
    /* Over a route with an NMI value: refused. */
    regs[T0_ROUTE / 8] = 0xfee00000ull << 32 | 0x0400;
    assert_int_equal(judge(T0_CONFIG, 4, 0x4034), HPET_DROP_FSB_ENABLE);
}

static void test_rest(void **state)
{
    (void)state;
    memset(regs, 0, sizeof(regs));
    assert_int_equal(judge(0x10, 8, 1), HPET_PASS);            /* GEN_CONF */
    assert_int_equal(judge(0x20, 4, 1), HPET_PASS);            /* GINTR_STA */
    assert_int_equal(judge(0xf0, 8, 0), HPET_PASS);            /* main counter */
    assert_int_equal(judge(0x108, 8, 0x1234), HPET_PASS);      /* T0 comparator: the clockevent's write */
    assert_int_equal(judge(0x108, 4, 0x1234), HPET_PASS);
    assert_int_equal(judge(0x118, 8, 0), HPET_PASS);           /* T0 reserved */
    /* Unaligned across a judged register's edge: dropped. */
    assert_int_equal(judge(0x10c, 8, ~0ull), HPET_DROP_SPLIT); /* comparator high + route low */
    assert_int_equal(judge(0x0fe, 4, ~0ull), HPET_DROP_SPLIT); /* into T0 config */
    assert_int_equal(judge(0x0f6, 4, 0), HPET_PASS);           /* main counter halves */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_route),
        cmocka_unit_test(test_enable),
        cmocka_unit_test(test_rest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
