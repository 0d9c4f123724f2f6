/* The vCPU's pure decisions (hv/vcpu_policy.c): CPUID as the guest sees
 * it, the MSRs that exit and their answers, XSETBV validation, hypercall
 * buffer checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <minihv/hypercall.h>
#include <minihv/x86.h>
#include "hv/vcpu_policy.h"

static void test_cpuid_leaf1(void **state)
{
    (void)state;
    uint32_t r[4] = { 0x50654, 0x00010800, 0x7ffefbff | CPUID1_ECX_VMX, 0xbfebfbff };
    cpuid_policy(1, 0, r);
    assert_int_equal(r[2] & CPUID1_ECX_VMX, 0);
    assert_int_equal(r[2] & CPUID1_ECX_HYPERVISOR, CPUID1_ECX_HYPERVISOR);
    assert_int_equal(r[0], 0x50654);
    assert_int_equal(r[1], 0x00010800);
    assert_int_equal(r[3], 0xbfebfbff & ~CPUID1_EDX_DS); /* the debug store: hidden */
}

static void test_cpuid_hypervisor_leaves(void **state)
{
    (void)state;
    uint32_t r[4] = { 1, 2, 3, 4 };
    cpuid_policy(0x40000000, 0, r);
    assert_int_equal(r[0], MINIHV_CPUID_MAX_LEAF);
    assert_memory_equal(&r[1], "MiniHv\0\0\0\0\0\0", 12);
    uint32_t v[4] = { 1, 2, 3, 4 };
    cpuid_policy(0x40000001, 0, v);
    assert_int_equal(v[0], MINIHV_ABI_VERSION);
    assert_int_equal(v[1] | v[2] | v[3], 0);
    uint32_t z[4] = { 1, 2, 3, 4 };
    cpuid_policy(0x400000ff, 0, z);
    assert_int_equal(z[0] | z[1] | z[2] | z[3], 0);
    uint32_t o[4] = { 1, 2, 3, 4 }; /* other leaves untouched */
    cpuid_policy(7, 0, o);
    assert_int_equal(o[0], 1);
    assert_int_equal(o[3], 4);
    cpuid_policy(0x40000100, 0, o);
    assert_int_equal(o[2], 3);
}

/* The summary's CPUID rows: the edges of each range, and the leaf each
 * row is named by. */
static void test_cpuid_leaf_rows(void **state)
{
    (void)state;
    static const struct { uint32_t leaf; unsigned row; uint32_t name; } cases[] = {
        { 0, 0, 0 },                                   { 1, 1, 1 },
        { 0x1f, 0x1f, 0x1f },                          { 0x20, CPUID_ROW_OTHER, 0xffffffff },
        { 0x3fffffff, CPUID_ROW_OTHER, 0xffffffff },   { 0x40000000, CPUID_ROW_CORE, 0x40000000 },
        { 0x400000ff, CPUID_ROW_CORE, 0x40000000 },    { 0x40000100, CPUID_ROW_OTHER_HV, 0x40000100 },
        { 0x4000ff00, CPUID_ROW_OTHER_HV, 0x40000100 }, { 0x40010000, CPUID_ROW_OTHER, 0xffffffff },
        { 0x80000000, CPUID_ROW_EXT0, 0x80000000 },    { 0x80000008, CPUID_ROW_EXT0 + 8, 0x80000008 },
        { 0x8000002f, CPUID_ROW_EXT0 + 0x2f, 0x8000002f }, { 0x80000030, CPUID_ROW_OTHER, 0xffffffff },
        { 0xffffffff, CPUID_ROW_OTHER, 0xffffffff },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned row = cpuid_leaf_row(cases[i].leaf);
        assert_int_equal(row, cases[i].row);
        assert_true(row < CPUID_ROWS);
        assert_int_equal(cpuid_row_leaf(row), cases[i].name);
    }
    assert_int_equal(cpuid_row_leaf(CPUID_ROWS), 0xffffffff);
}

/* What is hidden because its MSRs raise #GP (hv/msr_policy.c): the debug
 * store, Intel PT, CET and their XSAVE components (issue 14, path 3). */
