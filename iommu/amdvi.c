/* The AMD-Vi provider; see amdvi.h. */
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "iommu/amdvi.h"

#define ADDR_MASK 0x000ffffffffff000ull
#define DEFAULT_POLLS 1000000u
#define RING_BYTES (AMDVI_RING_ENTRIES * 16u)
#define RING_LEN_LOG2 8ull

/* ---- pure pieces ---- */

void amdvi_dte(uint64_t root_pa, int levels, uint16_t domain_id, uint64_t dte[4])
{
    dte[0] = 1ull                              /* V */
           | 1ull << 1                         /* TV: translation fields valid */
           | (uint64_t)(levels & 7) << 9       /* Mode: levels of the page table */
           | (root_pa & ADDR_MASK)             /* Page Table Root Pointer */
           | 1ull << 61 | 1ull << 62;          /* IR, IW (ANDed with the tables') */
    dte[1] = domain_id;                        /* DomainID: bits 79:64 */
    dte[2] = 0;                                /* IV = 0: interrupts not remapped */
    dte[3] = 0;
}

void amdvi_cmd_completion_wait(uint64_t store_pa, uint64_t data, uint32_t cmd[4])
{
    cmd[0] = (uint32_t)(store_pa & 0xfffffff8u) | 1u;                 /* S: store */
    cmd[1] = (uint32_t)((store_pa >> 32) & 0xfffff) | AMDVI_CMD_COMPLETION_WAIT << 28;
    cmd[2] = (uint32_t)data;
    cmd[3] = (uint32_t)(data >> 32);
}

void amdvi_cmd_inv_devtab_entry(uint16_t devid, uint32_t cmd[4])
{
    cmd[0] = devid;
    cmd[1] = AMDVI_CMD_INV_DEVTAB_ENTRY << 28;
    cmd[2] = cmd[3] = 0;
}

/* S = 1, PDE = 1 and address 7FFF_FFFF_FFFF_F000h: every page of the
 * domain (2.4.3). */
void amdvi_cmd_inv_iommu_pages_all(uint16_t domain_id, uint32_t cmd[4])
{
    cmd[0] = 0;
    cmd[1] = domain_id | (uint32_t)AMDVI_CMD_INV_IOMMU_PAGES << 28;
    cmd[2] = 0xfffff000u | 1u << 1 | 1u;
    cmd[3] = 0x7fffffffu;
}

void amdvi_cmd_inv_iommu_all(uint32_t cmd[4])
{
    cmd[0] = 0;
    cmd[1] = (uint32_t)AMDVI_CMD_INV_IOMMU_ALL << 28;
    cmd[2] = cmd[3] = 0;
}

static const char *event_text(unsigned code)
{
    static const char *const text[] = {
        "reserved event", "illegal device table entry", "I/O page fault",
        "device table hardware error", "page table hardware error", "illegal command",
        "command hardware error", "IOTLB invalidation timeout", "invalid device request",
    };
    return code < ARRAY_SIZE(text) ? text[code] : "other event (see 2.5)";
}

/* Event entry (2.5): DeviceID in bits 15:0, code in 63:60, flags in 59:48
 * (IO_PAGE_FAULT: RW at bit 53, 1 = write), address in 127:64. */
bool amdvi_decode_event(const uint32_t ev[4], uint16_t segment, struct iommu_fault *f)
{
    memset(f, 0, sizeof(*f));
    if (!(ev[0] | ev[1] | ev[2] | ev[3]))
        return false;
    unsigned code = ev[1] >> 28;
    uint32_t flags = (ev[1] >> 16) & 0xfff;
    f->sbdf = (uint32_t)segment << 16 | (uint16_t)ev[0];
    f->address = (uint64_t)ev[3] << 32 | ev[2];
    f->reason = (uint16_t)code;
    f->write = code == AMDVI_EVENT_IO_PAGE_FAULT && (flags & 0x20);
    f->reason_text = event_text(code);
    return true;
}

