/* See ring_read.h. The layout and the writer's ordering rules are in
 * include/minihv/logring.h. */
#include <minihv/format.h>
#include <minihv/libc.h>
#include "log/fnv1a.h"
#include "log/ring_read.h"

#define HDR_OFF(f) ((uint32_t)__builtin_offsetof(struct minihv_log_header, f))

int log_ring_check_header(const struct minihv_log_header *hp, uint64_t area_len,
                          struct field_error *err)
{
    struct minihv_log_header h;
    if (area_len < sizeof(h))
        return field_fail(err, LOG_EHEADER, "header", 0, "area shorter than the header");
    memcpy(&h, hp, sizeof(h)); /* no alignment assumed; one read of each field */
    if (h.magic != MINIHV_LOG_MAGIC)
        return field_fail(err, LOG_EHEADER, "magic", HDR_OFF(magic), "not a minihv log ring");
    if (h.version != MINIHV_LOG_VERSION)
        return field_fail(err, LOG_EHEADER, "version", HDR_OFF(version), "not layout version 1");
    /* Before any size in it is used: a damaged or foreign header stops here. */
    if (h.header_check != log_fnv1a32(&h, HDR_OFF(header_check)))
        return field_fail(err, LOG_EHEADER, "header_check", HDR_OFF(header_check),
                          "fnv1a-32 of magic..tsc_base does not match");
    if (h.header_size != sizeof(h))
        return field_fail(err, LOG_EHEADER, "header_size", HDR_OFF(header_size),
                          "not the size of a version 1 header");
    if (h.data_offset < h.header_size || (h.data_offset & 7))
        return field_fail(err, LOG_EHEADER, "data_offset", HDR_OFF(data_offset),
                          "below header_size or not 8-aligned");
    if (h.data_size < LOG_DATA_MIN || h.data_size > LOG_DATA_MAX ||
        (h.data_size & (h.data_size - 1)))
        return field_fail(err, LOG_EHEADER, "data_size", HDR_OFF(data_size),
                          "not a power of two in 4 KiB..64 MiB");
    if (h.area_size & 4095)
        return field_fail(err, LOG_EHEADER, "area_size", HDR_OFF(area_size),
                          "not a multiple of 4 KiB");
    if (!range_ok(h.data_offset, h.data_size, h.area_size))
        return field_fail(err, LOG_EHEADER, "data_size", HDR_OFF(data_size),
                          "data_offset + data_size past area_size");
    if (h.area_size > area_len)
        return field_fail(err, LOG_EHEADER, "area_size", HDR_OFF(area_size),
                          "larger than the memory the area was found in");
    return 0;
}

/* tail <= head, head - tail <= data_size: the moving fields, read once. */
static int check_moving(uint64_t head, uint64_t tail, uint32_t data_size, struct field_error *err)
{
    if (tail > head)
        return field_fail(err, LOG_EHEADER, "tail", HDR_OFF(tail), "past head");
    if (head - tail > data_size)
        return field_fail(err, LOG_EHEADER, "head", HDR_OFF(head), "more than data_size past tail");
    return 0;
}

int log_ring_check(const void *area, size_t len, struct field_error *err)
{
    int rc = log_ring_check_header(area, len, err);
    if (rc)
        return rc;
    struct minihv_log_header h;
    memcpy(&h, area, sizeof(h));
    return check_moving(h.head, h.tail, h.data_size, err);
}

void log_ring_view(const void *area, struct log_ring_view *v)
{
    struct minihv_log_header h;
    memcpy(&h, area, sizeof(h));
    *v = (struct log_ring_view){
        .data = (const uint8_t *)area + h.data_offset,
        .data_size = h.data_size,
        .flags = h.flags,
        .tail = h.tail,
        .head = h.head,
        .next_seq = h.next_seq,
        .dropped = h.dropped,
        .lost = h.lost,
        .boot_count = h.boot_count,
        .tsc_hz = h.tsc_hz,
        .tsc_base = h.tsc_base,
    };
}

static uint64_t load64(const volatile void *area, uint32_t off)
{
    return __atomic_load_n((const uint64_t *)((const volatile uint8_t *)area + off),
                           __ATOMIC_ACQUIRE);
}

int log_ring_snapshot(const volatile void *area, size_t len, void *copy, size_t copy_size,
                      struct log_ring_view *v, struct field_error *err)
{
    if ((uintptr_t)area & 7)
        return field_fail(err, LOG_EHEADER, "header", 0, "area not 8-aligned");
    int rc = log_ring_check_header((const void *)area, len, err);
    if (rc)
        return rc;
    struct minihv_log_header h;
    memcpy(&h, (const void *)area, sizeof(h));
    if (copy_size < h.data_size)
        return field_fail(err, LOG_ESMALL, "data_size", HDR_OFF(data_size),
                          "larger than the copy buffer");
    const uint8_t *data = (const uint8_t *)area + h.data_offset;
    uint64_t mask = h.data_size - 1;
    for (int attempt = 0; attempt < 8; attempt++) {
        /* head first: the bytes below it were complete when it was stored
         * (the writer moves head after writing, with release order). */
        uint64_t head = load64(area, HDR_OFF(head));
        uint64_t tail = load64(area, HDR_OFF(tail));
        rc = check_moving(head, tail, h.data_size, err);
        if (rc)
            continue; /* lapped between the two loads, or a lying header */
        uint64_t n = head - tail, at = tail & mask;
        uint64_t first = MIN(n, h.data_size - at);
        memcpy((uint8_t *)copy + at, data + at, first);
        memcpy(copy, data, n - first);
        /* The writer moves tail past what it overwrites BEFORE writing:
         * a tail re-read after the copy covers every record torn by it. */
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        uint64_t tail2 = load64(area, HDR_OFF(tail));
        if (tail2 < tail || tail2 > head) {
            rc = field_fail(err, LOG_ERACE, "tail", HDR_OFF(tail),
                            "the writer lapped every copy (or the ring was reformatted)");
            continue;
        }
        log_ring_view((const void *)area, v);
        v->data = copy;
        v->tail = tail2;
        v->head = head;
        return 0;
    }
    return rc;
}

