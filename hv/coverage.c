/* The coverage build's map (hv/coverage.h). Built without
 * -fsanitize-coverage (hv/module.mk): the hook must not call itself.
 *
 * The hook runs on every CPU at once, in NMI context too, and before the
 * core has its GS: it only reads its return address and stores a byte, so
 * it is lock-free, reentrant and needs nothing but a stack. One byte per
 * 4-byte granule of the image: a call is 5 bytes (E8 rel32), so no two
 * call sites' return addresses share a granule and the report maps each
 * marked granule back to exactly one site. */
#include <minihv/format.h>
#include <minihv/hypercall.h>
#include <minihv/libc.h>
#include "hv/console.h"
#include "hv/coverage.h"
#include "hv/vcpu.h"

#define COV_GRANULE_SHIFT 2
/* Room for 512 KiB of .hv_header + .text (the instrumented text is about
 * 250 KiB); a site past it is counted, not marked. */
#define COV_TEXT_MAX (512u << 10)
#define COV_SLOTS (COV_TEXT_MAX >> COV_GRANULE_SHIFT)
/* One dump line: 512 granules (2 KiB of text) as 64 bytes of bits. */
#define COV_LINE_GRANULES 512u

extern char hv_image_start[], hv_text_end[];

static uint8_t cov_map[COV_SLOTS];
static uint64_t cov_outside;

void __sanitizer_cov_trace_pc(void);
__attribute__((no_sanitize_coverage)) void __sanitizer_cov_trace_pc(void)
{
    uint64_t off = (uint64_t)__builtin_return_address(0) - (uint64_t)hv_image_start;
    uint64_t slot = off >> COV_GRANULE_SHIFT;
    if (slot >= COV_SLOTS) {
        __atomic_fetch_add(&cov_outside, 1, __ATOMIC_RELAXED);
        return;
    }
    /* A plain byte store: racing CPUs (or an NMI) all store 1. Read first
     * so a hot block does not keep dirtying a shared line. */
    if (!__atomic_load_n(&cov_map[slot], __ATOMIC_RELAXED))
        __atomic_store_n(&cov_map[slot], 1, __ATOMIC_RELAXED);
}

/* `cov: begin`, then one line per 2 KiB of text with a block hit:
 * `cov: OFFSET HEX` (OFFSET from hv_image_start; bit i of byte j in HEX is
 * granule OFFSET/4 + 8j + i), then `cov: end N` with N the lines printed. */
void hv_cov_dump(const char *why)
{
    uint64_t text = (uint64_t)(hv_text_end - hv_image_start);
    uint64_t slots = MIN(text >> COV_GRANULE_SHIFT, (uint64_t)COV_SLOTS);
    unsigned lines = 0, marked = 0;
    hv_log("cov: begin %s; granule %u, text 0x%lx, sites outside the map %lu", why, 1u << COV_GRANULE_SHIFT,
           text, __atomic_load_n(&cov_outside, __ATOMIC_RELAXED));
    for (uint64_t base = 0; base < slots; base += COV_LINE_GRANULES) {
        uint8_t bits[COV_LINE_GRANULES / 8];
        bool any = false;
        memset(bits, 0, sizeof(bits));
        for (unsigned i = 0; i < COV_LINE_GRANULES && base + i < slots; i++)
            if (__atomic_load_n(&cov_map[base + i], __ATOMIC_RELAXED)) {
                bits[i / 8] |= (uint8_t)(1u << (i % 8));
                any = true;
                marked++;
            }
        if (!any)
            continue;
        char hex[sizeof(bits) * 2 + 1];
        for (unsigned j = 0; j < sizeof(bits); j++)
            fmt_snprintf(hex + 2 * j, 3, "%02x", bits[j]);
        hv_log("cov: %lx %s", base << COV_GRANULE_SHIFT, hex);
        lines++;
    }
    hv_log("cov: end %u lines, %u granules marked", lines, marked);
}

bool hv_cov_checksum_due(void)
{
    static uint64_t checksums;
    return __atomic_add_fetch(&checksums, 1, __ATOMIC_RELAXED) % MINIHV_COV_CHECKSUM_PERIOD == 0;
}
