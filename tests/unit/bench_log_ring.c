/* make bench: the log ring's cost per line (issue 17). A host build of
 * log/ring_write.c (-O2, the core's optimization level), RDTSC around 1e6
 * appends of an 80-byte line into a 64 KiB ring (most appends drop one
 * record first, as a full ring does all day), and the bytes each line
 * takes. Prints one line per figure. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <x86intrin.h>
#include "log/ring_write.h"

#define LINES 1000000u

int main(void)
{
    uint64_t area_size = log_ring_area_size(64 * 1024);
    void *area = aligned_alloc(4096, area_size);
    if (!area || log_ring_format(area, area_size, 0, 0, 1))
        return 1;
    struct minihv_log_header *h = area;
    struct log_ring_writer w;
    if (log_ring_writer_open(&w, area, area_size))
        return 1;
    char line[81];
    memset(line, 'x', 80);
    memcpy(line, "minihv: hv: refused unmapped-gpa: cpu 1: write of an unmapped address at 0x", 76);
    line[80] = 0;
    for (unsigned i = 0; i < 4096; i++) /* fill the ring: the steady state drops */
        log_ring_append(&w, 1, MINIHV_LOG_SRC_CORE, i, line, 80);
    uint64_t best = UINT64_MAX;
    for (unsigned round = 0; round < 5; round++) {
        uint64_t t0 = __rdtsc();
        for (unsigned i = 0; i < LINES; i++)
            log_ring_append(&w, 1, MINIHV_LOG_SRC_CORE, t0 + i, line, 80);
        uint64_t t = __rdtsc() - t0;
        if (t < best)
            best = t;
    }
    printf("bench-log: %.1f TSC ticks per appended 80-byte line (best of 5 x %u, 64 KiB ring, full: drops "
           "as it goes)\n", (double)best / LINES, LINES);
    printf("bench-log: %u bytes per 80-byte line in the ring (24-byte record header + text, 8-aligned); "
           "a 64 KiB ring holds %u such lines\n", log_ring_record_size(80), 65536u / log_ring_record_size(80));
    printf("bench-log: dropped %llu, lost %llu, next_seq %llu\n", (unsigned long long)h->dropped,
           (unsigned long long)h->lost, (unsigned long long)h->next_seq);
    free(area);
    return 0;
}
