/* See msr_policy.h. MSR numbers and names: Intel SDM Vol. 4 (Model-
 * Specific Registers), AMD APM Vol. 2 Appendix A and the family 17h/19h
 * PPRs. */
#include <minihv/x86.h>
#include "hv/msr_policy.h"

/* Shorthands for the table. */
#define P MSR_PASS
#define H MSR_HW
#define E MSR_EMUL
#define D MSR_DENY
#define ROW(a, b, on, r, w, check, emul, why) { a, b, on, r, w, check, emul, why }

/* No two rows of one backend overlap (a host test checks it), so the order
 * is only for the reader: by number. */
const struct msr_rule msr_rules[] = {
    /* ---- architectural, 0x0-0x1fff ---- */
    ROW(0x10, 0x10, MSR_ON_BOTH, P, H, MSR_CHECK_NONE, 0,
        "IA32_TSC: reads as RDTSC; a write moves this CPU's TSC only, the core keeps no time by it"),
    ROW(0x17, 0x17, MSR_ON_BOTH, P, D, MSR_CHECK_NONE, 0, "IA32_PLATFORM_ID: read-only"),
    ROW(0x33, 0x33, MSR_ON_VMX, P, H, MSR_CHECK_NONE, 0,
        "MSR_TEST_CTRL: split-lock detection (#AC on this CPU), Linux probes it at boot"),
    ROW(0x1b, 0x1b, MSR_ON_BOTH, P, H, MSR_CHECK_APIC_BASE, 0,
        "IA32_APIC_BASE: reads the hardware; a write could move the xAPIC off its read-only page "
        "(raw ICR) or onto the core's block: only xAPIC -> x2APIC passes"),
    ROW(0x34, 0x34, MSR_ON_VMX, P, D, MSR_CHECK_NONE, 0, "MSR_SMI_COUNT: read-only"),
    ROW(0x3a, 0x3a, MSR_ON_VMX, E, D, MSR_CHECK_NONE, MSR_EMUL_FEATURE_CONTROL,
        "IA32_FEATURE_CONTROL: reads locked with VMX off (CPUID hides VMX); locked, so no write"),
    ROW(0x3b, 0x3b, MSR_ON_BOTH, P, H, MSR_CHECK_NONE, 0,
        "IA32_TSC_ADJUST: this CPU's TSC offset (Linux zeroes it at boot)"),
    ROW(0x48, 0x49, MSR_ON_BOTH, P, P, MSR_CHECK_NONE, 0,
        "IA32_SPEC_CTRL, IA32_PRED_CMD: speculation controls on the context-switch path"),
    ROW(0x79, 0x79, MSR_ON_BOTH, D, D, MSR_CHECK_NONE, 0,
        "IA32_BIOS_UPDT_TRIG: a microcode load reads the update from an address the core does not check"),
    ROW(0x8b, 0x8b, MSR_ON_BOTH, P, H, MSR_CHECK_NONE, 0,
        "IA32_BIOS_SIGN_ID / PATCH_LEVEL: the microcode revision; software writes 0 before CPUID"),
    ROW(0x9b, 0x9b, MSR_ON_BOTH, D, D, MSR_CHECK_NONE, 0, "IA32_SMM_MONITOR_CTL: SMM is the firmware's"),
    ROW(0xc1, 0xc8, MSR_ON_BOTH, P, P, MSR_CHECK_NONE, 0, "IA32_PMC0-7: performance counters"),
    ROW(0xce, 0xce, MSR_ON_VMX, P, D, MSR_CHECK_NONE, 0, "MSR_PLATFORM_INFO: read-only"),
    ROW(0xe1, 0xe1, MSR_ON_VMX, P, H, MSR_CHECK_NONE, 0, "IA32_UMWAIT_CONTROL: TPAUSE/UMWAIT limits"),
    ROW(0xe2, 0xe2, MSR_ON_VMX, P, H, MSR_CHECK_NONE, 0,
        "MSR_PKG_CST_CONFIG_CONTROL: C-state limit and demotion (intel_idle); the lock bit is the firmware's"),
    ROW(0xe7, 0xe8, MSR_ON_BOTH, P, H, MSR_CHECK_NONE, 0,
        "IA32_MPERF, IA32_APERF: read every scheduler tick for the frequency"),
    ROW(0xfe, 0xfe, MSR_ON_BOTH, P, D, MSR_CHECK_NONE, 0, "IA32_MTRRCAP: read-only"),
    ROW(0x10a, 0x10b, MSR_ON_VMX, P, P, MSR_CHECK_NONE, 0,
        "IA32_ARCH_CAPABILITIES (read-only), IA32_FLUSH_CMD: speculation controls"),
    ROW(0x10b, 0x10b, MSR_ON_SVM, P, P, MSR_CHECK_NONE, 0, "IA32_FLUSH_CMD: L1D flush"),
    ROW(0x10f, 0x10f, MSR_ON_VMX, P, H, MSR_CHECK_NONE, 0, "MSR_TSX_FORCE_ABORT: TSX abort/RTM disable (Linux at boot)"),
    ROW(0x122, 0x123, MSR_ON_VMX, P, H, MSR_CHECK_NONE, 0,
        "IA32_TSX_CTRL, IA32_MCU_OPT_CTRL: mitigation switches Linux sets at boot"),
    ROW(0x140, 0x140, MSR_ON_VMX, P, H, MSR_CHECK_NONE, 0,
        "MSR_MISC_FEATURES_ENABLES: CPUID faulting (CPL 3 CPUID only), ring-3 MWAIT"),
    ROW(0x174, 0x176, MSR_ON_BOTH, P, P, MSR_CHECK_NONE, 0,
        "IA32_SYSENTER_CS/ESP/EIP: the guest's system-call entry; the core does not use SYSENTER"),
    ROW(0x179, 0x179, MSR_ON_BOTH, P, D, MSR_CHECK_NONE, 0, "IA32_MCG_CAP: read-only"),
    ROW(0x17a, 0x17b, MSR_ON_BOTH, P, H, MSR_CHECK_NONE, 0,
        "IA32_MCG_STATUS, IA32_MCG_CTL: machine-check reporting, no memory or interrupt routing"),
    ROW(0x186, 0x18d, MSR_ON_VMX, P, P, MSR_CHECK_NONE, 0, "IA32_PERFEVTSEL0-7: performance counters"),
    ROW(0x198, 0x199, MSR_ON_VMX, P, H, MSR_CHECK_NONE, 0, "IA32_PERF_STATUS/CTL: P-state requests"),
    ROW(0x19a, 0x19c, MSR_ON_VMX, P, H, MSR_CHECK_NONE, 0,
        "IA32_CLOCK_MODULATION, IA32_THERM_INTERRUPT/STATUS: thermal control and its LVT enables"),
    ROW(0x1a0, 0x1a0, MSR_ON_VMX, P, H, MSR_CHECK_MISC_ENABLE, 0,
        "IA32_MISC_ENABLE: fast strings, CPUID limit; XD disable would make the core's NX bits "
        "reserved (host EFER.NXE), so setting it is refused"),
    ROW(0x1a6, 0x1a7, MSR_ON_VMX, P, H, MSR_CHECK_NONE, 0, "MSR_OFFCORE_RSP_0/1: performance event filters"),
    ROW(0x1a2, 0x1a2, MSR_ON_VMX, P, D, MSR_CHECK_NONE, 0, "MSR_TEMPERATURE_TARGET: read"),
    ROW(0x1b0, 0x1b2, MSR_ON_VMX, P, H, MSR_CHECK_NONE, 0,
        "IA32_ENERGY_PERF_BIAS, IA32_PACKAGE_THERM_STATUS/INTERRUPT: power and thermal"),
    ROW(0x1c4, 0x1c5, MSR_ON_VMX, P, P, MSR_CHECK_NONE, 0,
        "IA32_XFD, IA32_XFD_ERR: AMX first-use trap, per thread, on context switch; the core uses no XSAVE state"),
    ROW(0x1c8, 0x1c9, MSR_ON_VMX, P, H, MSR_CHECK_NONE, 0, "MSR_LBR_SELECT, MSR_LASTBRANCH_TOS: LBR filter"),
    ROW(0x1d9, 0x1d9, MSR_ON_VMX, P, P, MSR_CHECK_NONE, 0,
        "IA32_DEBUGCTL: saved and loaded by the VMCS, cleared on VM exit (SDM 27.5.1); "
        "BTS needs IA32_DS_AREA, which is refused"),
    ROW(0x1d9, 0x1d9, MSR_ON_SVM, P, P, MSR_CHECK_NONE, 0,
        "DEBUGCTL: LBR, BTF and the PMC pins; AMD has no BTS/DS store"),
    ROW(0x1db, 0x1de, MSR_ON_BOTH, P, D, MSR_CHECK_NONE, 0, "last branch/exception from/to IPs: read-only"),
    ROW(0x1f2, 0x1f3, MSR_ON_BOTH, D, D, MSR_CHECK_NONE, 0,
        "IA32_SMRR_PHYSBASE/MASK: the firmware's SMRAM range"),
    ROW(0x1fc, 0x1fc, MSR_ON_VMX, P, H, MSR_CHECK_NONE, 0, "MSR_POWER_CTL: C1E promotion (intel_idle)"),
    ROW(0x200, 0x21f, MSR_ON_BOTH, P, H, MSR_CHECK_MTRR, 0,
        "variable MTRRs: reads native; writes validated, then the hardware (EPT/NPT memory types "
        "were fixed at launch)"),
    ROW(0x250, 0x250, MSR_ON_BOTH, P, H, MSR_CHECK_MTRR, 0, "fixed MTRR 64K_00000: validated"),
    ROW(0x258, 0x259, MSR_ON_BOTH, P, H, MSR_CHECK_MTRR, 0, "fixed MTRRs 16K_80000/A0000: validated"),
    ROW(0x268, 0x26f, MSR_ON_BOTH, P, H, MSR_CHECK_MTRR, 0, "fixed MTRRs 4K_C0000-F8000: validated"),
    ROW(0x277, 0x277, MSR_ON_VMX, P, P, MSR_CHECK_NONE, 0,
        "IA32_PAT: the guest's in the VMCS, saved on exit, the core's loaded (SDM 24.7.1, 24.8.1)"),
    ROW(0x277, 0x277, MSR_ON_SVM, E, E, MSR_CHECK_NONE, MSR_EMUL_PAT,
        "PAT: a WRMSR would change the host PAT under NPT (APM 15.25.8): the guest's is the VMCB's g_pat"),
    ROW(0x280, 0x29f, MSR_ON_VMX, P, H, MSR_CHECK_NONE, 0, "IA32_MC0-31_CTL2: CMCI thresholds"),
    ROW(0x2ff, 0x2ff, MSR_ON_BOTH, P, H, MSR_CHECK_MTRR, 0, "IA32_MTRR_DEF_TYPE: validated"),
    ROW(0x309, 0x30c, MSR_ON_VMX, P, P, MSR_CHECK_NONE, 0, "IA32_FIXED_CTR0-3: performance counters"),
    ROW(0x345, 0x345, MSR_ON_VMX, P, D, MSR_CHECK_NONE, 0, "IA32_PERF_CAPABILITIES: read-only"),
    ROW(0x38d, 0x390, MSR_ON_VMX, P, P, MSR_CHECK_NONE, 0,
        "IA32_FIXED_CTR_CTRL, IA32_PERF_GLOBAL_STATUS/CTRL/OVF_CTRL: performance counters (PEBS and "
        "the DS area are refused, so a counter writes no memory)"),
    ROW(0x3f1, 0x3f1, MSR_ON_VMX, H, D, MSR_CHECK_NONE, 0,
        "IA32_PEBS_ENABLE: PEBS records go to IA32_DS_AREA, also while the core runs"),
    ROW(0x400, 0x47f, MSR_ON_BOTH, P, H, MSR_CHECK_MC_STATUS, 0,
        "IA32_MCi_CTL/STATUS/ADDR/MISC: machine-check banks; STATUS only cleared (no fake errors)"),
    ROW(0x480, 0x491, MSR_ON_VMX, D, D, MSR_CHECK_NONE, 0,
        "VMX capability MSRs: #GP, as on a CPU without VMX (CPUID hides it)"),
    ROW(0x4c1, 0x4c8, MSR_ON_VMX, P, P, MSR_CHECK_NONE, 0, "IA32_A_PMC0-7: full-width counters"),
    ROW(0x4d0, 0x4d0, MSR_ON_VMX, P, H, MSR_CHECK_NONE, 0, "IA32_MCG_EXT_CTL: LMCE enable"),
    ROW(0x560, 0x561, MSR_ON_VMX, D, D, MSR_CHECK_NONE, 0,
        "IA32_RTIT_OUTPUT_BASE/MASK_PTRS: Intel PT writes its trace to host-physical addresses"),
    ROW(0x570, 0x572, MSR_ON_VMX, D, D, MSR_CHECK_NONE, 0,
        "IA32_RTIT_CTL/STATUS/CR3_MATCH: Intel PT (hidden in CPUID) would trace the core"),
    ROW(0x580, 0x58b, MSR_ON_VMX, D, D, MSR_CHECK_NONE, 0, "IA32_RTIT_ADDR0-3_A/B: Intel PT"),
    ROW(0x600, 0x600, MSR_ON_VMX, D, D, MSR_CHECK_NONE, 0,
        "IA32_DS_AREA: BTS/PEBS records go to this linear address, also in the core's address "
        "space (DS hidden in CPUID)"),
    ROW(0x680, 0x69f, MSR_ON_VMX, P, H, MSR_CHECK_NONE, 0,
        "MSR_LASTBRANCH_n_FROM_IP: branch records, zeroed by Linux at CPU start"),
    ROW(0x6c0, 0x6df, MSR_ON_VMX, P, H, MSR_CHECK_NONE, 0, "MSR_LASTBRANCH_n_TO_IP: branch records"),
    ROW(0x6e0, 0x6e0, MSR_ON_BOTH, P, P, MSR_CHECK_NONE, 0,
        "IA32_TSC_DEADLINE: the APIC timer, programmed on every timer interrupt"),
    ROW(0x6e1, 0x6e1, MSR_ON_VMX, P, P, MSR_CHECK_NONE, 0,
        "IA32_PKRS: protection keys of the guest's own supervisor pages"),
    ROW(0x770, 0x777, MSR_ON_VMX, P, H, MSR_CHECK_NONE, 0, "IA32_PM_ENABLE, IA32_HWP_*: P-state hints"),
    ROW(0x800, 0x82e, MSR_ON_BOTH, P, P, MSR_CHECK_NONE, 0,
        "x2APIC: ID, version, TPR, EOI, LDR, SVR, ISR/TMR/IRR, ESR: this CPU's APIC"),
    ROW(0x82f, 0x82f, MSR_ON_BOTH, P, H, MSR_CHECK_LVT, 0,
        "x2APIC LVT CMCI: SMI/INIT delivery modes dropped (lvt-delivery)"),
    ROW(0x830, 0x830, MSR_ON_BOTH, P, E, MSR_CHECK_NONE, MSR_EMUL_X2APIC_ICR,
        "x2APIC ICR: INIT/SIPI for virtualized CPUs are the core's (hv/ipi.c)"),
    ROW(0x831, 0x831, MSR_ON_BOTH, P, P, MSR_CHECK_NONE, 0, "x2APIC 0x831: reserved (the hardware's #GP)"),
    ROW(0x832, 0x837, MSR_ON_BOTH, P, H, MSR_CHECK_LVT, 0,
        "x2APIC LVTs (timer, thermal, perf, LINT0/1, error): SMI/INIT delivery modes dropped (lvt-delivery)"),
    ROW(0x838, 0x8ff, MSR_ON_BOTH, P, P, MSR_CHECK_NONE, 0,
        "x2APIC: timer counts and divide, SELF IPI (fixed vectors to this CPU only)"),
    ROW(0xc80, 0xc80, MSR_ON_VMX, D, D, MSR_CHECK_NONE, 0, "IA32_DEBUG_INTERFACE: silicon debug"),
    ROW(0xc8f, 0xc8f, MSR_ON_BOTH, P, P, MSR_CHECK_NONE, 0,
        "IA32_PQR_ASSOC: resctrl class of service (RMID/CLOS), on every context switch"),
    ROW(0xda0, 0xda0, MSR_ON_BOTH, P, H, MSR_CHECK_XSS, 0,
        "IA32_XSS: supervisor XSAVE components, only those CPUID 0xd.1 shows (PT, CET hidden: XRSTORS "
        "of PT state would trace to host-physical memory)"),
    ROW(0xdc0, 0xddf, MSR_ON_VMX, P, H, MSR_CHECK_NONE, 0, "MSR_LBR_INFO_n: branch records"),
    ROW(0x14ce, 0x14cf, MSR_ON_VMX, P, H, MSR_CHECK_NONE, 0,
        "IA32_LBR_CTL, IA32_LBR_DEPTH: architectural LBRs record into MSRs only"),
    ROW(0x1200, 0x121f, MSR_ON_VMX, P, H, MSR_CHECK_NONE, 0, "IA32_LBR_n_INFO: architectural LBR records"),
    ROW(0x1500, 0x151f, MSR_ON_VMX, P, H, MSR_CHECK_NONE, 0, "IA32_LBR_n_FROM_IP: architectural LBR records"),
    ROW(0x1600, 0x161f, MSR_ON_VMX, P, H, MSR_CHECK_NONE, 0, "IA32_LBR_n_TO_IP: architectural LBR records"),

    /* ---- c000_0000-c000_1fff ---- */
    ROW(0xc0000080, 0xc0000080, MSR_ON_VMX, P, P, MSR_CHECK_NONE, 0,
        "EFER: saved and loaded by the VMCS (SDM 24.7.1, 24.8.1)"),
    ROW(0xc0000080, 0xc0000080, MSR_ON_SVM, E, E, MSR_CHECK_NONE, MSR_EMUL_EFER,
        "EFER: SVME must stay set for VMRUN and reads 0 (APM 15.5.1)"),
    ROW(0xc0000081, 0xc0000084, MSR_ON_BOTH, P, P, MSR_CHECK_NONE, 0,
        "STAR, LSTAR, CSTAR, SFMASK: the guest's SYSCALL entry; the core does not use SYSCALL"),
    ROW(0xc0000100, 0xc0000103, MSR_ON_BOTH, P, P, MSR_CHECK_NONE, 0,
        "FS_BASE, GS_BASE, KERNEL_GS_BASE, TSC_AUX: context-switch path; the core loads no FS/GS"),
    ROW(0xc0000300, 0xc0000303, MSR_ON_SVM, P, P, MSR_CHECK_NONE, 0,
        "PerfCntrGlobalStatus/Ctl/StatusClr/StatusSet: performance counters"),
    ROW(0xc0000408, 0xc000040f, MSR_ON_SVM, P, H, MSR_CHECK_NONE, 0,
        "MC4_MISC1-7: DRAM/link error thresholds and their APIC LVT offset (this CPU's APIC)"),
    ROW(0xc0002000, 0xc00020ff, MSR_ON_SVM, H, H, MSR_CHECK_MC_STATUS, 0,
        "SMCA MCA_CTL/STATUS/ADDR/MISC/CONFIG/DESTAT of banks 0-15: STATUS and DESTAT only cleared"),

    /* ---- AMD, c001_0000-c001_1fff ---- */
    ROW(0xc0010000, 0xc0010007, MSR_ON_SVM, P, P, MSR_CHECK_NONE, 0, "PerfEvtSel0-3, PerfCtr0-3"),
    ROW(0xc0010010, 0xc0010010, MSR_ON_BOTH, H, H, MSR_CHECK_UNCHANGED, 0,
        "SYSCFG: MTRR fixed-range DRAM routing, TOM2 enable, SME: could route the block to MMIO"),
    ROW(0xc0010015, 0xc0010015, MSR_ON_BOTH, H, H, MSR_CHECK_AMD_HWCR, 0,
        "HWCR: SMM lock, MCi_STATUS write enable: only FFDIS (Linux on K8), CpbDis and IRPERF_EN change"),
    ROW(0xc0010016, 0xc0010019, MSR_ON_BOTH, H, H, MSR_CHECK_UNCHANGED, 0,
        "IORRBase/Mask0-1: send memory ranges to MMIO"),
    ROW(0xc001001a, 0xc001001a, MSR_ON_BOTH, H, H, MSR_CHECK_UNCHANGED, 0,
        "TOP_MEM: the DRAM/MMIO boundary below 4 GiB"),
    ROW(0xc001001d, 0xc001001d, MSR_ON_BOTH, H, H, MSR_CHECK_UNCHANGED, 0,
        "TOM2: the DRAM/MMIO boundary above 4 GiB"),
    ROW(0xc001001f, 0xc001001f, MSR_ON_BOTH, H, H, MSR_CHECK_UNCHANGED, 0,
        "NB_CFG: EnableCf8ExtCfg changes how config cycles reach devices"),
    ROW(0xc0010058, 0xc0010058, MSR_ON_BOTH, H, H, MSR_CHECK_UNCHANGED, 0,
        "MMIO_CFG_BASE: moving ECAM away from the pages the core traps"),
    ROW(0xc0010061, 0xc0010063, MSR_ON_SVM, P, H, MSR_CHECK_NONE, 0,
        "P-state current limit, control, status: cpufreq"),
    ROW(0xc0010064, 0xc001006b, MSR_ON_SVM, P, D, MSR_CHECK_NONE, 0,
        "P-state definitions: voltages and frequencies, read only here"),
    ROW(0xc0010111, 0xc0010113, MSR_ON_BOTH, H, H, MSR_CHECK_UNCHANGED, 0,
        "SMM_BASE, SMM_ADDR/MASK (TSEG): the firmware's SMRAM"),
    ROW(0xc0010114, 0xc0010114, MSR_ON_SVM, E, E, MSR_CHECK_NONE, MSR_EMUL_VM_CR,
        "VM_CR: reads SVM disabled and locked; writes ignored (APM 15.30.1)"),
    ROW(0xc0010116, 0xc0010116, MSR_ON_BOTH, D, D, MSR_CHECK_NONE, 0, "SMM_CTL: enters/leaves SMM"),
    ROW(0xc0010117, 0xc0010117, MSR_ON_SVM, E, E, MSR_CHECK_NONE, MSR_EMUL_VM_HSAVE_PA,
        "VM_HSAVE_PA: the core's host-save area; reads 0, writes #GP (APM 15.30.4)"),
    ROW(0xc0010140, 0xc0010141, MSR_ON_SVM, P, D, MSR_CHECK_NONE, 0, "OSVW_ID_Length, OSVW_Status: errata"),
    ROW(0xc0010200, 0xc001020b, MSR_ON_SVM, P, P, MSR_CHECK_NONE, 0, "PerfEvtSel/PerfCtr 0-5 (core)"),
    ROW(0xc0011020, 0xc0011021, MSR_ON_SVM, P, H, MSR_CHECK_NONE, 0,
        "LS_CFG, IC_CFG: SSBD and errata chicken bits Linux sets"),
    ROW(0xc0011022, 0xc0011022, MSR_ON_SVM, P, H, MSR_CHECK_NONE, 0, "DC_CFG: errata chicken bits"),
    ROW(0xc0011029, 0xc0011029, MSR_ON_SVM, P, H, MSR_CHECK_NONE, 0,
        "DE_CFG: LFENCE serializing (Linux sets it at boot)"),
    ROW(0xc001102a, 0xc001102a, MSR_ON_SVM, P, H, MSR_CHECK_NONE, 0, "BU_CFG2: errata chicken bits"),
    ROW(0xc00110e3, 0xc00110e3, MSR_ON_SVM, P, H, MSR_CHECK_NONE, 0,
        "Zen 2 SPECTRAL_CHICKEN: the Retbleed mitigation bit Linux sets"),
};
const unsigned msr_rule_count = sizeof(msr_rules) / sizeof(msr_rules[0]);

