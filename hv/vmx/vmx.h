/* The VMX backend (Intel VT-x with EPT, SDM Vol. 3C chapters 24-28). */
#ifndef MINIHV_HV_VMX_VMX_H
#define MINIHV_HV_VMX_VMX_H

#include <stdbool.h>
#include <minihv/boot_info.h>
#include "hv/ept.h"
#include "hv/vcpu.h"

/* CPUID says VMX and the capability MSRs allow EPT + unrestricted guest;
 * else false with the reason. */
bool vmx_supported(const char **why);
/* Once, on the first CPU: capabilities, MSR bitmap, EPT. -1 on failure. */
/* The backend's shared state; says which entry format the guest map
 * (hv/main.c builds it) takes. */
int vmx_global_init(struct guest_map_spec *map);
/* This CPU: VMXON, VMCS from the CPU's current state, VMLAUNCH into the
 * resume point. Returns only on failure (negative). */
int vmx_cpu_start(struct vcpu *v, const struct minihv_boot_info *bi,
                  const struct minihv_resume *resume, uint64_t stack_slot);
/* Bytes this CPU's VMX state uses (VMXON region, VMCS, host tables). */
uint64_t vmx_cpu_bytes(void);

#endif