/* ---- memory and registers ---- */

static void *virt(struct amdvi *a, uint64_t pa)
{
    return a->plat.mem.phys_to_virt(a->plat.mem.opaque, pa);
}

static uint64_t rd64(struct amdvi *a, unsigned u, uint32_t off)
{
    return a->plat.mmio->read64(a->units[u].regs, off);
}

static void wr64(struct amdvi *a, unsigned u, uint32_t off, uint64_t val)
{
    a->plat.mmio->write64(a->units[u].regs, off, val);
}

static unsigned polls(const struct amdvi *a)
{
    return a->plat.max_polls ? a->plat.max_polls : DEFAULT_POLLS;
}

/* Appends one command, waiting for room in the ring (head catches up). */
static int submit(struct amdvi *a, unsigned u, const uint32_t cmd[4], struct field_error *err)
{
    struct amdvi_unit *unit = &a->units[u];
    uint32_t next = (unit->cmd_tail + 16) % RING_BYTES;
    unsigned i = 0;
    while ((uint32_t)(rd64(a, u, AMDVI_REG_CMD_HEAD) & 0x7fff0) == next)
        if (++i == polls(a))
            return field_fail(err, IOMMU_ETIMEDOUT, "CMD_HEAD", AMDVI_REG_CMD_HEAD, "command buffer full: the IOMMU does not consume");
    uint32_t *slot = (uint32_t *)((uint8_t *)virt(a, unit->cmd_pa) + unit->cmd_tail);
    for (unsigned k = 0; k < 4; k++)
        ((volatile uint32_t *)slot)[k] = cmd[k];
    unit->cmd_tail = next;
    wr64(a, u, AMDVI_REG_CMD_TAIL, next);
    return IOMMU_OK;
}

/* COMPLETION_WAIT with a store of a fresh value; polls memory for it. */
static int wait_completion(struct amdvi *a, unsigned u, struct field_error *err)
{
    struct amdvi_unit *unit = &a->units[u];
    uint32_t cmd[4];
    volatile uint64_t *sem = virt(a, unit->sem_pa);
    uint64_t value = ++unit->sem_value;
    amdvi_cmd_completion_wait(unit->sem_pa, value, cmd);
    int rc = submit(a, u, cmd, err);
    if (rc)
        return rc;
    for (unsigned i = 0; i < polls(a); i++)
        if (*sem == value)
            return IOMMU_OK;
    return field_fail(err, IOMMU_ETIMEDOUT, "COMPLETION_WAIT", AMDVI_REG_CMD_TAIL, "the IOMMU did not complete its commands");
}

static int invalidate_pages(struct amdvi *a, unsigned u, struct field_error *err)
{
    uint32_t cmd[4];
    amdvi_cmd_inv_iommu_pages_all(AMDVI_DOMAIN_ID, cmd);
    int rc = submit(a, u, cmd, err);
    return rc ? rc : wait_completion(a, u, err);
}

static int invalidate_enabled(struct amdvi *a, struct field_error *err)
{
    for (unsigned u = 0; u < a->unit_count; u++) {
        if (!a->units[u].enabled)
            continue;
        int rc = invalidate_pages(a, u, err);
        if (rc)
            return rc;
    }
    return IOMMU_OK;
}

/* ---- provider operations ---- */

