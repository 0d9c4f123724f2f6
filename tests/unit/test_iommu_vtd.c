/* The VT-d provider (iommu/vtd.c) against a fake register file that
 * models the status bits (GSTS follows GCMD, CCMD.ICC and IOTLB.IVT clear
 * when done, fault records' F is write-1-to-clear, FSTS.PPF follows them),
 * over fake physical memory: root/context entries, second-level tables
 * identity minus the protected block, RMRRs, levels from SAGAW, faults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "iommu/vtd.h"
#include "test_iommu_fake.h"

#define GiB (1ull << 30)
#define MiB (1ull << 20)
#define FAULT_REG 0x200 /* CAP.FRO = 0x20 */
#define IOTLB_REG 0x108 /* ECAP.IRO = 0x10, IOTLB_REG = IRO + 8 */

struct fake_unit {
    uint64_t base;
    uint8_t regs[4096];
    uint32_t gsts;
    bool stuck;                 /* GSTS ignores GCMD */
    unsigned srtp, ccmd_global, iotlb_global, wbf;
    uint64_t active_root;
};

static struct fake_unit units[2];
static struct fake_mem mem;

static uint64_t get64(struct fake_unit *u, uint32_t off)
{
    uint64_t v;
    memcpy(&v, u->regs + off, 8);
    return v;
}

static void put64(struct fake_unit *u, uint32_t off, uint64_t v)
{
    memcpy(u->regs + off, &v, 8);
}

static uint32_t f_read32(void *unit, uint32_t off)
{
    struct fake_unit *u = unit;
    assert_true(off + 4 <= sizeof(u->regs));
    if (off == VTD_REG_GSTS)
        return u->gsts;
    uint32_t v;
    memcpy(&v, u->regs + off, 4);
    if (off == VTD_REG_FSTS) {
        v &= ~VTD_FSTS_PPF;
        for (unsigned i = 0; i < 4; i++)
            if (get64(u, FAULT_REG + 16 * i + 8) >> 63)
                v |= VTD_FSTS_PPF;
    }
    return v;
}

static void f_write32(void *unit, uint32_t off, uint32_t v)
{
    struct fake_unit *u = unit;
    assert_true(off + 4 <= sizeof(u->regs));
    if (off == VTD_REG_GCMD) {
        if (u->stuck)
            return;
        /* TE (and the other persistent bits) are state; SRTP/WBF one-shot. */
        uint32_t state = VTD_GCMD_TE | VTD_GCMD_QIE | VTD_GCMD_IRE;
        u->gsts = (u->gsts & ~state) | (v & state);
        if (v & VTD_GCMD_SRTP) {
            u->srtp++;
            u->active_root = get64(u, VTD_REG_RTADDR);
            u->gsts |= VTD_GCMD_SRTP; /* RTPS */
        }
        if (v & VTD_GCMD_WBF)
            u->wbf++;
        return;
    }
    if (off >= FAULT_REG && off < FAULT_REG + 64 && (off & 15) == 12) {
        if (v >> 31) /* F: write 1 to clear */
            u->regs[off + 3] &= 0x7f;
        return;
    }
    if (off == VTD_REG_FSTS) {
        uint32_t cur;
        memcpy(&cur, u->regs + off, 4);
        cur &= ~(v & VTD_FSTS_PFO);
        memcpy(u->regs + off, &cur, 4);
        return;
    }
    if (off == VTD_REG_PMEN) {
        uint32_t cur = v & VTD_PMEN_EPM ? VTD_PMEN_EPM | VTD_PMEN_PRS : 0;
        memcpy(u->regs + off, &cur, 4);
        return;
    }
    memcpy(u->regs + off, &v, 4);
}

static uint64_t f_read64(void *unit, uint32_t off)
{
    struct fake_unit *u = unit;
    assert_true(off + 8 <= sizeof(u->regs));
    return get64(u, off);
}

static void f_write64(void *unit, uint32_t off, uint64_t v)
{
    struct fake_unit *u = unit;
    assert_true(off + 8 <= sizeof(u->regs));
    if (off == VTD_REG_CCMD && (v & VTD_CCMD_ICC)) {
        if (u->stuck)
            return put64(u, off, v);
        if (v & VTD_CCMD_GLOBAL)
            u->ccmd_global++;
        v &= ~VTD_CCMD_ICC;
    }
    if (off == IOTLB_REG && (v & VTD_IOTLB_IVT)) {
        if ((v & (3ull << 60)) == VTD_IOTLB_GLOBAL)
            u->iotlb_global++;
        v &= ~VTD_IOTLB_IVT;
    }
    put64(u, off, v);
}

