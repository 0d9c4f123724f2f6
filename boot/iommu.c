/* See boot/iommu.h. */
#include <minihv/iommu.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "boot/iommu.h"
#include "boot/log.h"

_Static_assert(IOMMU_MODE_AUTO == 0 && IOMMU_MODE_VTD == 1 && IOMMU_MODE_AMDVI == 2 &&
               IOMMU_MODE_NONE == 3 && IOMMU_MODE_AUTO_REQUIRED == 4, "boot_info.iommu_mode carries these values");

/* The firmware's tables copied for the core, to hide once it runs. */
struct hidden {
    const char *sig, *new_sig;
    uint64_t address;
    uint32_t length;
};
static struct hidden to_hide[2];
static unsigned hide_count;

/* The table with this signature in the XSDT (acpi.c checked its length and
 * checksum), or NULL. */
static const struct acpi_table_ref *find(const struct acpi_info *acpi, const char *sig)
{
    for (unsigned i = 0; acpi && i < acpi->table_count && i < ACPI_MAX_TABLES; i++)
        if (!memcmp(acpi->tables[i].sig, sig, 4))
            return &acpi->tables[i];
    return NULL;
}

/* Copies one table into whole pages of the block; 0 when absent or when it
 * does not fit (logged). */
static uint64_t copy_table(const struct acpi_info *acpi, const char *sig, const char *new_sig,
                           uint32_t *len, uint64_t *next, uint64_t end)
{
    const struct acpi_table_ref *t = find(acpi, sig);
    *len = 0;
    if (!t) {
        log_line("iommu: %s absent", sig);
        return 0;
    }
    uint64_t bytes = ALIGN_UP((uint64_t)t->length, PAGE_SIZE);
    if (t->length < 36 || *next + bytes > end || *next + bytes < *next) {
        log_line("iommu: %s (%u bytes at 0x%lx) does not fit in the core's block: not handed on, "
                 "left visible to the guest", sig, t->length, (unsigned long)t->address);
        return 0;
    }
    uint64_t pa = *next;
    *next += bytes;
    memcpy((void *)(uintptr_t)pa, (const void *)(uintptr_t)t->address, t->length);
    memset((void *)(uintptr_t)(pa + t->length), 0, (size_t)(bytes - t->length));
    *len = t->length;
    if (hide_count < ARRAY_SIZE(to_hide))
        to_hide[hide_count++] = (struct hidden){ sig, new_sig, t->address, t->length };
    log_line("iommu: %s (%u bytes at 0x%lx) copied for the core to 0x%lx", sig, t->length,
             (unsigned long)t->address, (unsigned long)pa);
    return pa;
}

void boot_iommu_place(struct minihv_boot_info *bi, uint32_t mode, const struct acpi_info *acpi,
                      uint64_t *next, uint64_t end)
{
    bi->iommu_mode = mode;
    hide_count = 0;
    if (mode == IOMMU_MODE_NONE) {
        log_line("iommu: iommu = none: DMAR/IVRS not handed to the core, left visible to the guest");
        return;
    }
    bi->dmar_phys = copy_table(acpi, "DMAR", "XMAR", &bi->dmar_len, next, end);
    bi->ivrs_phys = copy_table(acpi, "IVRS", "XVRS", &bi->ivrs_len, next, end);
}

void boot_iommu_hide(void)
{
    for (unsigned i = 0; i < hide_count; i++) {
        struct hidden *h = &to_hide[i];
        struct field_error err = { 0 };
        char why[160];
        if (acpi_table_hide((void *)(uintptr_t)h->address, h->length, h->new_sig, &err)) {
            iommu_format_error(why, sizeof(why), &err);
            log_line("iommu: cannot hide %s at 0x%lx: %s", h->sig, (unsigned long)h->address, why);
            continue;
        }
        log_line("iommu: %s at 0x%lx hidden from the guest (renamed %s, checksum fixed)", h->sig,
                 (unsigned long)h->address, h->new_sig);
    }
    hide_count = 0;
}
