/* Tests of the log ring: a writer over a test's own area, (re)opened from
 * its header whenever the test formatted it again or changed its
 * positions itself, so a test can call log_ring_append(W(h), ...) the way
 * it reads h. The writer proper reads the header once only
 * (log/ring_write.h). */
#ifndef MINIHV_TESTS_LOG_RING_TEST_WRITER_H
#define MINIHV_TESTS_LOG_RING_TEST_WRITER_H

#include "log/ring_write.h"

static struct log_ring_writer test_writer;

static inline struct log_ring_writer *W(struct minihv_log_header *h)
{
    if (test_writer.hdr != h || test_writer.head != h->head || test_writer.tail != h->tail ||
        test_writer.next_seq != h->next_seq || test_writer.data_size != h->data_size)
        log_ring_writer_open(&test_writer, h, h->area_size);
    return &test_writer;
}

#endif
