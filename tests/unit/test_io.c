/* Port-I/O intercept table and bitmap bit positions (hv/io.c): VMX I/O
 * bitmaps A/B (SDM Vol. 3C 25.6.4) and the SVM IOPM (APM Vol. 2 15.10.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "hv/io.h"

static bool h1(struct vcpu *v, uint16_t port, unsigned size, bool in, uint32_t *value)
{
    (void)v, (void)port, (void)size, (void)in, (void)value;
    return true;
}

static bool h2(struct vcpu *v, uint16_t port, unsigned size, bool in, uint32_t *value)
{
    (void)v, (void)port, (void)size, (void)in, (void)value;
    return false;
}

static unsigned bits_set(const uint8_t *map, size_t n)
{
    unsigned c = 0;
    for (size_t i = 0; i < n; i++)
        c += (unsigned)__builtin_popcount(map[i]);
    return c;
}

static void test_positions(void **state)
{
    (void)state;
    uint32_t byte;
    unsigned bit;
    io_bitmap_pos(0, &byte, &bit);
    assert_int_equal(byte, 0);
    assert_int_equal(bit, 0);
    io_bitmap_pos(0xcf9, &byte, &bit); /* 0xcf9 = 8 * 0x19f + 1 */
    assert_int_equal(byte, 0x19f);
    assert_int_equal(bit, 1);
    io_bitmap_pos(0x7fff, &byte, &bit); /* last port of bitmap A */
    assert_int_equal(byte, 4095);
    assert_int_equal(bit, 7);
    io_bitmap_pos(0x8000, &byte, &bit); /* first of bitmap B: its byte 0 */
    assert_int_equal(byte, 4096);
    assert_int_equal(bit, 0);
    io_bitmap_pos(0xffff, &byte, &bit);
    assert_int_equal(byte, 8191);
    assert_int_equal(bit, 7);
}

static void test_set_range(void **state)
{
    (void)state;
    uint8_t map[3 * 4096]; /* the IOPM size; VMX uses the first 8 KiB */
    memset(map, 0, sizeof(map));
    /* PM1a_CNT 0x604, 2 bytes: byte 0xc0, bits 4 and 5. */
    assert_true(io_bitmap_set(map, sizeof(map), 0x604, 2));
    assert_int_equal(map[0xc0], 0x30);
    assert_int_equal(bits_set(map, sizeof(map)), 2);
    /* A range across a byte and across the A/B border. */
    memset(map, 0, sizeof(map));
    assert_true(io_bitmap_set(map, sizeof(map), 0x7ffe, 4));
    assert_int_equal(map[4095], 0xc0);
    assert_int_equal(map[4096], 0x03);
    assert_int_equal(bits_set(map, sizeof(map)), 4);
    /* Ports beyond a short map are reported, the rest still set. */
    memset(map, 0, sizeof(map));
    assert_false(io_bitmap_set(map, 4096, 0x7ffc, 8));
    assert_int_equal(map[4095], 0xf0);
    assert_int_equal(map[4096], 0);
}

static void test_table(void **state)
{
    (void)state;
    const char *name = NULL;
    io_reset();
    assert_int_equal(io_register(0x604, 2, h1, "pm1a"), 0);
    assert_int_equal(io_register(0xcf9, 1, h2, "cf9"), 0);
    assert_int_equal(io_register(0x605, 1, h1, "overlap"), -1);
    assert_int_equal(io_register(0xffff, 2, h1, "past the end"), -1);
    assert_int_equal(io_register(0x10, 0, h1, "empty"), -1);
    assert_int_equal(io_range_count(), 2);
    assert_ptr_equal(io_lookup(0x604, 2, &name), h1);
    assert_string_equal(name, "pm1a");
    assert_ptr_equal(io_lookup(0x605, 1, NULL), h1);
    assert_null(io_lookup(0x606, 2, NULL));
    assert_null(io_lookup(0x602, 2, NULL));
    /* A dword at CONFIG_ADDRESS touches 0xcf9: the reset handler gets it. */
    assert_ptr_equal(io_lookup(0xcf8, 4, &name), h2);
    assert_string_equal(name, "cf9");
    assert_null(io_lookup(0xcfc, 4, NULL));

    uint8_t map[8192];
    memset(map, 0, sizeof(map));
    io_bitmap_fill(map, sizeof(map));
    assert_int_equal(bits_set(map, sizeof(map)), 3);
    assert_int_equal(map[0xc0], 0x30);
    assert_int_equal(map[0x19f], 0x02);

    for (unsigned i = 2; i < IO_MAX_RANGES; i++)
        assert_int_equal(io_register((uint16_t)(0x1000 + i), 1, h1, "fill"), 0);
    assert_int_equal(io_register(0x2000, 1, h1, "one too many"), -1);
    io_reset();
    assert_int_equal(io_range_count(), 0);
}

/* The machine reset: RST_CNT hard then full reset, the FADT's register,
 * the 8042 last; no duplicate when the FADT names 0xcf9. */
static void test_reset_steps(void **state)
{
    (void)state;
    struct io_reset_step st[IO_RESET_STEPS];
    unsigned n = io_reset_steps(0xb2, 0x0f, st);
    assert_int_equal(n, 5);
    assert_int_equal(st[0].port, 0xcf9);
    assert_int_equal(st[0].value, 0x02);
    assert_false(st[0].settle);
    assert_int_equal(st[1].value, 0x06);
    assert_true(st[1].settle);
    assert_int_equal(st[2].value, 0x0e);
    assert_int_equal(st[3].port, 0xb2);
    assert_int_equal(st[3].value, 0x0f);
    assert_int_equal(st[4].port, 0x64);
    assert_int_equal(st[4].value, 0xfe);
    assert_true(st[4].kbc);
    assert_int_equal(io_reset_steps(0xcf9, 0x06, st), 4);
    assert_int_equal(st[3].port, 0x64);
    assert_int_equal(io_reset_steps(0, 0, st), 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_reset_steps),
        cmocka_unit_test(test_set_range),
        cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
