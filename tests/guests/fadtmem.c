/* A pre-step for check-attack's q-cpu boot (issue 14, docs/security.md
 * "SLEEP_CONTROL_REG or X_PM1x_CNT_BLK in memory space"): no emulator has
 * a sleep control register in System Memory, so this EFI application,
 * run from startup.nsh before minihv's loader, makes the firmware's FADT
 * say there is one. It takes a page of EfiReservedMemoryType below 4 GiB
 * (zeroed), points SLEEP_CONTROL_REG (FADT offset 244, 8 bits, SLP_TYP
 * 4:2 / SLP_EN 5) at +0x10 and X_PM1b_CNT_BLK (offset 184, 16 bits,
 * SLP_TYP 12:10 / SLP_EN 13) at +0x20 of it, both GAS space 0 (System
 * Memory; ACPI 6.5 5.2.3.2, Table 5.9), and fixes the checksum. A FADT
 * too short for SLEEP_CONTROL_REG grows first. The
 * loader then hands both to the core; the attack `sleep-mmio` writes
 * S3 there. The port PM1a_CNT stays as it was (OVMF's power-off and the
 * sleep-s3 attack use it). Prints "fadtmem: ..." lines; changes nothing
 * when the FADT already has either register. */
#include <efi.h>
#include <efilib.h>
#include <minihv/libc.h>
#include "tests/guests/guest_acpi.h"
#include "tests/guests/print.h"

#define FADT_X_PM1B_CNT   184
#define FADT_SLEEP_CONTROL 244
#define FADT_MIN_LEN      256 /* through SLEEP_STATUS_REG (ACPI 5.0+) */

static void put_gas(uint8_t *g, uint8_t bits, uint8_t access, uint64_t address)
{
    g[0] = 0; /* System Memory */
    g[1] = bits;
    g[2] = 0;
    g[3] = access;
    memcpy(g + 4, &address, 8);
}

/* The byte that makes the table's bytes sum to 0 (ACPI 6.5 5.2.6). */
static void fix_checksum(uint8_t *t, uint32_t len)
{
    uint8_t sum = 0;
    t[9] = 0;
    for (uint32_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + t[i]);
    t[9] = (uint8_t)-sum;
}

/* A FADT shorter than SLEEP_CONTROL_REG (QEMU 7's q35: revision 3, 244
 * bytes) grows in place to 276 bytes, revision 6. In place, because the
 * firmware's ACPI table driver rebuilds the XSDT from its own list each
 * time a table is installed (minihv's loader installs MHVL), so a copy
 * named in the XSDT would be dropped again (and it refuses a second
 * FADT). EDK2's AcpiTableDxe (AddTableToList) takes whole pages for a
 * table unless it falls back to pool, whose blocks never start a page: a
 * FADT at a page start owns the rest of that page (OVMF's debug build has
 * filled it with 0xAF), zeroed here up to 276. NULL when it does not. */
#define ACPI_FADT_V6_LEN 276
static uint8_t *fadt_v6(uint8_t *f, uint32_t len)
{
    if (len >= FADT_MIN_LEN)
        return f;
    if ((uintptr_t)f & 0xfff)
        return NULL;
    memset(f + len, 0, ACPI_FADT_V6_LEN - len);
    uint32_t new_len = ACPI_FADT_V6_LEN;
    memcpy(f + 4, &new_len, 4);
    guest_print("fadtmem: FADT 0x%lx grown in place from %u bytes, revision %u, to %u bytes, revision 6",
                (uint64_t)(uintptr_t)f, len, f[8], new_len);
    f[8] = 6; /* FADT Major Version 6: SLEEP_CONTROL_REG and SLEEP_STATUS_REG are defined */
    return f;
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
    InitializeLib(image, systab);
    uint8_t *f = (uint8_t *)(uintptr_t)guest_acpi_table("FACP");
    if (!f) {
        guest_print("fadtmem: FAIL no FADT");
        return EFI_NOT_FOUND;
    }
    uint32_t len = le32(f + 4);
    if (len < FADT_X_PM1B_CNT + 12 || le64(f + FADT_X_PM1B_CNT + 4) ||
        (len >= FADT_MIN_LEN && le64(f + FADT_SLEEP_CONTROL + 4))) {
        guest_print("fadtmem: FAIL FADT at 0x%lx: %u bytes, X_PM1b_CNT_BLK 0x%lx: left alone", (uint64_t)(uintptr_t)f,
                    len, len >= FADT_X_PM1B_CNT + 12 ? le64(f + FADT_X_PM1B_CNT + 4) : 0);
        return EFI_UNSUPPORTED;
    }
    if (!fadt_v6(f, len)) {
        guest_print("fadtmem: FAIL FADT at 0x%lx (%u bytes) cannot grow in place", (uint64_t)(uintptr_t)f, len);
        return EFI_OUT_OF_RESOURCES;
    }
    len = le32(f + 4);
    EFI_PHYSICAL_ADDRESS page = 0xffffffffull;
    EFI_STATUS st = BS->AllocatePages(AllocateMaxAddress, EfiReservedMemoryType, 1, &page);
    if (EFI_ERROR(st)) {
        guest_print("fadtmem: FAIL no reserved page (status 0x%lx)", (uint64_t)st);
        return st;
    }
    memset((void *)(uintptr_t)page, 0, 4096);
    put_gas(f + FADT_SLEEP_CONTROL, 8, 1, page + 0x10);
    put_gas(f + FADT_X_PM1B_CNT, 16, 2, page + 0x20);
    fix_checksum(f, len);
    guest_print("fadtmem: FADT at 0x%lx (%u bytes): SLEEP_CONTROL_REG -> System Memory 0x%lx, X_PM1b_CNT_BLK -> "
                "System Memory 0x%lx (a Reserved page), checksum 0x%02x",
                (uint64_t)(uintptr_t)f, len, page + 0x10, page + 0x20, f[9]);
    return EFI_SUCCESS;
}