static const struct iommu_mmio_ops fake_ops = { f_read32, f_write32, f_read64, f_write64 };

static void *map_unit(void *opaque, uint64_t base, uint64_t size)
{
    (void)opaque;
    assert_true(size >= 4096);
    for (unsigned i = 0; i < 2; i++)
        if (units[i].base == base)
            return &units[i];
    return NULL;
}

/* CAP: ND=2, SAGAW, MGAW, FRO 0x20, SLLPS, NFR 4; ECAP: C, IRO 0x10. */
static void fake_unit_init(struct fake_unit *u, uint64_t base, uint32_t sagaw, unsigned mgaw,
                           unsigned sllps, bool coherent)
{
    memset(u, 0, sizeof(*u));
    u->base = base;
    uint64_t cap = 2 | (uint64_t)sagaw << 8 | (uint64_t)(mgaw - 1) << 16 | 0x20ull << 24 |
                   (uint64_t)sllps << 34 | 3ull << 40;
    put64(u, VTD_REG_CAP, cap);
    put64(u, VTD_REG_ECAP, (coherent ? 1 : 0) | 0x10ull << 8);
}

/* A QEMU-like DMAR: one INCLUDE_PCI_ALL unit, an RMRR at 3 GiB and one
 * above `top`; `scoped` adds a graphics-only unit first. */
static struct tbl dmar;

static void build_dmar(bool include_all)
{
    static const uint8_t usb[] = { 0x14, 0 }, igd[] = { 2, 0 };
    t_header(&dmar, "DMAR", 47, 0);
    size_t d = t_dmar_drhd(&dmar, include_all ? 1 : 0, 0, 0xfed90000);
    if (!include_all)
        t_dmar_scope(&dmar, DMAR_SCOPE_ENDPOINT, 0, 0, igd, 1);
    t_end(&dmar, d);
    size_t r = t_dmar_rmrr(&dmar, 0, 0xc0000000, 0xc00fffff);
    t_dmar_scope(&dmar, DMAR_SCOPE_ENDPOINT, 0, 0, usb, 1);
    t_end(&dmar, r);
    r = t_dmar_rmrr(&dmar, 0, 0x200000000ull, 0x200001fffull);
    t_dmar_scope(&dmar, DMAR_SCOPE_ENDPOINT, 0, 0, usb, 1);
    t_end(&dmar, r);
    t_finish(&dmar);
}

static struct vtd v;
static struct iommu_provider prov;
static struct field_error err;
static const uint64_t core_base = 0x7c000800, core_size = 64 * MiB; /* unaligned on purpose */

static void setup_provider(uint64_t top)
{
    fake_mem_init(&mem);
    struct iommu_platform plat = {
        .table = dmar.b, .table_len = dmar.n, .mmio = &fake_ops, .map_unit = map_unit,
        .mem = fake_iommu_mem(&mem), .top = top, .max_polls = 50,
    };
    vtd_provider_init(&v, &plat, &prov);
}

/* The second-level leaf for `addr`: entry value and level; 0 if none. */
static uint64_t leaf(uint64_t addr, int *level)
{
    uint64_t *e = pt_lookup(&v.dom.pt, addr, level);
    return e ? *e : 0;
}