static int setup_unit(struct amdvi *a, unsigned u, unsigned ivhd, struct field_error *err)
{
    const struct ivrs_unit *iv = &a->ivrs.units[ivhd];
    struct amdvi_unit *unit = &a->units[u];
    memset(unit, 0, sizeof(*unit));
    unit->ivhd = ivhd;
    unit->regs = a->plat.map_unit ? a->plat.map_unit(a->plat.opaque, iv->base, AMDVI_MMIO_SIZE) : NULL;
    if (!unit->regs)
        return field_fail(err, IOMMU_ENODEV, "IVHD.base_address", iv->offset + 8, "registers cannot be mapped");
    unit->efr = rd64(a, u, AMDVI_REG_EFR);
    if (unit->efr == ~0ull)
        return field_fail(err, IOMMU_ENODEV, "EFR", AMDVI_REG_EFR, "reads all-ones: no IOMMU there");

    /* Device table (2.2.2.1): up to the highest DeviceID the IVHD names. */
    unit->devtab_entries = (uint32_t)ivrs_unit_max_devid(&a->ivrs, ivhd) + 1;
    unit->devtab_pages = (unsigned)((unit->devtab_entries * AMDVI_DTE_SIZE + PAGE_SIZE - 1) / PAGE_SIZE);
    unit->devtab_pa = a->plat.mem.alloc_pages(a->plat.mem.opaque, unit->devtab_pages);
    unit->cmd_pa = a->plat.mem.alloc_pages(a->plat.mem.opaque, 1);
    unit->event_pa = a->plat.mem.alloc_pages(a->plat.mem.opaque, 1);
    unit->sem_pa = a->plat.mem.alloc_pages(a->plat.mem.opaque, 1);
    if (!unit->devtab_pa || !unit->cmd_pa || !unit->event_pa || !unit->sem_pa)
        return field_fail(err, IOMMU_ENOMEM, "device table", 0, "out of pages");
    memset(virt(a, unit->cmd_pa), 0, PAGE_SIZE);
    memset(virt(a, unit->event_pa), 0, PAGE_SIZE);
    memset(virt(a, unit->sem_pa), 0, PAGE_SIZE);
    uint64_t *dt = virt(a, unit->devtab_pa);
    memset(dt, 0, (size_t)unit->devtab_pages * PAGE_SIZE);
    for (uint32_t d = 0; d < unit->devtab_entries; d++)
        amdvi_dte(a->dom.pt.root_pa, AMDVI_LEVELS, AMDVI_DOMAIN_ID, &dt[4 * d]);
    return IOMMU_OK;
}

static int amdvi_probe(void *ctx, struct field_error *err)
{
    struct amdvi *a = ctx;
    if (!a->plat.table)
        return field_fail(err, IOMMU_ENOENT, "IVRS", 0, "AMD-Vi: no IVRS table");
    int rc = ivrs_parse(a->plat.table, a->plat.table_len, &a->ivrs, err);
    if (rc)
        return rc;
    if (!a->plat.mmio || !a->plat.mem.alloc_pages || !a->plat.mem.phys_to_virt)
        return field_fail(err, IOMMU_EINVAL, "platform", 0, "no register or memory callbacks");
    uint64_t top = ALIGN_UP(a->plat.top, PAGE_SIZE);
    if (!top)
        return field_fail(err, IOMMU_EINVAL, "platform.top", 0, "empty identity map");

    if ((rc = iommu_domain_init(&a->dom, &pt_format_amdvi, true, &a->plat.mem, 1ull << 48, err)))
        return rc;
    if ((rc = iommu_domain_identity(&a->dom, 0, top, PT_READ | PT_WRITE, "platform.top", 0, err)))
        return rc;
    /* IVMD (5.2.3): unity-mapped and exclusion ranges stay reachable,
     * identity, with the permissions they ask for (exclusion: both).
     * Below top they already are, read-write (protect refuses to cut
     * into them). */
    for (unsigned i = 0; i < a->ivrs.memory_count; i++) {
        const struct ivrs_memory *m = &a->ivrs.memory[i];
        if (!(m->flags & (IVMD_FLAG_UNITY | IVMD_FLAG_EXCLUSION)))
            continue;
        uint32_t perm = (m->flags & IVMD_FLAG_EXCLUSION) ? (PT_READ | PT_WRITE)
                      : ((m->flags & IVMD_FLAG_IR) ? PT_READ : 0) | ((m->flags & IVMD_FLAG_IW) ? PT_WRITE : 0);
        uint64_t start = MAX(m->start, top), end = m->start + m->length;
        if (perm && end > start &&
            (rc = iommu_domain_identity(&a->dom, start, end - start, perm, "IVMD", m->offset, err)))
            return rc;
    }

    a->unit_count = 0;
    for (unsigned i = 0; i < a->ivrs.unit_count; i++) {
        if (a->ivrs.units[i].superseded)
            continue;
        if ((rc = setup_unit(a, a->unit_count, i, err)))
            return rc;
        a->unit_count++;
    }
    if (!a->unit_count)
        return field_fail(err, IOMMU_ENODEV, "IVRS", 0, "no IVHD: no IOMMU");
    a->enabled = false;
    return IOMMU_OK;
}

