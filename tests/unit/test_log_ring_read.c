/* log/ring_read.c: hand-built rings (a record wrapped around the end, a torn
 * tail, lying sizes, a wrong seq, every header field that can lie), the
 * writer's rings read back (log/ring_write.c), a live ring copied while
 * another thread writes it, and the dmesg-like line format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>
#include "log/fnv1a.h"
#include "log/ring_read.h"
#include "log/ring_write.h"
#include "tests/unit/log_ring_test_writer.h"

#define DATA 4096u
#define AREA (4096u + DATA)

static _Alignas(4096) uint8_t area[AREA];
static uint8_t copy[DATA];

static struct minihv_log_header *hdr(void)
{
    return (struct minihv_log_header *)area;
}

static void reseal(void)
{
    hdr()->header_check = log_fnv1a32(area, offsetof(struct minihv_log_header, header_check));
}

/* An empty ring built by hand (not by the writer): header page, 4 KiB data. */
static void hand_format(void)
{
    memset(area, 0, sizeof(area));
    struct minihv_log_header *h = hdr();
    h->magic = MINIHV_LOG_MAGIC;
    h->version = MINIHV_LOG_VERSION;
    h->header_size = sizeof(*h);
    h->data_offset = 4096;
    h->data_size = DATA;
    h->area_size = AREA;
    h->boot_count = 1;
    h->tsc_hz = 1000000000;
    h->tsc_base = 1000;
    reseal();
}

/* Writes one record by hand at head (wrapping at the data's end). */
static void hand_put(uint64_t seq, uint16_t cpu, uint8_t source, const char *text)
{
    struct minihv_log_header *h = hdr();
    uint8_t rec[LOG_RECORD_MAX] = { 0 };
    uint16_t len = (uint16_t)strlen(text);
    struct minihv_log_record r = {
        .size = (uint16_t)((24 + len + 7) & ~7),
        .text_len = len,
        .cpu = cpu,
        .source = source,
        .seq = seq,
        .tsc = 1000 + seq * 1000,
    };
    memcpy(rec, &r, sizeof(r));
    memcpy(rec + 24, text, len);
    rec[7] = (uint8_t)log_fnv1a32(rec + 8, 16u + len);
    uint8_t *data = area + h->data_offset;
    for (unsigned i = 0; i < r.size; i++)
        data[(h->head + i) % h->data_size] = rec[i];
    h->head += r.size;
    h->next_seq = seq + 1;
}

/* Byte i of the record at position pos, in the data area. */
static uint8_t *rec_byte(uint64_t pos, unsigned i)
{
    return area + hdr()->data_offset + (pos + i) % hdr()->data_size;
}

/* Walks the area: returns the lines read; *rc the last iterator result. */
static int walk(char lines[][600], int max, int *rc, struct field_error *err)
{
    struct log_ring_view v;
    assert_int_equal(log_ring_check(area, sizeof(area), err), 0);
    log_ring_view(area, &v);
    struct log_iter it;
    log_iter_init(&it, &v, v.tail, UINT64_MAX);
    struct log_line l;
    int n = 0;
    while ((*rc = log_iter_next(&it, &l, err)) == 1) {
        if (n < max) {
            memcpy(lines[n], l.text, l.text_len);
            lines[n][l.text_len] = 0;
        }
        n++;
    }
    return n;
}

static void test_hand_ring_wrapped_record(void **state)
{
    (void)state;
    hand_format();
    /* Start near the end (of the fourth lap), so the second record's
     * header straddles it: 16 bytes at the end, 16 at the start. */
    hdr()->head = hdr()->tail = 4 * DATA - 64;
    hand_put(7, 0, MINIHV_LOG_SRC_CORE, "minihv: hv: first");    /* 48 bytes */
    hand_put(8, 1, MINIHV_LOG_SRC_CORE, "minihv: x");            /* 40: split 16 / 24 */
    hand_put(9, 2, MINIHV_LOG_SRC_CORE, "minihv: hv: after the wrap");
    char lines[8][600];
    int rc;
    struct field_error err = { 0 };
    assert_int_equal(walk(lines, 8, &rc, &err), 3);
    assert_int_equal(rc, 0);
    assert_string_equal(lines[0], "minihv: hv: first");
    assert_string_equal(lines[1], "minihv: x");
    assert_string_equal(lines[2], "minihv: hv: after the wrap");
}

