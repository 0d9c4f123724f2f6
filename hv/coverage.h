/* Coverage build of the core (issue 16; `make HV_COVERAGE=1`, docs/fuzzing.md):
 * gcc's -fsanitize-coverage=trace-pc puts a call to __sanitizer_cov_trace_pc
 * at every basic block of the core's C objects; hv/coverage.c marks the
 * block's return address in a byte map in the core's .bss (outside the
 * guest's map) and prints the map as `minihv: hv: cov: ...` lines, read by
 * scripts/coverage-report.py. In an ordinary build every hook is empty. */
#ifndef HV_COVERAGE_H
#define HV_COVERAGE_H

#include <stdbool.h>
#include <stdint.h>

/* DUMP_STATS with this RBX also prints the map ("COVDUMP"): for a guest
 * that wants it at its end (Bochs has no ACPI power-off: no summary). */
#define MINIHV_COV_DUMP_MAGIC 0x434f5644554d50ull
/* And every this many HV_CHECKSUM calls (the fuzzing guest's digest after
 * a batch: ~30 a second on QEMU, ~3 on Bochs), with the exit table first. */
#define MINIHV_COV_CHECKSUM_PERIOD 64u

#if MINIHV_COVERAGE
void hv_cov_dump(const char *why);
/* Counts one HV_CHECKSUM: true every MINIHV_COV_CHECKSUM_PERIOD-th, when
 * hv/hypercall.c prints the exit table and then the map, so that the
 * report's cross-check compares counters and map of the same moment. */
bool hv_cov_checksum_due(void);
#else
static inline void hv_cov_dump(const char *why) { (void)why; }
static inline bool hv_cov_checksum_due(void) { return false; }
#endif

#endif
