/* Refusals counted by kind (hv/refuse.c): the summary line, the first-
 * occurrence log and its rate limit. hv_log is stubbed to count lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "hv/refuse.h"

static unsigned log_lines;
static char last_line[256];

void hv_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_line, sizeof(last_line), fmt, ap);
    va_end(ap);
    log_lines++;
}

static void test_names_complete(void **state)
{
    (void)state;
    for (unsigned k = 0; k < HV_REFUSE_KINDS; k++) {
        assert_non_null(hv_refuse_names[k]);
        assert_null(strchr(hv_refuse_names[k], ' ')); /* one word per kind in the summary */
    }
}

/* One process, one set of counters: the cases run in order. */
static void test_summary_and_log(void **state)
{
    (void)state;
    char buf[256];
    hv_refuse_summary(buf, sizeof(buf));
    assert_string_equal(buf, "refused: none");

    hv_refuse(HV_REFUSE_MSI_DELIVERY_MODE, "MSI-X entry %u: delivery mode %u", 3u, 5u);
    assert_int_equal(log_lines, 1);
    assert_non_null(strstr(last_line, "refused msi-delivery-mode: MSI-X entry 3: delivery mode 5"));
    hv_refuse(HV_REFUSE_MSI_DELIVERY_MODE, NULL);
    assert_int_equal(log_lines, 1); /* once per kind */
    hv_refuse(HV_REFUSE_APIC_BASE, NULL);
    assert_int_equal(log_lines, 2);
    assert_non_null(strstr(last_line, "refused apic-base: no detail"));
    hv_refuse_summary(buf, sizeof(buf));
    assert_string_equal(buf, "refused: apic-base 1, msi-delivery-mode 2");
    assert_int_equal(hv_refuse_count(HV_REFUSE_MSI_DELIVERY_MODE), 2);

    /* Rate limit: a line at 1024 and 2048, none between. */
    for (unsigned i = 1; i < 1023; i++)
        hv_refuse(HV_REFUSE_APIC_BASE, "x");
    assert_int_equal(log_lines, 2);
    hv_refuse(HV_REFUSE_APIC_BASE, "x");
    assert_int_equal(log_lines, 3);
    assert_non_null(strstr(last_line, "1024 so far"));
    hv_refuse_add(HV_REFUSE_APIC_BASE, 1000, "batch");
    assert_int_equal(log_lines, 3);
    hv_refuse_add(HV_REFUSE_APIC_BASE, 100, "batch");
    assert_int_equal(log_lines, 4);
    hv_refuse_add(HV_REFUSE_IPI_LOGICAL, 0, "nothing");
    assert_int_equal(hv_refuse_count(HV_REFUSE_IPI_LOGICAL), 0);
    hv_refuse((enum hv_refuse_kind)HV_REFUSE_KINDS, NULL); /* out of range: ignored */
    assert_int_equal(log_lines, 4);

    /* Truncation: always terminated, the length written returned. */
    char small[12];
    int n = hv_refuse_summary(small, sizeof(small));
    assert_int_equal(n, 11);
    assert_string_equal(small, "refused: ap");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_complete),
        cmocka_unit_test(test_summary_and_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