static void test_cpuid_hidden_features(void **state)
{
    (void)state;
    uint32_t l1[4] = { 0x50654, 0x00010800, 0x7ffefbff, 0xbfebfbff }; /* DS, DTES64, DS-CPL set */
    cpuid_policy(1, 0, l1);
    assert_int_equal(l1[3], 0xbfebfbffu & ~(1u << 21));
    assert_int_equal(l1[2], (0x7ffefbffu & ~((1u << 2) | (1u << 4) | (1u << 5))) | (1u << 31));
    uint32_t l7[4] = { 0, 0xffffffff, 0xffffffff, 0xffffffff };
    cpuid_policy(7, 0, l7);
    assert_int_equal(l7[0], 0);
    assert_int_equal(l7[1], 0xffffffffu & ~(1u << 25)); /* PT */
    assert_int_equal(l7[2], 0xffffffffu & ~(1u << 7));  /* CET_SS */
    assert_int_equal(l7[3], 0xffffffffu & ~(1u << 20)); /* CET_IBT */
    uint32_t l7s1[4] = { 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff };
    cpuid_policy(7, 1, l7s1); /* subleaf 1: other bits, untouched */
    assert_int_equal(l7s1[1] & l7s1[2] & l7s1[3], 0xffffffffu);
    uint32_t pt[4] = { 1, 0xf, 0x7, 0 };
    cpuid_policy(0x14, 0, pt);
    assert_int_equal(pt[0] | pt[1] | pt[2] | pt[3], 0);
    uint32_t pt1[4] = { 0x2490002, 0x3f7fffff, 0, 0 };
    cpuid_policy(0x14, 1, pt1);
    assert_int_equal(pt1[0] | pt1[1] | pt1[2] | pt1[3], 0);
    uint32_t xss[4] = { 0xf, 0x3c0, 0x1d00, 0 }; /* PT (8), CET_U (11), CET_S (12), HWP-ish (10) */
    cpuid_policy(0xd, 1, xss);
    assert_int_equal(xss[2], 0x400);
    assert_int_equal(xss[0], 0xf);
    uint32_t xsave0[4] = { 0x2e7, 0xa88, 0xa88, 0 };
    cpuid_policy(0xd, 0, xsave0); /* XCR0 bits: untouched */
    assert_int_equal(xsave0[0], 0x2e7);
}

/* Leaf 1 ECX.OSXSAVE and leaf 7.0 ECX.OSPKE follow the guest's CR4, not
 * the core's (issue 15): set and cleared either way, nothing else moved. */
static void test_cpuid_mirror_guest_cr4(void **state)
{
    (void)state;
    const uint64_t osxsave = 1ull << 18, pke = 1ull << 22;
    uint32_t a[4] = { 0x50654, 0x00010800, 0x7ffefbff & ~(1u << 27), 0xbfebfbff };
    cpuid_mirror_guest(1, 0, osxsave, a);
    assert_int_equal(a[2], 0x7ffefbffu | (1u << 27));
    assert_int_equal(a[1], 0x00010800); /* APIC ID: the CPU's own */
    uint32_t b[4] = { 0x50654, 0x00010800, 0xffffffff, 0xbfebfbff };
    cpuid_mirror_guest(1, 0, pke, b); /* core had OSXSAVE, guest has not */
    assert_int_equal(b[2], 0xffffffffu & ~(1u << 27));
    uint32_t c[4] = { 0, 0, 0, 0 };
    cpuid_mirror_guest(7, 0, pke, c);
    assert_int_equal(c[2], 1u << 4);
    uint32_t d[4] = { 0, 0, 0xffffffff, 0 };
    cpuid_mirror_guest(7, 0, osxsave, d);
    assert_int_equal(d[2], 0xffffffffu & ~(1u << 4));
    uint32_t e[4] = { 1, 2, 0xffffffff, 4 }; /* subleaf 1, other leaves: untouched */
    cpuid_mirror_guest(7, 1, 0, e);
    cpuid_mirror_guest(0xd, 0, 0, e);
    cpuid_mirror_guest(0x80000001, 0, 0, e);
    assert_int_equal(e[2], 0xffffffffu);
    assert_int_equal(e[0] + e[1] + e[3], 7);
}

