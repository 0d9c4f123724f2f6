/* fb/: mode checks name the field; glyphs land where the cursor says and
 * never outside [base, stride * height * 4); the report keeps the newest
 * tail lines that fit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "fb/report.h"

#define W 40   /* 5 columns */
#define H 64   /* 4 rows */
#define STRIDE 48
#define GUARD 64

static uint32_t mem[GUARD + STRIDE * H + GUARD];

static void test_init_refuses(void **state)
{
    (void)state;
    struct fb fb;
    const char *why;
    assert_int_equal(fb_init(&fb, mem, sizeof(mem), W, H, STRIDE, 3, &why), -1);
    assert_non_null(strstr(why, "fb_format"));
    assert_int_equal(fb_init(&fb, mem, sizeof(mem), W, H, W - 1, 1, &why), -1);
    assert_non_null(strstr(why, "fb_stride"));
    assert_int_equal(fb_init(&fb, mem, sizeof(mem), 4, H, STRIDE, 1, &why), -1);
    assert_non_null(strstr(why, "fb_width"));
    assert_int_equal(fb_init(&fb, mem, (uint64_t)STRIDE * H * 4 - 1, W, H, STRIDE, 1, &why), -1);
    assert_non_null(strstr(why, "fb_size"));
    assert_int_equal(fb_init(&fb, NULL, sizeof(mem), W, H, STRIDE, 1, &why), -1);
    assert_int_equal(fb_init(&fb, mem, (uint64_t)STRIDE * H * 4, W, H, STRIDE, 2, &why), 0);
    assert_int_equal(fb.cols, 5);
    assert_int_equal(fb.rows, 4);
}

static void test_draws_inside(void **state)
{
    (void)state;
    struct fb fb;
    const char *why;
    for (size_t i = 0; i < sizeof(mem) / 4; i++)
        mem[i] = 0xdeadbeef;
    uint32_t *base = mem + GUARD;
    assert_int_equal(fb_init(&fb, base, (uint64_t)STRIDE * H * 4, W, H, STRIDE, FB_FORMAT_BGRX, &why), 0);
    fb_clear(&fb);
    /* 5 columns x 4 rows: 23 characters wrap into 5 rows, the last dropped. */
    fb_puts(&fb, "AAAAABBBBBCCCCCDDDDDEEE");
    assert_int_equal(fb.dropped, 3);
    for (size_t i = 0; i < GUARD; i++) {
        assert_int_equal(mem[i], 0xdeadbeef);
        assert_int_equal(mem[GUARD + STRIDE * H + i], 0xdeadbeef);
    }
    /* Pixels between width and stride are never touched. */
    for (uint32_t y = 0; y < H; y++)
        for (uint32_t x = W; x < STRIDE; x++)
            assert_int_equal(base[y * STRIDE + x], 0xdeadbeef);
    /* 'A' in the font: row 2 is 0x10 (one pixel at x = 3); BGRX white. */
    uint32_t fg = fb_rgb(&fb, FB_COLOUR_FG), bg = fb_rgb(&fb, FB_COLOUR_BG);
    assert_int_equal(fg, 0xffffff);
    assert_int_equal(bg, FB_COLOUR_BG); /* BGRX: byte 0 blue = the low byte of 0xRRGGBB */
    for (uint32_t x = 0; x < 8; x++)
        assert_int_equal(base[2 * STRIDE + x], (fb_font8x16['A' - 0x20][2] & (0x80 >> x)) ? fg : bg);
    /* RGBX swaps red and blue. */
    fb.format = FB_FORMAT_RGBX;
    assert_int_equal(fb_rgb(&fb, 0x112233), 0x332211);
}

static void test_report_keeps_newest(void **state)
{
    (void)state;
    static uint32_t a[160 * 160], b[160 * 160];
    struct fb fb, ref;
    const char *why;
    /* 20 columns x 10 rows: the title takes 5, the head 1, the blank and
     * the tail's title 3: one row is left, for the newest tail line. */
    assert_int_equal(fb_init(&fb, a, sizeof(a), 160, 160, 160, 1, &why), 0);
    const char *head[] = { "h" };
    const char *tail[] = { "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9", "t10" };
    fb_report(&fb, head, 1, tail, 11);
    assert_int_equal(fb.dropped, 0);
    assert_int_equal(fb.row, 10);
    assert_int_equal(fb_init(&ref, b, sizeof(b), 160, 160, 160, 1, &why), 0);
    fb_clear(&ref);
    ref.row = 9;
    fb_puts(&ref, "t10");
    assert_memory_equal(a + 9 * 16 * 160, b + 9 * 16 * 160, 16 * 160 * 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_refuses),
        cmocka_unit_test(test_draws_inside),
        cmocka_unit_test(test_report_keeps_newest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
