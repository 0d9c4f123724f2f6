/* The SVM backend inside: what its VMCB setup and start (svm.c) and its
 * exit handling (svm_exit.c) share. Not for the rest of the core, which
 * uses svm.h. Section numbers are the AMD APM Vol. 2. */
#ifndef MINIHV_HV_SVM_SVM_CPU_H
#define MINIHV_HV_SVM_SVM_CPU_H

#include <stdbool.h>
#include <stdint.h>
#include "hv/host.h"
#include "hv/vcpu.h"
#include "hv/svm/vmcb.h"

#define MSR_APIC_BASE 0x1b
#define MSR_DEBUGCTL  0x1d9
#define CR0_CD (1ull << 30)
#define CR0_NW (1ull << 29)
#define PAT_POWER_ON 0x0007040600070406ull /* APM Vol. 2 7.8.2 */
#define VECTOR_DB 1
#define VECTOR_UD 6
#define VECTOR_AC 17
#define VECTOR_NMI 2
#define VECTOR_PF 14
/* Exceptions that push an error code (SDM Vol. 3A 6.13, Table 6-1):
 * #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP. */
#define ERROR_CODE_VECTORS ((1u << 8) | (1u << 10) | (1u << 11) | (1u << 12) | (1u << 13) | \
                            (1u << 14) | (1u << 17) | (1u << 21))
/* Intercepted always: #UD (the guest's VMCALL is the core's hypercall);
 * #DB and #AC, so that an exception whose delivery raises the same
 * exception again (a data breakpoint on the #DB frame, an #AC frame on a
 * misaligned CPL-3 stack) is one #VMEXIT per delivery, where the core's
 * kick and the summary still reach the CPU, instead of a microcode loop
 * that nothing interrupts (CVE-2015-8104, CVE-2015-5307; KVM and Xen,
 * XSA-156, intercept both). Each goes back to the guest as it came. */
#define ALWAYS_INTERCEPTED_VECTORS ((1u << VECTOR_UD) | (1u << VECTOR_DB) | (1u << VECTOR_AC))
/* The faults an instruction may raise while the core single-steps it
 * (svm_exit.c): #DE #BR #NM #TS #NP #SS #GP #PF #MF #AC #XM #CP. #UD is
 * always intercepted; #DB is the step's own. */
#define STEP_FAULT_VECTORS ((1u << 0) | (1u << 5) | (1u << 7) | (1u << 10) | (1u << 11) | \
                            (1u << 12) | (1u << 13) | (1u << 14) | (1u << 16) | (1u << 17) | \
                            (1u << 19) | (1u << 21))

/* ---- SVM instructions (15.5, 15.17) ---- */

static inline void svm_vmsave(uint64_t pa)
{
    __asm__ volatile("vmsave" ::"a"(pa) : "memory");
}

static inline void svm_vmload(uint64_t pa)
{
    __asm__ volatile("vmload" ::"a"(pa) : "memory");
}

/* Lets a pending NMI in (taken by the core's IDT, hv/host.c) and closes
 * the window again: GIF is clear whenever the core runs (15.17). */
static inline void take_pending_nmi(void)
{
    __asm__ volatile("stgi; clgi" ::: "memory");
}

struct svm_caps {
    uint32_t asids;    /* CPUID 0x8000000a EBX */
    bool nrips;        /* next-RIP save, CPUID 0x8000000a EDX[3] */
    bool npt_1g;       /* 1 GiB pages, CPUID 0x80000001 EDX[26] */
    bool vnmi;         /* virtual NMIs, CPUID 0x8000000a EDX[25] (15.21.10) */
    uint64_t efer_allowed; /* EFER bits the guest may set */
};
extern struct svm_caps svm_caps;

/* One CPU's SVM state (v->arch). */
struct svm_cpu {
    struct vmcb *vmcb;      /* the guest's, also its VMLOAD/VMSAVE area */
    uint64_t vmcb_pa;
    uint64_t host_vmcb_pa;  /* the core's VMLOAD/VMSAVE area: its TR, FS, GS */
    uint64_t hsave_pa;      /* VM_HSAVE_PA (15.30.4) */
    struct host_tables host;
    bool launched;          /* the first VMRUN got past its checks */
    bool injected;          /* an event is queued for this entry */
    bool reset;             /* a virtual INIT reset the CPU at this exit */
    unsigned inits;         /* INITs taken, for the log */
    /* The guest's NMI blocking without vNMI (svm_exit.c, "NMIs"): set
     * when the core injects an NMI, cleared once an IRET has run. */
    bool nmi_blocked;
    bool nmi_iret;          /* the IRET intercept hit at nmi_iret_rip: it runs next */
    uint64_t nmi_iret_rip;
    /* A single step over the one instruction that holds a pending NMI
     * back (that IRET, or an interrupt shadow's): RIP, the guest's own
     * RFLAGS.TF and DR6 when it began. */
    bool nmi_step, nmi_step_iret;
    uint64_t nmi_step_rip, nmi_step_tf, nmi_step_dr6;
};

static inline struct svm_cpu *svm_of(struct vcpu *v)
{
    return v->arch;
}

/* Event injection (15.20), svm.c: an exception at the next VMRUN. */
void svm_inject_exception(struct vcpu *v, unsigned vector, bool has_error, uint32_t error);

#endif
