/* The VT-d provider; see vtd.h. */
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "iommu/vtd.h"

#define ADDR_MASK 0x000ffffffffff000ull
#define DEFAULT_POLLS 1000000u

/* ---- pure pieces ---- */

int vtd_choose_levels(uint32_t sagaw, uint64_t top, int *levels, struct field_error *err)
{
    /* SAGAW bit 1: 39-bit 3-level, bit 2: 48-bit 4-level, bit 3: 57-bit 5-level. */
    if (sagaw & (1u << 2))
        *levels = 4;
    else if ((sagaw & (1u << 1)) && top <= (1ull << 39))
        *levels = 3;
    else if (sagaw & (1u << 3))
        *levels = 5;
    else
        return field_fail(err, IOMMU_ENODEV, "CAP.SAGAW", VTD_REG_CAP,
                          "no common page-table depth covers the identity map");
    return IOMMU_OK;
}

void vtd_context_entry(uint64_t slpt_pa, int levels, uint16_t domain_id, uint64_t entry[2])
{
    entry[0] = (slpt_pa & ADDR_MASK) | 1; /* P; FPD 0; TT 00: untranslated via second level */
    entry[1] = (uint64_t)(levels - 2) | (uint64_t)domain_id << 8;
}

/* Fault reasons 0-0xD (VT-d spec appendix A, non-recoverable fault
 * reason encodings). */
static const char *fault_reason_text(uint8_t fr)
{
    static const char *const text[] = {
        "reserved", "root entry not present", "context entry not present",
        "invalid context entry", "address beyond the guest address width",
        "write to a page not writable", "read from a page not readable",
        "bad next page-table pointer", "bad root table address", "bad context table pointer",
        "reserved bits set in a root entry", "reserved bits set in a context entry",
        "reserved bits set in a page-table entry", "translation type blocked",
    };
    return fr < ARRAY_SIZE(text) ? text[fr] : "other (see VT-d appendix A)";
}

void vtd_decode_fault(uint64_t lo, uint64_t hi, uint16_t segment, struct iommu_fault *f)
{
    memset(f, 0, sizeof(*f));
    f->address = lo & ADDR_MASK;                       /* FI: bits 63:12 */
    f->sbdf = (uint32_t)segment << 16 | (uint16_t)hi;  /* SID: bits 79:64 */
    f->reason = (uint8_t)(hi >> 32);                   /* FR: bits 103:96 */
    f->write = !((hi >> 62) & 1);                      /* T: bit 126, 0 write, 1 read */
    f->reason_text = fault_reason_text((uint8_t)f->reason);
}

/* ---- memory ---- */

static void *virt(struct vtd *v, uint64_t pa)
{
    return v->plat.mem.phys_to_virt(v->plat.mem.opaque, pa);
}

static void flush_range(struct vtd *v, uint64_t pa, size_t len)
{
    if (v->flush_needed && v->plat.mem.flush)
        v->plat.mem.flush(v->plat.mem.opaque, pa, len);
}

static void flush_tree(struct vtd *v, uint64_t table_pa, int level)
{
    const uint64_t *t = virt(v, table_pa);
    flush_range(v, table_pa, PAGE_SIZE);
    for (unsigned i = 0; level > 1 && i < 512; i++)
        if (pt_format_vtd.present(t[i]) && !pt_format_vtd.is_leaf(t[i], level))
            flush_tree(v, t[i] & ADDR_MASK, level - 1);
}

static void flush_all(struct vtd *v)
{
    if (!v->flush_needed || !v->plat.mem.flush)
        return;
    flush_range(v, v->root_table_pa, PAGE_SIZE);
    flush_range(v, v->context_table_pa, PAGE_SIZE);
    if (v->slpt_pa != v->dom.pt.root_pa)
        flush_range(v, v->slpt_pa, PAGE_SIZE);
    flush_tree(v, v->dom.pt.root_pa, 4);
}

/* ---- registers ---- */

static uint32_t rd32(struct vtd *v, unsigned u, uint32_t off)
{
    return v->plat.mmio->read32(v->units[u].regs, off);
}

static uint64_t rd64(struct vtd *v, unsigned u, uint32_t off)
{
    return v->plat.mmio->read64(v->units[u].regs, off);
}

static void wr32(struct vtd *v, unsigned u, uint32_t off, uint32_t val)
{
    v->plat.mmio->write32(v->units[u].regs, off, val);
}