static void test_hand_ring_torn_tail(void **state)
{
    (void)state;
    hand_format();
    hand_put(0, 0, MINIHV_LOG_SRC_LOADER, "minihv: one");
    hand_put(1, 0, MINIHV_LOG_SRC_LOADER, "minihv: two");
    uint64_t second = 40;
    /* head inside the second record's header: torn. */
    hdr()->head = second + 16;
    char lines[8][600];
    int rc;
    struct field_error err = { 0 };
    assert_int_equal(walk(lines, 8, &rc, &err), 1);
    assert_int_equal(rc, -LOG_ERECORD);
    assert_string_equal(err.field, "size");
    assert_string_equal(err.what, "record header runs past head");
    assert_int_equal(err.offset, second);
    /* head inside its text. */
    hdr()->head = second + 30;
    assert_int_equal(walk(lines, 8, &rc, &err), 1);
    assert_string_equal(err.field, "size");
    assert_string_equal(err.what, "runs past head");
}

/* One record, one field changed: the walk stops there, naming the field. */
static void expect_bad_record(void (*spoil)(void), const char *field)
{
    hand_format();
    hand_put(0, 0, MINIHV_LOG_SRC_CORE, "minihv: hv: good");
    hand_put(1, 0, MINIHV_LOG_SRC_CORE, "minihv: hv: spoiled");
    hand_put(2, 0, MINIHV_LOG_SRC_CORE, "minihv: hv: never read");
    spoil();
    char lines[8][600];
    int rc;
    struct field_error err = { 0 };
    int n = walk(lines, 8, &rc, &err);
    assert_int_equal(n, 1);
    assert_int_equal(rc, -LOG_ERECORD);
    assert_string_equal(err.field, field);
    assert_int_equal(err.offset, 40);
}

#define SECOND 40u
static void size_zero(void) { *rec_byte(SECOND, 0) = 0; *rec_byte(SECOND, 1) = 0; }
static void size_odd(void) { *rec_byte(SECOND, 0) = 41; }
static void size_big(void) { *rec_byte(SECOND, 0) = 0xf8; *rec_byte(SECOND, 1) = 0x0f; }
static void size_lies(void) { *rec_byte(SECOND, 0) = 56; }      /* 19 bytes of text: 48 */
static void text_len_lies(void) { *rec_byte(SECOND, 2) = 30; }  /* size 48 holds 24 */
static void text_len_huge(void) { *rec_byte(SECOND, 2) = 0x01; *rec_byte(SECOND, 3) = 0x10; }
static void source_bad(void) { *rec_byte(SECOND, 6) = 9; }
static void seq_skips(void) { *rec_byte(SECOND, 8) = 5; }
static void check_off(void) { *rec_byte(SECOND, 7) ^= 1; }
static void text_changed(void) { *rec_byte(SECOND, 30) ^= 0x20; }
static void tsc_changed(void) { *rec_byte(SECOND, 16) ^= 1; }
static void padding_set(void) { *rec_byte(SECOND, 24 + 19) = 'x'; }

/* A NUL in the text, with the check byte recomputed so only the text is wrong. */
static void text_nul(void)
{
    *rec_byte(SECOND, 26) = 0;
    uint8_t rec[64];
    for (unsigned i = 0; i < 64; i++)
        rec[i] = *rec_byte(SECOND, i);
    *rec_byte(SECOND, 7) = (uint8_t)log_fnv1a32(rec + 8, 16u + 19);
}

static void test_hand_ring_lying_records(void **state)
{
    (void)state;
    expect_bad_record(size_zero, "size");
    expect_bad_record(size_odd, "size");
    expect_bad_record(size_big, "size");
    expect_bad_record(size_lies, "size");
    expect_bad_record(text_len_lies, "size");
    expect_bad_record(text_len_huge, "text_len");
    expect_bad_record(source_bad, "source");
    expect_bad_record(seq_skips, "seq");
    expect_bad_record(check_off, "check");
    expect_bad_record(text_changed, "check");
    expect_bad_record(tsc_changed, "check");
    expect_bad_record(padding_set, "padding");
    expect_bad_record(text_nul, "text");
}

