/* log/ring_read.c on fuzzed log areas (what minihv-log reads through
 * /dev/mem or --file, and the loader from the previous boot): the header
 * check, the in-place view and the lockless snapshot, the record walk and
 * the line format. Byte 0 picks how the rest becomes an area:
 *   0: the area as is (any length);
 *   1: a header from the input with header_check resealed (so the checks
 *      after it are reached), the rest as the data, in an 8 KiB area;
 *   2: a valid 4 KiB ring whose head (u64) and head - tail (u16) come from
 *      the input, the rest copied in from tail on (wrapping): the record
 *      walk on every shape of record.
 * No crash, no sanitizer report, and a walk never yields more bytes than
 * head - tail. Seeds: tests/fuzz/corpus/fuzz_log_ring/. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "log/fnv1a.h"
#include "log/ring_read.h"

#define AREA 8192u
static _Alignas(4096) uint8_t area[1u << 16];
static uint8_t copy[LOG_DATA_MAX >> 10]; /* 64 KiB: rings the buffer holds */

static void walk(const struct log_ring_view *v)
{
    struct log_iter it;
    struct log_line l;
    struct field_error err;
    char buf[700];
    uint64_t bytes = 0;
    log_iter_init(&it, v, v->tail, UINT64_MAX);
    int rc;
    while ((rc = log_iter_next(&it, &l, &err)) == 1) {
        bytes += (MINIHV_LOG_RECORD_HDR + l.text_len + 7u) & ~7u;
        log_line_format(v, &l, buf, sizeof(buf));
        if (bytes > v->head - v->tail)
            abort();
    }
    if (rc < 0 && (!err.field || !err.what))
        abort();
}

static void run(size_t len)
{
    struct field_error err = { 0 };
    if (log_ring_check(area, len, &err) == 0) {
        struct log_ring_view v;
        log_ring_view(area, &v);
        walk(&v);
    } else if (!err.field || !err.what) {
        abort();
    }
    struct log_ring_view s;
    if (log_ring_snapshot(area, len, copy, sizeof(copy), &s, &err) == 0)
        walk(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0] % 3;
    data++;
    size--;
    struct minihv_log_header *h = (struct minihv_log_header *)area;
    if (mode == 0) {
        if (size > sizeof(area))
            size = sizeof(area);
        memcpy(area, data, size);
        run(size);
        return 0;
    }
    memset(area, 0, AREA);
    if (mode == 1) {
        memcpy(area, data, size < AREA ? size : AREA);
        h->magic = MINIHV_LOG_MAGIC;
        h->version = MINIHV_LOG_VERSION;
        h->header_check = log_fnv1a32(h, offsetof(struct minihv_log_header, header_check));
        run(AREA);
        return 0;
    }
    if (size < 10)
        return 0;
    h->magic = MINIHV_LOG_MAGIC;
    h->version = MINIHV_LOG_VERSION;
    h->header_size = sizeof(*h);
    h->data_offset = 4096;
    h->data_size = 4096;
    h->area_size = AREA;
    memcpy(&h->head, data, 8);
    uint16_t used;
    memcpy(&used, data + 8, 2);
    used %= 4097;
    h->tail = h->head >= used ? h->head - used : 0;
    h->tsc_hz = h->head & 0xffffffff;
    h->tsc_base = h->head >> 32;
    h->header_check = log_fnv1a32(h, offsetof(struct minihv_log_header, header_check));
    data += 10;
    size -= 10;
    for (size_t i = 0; i < size && i < 4096; i++)
        area[4096 + ((h->tail + i) & 4095)] = data[i];
    run(AREA);
    return 0;
}
