/* Which CPUs an INIT or SIPI reaches (Intel SDM Vol. 3A 10.6.2, 10.12.10;
 * APM Vol. 2 16.6): physical destination, logical destination (flat and
 * cluster xAPIC models, x2APIC's ID-derived logical IDs) and the three
 * shorthands, and the ICR's fields. Pure: hv/ipi.c asks it once per CPU
 * the core runs, so an INIT/SIPI is only ever delivered to those CPUs
 * (never sent raw). */
#ifndef MINIHV_HV_IPI_ROUTE_H
#define MINIHV_HV_IPI_ROUTE_H

#include <stdbool.h>
#include <stdint.h>
#include <minihv/x86.h>

/* ---- local APIC interrupt command (Intel SDM Vol. 3A 11.6.1, APM Vol. 2 16.5) ---- */
enum apic_shorthand { APIC_DEST_FIELD = 0, APIC_DEST_SELF = 1, APIC_DEST_ALL = 2, APIC_DEST_OTHERS = 3 };
struct apic_icr {
    uint8_t vector;
    uint8_t delivery;  /* enum x86_delivery_mode */
    bool logical;      /* destination mode */
    bool assert_level; /* bit 14: INIT with it clear is "INIT level de-assert" */
    uint8_t shorthand; /* enum apic_shorthand */
};
struct apic_icr apic_icr_parse(uint32_t icr_low);
/* Whether an interrupt command of this delivery mode may reach the APIC
 * (SDM Vol. 3A 11.6.1): fixed, lowest priority, NMI, INIT and start-up
 * (the last two the core carries out itself). SMI (010) would run the
 * firmware's SMM handler under the core, on a firmware without one the
 * code at SMBASE + 0x8000 in guest RAM; 011 and 111 are reserved. */
bool apic_icr_delivery_ok(const struct apic_icr *icr);

/* xAPIC DFR bits 31:28 (SDM 10.6.2.2): flat 1111b, cluster 0000b. */
#define APIC_DFR_FLAT    0xf0000000u
#define APIC_DFR_CLUSTER 0x00000000u
#define APIC_DFR_RESET   0xffffffffu

/* One CPU's logical destination registers. xAPIC: LDR (0xD0) and DFR
 * (0xE0) as its APIC holds them; x2APIC: unused (derived from the ID). */
struct apic_logical {
    uint32_t ldr;
    uint32_t dfr;
};

/* x2APIC LDR from the x2APIC ID (SDM 10.12.10.2): cluster ID bits 31:16
 * = ID[19:4], bit ID[3:0] of 15:0 set. */
uint32_t x2apic_logical_id(uint32_t apic_id);

/* Whether the interrupt command `icr` with destination `dest` (xAPIC: ICR
 * bits 63:56; x2APIC: 63:32) sent by the CPU with APIC ID `self` reaches
 * the CPU with APIC ID `apic_id` and logical registers `l`. */
bool ipi_route_targets(const struct apic_icr *icr, uint32_t dest, bool x2apic, uint32_t self,
                       uint32_t apic_id, const struct apic_logical *l);

#endif
