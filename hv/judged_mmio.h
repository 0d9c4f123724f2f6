/* Judged read-only MMIO pages: one table for the register pages the guest
 * reads natively but whose every write the core decides on (docs/
 * security.md, "Sleep states"). Each row is a page, the special-page kind
 * it is registered under (read-only, UC: hv/special_pages.h), and its
 * judge. A write there exits once; the judge sees it decoded (address,
 * size, value), counts and logs what it refuses, and says whether the
 * write reaches the hardware, as written. Reads never exit; an instruction
 * fetch is refused (#UD), as on every trapped page.
 * Rows: the AMD FCH's AcpiMmio page (hv/fch_pm.c), the FADT's sleep
 * control registers in System Memory (hv/summary.c), the HPET timer
 * blocks (hv/hpet_hw.c). */
#ifndef MINIHV_HV_JUDGED_MMIO_H
#define MINIHV_HV_JUDGED_MMIO_H

#include <stdbool.h>
#include <stdint.h>
#include "hv/special_pages.h"

struct vcpu;

/* True: the write goes to the hardware; false: dropped (the judge has
 * counted the refusal). size 1, 2, 4 or 8, [gpa, gpa + size) in the page. */
typedef bool (*judged_write_fn)(struct vcpu *v, uint64_t gpa, unsigned size, uint64_t value);

#define JUDGED_MMIO_MAX 16 /* FCH AcpiMmio 1, sleep registers 3, MCHBAR 1, HPETs 4, HPTC's other 3, and room */

/* At global init, before the guest map is built: the page that holds
 * `addr` becomes read-only with `judge` deciding its writes. 0; 0 as well
 * when the page already has a row with the same judge (two registers in
 * one page); -1 (logged, naming `what`) when the table is full, the page
 * is another kind's special page or another judge's row, or the registry
 * refuses it. */
int judged_mmio_add(enum special_kind kind, uint64_t addr, const char *what, judged_write_fn judge);

#endif
