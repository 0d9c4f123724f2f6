/* minihv-preflight: would the core's IOMMU provider take this machine's
 * units? The provider's own probe (iommu/vtd.c, iommu/amdvi.c) runs on
 * the firmware's table and on each unit's registers as /dev/mem gives
 * them: CAP/ECAP (VT-d 11.4.2-3: SAGAW, MGAW, SLLPS 2 MiB pages, the fault
 * and IOTLB register offsets), the AMD-Vi extended features, the address
 * width against the top of memory, the RMRRs/IVMDs. Writes are never
 * done: the probe touches no enable bit (include/minihv/iommu.h), and a
 * write here would be a bug of ours, so it is counted and reported. The
 * domain's page tables go to a heap arena with made-up addresses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <minihv/libc.h>
#include "iommu/amdvi.h"
#include "iommu/vtd.h"
#include "tools/preflight_iommu.h"

#define ARENA_PAGES 8192u              /* 32 MiB: 2 MiB pages up to 16 TiB of identity */
#define ARENA_PHYS 0x7f0000000000ull   /* what the provider is told the arena's pages are */
#define MAX_UNITS 64

struct unit_regs {
    uint64_t base, size;
    uint8_t *bytes;
};

struct probe_ctx {
    struct preflight_iommu_io io;
    struct unit_regs units[MAX_UNITS];
    unsigned nunits;
    unsigned writes;
    uint8_t *arena;
    size_t next_page;
};

static uint32_t rd32(void *unit, uint32_t off)
{
    struct unit_regs *u = unit;
    uint32_t v = ~0u;
    if ((uint64_t)off + 4 <= u->size)
        memcpy(&v, u->bytes + off, 4);
    return v;
}

static uint64_t rd64(void *unit, uint32_t off)
{
    struct unit_regs *u = unit;
    uint64_t v = ~0ull;
    if ((uint64_t)off + 8 <= u->size)
        memcpy(&v, u->bytes + off, 8);
    return v;
}

static struct probe_ctx *write_ctx; /* the mmio ops get only the unit */

static void wr32(void *unit, uint32_t off, uint32_t v)
{
    (void)unit, (void)off, (void)v;
    write_ctx->writes++;
}

static void wr64(void *unit, uint32_t off, uint64_t v)
{
    (void)unit, (void)off, (void)v;
    write_ctx->writes++;
}

static const struct iommu_mmio_ops snapshot_mmio = { rd32, wr32, rd64, wr64 };

static void *map_unit(void *opaque, uint64_t base, uint64_t size)
{
    struct probe_ctx *c = opaque;
    if (c->nunits == MAX_UNITS || !size || size > (1u << 20))
        return NULL;
    uint8_t *b = c->io.read_phys(base, size);
    if (!b)
        return NULL;
    struct unit_regs *u = &c->units[c->nunits++];
    *u = (struct unit_regs){ base, size, b };
    return u;
}

static uint64_t alloc_pages(void *opaque, size_t count)
{
    struct probe_ctx *c = opaque;
    if (!count || count > ARENA_PAGES - c->next_page)
        return 0;
    uint64_t pa = ARENA_PHYS + c->next_page * 4096ull;
    memset(c->arena + c->next_page * 4096, 0, count * 4096);
    c->next_page += count;
    return pa;
}

static void *phys_to_virt(void *opaque, uint64_t pa)
{
    struct probe_ctx *c = opaque;
    if (pa < ARENA_PHYS || pa >= ARENA_PHYS + ARENA_PAGES * 4096ull)
        return NULL;
    return c->arena + (pa - ARENA_PHYS);
}

static void release(struct probe_ctx *c)
{
    for (unsigned i = 0; i < c->nunits; i++)
        free(c->units[i].bytes);
    free(c->arena);
}

int preflight_iommu_probe(bool amd, const void *table, size_t len, uint64_t top,
                          const struct preflight_iommu_io *io, struct field_error *err)
{
    static struct probe_ctx c;
    static struct vtd vtd;
    static struct amdvi amdvi;
    memset(&c, 0, sizeof(c));
    c.io = *io;
    c.arena = malloc(ARENA_PAGES * 4096ull);
    if (!c.arena)
        return field_fail(err, IOMMU_ENOMEM, "arena", 0, "no memory for the probe's page tables");
    write_ctx = &c;
    struct iommu_platform plat = {
        .table = table, .table_len = len, .mmio = &snapshot_mmio, .map_unit = map_unit, .opaque = &c,
        .mem = { alloc_pages, phys_to_virt, NULL, &c }, .top = top, .max_polls = 16,
    };
    struct iommu_provider p;
    if (amd)
        amdvi_provider_init(&amdvi, &plat, &p);
    else
        vtd_provider_init(&vtd, &plat, &p);
    int rc = p.probe(p.ctx, err);
    if (!rc && c.writes)
        rc = field_fail(err, IOMMU_EINVAL, "probe", 0, "the provider's probe wrote a register (a minihv bug)");
    if (!rc) {
        for (unsigned i = 0; i < c.nunits; i++) {
            const struct unit_regs *u = &c.units[i];
            if (amd)
                io->line("iommu:   IVHD registers at 0x%llx: extended features 0x%llx", (unsigned long long)u->base,
                         (unsigned long long)rd64((void *)u, 0x30));
            else
                io->line("iommu:   DRHD registers at 0x%llx: CAP 0x%llx ECAP 0x%llx", (unsigned long long)u->base,
                         (unsigned long long)rd64((void *)u, 0x08), (unsigned long long)rd64((void *)u, 0x10));
        }
        io->line("iommu: %s: the provider accepts %u unit(s) (probe on their registers, top of memory 0x%llx, "
                 "%zu page-table pages)", amd ? "amdvi" : "vtd", c.nunits, (unsigned long long)top, c.next_page);
    }
    release(&c);
    write_ctx = NULL;
    return rc;
}
