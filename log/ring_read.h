/* The log ring's reader (include/minihv/logring.h, issue 17): checks an
 * area's header, walks its records, takes a consistent copy of a ring that
 * is being written, and formats a line the way minihv-log and last.log
 * print it. Pure C on buffers: built into the loader (the previous boot's
 * ring), the core (the last lines at FATAL), tools/minihv-log and the tests.
 *
 * Nothing in the area is trusted: every refusal fills a struct field_error
 * naming the header field or record field, and no byte outside the buffer
 * the caller gave is read. */
#ifndef MINIHV_LOG_RING_READ_H
#define MINIHV_LOG_RING_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <minihv/field_error.h>
#include <minihv/logring.h>

/* Error codes (returned negated, as field_fail does). */
enum {
    LOG_EHEADER = 1, /* the header is not ours or lies */
    LOG_ERECORD = 2, /* a record is torn or lies */
    LOG_ESMALL = 3,  /* the caller's buffer is too small */
    LOG_ERACE = 4,   /* the writer lapped every snapshot attempt */
};

#define LOG_DATA_MIN 4096u
#define LOG_DATA_MAX (64u << 20)
/* The largest record: header + LOG_TEXT_MAX bytes of text, rounded to 8. */
#define LOG_RECORD_MAX ((MINIHV_LOG_RECORD_HDR + MINIHV_LOG_TEXT_MAX + 7u) & ~7u)

/* The fixed part of a header: magic, version, header_check (checked before
 * any size in it is used), header_size, data_offset, data_size, area_size
 * (<= area_len: the bytes the caller can read). Does not look at the moving
 * fields. 0 or -LOG_EHEADER; err->offset is the field's offset in the
 * header. */
int log_ring_check_header(const struct minihv_log_header *h, uint64_t area_len,
                          struct field_error *err);

/* The whole header of an area of `len` bytes: the fixed part, then tail <=
 * head and head - tail <= data_size. Records are checked by the iterator. */
int log_ring_check(const void *area, size_t len, struct field_error *err);

/* A ring to read: `data` holds data_size bytes where the record at byte
 * position p is at data[p % data_size]; [tail, head) are the records. */
struct log_ring_view {
    const uint8_t *data;
    uint32_t data_size;
    uint32_t flags;
    uint64_t tail, head;
    uint64_t next_seq, dropped, lost;
    uint64_t boot_count, tsc_hz, tsc_base;
};

/* A view of a checked area in place (log_ring_check returned 0). For a ring
 * that no one writes any more (the previous boot's, a saved file). */
void log_ring_view(const void *area, struct log_ring_view *v);

/* A consistent copy of a live ring (the writer may run on another CPU, or
 * the core while the guest reads): reads head, then tail, copies [tail,
 * head) into `copy` (data_size bytes, same positions modulo data_size),
 * then re-reads tail: records before the new tail were overwritten while
 * copying and are left out. Retries when the writer lapped the copy.
 * `area` is the live area (len bytes readable; the fixed header is checked
 * here). *v then reads from `copy`. */
int log_ring_snapshot(const volatile void *area, size_t len, void *copy, size_t copy_size,
                      struct log_ring_view *v, struct field_error *err);

/* One line of the ring. text points into the iterator (valid until the
 * next call); text_len bytes, not NUL-terminated. */
struct log_line {
    uint64_t pos; /* byte position of the record */
    uint64_t seq;
    uint64_t tsc;
    uint16_t cpu;
    uint8_t source;
    uint16_t text_len;
    const char *text;
};

struct log_iter {
    const struct log_ring_view *v;
    uint64_t pos;      /* next record's byte position */
    uint64_t next_seq; /* the seq the next record must carry, once `started` */
    bool started;
    bool stopped;      /* a bad record was seen: the walk is over */
    uint8_t rec[LOG_RECORD_MAX];
};

/* Walks [from, v->head); from = v->tail for every line (a position below
 * tail is raised to it; one past head ends the walk at once). The first
 * record's seq is taken as is unless expect_seq != UINT64_MAX. */
void log_iter_init(struct log_iter *it, const struct log_ring_view *v, uint64_t from,
                   uint64_t expect_seq);

/* 1: *line filled; 0: no more records; -LOG_ERECORD: the record at it->pos
 * is bad (err names the field: size, text_len, source, seq, check, padding;
 * err->offset is the record's offset in the data area, it->pos its byte
 * position) and the walk stops there. */
int log_iter_next(struct log_iter *it, struct log_line *line, struct field_error *err);

/* "[    1.234567] cpu2 " (core) or "[    0.001000] ldr " (loader), then
 * the text with control bytes shown as '?': the line minihv-log and
 * last.log print (no newline). The time is (tsc - tsc_base) / tsc_hz; "[t=<tsc>]" when tsc_hz
 * is 0. NUL-terminated; returns the length written (truncated to n - 1). */
size_t log_line_format(const struct log_ring_view *v, const struct log_line *line, char *buf,
                       size_t n);

#endif
