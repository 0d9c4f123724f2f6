/* The SVM backend (AMD-V with nested paging, AMD APM Vol. 2 chapter 15). */
#ifndef MINIHV_HV_SVM_SVM_H
#define MINIHV_HV_SVM_SVM_H

#include <stdbool.h>
#include <minihv/boot_info.h>
#include "hv/ept.h"
#include "hv/vcpu.h"

/* An AMD CPU with SVM, nested paging, and SVM not disabled in VM_CR;
 * else false with the reason. */
bool svm_supported(const char **why);
/* Once, on the first CPU: capabilities, MSR/I/O permission maps, the
 * nested page tables. -1 on failure. */
/* The backend's shared state; says which entry format the guest map
 * (hv/main.c builds it) takes. */
int svm_global_init(struct guest_map_spec *map);
/* This CPU: EFER.SVME, VM_HSAVE_PA, a VMCB from the CPU's current state,
 * the core's own GDT/TSS/IDT, VMRUN into the resume point on the stack
 * below stack_top. Returns only on failure (negative), with the CPU as it
 * was. */
int svm_cpu_start(struct vcpu *v, const struct minihv_boot_info *bi,
                  const struct minihv_resume *resume, uint64_t stack_top);

#endif
