/* The log ring's writer (log/ring_write.c): the header log_ring_format
 * writes, each record's bytes, records wrapping around the ring's end,
 * the oldest dropped whole (tail before, head after), text cut, a damaged
 * header not written through. Checked on the bytes themselves, against
 * include/minihv/logring.h, with a walker of its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "log/fnv1a.h"
#include "log/ring_write.h"
#include "tests/unit/log_ring_test_writer.h"

#define AREA (LOG_RING_DATA_OFFSET + 4096u)

static uint8_t *new_area(uint64_t size)
{
    uint8_t *a = aligned_alloc(4096, size);
    assert_non_null(a);
    memset(a, 0xa5, size);
    return a;
}

static void test_fnv1a(void **state)
{
    (void)state;
    assert_int_equal(log_fnv1a32("", 0), 0x811c9dc5u);
    assert_int_equal(log_fnv1a32("a", 1), 0xe40c292cu);
    assert_int_equal(log_fnv1a32("foobar", 6), 0xbf9cf968u);
    assert_int_equal(log_fnv1a32_update(log_fnv1a32("foo", 3), "bar", 3), 0xbf9cf968u);
}

static void test_format(void **state)
{
    (void)state;
    uint8_t *a = new_area(AREA);
    assert_int_equal(log_ring_format(a, AREA, 2000000000ull, 1234, 7), 0);
    struct minihv_log_header *h = (void *)a;
    assert_true(h->magic == MINIHV_LOG_MAGIC);
    assert_memory_equal(a, "!MHvLog1", 8);
    assert_int_equal(h->version, MINIHV_LOG_VERSION);
    assert_int_equal(h->header_size, sizeof(*h));
    assert_int_equal(h->data_offset, 4096);
    assert_int_equal(h->data_size, 4096);
    assert_int_equal(h->area_size, AREA);
    assert_int_equal(h->boot_count, 7);
    assert_int_equal(h->tsc_hz, 2000000000ull);
    assert_int_equal(h->tsc_base, 1234);
    assert_int_equal(h->header_check, log_fnv1a32(a, offsetof(struct minihv_log_header, header_check)));
    assert_int_equal(h->header_check, log_ring_header_check(h));
    assert_int_equal(h->flags, 0);
    assert_int_equal(h->head | h->tail | h->next_seq | h->dropped | h->lost, 0);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(h->reserved[i], 0);
    for (unsigned i = sizeof(*h); i < 4096; i++)
        assert_int_equal(a[i], 0); /* the rest of the header page */
    assert_int_equal(a[4096], 0xa5);      /* the ring itself is not cleared */
    free(a);

    /* The largest power of two after the header page, 64 MiB at most. */
    static const struct { uint64_t area, data; } sizes[] = {
        { 8192, 4096 }, { 12288, 8192 }, { 4096 + 65536, 65536 }, { 4096 + 65536 + 4096, 65536 },
        { 4096 + (64u << 20), 64u << 20 }, { 4096 + (128u << 20), 64u << 20 },
    };
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        struct minihv_log_header *hh = calloc(1, 4096); /* only the header page is written */
        assert_int_equal(log_ring_format(hh, sizes[i].area, 0, 0, 1), 0);
        assert_int_equal(hh->data_size, sizes[i].data);
        assert_int_equal(hh->area_size, sizes[i].area);
        free(hh);
    }
    /* Not a multiple of 4 KiB, too small, NULL: refused, nothing written. */
    uint8_t *b = new_area(AREA);
    assert_int_equal(log_ring_format(b, AREA - 8, 0, 0, 1), -1);
    assert_int_equal(log_ring_format(b, 4096, 0, 0, 1), -1);
    assert_int_equal(log_ring_format(b, 0, 0, 0, 1), -1);
    assert_int_equal(log_ring_format(NULL, AREA, 0, 0, 1), -1);
    assert_int_equal(b[0], 0xa5);
    free(b);
}

