/* Platform discovery through firmware services, for the report and for the
 * core's boot info. */
#ifndef MINIHV_BOOT_PLATFORM_H
#define MINIHV_BOOT_PLATFORM_H

#include <minihv/boot_info.h>
#include "boot/acpi.h"
#include "boot/config.h"
#include "boot/cpu_plan.h"
#include "boot/pci.h"

struct cpu_features {
    char vendor[13];
    bool intel, amd;
    bool vmx, ept, unrestricted, vpid;
    bool svm, npt, nrips;
    uint32_t asids;
    bool page_1g;
    unsigned phys_bits;
};

struct platform {
    struct cpu_features cpu;
    struct cpu_virt_caps bsp_caps;
    unsigned cpu_count;
    struct minihv_cpu_info cpus[MINIHV_MAX_CPUS];
    /* Not empty: the core may take no CPU (boot/cpu_plan.h), this says why. */
    char cpu_refusal[160];
    /* The MADT's I/O APICs (boot/cpu_plan.h), for boot_info; 0: none listed. */
    unsigned ioapic_count;
    uint64_t ioapic_base[MINIHV_MAX_IOAPICS];
    bool have_acpi;
    struct acpi_info acpi;
    bool ecam;
    uint64_t ecam_base;
    unsigned pci_count;
    struct pci_dev_info pci[PCI_MAX_DEVICES];
    int passthrough_index; /* into pci[], -1: none */
    uint64_t phys_top;     /* end of the highest RAM or MMIO range seen */
};

void platform_report_firmware(void);
void platform_report_memory(struct platform *p);
void platform_report_acpi(struct platform *p);
/* The CPU list (MP services, checked against the MADT: cpu_plan) and
 * the BSP's features; a refusal goes to p->cpu_refusal. */
void platform_report_cpus(struct platform *p);
/* Reads, on the calling CPU, what the core needs of it. */
void platform_read_virt_caps(struct cpu_virt_caps *c);
void platform_report_pci(struct platform *p, const struct minihv_config *cfg);

/* A config dword of segment 0: through ECAM when MCFG gave one (any offset
 * below 4096), else CF8/CFC (offsets below 256 only; above: all-ones). */
uint32_t platform_cfg_read32(const struct platform *p, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off);

#endif