const struct msr_rule msr_rule_default = {
    0, 0xffffffffu, MSR_ON_BOTH, MSR_HW, MSR_DENY, MSR_CHECK_NONE, 0,
    "not in the allow-list: reads the hardware value (or #GP), writes #GP",
};

const struct msr_rule *msr_rule_find(uint32_t msr, unsigned on)
{
    for (unsigned i = 0; i < msr_rule_count; i++)
        if ((msr_rules[i].on & on) && msr >= msr_rules[i].first && msr <= msr_rules[i].last)
            return &msr_rules[i];
    return &msr_rule_default;
}

bool msr_exits(uint32_t msr, bool write, unsigned on)
{
    const struct msr_rule *r = msr_rule_find(msr, on);
    return (write ? r->write : r->read) != MSR_PASS;
}

void msr_bitmap_fill_vmx(uint8_t *bitmap)
{
    /* Everything exits, then the rows that pass clear their bits. */
    for (unsigned i = 0; i < MSR_BITMAP_BYTES; i++)
        bitmap[i] = 0xff;
    static const uint32_t bases[2] = { 0x00000000u, 0xc0000000u };
    for (unsigned i = 0; i < msr_rule_count; i++) {
        const struct msr_rule *r = &msr_rules[i];
        if (!(r->on & MSR_ON_VMX))
            continue;
        for (unsigned half = 0; half < 2; half++)
            for (uint64_t m = r->first; m <= r->last; m++) {
                if (m - bases[half] >= 0x2000u)
                    continue;
                unsigned n = (unsigned)(m - bases[half]), off = half * 1024u + n / 8;
                uint8_t bit = (uint8_t)(1u << (n % 8));
                if (r->read == MSR_PASS)
                    bitmap[off] &= (uint8_t)~bit;
                if (r->write == MSR_PASS)
                    bitmap[2048 + off] &= (uint8_t)~bit;
            }
    }
}

