/* See exit_rules.h. */
#include "hv/exit_rules.h"

struct insn_done_out insn_done(const struct insn_done_in *in)
{
    struct insn_done_out out = { .clear_shadow = in->shadow != 0 };
    bool tf = in->rflags & RFLAGS_TF;
    /* With BTF set, TF traps on taken branches only (18.4.3): none of the
     * instructions the core carries out is a branch. */
    out.single_step = in->db_pending || (tf && !(in->debugctl & DEBUGCTL_BTF));
    return out;
}

bool insn_matches_exit(const struct decoded_insn *insn, bool exit_write, bool exit_fetch)
{
    if (exit_fetch) /* a data access cannot explain an instruction fetch */
        return false;
    switch (insn->kind) {
    case DECODE_KIND_STORE:
        return exit_write;
    case DECODE_KIND_RMW:
        return true;
    case DECODE_KIND_LOAD:
    case DECODE_KIND_LOAD_ALU:
    case DECODE_KIND_COMPARE:
        return !exit_write;
    default:
        return false;
    }
}

bool exception_sets_rf(unsigned vector)
{
    static const uint32_t faults = 1u << 0 | 1u << 5 | 1u << 6 | 1u << 7 | 1u << 9 | 1u << 10 | 1u << 11 | 1u << 12 |
                                   1u << 13 | 1u << 14 | 1u << 16 | 1u << 17 | 1u << 19 | 1u << 20 | 1u << 21;
    return vector < 32 && (faults >> vector & 1u);
}
