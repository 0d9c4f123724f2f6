/* The AMD-Vi provider (iommu/amdvi.c) against a fake IOMMU that runs its
 * command buffer when the tail moves (COMPLETION_WAIT stores, invalidations
 * counted), over fake physical memory: device table entries, I/O page
 * tables identity minus the protected block, IVMD unity ranges, the event
 * log's IO_PAGE_FAULT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "iommu/amdvi.h"
#include "test_iommu_fake.h"

#define GiB (1ull << 30)
#define MiB (1ull << 20)
#define ADDR_MASK 0x000ffffffffff000ull

struct fake_iommu {
    uint64_t base;
    uint8_t regs[AMDVI_MMIO_SIZE];
    bool stuck;               /* never consumes commands */
    unsigned waits, inv_devtab, inv_pages, inv_all, commands;
    uint16_t last_domain;
};

static struct fake_iommu iommu;
static struct fake_mem mem;

static uint64_t get64(uint32_t off)
{
    uint64_t v;
    memcpy(&v, iommu.regs + off, 8);
    return v;
}

static void put64(uint32_t off, uint64_t v)
{
    memcpy(iommu.regs + off, &v, 8);
}

/* Runs commands from head to tail (2.4). */
static void run_commands(void)
{
    uint32_t head = (uint32_t)get64(AMDVI_REG_CMD_HEAD), tail = (uint32_t)get64(AMDVI_REG_CMD_TAIL);
    uint8_t *ring = fake_virt(&mem, get64(AMDVI_REG_CMD_BASE) & ADDR_MASK);
    assert_non_null(ring);
    assert_int_equal(get64(AMDVI_REG_CMD_BASE) >> 56, 8); /* ComLen: 256 entries */
    while (head != tail) {
        uint32_t c[4];
        memcpy(c, ring + head, 16);
        iommu.commands++;
        switch (c[1] >> 28) {
        case AMDVI_CMD_COMPLETION_WAIT: {
            assert_true(c[0] & 1); /* S */
            uint64_t pa = ((uint64_t)(c[1] & 0xfffff) << 32) | (c[0] & ~7u);
            uint64_t data = (uint64_t)c[3] << 32 | c[2];
            memcpy(fake_virt(&mem, pa), &data, 8);
            iommu.waits++;
            break;
        }
        case AMDVI_CMD_INV_DEVTAB_ENTRY: iommu.inv_devtab++; break;
        case AMDVI_CMD_INV_IOMMU_PAGES:
            iommu.inv_pages++;
            iommu.last_domain = (uint16_t)c[1];
            break;
        case AMDVI_CMD_INV_IOMMU_ALL: iommu.inv_all++; break;
        default: fail_msg("unknown command %u", c[1] >> 28);
        }
        head = (head + 16) % 4096;
    }
    put64(AMDVI_REG_CMD_HEAD, head);
}

static uint32_t f_read32(void *unit, uint32_t off)
{
    (void)unit;
    uint32_t v;
    memcpy(&v, iommu.regs + off, 4);
    return v;
}

static void f_write32(void *unit, uint32_t off, uint32_t v)
{
    (void)unit;
    memcpy(iommu.regs + off, &v, 4);
}

static uint64_t f_read64(void *unit, uint32_t off)
{
    assert_ptr_equal(unit, &iommu);
    assert_true(off + 8 <= sizeof(iommu.regs));
    return get64(off);
}

static void f_write64(void *unit, uint32_t off, uint64_t v)
{
    assert_ptr_equal(unit, &iommu);
    assert_true(off + 8 <= sizeof(iommu.regs));
    if (off == AMDVI_REG_STATUS) { /* RW1C */
        put64(off, get64(off) & ~v);
        return;
    }
    put64(off, v);
    if (off == AMDVI_REG_CMD_TAIL && !iommu.stuck && (get64(AMDVI_REG_CONTROL) & AMDVI_CTRL_CMDBUF_EN))
        run_commands();
}

static const struct iommu_mmio_ops fake_ops = { f_read32, f_write32, f_read64, f_write64 };

static void *map_unit(void *opaque, uint64_t base, uint64_t size)
{
    (void)opaque;
    assert_int_equal(size, AMDVI_MMIO_SIZE);
    return base == iommu.base ? &iommu : NULL;
}

static void fake_iommu_init(uint64_t efr)
{
    memset(&iommu, 0, sizeof(iommu));
    iommu.base = 0xfeb80000;
    put64(AMDVI_REG_EFR, efr);
}

/* One IOMMU (00:00.2) for devices 00:00.0-00:1f.7, a unity range for
 * 00:14.0 above top and an exclusion range inside it. */
static struct tbl ivrs;

