/* ACPI tables the loader reports and hands on: RSDP -> XSDT (or RSDT) ->
 * MADT, MCFG, DMAR, IVRS. Pure C over a `map` callback that returns a
 * pointer to len bytes of physical memory, so host tests can feed fakes.
 * ACPI 6.5 sections 5.2.5 (RSDP), 5.2.8 (XSDT), 5.2.9 (FADT), 5.2.12 (MADT); PCI
 * Firmware spec 4.1.2 (MCFG). */
#ifndef MINIHV_BOOT_ACPI_H
#define MINIHV_BOOT_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACPI_MAX_TABLES 64
#define ACPI_MAX_MCFG   8
#define ACPI_HPET_MAX   4

struct acpi_table_ref {
    char sig[5];
    uint64_t address;
    uint32_t length;
};

struct acpi_mcfg_segment {
    uint64_t base;
    uint16_t segment;
    uint8_t bus_start, bus_end;
};

/* A sleep control register in System Memory (ACPI 6.5 4.8.3.7, 4.8.4.2):
 * reg says which (enum acpi_sleep_reg); bytes its width (PM1x_CNT 2,
 * SLEEP_CONTROL_REG 1); slp_byte the byte holding SLP_TYP and SLP_EN. */
enum acpi_sleep_reg { ACPI_SLEEP_PM1A_CNT, ACPI_SLEEP_PM1B_CNT, ACPI_SLEEP_CONTROL };
#define ACPI_SLEEP_MMIO_MAX 3
struct acpi_sleep_mmio {
    uint64_t address;
    uint8_t reg, bytes, slp_byte;
    const char *why;
};
/* "X_PM1a_CNT_BLK", "X_PM1b_CNT_BLK", "SLEEP_CONTROL_REG". */
const char *acpi_sleep_reg_name(unsigned reg);

struct acpi_info {
    uint8_t revision;
    char oem_id[7];
    bool xsdt; /* false: RSDT (ACPI 1.0) */
    unsigned table_count;
    struct acpi_table_ref tables[ACPI_MAX_TABLES];
    bool has_madt;
    unsigned madt_cpus; /* enabled (or online-capable) Local APIC / x2APIC entries */
    unsigned mcfg_count;
    unsigned mcfg_dropped; /* allocations past ACPI_MAX_MCFG, not listed */
    struct acpi_mcfg_segment mcfg[ACPI_MAX_MCFG];
    bool has_dmar, has_ivrs;
    /* FADT (5.2.9): the PM1 control ports (S5 = SLP_TYPx + SLP_EN) and the
     * reset register, only where they are in System I/O space; 0: none. */
    bool has_fadt;
    uint16_t pm1a_cnt, pm1b_cnt;
    uint16_t reset_port;  /* RESET_REG (RESET_REG_SUP set, 8 bits wide) */
    uint8_t reset_value;
    /* Sleep (issue 14): the DSDT's \_S5 package gives the SLP_TYPa/b
     * values of power-off (ACPI 6.5 7.4.2); the only sleep the core lets
     * reach the hardware; an SSDT's when the DSDT has none. s5_why: why
     * it was not found in the DSDT (NULL when found). */
    bool dsdt_fw_cfg; /* the DSDT holds "QEMU0002", QEMU's fw_cfg device _HID */
    bool s5_found;
    uint8_t s5_slp_typ_a, s5_slp_typ_b;
    const char *s5_why;
    /* SLEEP_CONTROL_REG (FADT offset 244, hardware-reduced ACPI, 4.8.3.7):
     * the port when it is an 8-bit System I/O register; 0: none. */
    uint16_t sleep_ctl_port;
    bool sleep_ctl_mmio; /* present but not in System I/O */
    /* The sleep control registers the FADT puts in System Memory (GAS
     * space 0): X_PM1a_CNT_BLK, X_PM1b_CNT_BLK, SLEEP_CONTROL_REG. Each
     * found one is listed, usable or not: why NULL when the core can trap
     * it (address, width and offset checked), else the field at fault. */
    unsigned sleep_mmio_count;
    struct acpi_sleep_mmio sleep_mmio[ACPI_SLEEP_MMIO_MAX];
    /* HPET tables (IA-PC HPET 1.0a 3.2.4): each timer block's base in
     * System Memory, 1 KiB aligned and below the 52-bit limit; hpet_bad
     * counts the tables that failed (hpet_why names the field). */
    unsigned hpet_count, hpet_bad;
    uint64_t hpet_base[ACPI_HPET_MAX];
    const char *hpet_why;
    unsigned skipped; /* tables with a bad header or checksum, not used */
};

typedef const void *(*acpi_map_fn)(void *opaque, uint64_t pa, size_t len);

/* The \_S5 package in an AML byte stream (a DSDT after its 36-byte
 * header): the name `_S5_` right after NameOp (0x08, optionally with a
 * root prefix `\`), then PackageOp (0x12), PkgLength, NumElements >= 2,
 * and two integers (ZeroOp, OneOp, BytePrefix, WordPrefix, DWordPrefix;
 * ACPI 6.5 20.2.3, 20.2.5.4). The pattern search firmware-less loaders
 * use: bounded by len, the first match that parses wins. 0 with the
 * values (low 3 bits: SLP_TYP is 3 bits wide), or -1 with `why` naming
 * what was missing or malformed. */
int acpi_find_s5(const uint8_t *aml, uint32_t len, uint8_t *typ_a, uint8_t *typ_b, const char **why);

/* The first I/O port range of an ACPI resource template (ACPI 6.5 6.4.2:
 * small items tag, length in bits 2:0, large items a 16-bit length; the
 * I/O Port Descriptor 0x47 (6.4.2.5: _MIN at bytes 2-3, _LEN at 7) or the
 * Fixed Location I/O Port Descriptor 0x4B (6.4.2.6: 10-bit base at 1-2,
 * length at 3)), up to the End Tag 0x79: what a Super I/O device's
 * EFI_SIO_PROTOCOL.GetResources returns (UEFI PI Vol. 5, 12.3). Reads at
 * most len bytes. 0 with base and count, or -1 with `why` naming the item
 * (none, or one running past len). */
int acpi_resource_io(const uint8_t *res, size_t len, uint16_t *base, uint16_t *count, const char **why);

/* Returns 0, or -1 with `why` set to a message naming the field. */
int acpi_parse(uint64_t rsdp_pa, acpi_map_fn map, void *opaque, struct acpi_info *out, const char **why);

#endif
