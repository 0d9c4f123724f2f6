/* ACPI IGD OpRegion (Intel "IGD OpRegion Specification"; i915
 * intel_opregion.c; vfio_pci_igd.c): validation, where the VBT lives, and
 * the copy the guest gets. */
#ifndef MINIHV_DRIVERS_IGD_OPREGION_H
#define MINIHV_DRIVERS_IGD_OPREGION_H

#include <drivers/igd/igd.h>

#define IGD_OPREGION_SIGNATURE   "IntelGraphicsMem"
#define IGD_OPREGION_SIZE        0x2000u  /* OPREGION_SIZE: header + 5 mailboxes */
#define IGD_OPREGION_SIZE_OFF    0x10u    /* u32, KiB */
#define IGD_OPREGION_VERSION_OFF 0x16u    /* u16: minor @0x16, major @0x17 */
#define IGD_OPREGION_MBOXES_OFF  0x58u    /* u32 */
#define IGD_OPREGION_ACPI_OFF    0x100u   /* mailbox 1 */
#define IGD_OPREGION_SWSCI_OFF   0x200u   /* mailbox 2 */
#define IGD_OPREGION_ASLE_OFF    0x300u   /* mailbox 3 */
#define IGD_OPREGION_VBT_OFF     0x400u   /* mailbox 4 */
#define IGD_OPREGION_VBT_SIZE    0x1800u  /* 6 KiB */
#define IGD_OPREGION_ASLE_EXT_OFF 0x1C00u /* mailbox 5 */
#define IGD_OPREGION_RVDA_OFF    0x3BAu   /* u64 in ASLE */
#define IGD_OPREGION_RVDS_OFF    0x3C2u   /* u32 in ASLE */

/* MBOX bits (i915 intel_opregion.c) */
#define IGD_MBOX_ACPI      (1u << 0)
#define IGD_MBOX_SWSCI     (1u << 1)
#define IGD_MBOX_ASLE      (1u << 2)
#define IGD_MBOX_ASLE_EXT  (1u << 4)
#define IGD_MBOX_BACKLIGHT (1u << 5)   /* from 3.0 */
#define IGD_MBOX_KNOWN     (IGD_MBOX_ACPI | IGD_MBOX_SWSCI | IGD_MBOX_ASLE | \
                            IGD_MBOX_ASLE_EXT | IGD_MBOX_BACKLIGHT)

enum igd_vbt_where {
    IGD_VBT_NONE = 0,      /* no "$VBT" found */
    IGD_VBT_MAILBOX4,      /* at 0x400 inside the OpRegion */
    IGD_VBT_RVDA_RELATIVE, /* 2.1+: at base + RVDA, inside the caller's buffer */
    IGD_VBT_RVDA_ABSOLUTE, /* 2.0: at physical address RVDA, outside the buffer */
};

struct igd_opregion_info {
    uint16_t version;      /* major << 8 | minor */
    uint32_t size;         /* bytes (header field is KiB) */
    uint32_t mboxes;
    uint64_t rvda;         /* as found */
    uint32_t rvds;
    enum igd_vbt_where vbt_where;
    uint64_t vbt_offset;   /* MAILBOX4/RELATIVE: offset in the buffer; ABSOLUTE: physical address */
    uint32_t vbt_len;      /* bytes available for the VBT there */
};

/* "in mailbox 4", "extended (RVDA relative)", "extended (2.0: RVDA
 * absolute)", "none": the words the loader and preflight both log. */
const char *igd_vbt_where_name(enum igd_vbt_where where);

/* Validates the OpRegion in buf[0..len). `base_phys` is its physical address
 * (ASLS), used to check that a 2.0 absolute RVDA does not overlap it. For a
 * 2.1+ OpRegion with an extended VBT, len must cover base + RVDA + RVDS. */
int igd_opregion_parse(const void *buf, size_t len, uint64_t base_phys,
                       struct igd_opregion_info *out, struct field_error *err);

/* Bytes the guest copy needs: the OpRegion plus any extended VBT (the host's
 * or an override larger than mailbox 4). override_len 0 means no override. */
uint64_t igd_opregion_guest_size(const struct igd_opregion_info *info, size_t override_len);

/* Builds the guest's OpRegion into out[0..cap): the host's OpRegion
 * (info->size bytes), then
 *  - with an override VBT (`vbt = path` in minihv.cfg): in mailbox 4 when
 *    it fits in 6 KiB (RVDA/RVDS cleared), else right after the OpRegion as
 *    an extended VBT;
 *  - else the host's extended VBT right after the OpRegion: for 2.1+ taken
 *    from buf at RVDA; for 2.0 from `abs_vbt` (the caller read RVDS bytes at
 *    physical RVDA) — and the copy then says 2.1 (vfio_pci_igd.c does this).
 * An extended VBT in the copy always has RVDA = OpRegion size (relative) and
 * the version at least 2.1. *out_len gets the bytes used. */
int igd_opregion_build_guest(const void *buf, size_t len,
                             const struct igd_opregion_info *info,
                             const void *abs_vbt, size_t abs_vbt_len,
                             const void *override_vbt, size_t override_len,
                             void *out, size_t cap, size_t *out_len,
                             struct field_error *err);

/* Writes a minimal host OpRegion into buf[0..len) for a device that has
 * none (igd_force = 1 on an emulated device, test only): 8 KiB, signature,
 * size field 8 (KiB), `version` (major << 8 | minor, major >= 1), MBOX
 * `mboxes` (known bits only), everything else zero — no VBT, RVDA/RVDS 0.
 * The result passes igd_opregion_parse. len must be at least 8 KiB. */
int igd_opregion_synthesize(void *buf, size_t len, uint16_t version, uint32_t mboxes,
                            struct field_error *err);

#endif