static void test_one_record(void **state)
{
    (void)state;
    uint8_t *a = new_area(AREA);
    struct minihv_log_header *h = (void *)a;
    assert_int_equal(log_ring_format(a, AREA, 0, 0, 1), 0);
    const char *text = "minihv: hv: cpu 0 (APIC id 0) virtualized";
    size_t n = strlen(text);
    assert_int_equal(log_ring_append(W(h), 3, MINIHV_LOG_SRC_CORE, 0x1122334455667788ull, text, n), 0);
    uint32_t size = (uint32_t)((24 + n + 7) & ~7u);
    assert_int_equal(log_ring_record_size(n), size);
    assert_int_equal(h->head, size);
    assert_int_equal(h->tail, 0);
    assert_int_equal(h->next_seq, 1);
    const uint8_t *r = a + 4096;
    assert_int_equal(r[0] | r[1] << 8, size);
    assert_int_equal(r[2] | r[3] << 8, n);
    assert_int_equal(r[4] | r[5] << 8, 3);
    assert_int_equal(r[6], MINIHV_LOG_SRC_CORE);
    uint64_t seq, tsc;
    memcpy(&seq, r + 8, 8);
    memcpy(&tsc, r + 16, 8);
    assert_int_equal(seq, 0);
    assert_true(tsc == 0x1122334455667788ull);
    assert_int_equal(r[7], (uint8_t)log_fnv1a32(r + 8, 16 + n)); /* seq, tsc, text: contiguous */
    assert_memory_equal(r + 24, text, n);
    for (size_t i = 24 + n; i < size; i++)
        assert_int_equal(r[i], 0);
    assert_int_equal(r[size], 0xa5); /* nothing past the record */

    /* The second one follows, seq 1; the loader's CPU number. */
    assert_int_equal(log_ring_append(W(h), MINIHV_LOG_CPU_LOADER, MINIHV_LOG_SRC_LOADER, 5, "x", 1), 0);
    r = a + 4096 + size;
    assert_int_equal(r[0] | r[1] << 8, 32);
    assert_int_equal(r[4] | r[5] << 8, 0xffff);
    assert_int_equal(r[6], MINIHV_LOG_SRC_LOADER);
    memcpy(&seq, r + 8, 8);
    assert_int_equal(seq, 1);
    assert_int_equal(h->head, size + 32);
    assert_int_equal(h->next_seq, 2);
    free(a);
}

static void test_text_cut(void **state)
{
    (void)state;
    uint8_t *a = new_area(AREA);
    struct minihv_log_header *h = (void *)a;
    log_ring_format(a, AREA, 0, 0, 1);
    /* Trailing newline(s) removed; a NUL ends the text; empty allowed. */
    assert_int_equal(log_ring_append(W(h), 0, 1, 0, "abc\r\n\n", 6), 0);
    assert_int_equal(a[4096 + 2], 3);
    assert_int_equal(log_ring_append(W(h), 0, 1, 0, "ab\0cd", 5), 0);
    assert_int_equal(a[4096 + 32 + 2], 2);
    assert_int_equal(log_ring_append(W(h), 0, 1, 0, "", 0), 0);
    assert_int_equal(a[4096 + 64], 24);
    assert_int_equal(a[4096 + 64 + 2], 0);
    /* Longer than MINIHV_LOG_TEXT_MAX: cut there. */
    char big[700];
    memset(big, 'y', sizeof(big));
    assert_int_equal(log_ring_append(W(h), 0, 1, 0, big, sizeof(big)), 0);
    const uint8_t *r = a + 4096 + 88;
    assert_int_equal(r[0] | r[1] << 8, 24 + MINIHV_LOG_TEXT_MAX);
    assert_int_equal(r[2] | r[3] << 8, MINIHV_LOG_TEXT_MAX);
    assert_int_equal(h->head, 88 + 24 + MINIHV_LOG_TEXT_MAX);
    free(a);
}

/* Walks [tail, head) the way a reader does: every record whole, seq
 * consecutive, its check right. Returns the number of records and the
 * first seq. */
static unsigned walk(const uint8_t *a, uint64_t *first_seq, uint64_t *last_seq)
{
    const struct minihv_log_header *h = (const void *)a;
    const uint8_t *d = a + h->data_offset;
    uint32_t ds = h->data_size;
    assert_true(h->tail <= h->head);
    assert_true(h->head - h->tail <= ds);
    unsigned count = 0;
    uint64_t expect = 0;
    for (uint64_t p = h->tail; p < h->head;) {
        uint8_t rec[24 + MINIHV_LOG_TEXT_MAX + 8];
        for (unsigned i = 0; i < 24; i++)
            rec[i] = d[(p + i) & (ds - 1)];
        uint16_t size = (uint16_t)(rec[0] | rec[1] << 8), len = (uint16_t)(rec[2] | rec[3] << 8);
        assert_true(size >= 24 && !(size & 7) && size <= h->head - p && len <= size - 24);
        for (unsigned i = 24; i < size; i++)
            rec[i] = d[(p + i) & (ds - 1)];
        uint64_t seq;
        memcpy(&seq, rec + 8, 8);
        if (count)
            assert_int_equal(seq, expect);
        else
            *first_seq = seq;
        expect = seq + 1;
        *last_seq = seq;
        assert_int_equal(rec[7], (uint8_t)log_fnv1a32(rec + 8, 16 + len));
        for (unsigned i = 24 + len; i < size; i++)
            assert_int_equal(rec[i], 0);
        /* The text says its own seq (the tests write "line N ..."). */
        char want[32];
        int k = snprintf(want, sizeof(want), "line %llu ", (unsigned long long)seq);
        assert_true(len >= (unsigned)k);
        assert_memory_equal(rec + 24, want, (size_t)k);
        p += size;
        count++;
    }
    assert_int_equal(expect, h->next_seq);
    return count;
}

