/* The MSR policy as data (issue 14, path 3): one table, msr_rules[] in
 * msr_policy.c, says for every MSR range and each direction what a guest
 * RDMSR/WRMSR does, and why. Both backends fill their bitmaps from it (the
 * VMX MSR bitmap, the SVM MSR permission map) and their MSR exits look up
 * the same row (hv/msr.c), so which MSRs exit and what an exit does cannot
 * drift apart. An MSR in no row: reads exit and return the hardware's
 * value (#GP where the hardware raises #GP), writes raise #GP and are
 * counted as refused. Pure: host-tested by tests/unit/test_msr_policy.c. */
#ifndef MINIHV_HV_MSR_POLICY_H
#define MINIHV_HV_MSR_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include "hv/vcpu_policy.h"

/* What one direction of an access does. */
enum msr_action {
    MSR_PASS, /* no exit: the guest's RDMSR/WRMSR reaches the hardware MSR */
    MSR_HW,   /* exits; read: the hardware value; write: the row's check, then the hardware */
    MSR_EMUL, /* exits; the core answers from its own state (the row's `emul`) */
    MSR_DENY, /* exits; #GP, counted as refused (hv_refuse) */
};

/* How an MSR_HW write is validated before it reaches the hardware. */
enum msr_check {
    MSR_CHECK_NONE,       /* written as is (the hardware raises #GP for bad values) */
    MSR_CHECK_UNCHANGED,  /* only the current value: a write that changes a bit is refused */
    MSR_CHECK_APIC_BASE,  /* msr_apic_base_check */
    MSR_CHECK_MTRR,       /* msr_mtrr_check: what the hardware would #GP on */
    MSR_CHECK_MC_STATUS,  /* MCi_STATUS: only 0 (clearing), no fake errors */
    MSR_CHECK_MISC_ENABLE,/* IA32_MISC_ENABLE: XD disable may not be set */
    MSR_CHECK_AMD_HWCR,   /* HWCR: only FFDIS, CpbDis and IRPERF_EN may change */
    MSR_CHECK_LVT,        /* x2APIC LVT: apic_lvt_ok, else dropped (MSR_WRITE_DROP) */
    MSR_CHECK_XSS,        /* IA32_XSS: only env->xss_allowed bits, else refused (#GP) */
};

/* Who answers an MSR_EMUL direction. */
enum msr_emul {
    MSR_EMUL_NONE,
    MSR_EMUL_FEATURE_CONTROL, /* read: msr_read_policy (locked, VMX off) */
    MSR_EMUL_X2APIC_ICR,      /* write: hv/ipi.c (INIT/SIPI are the core's) */
    MSR_EMUL_EFER,            /* SVM: svm_efer_read/write (SVME hidden) */
    MSR_EMUL_VM_CR,           /* SVM: svm_msr_read/write_policy */
    MSR_EMUL_VM_HSAVE_PA,     /* SVM: svm_msr_read/write_policy */
    MSR_EMUL_PAT,             /* SVM: the VMCB's g_pat (msr_pat_valid) */
};

/* Which backend a row applies to. */
#define MSR_ON_VMX  1u
#define MSR_ON_SVM  2u
#define MSR_ON_BOTH 3u

struct msr_rule {
    uint32_t first, last; /* inclusive */
    uint8_t on;           /* MSR_ON_* */
    uint8_t read, write;  /* enum msr_action */
    uint8_t check;        /* enum msr_check, for a MSR_HW write */
    uint8_t emul;         /* enum msr_emul, for a MSR_EMUL direction */
    const char *why;
};

extern const struct msr_rule msr_rules[];
extern const unsigned msr_rule_count;
/* The row for an MSR not in the table. */
extern const struct msr_rule msr_rule_default;

/* The row for `msr` on backend `on` (MSR_ON_VMX or MSR_ON_SVM); the
 * default row when none matches. Never NULL. */
const struct msr_rule *msr_rule_find(uint32_t msr, unsigned on);
/* Whether an access exits: every action but MSR_PASS. */
bool msr_exits(uint32_t msr, bool write, unsigned on);

