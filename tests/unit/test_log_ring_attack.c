/* Review R (issue 17): the core's ring writer (log/ring_write.c,
 * log_ring_append) takes the ring's geometry from the shared header on
 * every line: magic, data_offset, data_size and area_size as they are in
 * the ring's memory NOW, not what the core checked at init
 * (hv/log_ring.c area_refusal). The ring is outside the core's block and
 * the IOMMU protects only the block (hv/iommu_hw.c: protect = block), so a
 * device the guest drives can DMA into the ring's header. This test plays
 * that DMA: it rewrites area_size/data_offset/next_seq of a formatted
 * ring, then appends one line as the core would (any hv_log line, e.g. a
 * refused guest action), and checks that no byte outside the ring's area
 * changed. It fails today: the record lands at area + data_offset (here
 * 1 MiB past an 8 KiB ring, standing for the core's block) and its seq
 * field is the 8-byte value the attacker put in next_seq: a write-what-
 * where into core memory anywhere in [area, area + 4 GiB + 2 GiB).
 *
 * Not in log/module.mk (reviewer R edits no other file); build and run:
 *   gcc -std=gnu11 -Wall -Wextra -Werror -g -O1 -Iinclude -I. \
 *       -fsanitize=address,undefined -fno-sanitize-recover=all \
 *       -o build-R/tests/test_log_ring_attack tests/unit/test_log_ring_attack.c \
 *       log/ring_write.c log/ring_read.c lib/format.c -lcmocka && build-R/tests/test_log_ring_attack
 *
 * The third test is the readers' output (minihv-log, last.log): C1 control
 * bytes (0x9b is CSI on a terminal with 8-bit controls; C2 9B is U+009B,
 * CSI for terminals that honour C1 in UTF-8) pass through log_line_format
 * unchanged; only 0x00-0x1f and 0x7f become '?'. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "log/ring_read.h"
#include "log/ring_write.h"

#define MEM (2u << 20)      /* "physical memory" of the test */
#define AREA (8u << 10)     /* the ring the loader gave and the core checked */
#define VICTIM (1u << 20)   /* stands for the core's block */
#define PLANT 0x4141414141414141ull

static uint8_t *mem;

static int setup(void **state)
{
    (void)state;
    mem = aligned_alloc(4096, MEM);
    assert_non_null(mem);
    memset(mem, 0xa5, MEM);
    assert_int_equal(log_ring_format(mem, AREA, 1000000000ull, 0, 1), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(mem);
    return 0;
}

static unsigned changed_outside(void)
{
    unsigned n = 0;
    for (size_t i = AREA; i < MEM; i++)
        n += mem[i] != 0xa5;
    return n;
}

/* The header as a DMA write leaves it: the core's append writes through. */
static void test_dma_header_redirects_core_write(void **state)
{
    (void)state;
    struct minihv_log_header *h = (void *)mem;
    h->area_size = MEM;         /* no longer the 8 KiB the core checked */
    h->data_offset = VICTIM;    /* 8-aligned, >= header_size, fits area_size */
    h->head = h->tail = 0x100;  /* where in the 4 KiB "ring" the record goes */
    h->next_seq = PLANT;        /* becomes the record's seq: the "what" */
    int rc = log_ring_append(h, 0, MINIHV_LOG_SRC_CORE, 0, "minihv: hv: refused ...", 23);
    uint64_t at_victim;
    memcpy(&at_victim, mem + VICTIM + 0x100 + 8, 8);
    print_message("append rc %d; bytes changed outside the %u-byte area: %u; at victim+0x108: 0x%llx\n", rc,
                  AREA, changed_outside(), (unsigned long long)at_victim);
    assert_int_equal(changed_outside(), 0);
}

/* Same with data_size raised past what log_ring_format ever makes (64 MiB):
 * log_ring_append has no upper bound on data_size either. */
static void test_dma_header_huge_data_size(void **state)
{
    (void)state;
    struct minihv_log_header *h = (void *)mem;
    h->data_size = 1u << 20;    /* power of two, > the area the core has */
    h->area_size = MEM;
    h->data_offset = 4096;
    h->head = h->tail = VICTIM - 4096 + 0x200; /* lands at mem + VICTIM + 0x200 */
    h->next_seq = PLANT;
    int rc = log_ring_append(h, 0, MINIHV_LOG_SRC_CORE, 0, "x", 1);
    print_message("append rc %d; bytes changed outside the area: %u\n", rc, changed_outside());
    assert_int_equal(changed_outside(), 0);
}

/* A loader line (LOADER_LOG, or a minihv.cfg string the loader prints)
 * holding C1 bytes, read back and formatted as minihv-log and last.log do. */
static void test_format_passes_c1_controls(void **state)
{
    (void)state;
    struct minihv_log_header *h = (void *)mem;
    static const char text[] = "minihv: \x9b" "2J\xc2\x9b" "31mspoofed";
    assert_int_equal(log_ring_append(h, MINIHV_LOG_CPU_LOADER, MINIHV_LOG_SRC_LOADER, 0, text, sizeof(text) - 1), 0);
    struct field_error err;
    assert_int_equal(log_ring_check(mem, AREA, &err), 0);
    struct log_ring_view v;
    log_ring_view(mem, &v);
    static struct log_iter it;
    struct log_line line;
    log_iter_init(&it, &v, v.tail, UINT64_MAX);
    assert_int_equal(log_iter_next(&it, &line, &err), 1);
    char out[700];
    size_t n = log_line_format(&v, &line, out, sizeof(out));
    unsigned c1 = 0;
    for (size_t i = 0; i < n; i++)
        c1 += (unsigned char)out[i] >= 0x80 && (unsigned char)out[i] <= 0x9f;
    print_message("formatted line holds %u byte(s) in 0x80-0x9f\n", c1);
    assert_int_equal(c1, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dma_header_redirects_core_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dma_header_huge_data_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_format_passes_c1_controls, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
