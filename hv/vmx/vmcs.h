/* VMCS field encodings (SDM Vol. 3C Appendix B), VMX capability MSRs
 * (Appendix A), controls (chapter 25.6-25.8) and exit reasons (Appendix C). */
#ifndef MINIHV_HV_VMX_VMCS_H
#define MINIHV_HV_VMX_VMCS_H

/* ---- 16-bit fields (B.1) ---- */
#define VMCS_VPID                 0x0000
#define VMCS_GUEST_ES_SEL         0x0800 /* ES CS SS DS FS GS LDTR TR: +2 each */
#define VMCS_GUEST_CS_SEL         0x0802
#define VMCS_GUEST_SS_SEL         0x0804
#define VMCS_GUEST_DS_SEL         0x0806
#define VMCS_GUEST_FS_SEL         0x0808
#define VMCS_GUEST_GS_SEL         0x080a
#define VMCS_GUEST_LDTR_SEL       0x080c
#define VMCS_GUEST_TR_SEL         0x080e
#define VMCS_HOST_ES_SEL          0x0c00
#define VMCS_HOST_CS_SEL          0x0c02
#define VMCS_HOST_SS_SEL          0x0c04
#define VMCS_HOST_DS_SEL          0x0c06
#define VMCS_HOST_FS_SEL          0x0c08
#define VMCS_HOST_GS_SEL          0x0c0a
#define VMCS_HOST_TR_SEL          0x0c0c

/* ---- 64-bit fields (B.2) ---- */
#define VMCS_IO_BITMAP_A          0x2000 /* ports 0000-7fff (25.6.4) */
#define VMCS_IO_BITMAP_B          0x2002 /* ports 8000-ffff */
#define VMCS_MSR_BITMAP           0x2004
#define VMCS_EPT_POINTER          0x201a
#define VMCS_GUEST_PHYS_ADDR      0x2400
#define VMCS_LINK_POINTER         0x2800
#define VMCS_GUEST_DEBUGCTL       0x2802
#define VMCS_GUEST_PAT            0x2804
#define VMCS_GUEST_EFER           0x2806
#define VMCS_GUEST_PDPTE0         0x280a /* PDPTE1..3: +2 each */
#define VMCS_HOST_PAT             0x2c00
#define VMCS_HOST_EFER            0x2c02

/* ---- 32-bit fields (B.3) ---- */
#define VMCS_PIN_CONTROLS         0x4000
#define VMCS_PROC_CONTROLS        0x4002
#define VMCS_EXCEPTION_BITMAP     0x4004
#define VMCS_CR3_TARGET_COUNT     0x400a
#define VMCS_EXIT_CONTROLS        0x400c
#define VMCS_EXIT_MSR_STORE_COUNT 0x400e
#define VMCS_EXIT_MSR_LOAD_COUNT  0x4010
#define VMCS_ENTRY_CONTROLS       0x4012
#define VMCS_ENTRY_MSR_LOAD_COUNT 0x4014
#define VMCS_ENTRY_INTR_INFO      0x4016
#define VMCS_ENTRY_EXCEPTION_ERR  0x4018
#define VMCS_ENTRY_INSN_LEN       0x401a
#define VMCS_PROC2_CONTROLS       0x401e
#define VMCS_INSN_ERROR           0x4400
#define VMCS_EXIT_REASON          0x4402
#define VMCS_EXIT_INTR_INFO       0x4404
#define VMCS_EXIT_INTR_ERR        0x4406
#define VMCS_IDT_VECTORING_INFO   0x4408
#define VMCS_IDT_VECTORING_ERR    0x440a
#define VMCS_EXIT_INSN_LEN        0x440c
#define VMCS_EXIT_INSN_INFO       0x440e
#define VMCS_GUEST_ES_LIMIT       0x4800 /* ES..TR limits: +2 each */
#define VMCS_GUEST_GDTR_LIMIT     0x4810
#define VMCS_GUEST_IDTR_LIMIT     0x4812
#define VMCS_GUEST_ES_AR          0x4814 /* ES..TR access rights: +2 each */
#define VMCS_GUEST_CS_AR          0x4816
#define VMCS_GUEST_SS_AR          0x4818
#define VMCS_GUEST_INTERRUPTIBILITY 0x4824
#define VMCS_GUEST_ACTIVITY       0x4826
#define VMCS_GUEST_SYSENTER_CS    0x482a
#define VMCS_HOST_SYSENTER_CS     0x4c00

