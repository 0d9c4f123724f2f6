/* The MSR exits of both backends, driven by the rows of hv/msr_policy.c:
 * the hardware value read with a RDMSR that may fault, writes checked and
 * then written with a WRMSR that may fault (a #GP in the core is the
 * guest's #GP, hv/extable.h), MSRs the core emulates, refusals counted. */
#ifndef MINIHV_HV_MSR_H
#define MINIHV_HV_MSR_H

#include <stdbool.h>
#include "hv/vcpu.h"

/* RDMSR (write false) or WRMSR (write true) with the MSR in ECX, the
 * value in EDX:EAX, on backend `on` (MSR_ON_VMX, MSR_ON_SVM). The backend
 * handles the MSR_EMUL rows that are its own (SVM: EFER, VM_CR,
 * VM_HSAVE_PA, PAT) before calling this; the rest land here. Either
 * advances RIP (RDMSR: EDX:EAX set) or injects #GP. */
void msr_handle_exit(struct vcpu *v, unsigned on, bool write);

#endif
