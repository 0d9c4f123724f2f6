/* See extable.h. */
#include "hv/extable.h"

/* hv/msr_safe.asm */
extern const char msr_safe_rdmsr_insn[], msr_safe_wrmsr_insn[], msr_safe_fault[];

static const struct {
    const char *insn, *fixup;
    uint64_t vector;
} extable[] = {
    { msr_safe_rdmsr_insn, msr_safe_fault, 13 }, /* #GP: no such MSR (SDM Vol. 2 RDMSR) */
    { msr_safe_wrmsr_insn, msr_safe_fault, 13 }, /* #GP: no such MSR, reserved bits */
};

bool extable_fixup(struct host_frame *f)
{
    for (unsigned i = 0; i < sizeof(extable) / sizeof(extable[0]); i++)
        if (f->vector == extable[i].vector && f->rip == (uint64_t)(uintptr_t)extable[i].insn) {
            f->rip = (uint64_t)(uintptr_t)extable[i].fixup;
            return true;
        }
    return false;
}