static void build_ivrs(void)
{
    t_header(&ivrs, "IVRS", 0x41, 0x30);
    size_t h = t_ivhd(&ivrs, 0x11, 0x0002, 0xfeb80000, 0);
    t_ivhd_entry4(&ivrs, IVHD_RANGE_START, 0x0000, 0);
    t_ivhd_entry4(&ivrs, IVHD_RANGE_END, 0x00ff, 0);
    t_end(&ivrs, h);
    t_ivmd(&ivrs, 0x21, IVMD_FLAG_UNITY | IVMD_FLAG_IR, 0x00a0, 0, 0x200000000ull, 0x2000);
    t_ivmd(&ivrs, 0x20, IVMD_FLAG_EXCLUSION, 0, 0, 0xa0000000, 0x100000);
    t_finish(&ivrs);
}

static struct amdvi a;
static struct iommu_provider prov;
static struct field_error err;
static const uint64_t core_base = 0x7c000000, core_size = 64 * MiB;

static void setup_provider(uint64_t top)
{
    fake_mem_init(&mem);
    struct iommu_platform plat = {
        .table = ivrs.b, .table_len = ivrs.n, .mmio = &fake_ops, .map_unit = map_unit,
        .mem = fake_iommu_mem(&mem), .top = top, .max_polls = 50,
    };
    amdvi_provider_init(&a, &plat, &prov);
}

static uint64_t leaf(uint64_t addr, int *level)
{
    uint64_t *e = pt_lookup(&a.dom.pt, addr, level);
    return e ? *e : 0;
}

#define PTE_RW (1ull | 1ull << 61 | 1ull << 62) /* PR, IR, IW */

static void test_bring_up(void **state)
{
    (void)state;
    build_ivrs();
    fake_iommu_init(AMDVI_EFR_IA_SUP);
    setup_provider(8 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), 0);
    assert_int_equal(prov.protect(prov.ctx, core_base, core_size, &err), 0);
    assert_int_equal(prov.attach(prov.ctx, IOMMU_SBDF(0, 0, 2, 0), &err), 0);
    assert_int_equal(prov.enable(prov.ctx, &err), 0);

    struct amdvi_unit *u = &a.units[0];
    assert_int_equal(u->devtab_entries, 0x100);
    assert_int_equal(u->devtab_pages, 2);
    assert_int_equal(get64(AMDVI_REG_DEVTAB_BASE), u->devtab_pa | 1);
    uint64_t ctrl = get64(AMDVI_REG_CONTROL);
    assert_true(ctrl & AMDVI_CTRL_IOMMU_EN);
    assert_true(ctrl & AMDVI_CTRL_CMDBUF_EN);
    assert_true(ctrl & AMDVI_CTRL_EVENTLOG_EN);
    assert_int_equal(get64(AMDVI_REG_EVENT_BASE), u->event_pa | 8ull << 56);
    assert_int_equal(iommu.inv_all, 1);
    assert_int_equal(iommu.inv_devtab, 0);
    assert_int_equal(iommu.inv_pages, 1);
    assert_int_equal(iommu.last_domain, AMDVI_DOMAIN_ID);
    assert_int_equal(iommu.waits, 1);

    /* DTE of 00:02.0 (DeviceID 0x10): V, TV, Mode 4, root, IR, IW; domain 1. */
    uint64_t *dte = fake_virt(&mem, u->devtab_pa + 0x10 * AMDVI_DTE_SIZE);
    assert_int_equal(dte[0], 3 | 4 << 9 | a.dom.pt.root_pa | 1ull << 61 | 1ull << 62);
    assert_int_equal(dte[1], AMDVI_DOMAIN_ID);
    assert_int_equal(dte[2], 0);

    /* Root entry 0 names a level-3 table; 1 GiB leaves have next level 0. */
    uint64_t *root = fake_virt(&mem, a.dom.pt.root_pa);
    assert_int_equal((root[0] >> 9) & 7, 3);
    assert_int_equal(root[0] & PTE_RW, PTE_RW);
    int level;
    assert_int_equal(leaf(3 * GiB, &level), 3 * GiB | PTE_RW);
    assert_int_equal(level, 3);
    assert_int_equal(leaf(core_base, &level), 0);
    assert_int_equal(leaf(core_base + core_size - 0x1000, &level), 0);
    assert_int_equal(leaf(core_base - 0x1000, &level), (core_base - 2 * MiB) | PTE_RW);
    assert_int_equal(level, 2);
    /* The unity range above top: identity, read-only as it asks. */
    assert_int_equal(leaf(0x200001000ull, &level), 0x200001000ull | 1 | 1ull << 61);
    assert_int_equal(level, 1);
}