static int amdvi_map(void *ctx, uint64_t iova, uint64_t phys, uint64_t size, uint32_t perm,
                     struct field_error *err)
{
    struct amdvi *a = ctx;
    int rc = iommu_domain_map(&a->dom, iova, phys, size, perm, err);
    return rc ? rc : invalidate_enabled(a, err);
}

static int amdvi_unmap(void *ctx, uint64_t iova, uint64_t size, struct field_error *err)
{
    struct amdvi *a = ctx;
    int rc = iommu_domain_unmap(&a->dom, iova, size, err);
    return rc ? rc : invalidate_enabled(a, err);
}

/* Identity map minus [base, base + size); never across an IVMD range. */
static int amdvi_protect(void *ctx, uint64_t base, uint64_t size, struct field_error *err)
{
    struct amdvi *a = ctx;
    uint64_t start = ALIGN_DOWN(base, PAGE_SIZE), end = ALIGN_UP(base + size, PAGE_SIZE);
    for (unsigned i = 0; i < a->ivrs.memory_count; i++) {
        const struct ivrs_memory *m = &a->ivrs.memory[i];
        if ((m->flags & (IVMD_FLAG_UNITY | IVMD_FLAG_EXCLUSION)) && end > start &&
            iommu_ranges_overlap(start, end - start, m->start, m->length))
            return field_fail(err, IOMMU_EINVAL, "IVMD", m->offset, "firmware reserves DMA memory inside the protected range");
    }
    int rc = iommu_domain_protect(&a->dom, base, size, err);
    return rc ? rc : invalidate_enabled(a, err);
}

static int amdvi_attach(void *ctx, uint32_t sbdf, struct field_error *err)
{
    struct amdvi *a = ctx;
    if (ivrs_unit_for_device(&a->ivrs, sbdf) < 0)
        return field_fail(err, IOMMU_ENODEV, "IVHD", 0, "no IOMMU's device entries cover the device");
    return IOMMU_OK; /* every DTE already points at the one domain */
}

static void disable_unit(struct amdvi *a, unsigned u)
{
    uint64_t ctrl = rd64(a, u, AMDVI_REG_CONTROL);
    wr64(a, u, AMDVI_REG_CONTROL, ctrl & ~(AMDVI_CTRL_IOMMU_EN | AMDVI_CTRL_CMDBUF_EN | AMDVI_CTRL_EVENTLOG_EN));
    a->units[u].enabled = false;
}

/* 3.4: with the IOMMU off, program the device table, command buffer and
 * event log bases and pointers, then enable the buffers and the IOMMU;
 * then drop cached device table entries and translations. */