/* ---- write checks ---- */

static uint64_t phys_mask(unsigned phys_bits)
{
    return phys_bits >= 64 ? ~0ull : (1ull << phys_bits) - 1;
}

enum msr_verdict msr_apic_base_check(uint64_t hw, uint64_t value, unsigned phys_bits)
{
    uint64_t valid = APIC_BASE_BSP | APIC_BASE_EXTD | APIC_BASE_EN | (phys_mask(phys_bits) & ~0xfffull);
    if (value & ~valid)
        return MSR_WRITE_GP; /* reserved bits */
    bool en = value & APIC_BASE_EN, extd = value & APIC_BASE_EXTD;
    if (extd && !en)
        return MSR_WRITE_GP; /* invalid state */
    if ((hw & APIC_BASE_EXTD) && en && !extd)
        return MSR_WRITE_GP; /* x2APIC -> xAPIC is illegal */
    if (value == hw)
        return MSR_WRITE_OK;
    /* What changes may only be EXTD 0 -> 1 with the APIC enabled. */
    if ((value ^ hw) == APIC_BASE_EXTD && extd && en)
        return MSR_WRITE_OK;
    return MSR_WRITE_REFUSE; /* base moved, APIC disabled, BSP flag changed */
}

/* UC, WC, WT, WP, WB (SDM Vol. 3A Table 11-8); 2, 3 and 7 and up are reserved. */
static bool mtrr_type_ok(uint64_t type)
{
    return type == 0 || type == 1 || type == 4 || type == 5 || type == 6;
}

