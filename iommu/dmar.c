/* ACPI DMAR parser and device-to-unit lookup; see dmar.h. Offsets are
 * from VT-d spec chapter 8. */
#include <minihv/libc.h>
#include "iommu/dmar.h"

#define ACPI_HEADER_LEN   36
#define DMAR_HEADER_LEN   48  /* + HAW (1), flags (1), reserved (10) — 8.1 */
#define STRUCT_HEADER_LEN 4   /* type (2), length (2) — 8.2 */
#define DRHD_FIXED_LEN    16  /* 8.3: flags, size, segment, register base */
#define RMRR_FIXED_LEN    24  /* 8.4: reserved, segment, base, limit */
#define SCOPE_FIXED_LEN   6   /* 8.3.1: type, length, flags, reserved, enum id, start bus */
#define PAGE_4K           0x1000ull

/* Device scopes in [off, end) of the structure at table offset `base`. */
static int parse_scopes(const uint8_t *t, uint32_t off, uint32_t end, struct dmar_info *out,
                        unsigned *first, unsigned *count, struct field_error *err)
{
    *first = out->scope_count;
    *count = 0;
    while (off < end) {
        if (end - off < SCOPE_FIXED_LEN)
            return field_fail(err, IOMMU_ERANGE, "scope", off, "truncated: fewer than 6 bytes left");
        uint8_t type = t[off], slen = t[off + 1];
        if (slen < SCOPE_FIXED_LEN + 2)
            return field_fail(err, IOMMU_EINVAL, "scope.length", off + 1, "below 8 (a scope has at least one path entry)");
        if ((slen - SCOPE_FIXED_LEN) % 2)
            return field_fail(err, IOMMU_EINVAL, "scope.length", off + 1, "path is not whole (device, function) pairs");
        if (slen > end - off)
            return field_fail(err, IOMMU_ERANGE, "scope.length", off + 1, "past the end of its structure");
        if (type < DMAR_SCOPE_ENDPOINT || type > DMAR_SCOPE_ACPI)
            return field_fail(err, IOMMU_EINVAL, "scope.type", off, "not 1-5");
        unsigned npath = (slen - SCOPE_FIXED_LEN) / 2u;
        if (npath > DMAR_MAX_PATH)
            return field_fail(err, IOMMU_ENOSPC, "scope.path", off + SCOPE_FIXED_LEN, "deeper than minihv's 8 hops");
        if (out->scope_count == DMAR_MAX_SCOPES)
            return field_fail(err, IOMMU_ENOSPC, "scope", off, "more than 512 scopes");
        struct dmar_scope *s = &out->scopes[out->scope_count];
        s->type = type;
        s->enumeration_id = t[off + 4];
        s->start_bus = t[off + 5];
        s->path_len = (uint8_t)npath;
        s->offset = off;
        for (unsigned i = 0; i < npath; i++) {
            uint32_t p = off + SCOPE_FIXED_LEN + 2 * i;
            if (t[p] > 31 || t[p + 1] > 7)
                return field_fail(err, IOMMU_EINVAL, "scope.path", p, "device above 31 or function above 7");
            s->path[i].dev = t[p];
            s->path[i].fn = t[p + 1];
        }
        out->scope_count++;
        (*count)++;
        off += slen;
    }
    return IOMMU_OK;
}

static int parse_drhd(const uint8_t *t, uint32_t off, uint32_t slen, struct dmar_info *out,
                      struct field_error *err)
{
    if (slen < DRHD_FIXED_LEN)
        return field_fail(err, IOMMU_EINVAL, "DRHD.length", off + 2, "shorter than its 16-byte fixed part");
    if (out->unit_count == DMAR_MAX_UNITS)
        return field_fail(err, IOMMU_ENOSPC, "DRHD", off, "more than 64 remapping units");
    struct dmar_unit *u = &out->units[out->unit_count];
    u->include_pci_all = t[off + 4] & 1;
    u->size_log2 = t[off + 5] & 0xf;
    u->segment = le16(t + off + 6);
    u->reg_base = le64(t + off + 8);
    u->offset = off;
    if (!u->reg_base || (u->reg_base & (PAGE_4K - 1)))
        return field_fail(err, IOMMU_EINVAL, "DRHD.register_base", off + 8, "zero or not 4 KiB aligned");
    int rc = parse_scopes(t, off + DRHD_FIXED_LEN, off + slen, out, &u->first_scope, &u->scope_count, err);
    if (rc)
        return rc;
    out->unit_count++;
    return IOMMU_OK;
}

