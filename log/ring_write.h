/* The log ring's writer (issue 17): formats an area and appends lines to
 * it, following include/minihv/logring.h. Pure C, buffers only: the loader,
 * the core, the tools and the tests build the same file. One writer at a
 * time per ring (the loader alone before the core runs; in the core, the
 * CPU holding hv/console.c's lock); readers need no lock (the header's
 * comment says how they read a live ring). Never blocks, never fails on a
 * full ring: the oldest records are dropped and counted. */
#ifndef MINIHV_LOG_RING_WRITE_H
#define MINIHV_LOG_RING_WRITE_H

#include <stddef.h>
#include <stdint.h>
#include <minihv/logring.h>

/* The layout log_ring_format makes: the header alone in the first page,
 * the ring (a power of two) from the second. */
#define LOG_RING_DATA_OFFSET 4096u
#define LOG_RING_DATA_MIN    4096u
#define LOG_RING_DATA_MAX    (64u << 20)

/* Area bytes for a ring of data_size bytes (a power of two). */
static inline uint64_t log_ring_area_size(uint64_t data_size)
{
    return LOG_RING_DATA_OFFSET + data_size;
}

/* fnv1a-32 of the header's bytes magic .. tsc_base (header_check). */
uint32_t log_ring_header_check(const struct minihv_log_header *hdr);

/* Writes an empty ring over `area` (4 KiB aligned, area_size bytes, a
 * multiple of 4 KiB): the largest power-of-two ring, up to 64 MiB, that
 * fits after the header page; head = tail = next_seq = 0, flags 0. 0, or
 * -1 when area_size is not a multiple of 4 KiB or below 8 KiB (nothing
 * written). */
int log_ring_format(void *area, uint64_t area_size, uint64_t tsc_hz, uint64_t tsc_base, uint64_t boot_count);

/* The writer's own copy of the ring's geometry and positions. The area is
 * memory others reach (the guest reads it; a device the guest drives may
 * DMA into it): the writer checks the header ONCE when it takes the ring
 * over and from then on only stores to it, never reading a size or a
 * position back — a header rewritten under it cannot steer a write
 * outside [data, data + data_size). */
struct log_ring_writer {
    struct minihv_log_header *hdr;
    uint8_t *data;
    uint32_t data_size;
    uint64_t head, tail, next_seq, dropped;
};

/* Takes over the ring in `area` (area_size bytes) as log_ring_format or a
 * previous writer left it: magic, version, header_check, data_offset and
 * data_size inside area_size, positions consistent. 0, or -1 (w->hdr
 * NULL: every append then fails). */
int log_ring_writer_open(struct log_ring_writer *w, void *area, uint64_t area_size);

/* Appends one line: `len` bytes of text (cut at a NUL, at
 * MINIHV_LOG_TEXT_MAX, trailing CR/LF removed), stamped with cpu, source
 * and tsc, seq = next_seq. Records before the new one's end are dropped
 * first (tail moves, `dropped` counts them), then the record is written,
 * then head moves (release). 0, or -1 when the writer holds no ring
 * (nothing written; the caller counts it lost). The caller holds the ring. */
int log_ring_append(struct log_ring_writer *w, uint16_t cpu, uint8_t source, uint64_t tsc, const char *text,
                    size_t len);

/* A line that was not written (the ring stayed busy): lost + 1, atomic,
 * for a caller that does not hold the ring. */
void log_ring_count_lost(struct minihv_log_header *hdr);

/* flags |= f, atomic (MINIHV_LOG_FLAG_CORE, MINIHV_LOG_FLAG_FATAL). */
void log_ring_set_flags(struct minihv_log_header *hdr, uint32_t f);

/* The record size for `len` bytes of text (after the cut above). */
static inline uint32_t log_ring_record_size(size_t len)
{
    if (len > MINIHV_LOG_TEXT_MAX)
        len = MINIHV_LOG_TEXT_MAX;
    return (uint32_t)((MINIHV_LOG_RECORD_HDR + len + 7) & ~(size_t)7);
}

#endif
