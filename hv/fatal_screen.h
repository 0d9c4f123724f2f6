/* The FATAL report on the firmware's framebuffer (issue 17). */
#ifndef MINIHV_HV_FATAL_SCREEN_H
#define MINIHV_HV_FATAL_SCREEN_H

/* Draws the FATAL screen (fb/report.h): head = the report's lines as
 * logged (reason, exit, RIP and instruction bytes), then the ring's last
 * lines before the one that ends with head[0]. Only the first CPU to call
 * it draws; nothing when the loader found no GOP framebuffer
 * (boot_info.fb_format 0) or the framebuffer lies outside the core's
 * identity map [0, phys_top). Logs one line saying which. */
void fatal_screen(const char *const *head, unsigned nhead);

#endif