static void test_msr_answers(void **state)
{
    (void)state;
    uint64_t v = 0;
    /* FEATURE_CONTROL: locked, VMXON disabled both in and outside SMX,
     * other bits (e.g. LMCE bit 20) kept. */
    assert_int_equal(msr_read_policy(0x3a, 0x100005, &v), MSR_OK);
    assert_int_equal(v, 0x100001);
    assert_int_equal(msr_read_policy(0x3a, 0, &v), MSR_OK);
    assert_int_equal(v, 1);
    assert_int_equal(msr_read_policy(0x480, 0, &v), MSR_GP);
    assert_int_equal(msr_read_policy(0x491, 0, &v), MSR_GP);
    assert_int_equal(msr_read_policy(0x40000000, 0, &v), MSR_GP);
}

static void test_xsetbv(void **state)
{
    (void)state;
    uint64_t all = 0xe7; /* x87 SSE AVX, AVX-512 */
    assert_true(xsetbv_valid(0, 1, all));
    assert_true(xsetbv_valid(0, 3, all));
    assert_true(xsetbv_valid(0, 7, all));
    assert_true(xsetbv_valid(0, 0xe7, all));
    assert_false(xsetbv_valid(1, 7, all));     /* only XCR0 */
    assert_false(xsetbv_valid(0, 0, all));     /* x87 must stay */
    assert_false(xsetbv_valid(0, 6, all));
    assert_false(xsetbv_valid(0, 5, all));     /* AVX without SSE */
    assert_false(xsetbv_valid(0, 0x27, all));  /* part of AVX-512 */
    assert_false(xsetbv_valid(0, 0xe3, all));  /* AVX-512 without AVX */
    assert_false(xsetbv_valid(0, 0x1f, all));  /* MPX not supported */
    assert_true(xsetbv_valid(0, 0x1f, 0x1f));
    assert_false(xsetbv_valid(0, 0x0f, 0x1f)); /* half of MPX */
    /* AMX: XTILECFG (17) and XTILEDATA (18) together (SDM Vol. 1 13.3). */
    const uint64_t amx = 0x602e7;
    assert_true(xsetbv_valid(0, 0x602e7, amx));
    assert_true(xsetbv_valid(0, 0x002e7, amx));
    assert_false(xsetbv_valid(0, 0x202e7, amx)); /* TILECFG without TILEDATA */
    assert_false(xsetbv_valid(0, 0x402e7, amx)); /* TILEDATA without TILECFG */
    assert_true(xsetbv_valid(0, 0x60003, 0x60003));  /* AMX asks nothing of AVX */
}

/* A q35-like map: RAM below the block and above it to 2 GiB, the block
 * (Reserved), firmware Reserved, the MMIO hole, RAM above 4 GiB. */
static const struct minihv_mem_range q35_map[] = {
    { 0x0, 0xa0000, MINIHV_MEM_RAM, 0 },
    { 0x100000, 0x17d00000, MINIHV_MEM_RAM, 0 },
    { 0x17e00000, 64ull << 20, MINIHV_MEM_RESERVED, 0 },      /* the core's block */
    { 0x1be00000, 0x64200000, MINIHV_MEM_RAM, 0 },
    { 0x80000000, 0x00800000, MINIHV_MEM_RESERVED, 0 },       /* runtime code, ACPI */
    { 0xb0000000, 0x10000000, MINIHV_MEM_MMIO, 0 },           /* ECAM */
    { 0x100000000ull, 0x40000000, MINIHV_MEM_RAM, 0 },
    { 0x140000000ull, 0x40000000, MINIHV_MEM_RAM, 0 },        /* abuts the one before */
};