static void wr64(struct vtd *v, unsigned u, uint32_t off, uint64_t val)
{
    v->plat.mmio->write64(v->units[u].regs, off, val);
}

static unsigned polls(const struct vtd *v)
{
    return v->plat.max_polls ? v->plat.max_polls : DEFAULT_POLLS;
}

/* Waits until (reg & mask) == want; 32-bit register. */
static int wait32(struct vtd *v, unsigned u, uint32_t off, uint32_t mask, uint32_t want,
                  const char *field, struct field_error *err)
{
    for (unsigned i = 0; i < polls(v); i++)
        if ((rd32(v, u, off) & mask) == want)
            return IOMMU_OK;
    return field_fail(err, IOMMU_ETIMEDOUT, field, off, "the unit did not acknowledge the command");
}

static int wait64_clear(struct vtd *v, unsigned u, uint32_t off, uint64_t bit, const char *field,
                        struct field_error *err)
{
    for (unsigned i = 0; i < polls(v); i++)
        if (!(rd64(v, u, off) & bit))
            return IOMMU_OK;
    return field_fail(err, IOMMU_ETIMEDOUT, field, off, "invalidation did not complete");
}

/* GCMD with the current state and one bit changed (10.4.4: software reads
 * GSTS, masks the one-shot bits, sets or clears the one it wants). */
static int global_command(struct vtd *v, unsigned u, uint32_t bit, bool set, const char *field,
                          struct field_error *err)
{
    uint32_t status = rd32(v, u, VTD_REG_GSTS) & VTD_GCMD_ONE_SHOT_MASK;
    wr32(v, u, VTD_REG_GCMD, set ? status | bit : status & ~bit);
    return wait32(v, u, VTD_REG_GSTS, bit, set ? bit : 0, field, err);
}

/* Write-buffer flush (where CAP.RWBF asks for it), global context-cache
 * and global IOTLB invalidation, register-based (6.5.1, 10.4.7, 10.4.8). */
static int invalidate_unit(struct vtd *v, unsigned u, struct field_error *err)
{
    struct vtd_unit *unit = &v->units[u];
    int rc;
    if (VTD_CAP_RWBF(unit->cap)) {
        uint32_t status = rd32(v, u, VTD_REG_GSTS) & VTD_GCMD_ONE_SHOT_MASK;
        wr32(v, u, VTD_REG_GCMD, status | VTD_GCMD_WBF);
        if ((rc = wait32(v, u, VTD_REG_GSTS, VTD_GCMD_WBF, 0, "GSTS.WBFS", err)))
            return rc;
    }
    wr64(v, u, VTD_REG_CCMD, VTD_CCMD_ICC | VTD_CCMD_GLOBAL);
    if ((rc = wait64_clear(v, u, VTD_REG_CCMD, VTD_CCMD_ICC, "CCMD.ICC", err)))
        return rc;
    wr64(v, u, unit->iotlb_reg, VTD_IOTLB_IVT | VTD_IOTLB_GLOBAL | VTD_IOTLB_DR | VTD_IOTLB_DW);
    return wait64_clear(v, u, unit->iotlb_reg, VTD_IOTLB_IVT, "IOTLB_REG.IVT", err);
}

/* After the tables changed under enabled units. */
static int invalidate_enabled(struct vtd *v, struct field_error *err)
{
    flush_all(v);
    for (unsigned u = 0; u < v->dmar.unit_count; u++) {
        if (!v->units[u].enabled)
            continue;
        int rc = invalidate_unit(v, u, err);
        if (rc)
            return rc;
    }
    return IOMMU_OK;
}

/* ---- provider operations ---- */