static int parse_rmrr(const uint8_t *t, uint32_t off, uint32_t slen, struct dmar_info *out,
                      struct field_error *err)
{
    if (slen < RMRR_FIXED_LEN)
        return field_fail(err, IOMMU_EINVAL, "RMRR.length", off + 2, "shorter than its 24-byte fixed part");
    if (out->rmrr_count == DMAR_MAX_RMRRS)
        return field_fail(err, IOMMU_ENOSPC, "RMRR", off, "more than 64 reserved regions");
    struct dmar_rmrr *r = &out->rmrrs[out->rmrr_count];
    r->segment = le16(t + off + 6);
    r->base = le64(t + off + 8);
    r->limit = le64(t + off + 16);
    r->offset = off;
    if (!r->base && !r->limit) {
        /* Shipped by real firmware; Linux warns ("Your BIOS is broken; bad
         * RMRR") and goes on. Skipped, scopes and all: it maps nothing. */
        if (!out->warnings++)
            field_fail(&out->warning, 0, "RMRR.limit", off + 16, "base 0 and limit 0: RMRR skipped");
        return IOMMU_OK;
    }
    if (r->base & (PAGE_4K - 1))
        return field_fail(err, IOMMU_EINVAL, "RMRR.base", off + 8, "not 4 KiB aligned");
    if ((r->limit & (PAGE_4K - 1)) != PAGE_4K - 1)
        return field_fail(err, IOMMU_EINVAL, "RMRR.limit", off + 16, "limit + 1 not 4 KiB aligned");
    if (r->limit < r->base)
        return field_fail(err, IOMMU_EINVAL, "RMRR.limit", off + 16, "below the base");
    int rc = parse_scopes(t, off + RMRR_FIXED_LEN, off + slen, out, &r->first_scope, &r->scope_count, err);
    if (rc)
        return rc;
    out->rmrr_count++;
    return IOMMU_OK;
}

int dmar_parse(const void *table, size_t len, struct dmar_info *out, struct field_error *err)
{
    const uint8_t *t = table;
    memset(out, 0, sizeof(*out));
    if (!t || len < DMAR_HEADER_LEN)
        return field_fail(err, IOMMU_ERANGE, "DMAR", 0, "buffer shorter than the 48-byte DMAR header");
    if (memcmp(t, "DMAR", 4))
        return field_fail(err, IOMMU_EINVAL, "DMAR.signature", 0, "not \"DMAR\"");
    uint32_t length = le32(t + 4);
    if (length < DMAR_HEADER_LEN)
        return field_fail(err, IOMMU_EINVAL, "DMAR.length", 4, "below the 48-byte header");
    if (length > len)
        return field_fail(err, IOMMU_ERANGE, "DMAR.length", 4, "beyond the buffer");
    unsigned width = t[ACPI_HEADER_LEN] + 1u;
    if (width < 32 || width > 64)
        return field_fail(err, IOMMU_EINVAL, "DMAR.host_address_width", ACPI_HEADER_LEN, "width outside 32-64 bits");
    out->address_width = (uint8_t)width;
    out->flags = t[ACPI_HEADER_LEN + 1];

    for (uint32_t off = DMAR_HEADER_LEN; off < length;) {
        if (length - off < STRUCT_HEADER_LEN)
            return field_fail(err, IOMMU_ERANGE, "structure", off, "truncated: no room for type and length");
        uint16_t type = le16(t + off);
        uint16_t slen = le16(t + off + 2);
        if (slen < STRUCT_HEADER_LEN)
            return field_fail(err, IOMMU_EINVAL, "structure.length", off + 2, "zero or below 4");
        if (slen > length - off)
            return field_fail(err, IOMMU_ERANGE, "structure.length", off + 2, "past the end of the table");
        int rc = 0;
        if (type == DMAR_TYPE_DRHD)
            rc = parse_drhd(t, off, slen, out, err);
        else if (type == DMAR_TYPE_RMRR)
            rc = parse_rmrr(t, off, slen, out, err);
        else
            out->skipped++; /* ATSR, RHSA, ANDD, SATC, newer: not needed */
        if (rc)
            return rc;
        off += slen;
    }
    return IOMMU_OK;
}

