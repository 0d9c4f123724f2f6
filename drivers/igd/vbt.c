/* VBT parser: header checks from i915 intel_bios_is_valid_vbt(), block walk
 * from find_raw_section()/_get_blocksize() (intel_bios.c), child device and
 * LFP options layouts from intel_vbt_defs.h. */
#include <minihv/libc.h>
#include <drivers/igd/vbt.h>

/* LEGACY_CHILD_DEVICE_CONFIG_SIZE in intel_bios.c: the least i915 reads. */
#define CHILD_LEGACY_SIZE 33u
/* struct bdb_general_definitions: 5 header bytes, then the child configs. */
#define GENDEFS_HEADER 5u
#define GENDEFS_CHILD_DEV_SIZE 4u

bool igd_vbt_present(const void *buf, size_t len)
{
    return buf && len >= IGD_VBT_HEADER_SIZE && memcmp(buf, "$VBT", 4) == 0;
}

static void parse_children(const uint8_t *vbt, const struct igd_vbt_block *blk,
                           struct igd_vbt_summary *s)
{
    const uint8_t *d = vbt + blk->offset;
    if (blk->size < GENDEFS_HEADER)
        return;
    s->child_dev_size = d[GENDEFS_CHILD_DEV_SIZE];
    /* i915 (parse_general_definitions) keeps no children below the legacy
     * size; so do we, without failing the whole VBT. */
    if (s->child_dev_size < CHILD_LEGACY_SIZE)
        return;
    uint32_t count = (blk->size - GENDEFS_HEADER) / s->child_dev_size;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *c = d + GENDEFS_HEADER + (size_t)i * s->child_dev_size;
        uint16_t type = le16(c + 2);
        if (type == 0)          /* unused slot, skipped by i915 too */
            continue;
        if (s->nchildren < IGD_VBT_MAX_CHILDREN) {
            struct igd_vbt_child *ch = &s->children[s->nchildren];
            ch->handle = le16(c + 0);
            ch->device_type = type;
            ch->dvo_port = c[16];
            ch->ddc_pin = c[19];
            ch->aux_channel = c[25];
        }
        s->nchildren++;
    }
    if (s->nchildren > IGD_VBT_MAX_CHILDREN)
        s->nchildren = IGD_VBT_MAX_CHILDREN;
}

int igd_vbt_parse(const void *buf, size_t len, struct igd_vbt_summary *s,
                  struct field_error *err)
{
    const uint8_t *v = buf;

    memset(s, 0, sizeof(*s));
    s->panel_type = -1;
    if (!buf || len < IGD_VBT_HEADER_SIZE)
        return field_fail(err, IGD_ERANGE, "vbt_header", 0, "buffer shorter than the 48-byte VBT header");
    if (memcmp(v, "$VBT", 4) != 0)
        return field_fail(err, IGD_EINVAL, "vbt.signature", 0, "does not start with \"$VBT\"");
    memcpy(s->signature, v, IGD_VBT_SIG_LEN);
    for (int i = 0; i < (int)IGD_VBT_SIG_LEN; i++)
        if ((unsigned char)s->signature[i] < 0x20 || (unsigned char)s->signature[i] > 0x7e)
            s->signature[i] = '?';   /* printable for the tool's JSON */
    s->vbt_version = le16(v + 0x14);
    s->vbt_header_size = le16(v + 0x16);
    s->vbt_size = le16(v + 0x18);
    s->vbt_checksum = v[0x1A];
    s->bdb_offset = le32(v + 0x1C);

    if (s->vbt_header_size < IGD_VBT_HEADER_SIZE)
        return field_fail(err, IGD_EINVAL, "vbt.header_size", 0x16, "smaller than the 48-byte VBT header");
    if (s->vbt_size > len)
        return field_fail(err, IGD_ERANGE, "vbt.vbt_size", 0x18, "larger than the buffer holding the VBT");
    if (s->vbt_header_size > s->vbt_size)
        return field_fail(err, IGD_ERANGE, "vbt.header_size", 0x16, "larger than vbt_size");
    if (!range_ok(s->bdb_offset, IGD_BDB_HEADER_SIZE, s->vbt_size))
        return field_fail(err, IGD_ERANGE, "vbt.bdb_offset", 0x1C, "BDB header does not fit inside vbt_size");