static int probe_unit(struct vtd *v, unsigned u, struct field_error *err)
{
    const struct dmar_unit *d = &v->dmar.units[u];
    struct vtd_unit *unit = &v->units[u];
    uint64_t size = 0x1000ull << d->size_log2;
    memset(unit, 0, sizeof(*unit));
    unit->regs = v->plat.map_unit ? v->plat.map_unit(v->plat.opaque, d->reg_base, size) : NULL;
    if (!unit->regs)
        return field_fail(err, IOMMU_ENODEV, "DRHD.register_base", d->offset + 8, "registers cannot be mapped");
    unit->cap = rd64(v, u, VTD_REG_CAP);
    unit->ecap = rd64(v, u, VTD_REG_ECAP);
    if (unit->cap == ~0ull || unit->cap == 0)
        return field_fail(err, IOMMU_ENODEV, "CAP", VTD_REG_CAP, "reads all-ones or zero: no unit there");
    unit->iotlb_reg = VTD_ECAP_IRO(unit->ecap) + 8;
    unit->fault_reg = VTD_CAP_FRO(unit->cap);
    unit->fault_count = VTD_CAP_NFR(unit->cap);
    if (unit->iotlb_reg + 8 > size)
        return field_fail(err, IOMMU_EINVAL, "ECAP.IRO", VTD_REG_ECAP, "IOTLB registers outside the register set");
    if (unit->fault_reg < 0x40 || (uint64_t)unit->fault_reg + 16ull * unit->fault_count > size)
        return field_fail(err, IOMMU_EINVAL, "CAP.FRO", VTD_REG_CAP, "fault recording registers outside the register set");
    if (!(VTD_CAP_SLLPS(unit->cap) & 1))
        return field_fail(err, IOMMU_ENODEV, "CAP.SLLPS", VTD_REG_CAP, "no 2 MiB pages (minihv's tables use them)");
    if (!VTD_ECAP_C(unit->ecap))
        v->flush_needed = true;
    return IOMMU_OK;
}

static int vtd_probe(void *ctx, struct field_error *err)
{
    struct vtd *v = ctx;
    if (!v->plat.table)
        return field_fail(err, IOMMU_ENOENT, "DMAR", 0, "VT-d: no DMAR table");
    int rc = dmar_parse(v->plat.table, v->plat.table_len, &v->dmar, err);
    if (rc)
        return rc;
    if (!v->dmar.unit_count)
        return field_fail(err, IOMMU_ENODEV, "DMAR", 0, "no DRHD: no remapping unit");
    if (!v->plat.mmio || !v->plat.mem.alloc_pages || !v->plat.mem.phys_to_virt)
        return field_fail(err, IOMMU_EINVAL, "platform", 0, "no register or memory callbacks");
    uint64_t top = ALIGN_UP(v->plat.top, PAGE_SIZE);
    if (!top)
        return field_fail(err, IOMMU_EINVAL, "platform.top", 0, "empty identity map");

    uint32_t sagaw = 0x1f;
    unsigned mgaw = 64;
    bool all_1g = true;
    v->flush_needed = false;
    for (unsigned u = 0; u < v->dmar.unit_count; u++) {
        if ((rc = probe_unit(v, u, err)))
            return rc;
        sagaw &= VTD_CAP_SAGAW(v->units[u].cap);
        mgaw = MIN(mgaw, VTD_CAP_MGAW(v->units[u].cap));
        all_1g = all_1g && (VTD_CAP_SLLPS(v->units[u].cap) & 2);
    }
    if ((rc = vtd_choose_levels(sagaw, top, &v->levels, err)))
        return rc;
    unsigned width = MIN(mgaw, 12u + 9u * (unsigned)v->levels);
    if (width < 64 && top > (1ull << width))
        return field_fail(err, IOMMU_ENODEV, "CAP.MGAW", VTD_REG_CAP, "the units cannot address all of memory");
    for (unsigned i = 0; i < v->dmar.rmrr_count; i++)
        if (width < 64 && v->dmar.rmrrs[i].limit >= (1ull << width))
            return field_fail(err, IOMMU_ENODEV, "RMRR.limit", v->dmar.rmrrs[i].offset + 16,
                              "above the units' address width");

    if ((rc = iommu_domain_init(&v->dom, &pt_format_vtd, all_1g, &v->plat.mem,
                                v->levels == 3 ? 1ull << 39 : 1ull << 47, err)))
        return rc;
    if ((rc = iommu_domain_identity(&v->dom, 0, top, PT_READ | PT_WRITE, "platform.top", 0, err)))
        return rc;
    /* RMRRs (8.4): identity, read-write, for the devices that use them;
     * below top they already are (protect refuses to cut into them). */
    for (unsigned i = 0; i < v->dmar.rmrr_count; i++) {
        const struct dmar_rmrr *r = &v->dmar.rmrrs[i];
        uint64_t start = MAX(r->base, top);
        if (r->limit >= start &&
            (rc = iommu_domain_identity(&v->dom, start, r->limit - start + 1, PT_READ | PT_WRITE, "RMRR", r->offset, err)))
            return rc;
    }

    if (v->levels == 4) {
        v->slpt_pa = v->dom.pt.root_pa;
    } else if (v->levels == 3) { /* the tree below PML4 entry 0 covers 512 GiB */
        uint64_t *pml4 = virt(v, v->dom.pt.root_pa);
        v->slpt_pa = pml4[0] & ADDR_MASK;
    } else {                     /* 5 levels: one table above the PML4 */
        v->slpt_pa = v->plat.mem.alloc_pages(v->plat.mem.opaque, 1);
        if (!v->slpt_pa)
            return field_fail(err, IOMMU_ENOMEM, "page tables", 0, "no page for the level-5 table");
        uint64_t *l5 = virt(v, v->slpt_pa);
        memset(l5, 0, PAGE_SIZE);
        l5[0] = pt_format_vtd.table_entry(v->dom.pt.root_pa);
    }

    /* One context table shared by every bus: all devices are in the one
     * domain. Root entry (9.1): P, context-table pointer. */
    v->root_table_pa = v->plat.mem.alloc_pages(v->plat.mem.opaque, 1);
    v->context_table_pa = v->plat.mem.alloc_pages(v->plat.mem.opaque, 1);
    if (!v->root_table_pa || !v->context_table_pa)
        return field_fail(err, IOMMU_ENOMEM, "root table", 0, "no pages for root and context tables");
    uint64_t *root = virt(v, v->root_table_pa), *ctxt = virt(v, v->context_table_pa);
    for (unsigned i = 0; i < 256; i++) {
        root[2 * i] = v->context_table_pa | 1;
        root[2 * i + 1] = 0;
        vtd_context_entry(v->slpt_pa, v->levels, VTD_DOMAIN_ID, &ctxt[2 * i]);
    }
    v->enabled = false;
    return IOMMU_OK;
}

