/* The VMCB: AMD APM Vol. 2, Appendix B (Table B-1 control area, Table B-2
 * state-save area), intercept bits from 15.8-15.15, exit codes from
 * Appendix C. One 4 KiB page per guest; the offsets are checked below. */
#ifndef MINIHV_HV_SVM_VMCB_H
#define MINIHV_HV_SVM_VMCB_H

#include <stddef.h>
#include <stdint.h>

/* Intercept vector 3 (control offset 0x00c), APM Table B-1. */
#define SVM_INTERCEPT_INTR      (1u << 0)
#define SVM_INTERCEPT_NMI       (1u << 1)
#define SVM_INTERCEPT_SMI       (1u << 2)
#define SVM_INTERCEPT_INIT      (1u << 3)
#define SVM_INTERCEPT_VINTR     (1u << 4)
#define SVM_INTERCEPT_CPUID     (1u << 18)
#define SVM_INTERCEPT_IRET      (1u << 20)
#define SVM_INTERCEPT_INVD      (1u << 22)
#define SVM_INTERCEPT_HLT       (1u << 24)
#define SVM_INTERCEPT_INVLPGA   (1u << 26)
#define SVM_INTERCEPT_IOIO_PROT (1u << 27)
#define SVM_INTERCEPT_MSR_PROT  (1u << 28)
#define SVM_INTERCEPT_SHUTDOWN  (1u << 31)
/* Intercept vector 4 (control offset 0x010). VMRUN must be intercepted or
 * VMRUN fails its consistency checks (15.5.1). */
#define SVM_INTERCEPT_VMRUN   (1u << 0)
#define SVM_INTERCEPT_VMMCALL (1u << 1)
#define SVM_INTERCEPT_VMLOAD  (1u << 2)
#define SVM_INTERCEPT_VMSAVE  (1u << 3)
#define SVM_INTERCEPT_STGI    (1u << 4)
#define SVM_INTERCEPT_CLGI    (1u << 5)
#define SVM_INTERCEPT_SKINIT  (1u << 6)
#define SVM_INTERCEPT_XSETBV  (1u << 13)

/* TLB_CONTROL (15.16.2, Table 15-9). */
#define SVM_TLB_FLUSH_NONE 0
#define SVM_TLB_FLUSH_ALL  1

/* EVENTINJ and EXITINTINFO (15.20, 15.7.2): vector 7:0, type 10:8,
 * error code valid 11, valid 31, error code 63:32. */
#define SVM_EVENT_VALID      (1u << 31)
#define SVM_EVENT_ERR_VALID  (1u << 11)
#define SVM_EVENT_TYPE_INTR  (0u << 8)
#define SVM_EVENT_TYPE_NMI   (2u << 8)
#define SVM_EVENT_TYPE_EXCEPTION (3u << 8)
#define SVM_EVENT_TYPE_SOFT_INT  (4u << 8)

/* Virtual NMI bits of V_INTR control (offset 0x060, 15.21.10): a
 * pending virtual NMI, the guest's NMI blocking, and the enable. */
#define SVM_V_IRQ         (1ull << 8)  /* 15.21.4: a virtual interrupt is pending */
#define SVM_V_IGN_TPR     (1ull << 20) /* ... taken whatever V_TPR says */
#define SVM_V_NMI_PENDING (1ull << 11)
#define SVM_V_NMI_MASK    (1ull << 12)
#define SVM_V_NMI_ENABLE  (1ull << 26)