/* ---- lookup ---- */

/* Follows a scope's path: bus of the last hop and its device/function.
 * False when a hop's bridge is unknown. */
static bool resolve_path(const struct dmar_scope *s, uint16_t segment, dmar_bridge_fn bridge,
                         void *opaque, uint8_t *bus, uint8_t *dev, uint8_t *fn)
{
    uint8_t b = s->start_bus;
    for (unsigned i = 0; i + 1 < s->path_len; i++) {
        uint8_t sec, sub;
        if (!bridge || !bridge(opaque, segment, b, s->path[i].dev, s->path[i].fn, &sec, &sub))
            return false;
        b = sec;
    }
    *bus = b;
    *dev = s->path[s->path_len - 1].dev;
    *fn = s->path[s->path_len - 1].fn;
    return true;
}

static bool scope_has_device(const struct dmar_scope *s, uint16_t segment, uint32_t sbdf,
                             dmar_bridge_fn bridge, void *opaque)
{
    uint8_t bus, dev, fn;
    if (s->type != DMAR_SCOPE_ENDPOINT && s->type != DMAR_SCOPE_BRIDGE)
        return false;
    if (!resolve_path(s, segment, bridge, opaque, &bus, &dev, &fn))
        return false;
    if (IOMMU_SBDF(segment, bus, dev, fn) == sbdf)
        return true;
    uint8_t sec, sub;
    return s->type == DMAR_SCOPE_BRIDGE && bridge && bridge(opaque, segment, bus, dev, fn, &sec, &sub) &&
           IOMMU_SBDF_BUS(sbdf) >= sec && IOMMU_SBDF_BUS(sbdf) <= sub;
}

static bool scopes_have_device(const struct dmar_info *d, unsigned first, unsigned count,
                               uint16_t segment, uint32_t sbdf, dmar_bridge_fn bridge, void *opaque)
{
    if (IOMMU_SBDF_SEG(sbdf) != segment)
        return false;
    for (unsigned i = first; i < first + count && i < d->scope_count; i++)
        if (scope_has_device(&d->scopes[i], segment, sbdf, bridge, opaque))
            return true;
    return false;
}

int dmar_drhd_for_device(const struct dmar_info *d, uint32_t sbdf, dmar_bridge_fn bridge, void *opaque)
{
    int include_all = -IOMMU_ENODEV;
    for (unsigned i = 0; i < d->unit_count; i++) {
        const struct dmar_unit *u = &d->units[i];
        if (u->include_pci_all) {
            if (u->segment == IOMMU_SBDF_SEG(sbdf) && include_all < 0)
                include_all = (int)i;
        } else if (scopes_have_device(d, u->first_scope, u->scope_count, u->segment, sbdf, bridge, opaque)) {
            return (int)i;
        }
    }
    return include_all;
}

bool dmar_rmrr_has_device(const struct dmar_info *d, unsigned rmrr, uint32_t sbdf,
                          dmar_bridge_fn bridge, void *opaque)
{
    if (rmrr >= d->rmrr_count)
        return false;
    const struct dmar_rmrr *r = &d->rmrrs[rmrr];
    return scopes_have_device(d, r->first_scope, r->scope_count, r->segment, sbdf, bridge, opaque);
}
