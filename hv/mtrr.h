/* A model of the MTRRs (SDM Vol. 3A 11.11): from the MSR values to the
 * effective memory type of a range. Pure C, no MSR access: the caller reads
 * the MSRs (hv/ept.c) and the host tests feed made-up values. */
#ifndef MINIHV_HV_MTRR_H
#define MINIHV_HV_MTRR_H

#include <stdbool.h>
#include <stdint.h>

#define MTRR_MAX_VAR 32
#define MTRR_FIXED_MSRS 11
#define MTRR_FIXED_END 0x100000ull /* the fixed ranges cover [0, 1 MiB) */

/* MSR numbers (SDM 11.11.2.2/11.11.2.3, Table 11-9). */
#define MSR_MTRR_PHYSBASE0 0x200 /* PHYSMASKn = 0x201 + 2n */
#define MSR_MTRR_FIX64K_00000 0x250
#define MSR_MTRR_FIX16K_80000 0x258
#define MSR_MTRR_FIX16K_A0000 0x259
#define MSR_MTRR_FIX4K_C0000 0x268 /* ... 0x26f: FIX4K_F8000 */

struct mtrr_var {
    uint64_t base; /* IA32_MTRR_PHYSBASEn: bits 7:0 type, 12+ base */
    uint64_t mask; /* IA32_MTRR_PHYSMASKn: bit 11 valid, 12+ mask */
};

struct mtrr_state {
    uint64_t cap;      /* IA32_MTRRCAP: 7:0 VCNT, bit 8 FIX */
    uint64_t def_type; /* IA32_MTRR_DEF_TYPE: 7:0 type, bit 10 FE, bit 11 E */
    uint64_t fixed[MTRR_FIXED_MSRS]; /* 0x250, 0x258, 0x259, 0x268..0x26f */
    unsigned var_count;              /* min(VCNT, MTRR_MAX_VAR) */
    struct mtrr_var var[MTRR_MAX_VAR];
    unsigned phys_bits;              /* CPUID 0x80000008 EAX[7:0] */
};

/* The MSR index of fixed[i]. */
uint32_t mtrr_fixed_msr(unsigned i);

/* Effective type of the one byte at `pa` (SDM 11.11.4.1 precedences;
 * overlapping variable ranges of types that do not combine give UC). */
unsigned mtrr_type_at(const struct mtrr_state *s, uint64_t pa);

/* For a naturally aligned power-of-two block [base, base + size), size at
 * least 4 KiB: true and *type when every byte has the same effective type,
 * false when the type changes inside the block (split it). Conservative: a
 * variable range whose mask cuts the block counts as a change. */
bool mtrr_block_type(const struct mtrr_state *s, uint64_t base, uint64_t size, unsigned *type);

/* Applies one WRMSR to the model: IA32_MTRR_DEF_TYPE, a fixed-range MSR,
 * or PHYSBASEn/PHYSMASKn below VCNT. False: not an MTRR of this state. */
bool mtrr_state_write(struct mtrr_state *s, uint32_t msr, uint64_t value);

/* Whether going from `before` to `after` keeps [base, base + size) in
 * types the core can run on (issue 14): every part either keeps its type
 * or becomes WB or UC. WC (weakly ordered stores: the core's locks),
 * WT and WP are refused. */
bool mtrr_write_keeps_range(const struct mtrr_state *before, const struct mtrr_state *after, uint64_t base,
                            uint64_t size);

#endif
