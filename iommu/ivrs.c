/* ACPI IVRS parser; see ivrs.h. Offsets from AMD IOMMU spec 48882 5.2. */
#include <minihv/libc.h>
#include "iommu/ivrs.h"

#define IVRS_HEADER_LEN  48  /* ACPI header, IVinfo (4), reserved (8) — 5.2.1 */
#define BLOCK_HEADER_LEN 4   /* type (1), flags (1), length (2) */
#define IVHD10_FIXED_LEN 24  /* 5.2.2.1: ... base (8) at 8, segment, info, feature reporting */
#define IVHD11_FIXED_LEN 40  /* 11h/40h: + attributes, EFR image (8) at 24, reserved (8) */
#define IVMD_LEN         32  /* 5.2.3: ... start (8) at 16, length (8) at 24 */
#define IOMMU_MMIO_ALIGN 0x4000ull /* base address register bits 51:14 (3.4) */

static int add_range(struct ivrs_info *out, uint32_t off, uint16_t first, uint16_t last,
                     uint8_t setting, bool aliased, uint16_t alias, uint32_t ext,
                     struct field_error *err)
{
    if (out->range_count == IVRS_MAX_RANGES)
        return field_fail(err, IOMMU_ENOSPC, "IVHD entry", off, "more than 256 device ranges");
    out->ranges[out->range_count++] = (struct ivrs_range){
        .first = first, .last = last, .setting = setting, .aliased = aliased,
        .alias = alias, .ext_setting = ext, .offset = off,
    };
    return IOMMU_OK;
}

/* Length of the device entry at `p` (5.2.2.2): types 0-63 are 4 bytes,
 * 64-127 8 bytes, F0h 22 + UID length; other variable types have no
 * length the spec lets us skip by: 0. */
static uint32_t entry_length(const uint8_t *p, uint32_t room)
{
    uint8_t type = p[0];
    if (type < 0x80)
        return 4u << (type >> 6);
    if (type == IVHD_ACPI_HID)
        return room >= 22 ? 22u + p[21] : 22u;
    return 0;
}

/* Device entries of the IVHD at `base` in [off, end). */
static int parse_entries(const uint8_t *t, uint32_t off, uint32_t end, struct ivrs_info *out,
                         struct ivrs_unit *u, struct field_error *err)
{
    bool in_range = false;
    uint32_t range_off = 0;
    struct ivrs_range pending = { 0 };
    u->first_range = out->range_count;
    u->first_special = out->special_count;

    while (off < end) {
        const uint8_t *p = t + off;
        uint32_t room = end - off;
        uint32_t elen = entry_length(p, room);
        if (!elen)
            return field_fail(err, IOMMU_EINVAL, "IVHD entry.type", off, "variable-length type other than F0h");
        if (elen > room)
            return field_fail(err, IOMMU_ERANGE, "IVHD entry", off, "past the end of its IVHD");
        uint8_t type = p[0];
        uint16_t devid = le16(p + 1);
        uint8_t setting = p[3];
        int rc = 0;

        if (in_range && type != IVHD_RANGE_END)
            return field_fail(err, IOMMU_EINVAL, "IVHD entry.type", off, "range start not followed by range end");
        switch (type) {
        case IVHD_PAD4:
        case IVHD_PAD8:
            break;
        case IVHD_ALL:
            rc = add_range(out, off, 0, 0xffff, setting, false, 0, 0, err);
            break;
        case IVHD_SELECT:
            rc = add_range(out, off, devid, devid, setting, false, 0, 0, err);
            break;
        case IVHD_ALIAS_SELECT:
            rc = add_range(out, off, devid, devid, setting, true, le16(p + 5), 0, err);
            break;
        case IVHD_EXT_SELECT:
            rc = add_range(out, off, devid, devid, setting, false, 0, le32(p + 4), err);
            break;
        case IVHD_RANGE_START:
        case IVHD_ALIAS_RANGE_START:
        case IVHD_EXT_RANGE_START:
            in_range = true;
            range_off = off;
            pending = (struct ivrs_range){ .first = devid, .setting = setting };
            if (type == IVHD_ALIAS_RANGE_START) {
                pending.aliased = true;
                pending.alias = le16(p + 5);
            } else if (type == IVHD_EXT_RANGE_START) {
                pending.ext_setting = le32(p + 4);
            }
            break;
        case IVHD_RANGE_END:
            if (!in_range)
                return field_fail(err, IOMMU_EINVAL, "IVHD entry.type", off, "range end without a start");
            if (devid < pending.first)
                return field_fail(err, IOMMU_EINVAL, "IVHD range end.device_id", off + 1, "below the range start");
            in_range = false;
            rc = add_range(out, range_off, pending.first, devid, pending.setting, pending.aliased,
                           pending.alias, pending.ext_setting, err);
            break;
        case IVHD_SPECIAL:
            if (p[7] != 1 && p[7] != 2)
                return field_fail(err, IOMMU_EINVAL, "IVHD special.variety", off + 7, "not 1 (IOAPIC) or 2 (HPET)");
            if (out->special_count == IVRS_MAX_SPECIAL)
                return field_fail(err, IOMMU_ENOSPC, "IVHD special", off, "more than 32 special devices");
            out->special[out->special_count++] = (struct ivrs_special){
                .handle = p[4], .devid = le16(p + 5), .variety = p[7], .setting = setting, .offset = off,
            };
            u->special_count++;
            break;
        case IVHD_ACPI_HID:
            u->acpi_hid_count++;
            break;
        default:
            /* a reserved type of a known size (5.2.2.2): skipped */
            break;
        }
        if (rc)
            return rc;
        off += elen;
    }
    if (in_range)
        return field_fail(err, IOMMU_ERANGE, "IVHD entry", range_off, "range start without an end");
    u->range_count = out->range_count - u->first_range;
    return IOMMU_OK;
}

