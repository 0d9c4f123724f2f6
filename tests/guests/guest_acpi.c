/* See guest_acpi.h. */
#include <efi.h>
#include <efilib.h>
#include <minihv/libc.h>
#include "tests/guests/guest_acpi.h"

uint64_t guest_acpi_table(const char *sig)
{
    static EFI_GUID acpi20 = ACPI_20_TABLE_GUID;
    void *rsdp = NULL;
    if (EFI_ERROR(LibGetSystemConfigurationTable(&acpi20, &rsdp)) || !rsdp)
        return 0;
    const uint8_t *r = rsdp;
    uint64_t sdt = 0;
    unsigned entry = 4;
    if (r[15] >= 2) {
        memcpy(&sdt, r + 24, 8);
        entry = 8;
    }
    if (!sdt) {
        uint32_t rsdt;
        memcpy(&rsdt, r + 16, 4);
        sdt = rsdt;
        entry = 4;
    }
    if (!sdt)
        return 0;
    uint32_t len;
    memcpy(&len, (const void *)(uintptr_t)(sdt + 4), 4);
    for (uint64_t p = sdt + 36; p + entry <= sdt + len; p += entry) {
        uint64_t t = 0;
        memcpy(&t, (const void *)(uintptr_t)p, entry);
        if (t && !memcmp((const void *)(uintptr_t)t, sig, 4))
            return t;
    }
    return 0;
}