static void test_bring_up(void **state)
{
    (void)state;
    build_dmar(true);
    fake_unit_init(&units[0], 0xfed90000, 0x4 | 0x2, 48, 0x3, true);
    setup_provider(8 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), 0);
    assert_int_equal(v.levels, 4);
    assert_int_equal(prov.protect(prov.ctx, core_base, core_size, &err), 0);
    assert_int_equal(prov.attach(prov.ctx, IOMMU_SBDF(0, 0, 2, 0), &err), 0);
    assert_int_equal(prov.enable(prov.ctx, &err), 0);

    struct fake_unit *u = &units[0];
    assert_true(u->gsts & VTD_GCMD_TE);
    assert_int_equal(u->active_root, v.root_table_pa);
    assert_int_equal(u->srtp, 1);
    assert_int_equal(u->ccmd_global, 1);
    assert_int_equal(u->iotlb_global, 1);

    /* Root entry for bus 5 -> the context table; context entry for 00:02.0. */
    uint64_t *root = fake_virt(&mem, v.root_table_pa);
    assert_int_equal(root[2 * 5], v.context_table_pa | 1);
    uint64_t *ctx = fake_virt(&mem, v.context_table_pa);
    assert_int_equal(ctx[2 * 0x10], v.dom.pt.root_pa | 1);
    assert_int_equal(ctx[2 * 0x10 + 1], 2 | VTD_DOMAIN_ID << 8); /* AW 010b: 4 levels */

    /* Identity RW with 1 GiB leaves; the core's block (rounded out to
     * pages) not mapped; its edges split down to 4 KiB. */
    int level;
    assert_int_equal(leaf(0, &level), 0 | 3 | (1 << 7));
    assert_int_equal(level, 3);
    assert_int_equal(leaf(5 * GiB + 0x1234000, &level), (5 * GiB) | 3 | (1 << 7));
    assert_int_equal(leaf(0x7c000000, &level), 0);
    assert_int_equal(leaf(0x7c000000 + core_size, &level), 0);
    assert_int_equal(leaf(0x80001000, &level), 0x80001000 | 3);
    assert_int_equal(level, 1);
    assert_int_equal(leaf(0x7bfff000, &level), 0x7be00000 | 3 | (1 << 7));
    assert_int_equal(level, 2);
    /* RMRR above top: identity, 4 KiB. */
    assert_int_equal(leaf(0x200001000ull, &level), 0x200001000ull | 3);
    assert_int_equal(leaf(8 * GiB + 0x200000, &level), 0);
}

/* Review R (session 7): what hv/iommu_hw.c asks to protect on a server:
 * the block, the log ring and one page per I/O APIC (the MADT may list
 * 16). Seven I/O APICs make 9 ranges; every one must be protected. */
static void test_protect_many_ioapics(void **state)
{
    (void)state;
    build_dmar(true);
    fake_unit_init(&units[0], 0xfed90000, 0x4 | 0x2, 48, 0x3, true);
    setup_provider(8 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), 0);
    assert_int_equal(prov.protect(prov.ctx, core_base, core_size, &err), 0);
    assert_int_equal(prov.protect(prov.ctx, 0x4000000, 0x41000, &err), 0); /* the log ring */
    for (unsigned i = 0; i < 7; i++)
        assert_int_equal(prov.protect(prov.ctx, 0xfec00000 + 0x100000ull * i, 0x1000, &err), 0);
    /* The rest of the worst case hv/iommu_hw.c builds: 16 I/O APICs, IOMMU
     * register sets, the judged pages and 8 MCFG windows of 256 MiB. */
    for (unsigned i = 7; i < 16; i++)
        assert_int_equal(prov.protect(prov.ctx, 0xfec00000 + 0x100000ull * i, 0x1000, &err), 0);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(prov.protect(prov.ctx, 0xfed90000 + 0x1000ull * i, 0x1000, &err), 0);
    assert_int_equal(prov.protect(prov.ctx, 0xfed80000, 0x1000, &err), 0); /* FCH AcpiMmio */
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(prov.protect(prov.ctx, 0x100000000ull + (256ull << 20) * i, 256ull << 20, &err), 0);
    int level;
    assert_int_equal(leaf(0xfec00000 + 0x100000ull * 15, &level), 0);
    assert_int_equal(leaf(0xfed90000 + 0x1000ull * 7, &level), 0);
    assert_int_equal(leaf(0x100000000ull + (256ull << 20) * 7 + 0xf8000, &level), 0);
    assert_int_equal(leaf(0xfed7f000, &level) & 3, 3);
    /* An ECAM page inside its window takes no slot: fill the rest, then
     * that page still goes in and one range more is refused, by name. */
    unsigned used = 2 + 16 + 8 + 1 + 8;
    for (unsigned i = used; i < IOMMU_DOMAIN_MAX_PROTECTED; i++)
        assert_int_equal(prov.protect(prov.ctx, 0x40000000ull + 0x2000ull * i, 0x1000, &err), 0);
    assert_int_equal(prov.protect(prov.ctx, 0x100000000ull + 0xf8000, 0x1000, &err), 0);
    assert_int_equal(prov.protect(prov.ctx, 0x3f000000, 0x1000, &err), -IOMMU_ENOSPC);
    assert_string_equal(err.field, "protect");
    assert_int_equal(err.offset, IOMMU_DOMAIN_MAX_PROTECTED);
    assert_int_equal(leaf(0x3f000000, &level) & 3, 3); /* still mapped: refused, not half done */
}

