/* See fatal_screen.h. The framebuffer is reached through the core's
 * identity map of [0, phys_top) (the loader's phys_top covers every PCI
 * memory BAR, the GOP's among them; the loader also leaves fb_format 0 when
 * the framebuffer ends above it). That map is WB in the PAT; the MTRRs make
 * the BAR UC or WC (SDM Vol. 3A 12.5.2.2, Table 12-6: WB PAT with a UC or WC
 * MTRR gives UC or WC), so the stores reach the device.
 *
 * The ring is read in place through log/ring_read.h, without a copy (the
 * core has no room for one of up to 64 MiB): a record another CPU
 * overwrites while it is read fails its check and ends the walk, which then
 * starts once more from the new tail. */
#include <minihv/libc.h>
#include "fb/report.h"
#include "hv/console.h"
#include "hv/fatal_screen.h"
#include "hv/hv.h"
#include "hv/lock.h"
#include "log/ring_read.h"

#define TAIL_MAX 64        /* lines kept: more than a 1080-line screen's 67 rows is not needed */
#define TAIL_LINE FB_REPORT_TAIL_LINE /* bytes per line: two rows at 1024 pixels, the rest cut */

static struct spinlock screen_lock;
static char tail_text[TAIL_MAX][TAIL_LINE];
static const char *tail_ptr[TAIL_MAX];
static struct log_iter iter; /* 560 bytes: off the CPU's stack */

static bool ends_with(const char *text, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && memcmp(text + len - n, suffix, n) == 0;
}

/* The last lines before the FATAL report into tail_text, oldest first in
 * tail_ptr; how many. */
static unsigned read_tail(const char *fatal_line)
{
    const struct minihv_boot_info *bi = hv_boot;
    struct field_error err;
    struct log_ring_view view;
    struct log_line line;
    if (!bi->log_phys || bi->log_phys + bi->log_size > bi->phys_top)
        return 0;
    const void *area = (const void *)(uintptr_t)bi->log_phys;
    if (log_ring_check(area, (size_t)bi->log_size, &err)) {
        hv_log("fatal screen: the log ring refused: %s at 0x%x: %s", err.field, err.offset, err.what);
        return 0;
    }
    unsigned n = 0, start = 0; /* tail_text[start .. start + n) modulo TAIL_MAX */
    for (int attempt = 0; attempt < 2; attempt++) {
        log_ring_view(area, &view);
        log_iter_init(&iter, &view, view.tail, UINT64_MAX);
        n = start = 0;
        int rc;
        while ((rc = log_iter_next(&iter, &line, &err)) == 1) {
            if (ends_with(line.text, line.text_len, fatal_line))
                break;
            unsigned slot = (start + n) % TAIL_MAX;
            if (n < TAIL_MAX)
                n++;
            else
                start = (start + 1) % TAIL_MAX;
            log_line_format(&view, &line, tail_text[slot], TAIL_LINE);
        }
        if (rc >= 0)
            break;
    }
    for (unsigned i = 0; i < n; i++)
        tail_ptr[i] = tail_text[(start + i) % TAIL_MAX];
    return n;
}

void fatal_screen(const char *const *head, unsigned nhead)
{
    const struct minihv_boot_info *bi = hv_boot;
    struct fb fb;
    const char *why;
    if (!bi || !bi->fb_format || !nhead)
        return;
    if (!spin_trylock(&screen_lock))
        return; /* another CPU's FATAL is on the screen */
    if (bi->fb_phys >= bi->phys_top || bi->fb_size > bi->phys_top - bi->fb_phys) {
        hv_log("fatal screen: framebuffer 0x%lx (+0x%lx) outside the core's map [0, 0x%lx): not drawn",
               bi->fb_phys, bi->fb_size, bi->phys_top);
        return;
    }
    if (fb_init(&fb, (void *)(uintptr_t)bi->fb_phys, bi->fb_size, bi->fb_width, bi->fb_height,
                bi->fb_stride, bi->fb_format, &why)) {
        hv_log("fatal screen: not drawn: %s", why);
        return;
    }
    unsigned ntail = read_tail(head[0]);
    fb_report(&fb, head, nhead, tail_ptr, ntail);
    hv_log("fatal screen: drawn at 0x%lx (%ux%u), %u log line(s) below the report", bi->fb_phys,
           bi->fb_width, bi->fb_height, ntail);
}
