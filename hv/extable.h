/* Instructions in the core that may fault by design and where the core
 * goes on when they do (Linux calls this the exception table): RDMSR and
 * WRMSR of an MSR the guest named. A #GP anywhere else in the core is
 * still a fatal report (hv/host.c). */
#ifndef MINIHV_HV_EXTABLE_H
#define MINIHV_HV_EXTABLE_H

#include <stdbool.h>
#include <stdint.h>
#include "hv/host.h"

/* hv/msr_safe.asm: 0, or -1 when the instruction raised #GP. */
int msr_safe_read(uint32_t msr, uint64_t *value);
int msr_safe_write(uint32_t msr, uint64_t value);

/* Called by host_exception first: true when the fault is one of the
 * above (the frame then resumes at its fixup, the return -1). */
bool extable_fixup(struct host_frame *f);

#endif