/* Exit codes (Appendix C, Table C-1). */
#define SVM_EXIT_EXCP_BASE  0x40 /* + vector */
#define SVM_EXIT_EXCP_DB    0x41
#define SVM_EXIT_EXCP_UD    0x46
#define SVM_EXIT_INTR       0x60
#define SVM_EXIT_NMI        0x61
#define SVM_EXIT_SMI        0x62
#define SVM_EXIT_INIT       0x63
#define SVM_EXIT_VINTR      0x64
#define SVM_EXIT_CPUID      0x72
#define SVM_EXIT_IRET       0x74
#define SVM_EXIT_INVD       0x76
#define SVM_EXIT_HLT        0x78
#define SVM_EXIT_INVLPGA    0x7a
#define SVM_EXIT_IOIO       0x7b
#define SVM_EXIT_MSR        0x7c /* EXITINFO1: 0 RDMSR, 1 WRMSR */
#define SVM_EXIT_SHUTDOWN   0x7f
#define SVM_EXIT_VMRUN      0x80
#define SVM_EXIT_VMMCALL    0x81
#define SVM_EXIT_VMLOAD     0x82
#define SVM_EXIT_VMSAVE     0x83
#define SVM_EXIT_STGI       0x84
#define SVM_EXIT_CLGI       0x85
#define SVM_EXIT_SKINIT     0x86
#define SVM_EXIT_XSETBV     0x8d
#define SVM_EXIT_NPF        0x400 /* EXITINFO1: #PF-style error code, EXITINFO2: GPA */
#define SVM_EXIT_INVALID    ((uint64_t)-1) /* VMRUN consistency check failed (15.5.1) */

/* IOIO intercept EXITINFO1 (15.10.2, Figure 15-2): TYPE bit 0 (1 = IN),
 * STR bit 2, REP bit 3, SZ8/SZ16/SZ32 bits 4-6, port in bits 31:16.
 * EXITINFO2 is the RIP of the next instruction, with or without NRIPS. */
#define SVM_IOIO_IN       (1u << 0)
#define SVM_IOIO_STR      (1u << 2)
#define SVM_IOIO_REP      (1u << 3)
#define SVM_IOIO_SZ8      (1u << 4)
#define SVM_IOIO_SZ16     (1u << 5)
#define SVM_IOIO_SZ32     (1u << 6)
#define SVM_IOIO_PORT(i)  ((uint16_t)((i) >> 16))

/* NPF error code in EXITINFO1 (15.25.6): P, RW, US, RSV, ID (fetch);
 * bit 32 the final guest-physical access, bit 33 a guest page-table walk. */
#define SVM_NPF_PRESENT (1ull << 0)
#define SVM_NPF_WRITE   (1ull << 1)
#define SVM_NPF_FETCH   (1ull << 4)
#define SVM_NPF_IN_WALK (1ull << 33)

/* A segment in the state-save area (Table B-2): the attribute field packs
 * descriptor bits 47:40 (type, S, DPL, P) into 7:0 and 55:52 (AVL, L,
 * D/B, G) into 11:8. */
struct vmcb_seg {
    uint16_t selector;
    uint16_t attrib;
    uint32_t limit;
    uint64_t base;
};
#define VMCB_ATTR_L  (1u << 9)
#define VMCB_ATTR_DB (1u << 10)

struct vmcb_control {
    uint32_t intercept_cr;        /* 0x000: reads 15:0, writes 31:16 */
    uint32_t intercept_dr;        /* 0x004 */
    uint32_t intercept_exceptions;/* 0x008: bit n = vector n */
    uint32_t intercept_misc1;     /* 0x00c: vector 3 */
    uint32_t intercept_misc2;     /* 0x010: vector 4 */
    uint32_t intercept_misc3;     /* 0x014: vector 5 (INVLPGB, ...) */
    uint8_t reserved_018[0x03c - 0x018];
    uint16_t pause_filter_threshold; /* 0x03c */
    uint16_t pause_filter_count;  /* 0x03e */
    uint64_t iopm_base_pa;        /* 0x040: 12 KiB I/O permission map (15.10.1) */
    uint64_t msrpm_base_pa;       /* 0x048: 8 KiB MSR permission map (15.11) */
    uint64_t tsc_offset;          /* 0x050 */
    uint32_t asid;                /* 0x058: guest ASID, never 0 (15.16) */
    uint8_t tlb_control;          /* 0x05c: Table 15-9 */
    uint8_t reserved_05d[3];
    uint64_t int_control;         /* 0x060: V_TPR, V_IRQ, V_INTR_MASKING (bit 24) ... (15.21) */
    uint64_t int_state;           /* 0x068: bit 0 interrupt shadow, bit 1 guest interrupt mask */
    uint64_t exit_code;           /* 0x070 */
    uint64_t exit_info1;          /* 0x078 */
    uint64_t exit_info2;          /* 0x080 */
    uint64_t exit_int_info;       /* 0x088: an event whose delivery the exit interrupted (15.7.2) */
    uint64_t np_control;          /* 0x090: bit 0 NP_ENABLE (15.25.3) */
    uint64_t avic_apic_bar;       /* 0x098 */
    uint64_t ghcb_pa;             /* 0x0a0 */
    uint64_t event_inj;           /* 0x0a8: injected at the next VMRUN (15.20) */
    uint64_t n_cr3;               /* 0x0b0: nested page table root (15.25.3) */
    uint64_t virt_ext;            /* 0x0b8: LBR virtualization, virtual VMSAVE/VMLOAD */
    uint32_t clean_bits;          /* 0x0c0: 0 = reload everything (15.15.3) */
    uint32_t reserved_0c4;
    uint64_t next_rip;            /* 0x0c8: with NRIPS (CPUID 0x8000000a EDX[3]), 15.7.1 */
    uint8_t insn_bytes_fetched;   /* 0x0d0: decode assists (15.33) */
    uint8_t insn_bytes[15];       /* 0x0d1 */
    uint8_t reserved_0e0[0x400 - 0x0e0];
};