/* Review R s7, finding 3: `iommu = auto` with the worst case hv/iommu_hw.c
 * asks for (block, ring, 16 I/O APICs, 8 MCFG windows) brings VT-d up;
 * with 8 slots it fell back to the none provider (DMA not contained). */
static void test_auto_many_ranges(void **state)
{
    (void)state;
    build_dmar(true);
    fake_unit_init(&units[0], 0xfed90000, 0x4 | 0x2, 48, 0x3, true);
    setup_provider(8 * GiB);
    struct iommu_range r[2 + 16 + 8] = { { core_base, core_size }, { 0x4000000, 0x41000 } };
    for (unsigned i = 0; i < 16; i++)
        r[2 + i] = (struct iommu_range){ 0xfec00000 + 0x100000ull * i, 0x1000 };
    for (unsigned i = 0; i < 8; i++)
        r[18 + i] = (struct iommu_range){ 0x100000000ull + (256ull << 20) * i, 256ull << 20 };
    struct iommu_request req = { r, 26, NULL, 0, NULL, NULL };
    assert_ptr_equal(iommu_select(IOMMU_MODE_AUTO, &prov, 1, &req), &prov);
    assert_true(units[0].gsts & VTD_GCMD_TE);
}

static void test_map_unmap_after_enable(void **state)
{
    (void)state;
    build_dmar(true);
    fake_unit_init(&units[0], 0xfed90000, 0x4, 48, 0x3, true);
    setup_provider(4 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), 0);
    assert_int_equal(prov.protect(prov.ctx, core_base, core_size, &err), 0);
    assert_int_equal(prov.enable(prov.ctx, &err), 0);
    unsigned before = units[0].iotlb_global;
    assert_int_equal(prov.unmap(prov.ctx, 0x10000000, 0x1000, &err), 0);
    assert_int_equal(units[0].iotlb_global, before + 1);
    int level;
    assert_int_equal(leaf(0x10000000, &level), 0);
    assert_int_equal(prov.map(prov.ctx, 0x10000000, 0x20000000, 0x1000, IOMMU_READ, &err), 0);
    assert_int_equal(leaf(0x10000000, &level), 0x20000000 | 1);
    assert_int_equal(units[0].iotlb_global, before + 2);
    /* Never a mapping onto protected memory, whatever the IOVA. */
    assert_int_equal(prov.map(prov.ctx, 0x10000000, 0x7c100000, 0x1000, IOMMU_READ, &err), -IOMMU_EINVAL);
    assert_string_equal(err.field, "map.phys");
    assert_int_equal(prov.map(prov.ctx, 0x10000001, 0, 0x1000, IOMMU_READ, &err), -IOMMU_EINVAL);
    /* Overlapping an RMRR: refused. */
    assert_int_equal(prov.protect(prov.ctx, 0xc0080000, 0x100000, &err), -IOMMU_EINVAL);
    assert_string_equal(err.field, "RMRR");
}

static void test_three_levels(void **state)
{
    (void)state;
    build_dmar(true);
    fake_unit_init(&units[0], 0xfed90000, 0x2, 39, 0x1, false); /* QEMU aw-bits=39, no 1G, no snoop */
    setup_provider(8 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), 0);
    assert_int_equal(v.levels, 3);
    uint64_t *pml4 = fake_virt(&mem, v.dom.pt.root_pa);
    assert_int_equal(v.slpt_pa, pml4[0] & ~0xfffull);
    uint64_t *ctx = fake_virt(&mem, v.context_table_pa);
    assert_int_equal(ctx[1], 1 | VTD_DOMAIN_ID << 8); /* AW 001b */
    pt_count_leaves(&v.dom.pt);
    assert_int_equal(v.dom.pt.stats.leaves[2], 0); /* no 1 GiB leaves without SLLPS bit 1 */
    assert_int_equal(v.dom.pt.stats.leaves[1], 4096); /* 8 GiB of 2 MiB leaves */
    assert_int_equal(v.dom.pt.stats.leaves[0], 2);    /* the RMRR above top */
    assert_int_equal(prov.enable(prov.ctx, &err), 0);
    assert_true(mem.flushes > 0); /* ECAP.C = 0: tables written back */
    /* An IOVA beyond 39 bits cannot be mapped. */
    assert_int_equal(prov.map(prov.ctx, 1ull << 40, 0, 0x1000, IOMMU_READ, &err), -IOMMU_EINVAL);
}

