/* See report.h. */
#include "fb/report.h"

static uint32_t rows_of(const struct fb *fb, const char *s)
{
    uint32_t n = 0;
    while (s[n])
        n++;
    return n ? (n + fb->cols - 1) / fb->cols : 1;
}

void fb_report(struct fb *fb, const char *const *head, unsigned nhead, const char *const *tail, unsigned ntail)
{
    fb_colours(fb, FB_COLOUR_TITLE, FB_COLOUR_BG);
    fb_clear(fb);
    fb_line(fb, FB_REPORT_TITLE);
    fb_colours(fb, FB_COLOUR_FG, FB_COLOUR_BG);
    for (unsigned i = 0; i < nhead; i++)
        fb_line(fb, head[i]);
    if (!ntail || fb_rows_left(fb) < 3)
        return;
    fb_line(fb, "");
    fb_colours(fb, FB_COLOUR_TITLE, FB_COLOUR_BG);
    fb_line(fb, FB_REPORT_TAIL_TITLE);
    fb_colours(fb, FB_COLOUR_FG, FB_COLOUR_BG);
    /* The newest lines that fit, drawn oldest first. */
    uint32_t left = fb_rows_left(fb), first = ntail;
    while (first > 0 && rows_of(fb, tail[first - 1]) <= left)
        left -= rows_of(fb, tail[--first]);
    for (unsigned i = first; i < ntail; i++)
        fb_line(fb, tail[i]);
}
