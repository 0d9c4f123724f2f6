/* See fb.h. Every store stays inside [base, base + stride * height * 4),
 * checked once by fb_init. */
#include "fb/fb.h"

int fb_init(struct fb *fb, void *base, uint64_t size, uint32_t width, uint32_t height,
            uint32_t stride, uint32_t format, const char **why)
{
    *why = NULL;
    if (!base)
        *why = "fb_phys is 0";
    else if (format != FB_FORMAT_RGBX && format != FB_FORMAT_BGRX)
        *why = "fb_format is not 1 (RGB) or 2 (BGR)";
    else if (width < FB_FONT_W || height < FB_FONT_H || width > 65536 || height > 65536)
        *why = "fb_width/fb_height out of range";
    else if (stride < width || stride > 65536)
        *why = "fb_stride below fb_width or too large";
    else if ((uint64_t)stride * height * 4 > size)
        *why = "fb_size smaller than fb_stride * fb_height * 4";
    if (*why)
        return -1;
    fb->base = base;
    fb->width = width;
    fb->height = height;
    fb->stride = stride;
    fb->format = format;
    fb->cols = width / FB_FONT_W;
    fb->rows = height / FB_FONT_H;
    fb->col = fb->row = 0;
    fb->dropped = 0;
    fb_colours(fb, FB_COLOUR_FG, FB_COLOUR_BG);
    return 0;
}

uint32_t fb_rgb(const struct fb *fb, uint32_t rgb)
{
    uint32_t r = rgb >> 16 & 0xff, g = rgb >> 8 & 0xff, b = rgb & 0xff;
    return fb->format == FB_FORMAT_RGBX ? r | g << 8 | b << 16 : b | g << 8 | r << 16;
}

void fb_colours(struct fb *fb, uint32_t fg_rgb, uint32_t bg_rgb)
{
    fb->fg = fb_rgb(fb, fg_rgb);
    fb->bg = fb_rgb(fb, bg_rgb);
}

void fb_clear(struct fb *fb)
{
    for (uint32_t y = 0; y < fb->height; y++) {
        volatile uint32_t *row = fb->base + (uint64_t)y * fb->stride;
        for (uint32_t x = 0; x < fb->width; x++)
            row[x] = fb->bg;
    }
    fb->col = fb->row = 0;
}

static void draw_glyph(struct fb *fb, uint32_t col, uint32_t row, unsigned char c)
{
    unsigned g = c >= FB_FONT_FIRST && c < FB_FONT_FIRST + FB_FONT_GLYPHS - 1 ? c - FB_FONT_FIRST
                                                                            : FB_FONT_GLYPHS - 1;
    for (uint32_t y = 0; y < FB_FONT_H; y++) {
        volatile uint32_t *px = fb->base + (uint64_t)(row * FB_FONT_H + y) * fb->stride + col * FB_FONT_W;
        uint8_t bits = fb_font8x16[g][y];
        for (uint32_t x = 0; x < FB_FONT_W; x++)
            px[x] = bits & (0x80u >> x) ? fb->fg : fb->bg;
    }
}

void fb_putc(struct fb *fb, char c)
{
    if (c == '\n') {
        fb->col = 0;
        fb->row++;
        return;
    }
    if (fb->col >= fb->cols) {
        fb->col = 0;
        fb->row++;
    }
    if (fb->row >= fb->rows) {
        fb->dropped++;
        return;
    }
    draw_glyph(fb, fb->col, fb->row, (unsigned char)c);
    fb->col++;
}

void fb_puts(struct fb *fb, const char *s)
{
    while (*s)
        fb_putc(fb, *s++);
}

void fb_line(struct fb *fb, const char *s)
{
    fb_puts(fb, s);
    fb_putc(fb, '\n');
}

uint32_t fb_rows_left(const struct fb *fb)
{
    if (fb->row >= fb->rows)
        return 0;
    return fb->rows - fb->row - (fb->col ? 1 : 0);
}
