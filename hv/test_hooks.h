/* See include/minihv/test_hooks.h. */
#ifndef MINIHV_HV_TEST_HOOKS_H
#define MINIHV_HV_TEST_HOOKS_H

#include <stdint.h>

struct vcpu;
/* A hypercall no other case took: a test hook's answer, else EINVAL. */
int64_t test_hook_hypercall(struct vcpu *v, uint64_t fn, uint64_t *rbx, uint64_t *rcx, uint64_t *rdx);

#endif