static void test_devtab_invalidation_without_ia(void **state)
{
    (void)state;
    build_ivrs();
    fake_iommu_init(0);
    setup_provider(4 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), 0);
    assert_int_equal(prov.enable(prov.ctx, &err), 0);
    assert_int_equal(iommu.inv_devtab, 0x100); /* one per DeviceID, through a wrapping ring */
    assert_int_equal(iommu.inv_all, 0);
    assert_int_equal(a.units[0].cmd_tail, (0x100 + 2) * 16 % 4096);
}

static void test_map_unmap_after_enable(void **state)
{
    (void)state;
    build_ivrs();
    fake_iommu_init(AMDVI_EFR_IA_SUP);
    setup_provider(4 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), 0);
    assert_int_equal(prov.protect(prov.ctx, core_base, core_size, &err), 0);
    assert_int_equal(prov.enable(prov.ctx, &err), 0);
    unsigned before = iommu.inv_pages;
    assert_int_equal(prov.unmap(prov.ctx, 0x10000000, 0x200000, &err), 0);
    assert_int_equal(iommu.inv_pages, before + 1);
    int level;
    assert_int_equal(leaf(0x10000000, &level), 0);
    assert_int_equal(prov.map(prov.ctx, 0x10000000, 0x30000000, 0x200000, IOMMU_WRITE, &err), 0);
    assert_int_equal(leaf(0x10000000, &level), 0x30000000 | 1 | 1ull << 62);
    assert_int_equal(level, 2);
    assert_int_equal(iommu.inv_pages, before + 2);
    assert_int_equal(prov.map(prov.ctx, 0, core_base + 0x1000, 0x1000, IOMMU_READ, &err), -IOMMU_EINVAL);
    assert_string_equal(err.field, "map.phys");
    /* The exclusion range is firmware's: protect refuses to cut into it. */
    assert_int_equal(prov.protect(prov.ctx, 0xa0000000, 0x1000, &err), -IOMMU_EINVAL);
    assert_string_equal(err.field, "IVMD");
}

struct seen {
    unsigned n;
    struct iommu_fault first, last;
};

static void on_fault(void *opaque, const struct iommu_fault *f)
{
    struct seen *s = opaque;
    if (!s->n++)
        s->first = *f;
    s->last = *f;
}

static void test_event_log(void **state)
{
    (void)state;
    build_ivrs();
    fake_iommu_init(AMDVI_EFR_IA_SUP);
    setup_provider(4 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), 0);
    assert_int_equal(prov.enable(prov.ctx, &err), 0);
    struct seen s = { 0 };
    assert_int_equal(prov.read_faults(prov.ctx, on_fault, &s), 0);
    uint32_t *log = fake_virt(&mem, a.units[0].event_pa);
    /* IO_PAGE_FAULT: 00:02.0 writes 0x7c000040 (flags RW = 1, PR = 0). */
    uint32_t ev1[4] = { 0x0010, 2u << 28 | 0x020u << 16 | AMDVI_DOMAIN_ID, 0x7c000040, 0 };
    /* IO_PAGE_FAULT: 01:00.0 reads 0x1_2345_6000. */
    uint32_t ev2[4] = { 0x0100, 2u << 28 | 0x010u << 16, 0x23456000, 1 };
    memcpy(log, ev1, 16);
    memcpy(log + 4, ev2, 16);
    put64(AMDVI_REG_EVENT_TAIL, 32);
    put64(AMDVI_REG_STATUS, AMDVI_STATUS_EVENT_OVERFLOW);
    assert_int_equal(prov.read_faults(prov.ctx, on_fault, &s), 2);
    assert_int_equal(s.first.sbdf, IOMMU_SBDF(0, 0, 2, 0));
    assert_int_equal(s.first.address, 0x7c000040);
    assert_true(s.first.write);
    assert_int_equal(s.first.reason, AMDVI_EVENT_IO_PAGE_FAULT);
    assert_string_equal(s.first.reason_text, "I/O page fault");
    assert_int_equal(s.last.sbdf, IOMMU_SBDF(0, 1, 0, 0));
    assert_int_equal(s.last.address, 0x123456000ull);
    assert_false(s.last.write);
    assert_int_equal(get64(AMDVI_REG_EVENT_HEAD), 32);
    assert_int_equal(get64(AMDVI_REG_STATUS) & AMDVI_STATUS_EVENT_OVERFLOW, 0);
    assert_int_equal(prov.read_faults(prov.ctx, on_fault, &s), 0);
    /* A tail outside the ring is not followed. */
    put64(AMDVI_REG_EVENT_TAIL, 0x10000);
    assert_int_equal(prov.read_faults(prov.ctx, on_fault, &s), 0);
}

