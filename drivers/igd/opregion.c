/* IGD OpRegion: checks follow the IGD OpRegion spec and i915
 * intel_opregion.c (intel_opregion_setup); the 2.0 -> 2.1 rewrite of an
 * extended VBT follows vfio_pci_igd.c (vfio_pci_igd_rw). */
#include <minihv/libc.h>
#include <drivers/igd/opregion.h>
#include <drivers/igd/vbt.h>

static void put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put_le32(uint8_t *p, uint32_t v)
{
    put_le16(p, (uint16_t)v);
    put_le16(p + 2, (uint16_t)(v >> 16));
}

static void put_le64(uint8_t *p, uint64_t v)
{
    put_le32(p, (uint32_t)v);
    put_le32(p + 4, (uint32_t)(v >> 32));
}

/* Mailbox table: bit in MBOX, offset, size. Mailbox 4 (VBT) has no bit. */
static const struct { uint32_t bit; uint32_t off; uint32_t size; } mailboxes[] = {
    { IGD_MBOX_ACPI,     IGD_OPREGION_ACPI_OFF,     0x100 },
    { IGD_MBOX_SWSCI,    IGD_OPREGION_SWSCI_OFF,    0x100 },
    { IGD_MBOX_ASLE,     IGD_OPREGION_ASLE_OFF,     0x100 },
    { IGD_MBOX_ASLE_EXT, IGD_OPREGION_ASLE_EXT_OFF, 0x400 },
};

int igd_opregion_parse(const void *buf, size_t len, uint64_t base_phys,
                       struct igd_opregion_info *o, struct field_error *err)
{
    const uint8_t *p = buf;

    memset(o, 0, sizeof(*o));
    if (!buf || len < IGD_OPREGION_SIZE)
        return field_fail(err, IGD_ERANGE, "opregion", 0, "buffer shorter than the 8 KiB OpRegion");
    if (memcmp(p, IGD_OPREGION_SIGNATURE, 16) != 0)
        return field_fail(err, IGD_EINVAL, "signature", 0, "is not \"IntelGraphicsMem\"");

    uint32_t size_kib = le32(p + IGD_OPREGION_SIZE_OFF);
    if (size_kib < IGD_OPREGION_SIZE / 1024)
        return field_fail(err, IGD_EINVAL, "size", IGD_OPREGION_SIZE_OFF, "smaller than 8 KiB");
    if ((uint64_t)size_kib * 1024 > len)
        return field_fail(err, IGD_ERANGE, "size", IGD_OPREGION_SIZE_OFF, "larger than the buffer");
    o->size = size_kib * 1024;

    o->version = le16(p + IGD_OPREGION_VERSION_OFF);
    uint8_t major = (uint8_t)(o->version >> 8);
    if (major == 0)
        return field_fail(err, IGD_EINVAL, "version", IGD_OPREGION_VERSION_OFF, "major version 0");

    o->mboxes = le32(p + IGD_OPREGION_MBOXES_OFF);
    if (o->mboxes & ~IGD_MBOX_KNOWN)
        return field_fail(err, IGD_EINVAL, "mboxes", IGD_OPREGION_MBOXES_OFF, "reserved mailbox bit set");
    for (size_t i = 0; i < ARRAY_SIZE(mailboxes); i++)
        if ((o->mboxes & mailboxes[i].bit) && !range_ok(mailboxes[i].off, mailboxes[i].size, o->size))
            return field_fail(err, IGD_ERANGE, "mboxes", IGD_OPREGION_MBOXES_OFF, "mailbox outside the OpRegion");

