/* Text on a linear framebuffer (issue 17: the FATAL report on the screen).
 * Pure: draws into memory given by base, width, height, stride and pixel
 * format (the GOP mode the loader found, include/minihv/boot_info.h
 * fb_*), with a built-in 8x16 font (fb/font8x16.c). The core draws its
 * FATAL report with it; the host tool build/tools/fb-render draws the same
 * text the same way, so a test compares a screendump pixel for pixel. */
#ifndef MINIHV_FB_H
#define MINIHV_FB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FB_FONT_W 8
#define FB_FONT_H 16
#define FB_FONT_FIRST 0x20          /* glyph 0: ' ' */
#define FB_FONT_GLYPHS 96           /* 0x20..0x7e, then the fallback */
extern const uint8_t fb_font8x16[FB_FONT_GLYPHS][FB_FONT_H];

/* boot_info.fb_format (UEFI 2.10 12.9 EFI_GRAPHICS_PIXEL_FORMAT, 32 bits
 * per pixel): 1 red in byte 0, 2 blue in byte 0. */
enum fb_format { FB_FORMAT_NONE = 0, FB_FORMAT_RGBX = 1, FB_FORMAT_BGRX = 2 };

/* Colours of the FATAL screen, 0xRRGGBB. */
#define FB_COLOUR_BG    0x00005fu /* dark blue */
#define FB_COLOUR_FG    0xffffffu
#define FB_COLOUR_TITLE 0xffff55u

struct fb {
    volatile uint32_t *base;
    uint32_t width, height, stride; /* pixels; stride >= width */
    uint32_t format;
    uint32_t cols, rows;            /* character cells */
    uint32_t col, row;              /* the cursor */
    uint32_t fg, bg;                /* pixel values in the format */
    uint32_t dropped;               /* characters past the last row */
};

/* Checks the mode (format 1 or 2, 8x16 <= width x height, stride >= width,
 * stride * height * 4 <= size) and sets the cursor to 0,0 in the default
 * colours. 0, or -1 with *why naming the field. */
int fb_init(struct fb *fb, void *base, uint64_t size, uint32_t width, uint32_t height,
            uint32_t stride, uint32_t format, const char **why);
/* A pixel value for 0xRRGGBB in fb's format. */
uint32_t fb_rgb(const struct fb *fb, uint32_t rgb);
void fb_colours(struct fb *fb, uint32_t fg_rgb, uint32_t bg_rgb);
/* The whole visible area in the background colour; cursor to 0,0. */
void fb_clear(struct fb *fb);
/* One character at the cursor: '\n' ends the row, a row longer than the
 * screen goes on in the next one; past the last row nothing is drawn
 * (counted in dropped). Bytes outside 0x20-0x7e draw the fallback glyph. */
void fb_putc(struct fb *fb, char c);
void fb_puts(struct fb *fb, const char *s);
/* s, then a new row. */
void fb_line(struct fb *fb, const char *s);
/* Rows left below the cursor (the current one counts when it is empty). */
uint32_t fb_rows_left(const struct fb *fb);

#endif
