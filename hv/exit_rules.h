/* The pure rules around an instruction the core carries out for the guest
 * (CPUID, RDMSR/WRMSR, IN/OUT, XSETBV, VMCALL/VMMCALL, MOV CR, an emulated
 * MMIO access), shared by both backends so that each rule lives once:
 * - the state the CPU is in after such an instruction: no STI/MOV SS
 *   interrupt shadow, and a single-step #DB when RFLAGS.TF was set (the
 *   CVE-2018-8897 pattern: `mov ss` with TF, then an exiting instruction,
 *   then SYSCALL: a shadow kept over the emulated instruction moves the #DB
 *   onto the next one, in the kernel);
 * - whether an instruction decoded from guest memory after the exit is the
 *   one that made the exit (another CPU may have rewritten it).
 * No hardware access: tests/unit/test_exit_rules.c calls these directly. */
#ifndef MINIHV_HV_EXIT_RULES_H
#define MINIHV_HV_EXIT_RULES_H

#include <stdbool.h>
#include <stdint.h>
#include "hv/decode.h"

#define RFLAGS_TF    (1ull << 8)  /* SDM Vol. 1 3.4.3.3 */
#define RFLAGS_IF    (1ull << 9)
#define RFLAGS_RF    (1ull << 16) /* resume flag */
#define DEBUGCTL_BTF (1ull << 1)  /* SDM Vol. 3B 18.4.1: TF traps on branches only */
#define DR6_BD       (1ull << 13) /* SDM Vol. 3B 18.2.3: debug-register access detected */
#define DR6_BS       (1ull << 14) /* SDM Vol. 3B 18.2.3: single step */
#define DR6_RTM      (1ull << 16) /* SDM Vol. 3B 18.2.3: active low, 0 in an RTM region */
#define DR6_BLD      (1ull << 11) /* SDM Vol. 3B 18.2.3: active low, 0 for a bus-lock #DB */
#define DR7_GD       (1ull << 13) /* SDM Vol. 3B 18.2.4: general detect */

/* ---- after an instruction the core completed (RIP advanced) ----
 * Hardware ends the STI and MOV SS shadows after the one instruction they
 * cover (SDM Vol. 3A 6.8.3, Vol. 3C 25.4.2 interruptibility state) and
 * raises the single-step trap after an instruction that starts with TF set
 * (SDM Vol. 3B 18.3.1.4); a VM exit on the instruction itself (SDM Vol. 3C
 * 27.1) leaves both to the VMM, as does an SVM intercept (APM Vol. 2 15.7,
 * 15.20). KVM does the same in kvm_skip_emulated_instruction. */

/* The shadows at the exit, vendor-neutral: VMX interruptibility bits 0
 * (blocking by STI) and 1 (blocking by MOV SS); SVM's INTERRUPT_SHADOW
 * (VMCB int_state bit 0) is either. */
#define SHADOW_STI   (1u << 0)
#define SHADOW_MOVSS (1u << 1)

struct insn_done_in {
    unsigned shadow;   /* SHADOW_* at the exit */
    uint64_t rflags;   /* at the instruction: none of the emulated ones changes TF */
    uint64_t debugctl; /* the guest's IA32_DEBUGCTL (BTF) */
    bool db_pending;   /* a single-step #DB already pending: VMX saves BS in the
                        * pending debug exceptions field when the exiting
                        * instruction followed a MOV SS that trapped (27.3.4) */
};

/* And RF: the processor clears it when an instruction completes (SDM Vol.
 * 3B 17.3.1.1; it was set by the IRET back from a fault, which the core
 * now pushes with RF as hardware does): the backends clear it in the
 * RFLAGS they write back, so the next instruction's breakpoint fires. */
struct insn_done_out {
    bool clear_shadow; /* the backend clears its shadow bits (nothing else) */
    bool single_step;  /* one #DB with DR6.BS at the new RIP, and only one: the
                        * MOV SS trap and this instruction's are the same #DB */
};