static void test_wrap_and_drop(void **state)
{
    (void)state;
    uint8_t *a = new_area(AREA);
    struct minihv_log_header *h = (void *)a;
    log_ring_format(a, AREA, 0, 0, 1);
    unsigned wrapped = 0;
    srand(17);
    for (unsigned i = 0; i < 5000; i++) {
        char line[600];
        int k = snprintf(line, sizeof(line), "line %u ", i);
        unsigned extra = (unsigned)rand() % 200;
        memset(line + k, 'a' + (char)(i % 26), extra);
        uint64_t head = h->head;
        uint32_t size = log_ring_record_size((size_t)k + extra);
        if ((head & 4095) + size > 4096)
            wrapped++;
        assert_int_equal(log_ring_append(W(h), (uint16_t)(i % 4), 1, i, line, (size_t)k + extra), 0);
        uint64_t first = 0, last = 0;
        unsigned held = walk(a, &first, &last);
        assert_int_equal(last, i);
        assert_int_equal(first, h->dropped); /* everything before the held ones was dropped */
        assert_int_equal(held + h->dropped, i + 1);
        assert_true(h->head - h->tail <= 4096);
        /* Room was made only when needed: one more record of the smallest
         * dropped size would not have fit. */
    }
    assert_true(wrapped > 100);
    assert_true(h->dropped > 4000);
    assert_int_equal(h->lost, 0);
    /* The header's fixed part is untouched by appends. */
    assert_int_equal(h->header_check, log_ring_header_check(h));
    free(a);
}

/* A record whose text straddles the end: its bytes at the end, the rest
 * at the start. */
static void test_straddle(void **state)
{
    (void)state;
    uint8_t *a = new_area(AREA);
    struct minihv_log_header *h = (void *)a;
    log_ring_format(a, AREA, 0, 0, 1);
    /* Records of 512 bytes: 7 fill 3584; the eighth ends at 4096 exactly. */
    char line[600];
    for (unsigned i = 0; i < 7; i++) {
        int k = snprintf(line, sizeof(line), "line %u ", i);
        memset(line + k, 'p', 488 - (size_t)k);
        assert_int_equal(log_ring_append(W(h), 0, 1, 0, line, 488), 0);
    }
    assert_int_equal(h->head, 7 * 512);
    /* 3584 + 24 + 500 (-> 528): the header fits, the text runs 16 bytes past the end. */
    int k = snprintf(line, sizeof(line), "line 7 ");
    memset(line + k, 'q', 500 - (size_t)k);
    line[499] = 'Z';
    assert_int_equal(log_ring_append(W(h), 0, 1, 0, line, 500), 0);
    /* Room for 528 bytes: the first record (512) dropped, no more. */
    assert_int_equal(h->tail, 512);
    assert_int_equal(h->dropped, 1);
    assert_int_equal(h->head, 3584 + 528);
    const uint8_t *d = a + 4096;
    assert_memory_equal(d + 3584 + 24, line, 4096 - 3584 - 24);
    assert_memory_equal(d, line + 488, 12); /* the text's last 12 bytes at the start */
    assert_int_equal(d[11], 'Z');
    for (unsigned i = 12; i < 16; i++)
        assert_int_equal(d[i], 0); /* padding */
    uint64_t first, last;
    assert_int_equal(walk(a, &first, &last), 7);
    assert_int_equal(first, 1);
    assert_int_equal(last, 7);
    free(a);
}