static void test_guest_buffers(void **state)
{
    (void)state;
    const uint64_t top = 6ull << 30, hv = 0x17e00000, hv_size = 64ull << 20;
    struct special_pages sp = { 0 };
    assert_int_equal(special_add(&sp, SPECIAL_LAPIC, 0xfee00000, 4096, SPECIAL_MAP_READ_ONLY), 0);
    assert_int_equal(special_add(&sp, SPECIAL_ECAM_DEVICE, 0xb0028000, 4096, SPECIAL_MAP_NONE), 0);
    /* An entry over RAM (as a device's BAR could not be, but a page the
     * core owns could): buffers stay off it. */
    assert_int_equal(special_add(&sp, SPECIAL_IOMMU_REGS, 0x5000, 4096, SPECIAL_MAP_NONE), 0);
    struct guest_memory g = { q35_map, sizeof(q35_map) / sizeof(q35_map[0]), false, hv, hv_size, &sp, NULL };
    assert_true(guest_buffer_ok(0x1000, 4096, &g));
    assert_true(guest_buffer_ok(hv - 64, 64, &g));
    assert_true(guest_buffer_ok(hv + hv_size, 64, &g));
    assert_false(guest_buffer_ok(hv - 63, 64, &g));   /* last byte inside */
    assert_false(guest_buffer_ok(hv, 1, &g));
    assert_false(guest_buffer_ok(hv + hv_size - 1, 1, &g));
    assert_false(guest_buffer_ok(hv - 4096, hv_size + 8192, &g)); /* spans it */
    assert_false(guest_buffer_ok(~0ull - 10, 64, &g));    /* wraps */
    assert_false(guest_buffer_ok(top - 8, 16, &g));       /* past the end of RAM */
    assert_false(guest_buffer_ok(0x1000, 0, &g));
    assert_false(guest_buffer_ok(0x1000, 64, NULL));
}

/* Hypercall buffers only in RAM (issue 14, path 5): never MMIO, a hole,
 * firmware Reserved memory, or a special page. */
static void test_guest_buffers_ram_only(void **state)
{
    (void)state;
    const uint64_t hv = 0x17e00000, hv_size = 64ull << 20;
    struct special_pages sp = { 0 };
    assert_int_equal(special_add(&sp, SPECIAL_LAPIC, 0xfee00000, 4096, SPECIAL_MAP_READ_ONLY), 0);
    assert_int_equal(special_add(&sp, SPECIAL_ECAM_DEVICE, 0xb0028000, 4096, SPECIAL_MAP_NONE), 0);
    assert_int_equal(special_add(&sp, SPECIAL_IOMMU_REGS, 0x5000, 4096, SPECIAL_MAP_NONE), 0);
    /* Without a hint, with one carried from lookup to lookup (the core's:
     * the last range hit is tried first), and with one that starts out
     * of range: the same answers. */
    for (int pass = 0; pass < 3; pass++) {
    unsigned hint = pass == 2 ? 9999 : 0;
    struct guest_memory g = { q35_map, sizeof(q35_map) / sizeof(q35_map[0]), false, hv, hv_size, &sp,
                              pass ? &hint : NULL };
    assert_false(guest_buffer_ok(0xfee00300, 8, &g));     /* the ICR */
    assert_false(guest_buffer_ok(0xb0028000, 64, &g));    /* the device's ECAM page */
    assert_false(guest_buffer_ok(0xb0000000, 64, &g));    /* other ECAM: MMIO in the map */
    assert_false(guest_buffer_ok(0xfebf0000, 64, &g));    /* a BAR in the hole (the MSI-X table) */
    assert_false(guest_buffer_ok(0xa0000, 64, &g));       /* the legacy VGA hole */
    assert_false(guest_buffer_ok(0x9fff0, 0x20, &g));     /* RAM, then the hole */
    assert_false(guest_buffer_ok(0x5ff8, 16, &g));        /* touches a special page in RAM */
    assert_true(guest_buffer_ok(0x6000, 16, &g));
    assert_false(guest_buffer_ok(0x80000000, 64, &g));    /* Reserved: not a buffer */
    assert_false(guest_buffer_ok(0x7fffffc0, 128, &g));   /* RAM into Reserved */
    assert_true(guest_buffer_ok(0x13ffffff0ull, 32, &g)); /* across two abutting RAM ranges */
    assert_false(guest_buffer_ok(0x17ffffff0ull, 32, &g)); /* past the last one */
    assert_false(guest_buffer_ok(0x200000000ull, 64, &g)); /* above everything */
    /* Reads of page tables and code: Reserved too, the rest the same. */
    g.reserved_ok = true;
    assert_true(guest_buffer_ok(0x80000000, 64, &g));
    assert_true(guest_buffer_ok(0x7fffffc0, 128, &g));
    assert_false(guest_buffer_ok(hv, 64, &g));            /* the block stays out */
    assert_false(guest_buffer_ok(0xfee00000, 4, &g));
    assert_false(guest_buffer_ok(0xb0028000, 4, &g));
    g.reserved_ok = false; /* the hint now names a Reserved range: not believed */
    assert_false(guest_buffer_ok(0x80000000, 64, &g));
    assert_true(guest_buffer_ok(0x6000, 16, &g));
    }
    /* No map at all: nothing is a buffer. */
    struct guest_memory none = { q35_map, 0, true, hv, hv_size, NULL, NULL };
    assert_false(guest_buffer_ok(0x1000, 64, &none));
}

