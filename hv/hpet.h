/* The HPET's timer registers the core judges (IA-PC HPET 1.0a 2.3.8,
 * 2.3.9.2.8; review R s7 finding 5). A timer N with Tn_FSB_EN_CNF (bit 14
 * of Tn_CONFIG, 0x100 + 0x20 N) delivers its interrupt as a dword write of
 * Tn_FSB_INT_VAL (Tn_FSB_INT_ROUTE low dword, 0x110 + 0x20 N) to
 * Tn_FSB_INT_ADDR (its high dword): a write the chipset sends to any
 * address (QEMU: into system memory, past EPT/NPT and the IOMMU). Rules:
 * every address dword the guest writes there is in 0xFEE00000-0xFEEFFFFF
 * and every value dword has a delivery mode a device may send (vfio/msi.h,
 * as for the passthrough device's MSI); FSB delivery is enabled only over
 * a route that passes both. So whatever route the firmware left is never
 * used unchecked. Everything else in the page passes: reads never exit.
 * Pure C: host-tested (tests/unit/test_hpet.c). */
#ifndef MINIHV_HV_HPET_H
#define MINIHV_HV_HPET_H

#include <stdint.h>

#define HPET_BLOCK_SIZE     0x400u /* the register block (2.3.1) */
#define HPET_TIMER_FIRST    0x100u
#define HPET_TIMER_STRIDE   0x20u
#define HPET_TN_CONFIG      0x00u  /* in a timer's 0x20 bytes */
#define HPET_TN_FSB_ROUTE   0x10u
#define HPET_TN_FSB_EN      (1ull << 14)

enum hpet_verdict {
    HPET_PASS,
    HPET_DROP_FSB_ENABLE, /* FSB delivery on over a route that fails the rule */
    HPET_DROP_ROUTE,      /* an address outside the MSI window or a delivery mode a device may not send */
    HPET_DROP_SPLIT,      /* an unaligned write across a judged register's edge (the HPET wants aligned 32/64) */
};

/* The register's current value at `off` (8-aligned, inside the block). */
typedef uint64_t (*hpet_read64_fn)(void *ctx, uint32_t off);

/* A guest write of `size` (1, 2, 4, 8) bytes of `value` at offset `off` of
 * a timer block; *route set to the route judged (for the log) when the
 * verdict is a DROP_FSB_ENABLE or DROP_ROUTE. */
enum hpet_verdict hpet_write_judge(uint32_t off, unsigned size, uint64_t value, hpet_read64_fn read, void *ctx,
                                   uint64_t *route);
const char *hpet_verdict_name(enum hpet_verdict v);

#endif