static void test_choose_levels(void **state)
{
    (void)state;
    int levels;
    assert_int_equal(vtd_choose_levels(0x2, 1ull << 40, &levels, &err), -IOMMU_ENODEV);
    assert_string_equal(err.field, "CAP.SAGAW");
    assert_int_equal(vtd_choose_levels(0xa, 1ull << 40, &levels, &err), 0);
    assert_int_equal(levels, 5);
    assert_int_equal(vtd_choose_levels(0x6, 1ull << 40, &levels, &err), 0);
    assert_int_equal(levels, 4);
    assert_int_equal(vtd_choose_levels(0x0, 1, &levels, &err), -IOMMU_ENODEV);
    uint64_t ce[2];
    vtd_context_entry(0x12345000, 5, 7, ce);
    assert_int_equal(ce[0], 0x12345001);
    assert_int_equal(ce[1], 3 | 7 << 8);
}

static void test_five_levels(void **state)
{
    (void)state;
    build_dmar(true);
    fake_unit_init(&units[0], 0xfed90000, 0x8, 57, 0x3, true);
    setup_provider(4 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), 0);
    assert_int_equal(v.levels, 5);
    uint64_t *l5 = fake_virt(&mem, v.slpt_pa);
    assert_int_equal(l5[0], v.dom.pt.root_pa | 3);
    assert_int_equal(l5[1], 0);
}

static void test_probe_errors(void **state)
{
    (void)state;
    build_dmar(true);
    fake_unit_init(&units[0], 0xfed90000, 0x4, 48, 0x0, true);
    setup_provider(4 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), -IOMMU_ENODEV);
    assert_string_equal(err.field, "CAP.SLLPS");

    fake_unit_init(&units[0], 0xfed90000, 0x4, 36, 0x3, true); /* MGAW 36 < top 128 GiB */
    setup_provider(128 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), -IOMMU_ENODEV);
    assert_string_equal(err.field, "CAP.MGAW");

    fake_unit_init(&units[0], 0xfed90000, 0x4, 48, 0x3, true);
    put64(&units[0], VTD_REG_CAP, ~0ull);
    setup_provider(4 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), -IOMMU_ENODEV);
    assert_string_equal(err.field, "CAP");

    fake_unit_init(&units[0], 0xfed90000, 0x4, 48, 0x3, true);
    put64(&units[0], VTD_REG_ECAP, 0x3ffull << 8); /* IOTLB registers at 0x3ff8 */
    setup_provider(4 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), -IOMMU_EINVAL);
    assert_string_equal(err.field, "ECAP.IRO");

    fake_unit_init(&units[0], 0xfed80000, 0x4, 48, 0x3, true); /* not where the DRHD says */
    setup_provider(4 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), -IOMMU_ENODEV);
    assert_string_equal(err.field, "DRHD.register_base");

    dmar.b[48 + 2] = 0; /* DRHD length 0: the parser's error comes through */
    setup_provider(4 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), -IOMMU_EINVAL);
    assert_string_equal(err.field, "structure.length");
}

static void test_attach_uncovered(void **state)
{
    (void)state;
    build_dmar(false); /* only 00:02.0 has a unit */
    fake_unit_init(&units[0], 0xfed90000, 0x4, 48, 0x3, true);
    setup_provider(4 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), 0);
    assert_int_equal(prov.attach(prov.ctx, IOMMU_SBDF(0, 0, 2, 0), &err), 0);
    assert_int_equal(prov.attach(prov.ctx, IOMMU_SBDF(0, 1, 0, 0), &err), -IOMMU_ENODEV);
    assert_string_equal(err.field, "DRHD");
}

static void test_enable_timeout(void **state)
{
    (void)state;
    build_dmar(true);
    fake_unit_init(&units[0], 0xfed90000, 0x4, 48, 0x3, true);
    units[0].stuck = true;
    setup_provider(4 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), 0);
    assert_int_equal(prov.enable(prov.ctx, &err), -IOMMU_ETIMEDOUT);
    assert_string_equal(err.field, "GSTS.RTPS");
    assert_int_equal(err.offset, VTD_REG_GSTS);
    assert_false(units[0].gsts & VTD_GCMD_TE);
    assert_false(v.units[0].enabled);
}