static void test_bad_header(void **state)
{
    (void)state;
    uint8_t *a = new_area(AREA);
    struct minihv_log_header *h = (void *)a;
    struct minihv_log_header good;
    log_ring_format(a, AREA, 0, 0, 1);
    log_ring_append(W(h), 0, 1, 0, "line 0 x", 8);
    good = *h;
    /* A writer takes over only a header as log_ring_format and a writer
     * leave it; refused, it writes nothing. */
#define SPOIL(stmt)                                                         \
    do {                                                                    \
        struct log_ring_writer w2;                                          \
        *h = good;                                                          \
        stmt;                                                               \
        struct minihv_log_header before = *h;                               \
        assert_int_equal(log_ring_writer_open(&w2, h, AREA), -1);           \
        assert_int_equal(log_ring_append(&w2, 0, 1, 0, "line 1", 6), -1);   \
        assert_memory_equal(h, &before, sizeof(before));                    \
    } while (0)
    SPOIL(h->magic ^= 1);
    SPOIL(h->data_size = 3000);
    SPOIL(h->data_size = 0);
    SPOIL(h->data_size = 8192);          /* past area_size */
    SPOIL(h->data_offset = 8);           /* inside the header */
    SPOIL(h->data_offset = 4100);        /* not 8-aligned */
    SPOIL(h->area_size = 4096);
    SPOIL(h->tail = h->head + 8);        /* tail past head */
    SPOIL(h->tail = 0; h->head = 4096 + 8); /* more than the ring */
    SPOIL(h->head = 36);                 /* not 8-aligned */
    SPOIL(h->data_size = 128u << 20; h->header_check = log_ring_header_check(h)); /* over 64 MiB */
#undef SPOIL
    /* A record size at tail that no writer wrote: the ring is emptied, not
     * walked past the end. */
    *h = good;
    for (unsigned i = 1; i < 200 && h->dropped == 0; i++) {
        char line[64];
        int k = snprintf(line, sizeof(line), "line %u", i);
        log_ring_append(W(h), 0, 1, 0, line, (size_t)k);
    }
    assert_int_equal(h->dropped, 1);
    uint8_t *d = a + 4096;
    uint64_t t = h->tail;
    d[t & 4095] = 3; /* size 3 */
    d[(t & 4095) + 1] = 0;
    uint64_t dropped = h->dropped, seq = h->next_seq;
    while (h->dropped == dropped)
        assert_int_equal(log_ring_append(W(h), 0, 1, 0, "line filler", 11), 0);
    assert_int_equal(h->dropped, dropped + 1);
    assert_int_equal(h->head - h->tail, 40); /* only the newest record held */
    assert_true(h->next_seq > seq);
    free(a);
}

static void test_lost_and_flags(void **state)
{
    (void)state;
    uint8_t *a = new_area(AREA);
    struct minihv_log_header *h = (void *)a;
    log_ring_format(a, AREA, 0, 0, 1);
    log_ring_count_lost(h);
    log_ring_count_lost(h);
    assert_int_equal(h->lost, 2);
    log_ring_set_flags(h, MINIHV_LOG_FLAG_CORE);
    log_ring_set_flags(h, MINIHV_LOG_FLAG_FATAL);
    assert_int_equal(h->flags, MINIHV_LOG_FLAG_CORE | MINIHV_LOG_FLAG_FATAL);
    assert_int_equal(h->header_check, log_ring_header_check(h)); /* flags are not in it */
    free(a);
}

/* Review R: the header is memory a device the guest drives can DMA into.
 * A writer opened on a good ring never takes a size or a position from it
 * again: whatever the header says after, every byte it writes stays in
 * [area, area + AREA). Before the writer kept its own copy, a rewritten
 * data_offset/next_seq made the next line an 8-byte write of a chosen
 * value at a chosen address past the ring (48 bytes changed outside). */
static void test_header_rewritten_under_the_writer(void **state)
{
    (void)state;
    enum { MEM = 2u << 20, VICTIM = 1u << 20 };
    uint8_t *mem = aligned_alloc(4096, MEM);
    assert_non_null(mem);
    memset(mem, 0xa5, MEM);
    assert_int_equal(log_ring_format(mem, AREA, 0, 0, 1), 0);
    struct log_ring_writer w;
    assert_int_equal(log_ring_writer_open(&w, mem, AREA), 0);
    struct minihv_log_header *h = (void *)mem;
    for (int round = 0; round < 3; round++) {
        if (round == 0) {
            h->area_size = MEM;
            h->data_offset = VICTIM;
            h->head = h->tail = 0x100;
        } else if (round == 1) {
            h->data_size = 1u << 20;
            h->head = h->tail = VICTIM - 4096 + 0x200;
        } else {
            h->tail = 0;
            h->head = ~0ull & ~7ull;
        }
        h->next_seq = 0x4141414141414141ull;
        h->magic = 0;
        for (int i = 0; i < 300; i++)
            assert_int_equal(log_ring_append(&w, 0, MINIHV_LOG_SRC_CORE, 0, "minihv: hv: refused ...", 23), 0);
    }
    unsigned outside = 0;
    for (size_t i = AREA; i < MEM; i++)
        outside += mem[i] != 0xa5;
    assert_int_equal(outside, 0);
    assert_int_equal(w.next_seq, 900); /* its own count, not the planted one */
    free(mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fnv1a),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_one_record),
        cmocka_unit_test(test_header_rewritten_under_the_writer),
        cmocka_unit_test(test_text_cut),
        cmocka_unit_test(test_wrap_and_drop),
        cmocka_unit_test(test_straddle),
        cmocka_unit_test(test_bad_header),
        cmocka_unit_test(test_lost_and_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