/* n bytes at byte position pos, unwrapped into dst. */
static void ring_read(const struct log_ring_view *v, uint64_t pos, void *dst, uint32_t n)
{
    uint32_t at = (uint32_t)(pos & (v->data_size - 1));
    uint32_t first = MIN(n, v->data_size - at);
    memcpy(dst, v->data + at, first);
    memcpy((uint8_t *)dst + first, v->data, n - first);
}

void log_iter_init(struct log_iter *it, const struct log_ring_view *v, uint64_t from,
                   uint64_t expect_seq)
{
    it->v = v;
    it->pos = from < v->tail ? v->tail : from > v->head ? v->head : from;
    it->started = expect_seq != UINT64_MAX;
    it->next_seq = expect_seq;
    it->stopped = false;
}

static int bad_record(struct log_iter *it, const char *field, const char *what,
                      struct field_error *err)
{
    it->stopped = true;
    return field_fail(err, LOG_ERECORD, field, it->pos & (it->v->data_size - 1), what);
}

int log_iter_next(struct log_iter *it, struct log_line *line, struct field_error *err)
{
    const struct log_ring_view *v = it->v;
    if (it->stopped || it->pos >= v->head)
        return 0;
    uint64_t avail = v->head - it->pos;
    if (avail < MINIHV_LOG_RECORD_HDR)
        return bad_record(it, "size", "record header runs past head", err);
    ring_read(v, it->pos, it->rec, MINIHV_LOG_RECORD_HDR);
    struct minihv_log_record r;
    memcpy(&r, it->rec, sizeof(r));
    if (r.size < MINIHV_LOG_RECORD_HDR || (r.size & 7))
        return bad_record(it, "size", "not a multiple of 8 of at least 24", err);
    if (r.size > avail)
        return bad_record(it, "size", "runs past head", err);
    if (r.text_len > MINIHV_LOG_TEXT_MAX)
        return bad_record(it, "text_len", "over 512 bytes", err);
    if (r.size != ((MINIHV_LOG_RECORD_HDR + r.text_len + 7u) & ~7u))
        return bad_record(it, "size", "not 24 + text_len rounded up to 8", err);
    if (r.source > MINIHV_LOG_SRC_CORE)
        return bad_record(it, "source", "neither loader nor core", err);
    if (it->started && r.seq != it->next_seq)
        return bad_record(it, "seq", "not the previous line's + 1", err);
    ring_read(v, it->pos, it->rec, r.size);
    const uint8_t *text = it->rec + MINIHV_LOG_RECORD_HDR;
    if ((uint8_t)log_fnv1a32(it->rec + 8, 16u + r.text_len) != r.check)
        return bad_record(it, "check", "fnv1a-32 of seq, tsc and text does not match", err);
    for (uint32_t i = 0; i < r.text_len; i++)
        if (!text[i])
            return bad_record(it, "text", "holds a NUL byte", err);
    for (uint32_t i = MINIHV_LOG_RECORD_HDR + r.text_len; i < r.size; i++)
        if (it->rec[i])
            return bad_record(it, "padding", "not zero", err);
    *line = (struct log_line){
        .pos = it->pos,
        .seq = r.seq,
        .tsc = r.tsc,
        .cpu = r.cpu,
        .source = r.source,
        .text_len = r.text_len,
        .text = (const char *)text,
    };
    it->pos += r.size;
    it->next_seq = r.seq + 1;
    it->started = true;
    return 1;
}

size_t log_line_format(const struct log_ring_view *v, const struct log_line *l, char *buf,
                       size_t n)
{
    if (!n)
        return 0;
    char pre[64];
    int p;
    if (v->tsc_hz) {
        bool neg = l->tsc < v->tsc_base;
        uint64_t d = neg ? v->tsc_base - l->tsc : l->tsc - v->tsc_base;
        uint64_t sec = d / v->tsc_hz, rem = d % v->tsc_hz, usec;
        /* rem * 1e6 stays below 2^64 for any TSC rate under 18 THz. */
        if (v->tsc_hz < (1ull << 44))
            usec = rem * 1000000u / v->tsc_hz;
        else
            usec = MIN(rem / (v->tsc_hz / 1000000u), 999999u);
        p = fmt_snprintf(pre, sizeof(pre), "[%s%5llu.%06llu] ", neg ? "-" : "",
                         (unsigned long long)sec, (unsigned long long)usec);
    } else {
        p = fmt_snprintf(pre, sizeof(pre), "[t=%llu] ", (unsigned long long)l->tsc);
    }
    if (l->source == MINIHV_LOG_SRC_LOADER)
        p += fmt_snprintf(pre + p, sizeof(pre) - p, "ldr ");
    else
        p += fmt_snprintf(pre + p, sizeof(pre) - p, "cpu%u ", l->cpu);
    size_t len = MIN((size_t)p, n - 1);
    memcpy(buf, pre, len);
    for (size_t i = 0; i < l->text_len && len < n - 1; i++) {
        unsigned char c = (unsigned char)l->text[i];
        /* C0, DEL and every byte from 0x80 (C1 controls: 0x9b is CSI on
         * a terminal that honours 8-bit controls): the log is ASCII. */
        buf[len++] = (c < 0x20 && c != '\t') || c >= 0x7f ? '?' : (char)c;
    }
    buf[len] = '\0';
    return len;
}
