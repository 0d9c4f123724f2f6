/* hv/event_rules.c: the class rules for a fault while an event is
 * delivered (SDM Vol. 3A Table 6-5), instruction lengths across an IP
 * wraparound, port writes over a reset register. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "hv/event_rules.h"

/* int3, an external interrupt, an NMI, INT n: the #GP comes on its own. */
/* The hole a RIP past 0x7FFF_FFFF_FFFF falls into (review R3, finding 3). */
static void test_canonical(void **state)
{
    (void)state;
    assert_true(addr_canonical(0x00007fffffffffffull, false));
    assert_false(addr_canonical(0x0000800000000000ull, false));
    assert_true(addr_canonical(0xffff800000000000ull, false));
    assert_false(addr_canonical(0xfff0800000000000ull, false));
    assert_true(addr_canonical(0x0000800000000000ull, true)); /* LA57: 57 bits */
    assert_false(addr_canonical(0x0100000000000000ull, true));
    assert_true(addr_canonical(0xff00000000000000ull, true));
    assert_true(addr_canonical(0, false));
}

static void test_benign_first(void **state)
{
    (void)state;
    assert_int_equal(event_delivery_fault(false, 3), EVENT_RAISE_GP);   /* INT3 (VMX: software exception) */
    assert_int_equal(event_delivery_fault(false, 0x80), EVENT_RAISE_GP); /* INT 0x80 */
    assert_int_equal(event_delivery_fault(false, 2), EVENT_RAISE_GP);    /* NMI */
    assert_int_equal(event_delivery_fault(false, 8), EVENT_RAISE_GP);    /* INT 8 is software, not #DF */
    unsigned benign[] = { 1, 2, 3, 4, 5, 6, 7, 9, 16, 17, 18, 19 };
    for (unsigned i = 0; i < sizeof(benign) / sizeof(benign[0]); i++)
        assert_int_equal(event_delivery_fault(true, benign[i]), EVENT_RAISE_GP);
}

/* Contributory or page fault, then #GP: #DF. */
static void test_double_fault(void **state)
{
    (void)state;
    unsigned df[] = { 0, 10, 11, 12, 13, 21, 14, 20 };
    for (unsigned i = 0; i < sizeof(df) / sizeof(df[0]); i++)
        assert_int_equal(event_delivery_fault(true, df[i]), EVENT_RAISE_DF);
}

/* #DF, then #GP: shutdown. The chain int3 -> #GP -> #DF -> shutdown. */
static void test_triple_fault(void **state)
{
    (void)state;
    assert_int_equal(event_delivery_fault(true, 8), EVENT_TRIPLE_FAULT);
    assert_int_equal(event_delivery_fault(false, 3), EVENT_RAISE_GP);
    assert_int_equal(event_delivery_fault(true, 13), EVENT_RAISE_DF);
}

static void test_error_codes(void **state)
{
    (void)state;
    assert_int_equal(event_idt_error_code(3, false), (3u << 3) | 2);
    assert_int_equal(event_idt_error_code(0x20, true), (0x20u << 3) | 3);
    assert_int_equal(event_idt_error_code(0xff, true), 0x7fbu);
    assert_int_equal(event_selector_error_code(0x2b, false), 0x28u);
    assert_int_equal(event_selector_error_code(0x2c, true), 0x2du);
}

/* `in al, dx` at IP 0xFFFF in 16-bit code: next IP 0 (or 0x10000). */
static void test_ip_wrap(void **state)
{
    (void)state;
    uint64_t m16 = ip_mask(false, false), m32 = ip_mask(false, true), m64 = ip_mask(true, false);
    assert_int_equal(m16, 0xffff);
    assert_int_equal(m32, 0xffffffffull);
    assert_true(m64 == ~0ull);
    assert_int_equal(ip_mask(true, true), ~0ull); /* CS.L wins (CS.D must be 0 there) */
    assert_int_equal(insn_len_wrapped(0xffff, 0, m16), 1);
    assert_int_equal(insn_len_wrapped(0xffff, 0x10000, m16), 1);
    assert_int_equal(insn_len_wrapped(0xfffe, 0x1, m16), 3);
    assert_int_equal(insn_len_wrapped(0xffffffff, 0, m32), 1);
    assert_int_equal(insn_len_wrapped(0x1000, 0x1002, m64), 2);
    /* Impossible lengths: 0, negative, more than 15. */
    assert_int_equal(insn_len_wrapped(0x1000, 0x1000, m64), 0);
    assert_int_equal(insn_len_wrapped(0x1000, 0xfff, m64), 0);
    assert_int_equal(insn_len_wrapped(0x1000, 0x1010, m64), 0);
    assert_int_equal(insn_len_wrapped(0xffff, 0, m64), 0); /* no wrap in 64-bit code */
    assert_int_equal(insn_len_wrapped(0, 15, m16), 15);
}

/* RST_CNT (0xcf9) reached by byte, word and dword writes. */
static void test_port_covers(void **state)
{
    (void)state;
    uint8_t b = 0;
    assert_true(port_write_covers(0xcf9, 1, 0x06, 0xcf9, &b));
    assert_int_equal(b, 0x06);
    assert_true(port_write_covers(0xcf8, 2, 0x0e00, 0xcf9, &b));
    assert_int_equal(b, 0x0e);
    assert_true(port_write_covers(0xcf9, 2, 0x0006, 0xcf9, &b));
    assert_int_equal(b, 0x06);
    assert_true(port_write_covers(0xcf8, 4, 0x80000600u, 0xcf9, &b));
    assert_int_equal(b, 0x06);
    assert_true(port_write_covers(0xcf6, 4, 0x0e000000u, 0xcf9, &b));
    assert_int_equal(b, 0x0e);
    assert_false(port_write_covers(0xcf8, 1, 0x06, 0xcf9, &b));
    assert_false(port_write_covers(0xcfa, 2, 0x06, 0xcf9, &b));
    assert_false(port_write_covers(0xcf5, 4, 0x06, 0xcf9, &b));
    assert_false(port_write_covers(0xcf9, 0, 0x06, 0xcf9, &b));
    assert_false(port_write_covers(0xffff, 4, 0x06, 0xcf9, &b));
    assert_true(port_write_covers(0xfffe, 2, 0x1100, 0xffff, &b));
    assert_int_equal(b, 0x11);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_benign_first), cmocka_unit_test(test_double_fault),
        cmocka_unit_test(test_triple_fault), cmocka_unit_test(test_error_codes),
        cmocka_unit_test(test_ip_wrap),      cmocka_unit_test(test_port_covers),
        cmocka_unit_test(test_canonical),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