    uint8_t sum = 0;
    for (uint32_t i = 0; i < s->vbt_size; i++)
        sum = (uint8_t)(sum + v[i]);
    s->checksum_ok = sum == 0;

    const uint8_t *b = v + s->bdb_offset;
    if (memcmp(b, "BIOS_DATA_BLOCK ", 16) != 0)
        return field_fail(err, IGD_EINVAL, "bdb.signature", s->bdb_offset, "is not \"BIOS_DATA_BLOCK \"");
    s->bdb_version = le16(b + 0x10);
    s->bdb_header_size = le16(b + 0x12);
    s->bdb_size = le16(b + 0x14);
    if (s->bdb_header_size < IGD_BDB_HEADER_SIZE)
        return field_fail(err, IGD_EINVAL, "bdb.header_size", s->bdb_offset + 0x12, "smaller than the 22-byte BDB header");
    if (!range_ok(s->bdb_offset, s->bdb_size, s->vbt_size))
        return field_fail(err, IGD_ERANGE, "bdb.bdb_size", s->bdb_offset + 0x14, "BDB runs past vbt_size");
    if (s->bdb_header_size > s->bdb_size)
        return field_fail(err, IGD_ERANGE, "bdb.header_size", s->bdb_offset + 0x12, "larger than bdb_size");

    /* Block walk, as find_raw_section(): a block is id u8, size u16, data;
     * the MIPI sequence block (53) from version 3 on (its first data byte)
     * carries its size as a u32 after the version byte. The loop condition
     * `index + 3 < total` is i915's, so a final empty block is not seen. */
    uint32_t total = s->bdb_size;
    uint32_t index = s->bdb_header_size;
    while (index + 3 < total) {
        uint8_t id = b[index];
        uint32_t size = le16(b + index + 1);
        if (id == IGD_BDB_MIPI_SEQUENCE && b[index + 3] >= 3) {
            if (!range_ok(index + 4, 4, total)) {
                s->walk_stopped = true;
                s->stop_offset = s->bdb_offset + index;
                s->stop_block_id = id;
                s->stop_block_size = size;
                break;
            }
            size = le32(b + index + 4);
        }
        if (!range_ok(index + 3, size, total)) {
            s->walk_stopped = true;
            s->stop_offset = s->bdb_offset + index;
            s->stop_block_id = id;
            s->stop_block_size = size;
            break;
        }
        if (s->nblocks >= IGD_VBT_MAX_BLOCKS)
            return field_fail(err, IGD_ENOSPC, "bdb.blocks", s->bdb_offset + index, "more blocks than the summary holds");
        struct igd_vbt_block *blk = &s->blocks[s->nblocks++];
        blk->id = id;
        blk->offset = s->bdb_offset + index + 3;
        blk->size = size;
        index += 3 + size;
    }

    const struct igd_vbt_block *defs = igd_vbt_find_block(s, IGD_BDB_GENERAL_DEFINITIONS);
    if (defs)
        parse_children(v, defs, s);
    const struct igd_vbt_block *lfp = igd_vbt_find_block(s, IGD_BDB_LFP_OPTIONS);
    if (lfp && lfp->size >= 1)
        s->panel_type = v[lfp->offset];   /* bdb_lfp_options.panel_type */
    return IGD_OK;
}

const struct igd_vbt_block *igd_vbt_find_block(const struct igd_vbt_summary *s, uint8_t id)
{
    for (uint32_t i = 0; i < s->nblocks; i++)
        if (s->blocks[i].id == id)
            return &s->blocks[i];
    return NULL;
}