static int vtd_map(void *ctx, uint64_t iova, uint64_t phys, uint64_t size, uint32_t perm,
                   struct field_error *err)
{
    struct vtd *v = ctx;
    int rc = iommu_domain_map(&v->dom, iova, phys, size, perm, err);
    return rc ? rc : invalidate_enabled(v, err);
}

static int vtd_unmap(void *ctx, uint64_t iova, uint64_t size, struct field_error *err)
{
    struct vtd *v = ctx;
    int rc = iommu_domain_unmap(&v->dom, iova, size, err);
    return rc ? rc : invalidate_enabled(v, err);
}

/* Identity map minus [base, base + size); never across an RMRR. */
static int vtd_protect(void *ctx, uint64_t base, uint64_t size, struct field_error *err)
{
    struct vtd *v = ctx;
    uint64_t start = ALIGN_DOWN(base, PAGE_SIZE), end = ALIGN_UP(base + size, PAGE_SIZE);
    for (unsigned i = 0; i < v->dmar.rmrr_count; i++) {
        const struct dmar_rmrr *r = &v->dmar.rmrrs[i];
        if (end > start && iommu_ranges_overlap(start, end - start, r->base, r->limit - r->base + 1))
            return field_fail(err, IOMMU_EINVAL, "RMRR", r->offset, "firmware reserves DMA memory inside the protected range");
    }
    int rc = iommu_domain_protect(&v->dom, base, size, err);
    return rc ? rc : invalidate_enabled(v, err);
}

static int vtd_attach(void *ctx, uint32_t sbdf, struct field_error *err)
{
    struct vtd *v = ctx;
    if (dmar_drhd_for_device(&v->dmar, sbdf, v->bridge, v->bridge_opaque) < 0)
        return field_fail(err, IOMMU_ENODEV, "DRHD", 0, "no remapping unit covers the device");
    return IOMMU_OK; /* every device behind a unit is in the one domain */
}

static void disable_unit(struct vtd *v, unsigned u)
{
    struct field_error ignored;
    global_command(v, u, VTD_GCMD_TE, false, "GSTS.TES", &ignored);
    v->units[u].enabled = false;
}

/* Interrupt remapping off, root table pointer, invalidate, translation
 * on, protected memory regions off (10.4.6, 10.4.4, 10.4.16). Register-based invalidation
 * must not be used while queued invalidation is on (6.5.2): a firmware
 * that left it on gets it turned off first. */