/* ---- natural-width fields (B.4) ---- */
#define VMCS_CR0_MASK             0x6000
#define VMCS_CR4_MASK             0x6002
#define VMCS_CR0_SHADOW           0x6004
#define VMCS_CR4_SHADOW           0x6006
#define VMCS_EXIT_QUALIFICATION   0x6400
#define VMCS_GUEST_LINEAR_ADDR    0x640a
#define VMCS_GUEST_CR0            0x6800
#define VMCS_GUEST_CR3            0x6802
#define VMCS_GUEST_CR4            0x6804
#define VMCS_GUEST_ES_BASE        0x6806 /* ES..TR bases: +2 each */
#define VMCS_GUEST_CS_BASE        0x6808
#define VMCS_GUEST_GDTR_BASE      0x6816
#define VMCS_GUEST_IDTR_BASE      0x6818
#define VMCS_GUEST_DR7            0x681a
#define VMCS_GUEST_RSP            0x681c
#define VMCS_GUEST_RIP            0x681e
#define VMCS_GUEST_RFLAGS         0x6820
#define VMCS_GUEST_PENDING_DBG    0x6822
#define VMCS_GUEST_SYSENTER_ESP   0x6824
#define VMCS_GUEST_SYSENTER_EIP   0x6826
#define VMCS_HOST_CR0             0x6c00
#define VMCS_HOST_CR3             0x6c02
#define VMCS_HOST_CR4             0x6c04
#define VMCS_HOST_FS_BASE         0x6c06
#define VMCS_HOST_GS_BASE         0x6c08
#define VMCS_HOST_TR_BASE         0x6c0a
#define VMCS_HOST_GDTR_BASE       0x6c0c
#define VMCS_HOST_IDTR_BASE       0x6c0e
#define VMCS_HOST_SYSENTER_ESP    0x6c10
#define VMCS_HOST_SYSENTER_EIP    0x6c12
#define VMCS_HOST_RSP             0x6c14
#define VMCS_HOST_RIP             0x6c16

/* Segment n (0 ES .. 7 TR, the order of the fields above). */
#define VMCS_GUEST_SEL(n)   (VMCS_GUEST_ES_SEL + 2 * (n))
#define VMCS_GUEST_LIMIT(n) (VMCS_GUEST_ES_LIMIT + 2 * (n))
#define VMCS_GUEST_AR(n)    (VMCS_GUEST_ES_AR + 2 * (n))
#define VMCS_GUEST_BASE(n)  (VMCS_GUEST_ES_BASE + 2 * (n))
enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR, SEG_COUNT };

/* Access rights format (24.4.1, Table 24-2): descriptor bits 47:40 in 7:0,
 * 55:52 in 15:12, bit 16 "unusable". */
#define VMX_AR_UNUSABLE (1u << 16)
#define VMX_AR_L        (1u << 13)
#define VMX_AR_DB       (1u << 14)

/* ---- capability MSRs (Appendix A) ---- */
#define MSR_VMX_BASIC           0x480
#define MSR_VMX_PINBASED        0x481
#define MSR_VMX_PROCBASED       0x482
#define MSR_VMX_EXIT            0x483
#define MSR_VMX_ENTRY           0x484
#define MSR_VMX_MISC            0x485
#define MSR_VMX_CR0_FIXED0      0x486
#define MSR_VMX_CR0_FIXED1      0x487
#define MSR_VMX_CR4_FIXED0      0x488
#define MSR_VMX_CR4_FIXED1      0x489
#define MSR_VMX_PROCBASED2      0x48b
#define MSR_VMX_EPT_VPID_CAP    0x48c
#define MSR_VMX_TRUE_PINBASED   0x48d
#define MSR_VMX_TRUE_PROCBASED  0x48e
#define MSR_VMX_TRUE_EXIT       0x48f
#define MSR_VMX_TRUE_ENTRY      0x490
#define MSR_VMX_FIRST           0x480
#define MSR_VMX_LAST            0x491 /* VMFUNC */
#define VMX_BASIC_TRUE_CTLS     (1ull << 55) /* A.1 */
#define VMX_MISC_WAIT_FOR_SIPI  (1ull << 8)  /* A.6 */