bool msr_mtrr_check(uint32_t msr, uint64_t value, unsigned vcnt, unsigned phys_bits)
{
    uint64_t phys = phys_mask(phys_bits) & ~0xfffull;
    if (msr == 0x2ff) /* DEF_TYPE: type, FE bit 10, E bit 11 */
        return !(value & ~0xcffull) && mtrr_type_ok(value & 0xff);
    if (msr >= 0x200 && msr < 0x300 && msr < 0x200 + 2 * vcnt) {
        if ((msr - 0x200) & 1) /* PHYSMASKn: mask, V (bit 11) */
            return !(value & ~(phys | 0x800ull));
        return !(value & ~(phys | 0xffull)) && mtrr_type_ok(value & 0xff); /* PHYSBASEn */
    }
    if (msr == 0x250 || msr == 0x258 || msr == 0x259 || (msr >= 0x268 && msr <= 0x26f)) {
        for (unsigned i = 0; i < 8; i++) /* fixed ranges: 8 types */
            if (!mtrr_type_ok((value >> (8 * i)) & 0xff))
                return false;
        return true;
    }
    return false; /* a variable pair beyond VCNT, or no MTRR */
}

bool msr_pat_valid(uint64_t value)
{
    for (unsigned i = 0; i < 8; i++) {
        uint64_t t = (value >> (8 * i)) & 0xff;
        if (t == 2 || t == 3 || t > 7)
            return false;
    }
    return true;
}

