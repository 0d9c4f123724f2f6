/* lib/format.c against the host's snprintf for the same formats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <minihv/format.h>

#define SAME(fmt, ...)                                                  \
    do {                                                                \
        char ours[128], libc[128];                                      \
        int a = fmt_snprintf(ours, sizeof(ours), fmt, __VA_ARGS__);     \
        int b = snprintf(libc, sizeof(libc), fmt, __VA_ARGS__);         \
        assert_string_equal(ours, libc);                                \
        assert_int_equal(a, b);                                         \
    } while (0)

static void test_matches_libc(void **state)
{
    (void)state;
    SAME("%d %i %u", -42, 7, 4000000000u);
    SAME("%x %X %08x %-6x|", 0xbeefu, 0xbeefu, 0x1fu, 0xau);
    SAME("%lx %lu %ld", 0xffffffff80000000ul, 18446744073709551615ul, -9223372036854775807l - 1);
    SAME("%s|%10s|%-10s|", "abc", "right", "left");
    SAME("%c%c %% %5d %-5d| %05d", 'o', 'k', 42, 42, -42);
    SAME("%zu %02x:%02x.%x", (size_t)12, 0, 0x1f, 3);
    SAME("%p", (void *)0x1234);
}

static void test_truncates_and_terminates(void **state)
{
    (void)state;
    char buf[8];
    memset(buf, 'x', sizeof(buf));
    assert_int_equal(fmt_snprintf(buf, sizeof(buf), "%s", "0123456789"), 10);
    assert_string_equal(buf, "0123456");
    assert_int_equal(fmt_snprintf(buf, 0, "%d", 5), 1);
    assert_int_equal(buf[0], '0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_libc),
        cmocka_unit_test(test_truncates_and_terminates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
