/* The firmware's ACPI tables, for the test EFI applications (the attack
 * guest, the FADT pre-step): RSDP from the EFI configuration table (ACPI
 * 2.0 GUID), then the XSDT (RSDT for revision 0) (ACPI 6.5 5.2.5, 5.2.8). */
#ifndef MINIHV_TESTS_GUESTS_GUEST_ACPI_H
#define MINIHV_TESTS_GUESTS_GUEST_ACPI_H

#include <stdint.h>

/* The physical address of the first table with signature `sig` (4
 * characters), or 0. */
uint64_t guest_acpi_table(const char *sig);

#endif