static int parse_ivhd(const uint8_t *t, uint32_t off, uint32_t blen, struct ivrs_info *out,
                      struct field_error *err)
{
    uint8_t type = t[off];
    uint32_t fixed = type == 0x10 ? IVHD10_FIXED_LEN : IVHD11_FIXED_LEN;
    if (blen < fixed)
        return field_fail(err, IOMMU_EINVAL, "IVHD.length", off + 2,
                          type == 0x10 ? "shorter than the 24-byte type 10h header"
                                       : "shorter than the 40-byte type 11h/40h header");
    if (out->unit_count == IVRS_MAX_UNITS)
        return field_fail(err, IOMMU_ENOSPC, "IVHD", off, "more than 16 IOMMUs");
    struct ivrs_unit *u = &out->units[out->unit_count];
    memset(u, 0, sizeof(*u));
    u->type = type;
    u->flags = t[off + 1];
    u->devid = le16(t + off + 4);
    u->cap_offset = le16(t + off + 6);
    u->base = le64(t + off + 8);
    u->segment = le16(t + off + 16);
    u->info = le16(t + off + 18);
    u->attributes = le32(t + off + 20);
    u->efr = type == 0x10 ? 0 : le64(t + off + 24);
    u->offset = off;
    if (!u->base || (u->base & (IOMMU_MMIO_ALIGN - 1)))
        return field_fail(err, IOMMU_EINVAL, "IVHD.base_address", off + 8, "zero or not 16 KiB aligned");
    int rc = parse_entries(t, off + fixed, off + blen, out, u, err);
    if (rc)
        return rc;
    out->unit_count++;
    return IOMMU_OK;
}

static int parse_ivmd(const uint8_t *t, uint32_t off, uint32_t blen, struct ivrs_info *out,
                      struct field_error *err)
{
    if (blen < IVMD_LEN)
        return field_fail(err, IOMMU_EINVAL, "IVMD.length", off + 2, "shorter than 32 bytes");
    if (out->memory_count == IVRS_MAX_MEMORY)
        return field_fail(err, IOMMU_ENOSPC, "IVMD", off, "more than 32 memory definitions");
    struct ivrs_memory *m = &out->memory[out->memory_count];
    m->type = t[off];
    m->flags = t[off + 1];
    m->start = le64(t + off + 16);
    m->length = le64(t + off + 24);
    m->offset = off;
    uint16_t devid = le16(t + off + 4), aux = le16(t + off + 6);
    if (m->type == 0x20) {
        m->first = 0;
        m->last = 0xffff;
    } else if (m->type == 0x21) {
        m->first = m->last = devid;
    } else {
        if (aux < devid)
            return field_fail(err, IOMMU_EINVAL, "IVMD.aux_data", off + 6, "range end below its start");
        m->first = devid;
        m->last = aux;
    }
    if (m->start & 0xfff)
        return field_fail(err, IOMMU_EINVAL, "IVMD.start_address", off + 16, "not 4 KiB aligned");
    if (m->length & 0xfff) {
        /* Real firmware ships lengths of 1; Linux page-aligns them
         * (init_unity_map_range). Rounded up, never wrapping. */
        if (m->length > UINT64_MAX - 0xfff)
            return field_fail(err, IOMMU_EINVAL, "IVMD.memory_block_length", off + 24, "wraps past 2^64");
        m->length = (m->length + 0xfff) & ~0xfffull;
        if (!out->warnings++)
            field_fail(&out->warning, 0, "IVMD.memory_block_length", off + 24,
                       "not a multiple of 4 KiB: rounded up");
    }
    if (!m->length || m->start + m->length - 1 < m->start)
        return field_fail(err, IOMMU_EINVAL, "IVMD.memory_block_length", off + 24, "zero or wraps past 2^64");
    out->memory_count++;
    return IOMMU_OK;
}