    /* RVDA/RVDS live in the ASLE mailbox; i915 reads them from 2.0 on, only
     * when that mailbox is there and both are non-zero. */
    if (major >= 2 && (o->mboxes & IGD_MBOX_ASLE)) {
        o->rvda = le64(p + IGD_OPREGION_RVDA_OFF);
        o->rvds = le32(p + IGD_OPREGION_RVDS_OFF);
    }
    if (o->rvda && o->rvds) {
        if (o->rvds < IGD_VBT_HEADER_SIZE)
            return field_fail(err, IGD_EINVAL, "asle.rvds", IGD_OPREGION_RVDS_OFF, "smaller than a VBT header");
        if (o->version == 0x0200) {
            /* 2.0: RVDA is a physical address. */
            if (o->rvda > UINT64_MAX - o->rvds)
                return field_fail(err, IGD_ERANGE, "asle.rvda", IGD_OPREGION_RVDA_OFF, "RVDA + RVDS overflows");
            if (base_phys > UINT64_MAX - o->size)
                return field_fail(err, IGD_ERANGE, "asls", 0, "OpRegion base + size overflows");
            if (o->rvda < base_phys + o->size && base_phys < o->rvda + o->rvds)
                return field_fail(err, IGD_EINVAL, "asle.rvda", IGD_OPREGION_RVDA_OFF, "extended VBT overlaps the OpRegion");
            o->vbt_where = IGD_VBT_RVDA_ABSOLUTE;
            o->vbt_offset = o->rvda;
            o->vbt_len = o->rvds;
            return IGD_OK;
        }
        /* 2.1+: offset from the OpRegion base, never inside the OpRegion
         * (i915: drm_WARN_ON(rvda < OPREGION_SIZE)). */
        if (o->rvda < o->size)
            return field_fail(err, IGD_EINVAL, "asle.rvda", IGD_OPREGION_RVDA_OFF, "extended VBT overlaps the OpRegion");
        if (!range_ok(o->rvda, o->rvds, len))
            return field_fail(err, IGD_ERANGE, "asle.rvds", IGD_OPREGION_RVDS_OFF, "extended VBT runs past the buffer");
        if (!igd_vbt_present(p + o->rvda, o->rvds))
            return field_fail(err, IGD_EINVAL, "asle.rvda", IGD_OPREGION_RVDA_OFF, "no \"$VBT\" at RVDA");
        o->vbt_where = IGD_VBT_RVDA_RELATIVE;
        o->vbt_offset = o->rvda;
        o->vbt_len = o->rvds;
        return IGD_OK;
    }

    /* Mailbox 4. i915 lets the VBT run into mailbox 5 when that one is not
     * advertised (some CHT boards need it). */
    if (igd_vbt_present(p + IGD_OPREGION_VBT_OFF, IGD_OPREGION_VBT_SIZE)) {
        o->vbt_where = IGD_VBT_MAILBOX4;
        o->vbt_offset = IGD_OPREGION_VBT_OFF;
        o->vbt_len = (o->mboxes & IGD_MBOX_ASLE_EXT) ? IGD_OPREGION_VBT_SIZE
                                                      : IGD_OPREGION_SIZE - IGD_OPREGION_VBT_OFF;
    }
    return IGD_OK;
}

uint64_t igd_opregion_guest_size(const struct igd_opregion_info *info, size_t override_len)
{
    if (override_len)
        return info->size + (override_len > IGD_OPREGION_VBT_SIZE ? (uint64_t)override_len : 0);
    if (info->vbt_where == IGD_VBT_RVDA_RELATIVE || info->vbt_where == IGD_VBT_RVDA_ABSOLUTE)
        return (uint64_t)info->size + info->rvds;
    return info->size;
}

/* Points the copy's RVDA at the VBT appended after the OpRegion. */
static void set_extended(uint8_t *out, const struct igd_opregion_info *info, uint32_t vbt_len)
{
    put_le64(out + IGD_OPREGION_RVDA_OFF, info->size);
    put_le32(out + IGD_OPREGION_RVDS_OFF, vbt_len);
    if (info->version < 0x0201)
        put_le16(out + IGD_OPREGION_VERSION_OFF, 0x0201);
}

int igd_opregion_build_guest(const void *buf, size_t len,
                             const struct igd_opregion_info *info,
                             const void *abs_vbt, size_t abs_vbt_len,
                             const void *override_vbt, size_t override_len,
                             void *outp, size_t cap, size_t *out_len,
                             struct field_error *err)
{
    const uint8_t *p = buf;
    uint8_t *out = outp;

    if (!buf || info->size < IGD_OPREGION_SIZE || info->size > len)
        return field_fail(err, IGD_EINVAL, "size", IGD_OPREGION_SIZE_OFF, "info does not match the buffer (parse first)");
    if (override_len > UINT32_MAX)
        return field_fail(err, IGD_ERANGE, "override", 0, "override VBT larger than 4 GiB");
    uint64_t need = igd_opregion_guest_size(info, override_len);
    if (need > cap)
        return field_fail(err, IGD_ENOSPC, "guest_opregion", 0, "caller's buffer too small for the guest copy");

    memcpy(out, p, info->size);

