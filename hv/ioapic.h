/* The I/O APIC device model: each I/O APIC register page is mapped
 * read-only (reads native), and a write exits here. Redirection entries
 * that would deliver INIT or SMI (or a reserved mode) are refused: such an
 * interrupt reaches a CPU physically, where the core cannot post it as it
 * posts the ICR's INIT (hv/ipi.c). */
#ifndef MINIHV_HV_IOAPIC_H
#define MINIHV_HV_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>
#include <minihv/boot_info.h>

#define IOAPIC_MAX_UNITS MINIHV_MAX_IOAPICS

/* Registers the I/O APIC at base (its 0x44 bytes of registers inside one
 * page, alone in that page) with the model; the caller maps the page
 * SPECIAL_MAP_READ_ONLY. 0, or -1 when it cannot (logged). Global init. */
int ioapic_model_add(uint64_t base);

/* Whether a redirection entry's low dword may reach the hardware: delivery
 * mode (bits 10:8) fixed, lowest priority, NMI or ExtINT (82093AA
 * datasheet 3.2.4; the remappable format of VT-d 5.1.5.1 has 000 there). */
bool ioapic_rte_low_ok(uint32_t low);

#endif
