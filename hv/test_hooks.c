/* Test-only hypercalls (include/minihv/test_hooks.h). Without
 * MINIHV_TEST_HOOKS (every normal build) this file holds only the EINVAL
 * answer: a guest cannot make a normal core go FATAL through it. */
#include <minihv/hypercall.h>
#include <minihv/test_hooks.h>
#include "hv/test_hooks.h"
#include "hv/vcpu.h"

int64_t test_hook_hypercall(struct vcpu *v, uint64_t fn, uint64_t *rbx, uint64_t *rcx, uint64_t *rdx)
{
    (void)rcx;
    (void)rdx;
#ifdef MINIHV_TEST_HOOKS
    if (fn == MINIHV_HC_TEST_FATAL && *rbx == MINIHV_TEST_FATAL_KEY)
        vcpu_fatal(v, MINIHV_TEST_FATAL_REASON);
#else
    (void)v;
    (void)fn;
    (void)rbx;
#endif
    return MINIHV_HC_EINVAL;
}