static int enable_unit(struct amdvi *a, unsigned u, struct field_error *err)
{
    struct amdvi_unit *unit = &a->units[u];
    disable_unit(a, u);
    wr64(a, u, AMDVI_REG_DEVTAB_BASE, unit->devtab_pa | (unit->devtab_pages - 1));
    wr64(a, u, AMDVI_REG_CMD_BASE, unit->cmd_pa | RING_LEN_LOG2 << 56);
    wr64(a, u, AMDVI_REG_EVENT_BASE, unit->event_pa | RING_LEN_LOG2 << 56);
    wr64(a, u, AMDVI_REG_CMD_HEAD, 0);
    wr64(a, u, AMDVI_REG_CMD_TAIL, 0);
    wr64(a, u, AMDVI_REG_EVENT_HEAD, 0);
    wr64(a, u, AMDVI_REG_EVENT_TAIL, 0);
    unit->cmd_tail = 0;
    uint64_t ctrl = rd64(a, u, AMDVI_REG_CONTROL);
    wr64(a, u, AMDVI_REG_CONTROL, ctrl | AMDVI_CTRL_CMDBUF_EN | AMDVI_CTRL_EVENTLOG_EN |
                                  AMDVI_CTRL_COHERENT | AMDVI_CTRL_IOMMU_EN);
    unit->enabled = true;

    uint32_t cmd[4];
    int rc;
    if (unit->efr & AMDVI_EFR_IA_SUP) {
        amdvi_cmd_inv_iommu_all(cmd);
        if ((rc = submit(a, u, cmd, err)))
            return rc;
    } else {
        for (uint32_t d = 0; d < unit->devtab_entries; d++) {
            amdvi_cmd_inv_devtab_entry((uint16_t)d, cmd);
            if ((rc = submit(a, u, cmd, err)))
                return rc;
        }
    }
    return invalidate_pages(a, u, err);
}

static int amdvi_enable(void *ctx, struct field_error *err)
{
    struct amdvi *a = ctx;
    for (unsigned u = 0; u < a->unit_count; u++) {
        int rc = enable_unit(a, u, err);
        if (rc) {
            for (unsigned k = 0; k <= u; k++)
                disable_unit(a, k);
            return rc;
        }
    }
    a->enabled = true;
    return IOMMU_OK;
}

/* Event log (2.5): entries from head to tail; head moves past each. */
static unsigned amdvi_read_faults(void *ctx, iommu_fault_fn fn, void *opaque)
{
    struct amdvi *a = ctx;
    unsigned n = 0;
    for (unsigned u = 0; u < a->unit_count; u++) {
        struct amdvi_unit *unit = &a->units[u];
        if (!unit->enabled)
            continue;
        uint32_t head = (uint32_t)rd64(a, u, AMDVI_REG_EVENT_HEAD) & 0x7fff0;
        uint32_t tail = (uint32_t)rd64(a, u, AMDVI_REG_EVENT_TAIL) & 0x7fff0;
        if (head >= RING_BYTES || tail >= RING_BYTES)
            continue; /* a pointer outside our ring: not ours to read */
        uint8_t *log = virt(a, unit->event_pa);
        for (unsigned guard = 0; head != tail && guard < AMDVI_RING_ENTRIES; guard++) {
            volatile uint32_t *e = (volatile uint32_t *)(log + head);
            uint32_t ev[4] = { e[0], e[1], e[2], e[3] };
            struct iommu_fault f;
            if (amdvi_decode_event(ev, a->ivrs.units[unit->ivhd].segment, &f)) {
                f.unit = u;
                if (fn)
                    fn(opaque, &f);
                n++;
            }
            for (unsigned k = 0; k < 4; k++)
                e[k] = 0;
            head = (head + 16) % RING_BYTES;
        }
        wr64(a, u, AMDVI_REG_EVENT_HEAD, head);
        wr64(a, u, AMDVI_REG_STATUS, AMDVI_STATUS_EVENT_OVERFLOW); /* RW1C */
    }
    return n;
}

void amdvi_provider_init(struct amdvi *a, const struct iommu_platform *plat, struct iommu_provider *out)
{
    memset(a, 0, sizeof(*a));
    a->plat = *plat;
    *out = (struct iommu_provider){
        .name = "amdvi", .mode = IOMMU_MODE_AMDVI, .contains_dma = true, .ctx = a,
        .probe = amdvi_probe, .attach = amdvi_attach, .map = amdvi_map, .unmap = amdvi_unmap,
        .protect = amdvi_protect, .enable = amdvi_enable, .read_faults = amdvi_read_faults,
    };
}
