/* AMD-Vi provider (AMD IOMMU spec 48882 rev 3.x): device table entries
 * (2.2.2), I/O page tables (2.2.3) built by paging/paging.c with
 * pt_format_amdvi, the command buffer (2.4: COMPLETION_WAIT,
 * INVALIDATE_DEVTAB_ENTRY, INVALIDATE_IOMMU_PAGES, INVALIDATE_IOMMU_ALL),
 * the event log (2.5: IO_PAGE_FAULT) and the MMIO registers (3.4). No
 * interrupt remapping, no PPR or guest translation (docs/iommu.md). */
#ifndef MINIHV_IOMMU_AMDVI_H
#define MINIHV_IOMMU_AMDVI_H

#include <minihv/iommu.h>
#include "iommu/domain.h"
#include "iommu/ivrs.h"

/* MMIO registers (3.4), byte offsets. */
#define AMDVI_REG_DEVTAB_BASE 0x0000 /* 51:12 base, 8:0 size in 4 KiB pages - 1 */
#define AMDVI_REG_CMD_BASE    0x0008 /* 51:12 base, 59:56 ComLen (log2 entries) */
#define AMDVI_REG_EVENT_BASE  0x0010 /* 51:12 base, 59:56 EventLen */
#define AMDVI_REG_CONTROL     0x0018
#define AMDVI_REG_EFR         0x0030
#define AMDVI_REG_CMD_HEAD    0x2000 /* byte offsets into the ring, 18:4 */
#define AMDVI_REG_CMD_TAIL    0x2008
#define AMDVI_REG_EVENT_HEAD  0x2010
#define AMDVI_REG_EVENT_TAIL  0x2018
#define AMDVI_REG_STATUS      0x2020
#define AMDVI_MMIO_SIZE       0x4000

#define AMDVI_CTRL_IOMMU_EN    (1ull << 0)
#define AMDVI_CTRL_EVENTLOG_EN (1ull << 2)
#define AMDVI_CTRL_COHERENT    (1ull << 10)
#define AMDVI_CTRL_CMDBUF_EN   (1ull << 12)
#define AMDVI_STATUS_EVENT_OVERFLOW (1ull << 0)
#define AMDVI_EFR_IA_SUP       (1ull << 6)  /* INVALIDATE_IOMMU_ALL */

/* Command opcodes (2.4), in bits 63:60 of the first quadword. */
#define AMDVI_CMD_COMPLETION_WAIT   0x1
#define AMDVI_CMD_INV_DEVTAB_ENTRY  0x2
#define AMDVI_CMD_INV_IOMMU_PAGES   0x3
#define AMDVI_CMD_INV_IOMMU_ALL     0x8
/* Event codes (2.5), bits 63:60. */
#define AMDVI_EVENT_IO_PAGE_FAULT   0x2

#define AMDVI_RING_ENTRIES 256       /* Len = 8: one 4 KiB page of 16-byte entries */
#define AMDVI_DTE_SIZE     32
#define AMDVI_DOMAIN_ID    1
#define AMDVI_LEVELS       4         /* DTE Mode: 48-bit I/O virtual addresses */

struct amdvi_unit {
    unsigned ivhd;            /* index in ivrs.units */
    void *regs;
    uint64_t efr;
    uint64_t devtab_pa;
    unsigned devtab_pages;
    uint32_t devtab_entries;
    uint64_t cmd_pa, event_pa, sem_pa;
    uint32_t cmd_tail;
    uint64_t sem_value;
    bool enabled;
};

struct amdvi {
    struct iommu_platform plat;
    struct ivrs_info ivrs;
    unsigned unit_count;
    struct amdvi_unit units[IVRS_MAX_UNITS];
    struct iommu_domain dom;
    bool enabled;
};

void amdvi_provider_init(struct amdvi *a, const struct iommu_platform *plat, struct iommu_provider *out);

/* The pieces, for tests and tools. */
/* DTE (2.2.2.2): V, TV, Mode, root pointer, IR, IW; domain id. */
void amdvi_dte(uint64_t root_pa, int levels, uint16_t domain_id, uint64_t dte[4]);
/* A 128-bit command (2.4). */
void amdvi_cmd_completion_wait(uint64_t store_pa, uint64_t data, uint32_t cmd[4]);
void amdvi_cmd_inv_devtab_entry(uint16_t devid, uint32_t cmd[4]);
void amdvi_cmd_inv_iommu_pages_all(uint16_t domain_id, uint32_t cmd[4]);
void amdvi_cmd_inv_iommu_all(uint32_t cmd[4]);
/* One event log entry (2.5); false for a zero (not yet written) entry. */
bool amdvi_decode_event(const uint32_t ev[4], uint16_t segment, struct iommu_fault *f);

#endif
