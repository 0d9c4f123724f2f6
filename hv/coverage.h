/* Coverage build of the core (issue 16; `make HV_COVERAGE=1`, docs/fuzzing.md):
 * gcc's -fsanitize-coverage=trace-pc puts a call to __sanitizer_cov_trace_pc
 * at every basic block of the core's C objects; hv/coverage.c marks the
 * block's return address in a byte map in the core's .bss (outside the
 * guest's map) and prints the map as `minihv: hv: cov: ...` lines, read by
 * scripts/coverage-report.py. In an ordinary build every hook is empty. */
#ifndef HV_COVERAGE_H
#define HV_COVERAGE_H

#include <stdint.h>

/* DUMP_STATS with this RBX also prints the map ("COVDUMP"): the fuzzing
 * guest's last call, for Bochs, which has no ACPI power-off (no summary). */
#define MINIHV_COV_DUMP_MAGIC 0x434f5644554d50ull

#if MINIHV_COVERAGE
void hv_cov_dump(const char *why);
#else
static inline void hv_cov_dump(const char *why) { (void)why; }
#endif

#endif
