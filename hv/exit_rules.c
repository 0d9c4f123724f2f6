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
