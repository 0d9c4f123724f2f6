/* fb-render: draws the core's FATAL screen (fb/report.c) on the host, for
 * tests that compare it with a screendump pixel for pixel (issue 17).
 *
 *   fb-render render WIDTH HEIGHT HEAD TAIL OUT.ppm
 *   fb-render compare SCREEN.ppm HEAD TAIL [ROWS]
 *
 * HEAD and TAIL are text files, one line each (HEAD: the FATAL report's
 * lines as the core logged them; TAIL: the log lines before it, as
 * minihv-log prints them). compare renders at SCREEN's size (a binary PPM,
 * P6, maxval 255, as QEMU's screendump writes) and compares the first ROWS
 * character rows (default: all), full width; exit 0 when every pixel
 * matches, 1 when some differ (the first few are printed), 2 on bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fb/report.h"

#define MAX_LINES 4096
#define MAX_DIM 8192

static int read_lines(const char *path, char ***out)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return -1;
    }
    char **lines = calloc(MAX_LINES, sizeof(*lines));
    char buf[4096];
    int n = 0;
    while (n < MAX_LINES && fgets(buf, sizeof(buf), f)) {
        size_t len = strlen(buf);
        while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
            buf[--len] = 0;
        lines[n++] = strdup(buf);
    }
    fclose(f);
    *out = lines;
    return n;
}

/* Renders into a BGRX buffer of w x h (QEMU's GOP format; the PPM is RGB
 * either way). */
static uint32_t *render(uint32_t w, uint32_t h, const char *head_path, const char *tail_path)
{
    char **head, **tail;
    int nh = read_lines(head_path, &head), nt = read_lines(tail_path, &tail);
    if (nh < 0 || nt < 0)
        return NULL;
    for (int i = 0; i < nt; i++) /* cut as the core cuts them (hv/fatal_screen.c) */
        if (strlen(tail[i]) >= FB_REPORT_TAIL_LINE)
            tail[i][FB_REPORT_TAIL_LINE - 1] = 0;
    uint32_t *px = calloc((size_t)w * h, 4);
    struct fb fb;
    const char *why;
    if (fb_init(&fb, px, (uint64_t)w * h * 4, w, h, w, FB_FORMAT_BGRX, &why)) {
        fprintf(stderr, "fb-render: %s\n", why);
        return NULL;
    }
    fb_report(&fb, (const char *const *)head, (unsigned)nh, (const char *const *)tail, (unsigned)nt);
    return px;
}

static void rgb_of(uint32_t p, uint8_t *rgb)
{
    rgb[0] = p >> 16 & 0xff;
    rgb[1] = p >> 8 & 0xff;
    rgb[2] = p & 0xff;
}

/* A P6 header: "P6" W H 255, whitespace-separated, '#' comments. */
static int ppm_number(FILE *f, uint32_t *v)
{
    int c;
    for (;;) {
        c = fgetc(f);
        if (c == '#')
            while (c != '\n' && c != EOF)
                c = fgetc(f);
        else if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
    }
    if (c < '0' || c > '9')
        return -1;
    uint64_t n = 0;
    while (c >= '0' && c <= '9') {
        n = n * 10 + (uint64_t)(c - '0');
        if (n > MAX_DIM * 4)
            return -1;
        c = fgetc(f);
    }
    *v = (uint32_t)n; /* c: the one whitespace byte after the number */
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 7 && !strcmp(argv[1], "render")) {
        uint32_t w = (uint32_t)strtoul(argv[2], NULL, 0), h = (uint32_t)strtoul(argv[3], NULL, 0);
        if (!w || !h || w > MAX_DIM || h > MAX_DIM) {
            fprintf(stderr, "fb-render: WIDTH/HEIGHT out of range\n");
            return 2;
        }
        uint32_t *px = render(w, h, argv[4], argv[5]);
        FILE *o = fopen(argv[6], "wb");
        if (!px || !o)
            return 2;
        fprintf(o, "P6\n%u %u\n255\n", w, h);
        for (size_t i = 0; i < (size_t)w * h; i++) {
            uint8_t rgb[3];
            rgb_of(px[i], rgb);
            fwrite(rgb, 1, 3, o);
        }
        return fclose(o) ? 2 : 0;
    }
    if ((argc == 5 || argc == 6) && !strcmp(argv[1], "compare")) {
        FILE *f = fopen(argv[2], "rb");
        uint32_t w, h, max;
        if (!f || fgetc(f) != 'P' || fgetc(f) != '6' || ppm_number(f, &w) || ppm_number(f, &h) ||
            ppm_number(f, &max) || max != 255 || !w || !h || w > MAX_DIM || h > MAX_DIM) {
            fprintf(stderr, "fb-render: %s: not a P6 PPM with maxval 255 and a size up to %u\n", argv[2], MAX_DIM);
            return 2;
        }
        uint8_t *shot = malloc((size_t)w * h * 3);
        if (fread(shot, 3, (size_t)w * h, f) != (size_t)w * h) {
            fprintf(stderr, "fb-render: %s: pixel data shorter than %ux%u\n", argv[2], w, h);
            return 2;
        }
        uint32_t *px = render(w, h, argv[3], argv[4]);
        if (!px)
            return 2;
        uint32_t rows = h / FB_FONT_H;
        if (argc == 6 && (uint32_t)atoi(argv[5]) < rows)
            rows = (uint32_t)atoi(argv[5]);
        uint64_t differ = 0, total = (uint64_t)rows * FB_FONT_H * w;
        for (uint32_t y = 0; y < rows * FB_FONT_H; y++)
            for (uint32_t x = 0; x < w; x++) {
                uint8_t rgb[3];
                rgb_of(px[(size_t)y * w + x], rgb);
                const uint8_t *s = shot + ((size_t)y * w + x) * 3;
                if (memcmp(rgb, s, 3)) {
                    if (differ < 5)
                        printf("fb-render: pixel %u,%u (row %u): screen %02x%02x%02x, rendering %02x%02x%02x\n",
                               x, y, y / FB_FONT_H, s[0], s[1], s[2], rgb[0], rgb[1], rgb[2]);
                    differ++;
                }
            }
        printf("fb-render: %ux%u, %u text rows: %llu of %llu pixels differ\n", w, h, rows,
               (unsigned long long)differ, (unsigned long long)total);
        return differ ? 1 : 0;
    }
    fprintf(stderr, "usage: fb-render render WIDTH HEIGHT HEAD TAIL OUT.ppm\n"
                    "       fb-render compare SCREEN.ppm HEAD TAIL [ROWS]\n");
    return 2;
}
