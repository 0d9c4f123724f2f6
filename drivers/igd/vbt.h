/* Video BIOS Table (VBT): "$VBT" header, BIOS Data Block (BDB) header and
 * the block walk, as i915 reads them (intel_bios.c: intel_bios_is_valid_vbt,
 * find_raw_section, _get_blocksize; layouts from intel_vbt_defs.h). */
#ifndef MINIHV_DRIVERS_IGD_VBT_H
#define MINIHV_DRIVERS_IGD_VBT_H

#include <drivers/igd/igd.h>

/* struct vbt_header: signature[20] @0, version u16 @0x14, header_size u16
 * @0x16, vbt_size u16 @0x18, vbt_checksum u8 @0x1A, reserved @0x1B,
 * bdb_offset u32 @0x1C, aim_offset[4] @0x20. */
#define IGD_VBT_HEADER_SIZE      48u
#define IGD_VBT_SIG_LEN          20u
/* struct bdb_header: signature[16] "BIOS_DATA_BLOCK ", version u16 @0x10,
 * header_size u16 @0x12, bdb_size u16 @0x14. */
#define IGD_BDB_HEADER_SIZE      22u

#define IGD_BDB_GENERAL_DEFINITIONS 2
#define IGD_BDB_LFP_OPTIONS         40
#define IGD_BDB_LFP_DATA_PTRS       41
#define IGD_BDB_LFP_DATA            42
#define IGD_BDB_MIPI_SEQUENCE       53

#define IGD_VBT_MAX_BLOCKS   192
#define IGD_VBT_MAX_CHILDREN 16

struct igd_vbt_block {
    uint8_t id;
    uint32_t offset;   /* of the block's data (past id and size), from the VBT start */
    uint32_t size;     /* data bytes */
};

/* One child device config (block 2), the fields that say where a display
 * is wired: legacy layout offsets handle @0, device_type @2, dvo_port @16,
 * ddc_pin @19; aux_channel @25 (BDB 158+, "efp" layout). */
struct igd_vbt_child {
    uint16_t handle;
    uint16_t device_type;
    uint8_t dvo_port;
    uint8_t ddc_pin;
    uint8_t aux_channel;
};

struct igd_vbt_summary {
    char signature[IGD_VBT_SIG_LEN + 1];  /* NUL-terminated copy */
    uint16_t vbt_version;
    uint16_t vbt_header_size;
    uint16_t vbt_size;
    uint8_t vbt_checksum;
    bool checksum_ok;                     /* informational: i915 ignores it */
    uint32_t bdb_offset;

    uint16_t bdb_version;
    uint16_t bdb_header_size;
    uint16_t bdb_size;

    uint32_t nblocks;                     /* in file order, duplicates kept */
    struct igd_vbt_block blocks[IGD_VBT_MAX_BLOCKS];
    /* The walk stops, as i915's does, at the first block whose declared
     * size runs past the BDB; later blocks are invisible to i915 too. */
    bool walk_stopped;
    uint32_t stop_offset;                 /* of that block's id byte */
    uint8_t stop_block_id;
    uint32_t stop_block_size;

    uint8_t child_dev_size;               /* 0 when block 2 is absent */
    uint32_t nchildren;                   /* entries with device_type != 0 */
    struct igd_vbt_child children[IGD_VBT_MAX_CHILDREN];
    int panel_type;                       /* block 40 byte 0, or -1 */
};

/* Parses a VBT that starts at buf[0] ("$VBT"); len is what the caller has
 * (a file, mailbox 4, or RVDS bytes). Checks as intel_bios_is_valid_vbt:
 * vbt_size <= len, the BDB header and bdb_size inside vbt_size. */
int igd_vbt_parse(const void *buf, size_t len, struct igd_vbt_summary *out,
                  struct field_error *err);

/* True when buf starts with the "$VBT" signature and holds a full header. */
bool igd_vbt_present(const void *buf, size_t len);

/* The first block with this id (i915 uses the first), or NULL. */
const struct igd_vbt_block *igd_vbt_find_block(const struct igd_vbt_summary *s,
                                               uint8_t id);

#endif