/* Firmware left protected memory regions, interrupt remapping and queued
 * invalidation on. */
static void test_firmware_state_undone(void **state)
{
    (void)state;
    build_dmar(true);
    fake_unit_init(&units[0], 0xfed90000, 0x4, 48, 0x3, true);
    units[0].gsts = VTD_GCMD_QIE | VTD_GCMD_IRE;
    put64(&units[0], VTD_REG_CAP, get64(&units[0], VTD_REG_CAP) | 3 << 5); /* PLMR, PHMR */
    f_write32(&units[0], VTD_REG_PMEN, VTD_PMEN_EPM); /* firmware left them on */
    setup_provider(4 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), 0);
    assert_int_equal(prov.enable(prov.ctx, &err), 0);
    assert_int_equal(f_read32(&units[0], VTD_REG_PMEN), 0);
    assert_int_equal(units[0].gsts & VTD_GCMD_QIE, 0);
    assert_int_equal(units[0].gsts & VTD_GCMD_IRE, 0);
    assert_int_equal(units[0].ccmd_global, 1);
}

struct seen {
    unsigned n;
    struct iommu_fault last;
};

static void on_fault(void *opaque, const struct iommu_fault *f)
{
    struct seen *s = opaque;
    s->n++;
    s->last = *f;
}

static void test_faults(void **state)
{
    (void)state;
    build_dmar(true);
    fake_unit_init(&units[0], 0xfed90000, 0x4, 48, 0x3, true);
    setup_provider(4 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), 0);
    assert_int_equal(prov.enable(prov.ctx, &err), 0);
    struct seen s = { 0 };
    assert_int_equal(prov.read_faults(prov.ctx, on_fault, &s), 0);
    /* Record 2: a write by 00:02.0 to 0x7c001000, reason 5 (not writable). */
    put64(&units[0], FAULT_REG + 32, 0x7c001000);
    put64(&units[0], FAULT_REG + 40, 1ull << 63 | 0ull << 62 | 5ull << 32 | 0x0010);
    /* Record 3: a read by 03:00.1 at 0x123456789000, reason 6. */
    put64(&units[0], FAULT_REG + 48, 0x123456789abcull);
    put64(&units[0], FAULT_REG + 56, 1ull << 63 | 1ull << 62 | 6ull << 32 | 0x0301);
    assert_true(f_read32(&units[0], VTD_REG_FSTS) & VTD_FSTS_PPF);
    assert_int_equal(prov.read_faults(prov.ctx, on_fault, &s), 2);
    assert_int_equal(s.last.sbdf, IOMMU_SBDF(0, 3, 0, 1));
    assert_int_equal(s.last.address, 0x123456789000ull);
    assert_false(s.last.write);
    assert_int_equal(s.last.reason, 6);
    assert_string_equal(s.last.reason_text, "read from a page not readable");
    assert_false(f_read32(&units[0], VTD_REG_FSTS) & VTD_FSTS_PPF); /* cleared */
    assert_int_equal(prov.read_faults(prov.ctx, on_fault, &s), 0);

    struct iommu_fault f;
    vtd_decode_fault(0x7c001fff, 1ull << 63 | 5ull << 32 | 0x0010, 2, &f);
    assert_int_equal(f.sbdf, IOMMU_SBDF(2, 0, 2, 0));
    assert_int_equal(f.address, 0x7c001000);
    assert_true(f.write);
    assert_int_equal(f.reason, 5);
    vtd_decode_fault(0, 0x7full << 32, 0, &f);
    assert_string_equal(f.reason_text, "other (see VT-d appendix A)");
}