#define FEATURE_CONTROL_LOCK          (1ull << 0)
#define FEATURE_CONTROL_VMXON_IN_SMX  (1ull << 1)
#define FEATURE_CONTROL_VMXON_OUTSIDE (1ull << 2)

/* EPT/VPID capabilities (A.10). */
#define EPT_CAP_WB      (1ull << 14)
#define EPT_CAP_1G      (1ull << 17)
#define EPT_CAP_INVEPT  (1ull << 20)
#define EPT_CAP_INVEPT_SINGLE (1ull << 25)
#define EPT_CAP_INVEPT_ALL    (1ull << 26)
#define VPID_CAP_INVVPID      (1ull << 32)
#define VPID_CAP_INVVPID_SINGLE (1ull << 41)
#define VPID_CAP_INVVPID_ALL    (1ull << 42)

/* ---- controls ---- */
/* Pin-based (25.6.1, Table 25-5). */
#define PIN_NMI_EXITING         (1u << 3)
#define PIN_VIRTUAL_NMIS        (1u << 5)
/* Primary processor-based (25.6.2, Table 25-6). */
#define PROC_INTERRUPT_WINDOW   (1u << 2)
#define PROC_NMI_WINDOW         (1u << 22)
#define PROC_USE_IO_BITMAPS     (1u << 25)
#define PROC_USE_MSR_BITMAPS    (1u << 28)
#define PROC_ACTIVATE_SECONDARY (1u << 31)
/* Secondary processor-based (Table 25-7). */
#define PROC2_ENABLE_EPT        (1u << 1)
#define PROC2_ENABLE_RDTSCP     (1u << 3)
#define PROC2_ENABLE_VPID       (1u << 5)
#define PROC2_UNRESTRICTED      (1u << 7)
#define PROC2_ENABLE_INVPCID    (1u << 12)
#define PROC2_ENABLE_XSAVES     (1u << 20)
/* VM-exit controls (25.7.1, Table 25-13). */
#define EXIT_SAVE_DEBUG         (1u << 2)
#define EXIT_HOST_64            (1u << 9)
#define EXIT_SAVE_PAT           (1u << 18)
#define EXIT_LOAD_PAT           (1u << 19)
#define EXIT_SAVE_EFER          (1u << 20)
#define EXIT_LOAD_EFER          (1u << 21)
/* VM-entry controls (25.8.1, Table 25-15). */
#define ENTRY_LOAD_DEBUG        (1u << 2)
#define ENTRY_IA32E_GUEST       (1u << 9)
#define ENTRY_LOAD_PAT          (1u << 14)
#define ENTRY_LOAD_EFER         (1u << 15)

/* Interruption information (25.8.3, Table 25-17). */
#define INTR_INFO_VALID         (1u << 31)
#define INTR_INFO_ERR_VALID     (1u << 11)
#define INTR_TYPE_EXT_INT       (0u << 8)
#define INTR_TYPE_NMI           (2u << 8)
#define INTR_TYPE_HW_EXCEPTION  (3u << 8)
#define INTR_TYPE_PRIV_SW_EXC   (5u << 8) /* ICEBP (INT1), Table 24-17 */
#define INTR_TYPE_MASK          (7u << 8)
#define INTR_INFO_NMI_UNBLOCKED (1u << 12) /* exit info: NMI unblocking by IRET (28.2.2) */
#define EPT_QUAL_NMI_UNBLOCKED  (1ull << 12) /* the same in an EPT violation's qualification (28.2.3) */

