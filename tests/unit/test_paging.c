/* The shared page-table builder (paging/paging.c): leaf sizes, splits, holes,
 * formats. Tables live in a host array standing in for physical memory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>
#include <minihv/x86.h>
#include "paging/paging.h"

#define POOL_PAGES 256
#define POOL_BASE 0x10000000ull /* fake physical address of page 0 */

struct pool {
    uint8_t (*pages)[4096];
    unsigned used;
};

static uint64_t pool_alloc(void *opaque)
{
    struct pool *p = opaque;
    if (p->used == POOL_PAGES)
        return 0;
    return POOL_BASE + (uint64_t)p->used++ * 4096;
}

static void *pool_virt(void *opaque, uint64_t pa)
{
    struct pool *p = opaque;
    assert_true(pa >= POOL_BASE && pa < POOL_BASE + POOL_PAGES * 4096ull);
    return p->pages[(pa - POOL_BASE) / 4096];
}

static struct pool pool;
static struct pt_ctx pt;

static void setup_fmt(const struct pt_format *fmt, bool allow_1g)
{
    static uint8_t mem[POOL_PAGES][4096] __attribute__((aligned(4096)));
    pool.pages = mem;
    pool.used = 0;
    pt = (struct pt_ctx){ .fmt = fmt, .allow_1g = allow_1g, .alloc_page = pool_alloc,
                          .phys_to_virt = pool_virt, .opaque = &pool };
    assert_int_equal(pt_init(&pt), PT_OK);
}

static void test_identity_uses_largest_leaves(void **state)
{
    (void)state;
    setup_fmt(&pt_format_ept, true);
    /* 4 GiB + 6 MiB: four 1 GiB leaves, three 2 MiB leaves. */
    assert_int_equal(pt_map(&pt, 0, 0, (4ull << 30) + (6ull << 20), PT_ATTRS(PT_RWX, MEMTYPE_WB)), PT_OK);
    pt_count_leaves(&pt);
    assert_int_equal(pt.stats.leaves[2], 4);
    assert_int_equal(pt.stats.leaves[1], 3);
    assert_int_equal(pt.stats.leaves[0], 0);
    assert_int_equal(pt.stats.tables, 3); /* PML4, PDPT, one PD */
    int level;
    uint64_t *e = pt_lookup(&pt, 0x40201000, &level);
    assert_non_null(e);
    assert_int_equal(level, 3);
    /* EPT leaf: RWX=7, WB(6)<<3, large bit 7 (SDM Table 28-4). */
    assert_int_equal(*e, 0x40000000ull | 7 | (6 << 3) | (1 << 7));
}

static void test_without_1g_uses_2m(void **state)
{
    (void)state;
    setup_fmt(&pt_format_host, false);
    assert_int_equal(pt_map(&pt, 0, 0, 1ull << 30, PT_ATTRS(PT_RWX, MEMTYPE_WB)), PT_OK);
    pt_count_leaves(&pt);
    assert_int_equal(pt.stats.leaves[2], 0);
    assert_int_equal(pt.stats.leaves[1], 512);
}

static void test_hole_splits_down_to_4k(void **state)
{
    (void)state;
    setup_fmt(&pt_format_ept, true);
    assert_int_equal(pt_map(&pt, 0, 0, 1ull << 30, PT_ATTRS(PT_RWX, MEMTYPE_WB)), PT_OK);
    /* A 12 KiB hole starting 4 KiB into the second 2 MiB page. */
    assert_int_equal(pt_unmap(&pt, 0x201000, 0x3000), PT_OK);
    pt_count_leaves(&pt);
    assert_int_equal(pt.stats.leaves[2], 0);
    assert_int_equal(pt.stats.leaves[1], 511);
    assert_int_equal(pt.stats.leaves[0], 512 - 3);
    int level;
    assert_null(pt_lookup(&pt, 0x201000, &level));
    assert_null(pt_lookup(&pt, 0x203fff, &level));
    uint64_t *e = pt_lookup(&pt, 0x204000, &level);
    assert_non_null(e);
    assert_int_equal(level, 1);
    assert_int_equal(*e & ~0xfffull, 0x204000);
    assert_int_equal((*e >> 3) & 7, MEMTYPE_WB); /* attributes survive the split */
    e = pt_lookup(&pt, 0x200000, &level);
    assert_non_null(e);
    assert_int_equal(*e & ~0xfffull, 0x200000);
}

static void test_remap_changes_memtype(void **state)
{
    (void)state;
    setup_fmt(&pt_format_host, true);
    assert_int_equal(pt_map(&pt, 0, 0, 1ull << 30, PT_ATTRS(PT_RWX, MEMTYPE_WB)), PT_OK);
    assert_int_equal(pt_map(&pt, 0xfee00000, 0xfee00000, 0x1000, PT_ATTRS(PT_READ | PT_WRITE, MEMTYPE_UC)), PT_OK);
    int level;
    uint64_t *e = pt_lookup(&pt, 0xfee00000, &level);
    assert_non_null(e);
    assert_int_equal(level, 1);
    assert_int_equal(*e, 0xfee00000ull | PTE_P | PTE_RW | PTE_PCD | PTE_PWT);
}

static void test_upper_half_and_npt_user_bit(void **state)
{
    (void)state;
    setup_fmt(&pt_format_npt, true);
    assert_int_equal(pt_map(&pt, 0xffffffff80000000ull, 0x1234000, 0x2000, PT_ATTRS(PT_RWX, MEMTYPE_WB)), PT_OK);
    int level;
    uint64_t *e = pt_lookup(&pt, 0xffff80000000ull, &level); /* same slots as the canonical address */
    assert_non_null(e);
    assert_int_equal(*e, 0x1234000ull | PTE_P | PTE_RW | PTE_US);
}

static void test_bad_ranges_rejected(void **state)
{
    (void)state;
    setup_fmt(&pt_format_ept, true);
    assert_int_equal(pt_map(&pt, 0x1001, 0, 0x1000, PT_RWX), PT_EINVAL);
    assert_int_equal(pt_map(&pt, 0, 0, 0, PT_RWX), PT_EINVAL);
    assert_int_equal(pt_map(&pt, 0x7ffffffff000ull, 0, 0x2000, PT_RWX), PT_EINVAL); /* past 2^47 */
    assert_int_equal(pt_map(&pt, 0x800000000000ull, 0, 0x1000, PT_RWX), PT_EINVAL); /* non-canonical */
    assert_int_equal(pt_unmap(&pt, 0, 0x800), PT_EINVAL);
}

static void test_out_of_pages(void **state)
{
    (void)state;
    setup_fmt(&pt_format_ept, false);
    /* 4 KiB leaves over 1 GiB need 512 PTs: more than the pool holds. */
    uint32_t attrs = PT_ATTRS(PT_RWX, MEMTYPE_WB);
    int rc = PT_OK;
    for (uint64_t va = 0; va < (1ull << 30) && rc == PT_OK; va += 0x200000)
        rc = pt_map(&pt, va + 0x1000, va + 0x1000, 0x1000, attrs);
    assert_int_equal(rc, PT_ENOMEM);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_uses_largest_leaves),
        cmocka_unit_test(test_without_1g_uses_2m),
        cmocka_unit_test(test_hole_splits_down_to_4k),
        cmocka_unit_test(test_remap_changes_memtype),
        cmocka_unit_test(test_upper_half_and_npt_user_bit),
        cmocka_unit_test(test_bad_ranges_rejected),
        cmocka_unit_test(test_out_of_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