/* The VMX MSR bitmap (SDM Vol. 3C 25.6.9 "MSR-Bitmap Address"): 4 KiB,
 * read-low at 0, read-high (c000_0000-c000_1fff) at 1 KiB, write-low at
 * 2 KiB, write-high at 3 KiB; a set bit exits. Fills all of it. */
#define MSR_BITMAP_BYTES 4096u
void msr_bitmap_fill_vmx(uint8_t *bitmap);
/* (The SVM permission map: msrpm_fill, hv/svm/svm_policy.h.) */

/* ---- write checks (pure) ---- */

/* WRITE_OK: write the value to the hardware; WRITE_GP: the hardware would
 * raise #GP (inject it, nothing refused); WRITE_REFUSE: the hardware would
 * accept it, the core does not (#GP and hv_refuse). `hw` is the current
 * hardware value, `phys_bits` MAXPHYADDR, `mtrr_vcnt` IA32_MTRRCAP.VCNT. */
/* WRITE_DROP: the hardware would accept it, the core drops it without a
 * fault (the register keeps its value; counted lvt-delivery). */
enum msr_verdict { MSR_WRITE_OK, MSR_WRITE_GP, MSR_WRITE_REFUSE, MSR_WRITE_DROP };
struct msr_env {
    unsigned phys_bits;
    unsigned mtrr_vcnt;
    /* The IA32_XSS bits the guest is shown (CPUID.(0xd,1) EDX:ECX after
     * cpuid_policy: PT and CET hidden). */
    uint64_t xss_allowed;
};
enum msr_verdict msr_write_check(const struct msr_rule *r, uint32_t msr, uint64_t hw, uint64_t value,
                                const struct msr_env *env);

/* Whether a local APIC LVT value (xAPIC 0x2f0, 0x320-0x370, AMD's
 * 0x500-0x530; x2APIC 0x82f, 0x832-0x837) may reach the APIC: delivery
 * mode (bits 10:8, SDM Vol. 3A 10.5.1) fixed (000), NMI (100) or ExtINT
 * (111). SMI (010) and INIT (101, allowed on LINT0/LINT1) would deliver a
 * physical SMI/INIT to the CPU; 001/011/110 are reserved. The timer and
 * error LVTs have no mode field (reserved bits, Linux writes 000): checked
 * the same. One predicate for hv/ipi.c (xAPIC) and MSR_CHECK_LVT. */
bool apic_lvt_ok(uint32_t value);

/* IA32_APIC_BASE (SDM Vol. 3A 10.4.4 "Local APIC Status and Location",
 * 10.12.5 "x2APIC State Transitions"): BSP bit 8, EXTD
 * bit 10, EN bit 11, base from bit 12 to MAXPHYADDR - 1. The hardware
 * raises #GP for reserved bits, EN=0 with EXTD=1 and x2APIC -> xAPIC; the
 * core refuses a base change, disabling the APIC and a BSP flag change.
 * What stays: the same value, and xAPIC -> x2APIC (EXTD 0 -> 1 with EN). */
#define APIC_BASE_BSP  (1ull << 8)
#define APIC_BASE_EXTD (1ull << 10)
#define APIC_BASE_EN   (1ull << 11)
enum msr_verdict msr_apic_base_check(uint64_t hw, uint64_t value, unsigned phys_bits);

/* An MTRR write the hardware would accept (SDM Vol. 3A 11.11.2): types
 * UC/WC/WT/WP/WB, no reserved bits or bits at or above MAXPHYADDR, only
 * the VCNT variable pairs that exist. */
bool msr_mtrr_check(uint32_t msr, uint64_t value, unsigned vcnt, unsigned phys_bits);
/* IA32_PAT (SDM Vol. 3A 11.12.2 "IA32_PAT MSR"): WRMSR raises #GP otherwise:
 * eight memory types, each 0, 1, 4, 5, 6 or 7 (bits 7:3 of each byte 0). */
bool msr_pat_valid(uint64_t value);

#endif