static void test_command_timeout(void **state)
{
    (void)state;
    build_ivrs();
    fake_iommu_init(AMDVI_EFR_IA_SUP);
    iommu.stuck = true;
    setup_provider(4 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), 0);
    assert_int_equal(prov.enable(prov.ctx, &err), -IOMMU_ETIMEDOUT);
    assert_string_equal(err.field, "COMPLETION_WAIT");
    assert_false(get64(AMDVI_REG_CONTROL) & AMDVI_CTRL_IOMMU_EN); /* left off */
    assert_false(a.units[0].enabled);
}

static void test_probe_and_attach_errors(void **state)
{
    (void)state;
    build_ivrs();
    fake_iommu_init(AMDVI_EFR_IA_SUP);
    setup_provider(4 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), 0);
    assert_int_equal(prov.attach(prov.ctx, IOMMU_SBDF(0, 2, 0, 0), &err), -IOMMU_ENODEV);
    assert_string_equal(err.field, "IVHD");

    fake_iommu_init(~0ull);
    setup_provider(4 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), -IOMMU_ENODEV);
    assert_string_equal(err.field, "EFR");

    fake_iommu_init(0);
    iommu.base = 0xfeb00000; /* nothing where the IVHD says */
    setup_provider(4 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), -IOMMU_ENODEV);
    assert_string_equal(err.field, "IVHD.base_address");

    t_header(&ivrs, "IVRS", 0, 0); /* IVMD only */
    t_ivmd(&ivrs, 0x20, IVMD_FLAG_UNITY, 0, 0, 0x1000, 0x1000);
    t_finish(&ivrs);
    setup_provider(4 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), -IOMMU_ENODEV);
    assert_string_equal(err.field, "IVRS");

    build_ivrs();
    ivrs.b[48 + 2] = 0x10; /* IVHD length 16: the parser's error comes through */
    setup_provider(4 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), -IOMMU_EINVAL);
    assert_string_equal(err.field, "IVHD.length");
}

static void test_encodings(void **state)
{
    (void)state;
    uint32_t c[4];
    amdvi_cmd_completion_wait(0x123456789ab8ull, 0x1122334455667788ull, c);
    assert_int_equal(c[0], 0x789ab8 | 0x56000000 | 1);
    assert_int_equal(c[1], 0x10000000 | 0x1234);
    assert_int_equal(c[2], 0x55667788);
    assert_int_equal(c[3], 0x11223344);
    amdvi_cmd_inv_devtab_entry(0xbeef, c);
    assert_int_equal(c[0], 0xbeef);
    assert_int_equal(c[1], 0x20000000);
    amdvi_cmd_inv_iommu_pages_all(7, c);
    assert_int_equal(c[1], 0x30000007);
    assert_int_equal(c[2], 0xfffff003);
    assert_int_equal(c[3], 0x7fffffff);
    uint64_t dte[4];
    amdvi_dte(0xabc000, 3, 9, dte);
    assert_int_equal(dte[0], 0xabc000 | 3 | 3 << 9 | 3ull << 61);
    assert_int_equal(dte[1], 9);
    struct iommu_fault f;
    uint32_t zero[4] = { 0 }, other[4] = { 0x0008, 0xfu << 28, 0, 0 };
    assert_false(amdvi_decode_event(zero, 0, &f));
    assert_true(amdvi_decode_event(other, 1, &f));
    assert_int_equal(f.sbdf, IOMMU_SBDF(1, 0, 1, 0));
    assert_string_equal(f.reason_text, "other event (see 2.5)");
}

/* No IVRS from the firmware: the log says so, not a parser error about a
 * buffer at 0x0. */
static void test_no_table(void **state)
{
    (void)state;
    fake_mem_init(&mem);
    struct iommu_platform plat = { .mmio = &fake_ops, .map_unit = map_unit, .mem = fake_iommu_mem(&mem),
                                   .top = 4 * GiB, .max_polls = 50 };
    amdvi_provider_init(&a, &plat, &prov);
    expect_no_table(&prov, IOMMU_MODE_AMDVI, "AMD-Vi: no IVRS table",
                    "iommu: amdvi: probe failed (-2): IVRS: AMD-Vi: no IVRS table\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bring_up),
        cmocka_unit_test(test_devtab_invalidation_without_ia),
        cmocka_unit_test(test_map_unmap_after_enable),
        cmocka_unit_test(test_event_log),
        cmocka_unit_test(test_command_timeout),
        cmocka_unit_test(test_no_table),
        cmocka_unit_test(test_probe_and_attach_errors),
        cmocka_unit_test(test_encodings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
