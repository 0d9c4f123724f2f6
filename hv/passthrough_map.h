/* The passthrough model inside: what its config-space and access side
 * (passthrough.c) and its guest-physical map (passthrough_map.c) share.
 * Not for the rest of the core, which uses passthrough.h. */
#ifndef MINIHV_HV_PASSTHROUGH_MAP_H
#define MINIHV_HV_PASSTHROUGH_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hv/passthrough.h"
#include "paging/paging.h"

#define MAX_ADDR (1ull << 52)
#define REGION_INFO_BYTES (sizeof(struct minihv_vfio_region_info) + VFIO_REGION_CAPS_MAX)

/* A line through the platform's log (d->hw.log). */
void pt_say(struct pt_device *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same for a line the guest can cause at will: said while fewer than
 * PT_SAY_LIMIT of its kind were, the last of them saying that later ones
 * are only counted. */
void pt_say_limited(struct pt_device *d, enum pt_say_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline bool pt_overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

static inline bool is_mem_bar(const struct pt_device *d, unsigned i)
{
    enum vfio_bar_kind k = d->vfio.config.bars[i].kind;
    return k == VFIO_BAR_MEM32 || k == VFIO_BAR_MEM64 || k == VFIO_BAR_ROM;
}

static inline uint64_t page_down(uint64_t a)
{
    return a & ~(PT_PAGE - 1);
}

static inline uint64_t page_up(uint64_t a)
{
    return (a + PT_PAGE - 1) & ~(PT_PAGE - 1);
}

/* GET_REGION_INFO for region i into buf (argsz = its size); < 0 on error. */
int pt_region_info(const struct pt_device *d, uint32_t i, uint8_t *buf, size_t len);
/* A window the guest may have (aligned, not wrapping, off the core's
 * memory); *why says what is wrong. */
bool window_ok(const struct pt_device *d, uint64_t gpa, uint64_t size, const char **why);
/* Where BAR i (0-6) may be placed: window_ok, and off every special page
 * (whole pages: the window's pages are trapped or mapped) and every other
 * window of the device (its MSI-X table page among them). */
bool placement_ok(const struct pt_device *d, unsigned i, uint64_t gpa, uint64_t size, const char **why);
/* BAR i's window mapped where the guest put it (mmap-able parts to the
 * host BAR, the rest trapped). */
int window_map(struct pt_device *d, unsigned i);
/* Does [gpa, +size) touch where the hardware decodes one of our BARs? */
bool touches_host_window(const struct pt_device *d, uint64_t gpa, uint64_t size);
/* Host windows no mapped guest window covers: trapped. */
void trap_host_windows(struct pt_device *d);
/* vfio_config_ops.bar_remap: the guest moved BAR `bar` or turned decode on/off. */
void pt_bar_remap(void *opaque, uint32_t bar, uint64_t addr, uint64_t size, bool decode);

#endif