static void test_expected_seq(void **state)
{
    (void)state;
    hand_format();
    hand_put(10, 0, MINIHV_LOG_SRC_CORE, "minihv: hv: a");
    struct log_ring_view v;
    assert_int_equal(log_ring_check(area, sizeof(area), NULL), 0);
    log_ring_view(area, &v);
    struct log_iter it;
    struct log_line l;
    struct field_error err;
    log_iter_init(&it, &v, 0, 9);
    assert_int_equal(log_iter_next(&it, &l, &err), -LOG_ERECORD);
    assert_string_equal(err.field, "seq");
    assert_int_equal(log_iter_next(&it, &l, &err), 0); /* stopped */
    log_iter_init(&it, &v, 0, 10);
    assert_int_equal(log_iter_next(&it, &l, &err), 1);
    assert_int_equal(l.seq, 10);
    /* From past head: nothing. */
    log_iter_init(&it, &v, 1000, UINT64_MAX);
    assert_int_equal(log_iter_next(&it, &l, &err), 0);
}

/* One header field changed (and the check resealed when asked): refused
 * with that field named. */
struct hdr_case {
    const char *field;
    void (*spoil)(struct minihv_log_header *);
    int reseal;
    size_t len;
};
static void h_magic(struct minihv_log_header *h) { h->magic ^= 1; }
static void h_version(struct minihv_log_header *h) { h->version = 2; }
static void h_check(struct minihv_log_header *h) { h->boot_count = 99; }
static void h_hsize(struct minihv_log_header *h) { h->header_size = 128; }
static void h_doff_low(struct minihv_log_header *h) { h->data_offset = 64; }
static void h_doff_odd(struct minihv_log_header *h) { h->data_offset = 4100; }
static void h_dsize_pow(struct minihv_log_header *h) { h->data_size = 3 * 4096; }
static void h_dsize_small(struct minihv_log_header *h) { h->data_size = 2048; }
static void h_dsize_past(struct minihv_log_header *h) { h->data_size = 8192; }
static void h_dsize_huge(struct minihv_log_header *h) { h->data_size = 1u << 31; }
static void h_doff_past(struct minihv_log_header *h) { h->data_offset = 0xfffff000u; }
static void h_asize_4k(struct minihv_log_header *h) { h->area_size = AREA + 8; }
static void h_asize_big(struct minihv_log_header *h) { h->area_size = 1ull << 40; }
static void h_tail(struct minihv_log_header *h) { h->tail = h->head + 8; }
static void h_head(struct minihv_log_header *h) { h->head = h->tail + DATA + 8; }
static void h_none(struct minihv_log_header *h) { (void)h; }

static void test_header_fields(void **state)
{
    (void)state;
    const struct hdr_case cases[] = {
        { "magic", h_magic, 0, AREA },
        { "version", h_version, 1, AREA },
        { "header_check", h_check, 0, AREA },
        { "header_size", h_hsize, 1, AREA },
        { "data_offset", h_doff_low, 1, AREA },
        { "data_offset", h_doff_odd, 1, AREA },
        { "data_size", h_dsize_pow, 1, AREA },
        { "data_size", h_dsize_small, 1, AREA },
        { "data_size", h_dsize_past, 1, AREA },
        { "data_size", h_dsize_huge, 1, AREA },
        { "data_size", h_doff_past, 1, AREA },
        { "area_size", h_asize_4k, 1, AREA },
        { "area_size", h_asize_big, 1, AREA },
        { "area_size", h_none, 0, AREA - 4096 }, /* the memory found is smaller */
        { "header", h_none, 0, 100 },
        { "tail", h_tail, 0, AREA },
        { "head", h_head, 0, AREA },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hand_format();
        hand_put(0, 0, MINIHV_LOG_SRC_CORE, "minihv: hv: x");
        cases[i].spoil(hdr());
        if (cases[i].reseal)
            reseal();
        struct field_error err = { 0 };
        int rc = log_ring_check(area, cases[i].len, &err);
        if (rc != -LOG_EHEADER || strcmp(err.field, cases[i].field))
            fail_msg("case %u (%s): rc %d field %s (%s)", i, cases[i].field, rc, err.field ? err.field : "-",
                     err.what ? err.what : "-");
        /* The snapshot checks the same header. */
        struct log_ring_view v;
        rc = log_ring_snapshot(area, cases[i].len, copy, sizeof(copy), &v, &err);
        assert_true(rc < 0);
    }
}