#define MISC_ENABLE_XD_DISABLE (1ull << 34)
#define HWCR_FFDIS      (1ull << 6)  /* TLB flush filter disable: Linux sets it on K8 */
#define HWCR_CPB_DIS    (1ull << 25)
#define HWCR_IRPERF_EN  (1ull << 30)

bool apic_lvt_ok(uint32_t value)
{
    return x86_delivery_mode_allowed(X86_SRC_LVT, X86_DELIVERY_MODE(value));
}

enum msr_verdict msr_write_check(const struct msr_rule *r, uint32_t msr, uint64_t hw, uint64_t value,
                                 const struct msr_env *env)
{
    switch ((enum msr_check)r->check) {
    case MSR_CHECK_NONE:
        return MSR_WRITE_OK;
    case MSR_CHECK_UNCHANGED:
        return value == hw ? MSR_WRITE_OK : MSR_WRITE_REFUSE;
    case MSR_CHECK_APIC_BASE:
        return msr_apic_base_check(hw, value, env->phys_bits);
    case MSR_CHECK_MTRR:
        return msr_mtrr_check(msr, value, env->mtrr_vcnt, env->phys_bits) ? MSR_WRITE_OK : MSR_WRITE_GP;
    case MSR_CHECK_MC_STATUS:
        /* MCi_STATUS is bank register 1 of 4 (SDM Vol. 3B 15.3.2.2); on
         * AMD's scalable MCA register 1 (STATUS) and 8 (DESTAT) of 16
         * (APM Vol. 2 9.3.2.4): only zero, which clears the bank; another
         * value is an injected error. */
        if (msr >= 0x400 && msr <= 0x47f && (msr & 3) == 1 && value != 0)
            return MSR_WRITE_REFUSE;
        if (msr >= 0xc0002000u && msr <= 0xc0003fffu && ((msr & 0xf) == 1 || (msr & 0xf) == 8) && value != 0)
            return MSR_WRITE_REFUSE;
        return MSR_WRITE_OK;
    case MSR_CHECK_MISC_ENABLE:
        if ((value & MISC_ENABLE_XD_DISABLE) && !(hw & MISC_ENABLE_XD_DISABLE))
            return MSR_WRITE_REFUSE;
        return MSR_WRITE_OK;
    case MSR_CHECK_AMD_HWCR:
        if ((value ^ hw) & ~(HWCR_FFDIS | HWCR_CPB_DIS | HWCR_IRPERF_EN))
            return MSR_WRITE_REFUSE;
        return MSR_WRITE_OK;
    case MSR_CHECK_LVT:
        return apic_lvt_ok((uint32_t)value) ? MSR_WRITE_OK : MSR_WRITE_DROP;
    case MSR_CHECK_XSS:
        /* SDM Vol. 1 13.3: XRSTORS/XSAVES act on XCR0 | IA32_XSS, so an
         * XSS bit the guest is not shown is refused here, once. */
        return value & ~env->xss_allowed ? MSR_WRITE_REFUSE : MSR_WRITE_OK;
    }
    return MSR_WRITE_REFUSE;
}
