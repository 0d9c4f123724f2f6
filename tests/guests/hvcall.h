/* minihv from a guest EFI application: is it there (CPUID 0x40000000
 * signature "MiniHv"), and a hypercall under the fault guard with the
 * instruction of this CPU's vendor (VMCALL on Intel, VMMCALL otherwise).
 * Shared by hvstats.c and ptprobe.c. Install a guard (guard.h) before
 * hv_call. */
#ifndef MINIHV_TESTS_GUESTS_HVCALL_H
#define MINIHV_TESTS_GUESTS_HVCALL_H

#include <stdbool.h>
#include <stdint.h>
#include "tests/guests/guard.h"

/* True when CPUID 0x40000000 gives minihv's signature. */
bool hv_present(void);
/* True on a GenuineIntel CPU: VMCALL; else VMMCALL. */
bool hv_intel(void);
/* The hypercall in r (RAX..RDX in, results back in r); the fault report of
 * the instruction (0: it completed, guard.h). */
uint64_t hv_call(struct hc_regs *r);

#endif