/* The writer's ring, read back: every line, in order, the same text, across
 * many wraps with drops counted. */
static void test_writer_round_trip(void **state)
{
    (void)state;
    assert_int_equal(log_ring_format(area, sizeof(area), 2000000000ull, 5000, 3), 0);
    char text[600];
    const unsigned total = 2000;
    for (unsigned i = 0; i < total; i++) {
        int n = snprintf(text, sizeof(text), "minihv: hv: line %u %.*s", i, (int)(i % 97), 
                         "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
        assert_int_equal(log_ring_append(W(hdr()), (uint16_t)(i % 4), MINIHV_LOG_SRC_CORE, 5000 + i * 2000ull, text,
                                         (size_t)n), 0);
    }
    struct field_error err = { 0 };
    assert_int_equal(log_ring_check(area, sizeof(area), &err), 0);
    struct log_ring_view v;
    log_ring_view(area, &v);
    assert_int_equal(v.boot_count, 3);
    assert_true(v.dropped > 0);
    struct log_iter it;
    log_iter_init(&it, &v, v.tail, UINT64_MAX);
    struct log_line l;
    uint64_t first = UINT64_MAX, count = 0;
    int rc;
    while ((rc = log_iter_next(&it, &l, &err)) == 1) {
        if (first == UINT64_MAX)
            first = l.seq;
        int n = snprintf(text, sizeof(text), "minihv: hv: line %u %.*s", (unsigned)l.seq, (int)(l.seq % 97),
                         "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
        assert_int_equal(l.text_len, n);
        assert_memory_equal(l.text, text, (size_t)n);
        assert_int_equal(l.cpu, l.seq % 4);
        count++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(first, v.dropped);          /* the oldest kept line is the first not dropped */
    assert_int_equal(first + count, total);      /* up to the last line */
    assert_int_equal(v.next_seq, total);

    /* The line as minihv-log prints it. */
    char buf[700];
    log_iter_init(&it, &v, v.tail, UINT64_MAX);
    assert_int_equal(log_iter_next(&it, &l, &err), 1);
    log_line_format(&v, &l, buf, sizeof(buf));
    char want[700];
    uint64_t us = (l.tsc - 5000) / 2000;
    snprintf(want, sizeof(want), "[%5llu.%06llu] cpu%u %.*s", (unsigned long long)(us / 1000000),
             (unsigned long long)(us % 1000000), l.cpu, l.text_len, l.text);
    assert_string_equal(buf, want);
}

static void test_format(void **state)
{
    (void)state;
    struct log_ring_view v = { .tsc_hz = 1000000000, .tsc_base = 1000 };
    struct log_line l = { .tsc = 1000 + 1234567000ull, .cpu = 2, .source = MINIHV_LOG_SRC_CORE,
                          .text = "minihv: hv: x\x1b[2J\x7f", .text_len = 18 };
    char buf[128];
    assert_int_equal(log_line_format(&v, &l, buf, sizeof(buf)), 20 + 18);
    assert_string_equal(buf, "[    1.234567] cpu2 minihv: hv: x?[2J?");
    /* C1 controls (0x9b is CSI on a terminal with 8-bit controls; C2 9B
     * is U+009B in UTF-8): every byte from 0x80 is '?' (review R). */
    l.text = "minihv: \x9b" "2J\xc2\x9b" "31m";
    l.text_len = 16;
    log_line_format(&v, &l, buf, sizeof(buf));
    assert_string_equal(buf, "[    1.234567] cpu2 minihv: ?2J??31m");
    l.source = MINIHV_LOG_SRC_LOADER;
    l.cpu = MINIHV_LOG_CPU_LOADER;
    l.tsc = 1000 + 1000;
    l.text = "minihv: ok";
    l.text_len = 10;
    log_line_format(&v, &l, buf, sizeof(buf));
    assert_string_equal(buf, "[    0.000001] ldr minihv: ok");
    l.tsc = 0;
    log_line_format(&v, &l, buf, sizeof(buf));
    assert_string_equal(buf, "[-    0.000001] ldr minihv: ok");
    v.tsc_hz = 0;
    l.tsc = 77;
    log_line_format(&v, &l, buf, sizeof(buf));
    assert_string_equal(buf, "[t=77] ldr minihv: ok");
    /* Huge rate, huge distance: no overflow, no division by zero. */
    v.tsc_hz = ~0ull;
    v.tsc_base = 0;
    l.tsc = ~0ull - 1;
    log_line_format(&v, &l, buf, sizeof(buf));
    assert_string_equal(buf, "[    0.999999] ldr minihv: ok");
    /* Truncated, terminated. */
    assert_int_equal(log_line_format(&v, &l, buf, 8), 7);
    assert_string_equal(buf, "[    0.");
    assert_int_equal(log_line_format(&v, &l, buf, 1), 0);
    assert_string_equal(buf, "");
}

/* A live ring: one thread appends, this one copies; every copy must walk
 * cleanly, each line's text matching its seq. */
static volatile int writer_done;
static void *writer(void *arg)
{
    (void)arg;
    char text[200];
    for (unsigned i = 0; i < 300000; i++) {
        int n = snprintf(text, sizeof(text), "minihv: hv: live %u %.*s", i, (int)(i % 61),
                         "0123456789012345678901234567890123456789012345678901234567890123456789");
        log_ring_append(W(hdr()), 1, MINIHV_LOG_SRC_CORE, i, text, (size_t)n);
    }
    writer_done = 1;
    return NULL;
}

static void test_live_snapshot(void **state)
{
    (void)state;
    assert_int_equal(log_ring_format(area, sizeof(area), 0, 0, 1), 0);
    writer_done = 0;
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, writer, NULL), 0);
    unsigned snaps = 0, lines = 0, races = 0;
    char text[200];
    while (!writer_done || snaps == 0) {
        struct log_ring_view v;
        struct field_error err = { 0 };
        int rc = log_ring_snapshot(area, sizeof(area), copy, sizeof(copy), &v, &err);
        if (rc == -LOG_ERACE) {
            races++;
            continue;
        }
        assert_int_equal(rc, 0);
        struct log_iter it;
        struct log_line l;
        log_iter_init(&it, &v, v.tail, UINT64_MAX);
        while ((rc = log_iter_next(&it, &l, &err)) == 1) {
            int n = snprintf(text, sizeof(text), "minihv: hv: live %u %.*s", (unsigned)l.seq, (int)(l.seq % 61),
                             "0123456789012345678901234567890123456789012345678901234567890123456789");
            if (l.text_len != n || memcmp(l.text, text, (size_t)n) || l.tsc != l.seq)
                fail_msg("snapshot %u: line seq %llu torn", snaps, (unsigned long long)l.seq);
            lines++;
        }
        if (rc)
            fail_msg("snapshot %u: record at %llu: %s: %s", snaps, (unsigned long long)it.pos, err.field, err.what);
        snaps++;
    }
    pthread_join(t, NULL);
    print_message("live: %u snapshots, %u lines read, %u lapped\n", snaps, lines, races);
    assert_true(snaps > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_ring_wrapped_record),
        cmocka_unit_test(test_hand_ring_torn_tail),
        cmocka_unit_test(test_hand_ring_lying_records),
        cmocka_unit_test(test_expected_seq),
        cmocka_unit_test(test_header_fields),
        cmocka_unit_test(test_writer_round_trip),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_live_snapshot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
