/* The FATAL screen's layout (issue 17), shared by the core (hv/fatal_screen.c)
 * and the host renderer (tools/fb-render.c) so that a screendump can be
 * compared with a rendering pixel for pixel. */
#ifndef MINIHV_FB_REPORT_H
#define MINIHV_FB_REPORT_H

#include "fb/fb.h"

#define FB_REPORT_TITLE "minihv: FATAL, this machine has stopped. The next boot saves the log as \\EFI\\minihv\\last.log"
#define FB_REPORT_TAIL_TITLE "the last log lines before it:"
/* Bytes the core keeps of each tail line, NUL included (two rows at 1024
 * pixels): a longer line is cut, on the screen and in a rendering. */
#define FB_REPORT_TAIL_LINE 256

/* Clears the screen, draws the title, the head lines (the FATAL report:
 * reason, exit, RIP and instruction bytes) and, below, as many of the
 * last tail lines (the log before the FATAL, oldest first) as fit. */
void fb_report(struct fb *fb, const char *const *head, unsigned nhead, const char *const *tail, unsigned ntail);

#endif
