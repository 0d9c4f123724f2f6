/* See ring_write.h. The layout and the order of writes are the header's
 * (include/minihv/logring.h): tail moves past whole records BEFORE the
 * bytes are overwritten, head moves AFTER they are written, so a reader
 * that copies [tail, head) and then re-reads tail knows which of its bytes
 * may be torn. x86 keeps stores in order (SDM Vol. 3A 9.2.2: TSO); the
 * fences below make the compiler keep them in order too. */
#include <minihv/libc.h>
#include "log/fnv1a.h"
#include "log/ring_write.h"

_Static_assert(sizeof(struct minihv_log_header) <= LOG_RING_DATA_OFFSET, "header fits its page");
_Static_assert(sizeof(struct minihv_log_record) == MINIHV_LOG_RECORD_HDR, "record header size");

uint32_t log_ring_header_check(const struct minihv_log_header *hdr)
{
    return log_fnv1a32(hdr, offsetof(struct minihv_log_header, header_check));
}

int log_ring_format(void *area, uint64_t area_size, uint64_t tsc_hz, uint64_t tsc_base, uint64_t boot_count)
{
    if (!area || (area_size & 4095) || area_size < LOG_RING_DATA_OFFSET + LOG_RING_DATA_MIN)
        return -1;
    uint64_t data_size = LOG_RING_DATA_MAX;
    while (data_size > area_size - LOG_RING_DATA_OFFSET)
        data_size >>= 1;
    struct minihv_log_header *h = area;
    memset(h, 0, LOG_RING_DATA_OFFSET);
    h->magic = MINIHV_LOG_MAGIC;
    h->version = MINIHV_LOG_VERSION;
    h->header_size = sizeof(*h);
    h->data_offset = LOG_RING_DATA_OFFSET;
    h->data_size = (uint32_t)data_size;
    h->area_size = area_size;
    h->boot_count = boot_count;
    h->tsc_hz = tsc_hz;
    h->tsc_base = tsc_base;
    h->header_check = log_ring_header_check(h);
    return 0;
}

/* n bytes at ring position pos (mod size), wrapping around the end. */
static void ring_put(uint8_t *data, uint32_t size, uint64_t pos, const void *src, size_t n)
{
    uint32_t at = (uint32_t)(pos & (size - 1));
    size_t first = MIN(n, (size_t)(size - at));
    memcpy(data + at, src, first);
    if (n > first)
        memcpy(data, (const uint8_t *)src + first, n - first);
}

static void ring_zero(uint8_t *data, uint32_t size, uint64_t pos, size_t n)
{
    static const uint8_t zeros[8];
    while (n) {
        size_t k = MIN(n, sizeof(zeros));
        ring_put(data, size, pos, zeros, k);
        pos += k;
        n -= k;
    }
}

int log_ring_writer_open(struct log_ring_writer *w, void *area, uint64_t area_size)
{
    memset(w, 0, sizeof(*w));
    struct minihv_log_header *hdr = area;
    if (!hdr || area_size < sizeof(*hdr))
        return -1;
    /* One read of each field, checked, then never read again. */
    struct minihv_log_header h;
    memcpy(&h, hdr, sizeof(h));
    uint32_t ds = h.data_size;
    if (h.magic != MINIHV_LOG_MAGIC || h.version != MINIHV_LOG_VERSION || h.header_size != sizeof(h) ||
        h.header_check != log_ring_header_check(&h) || ds < LOG_RING_DATA_MIN || ds > LOG_RING_DATA_MAX ||
        (ds & (ds - 1)) || (h.data_offset & 7) || h.data_offset < sizeof(h) ||
        !range_ok(h.data_offset, ds, area_size) || h.tail > h.head || h.head - h.tail > ds ||
        ((h.head | h.tail) & 7))
        return -1;
    w->hdr = hdr;
    w->data = (uint8_t *)hdr + h.data_offset;
    w->data_size = ds;
    w->head = h.head;
    w->tail = h.tail;
    w->next_seq = h.next_seq;
    w->dropped = h.dropped;
    return 0;
}

int log_ring_append(struct log_ring_writer *w, uint16_t cpu, uint8_t source, uint64_t tsc, const char *text,
                    size_t len)
{
    struct minihv_log_header *hdr = w->hdr;
    if (!hdr)
        return -1;
    uint32_t ds = w->data_size;
    uint64_t head = w->head, tail = w->tail;
    size_t n = 0;
    while (n < len && n < MINIHV_LOG_TEXT_MAX && text[n])
        n++;
    while (n && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        n--;
    uint32_t size = log_ring_record_size(n);
    uint8_t *data = w->data;

    /* Make room: whole records from tail, before a byte of them changes.
     * The sizes read here are the ring's (others may have changed them):
     * a bad one only moves tail, never where a byte is written. */
    uint64_t dropped = 0;
    while (head + size - tail > ds) {
        uint16_t rsize;
        memcpy(&rsize, data + (tail & (ds - 1)), sizeof(rsize)); /* 8-aligned: never split by the end */
        if (rsize < MINIHV_LOG_RECORD_HDR || (rsize & 7) || rsize > head - tail) {
            /* Not a record this writer wrote: drop everything held. */
            tail = head;
            dropped++;
            break;
        }
        tail += rsize;
        dropped++;
    }
    if (dropped) {
        w->tail = tail;
        w->dropped += dropped;
        __atomic_store_n(&hdr->tail, tail, __ATOMIC_RELAXED);
        hdr->dropped = w->dropped;
        __atomic_thread_fence(__ATOMIC_RELEASE); /* tail before the bytes it gave up */
    }

    struct minihv_log_record rec = {
        .size = (uint16_t)size,
        .text_len = (uint16_t)n,
        .cpu = cpu,
        .source = source,
        .seq = w->next_seq,
        .tsc = tsc,
    };
    uint32_t check = log_fnv1a32_update(LOG_FNV1A32_INIT, &rec.seq, 2 * sizeof(uint64_t));
    rec.check = (uint8_t)log_fnv1a32_update(check, text, n);
    ring_put(data, ds, head, &rec, sizeof(rec));
    ring_put(data, ds, head + sizeof(rec), text, n);
    ring_zero(data, ds, head + sizeof(rec) + n, size - sizeof(rec) - n);
    w->next_seq = rec.seq + 1;
    w->head = head + size;
    hdr->next_seq = w->next_seq;
    __atomic_store_n(&hdr->head, w->head, __ATOMIC_RELEASE); /* the record, then head */
    return 0;
}

void log_ring_count_lost(struct minihv_log_header *hdr)
{
    __atomic_fetch_add(&hdr->lost, 1, __ATOMIC_RELAXED);
}

void log_ring_set_flags(struct minihv_log_header *hdr, uint32_t f)
{
    __atomic_fetch_or(&hdr->flags, f, __ATOMIC_RELAXED);
}
