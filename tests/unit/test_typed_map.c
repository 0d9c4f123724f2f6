/* The identity maps' memory types (hv/typed_map.c): the guest's map (EPT
 * format, the core's block left out) and the core's own map (host format,
 * the block in, UC over MMIO through PCD|PWT so that the guest's MTRR
 * writes cannot make the core's MMIO accesses cacheable). Every 4 KiB
 * page of [0, 4 GiB) is compared with a reading made without the builder:
 * the MTRR model's type of that page (mtrr_type_at), made UC where the
 * memory map does not call the page RAM or Reserved. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <minihv/x86.h>
#include "hv/typed_map.h"

#define POOL_PAGES 512
#define POOL_BASE 0x1000000000ull /* fake physical address of the tables' page 0 */
#define MIB (1ull << 20)
#define GIB (1ull << 30)

static uint8_t mem[POOL_PAGES][4096] __attribute__((aligned(4096)));
static unsigned used;

static uint64_t pool_alloc(void *opaque)
{
    (void)opaque;
    if (used == POOL_PAGES)
        return 0;
    memset(mem[used], 0, 4096);
    return POOL_BASE + (uint64_t)used++ * 4096;
}

static void *pool_virt(void *opaque, uint64_t pa)
{
    (void)opaque;
    assert_true(pa >= POOL_BASE && pa < POOL_BASE + POOL_PAGES * 4096ull);
    return mem[(pa - POOL_BASE) / 4096];
}

static struct minihv_boot_info bi;
static const uint64_t block = 0x7b000000, block_size = 0x1a00000;

/* OVMF on q35 with 2 GiB, roughly: RAM below 640 KiB and from 1 MiB, the
 * top of RAM Reserved, the 32-bit PCI hole not described, the I/O APIC,
 * HPET and local APIC MMIO, the flash Reserved. MTRRs: default UC, WB for
 * [0, 2 GiB), the VGA window UC, one WT range over part of the RAM. */
static struct mtrr_state setup(void)
{
    memset(&bi, 0, sizeof(bi));
    const struct minihv_mem_range r[] = {
        { 0, 0xa0000, MINIHV_MEM_RAM, 0 },
        { 0x100000, 0x7f000000 - 0x100000, MINIHV_MEM_RAM, 0 },
        { 0x7f000000, 0x1000000, MINIHV_MEM_RESERVED, 0 },
        { 0xfec00000, 0x1000, MINIHV_MEM_MMIO, 0 },
        { 0xfee00000, 0x1000, MINIHV_MEM_MMIO, 0 },
        { 0xffc00000, 0x400000, MINIHV_MEM_RESERVED, 0 },
    };
    memcpy(bi.mem, r, sizeof(r));
    bi.mem_range_count = sizeof(r) / sizeof(r[0]);
    bi.hv_phys_base = block;
    bi.hv_phys_size = block_size;
    bi.phys_top = 4 * GIB;
    struct mtrr_state s = { .cap = 0x508, .def_type = (1ull << 11) | (1ull << 10) | MEMTYPE_UC,
                            .phys_bits = 40, .var_count = 8 };
    for (unsigned i = 0; i < MTRR_FIXED_MSRS; i++)
        s.fixed[i] = 0x0606060606060606ull;
    s.fixed[2] = 0; /* 0xA0000-0xBFFFF UC */
    const uint64_t m40 = (1ull << 40) - 1;
    s.var[0] = (struct mtrr_var){ MEMTYPE_WB, (~(2 * GIB - 1) & m40) | (1ull << 11) };
    s.var[1] = (struct mtrr_var){ 0x40000000 | MEMTYPE_WT, (~(2 * MIB - 1) & m40) | (1ull << 11) };
    return s;
}

static bool described_as_memory(uint64_t pa)
{
    for (unsigned i = 0; i < bi.mem_range_count; i++)
        if ((bi.mem[i].type == MINIHV_MEM_RAM || bi.mem[i].type == MINIHV_MEM_RESERVED) && pa >= bi.mem[i].base &&
            pa - bi.mem[i].base < bi.mem[i].size)
            return true;
    return false;
}

static unsigned expected_type(const struct mtrr_state *s, uint64_t pa)
{
    unsigned t = mtrr_type_at(s, pa);
    return (t == MEMTYPE_WB && !described_as_memory(pa)) ? MEMTYPE_UC : t;
}

static void check_map(const struct pt_format *fmt, bool guest)
{
    struct mtrr_state s = setup();
    used = 0;
    struct pt_ctx pt = { .fmt = fmt, .allow_1g = true, .alloc_page = pool_alloc, .phys_to_virt = pool_virt };
    assert_int_equal(pt_init(&pt), PT_OK);
    for (uint64_t base = 0; base < bi.phys_top; base += GIB)
        assert_int_equal(typed_map_block(&pt, &bi, &s, base, GIB, 3, guest), PT_OK);
    unsigned uc_mmio = 0;
    for (uint64_t pa = 0; pa < bi.phys_top; pa += PAGE_SIZE) {
        int level;
        uint64_t *e = pt_lookup(&pt, pa, &level);
        bool in_block = pa >= block && pa < block + block_size;
        if (guest && in_block) {
            assert_true(e == NULL || !fmt->present(*e));
            continue;
        }
        assert_non_null(e);
        uint32_t attrs = fmt->leaf_attrs(*e, level);
        unsigned want = expected_type(&s, pa);
        if (PT_ATTR_MEMTYPE(attrs) != want)
            fail_msg("%s map: page 0x%llx type %u, want %u", fmt->name, (unsigned long long)pa,
                     PT_ATTR_MEMTYPE(attrs), want);
        assert_true((attrs & PT_RWX) == PT_RWX);
        if (fmt == &pt_format_host && want == MEMTYPE_UC) {
            /* PAT3 (PCD|PWT): UC whatever the MTRRs become (SDM Vol. 3A 12.5.2.2) */
            assert_int_equal(*e & (PTE_PCD | PTE_PWT), PTE_PCD | PTE_PWT);
            uc_mmio += !described_as_memory(pa);
        }
    }
    if (fmt == &pt_format_host) {
        assert_true(uc_mmio > 0x3f000); /* the PCI hole [2 GiB, 0xFEC00000) and the APIC pages */
        int level;
        uint64_t *e = pt_lookup(&pt, block, &level);
        assert_non_null(e);
        assert_int_equal(*e & (PTE_PCD | PTE_PWT), 0); /* the core's block: WB (PAT0) */
    }
}

static void test_guest_map(void **state)
{
    (void)state;
    check_map(&pt_format_ept, true);
}

static void test_host_map(void **state)
{
    (void)state;
    check_map(&pt_format_host, false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_guest_map),
        cmocka_unit_test(test_host_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
