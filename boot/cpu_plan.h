/* Which CPUs the core takes, decided before it takes any (issue 14, path
 * 2): every CPU the firmware runs or lists must end up under the core, or
 * none does and the loader returns to the firmware saying why. Pure: the
 * MADT bytes, the MP services list and each CPU's virtualization
 * capabilities come in as data (boot/platform.c reads them), so the
 * decision is host-tested (tests/unit/test_cpu_plan.c).
 * ACPI 6.5 5.2.12.2 (Local APIC), 5.2.12.12 (x2APIC); PI 1.7 vol. 2 13.4. */
#ifndef MINIHV_BOOT_CPU_PLAN_H
#define MINIHV_BOOT_CPU_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <minihv/boot_info.h>

/* MADT processor entries kept: enough for the largest x2APIC machines; a
 * MADT with more is refused (it lists CPUs the plan could not check). */
#define CPU_PLAN_MAX_MADT 4096

/* Local APIC / x2APIC flags (ACPI 6.5 Table 5.24): online capable is
 * defined from MADT revision 5 (ACPI 6.3) on; reserved before. */
#define MADT_LAPIC_ENABLED        1u
#define MADT_LAPIC_ONLINE_CAPABLE 2u

struct madt_cpus {
    uint8_t revision;
    unsigned count; /* entries enabled or online capable, APIC IDs distinct */
    uint32_t apic_id[CPU_PLAN_MAX_MADT];
    uint8_t flags[CPU_PLAN_MAX_MADT]; /* MADT_LAPIC_* as they count */
    unsigned not_present; /* entries neither: the firmware says no CPU is there */
    /* I/O APIC entries (type 1): each register address, in MADT order. */
    unsigned ioapic_count;
    uint64_t ioapic_base[MINIHV_MAX_IOAPICS];
    /* NULL, or why an I/O APIC cannot be trapped: the loader then takes no
     * CPU (the entries of that I/O APIC would reach the hardware unjudged). */
    const char *ioapic_refusal;
};

/* Parses a whole MADT (header included, `len` bytes, checksum already
 * checked). 0, or -1 with `why` naming the field. An I/O APIC the core
 * could not trap (more than MINIHV_MAX_IOAPICS, or its 0x44 bytes of
 * registers across a page end) sets ioapic_refusal. */
int madt_cpus_parse(const uint8_t *madt, uint32_t len, struct madt_cpus *out, const char **why);

/* One processor as EFI_MP_SERVICES_PROTOCOL.GetProcessorInfo gives it. */
struct mp_cpu {
    uint32_t apic_id;   /* ProcessorId */
    uint32_t status;    /* StatusFlag: bit 0 BSP, bit 1 enabled, bit 2 healthy */
};
#define MP_CPU_BSP     1u
#define MP_CPU_ENABLED 2u

/* What one CPU can do for the core, read on that CPU. */
struct cpu_virt_caps {
    bool intel, amd;
    bool vmx;              /* CPUID.1:ECX[5] */
    bool vmx_locked_off;   /* IA32_FEATURE_CONTROL locked without VMXON outside SMX */
    bool ept_unrestricted; /* secondary controls with EPT and unrestricted guest */
    bool svm;              /* CPUID.80000001h:ECX[2] */
    bool svm_disabled;     /* VM_CR.SVMDIS */
    bool npt;              /* CPUID.8000000Ah:EDX[0] */
};

/* Whether the core can run on a CPU with caps `c` ("" when it can), the
 * backend the core will pick: VMX when usable, else SVM. */
const char *cpu_virt_unusable(const struct cpu_virt_caps *c);

/* The plan from the MP services list (`mp`, `mp_count` entries; `madt`
 * NULL when there is no MADT) for a core that runs at most `limit` CPUs.
 * 0: out[] holds every MP CPU (BSP flagged), *out_count of them. -1: no
 * CPU may be virtualized, `why` says which CPU and why (one line). */
int cpu_plan(const struct madt_cpus *madt, const struct mp_cpu *mp, unsigned mp_count, unsigned limit,
             struct minihv_cpu_info *out, unsigned *out_count, char *why, size_t why_len);

/* An AP's capabilities against the BSP's: 0 when the core can take it the
 * way it takes the BSP, else -1 with `why`. */
int cpu_plan_check_ap(const struct cpu_virt_caps *bsp, const struct cpu_virt_caps *ap, uint32_t apic_id,
                      char *why, size_t why_len);

#endif
