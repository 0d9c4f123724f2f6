/* Guest actions the core refuses, counted by kind (issue 14). A refused
 * action is never fatal: the caller refuses it (drops the write, keeps the
 * entry masked, injects what the hardware would: #GP, nothing), then calls
 * hv_refuse(kind, ...) once. The first refusal of each kind is logged with
 * its detail; after that only powers of two from 1024 on get a line (a
 * guest hammering one action cannot flood the serial log). The summary
 * prints `refused: msi-delivery-mode 2, ipi-destination 1` (or `refused:
 * none`). Pure apart from hv_log: host-tested with a stub. */
#ifndef MINIHV_HV_REFUSE_H
#define MINIHV_HV_REFUSE_H

#include <stdint.h>

/* Add a kind at the end of the list before HV_REFUSE_KINDS and its name in
 * hv_refuse_names (refuse.c): the name is the summary's word for it. */
enum hv_refuse_kind {
    HV_REFUSE_APIC_BASE,         /* IA32_APIC_BASE write that moves or disables the APIC */
    HV_REFUSE_MSR,               /* WRMSR/RDMSR outside the allow-list: #GP */
    HV_REFUSE_MSI_ADDRESS,       /* MSI/MSI-X address outside 0xFEEx_xxxx: kept masked */
    HV_REFUSE_MSI_DELIVERY_MODE, /* MSI/MSI-X data with SMI/NMI/INIT/ExtINT/reserved mode */
    HV_REFUSE_IPI_DESTINATION,   /* INIT/SIPI to an APIC ID no vCPU has: dropped */
    HV_REFUSE_IPI_LOGICAL,       /* INIT/SIPI in logical mode that matched no vCPU: dropped */
    HV_REFUSE_IPI_SELF,          /* INIT to the sender itself (or self shorthand): dropped */
    HV_REFUSE_BAR_PLACEMENT,     /* passthrough BAR over a special page (hv/special_pages.h): not mapped */
    HV_REFUSE_IOMMU_REGS,        /* access to an IOMMU register page: all-ones, write dropped */
    HV_REFUSE_UNMAPPED_GPA,      /* access where nothing is mapped: all-ones, write dropped */
    HV_REFUSE_MMIO_FETCH,        /* instruction fetch from a page that is not memory: #UD */
    HV_REFUSE_MMIO_INSN,         /* instruction on a trapped page the decoder cannot emulate: #GP */
    HV_REFUSE_MMIO_BOUNDS,       /* emulated access that crosses its region's page end: refused */
    HV_REFUSE_APIC_ICR_ACCESS,   /* xAPIC ICR write not an aligned dword: dropped */
    HV_REFUSE_X2APIC_ICR,        /* x2APIC ICR write with reserved bits: #GP */
    HV_REFUSE_PHYSICAL_INIT,     /* SVM: a physical INIT reached a virtualized CPU: absorbed */
    HV_REFUSE_INSN_CHANGED,      /* trapped access whose instruction no longer matches the exit: run again */
    HV_REFUSE_STRING_IO,         /* INS/OUTS on an intercepted port: not emulated, #GP */
    HV_REFUSE_EVENT_DELIVERY,    /* event delivery touched a page the guest may not: #GP/#DF/shutdown */
    HV_REFUSE_TASK_SWITCH,       /* VMX: a task switch (not emulated): #GP(selector)/#DF/shutdown */
    HV_REFUSE_APIC_ACCESS,       /* xAPIC page write not an aligned dword: dropped */
    HV_REFUSE_INSN_LENGTH,       /* no usable length or next RIP for the intercepted instruction: run again or #GP */
    HV_REFUSE_SLEEP_STATE,       /* SLP_EN with an SLP_TYP other than the DSDT's _S5 (a sleep keeping RAM): dropped */
    HV_REFUSE_IPI_NOT_ENTERED,   /* INIT/SIPI, after the AP launch, to a CPU that never entered the core: dropped */
    HV_REFUSE_LOG_WRITE,         /* write to the log ring (read-only to the guest), or a loader-log hypercall after the loader: dropped */
    HV_REFUSE_CORE_UART,         /* data written to the core's own UART (serial =): dropped */
    HV_REFUSE_IOAPIC_DELIVERY,   /* I/O APIC redirection entry with INIT/SMI/reserved delivery mode: dropped */
    HV_REFUSE_IOAPIC_ACCESS,     /* I/O APIC page write outside IOREGSEL/IOWIN/EOI or not a dword: dropped */
    HV_REFUSE_A20,               /* a port write that would turn the A20 gate off: written with A20 on, or dropped */
    HV_REFUSE_LVT_DELIVERY,      /* local APIC LVT write with SMI/INIT/reserved delivery mode: dropped */
    HV_REFUSE_MTRR,              /* MTRR write that would make the core's memory WC, WT or WP: #GP */
    HV_REFUSE_ICR_DELIVERY,      /* interrupt command with SMI or a reserved delivery mode: dropped */
    HV_REFUSE_MSI_WINDOW,        /* CPU access to 0xFEEx_xxxx outside the local APIC page: all-ones, dropped */
    HV_REFUSE_CONFIG_GUARD,      /* config write that moves the device's config path (PCIEXBAR, bridges above): dropped */
    HV_REFUSE_PM_RELOCATE,       /* config write that moves or disables the ACPI I/O block (Intel PMBASE/ACPI_CNTL): dropped */
    HV_REFUSE_FCH_PM,            /* AMD FCH PM data write (0xcd6/0xcd7) at a register that places the ACPI I/O block: dropped */
    HV_REFUSE_HPET_FSB,          /* HPET FSB route outside 0xFEExxxxx, bad delivery mode, or FSB on over one: dropped */
    HV_REFUSE_FW_CFG_DMA,        /* QEMU fw_cfg DMA request (0x514/0x518): not started, the descriptor gets the error bit */
    HV_REFUSE_KINDS
};

extern const char *const hv_refuse_names[HV_REFUSE_KINDS];

/* Counts one refusal of `kind`; logs `refused <name>: <detail>` the first
 * time (and at 1024, 2048, ...). `fmt` may be NULL (no detail). */
void hv_refuse(enum hv_refuse_kind kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Counts n refusals found after the fact (a model's own counter moved by
 * n), logging as hv_refuse for the first. */
void hv_refuse_add(enum hv_refuse_kind kind, uint64_t n, const char *what);
uint64_t hv_refuse_count(enum hv_refuse_kind kind);

/* `refused: apic-base 1, msi-delivery-mode 2` in kind order, kinds with a
 * zero count left out; `refused: none`. Returns the length written
 * (truncated to len - 1, always terminated when len > 0). */
int hv_refuse_summary(char *buf, unsigned len);

#endif