struct insn_done_out insn_done(const struct insn_done_in *in);

/* ---- an exception the core delivers ----
 * A fault pushes RF set (SDM Vol. 3B 17.3.1.1: "for any fault-class
 * exception except a debug exception generated in response to an
 * instruction breakpoint, the value pushed for RF is 1"), so that the
 * IRET back to the faulting instruction does not take its instruction
 * breakpoint again. An injection (VM entry, EVENTINJ) pushes the guest's
 * RFLAGS as they are, so the core sets RF for the faults it injects
 * (ACRN's and KVM's injection do the same). Fault class per SDM Vol. 3A
 * Table 6-1: #DE #BR #UD #NM, 9, #TS #NP #SS #GP #PF #MF #AC #XM #VE #CP;
 * not the traps (#BP, #OF, #DB as the core raises it: single step, data
 * breakpoint), NMI or the aborts (#DF, #MC). */
bool exception_sets_rf(unsigned vector);

/* ---- the decode against the exit ----
 * An EPT violation (SDM Vol. 3C 28.2.1 Table 28-7: bit 0 read, bit 1
 * write, bit 2 fetch) or a nested page fault (APM Vol. 2 15.25.6: error
 * code bit 1 W, bit 4 I/D) says how the guest touched the page, but the
 * instruction is read again from guest memory afterwards, where another
 * CPU may have replaced it. `exit_write`/`exit_fetch` as the exit reports
 * them. A read-modify-write (ADD [m], r ...) matches either direction:
 * its read faults first on a page with no access, its write on a
 * read-only page. A decode that does not match is not emulated: the core
 * returns to the guest with RIP unchanged, the CPU executes the
 * instruction again and exits again with the right report (what a
 * hardware fetch after the rewrite would see). */
bool insn_matches_exit(const struct decoded_insn *insn, bool exit_write, bool exit_fetch);

/* ---- MOV to CR0 that the core carries out (VMX: it touched an owned bit,
 * NE; LMSW) ----
 * What the instruction raises #GP(0) on (SDM Vol. 2B "MOV—Move to/from
 * Control Registers", Vol. 3A 2.5, 4.1.2, 9.8.5; KVM's kvm_set_cr0): bits
 * 63:32; PG without PE; NW without CD; paging on with EFER.LME set and
 * CR4.PAE clear or CS.L set; paging off in 64-bit mode (EFER.LMA and
 * CS.L) or with CR4.PCIDE set; WP clear with CR4.CET set. Written anyway,
 * the next VM entry fails on the state (SDM Vol. 3C 26.3.1.1: IA-32e mode
 * needs CR4.PAE, CR4.PCIDE needs IA-32e mode, CET needs WP): a FATAL the
 * guest chose (review R3, finding 3). */
#define CR4_CET_BIT (1ull << 23)
struct cr0_write_in {
    uint64_t old_cr0, new_cr0; /* the guest's view before, the value written */
    uint64_t cr4, efer;        /* the guest's */
    bool cs_l;                 /* CS.L (access rights bit 13) */
};
bool cr0_write_faults(const struct cr0_write_in *in);

/* ---- PAE paging's four PDPTEs (SDM Vol. 3A 4.4.1) ----
 * MOV to CR3 under PAE paging, and MOV to CR0/CR4 that turns PAE paging on
 * or changes CR0.PG/CD/NW under it, load the PDPTEs from CR3[31:5] and
 * raise #GP(0) when a present one has a reserved bit (2:1, 8:5,
 * 63:MAXPHYADDR). With EPT, VM entry takes them from the VMCS (SDM Vol. 3C
 * 26.3.2.4) and fails on a reserved bit (26.3.1.6): a write the core
 * carries out loads them itself (review R4). */
bool pae_pdptes_ok(const uint64_t pdpte[4], unsigned maxphyaddr);

#endif
