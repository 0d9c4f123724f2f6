/* The registry of special pages (hv/special_pages.c): adding, finding,
 * splitting a range into plain and special runs, the log line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "hv/special_pages.h"

static void test_add_rounds_and_rejects(void **state)
{
    (void)state;
    struct special_pages r = { 0 };
    assert_int_equal(special_add(&r, SPECIAL_LAPIC, 0xfee00000, 4096, SPECIAL_MAP_READ_ONLY), 0);
    /* Rounded out to whole pages: a VT-d unit's 0x1000 at an odd base. */
    assert_int_equal(special_add(&r, SPECIAL_IOMMU_REGS, 0xfed90010, 0x1000, SPECIAL_MAP_NONE), 0);
    assert_int_equal(r.count, 2);
    assert_int_equal(r.e[1].base, 0xfed90000);
    assert_int_equal(r.e[1].size, 0x2000);
    /* The same entry twice: kept once. */
    assert_int_equal(special_add(&r, SPECIAL_LAPIC, 0xfee00000, 4096, SPECIAL_MAP_READ_ONLY), 0);
    assert_int_equal(r.count, 2);
    /* Bad ranges and kinds. */
    assert_int_equal(special_add(&r, SPECIAL_LAPIC, 0x1000, 0, SPECIAL_MAP_NONE), -1);
    assert_int_equal(special_add(&r, SPECIAL_LAPIC, ~0ull - 10, 64, SPECIAL_MAP_NONE), -1);
    assert_int_equal(special_add(&r, SPECIAL_LAPIC, SPECIAL_ADDR_LIMIT - 16, 8, SPECIAL_MAP_NONE), 0);
    assert_int_equal(special_add(&r, SPECIAL_LAPIC, SPECIAL_ADDR_LIMIT - 8, 16, SPECIAL_MAP_NONE), -1);
    assert_int_equal(special_add(&r, SPECIAL_KINDS, 0x1000, 4096, SPECIAL_MAP_NONE), -1);
    assert_int_equal(special_add(&r, SPECIAL_LAPIC, 0x1000, 4096, (enum special_map)7), -1);
    /* Full. */
    struct special_pages full = { 0 };
    for (unsigned i = 0; i < SPECIAL_MAX; i++)
        assert_int_equal(special_add(&full, SPECIAL_ECAM_BRIDGE, 0x100000ull * i, 4096, SPECIAL_MAP_NONE), 0);
    assert_int_equal(special_add(&full, SPECIAL_ECAM_BRIDGE, 0x7000000000ull, 4096, SPECIAL_MAP_NONE), -1);
    assert_int_equal(full.count, SPECIAL_MAX);
}

static void test_find(void **state)
{
    (void)state;
    struct special_pages r = { 0 };
    special_add(&r, SPECIAL_CORE_BLOCK, 0x17e00000, 64ull << 20, SPECIAL_MAP_NONE);
    special_add(&r, SPECIAL_LAPIC, 0xfee00000, 4096, SPECIAL_MAP_READ_ONLY);
    assert_null(special_find(&r, 0x1000, 4096));
    assert_null(special_find(&r, 0xfedff000, 4096)); /* ends where it starts */
    assert_null(special_find(&r, 0xfee01000, 4096));
    assert_null(special_find(&r, 0xfee00000, 0));
    const struct special_page *e = special_find(&r, 0xfedff000, 4097);
    assert_non_null(e);
    assert_int_equal(e->kind, SPECIAL_LAPIC);
    assert_int_equal(special_find(&r, 0xfee00fff, 1)->kind, SPECIAL_LAPIC);
    assert_int_equal(special_find(&r, 0x17e00000 + (64ull << 20) - 1, 1)->kind, SPECIAL_CORE_BLOCK);
    assert_int_equal(special_find(&r, 0, 1ull << 40)->kind, SPECIAL_CORE_BLOCK); /* first added */
    /* A range that wraps reaches up to the top: it covers the APIC page. */
    assert_int_equal(special_find(&r, 0xf0000000, ~0ull)->kind, SPECIAL_LAPIC);
    assert_null(special_find(&r, 0xffffffff00000000ull, 0x200000000ull));
}

struct run {
    uint64_t base, size;
    int kind; /* -1: plain */
};

struct runs {
    unsigned n;
    struct run r[16];
    int fail_at; /* return 5 on this call; -1 never */
};

static int on_plain(void *o, uint64_t base, uint64_t size)
{
    struct runs *rs = o;
    if ((int)rs->n == rs->fail_at)
        return 5;
    rs->r[rs->n++] = (struct run){ base, size, -1 };
    return 0;
}

static int on_special(void *o, const struct special_page *e, uint64_t base, uint64_t size)
{
    struct runs *rs = o;
    if ((int)rs->n == rs->fail_at)
        return 5;
    rs->r[rs->n++] = (struct run){ base, size, (int)e->kind };
    return 0;
}