static int enable_unit(struct vtd *v, unsigned u, struct field_error *err)
{
    int rc;
    /* Interrupt remapping a firmware left on (for x2APIC) translates
     * remappable-format messages through its table, in memory the guest
     * writes: off, before queued invalidation (which it uses) goes. The
     * passthrough device's messages are compatibility format only
     * (vfio_msi_addr_valid). Review R, finding 7. */
    if ((rd32(v, u, VTD_REG_GSTS) & VTD_GCMD_IRE) &&
        (rc = global_command(v, u, VTD_GCMD_IRE, false, "GSTS.IRES", err)))
        return rc;
    if ((rd32(v, u, VTD_REG_GSTS) & VTD_GCMD_QIE) &&
        (rc = global_command(v, u, VTD_GCMD_QIE, false, "GSTS.QIES", err)))
        return rc;
    wr64(v, u, VTD_REG_RTADDR, v->root_table_pa); /* TTM 00: legacy mode */
    if ((rc = global_command(v, u, VTD_GCMD_SRTP, true, "GSTS.RTPS", err)))
        return rc;
    if ((rc = invalidate_unit(v, u, err)))
        return rc;
    if ((rc = global_command(v, u, VTD_GCMD_TE, true, "GSTS.TES", err)))
        return rc;
    v->units[u].enabled = true;
    if (VTD_CAP_PMR(v->units[u].cap) && (rd32(v, u, VTD_REG_PMEN) & VTD_PMEN_EPM)) {
        wr32(v, u, VTD_REG_PMEN, 0);
        if ((rc = wait32(v, u, VTD_REG_PMEN, VTD_PMEN_PRS, 0, "PMEN.PRS", err)))
            return rc;
    }
    return IOMMU_OK;
}

static int vtd_enable(void *ctx, struct field_error *err)
{
    struct vtd *v = ctx;
    flush_all(v);
    for (unsigned u = 0; u < v->dmar.unit_count; u++) {
        int rc = enable_unit(v, u, err);
        if (rc) {
            for (unsigned k = 0; k <= u; k++)
                disable_unit(v, k);
            return rc;
        }
    }
    v->enabled = true;
    return IOMMU_OK;
}

/* Primary fault logging (7.2.1): scan every recording register, report
 * and clear (F is write-1-to-clear) those with F set, then clear overflow. */
static unsigned vtd_read_faults(void *ctx, iommu_fault_fn fn, void *opaque)
{
    struct vtd *v = ctx;
    unsigned n = 0;
    for (unsigned u = 0; u < v->dmar.unit_count; u++) {
        struct vtd_unit *unit = &v->units[u];
        if (!unit->regs)
            continue;
        if (!(rd32(v, u, VTD_REG_FSTS) & (VTD_FSTS_PPF | VTD_FSTS_PFO)))
            continue;
        for (unsigned i = 0; i < unit->fault_count; i++) {
            uint32_t off = unit->fault_reg + 16 * i;
            uint64_t hi = rd64(v, u, off + 8);
            if (!(hi >> 63))
                continue;
            struct iommu_fault f;
            vtd_decode_fault(rd64(v, u, off), hi, v->dmar.units[u].segment, &f);
            f.unit = u;
            wr32(v, u, off + 12, 1u << 31);
            if (fn)
                fn(opaque, &f);
            n++;
        }
        wr32(v, u, VTD_REG_FSTS, VTD_FSTS_PFO);
    }
    return n;
}

void vtd_provider_init(struct vtd *v, const struct iommu_platform *plat, struct iommu_provider *out)
{
    memset(v, 0, sizeof(*v));
    v->plat = *plat;
    *out = (struct iommu_provider){
        .name = "vtd", .mode = IOMMU_MODE_VTD, .contains_dma = true, .ctx = v,
        .probe = vtd_probe, .attach = vtd_attach, .map = vtd_map, .unmap = vtd_unmap,
        .protect = vtd_protect, .enable = vtd_enable, .read_faults = vtd_read_faults,
    };
}

uint64_t vtd_mchbar_base(uint64_t mchbar)
{
    return mchbar & 1 ? mchbar & (((1ull << 39) - 1) & ~0x7fffull) : 0; /* bits 38:15 */
}

bool vtd_mchbar_guarded(uint64_t off, unsigned size)
{
    static const uint64_t reg[] = { VTD_MCHBAR_GFXVTBAR, VTD_MCHBAR_VTDBAR };
    for (unsigned i = 0; i < 2; i++)
        if (size && off < reg[i] + 8 && reg[i] < off + size)
            return true;
    return false;
}
