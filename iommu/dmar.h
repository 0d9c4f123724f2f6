/* ACPI DMAR (Intel VT-d spec rev 3.x/4.x chapter 8) parsed into plain
 * arrays: remapping units (DRHD 8.3), reserved memory (RMRR 8.4) and their
 * device scopes (8.3.1). ATSR, RHSA, ANDD, SATC and later types are
 * skipped by their length. The checksum is the loader's (boot/acpi.c); the
 * parser checks every length and offset itself. */
#ifndef MINIHV_IOMMU_DMAR_H
#define MINIHV_IOMMU_DMAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <minihv/iommu.h>

/* Limits: a big 2-socket server measured for issue 18 uses 94 scopes (the
 * largest in tests/fixtures/acpi: 13); 512 gives margin for 4-8 sockets
 * (~14 KiB of scopes, in the core's static state). */
#define DMAR_MAX_UNITS  64
#define DMAR_MAX_RMRRS  64
#define DMAR_MAX_SCOPES 512
#define DMAR_MAX_PATH   8

/* DMAR header flags (8.1). */
#define DMAR_FLAG_INTR_REMAP      0x1
#define DMAR_FLAG_X2APIC_OPT_OUT  0x2
#define DMAR_FLAG_DMA_CTRL_OPT_IN 0x4

/* Remapping structure types (8.2). */
enum dmar_struct_type {
    DMAR_TYPE_DRHD = 0, DMAR_TYPE_RMRR = 1, DMAR_TYPE_ATSR = 2, DMAR_TYPE_RHSA = 3,
    DMAR_TYPE_ANDD = 4, DMAR_TYPE_SATC = 5,
};

/* Device scope types (8.3.1, Table 8-4 in rev 3.x). */
enum dmar_scope_type {
    DMAR_SCOPE_ENDPOINT = 1, DMAR_SCOPE_BRIDGE = 2, DMAR_SCOPE_IOAPIC = 3,
    DMAR_SCOPE_HPET = 4, DMAR_SCOPE_ACPI = 5,
};

struct dmar_scope {
    uint8_t type;
    uint8_t enumeration_id; /* IOAPIC id, HPET number, ACPI device number */
    uint8_t start_bus;
    uint8_t path_len;
    struct { uint8_t dev, fn; } path[DMAR_MAX_PATH];
    uint32_t offset; /* in the table */
};

struct dmar_unit {        /* DRHD */
    uint16_t segment;
    bool include_pci_all; /* flags bit 0 */
    uint8_t size_log2;    /* register set: 2^size_log2 4 KiB pages (rev 3.x "Size") */
    uint64_t reg_base;
    uint32_t offset;
    unsigned first_scope, scope_count;
};

struct dmar_rmrr {
    uint16_t segment;
    uint64_t base, limit; /* limit: last byte */
    uint32_t offset;
    unsigned first_scope, scope_count;
};

struct dmar_info {
    uint8_t address_width; /* Host Address Width + 1 */
    uint8_t flags;
    unsigned unit_count, rmrr_count, scope_count;
    unsigned skipped;      /* structures of other types, skipped by length */
    /* Entries real firmware ships that Linux accepts with a warning and we
     * skip (an RMRR with base 0 and limit 0): how many, and the first, for
     * the caller's one warning line. */
    unsigned warnings;
    struct field_error warning;
    struct dmar_unit units[DMAR_MAX_UNITS];
    struct dmar_rmrr rmrrs[DMAR_MAX_RMRRS];
    struct dmar_scope scopes[DMAR_MAX_SCOPES];
};

/* Parses a DMAR of `len` bytes (the header's length must fit in it). */
int dmar_parse(const void *table, size_t len, struct dmar_info *out, struct field_error *err);

/* Secondary and subordinate bus numbers of the bridge at seg:bus:dev.fn,
 * from its config space; false when unknown. */
typedef bool (*dmar_bridge_fn)(void *opaque, uint16_t segment, uint8_t bus, uint8_t dev,
                               uint8_t fn, uint8_t *secondary, uint8_t *subordinate);

/* Index of the unit that translates `sbdf`: one whose endpoint scope
 * names it or whose bridge scope has it below, else the segment's
 * INCLUDE_PCI_ALL unit (8.3.2); -IOMMU_ENODEV when none. Paths of more than
 * one hop, and devices below a bridge scope, need `bridge` (may be NULL:
 * such scopes then only match the device the first hop names). */
int dmar_drhd_for_device(const struct dmar_info *d, uint32_t sbdf, dmar_bridge_fn bridge,
                         void *opaque);

/* True when `sbdf` is named by one of the RMRR's scopes (same rules). */
bool dmar_rmrr_has_device(const struct dmar_info *d, unsigned rmrr, uint32_t sbdf,
                          dmar_bridge_fn bridge, void *opaque);

#endif
