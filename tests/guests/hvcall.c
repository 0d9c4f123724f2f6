/* See hvcall.h. */
#include <minihv/hypercall.h>
#include <minihv/x86.h>
#include "tests/guests/hvcall.h"

bool hv_present(void)
{
    uint32_t r[4];
    x86_cpuid(MINIHV_CPUID_BASE, 0, r);
    return r[1] == MINIHV_CPUID_SIG_EBX && r[2] == MINIHV_CPUID_SIG_ECX && r[3] == MINIHV_CPUID_SIG_EDX;
}

bool hv_intel(void)
{
    uint32_t r[4];
    x86_cpuid(0, 0, r);
    return r[1] == 0x756e6547u; /* "Genu" */
}

uint64_t hv_call(struct hc_regs *r)
{
    return hv_intel() ? guard_vmcall(r) : guard_vmmcall(r);
}
