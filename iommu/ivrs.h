/* ACPI IVRS (AMD IOMMU spec 48882 rev 3.x, 5.2) parsed into plain arrays:
 * IVinfo, I/O virtualization hardware definitions (IVHD types 10h, 11h,
 * 40h, 5.2.2) with their device entries (5.2.2.2) flattened into DeviceID
 * ranges, special devices (IOAPIC/HPET) and ACPI HID devices, and memory
 * definitions (IVMD types 20h-22h, 5.2.3). Other block types are skipped
 * by their length. The checksum is the loader's (boot/acpi.c). */
#ifndef MINIHV_IOMMU_IVRS_H
#define MINIHV_IOMMU_IVRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <minihv/iommu.h>

#define IVRS_MAX_UNITS   16
#define IVRS_MAX_RANGES  256
#define IVRS_MAX_SPECIAL 32
#define IVRS_MAX_MEMORY  32

/* IVHD device entry types (5.2.2.2, Table 95/96 in rev 3.x). */
enum ivhd_entry_type {
    IVHD_PAD4 = 0, IVHD_ALL = 1, IVHD_SELECT = 2, IVHD_RANGE_START = 3, IVHD_RANGE_END = 4,
    IVHD_PAD8 = 64, IVHD_ALIAS_SELECT = 66, IVHD_ALIAS_RANGE_START = 67,
    IVHD_EXT_SELECT = 70, IVHD_EXT_RANGE_START = 71, IVHD_SPECIAL = 72,
    IVHD_ACPI_HID = 0xf0,
};

/* Devices [first, last] with one DTE setting; `alias` is the DeviceID
 * their requests carry when `aliased`. */
struct ivrs_range {
    uint16_t first, last;
    uint8_t setting;        /* DTE setting byte: INITPass, EIntPass, ... */
    bool aliased;
    uint16_t alias;
    uint32_t ext_setting;   /* extended entries (70, 71) */
    uint32_t offset;
};

struct ivrs_special {       /* type 72 */
    uint8_t handle;         /* IOAPIC id or HPET number */
    uint8_t variety;        /* 1 IOAPIC, 2 HPET */
    uint16_t devid;         /* the DeviceID its requests carry */
    uint8_t setting;
    uint32_t offset;
};

struct ivrs_unit {          /* IVHD */
    uint8_t type;           /* 0x10, 0x11, 0x40 */
    uint8_t flags;
    uint16_t devid;         /* the IOMMU's own PCI function */
    uint16_t cap_offset;
    uint16_t segment;
    uint16_t info;
    uint32_t attributes;    /* IOMMU feature reporting (10h) / attributes (11h, 40h) */
    uint64_t base;          /* MMIO registers, 16 KiB aligned */
    uint64_t efr;           /* EFR image (11h, 40h), else 0 */
    bool superseded;        /* a higher-type IVHD describes the same IOMMU */
    uint32_t offset;
    unsigned first_range, range_count;
    unsigned first_special, special_count;
    unsigned acpi_hid_count; /* type F0h entries (checked, not kept) */
};

struct ivrs_memory {        /* IVMD */
    uint8_t type;           /* 0x20 all, 0x21 one device, 0x22 range */
    uint8_t flags;          /* bit 0 unity, 1 IR, 2 IW, 3 exclusion range */
    uint16_t first, last;   /* devices it applies to (0-0xffff for 20h) */
    uint64_t start, length;
    uint32_t offset;
};
#define IVMD_FLAG_UNITY     0x1
#define IVMD_FLAG_IR        0x2
#define IVMD_FLAG_IW        0x4
#define IVMD_FLAG_EXCLUSION 0x8

struct ivrs_info {
    uint32_t ivinfo;
    unsigned unit_count, range_count, special_count, memory_count;
    unsigned skipped;       /* blocks of other types */
    /* Entries real firmware ships that Linux accepts and we fix up (an IVMD
     * length that is not a multiple of 4 KiB, rounded up as Linux's
     * PAGE_ALIGN does): how many, and the first, for one warning line. */
    unsigned warnings;
    struct field_error warning;
    struct ivrs_unit units[IVRS_MAX_UNITS];
    struct ivrs_range ranges[IVRS_MAX_RANGES];
    struct ivrs_special special[IVRS_MAX_SPECIAL];
    struct ivrs_memory memory[IVRS_MAX_MEMORY];
};

int ivrs_parse(const void *table, size_t len, struct ivrs_info *out, struct field_error *err);

/* Index of the (not superseded) unit whose device entries cover `sbdf`,
 * or -IOMMU_ENODEV. */
int ivrs_unit_for_device(const struct ivrs_info *r, uint32_t sbdf);

/* Highest DeviceID a unit's entries (and the IOMMU itself) name: the
 * device table must reach it. */
uint16_t ivrs_unit_max_devid(const struct ivrs_info *r, unsigned unit);

#endif