static void test_two_units(void **state)
{
    (void)state;
    static const uint8_t igd[] = { 2, 0 };
    t_header(&dmar, "DMAR", 38, 0);
    size_t d = t_dmar_drhd(&dmar, 0, 0, 0xfed90000);
    t_dmar_scope(&dmar, DMAR_SCOPE_ENDPOINT, 0, 0, igd, 1);
    t_end(&dmar, d);
    d = t_dmar_drhd(&dmar, 1, 0, 0xfed91000);
    t_end(&dmar, d);
    t_finish(&dmar);
    fake_unit_init(&units[0], 0xfed90000, 0x2, 39, 0x1, true); /* 3-level only, 2M only */
    fake_unit_init(&units[1], 0xfed91000, 0x6, 48, 0x3, true);
    put64(&units[1], VTD_REG_CAP, get64(&units[1], VTD_REG_CAP) | 1 << 4); /* RWBF */
    setup_provider(4 * GiB);
    assert_int_equal(prov.probe(prov.ctx, &err), 0);
    assert_int_equal(v.levels, 3);      /* what both units offer */
    assert_false(v.dom.pt.allow_1g);
    assert_int_equal(prov.enable(prov.ctx, &err), 0);
    assert_true(units[0].gsts & VTD_GCMD_TE);
    assert_true(units[1].gsts & VTD_GCMD_TE);
    assert_int_equal(units[1].wbf, 1);
    assert_int_equal(units[0].wbf, 0);
}

/* No DMAR from the firmware: the log says so, not a parser error about a
 * buffer at 0x0. */
static void test_no_table(void **state)
{
    (void)state;
    fake_mem_init(&mem);
    struct iommu_platform plat = { .mmio = &fake_ops, .map_unit = map_unit, .mem = fake_iommu_mem(&mem),
                                   .top = 4 * GiB, .max_polls = 50 };
    vtd_provider_init(&v, &plat, &prov);
    expect_no_table(&prov, IOMMU_MODE_VTD, "VT-d: no DMAR table",
                    "iommu: vtd: probe failed (-2): DMAR: VT-d: no DMAR table\n");
}

/* MCHBAR's GFXVTBAR/VTDBAR (Intel client chipsets): the window from config
 * 0x48, and which writes in it the core drops (counted iommu-regs). */
static void test_mchbar_guard(void **state)
{
    (void)state;
    assert_int_equal(vtd_mchbar_base(0xfed10001ull), 0xfed10000ull);
    assert_int_equal(vtd_mchbar_base(0xfed10000ull), 0);            /* MCHBAREN clear */
    assert_int_equal(vtd_mchbar_base(0x7ffffff8001ull), 0x7fffff8000ull); /* bits 38:15 only */
    assert_int_equal(vtd_mchbar_base(0xfed17ff1ull), 0xfed10000ull);  /* bits 14:1 reserved */
    /* GFXVTBAR [0x5400, 0x5408), VTDPVC0BAR [0x5410, 0x5418): any byte of either. */
    assert_true(vtd_mchbar_guarded(0x5400, 8));
    assert_true(vtd_mchbar_guarded(0x5400, 1));
    assert_true(vtd_mchbar_guarded(0x5404, 4)); /* the high dword */
    assert_true(vtd_mchbar_guarded(0x5407, 1));
    assert_true(vtd_mchbar_guarded(0x53fc, 8)); /* reaches 0x5400 */
    assert_true(vtd_mchbar_guarded(0x5410, 4));
    assert_true(vtd_mchbar_guarded(0x5417, 1));
    assert_true(vtd_mchbar_guarded(0x540c, 8)); /* 0x540c-0x5413: VTDBAR's low bytes */
    /* The gap between them, their neighbours and the rest of the page pass. */
    assert_false(vtd_mchbar_guarded(0x5408, 8));
    assert_false(vtd_mchbar_guarded(0x53f8, 8));
    assert_false(vtd_mchbar_guarded(0x5418, 8));
    assert_false(vtd_mchbar_guarded(0x5000, 4));
    assert_false(vtd_mchbar_guarded(0x5da8, 4));
    assert_false(vtd_mchbar_guarded(0x5400, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bring_up),
        cmocka_unit_test(test_mchbar_guard),
        cmocka_unit_test(test_map_unmap_after_enable),
        cmocka_unit_test(test_three_levels),
        cmocka_unit_test(test_choose_levels),
        cmocka_unit_test(test_five_levels),
        cmocka_unit_test(test_no_table),
        cmocka_unit_test(test_probe_errors),
        cmocka_unit_test(test_attach_uncovered),
        cmocka_unit_test(test_enable_timeout),
        cmocka_unit_test(test_firmware_state_undone),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_two_units),
        cmocka_unit_test(test_protect_many_ioapics),
        cmocka_unit_test(test_auto_many_ranges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
