/* The pure decisions of the SVM backend (AMD APM Vol. 2): which MSRs exit
 * and where their bits sit in the MSR permission map, what the guest sees
 * of EFER.SVME, VM_CR and VM_HSAVE_PA, how SVM is hidden from CPUID, the
 * length of an intercepted instruction when the CPU has no next-RIP save,
 * and how an APIC interrupt command is read. No hardware access: the host
 * tests (tests/unit/test_svm_policy.c) call these directly. */
#ifndef MINIHV_HV_SVM_POLICY_H
#define MINIHV_HV_SVM_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include "hv/decode.h"
#include "hv/vcpu_policy.h"

#define MSR_VM_CR       0xc0010114u
#define MSR_VM_HSAVE_PA 0xc0010117u
#define MSR_X2APIC_ICR  0x830u
#define VM_CR_DPD     (1ull << 0)
#define VM_CR_R_INIT  (1ull << 1)
#define VM_CR_LOCK    (1ull << 3)
#define VM_CR_SVMDIS  (1ull << 4)

#define EFER_SCE   (1ull << 0)
#define EFER_LME   (1ull << 8)
#define EFER_LMA   (1ull << 10)
#define EFER_NXE_BIT (1ull << 11)
#define EFER_FFXSR (1ull << 14)
#define EFER_TCE   (1ull << 15)
#define EFER_AUTOIBRS (1ull << 21)

#define CPUID_80000001_ECX_SVM (1u << 2)

/* ---- MSR permission map (APM 15.11, Table 15-10) ----
 * 8 KiB, two bits per MSR (even: read, odd: write) in three ranges:
 * 0000_0000-0000_1fff at byte 0x000, c000_0000-c000_1fff at 0x800,
 * c001_0000-c001_1fff at 0x1000. MSRs outside them always exit. */
#define MSRPM_BYTES 8192u
/* The byte and bit of `msr`'s read (write=false) or write permission;
 * false when the MSR is outside the three ranges. */
bool msrpm_locate(uint32_t msr, bool write, unsigned *byte, unsigned *bit);
/* Fills all of a MSRPM_BYTES map from the MSR table (hv/msr_policy.h):
 * a bit is set (the access exits) unless the MSR's row says MSR_PASS for
 * that direction on SVM. */
void msrpm_fill(uint8_t *map);

/* ---- what the guest sees ---- */

/* CPUID: SVM hidden (leaf 0x80000001 ECX[2] clear, leaf 0x8000000a all
 * zero, as on a CPU without SVM); apply after cpuid_policy. */
void svm_cpuid_policy(uint32_t leaf, uint32_t subleaf, uint32_t r[4]);

/* EFER read: the guest's value with SVME clear (the real one must keep
 * it: VMRUN requires guest EFER.SVME, APM 15.5.1). */
uint64_t svm_efer_read(uint64_t vmcb_efer);
/* EFER write (APM Vol. 2 3.1.7): #GP for bits outside `allowed` or SVME
 * (the guest's CPUID says no SVM), and for changing LME with paging on;
 * LMA is the CPU's: writes keep its current value. On MSR_OK *out is
 * the value for the VMCB, SVME set. */
enum msr_result svm_efer_write(uint64_t vmcb_efer, uint64_t value, uint64_t allowed, bool paging,
                               uint64_t *out);
/* VM_CR (APM 15.30.1) reads as SVM disabled and locked (SVMDIS|LOCK);
 * VM_HSAVE_PA (15.30.4) reads 0. Writes: VM_CR ignored (what a locked
 * VM_CR does with LOCK/SVMDIS; the other bits stay the core's), any
 * VM_HSAVE_PA write raises #GP (software that believed CPUID never writes
 * it; the real one holds the core's host-save area). */
enum msr_result svm_msr_read_policy(uint32_t msr, uint64_t *value);
enum msr_result svm_msr_write_policy(uint32_t msr, uint64_t value);

/* ---- instruction lengths without next-RIP save ---- */

enum svm_insn {
    SVM_INSN_CPUID,   /* 0f a2 */
    SVM_INSN_RDMSR,   /* 0f 32 */
    SVM_INSN_WRMSR,   /* 0f 30 */
    SVM_INSN_INVD,    /* 0f 08 */
    SVM_INSN_VMMCALL, /* 0f 01 d9 */
    SVM_INSN_VMCALL,  /* 0f 01 c1: Intel's, #UD on AMD (emulated as a hypercall) */
    SVM_INSN_XSETBV,  /* 0f 01 d1 */
};
/* The length of the instruction at bytes[0..n) if it is `insn` with any
 * legacy prefixes (and a REX prefix in 64-bit mode) before it; 0 when the
 * bytes are something else, are cut short, or exceed 15 bytes. */
unsigned svm_insn_length(const uint8_t *bytes, unsigned n, enum decode_mode mode, enum svm_insn insn);

#endif