/* Guest interruptibility (24.4.2, Table 24-3) and activity states. */
#define INTERRUPTIBILITY_STI    (1u << 0)
#define INTERRUPTIBILITY_MOVSS  (1u << 1)
#define INTERRUPTIBILITY_NMI    (1u << 3)
#define ACTIVITY_ACTIVE         0
#define ACTIVITY_HLT            1
#define ACTIVITY_WAIT_FOR_SIPI  3

/* ---- basic exit reasons (Appendix C) ---- */
enum vmx_exit_reason {
    VMX_EXIT_EXCEPTION_NMI = 0,
    VMX_EXIT_EXTERNAL_INTERRUPT = 1,
    VMX_EXIT_TRIPLE_FAULT = 2,
    VMX_EXIT_INIT = 3,
    VMX_EXIT_SIPI = 4,
    VMX_EXIT_IO_SMI = 5,
    VMX_EXIT_OTHER_SMI = 6,
    VMX_EXIT_INTERRUPT_WINDOW = 7,
    VMX_EXIT_NMI_WINDOW = 8,
    VMX_EXIT_TASK_SWITCH = 9,
    VMX_EXIT_CPUID = 10,
    VMX_EXIT_GETSEC = 11,
    VMX_EXIT_HLT = 12,
    VMX_EXIT_INVD = 13,
    VMX_EXIT_INVLPG = 14,
    VMX_EXIT_RDPMC = 15,
    VMX_EXIT_RDTSC = 16,
    VMX_EXIT_RSM = 17,
    VMX_EXIT_VMCALL = 18,
    VMX_EXIT_VMCLEAR = 19,
    VMX_EXIT_VMLAUNCH = 20,
    VMX_EXIT_VMPTRLD = 21,
    VMX_EXIT_VMPTRST = 22,
    VMX_EXIT_VMREAD = 23,
    VMX_EXIT_VMRESUME = 24,
    VMX_EXIT_VMWRITE = 25,
    VMX_EXIT_VMXOFF = 26,
    VMX_EXIT_VMXON = 27,
    VMX_EXIT_CR_ACCESS = 28,
    VMX_EXIT_DR_ACCESS = 29,
    VMX_EXIT_IO = 30,
    VMX_EXIT_RDMSR = 31,
    VMX_EXIT_WRMSR = 32,
    VMX_EXIT_INVALID_GUEST_STATE = 33,
    VMX_EXIT_MSR_LOADING = 34,
    VMX_EXIT_MWAIT = 36,
    VMX_EXIT_MTF = 37,
    VMX_EXIT_MONITOR = 39,
    VMX_EXIT_PAUSE = 40,
    VMX_EXIT_MACHINE_CHECK = 41,
    VMX_EXIT_EPT_VIOLATION = 48,
    VMX_EXIT_EPT_MISCONFIG = 49,
    VMX_EXIT_INVEPT = 50,
    VMX_EXIT_RDTSCP = 51,
    VMX_EXIT_INVVPID = 53,
    VMX_EXIT_WBINVD = 54,
    VMX_EXIT_XSETBV = 55,
    VMX_EXIT_INVPCID = 58,
    VMX_EXIT_VMFUNC = 59,
    VMX_EXIT_ENCLS = 60,
};
#define VMX_EXIT_REASON_ENTRY_FAILURE (1u << 31)
/* I/O instruction exit qualification (28.2.1, Table 28-5): size - 1 in
 * bits 2:0 (0, 1, 3), direction bit 3 (1 = IN), string bit 4, REP bit 5,
 * immediate operand bit 6, port in bits 31:16. */
#define IO_QUAL_SIZE(q)   ((unsigned)((q) & 7) + 1)
#define IO_QUAL_IN        (1u << 3)
#define IO_QUAL_STRING    (1u << 4)
#define IO_QUAL_REP       (1u << 5)
#define IO_QUAL_PORT(q)   ((uint16_t)((q) >> 16))

#endif
