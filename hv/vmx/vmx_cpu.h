/* The VMX backend inside: what its VMCS setup and start (vmx.c) and its
 * exit handling (vmx_exit.c) share. Not for the rest of the core, which
 * uses vmx.h. Section numbers are the Intel SDM Vol. 3C. */
#ifndef MINIHV_HV_VMX_VMX_CPU_H
#define MINIHV_HV_VMX_VMX_CPU_H

#include <stdbool.h>
#include <stdint.h>
#include "hv/host.h"
#include "hv/vcpu.h"
#include "hv/vmx/vmcs.h"

#define MSR_DEBUGCTL        0x1d9
#define MSR_SYSENTER_CS     0x174
#define MSR_SYSENTER_ESP    0x175
#define MSR_SYSENTER_EIP    0x176
#define MSR_FS_BASE         0xc0000100
#define MSR_GS_BASE         0xc0000101
#define MSR_APIC_BASE       0x1b
#define MSR_X2APIC_ICR_NR   0x830
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define CR0_TS (1ull << 3)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR4_PGE (1ull << 7)
#define CR4_PCIDE (1ull << 17)

/* ---- VMX instructions (SDM Vol. 2 / 3C 31.2: CF or ZF set = failure) ---- */

static inline bool vmx_on(uint64_t pa)
{
    uint8_t fail;
    __asm__ volatile("vmxon %1; setna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
    return !fail;
}

static inline bool vmcs_clear(uint64_t pa)
{
    uint8_t fail;
    __asm__ volatile("vmclear %1; setna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
    return !fail;
}

static inline bool vmcs_load(uint64_t pa)
{
    uint8_t fail;
    __asm__ volatile("vmptrld %1; setna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
    return !fail;
}

static inline void vmx_off(void)
{
    __asm__ volatile("vmxoff" ::: "cc", "memory");
}

static inline uint64_t vmread(uint64_t field)
{
    uint64_t value = 0;
    __asm__ volatile("vmread %1, %0" : "=rm"(value) : "r"(field) : "cc");
    return value;
}

/* The first failing field of a setup, for the report (vmx.c). */
extern uint64_t vmwrite_failed_field;

static inline void vmwrite(uint64_t field, uint64_t value)
{
    uint8_t fail;
    __asm__ volatile("vmwrite %2, %1; setna %0" : "=qm"(fail) : "r"(field), "rm"(value) : "cc");
    if (fail && !vmwrite_failed_field)
        vmwrite_failed_field = field | (1ull << 63);
}

/* ---- capabilities (vmx_global_init) ---- */

struct vmx_caps {
    uint64_t basic, misc, ept_vpid;
    uint64_t pin, proc, proc2, exit, entry; /* allowed-0 low, allowed-1 high (A.3-A.5) */
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};
extern struct vmx_caps vmx_caps;

/* The pin-based "virtual NMIs" and the processor-based "NMI-window
 * exiting" controls both allowed to be 1 (A.3.1, A.3.2). */
static inline bool vmx_virtual_nmis(void)
{
    return ((vmx_caps.pin >> 32) & PIN_VIRTUAL_NMIS) && ((vmx_caps.proc >> 32) & PROC_NMI_WINDOW);
}

/* ---- per-CPU state ---- */

struct vmx_cpu {
    uint64_t vmxon_pa, vmcs_pa;
    uint64_t host_rsp;          /* slot holding the struct vcpu pointer */
    uint32_t entry_ctls;        /* as last written */
    uint64_t cr0_mask, cr4_mask;
    bool injected;              /* an event is queued for this entry */
    unsigned inits;             /* virtual INITs taken, for the log */
    /* Without virtual NMIs only (vmx_exit.c, "NMIs"): the guest is taken
     * to be in its NMI handler, from an NMI's injection until it runs
     * with interrupts enabled. */
    bool nmi_soft_blocked;
    struct host_tables host;
};

static inline struct vmx_cpu *vmx_of(struct vcpu *v)
{
    return v->arch;
}

struct seg_state {
    uint16_t sel;
    uint32_t limit, ar;
    uint64_t base;
};
void write_guest_seg(int n, const struct seg_state *s);

/* Flushes: this vCPU's VPID (28.3.3.3), all EPT-derived translations (28.3.3.1). */
void invvpid_single(struct vcpu *v);
void invept_all(void);

/* vmx_exit.c: the vcpu_ops, and the exit handler vmx_exit_entry calls. */
extern const struct vcpu_ops vmx_ops;
void vmx_handle_exit(struct vcpu *v);
__attribute__((noreturn)) void vmx_resume_failed(struct vcpu *v);

#endif
