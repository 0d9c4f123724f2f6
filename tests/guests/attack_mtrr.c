/* Attack mtrr-block (issue 14): the MTRRs are the hardware's, one set per
 * CPU for host and guest alike (SDM Vol. 3A 11.11); only the guest map's
 * types were fixed at launch. A guest that turns the core's block WC
 * (weakly ordered stores under the core's locks), WT or WP changes how the
 * core's own memory behaves. The core refuses such a write with #GP
 * (hv/msr.c, counted mtrr) and lets WB and UC through (an OS turns the
 * MTRRs off while it rewrites them, SDM 11.11.7.2).
 *
 * On the BSP: (1) the MTRR that makes the block WB today — the variable
 * pair that covers it, else IA32_MTRR_DEF_TYPE — rewritten to WC; (2) a
 * free pair WT over the block's first page (WB with WT is WT, 11.11.4.1):
 * the base goes in while the pair is off (allowed: nothing changes), the
 * mask that turns it on must #GP; (3) the same pair UC over that page
 * must be taken (the check refuses only what it should), then turned off
 * again. Each MSR reads back the value it should have; every MTRR is put
 * back; then the core must answer (PING, HV_CHECKSUM). QEMU's TCG and
 * Bochs keep MTRR values without a cache model, so the read-back is the
 * test. */
#include <minihv/format.h>
#include <minihv/x86.h>
#include "tests/guests/attack.h"

#define MSR_MTRRCAP      0xfe
#define MSR_PHYSBASE(n)  (0x200 + 2 * (n))
#define MSR_PHYSMASK(n)  (0x201 + 2 * (n))
#define MSR_DEF_TYPE     0x2ff
#define MTRR_VALID       (1ull << 11)
#define MTRR_DEF_E       (1ull << 11)
#define TYPE_UC 0
#define TYPE_WC 1
#define TYPE_WT 4
#define TYPE_WB 6

static uint64_t phys_mask(void)
{
    uint32_t r[4];
    x86_cpuid(0x80000000u, 0, r);
    unsigned bits = 36;
    if (r[0] >= 0x80000008u) {
        x86_cpuid(0x80000008u, 0, r);
        bits = r[0] & 0xff;
    }
    return ((1ull << bits) - 1) & ~0xfffull;
}

/* WRMSR that must #GP and leave the MSR as it was. */
static bool refused(uint32_t msr, uint64_t value, uint64_t before, char *out, size_t len)
{
    uint64_t now = 0;
    uint64_t f = atk_wrmsr(msr, value);
    atk_rdmsr(msr, &now);
    char d[40];
    if (f && GUARD_VECTOR(f) == VEC_GP && now == before) {
        fmt_snprintf(out, len, "WRMSR 0x%x = 0x%lx #GP, kept 0x%lx", msr, value, now);
        return true;
    }
    fmt_snprintf(out, len, "WRMSR 0x%x = 0x%lx: %s, reads 0x%lx (want #GP and 0x%lx)", msr, value,
             f ? guard_describe(f, d, sizeof(d)) : "taken", now, before);
    if (!f)
        atk_wrmsr(msr, before);
    return false;
}

void attack_mtrr_block(void)
{
    const char *name = "mtrr-block";
    static char why[240], s1[120], s2[120], s3[120];
    uint64_t cap = 0, def = 0;
    if (atk_rdmsr(MSR_MTRRCAP, &cap) || atk_rdmsr(MSR_DEF_TYPE, &def) || !(cap & 0xff)) {
        atk_skip(name, "no variable MTRRs (IA32_MTRRCAP 0x%lx)", cap);
        return;
    }
    unsigned vcnt = (unsigned)(cap & 0xff), covering = vcnt, spare = vcnt;
    uint64_t block = env.fp.block_base, pm = phys_mask();
    uint64_t base[64] = { 0 }, mask[64] = { 0 };
    for (unsigned i = 0; i < vcnt && i < 64; i++) {
        atk_rdmsr(MSR_PHYSBASE(i), &base[i]);
        atk_rdmsr(MSR_PHYSMASK(i), &mask[i]);
        uint64_t m = mask[i] & pm;
        if (!(mask[i] & MTRR_VALID))
            spare = spare == vcnt ? i : spare;
        else if ((block & m) == (base[i] & m) && (base[i] & 0xff) == TYPE_WB)
            covering = covering == vcnt ? i : covering;
    }
    if (spare == vcnt) {
        atk_skip(name, "no free variable MTRR pair of %u", vcnt);
        return;
    }
    uint64_t flags = atk_irq_save();
    /* (1) what makes the block WB today, made WC */
    bool ok1;
    if (covering < vcnt)
        ok1 = refused(MSR_PHYSBASE(covering), (base[covering] & ~0xffull) | TYPE_WC, base[covering], s1, sizeof(s1));
    else if ((def & MTRR_DEF_E) && (def & 0xff) == TYPE_WB)
        ok1 = refused(MSR_DEF_TYPE, (def & ~0xffull) | TYPE_WC, def, s1, sizeof(s1));
    else {
        ok1 = true;
        fmt_snprintf(s1, sizeof(s1), "(1) skipped: the block is not WB by the MTRRs (default 0x%lx)", def);
    }
    /* (2) a free pair WT over the block's first page */
    const uint64_t page_mask = (~0xfffull & pm) | MTRR_VALID;
    uint64_t f_base = atk_wrmsr(MSR_PHYSBASE(spare), block | TYPE_WT);
    bool ok2 = !f_base && refused(MSR_PHYSMASK(spare), page_mask, mask[spare], s2, sizeof(s2));
    if (f_base)
        fmt_snprintf(s2, sizeof(s2), "PHYSBASE%u with the pair off faulted", spare);
    /* (3) the same page UC: taken, then off again */
    uint64_t f3 = atk_wrmsr(MSR_PHYSBASE(spare), block | TYPE_UC) | atk_wrmsr(MSR_PHYSMASK(spare), page_mask);
    uint64_t got = 0;
    atk_rdmsr(MSR_PHYSMASK(spare), &got);
    uint64_t f3off = atk_wrmsr(MSR_PHYSMASK(spare), mask[spare]);
    atk_wrmsr(MSR_PHYSBASE(spare), base[spare]);
    bool ok3 = !f3 && !f3off && got == page_mask;
    fmt_snprintf(s3, sizeof(s3), "UC pair %u over it %s (PHYSMASK reads 0x%lx)", spare,
             ok3 ? "taken and off again" : "NOT taken", got);
    atk_irq_restore(flags);
    bool ok = atk_core_intact_self(why, sizeof(why));
    if (ok1 && ok2 && ok3 && ok)
        atk_pass(name, "block 0x%lx: %s; %s; %s; %s", block, s1, s2, s3, why);
    else
        atk_fail(name, "block 0x%lx: %s; %s; %s; %s", block, s1, s2, s3, ok ? "core intact" : why);
}