static void test_split(void **state)
{
    (void)state;
    struct special_pages r = { 0 };
    special_add(&r, SPECIAL_ECAM_DEVICE, 0xb0028000, 4096, SPECIAL_MAP_NONE);
    special_add(&r, SPECIAL_LAPIC, 0xb0020000, 0x4000, SPECIAL_MAP_READ_ONLY);
    /* Overlaps the LAPIC entry, added later: the earlier one wins there. */
    special_add(&r, SPECIAL_IOMMU_REGS, 0xb0022000, 0x8000, SPECIAL_MAP_NONE);

    struct runs rs = { .fail_at = -1 };
    assert_int_equal(special_split(&r, 0xb0000000, 0x40000, on_plain, on_special, &rs), 0);
    const struct run want[] = {
        { 0xb0000000, 0x20000, -1 },
        { 0xb0020000, 0x4000, SPECIAL_LAPIC },
        { 0xb0024000, 0x4000, SPECIAL_IOMMU_REGS },
        { 0xb0028000, 0x1000, SPECIAL_ECAM_DEVICE },
        { 0xb0029000, 0x1000, SPECIAL_IOMMU_REGS },
        { 0xb002a000, 0x16000, -1 },
    };
    assert_int_equal(rs.n, sizeof(want) / sizeof(want[0]));
    for (unsigned i = 0; i < rs.n; i++) {
        assert_int_equal(rs.r[i].base, want[i].base);
        assert_int_equal(rs.r[i].size, want[i].size);
        assert_int_equal(rs.r[i].kind, want[i].kind);
    }
    /* Inside one entry only. */
    struct runs one = { .fail_at = -1 };
    assert_int_equal(special_split(&r, 0xb0028000, 0x1000, on_plain, on_special, &one), 0);
    assert_int_equal(one.n, 1);
    assert_int_equal(one.r[0].kind, SPECIAL_ECAM_DEVICE);
    /* A callback's error stops the walk. */
    struct runs stop = { .fail_at = 2 };
    assert_int_equal(special_split(&r, 0xb0000000, 0x40000, on_plain, on_special, &stop), 5);
    assert_int_equal(stop.n, 2);
    /* Bad ranges. */
    assert_int_equal(special_split(&r, 0xb0000000, 0, on_plain, on_special, &one), -1);
    assert_int_equal(special_split(&r, ~0ull - 0xfff, 0x2000, on_plain, on_special, &one), -1);
    /* An empty registry: one plain run. */
    struct special_pages empty = { 0 };
    struct runs all = { .fail_at = -1 };
    assert_int_equal(special_split(&empty, 0x1000, 0x10000, on_plain, on_special, &all), 0);
    assert_int_equal(all.n, 1);
    assert_int_equal(all.r[0].size, 0x10000);
}

static void test_format(void **state)
{
    (void)state;
    struct special_pages r = { 0 };
    char buf[200];
    special_format(&r, buf, sizeof(buf));
    assert_string_equal(buf, "special pages: none");
    special_add(&r, SPECIAL_CORE_BLOCK, 0x17e00000, 64ull << 20, SPECIAL_MAP_NONE);
    special_add(&r, SPECIAL_LAPIC, 0xfee00000, 4096, SPECIAL_MAP_READ_ONLY);
    special_add(&r, SPECIAL_IOMMU_REGS, 0xfed90000, 0x4000, SPECIAL_MAP_NONE);
    int n = special_format(&r, buf, sizeof(buf));
    assert_string_equal(buf, "special pages: core-block 0x17e00000+64 MiB none, lapic 0xfee00000+4 KiB read-only, "
                             "iommu-regs 0xfed90000+16 KiB none");
    assert_int_equal(n, (int)strlen(buf));
    char small[10];
    assert_int_equal(special_format(&r, small, sizeof(small)), 9);
    assert_string_equal(small, "special p");
    for (unsigned k = 0; k < SPECIAL_KINDS; k++)
        assert_string_not_equal(special_kind_name((enum special_kind)k), "?");
    assert_string_equal(special_kind_name(SPECIAL_KINDS), "?");
    /* Every kind says what device DMA reaches there (hv/iommu_hw.c). */
    for (unsigned k = 0; k < SPECIAL_KINDS; k++)
        assert_int_not_equal(special_kind_dma((enum special_kind)k), SPECIAL_DMA_UNDECIDED);
    assert_int_equal(special_kind_dma(SPECIAL_IOMMU_REGS), SPECIAL_DMA_OUT);
    assert_int_equal(special_kind_dma(SPECIAL_MCHBAR_VTD), SPECIAL_DMA_OUT);
    assert_int_equal(special_kind_dma(SPECIAL_MSI_WINDOW), SPECIAL_DMA_INTERRUPT);
    assert_int_equal(special_kind_dma(SPECIAL_KINDS), SPECIAL_DMA_UNDECIDED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_rounds_and_rejects),
        cmocka_unit_test(test_find),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