/* The same IOMMU described by IVHDs of several types: keep the highest. */
static void mark_superseded(struct ivrs_info *out)
{
    for (unsigned i = 0; i < out->unit_count; i++)
        for (unsigned j = 0; j < out->unit_count; j++) {
            struct ivrs_unit *a = &out->units[i], *b = &out->units[j];
            if (i != j && a->devid == b->devid && a->segment == b->segment &&
                (b->type > a->type || (b->type == a->type && j < i)))
                a->superseded = true;
        }
}

int ivrs_parse(const void *table, size_t len, struct ivrs_info *out, struct field_error *err)
{
    const uint8_t *t = table;
    memset(out, 0, sizeof(*out));
    if (!t || len < IVRS_HEADER_LEN)
        return field_fail(err, IOMMU_ERANGE, "IVRS", 0, "buffer shorter than the 48-byte IVRS header");
    if (memcmp(t, "IVRS", 4))
        return field_fail(err, IOMMU_EINVAL, "IVRS.signature", 0, "not \"IVRS\"");
    uint32_t length = le32(t + 4);
    if (length < IVRS_HEADER_LEN)
        return field_fail(err, IOMMU_EINVAL, "IVRS.length", 4, "below the 48-byte header");
    if (length > len)
        return field_fail(err, IOMMU_ERANGE, "IVRS.length", 4, "beyond the buffer");
    out->ivinfo = le32(t + 36);

    for (uint32_t off = IVRS_HEADER_LEN; off < length;) {
        if (length - off < BLOCK_HEADER_LEN)
            return field_fail(err, IOMMU_ERANGE, "block", off, "truncated: no room for type and length");
        uint8_t type = t[off];
        uint16_t blen = le16(t + off + 2);
        if (blen < BLOCK_HEADER_LEN)
            return field_fail(err, IOMMU_EINVAL, "block.length", off + 2, "zero or below 4");
        if (blen > length - off)
            return field_fail(err, IOMMU_ERANGE, "block.length", off + 2, "past the end of the table");
        int rc = 0;
        if (type == 0x10 || type == 0x11 || type == 0x40)
            rc = parse_ivhd(t, off, blen, out, err);
        else if (type >= 0x20 && type <= 0x22)
            rc = parse_ivmd(t, off, blen, out, err);
        else
            out->skipped++;
        if (rc)
            return rc;
        off += blen;
    }
    mark_superseded(out);
    return IOMMU_OK;
}

int ivrs_unit_for_device(const struct ivrs_info *r, uint32_t sbdf)
{
    uint16_t rid = IOMMU_SBDF_RID(sbdf);
    for (unsigned i = 0; i < r->unit_count; i++) {
        const struct ivrs_unit *u = &r->units[i];
        if (u->superseded || u->segment != IOMMU_SBDF_SEG(sbdf))
            continue;
        for (unsigned k = u->first_range; k < u->first_range + u->range_count; k++)
            if (rid >= r->ranges[k].first && rid <= r->ranges[k].last)
                return (int)i;
    }
    return -IOMMU_ENODEV;
}

uint16_t ivrs_unit_max_devid(const struct ivrs_info *r, unsigned unit)
{
    const struct ivrs_unit *u = &r->units[unit];
    uint16_t max = u->devid;
    for (unsigned k = u->first_range; k < u->first_range + u->range_count; k++) {
        max = MAX(max, r->ranges[k].last);
        if (r->ranges[k].aliased)
            max = MAX(max, r->ranges[k].alias);
    }
    for (unsigned k = u->first_special; k < u->first_special + u->special_count; k++)
        max = MAX(max, r->special[k].devid);
    return max;
}