    if (override_len) {
        if (!override_vbt || !igd_vbt_present(override_vbt, override_len))
            return field_fail(err, IGD_EINVAL, "override", 0, "override VBT does not start with \"$VBT\"");
        /* The override is the only VBT the guest sees. */
        memset(out + IGD_OPREGION_VBT_OFF, 0, IGD_OPREGION_VBT_SIZE);
        if (override_len <= IGD_OPREGION_VBT_SIZE) {
            memcpy(out + IGD_OPREGION_VBT_OFF, override_vbt, override_len);
            if (info->version >= 0x0200 && (info->mboxes & IGD_MBOX_ASLE)) {
                put_le64(out + IGD_OPREGION_RVDA_OFF, 0);
                put_le32(out + IGD_OPREGION_RVDS_OFF, 0);
            }
        } else {
            if (info->version < 0x0200)
                return field_fail(err, IGD_EINVAL, "version", IGD_OPREGION_VERSION_OFF, "an extended VBT needs OpRegion 2.0 or later");
            if (!(info->mboxes & IGD_MBOX_ASLE))
                return field_fail(err, IGD_EINVAL, "mboxes", IGD_OPREGION_MBOXES_OFF, "an extended VBT needs the ASLE mailbox (RVDA/RVDS)");
            memcpy(out + info->size, override_vbt, override_len);
            set_extended(out, info, (uint32_t)override_len);
        }
    } else if (info->vbt_where == IGD_VBT_RVDA_RELATIVE) {
        if (!range_ok(info->rvda, info->rvds, len))
            return field_fail(err, IGD_ERANGE, "asle.rvds", IGD_OPREGION_RVDS_OFF, "extended VBT runs past the buffer");
        memcpy(out + info->size, p + info->rvda, info->rvds);
        set_extended(out, info, info->rvds);
    } else if (info->vbt_where == IGD_VBT_RVDA_ABSOLUTE) {
        if (!abs_vbt || abs_vbt_len < info->rvds)
            return field_fail(err, IGD_ERANGE, "asle.rvds", IGD_OPREGION_RVDS_OFF, "caller passed fewer extended VBT bytes than RVDS");
        memcpy(out + info->size, abs_vbt, info->rvds);
        set_extended(out, info, info->rvds);
    }
    *out_len = (size_t)need;
    return IGD_OK;
}

int igd_opregion_synthesize(void *bufp, size_t len, uint16_t version, uint32_t mboxes,
                            struct field_error *err)
{
    uint8_t *p = bufp;

    if (!bufp || len < IGD_OPREGION_SIZE)
        return field_fail(err, IGD_ENOSPC, "opregion", 0, "buffer shorter than the 8 KiB OpRegion");
    if ((version >> 8) == 0)
        return field_fail(err, IGD_EINVAL, "version", IGD_OPREGION_VERSION_OFF, "major version 0");
    if (mboxes & ~IGD_MBOX_KNOWN)
        return field_fail(err, IGD_EINVAL, "mboxes", IGD_OPREGION_MBOXES_OFF, "reserved mailbox bit set");
    /* Mailbox 5 overlays the tail of mailbox 4 (spec 2.1 table 1-1);
     * with no VBT here nothing is lost. Backlight is a 3.0 mailbox. */
    if ((mboxes & IGD_MBOX_BACKLIGHT) && (version >> 8) < 3)
        return field_fail(err, IGD_EINVAL, "mboxes", IGD_OPREGION_MBOXES_OFF, "backlight mailbox needs OpRegion 3.0");
    memset(p, 0, IGD_OPREGION_SIZE);
    memcpy(p, IGD_OPREGION_SIGNATURE, 16);
    put_le32(p + IGD_OPREGION_SIZE_OFF, IGD_OPREGION_SIZE / 1024);
    put_le16(p + IGD_OPREGION_VERSION_OFF, version);
    put_le32(p + IGD_OPREGION_MBOXES_OFF, mboxes);
    return IGD_OK;
}

const char *igd_vbt_where_name(enum igd_vbt_where where)
{
    switch (where) {
    case IGD_VBT_MAILBOX4: return "in mailbox 4";
    case IGD_VBT_RVDA_RELATIVE: return "extended (RVDA relative)";
    case IGD_VBT_RVDA_ABSOLUTE: return "extended (2.0: RVDA absolute)";
    default: return "none";
    }
}
