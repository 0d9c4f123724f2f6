/* The special pages: one registry of the guest-physical pages that are not
 * plain identity memory for the guest (issue 14, path 5). Each entry is
 * [base, base + size), page-granular, with its kind (who owns it) and what
 * the guest map holds there. Nothing else may map over an entry: the
 * guest map builder (hv/ept.c) applies it, a passthrough BAR placed over
 * one is refused (hv/passthrough.c), a BAR moving away restores what the
 * registry says rather than identity, and hypercall buffers never touch
 * one (hv/vcpu_policy.c). docs/security.md has the table.
 *
 * Pure C, no hardware: host-tested (tests/unit/test_special_pages.c). The
 * core's one instance is hv_special; entries are added at global init,
 * before any CPU runs the guest, and never removed (readers take no lock). */
#ifndef MINIHV_HV_SPECIAL_PAGES_H
#define MINIHV_HV_SPECIAL_PAGES_H

#include <stdbool.h>
#include <stdint.h>

enum special_kind {
    SPECIAL_CORE_BLOCK,  /* the core's block: image, page tables, heap */
    SPECIAL_LAPIC,       /* the local APIC page (IA32_APIC_BASE): ICR writes exit (hv/ipi.c) */
    SPECIAL_IOAPIC,      /* an I/O APIC's register page */
    SPECIAL_IOMMU_REGS,  /* a VT-d DRHD or AMD-Vi IVHD register set */
    SPECIAL_ECAM_DEVICE, /* the passthrough device's ECAM page: its vfio config */
    SPECIAL_ECAM_BRIDGE, /* an IGD bridge's ECAM page (00:00.0, 00:1f.0), a bridge above the device or
                          * the host bridge with PCIEXBAR: trapped, (guarded) writes dropped */
    SPECIAL_ECAM_IOMMU,  /* the ECAM page of an IOMMU's own PCI function (AMD-Vi) */
    SPECIAL_LOG_RING,    /* the log ring (issue 17, include/minihv/logring.h): the guest reads it, never writes */
    SPECIAL_MSI_WINDOW,  /* 0xFEE00000-0xFEEFFFFF but the local APIC page: interrupt messages, not memory */
    SPECIAL_ECAM_PM,     /* the ECAM page of the function that places the ACPI I/O block (Intel LPC/PMC) */
    SPECIAL_FCH_ACPIMMIO, /* the AMD FCH's AcpiMmio page (0xFED80000): read-only, writes judged (hv/fch_pm.c) */
    SPECIAL_SMM_DEFAULT, /* the default SMRAM the loader took (open SMM, boot_info.h smm_default_phys) */
    SPECIAL_SLEEP_REG,   /* a FADT sleep control register's page in System Memory: read-only, writes judged */
    SPECIAL_MCHBAR_VTD,  /* the MCHBAR page holding GFXVTBAR/VTDBAR (Intel client): read-only, writes judged */
    SPECIAL_HPET,        /* an HPET timer block's page: read-only, writes judged (hv/hpet_hw.c) */
    SPECIAL_KINDS
};

/* What the guest map holds over an entry. */
enum special_map {
    SPECIAL_MAP_NONE,      /* not present: every access exits to its owner */
    SPECIAL_MAP_READ_ONLY, /* identity, read and execute, UC: writes exit */
    SPECIAL_MAP_IDENTITY,  /* identity as built, but nothing may be mapped over it */
    SPECIAL_MAP_READ_ONLY_WB, /* identity, read and execute, WB (RAM the core writes WB: no
                               * alias of another type, SDM Vol. 3A 11.12.4): writes exit */
};

struct special_page {
    uint64_t base, size; /* page-aligned, size > 0 */
    enum special_kind kind;
    enum special_map map;
};

#define SPECIAL_MAX 64
#define SPECIAL_ADDR_LIMIT (1ull << 52) /* MAXPHYADDR at most 52 (SDM 4.1.4) */

struct special_pages {
    unsigned count;
    struct special_page e[SPECIAL_MAX];
};

extern struct special_pages hv_special;

/* Adds [base, base + size), rounded out to whole pages. 0, or -1: size 0,
 * wraps or reaches SPECIAL_ADDR_LIMIT, or the table is full. An entry the
 * same as one already there (kind, range, map) is not added twice. */
int special_add(struct special_pages *r, enum special_kind kind, uint64_t base, uint64_t size,
                enum special_map map);

/* The first entry (in the order added) that overlaps [base, base + size)
 * (a range that wraps counts up to the top of the address space); NULL
 * when none does or size is 0. */
const struct special_page *special_find(const struct special_pages *r, uint64_t base, uint64_t size);

/* Splits the page-aligned range [base, base + size) into runs: plain()
 * for each run no entry touches, special() for each run inside one entry
 * (the first added where entries overlap). Stops at the first non-zero
 * return and returns it. For a BAR window the guest left: plain runs go
 * back to identity, special runs to what the entry says. */
int special_split(const struct special_pages *r, uint64_t base, uint64_t size,
                  int (*plain)(void *opaque, uint64_t base, uint64_t size),
                  int (*special)(void *opaque, const struct special_page *e, uint64_t base, uint64_t size),
                  void *opaque);

/* What device DMA may reach over an entry of a kind, in the IOMMU's one
 * domain (hv/iommu_hw.c). The rule: a page whose CPU writes the core
 * refuses or judges is out of the domain too, or a device's write there
 * lands unjudged (review R s7, findings 1 and 2: DMA to the IOMMU's own
 * GCMD turned translation off). Each kind says which; a new kind that
 * does not fails test_special_pages. */
enum special_dma {
    SPECIAL_DMA_UNDECIDED, /* never in the table */
    SPECIAL_DMA_OUT,       /* unmapped in the DMA domain: a device's access faults */
    SPECIAL_DMA_INTERRUPT, /* 0xFEExxxxx: a DMA write there is an interrupt message, not a
                            * memory write (VT-d 3.x 5.1.1, AMD IOMMU 2.2.5): interrupt
                            * remapping's, not the page tables' (attack msi-dma) */
};
enum special_dma special_kind_dma(enum special_kind kind);

/* "iommu-regs", "lapic", ...: the word for the log and docs/security.md. */
const char *special_kind_name(enum special_kind kind);

/* One line for the boot log: `special pages: core-block 0x...+64 MiB none,
 * lapic 0xfee00000+4 KiB read-only, ...`. Returns the length written
 * (truncated to len - 1, always terminated when len > 0). */
int special_format(const struct special_pages *r, char *buf, unsigned len);

#endif