struct vmcb_save {
    struct vmcb_seg es, cs, ss, ds, fs, gs; /* 0x400.. */
    struct vmcb_seg gdtr, ldtr, idtr, tr;   /* 0x460.. (GDTR/IDTR: limit and base only) */
    uint8_t reserved_4a0[0x4cb - 0x4a0];
    uint8_t cpl;                  /* 0x4cb: VMRUN takes the CPL from here (15.5.1) */
    uint32_t reserved_4cc;
    uint64_t efer;                /* 0x4d0: SVME must be set (15.5.1) */
    uint8_t reserved_4d8[0x548 - 0x4d8];
    uint64_t cr4;                 /* 0x548 */
    uint64_t cr3;                 /* 0x550 */
    uint64_t cr0;                 /* 0x558 */
    uint64_t dr7;                 /* 0x560 */
    uint64_t dr6;                 /* 0x568 */
    uint64_t rflags;              /* 0x570 */
    uint64_t rip;                 /* 0x578 */
    uint8_t reserved_580[0x5d8 - 0x580];
    uint64_t rsp;                 /* 0x5d8 */
    uint64_t s_cet, ssp, isst_addr; /* 0x5e0 */
    uint64_t rax;                 /* 0x5f8 */
    /* 0x600-0x63f: loaded only by VMLOAD, stored only by VMSAVE (15.5.2). */
    uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t cr2;                 /* 0x640 */
    uint8_t reserved_648[0x668 - 0x648];
    uint64_t g_pat;               /* 0x668: the guest's PAT under nested paging (15.25.8) */
    uint64_t dbgctl;              /* 0x670 */
    uint64_t br_from, br_to, last_excp_from, last_excp_to; /* 0x678 */
};

struct vmcb {
    struct vmcb_control control;
    struct vmcb_save save;
    uint8_t reserved[4096 - 0x400 - sizeof(struct vmcb_save)];
};

_Static_assert(offsetof(struct vmcb_control, pause_filter_threshold) == 0x03c, "VMCB layout");
_Static_assert(offsetof(struct vmcb_control, asid) == 0x058, "VMCB layout");
_Static_assert(offsetof(struct vmcb_control, exit_code) == 0x070, "VMCB layout");
_Static_assert(offsetof(struct vmcb_control, event_inj) == 0x0a8, "VMCB layout");
_Static_assert(offsetof(struct vmcb_control, n_cr3) == 0x0b0, "VMCB layout");
_Static_assert(offsetof(struct vmcb_control, next_rip) == 0x0c8, "VMCB layout");
_Static_assert(sizeof(struct vmcb_control) == 0x400, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.tr) == 0x490, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.cpl) == 0x4cb, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.efer) == 0x4d0, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.cr4) == 0x548, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.rip) == 0x578, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.rsp) == 0x5d8, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.rax) == 0x5f8, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.sysenter_eip) == 0x638, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.cr2) == 0x640, "VMCB layout");
_Static_assert(offsetof(struct vmcb, save.g_pat) == 0x668, "VMCB layout");
_Static_assert(sizeof(struct vmcb) == 4096, "VMCB layout");

#endif
