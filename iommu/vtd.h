/* Intel VT-d provider (VT-d spec rev 3.x/4.x): legacy-mode root and
 * context tables (9.1, 9.3), second-level page tables (9.8) built by
 * paging/paging.c with pt_format_vtd, and register-based programming
 * (chapter 10: GCMD/GSTS, RTADDR, CCMD, IOTLB, fault recording). No
 * queued invalidation and no interrupt remapping (docs/iommu.md). */
#ifndef MINIHV_IOMMU_VTD_H
#define MINIHV_IOMMU_VTD_H

#include <minihv/iommu.h>
#include "iommu/dmar.h"
#include "iommu/domain.h"

/* Registers (10.4), byte offsets. */
#define VTD_REG_VER    0x00
#define VTD_REG_CAP    0x08
#define VTD_REG_ECAP   0x10
#define VTD_REG_GCMD   0x18
#define VTD_REG_GSTS   0x1c
#define VTD_REG_RTADDR 0x20
#define VTD_REG_CCMD   0x28
#define VTD_REG_FSTS   0x34
#define VTD_REG_PMEN   0x64

/* GCMD / GSTS bits (10.4.4, 10.4.5): same positions. */
#define VTD_GCMD_TE   (1u << 31)
#define VTD_GCMD_SRTP (1u << 30)
#define VTD_GCMD_WBF  (1u << 27)
#define VTD_GCMD_QIE  (1u << 26)
#define VTD_GCMD_IRE  (1u << 25) /* interrupt remapping enable (10.4.4); GSTS.IRES */
#define VTD_GCMD_ONE_SHOT_MASK 0x96ffffffu /* clears SRTP, SFL, WBF, SIRTP */

#define VTD_FSTS_PFO (1u << 0)
#define VTD_FSTS_PPF (1u << 1)
#define VTD_PMEN_EPM (1u << 31)
#define VTD_PMEN_PRS (1u << 0)

/* CAP fields (10.4.2). */
#define VTD_CAP_RWBF(c)   (((c) >> 4) & 1)
#define VTD_CAP_SAGAW(c)  (((c) >> 8) & 0x1f)
#define VTD_CAP_MGAW(c)   ((unsigned)(((c) >> 16) & 0x3f) + 1)
#define VTD_CAP_FRO(c)    ((uint32_t)(((c) >> 24) & 0x3ff) * 16)
#define VTD_CAP_SLLPS(c)  (((c) >> 34) & 0xf)  /* bit 0: 2 MiB, bit 1: 1 GiB */
#define VTD_CAP_NFR(c)    ((unsigned)(((c) >> 40) & 0xff) + 1)
#define VTD_CAP_PMR(c)    (((c) >> 5) & 3)     /* PLMR, PHMR */
/* ECAP fields (10.4.3). */
#define VTD_ECAP_C(e)     ((e) & 1)            /* page walks snoop */
#define VTD_ECAP_IRO(e)   ((uint32_t)(((e) >> 8) & 0x3ff) * 16)

/* CCMD (10.4.7) and IOTLB_REG (10.4.8.1, at ECAP.IRO + 8). */
#define VTD_CCMD_ICC          (1ull << 63)
#define VTD_CCMD_GLOBAL       (1ull << 61)
#define VTD_IOTLB_IVT         (1ull << 63)
#define VTD_IOTLB_GLOBAL      (1ull << 60)
#define VTD_IOTLB_DR          (1ull << 49)
#define VTD_IOTLB_DW          (1ull << 48)

#define VTD_DOMAIN_ID 1

struct vtd_unit {
    void *regs;
    uint64_t cap, ecap;
    uint32_t iotlb_reg;   /* IOTLB_REG offset */
    uint32_t fault_reg;   /* first fault recording register */
    unsigned fault_count;
    bool enabled;
};

struct vtd {
    struct iommu_platform plat;
    struct dmar_info dmar;
    dmar_bridge_fn bridge;   /* for multi-hop scopes; may be NULL */
    void *bridge_opaque;
    struct vtd_unit units[DMAR_MAX_UNITS];
    struct iommu_domain dom; /* a 4-level tree; see slpt_pa */
    int levels;              /* 3, 4 or 5 (context entry AW) */
    uint64_t slpt_pa;        /* what context entries point at */
    uint64_t root_table_pa, context_table_pa;
    bool flush_needed;       /* some unit's walks do not snoop */
    bool enabled;
};

/* Fills *out as the VT-d provider over `v`, which keeps a copy of *plat. */
void vtd_provider_init(struct vtd *v, const struct iommu_platform *plat, struct iommu_provider *out);

/* The pieces, for tests and tools. */
/* Levels from SAGAW (all units' SAGAW ANDed) for an identity map up to top:
 * 4 if offered, else 3 if top fits in 39 bits, else 5. */
int vtd_choose_levels(uint32_t sagaw, uint64_t top, int *levels, struct field_error *err);
/* Legacy context entry (9.3): P, TT=0, SLPTPTR; AW = levels - 2, DID. */
void vtd_context_entry(uint64_t slpt_pa, int levels, uint16_t domain_id, uint64_t entry[2]);
/* One fault recording register (10.4.14): lo = bits 63:0, hi = 127:64. */
void vtd_decode_fault(uint64_t lo, uint64_t hi, uint16_t segment, struct iommu_fault *f);

/* Relocating the units on Intel client chipsets: the host bridge's
 * MCHBAR (00:00.0 config 0x48, 64-bit; bit 0 MCHBAREN, bits 38:15 the
 * 32 KiB window's base: Intel 6th-12th Gen Core datasheet Vol. 2, Host
 * Bridge "MCHBAR") holds GFXVTBAR at +0x5400 and VTDPVC0BAR at +0x5410,
 * 64-bit each: the base and enable of the graphics and the other VT-d
 * unit. vtd_mchbar_base: the window's base from the register, 0 when it
 * is off. vtd_mchbar_guarded: whether a write of `size` bytes at window
 * offset `off` touches either register (the core drops it). */
#define VTD_MCHBAR_CFG      0x48
#define VTD_MCHBAR_GFXVTBAR 0x5400
#define VTD_MCHBAR_VTDBAR   0x5410
uint64_t vtd_mchbar_base(uint64_t mchbar);
bool vtd_mchbar_guarded(uint64_t off, unsigned size);

#endif