/* A map whose ranges are not whole pages (the firmware's are, the check
 * must not depend on it): a page partly RAM, partly a hole. */
static const struct minihv_mem_range ragged_map[] = {
    { 0x0, 0x9f800, MINIHV_MEM_RAM, 0 },                      /* ends mid-page */
    { 0x100000, 0x7ff00000, MINIHV_MEM_RAM, 0 },
    { 0x80000000, 0x00800000, MINIHV_MEM_RESERVED, 0 },
    { 0x100000000ull, 0x40000000, MINIHV_MEM_RAM, 0 },
};

/* The per-CPU cache of pages found good (the guest's walk and code,
 * docs/bench.md) answers every range as guest_buffer_ok does: ranges in
 * one page, across pages, in a page that is good only in part, both
 * memory kinds through one cache, a special page added after the page
 * was cached, sets that overflow their two ways. */
static void test_guest_buffers_cached(void **state)
{
    (void)state;
    const uint64_t hv = 0x17e00800, hv_size = 64ull << 20; /* the block's ends mid-page here */
    static const struct { const struct minihv_mem_range *map; unsigned count; } maps[] = {
        { q35_map, sizeof(q35_map) / sizeof(q35_map[0]) },
        { ragged_map, sizeof(ragged_map) / sizeof(ragged_map[0]) },
    };
    static const uint64_t sizes[] = { 1, 4, 8, 15, 16, 64, 2048, 4095, 4096, 4097, 8192 };
    static const uint64_t pages[] = {
        0x0, 0x1000, 0x5000, 0x6000, 0x9e000, 0x9f000, 0xa0000, 0xff000, 0x100000,
        0x17e00000, 0x17e01000, 0x1be00000, 0x7ffff000, 0x80000000, 0x807ff000, 0x80800000,
        0xb0028000, 0xfee00000, 0x13ffff000ull, 0x17ffff000ull, 0x200000000ull, 0xfffffffffffff000ull,
        /* same set (bits 0-4 of pfn ^ pfn >> 5 ^ pfn >> 10), three ways' worth */
        0x120000000ull, 0x120020000ull, 0x120040000ull,
    };
    static const uint64_t offsets[] = { 0, 8, 0x7f8, 0x800, 0xff0, 0xff8, 0xfff };
    for (unsigned mi = 0; mi < 2; mi++) {
        struct special_pages sp = { 0 };
        assert_int_equal(special_add(&sp, SPECIAL_LAPIC, 0xfee00000, 4096, SPECIAL_MAP_READ_ONLY), 0);
        assert_int_equal(special_add(&sp, SPECIAL_ECAM_DEVICE, 0xb0028000, 4096, SPECIAL_MAP_NONE), 0);
        struct guest_page_cache cache = { 0 };
        unsigned hint = 0, checked = 0;
        struct guest_memory g = { maps[mi].map, maps[mi].count, true, hv, hv_size, &sp, &hint };
        for (int round = 0; round < 4; round++) {
            if (round == 2) /* after the first two rounds filled the cache */
                assert_int_equal(special_add(&sp, SPECIAL_IOMMU_REGS, 0x6000, 4096, SPECIAL_MAP_NONE), 0);
            g.reserved_ok = round & 1;
            for (unsigned p = 0; p < sizeof(pages) / sizeof(pages[0]); p++)
                for (unsigned o = 0; o < sizeof(offsets) / sizeof(offsets[0]); o++)
                    for (unsigned z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
                        uint64_t gpa = pages[p] + offsets[o];
                        bool want = guest_buffer_ok(gpa, sizes[z], &g);
                        /* twice: filling the cache, then from it */
                        for (int again = 0; again < 2; again++)
                            if (guest_buffer_ok_cached(gpa, sizes[z], &g, &cache) != want)
                                fail_msg("map %u round %d: 0x%llx + %llu: cached %d, want %d", mi, round,
                                         (unsigned long long)gpa, (unsigned long long)sizes[z], !want, want);
                        checked++;
                    }
        }
        assert_true(checked > 1000);
    }
    /* Specific answers through the cache. */
    struct special_pages sp = { 0 };
    assert_int_equal(special_add(&sp, SPECIAL_LAPIC, 0xfee00000, 4096, SPECIAL_MAP_READ_ONLY), 0);
    struct guest_page_cache cache = { 0 };
    struct guest_memory g = { ragged_map, sizeof(ragged_map) / sizeof(ragged_map[0]), true, hv, hv_size, &sp,
                              NULL };
    assert_true(guest_buffer_ok_cached(0x9f000, 8, &g, &cache));     /* RAM part of a ragged page */
    assert_false(guest_buffer_ok_cached(0x9f800, 8, &g, &cache));    /* its hole part */
    assert_true(guest_buffer_ok_cached(0x9f7f8, 8, &g, &cache));
    assert_false(guest_buffer_ok_cached(0x9f7f8, 9, &g, &cache));
    assert_true(guest_buffer_ok_cached(0x80000000, 8, &g, &cache));  /* Reserved, read */
    g.reserved_ok = false;
    assert_false(guest_buffer_ok_cached(0x80000000, 8, &g, &cache)); /* Reserved, buffer: the same page cached */
    g.reserved_ok = true;
    assert_true(guest_buffer_ok_cached(0x2000, 8, &g, &cache));
    assert_int_equal(special_add(&sp, SPECIAL_IOMMU_REGS, 0x2000, 4096, SPECIAL_MAP_NONE), 0);
    assert_false(guest_buffer_ok_cached(0x2000, 8, &g, &cache));     /* added since: cache emptied */
    assert_false(guest_buffer_ok_cached(0xfee00300, 4, &g, &cache));
    assert_false(guest_buffer_ok_cached(0x17e00800, 8, &g, &cache)); /* the block, from mid-page */
    assert_true(guest_buffer_ok_cached(0x17e00000, 8, &g, &cache));  /* the same page below it */
    assert_false(guest_buffer_ok_cached(0x1000, 0, &g, &cache));
    assert_false(guest_buffer_ok_cached(0xfffffffffffffff8ull, 16, &g, &cache)); /* wraps */
    assert_true(guest_buffer_ok_cached(0x1000, 8, &g, NULL));        /* no cache: the plain check */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpuid_leaf1),
        cmocka_unit_test(test_cpuid_hypervisor_leaves),
        cmocka_unit_test(test_cpuid_leaf_rows),
        cmocka_unit_test(test_cpuid_hidden_features),
        cmocka_unit_test(test_cpuid_mirror_guest_cr4),
        cmocka_unit_test(test_msr_answers),
        cmocka_unit_test(test_xsetbv),
        cmocka_unit_test(test_guest_buffers),
        cmocka_unit_test(test_guest_buffers_ram_only),
        cmocka_unit_test(test_guest_buffers_cached),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
