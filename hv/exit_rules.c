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

bool cr0_write_faults(const struct cr0_write_in *in)
{
    const uint64_t pe = 1ull << 0, wp = 1ull << 16, nw = 1ull << 29, cd = 1ull << 30, pg = 1ull << 31;
    const uint64_t pae = 1ull << 5, pcide = 1ull << 17, lme = 1ull << 8, lma = 1ull << 10;
    uint64_t v = in->new_cr0;
    if ((v >> 32) || ((v & pg) && !(v & pe)) || ((v & nw) && !(v & cd)))
        return true;
    bool paging_on = (v & pg) && !(in->old_cr0 & pg), paging_off = !(v & pg) && (in->old_cr0 & pg);
    if (paging_on && (in->efer & lme) && (!(in->cr4 & pae) || in->cs_l))
        return true;
    if (paging_off && (((in->efer & lma) && in->cs_l) || (in->cr4 & pcide)))
        return true;
    return !(v & wp) && (in->cr4 & CR4_CET_BIT);
}

bool pae_pdptes_ok(const uint64_t pdpte[4], unsigned maxphyaddr)
{
    uint64_t reserved = 0x1e6ull | (maxphyaddr < 64 ? ~0ull << maxphyaddr : 0);
    for (unsigned i = 0; i < 4; i++)
        if ((pdpte[i] & 1) && (pdpte[i] & reserved))
            return false;
    return true;
}
