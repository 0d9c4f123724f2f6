/* See iommu_hw.h. The providers (iommu/vtd.c, iommu/amdvi.c) reach the
 * hardware only through the callbacks here: registers through the core's
 * identity map of [0, phys_top) (as hv/passthrough_hw.c reaches BARs; the
 * MTRRs make the MMIO hole uncached), translation structures in the core's
 * heap (inside the block, so the guest cannot touch them), written back
 * with CLFLUSH for units whose walks do not snoop. */
#include <minihv/format.h>
#include <minihv/iommu.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "hv/console.h"
#include "hv/ept.h"
#include "hv/devmodel.h"
#include "hv/heap.h"
#include "hv/io.h"
#include "hv/judged_mmio.h"
#include "hv/iommu_hw.h"
#include "hv/log_ring.h"
#include "hv/passthrough_hw.h"
#include "hv/refuse.h"
#include "hv/special_pages.h"
#include "hv/lock.h"
#include "iommu/amdvi.h"
#include "iommu/dmar.h"
#include "iommu/ivrs.h"
#include "iommu/vtd.h"

static struct vtd vtd;
static struct amdvi amdvi;
static struct iommu_provider providers[2];
static const struct iommu_provider *chosen;
static enum iommu_mode mode;
static unsigned long fault_total;
static struct spinlock fault_lock;
static uint64_t map_top;

/* ---- registers: volatile accesses through the identity map ---- */

static uint32_t mmio_read32(void *unit, uint32_t off)
{
    return *(volatile uint32_t *)((uint8_t *)unit + off);
}

static void mmio_write32(void *unit, uint32_t off, uint32_t v)
{
    *(volatile uint32_t *)((uint8_t *)unit + off) = v;
}

static uint64_t mmio_read64(void *unit, uint32_t off)
{
    return *(volatile uint64_t *)((uint8_t *)unit + off);
}

static void mmio_write64(void *unit, uint32_t off, uint64_t v)
{
    *(volatile uint64_t *)((uint8_t *)unit + off) = v;
}

static const struct iommu_mmio_ops mmio_ops = { mmio_read32, mmio_write32, mmio_read64, mmio_write64 };

/* The unit's register page is reachable when it lies below phys_top (the
 * core's identity map). */
static void *map_unit(void *opaque, uint64_t base, uint64_t size)
{
    (void)opaque;
    if (!base || base + size < base || base + size > map_top)
        return NULL;
    return (void *)(uintptr_t)base;
}

/* ---- memory: the core's heap, phys = virt ---- */

static uint64_t alloc_pages(void *opaque, size_t count)
{
    (void)opaque;
    return heap_alloc(count);
}

static void *phys_to_virt(void *opaque, uint64_t pa)
{
    (void)opaque;
    return (void *)(uintptr_t)pa;
}

/* SDM Vol. 2A CLFLUSH: write back each 64-byte line, then fence. */
static void flush(void *opaque, uint64_t pa, size_t len)
{
    (void)opaque;
    for (uint64_t p = pa & ~63ull; p < pa + len; p += 64)
        __asm__ volatile("clflush (%0)" : : "r"((uintptr_t)p) : "memory");
    __asm__ volatile("mfence" : : : "memory");
}

static void log_line(void *opaque, enum iommu_log_level level, const char *line)
{
    (void)opaque;
    (void)level; /* the registry's lines say it themselves ("failed", "NOT contained") */
    hv_log("%s", line);
}

static void iommu_hw_summary_line(void (*emit)(const char *line))
{
    char line[160];
    iommu_hw_summary(line, sizeof(line));
    emit(line);
}

/* On the exit path only for the summary (for now: it traps no page). */
static const struct devmodel iommu_model = { .name = "iommu", .summary = iommu_hw_summary_line };

/* ---- the register pages, out of the guest's reach (issue 14, path 1) ---- */

/* Every IOMMU unit the firmware describes, whichever provider is chosen
 * (or none): its registers would let the guest clear GCMD.TE or the
 * AMD-Vi control register's IommuEn, or point RTADDR / the device table
 * at its own tables, and DMA into the block. Not present in the guest
 * map (hv/special_pages.h): reads all-ones, writes dropped (vcpu.c's NPF
 * path, counted `iommu-regs`). The core reaches them through its own page
 * tables. From the loader's copies, parsed here again (the providers
 * parse their own and only the chosen one keeps its result). */
/* GFXVTBAR and VTDPVC0BAR inside the MCHBAR window (iommu/vtd.h): the
 * page that holds them becomes a judged read-only page (hv/judged_mmio.h);
 * a write that touches either is dropped, counted `iommu-regs`, any other
 * write there (the MCH's power and memory registers) reaches the hardware.
 * Only on an Intel host bridge with MCHBAR enabled, read through CF8/CFC
 * at global init (segment 0; QEMU's q35 has no MCHBAR: nothing). */
static uint64_t mchbar_window;

static bool mchbar_vtd_write(struct vcpu *v, uint64_t gpa, unsigned size, uint64_t value)
{
    (void)v;
    uint64_t off = gpa - mchbar_window;
    if (!vtd_mchbar_guarded(off, size))
        return true;
    hv_refuse(HV_REFUSE_IOMMU_REGS, "%u-byte write of 0x%lx at MCHBAR +0x%lx (GFXVTBAR/VTDBAR: moves a VT-d unit): "
              "dropped", size, value, off);
    return false;
}

/* 0, or -1 when the page cannot be judged (the caller fails closed). */
static int judge_mchbar_vtd(uint16_t segment)
{
    if (segment != 0 || (io_pci_read32(0, 0, 0) & 0xffff) != 0x8086)
        return 0;
    uint64_t mchbar = io_pci_read32(0, 0, VTD_MCHBAR_CFG) | (uint64_t)io_pci_read32(0, 0, VTD_MCHBAR_CFG + 4) << 32;
    mchbar_window = vtd_mchbar_base(mchbar);
    if (!mchbar_window)
        return 0;
    int rc = judged_mmio_add(SPECIAL_MCHBAR_VTD, mchbar_window + VTD_MCHBAR_GFXVTBAR,
                             "the MCHBAR page with GFXVTBAR/VTDBAR", mchbar_vtd_write);
    hv_log("iommu: MCHBAR 0x%lx: GFXVTBAR/VTDBAR page 0x%lx %s", mchbar_window,
           mchbar_window + VTD_MCHBAR_GFXVTBAR, rc ? "NOT trapped" : "read-only, writes to those registers dropped");
    return rc ? -1 : 0;
}

/* Returns how many register sets could not be taken out of the guest map
 * (the special-page table full): the caller fails closed on any. */
static unsigned reserve_register_pages(const struct minihv_boot_info *bi)
{
    static struct dmar_info dmar;
    static struct ivrs_info ivrs;
    struct field_error err = { 0 };
    unsigned n = 0, failed = 0;
    if (bi->dmar_phys && !dmar_parse((const void *)(uintptr_t)bi->dmar_phys, bi->dmar_len, &dmar, &err))
        for (unsigned u = 0; u < dmar.unit_count && u < DMAR_MAX_UNITS; u++) {
            /* DRHD Size (VT-d 3.x 8.3): 2^size_log2 pages of registers. */
            uint64_t size = 0x1000ull << MIN(dmar.units[u].size_log2, 15u);
            int rc = ept_reserve(SPECIAL_IOMMU_REGS, dmar.units[u].reg_base, size, SPECIAL_MAP_NONE);
            n += !rc;
            failed += rc != 0;
        }
    /* Relocation. Intel client chipsets: MCHBAR (host bridge 0x48, 64-bit)
     * places the MCH window that holds GFXVTBAR (+0x5400) and VTDBAR
     * (+0x5410); the guest must not move it (nor, through it, the units). */
    if (bi->dmar_phys && dmar.unit_count)
        failed += judge_mchbar_vtd(dmar.units[0].segment) != 0; /* they move the units: the same rule */
    /* Firmware bugs Linux accepts with a warning (an RMRR 0-0, an IVMD of
     * length 1): skipped or rounded by the parser, said once here in
     * preflight's words (tools/minihv-preflight.c). */
    if (bi->dmar_phys && dmar.warnings)
        hv_log("iommu: DMAR warning: %s at 0x%x: %s (%u firmware entr%s skipped or fixed up, as Linux does)",
               dmar.warning.field, dmar.warning.offset, dmar.warning.what, dmar.warnings,
               dmar.warnings == 1 ? "y" : "ies");
    if (bi->dmar_phys && dmar.unit_count)
        passthrough_guard_config(dmar.units[0].segment, 0, 0, 0, 0x48, 0x50, "VT-d: MCHBAR of the host bridge");
    if (bi->ivrs_phys && !ivrs_parse((const void *)(uintptr_t)bi->ivrs_phys, bi->ivrs_len, &ivrs, &err))
        for (unsigned u = 0; u < ivrs.unit_count && u < IVRS_MAX_UNITS; u++) {
            const struct ivrs_unit *iv = &ivrs.units[u];
            /* IVHD IOMMU Base Address: 16 KiB of MMIO (AMD IOMMU spec 3.4). */
            int rc = ept_reserve(SPECIAL_IOMMU_REGS, iv->base, AMDVI_MMIO_SIZE, SPECIAL_MAP_NONE);
            n += !rc;
            failed += rc != 0;
            /* The IOMMU is a PCI function (IVHD DeviceID) whose capability
             * block holds its base: cap + 4 (low, Enable bit 0) and cap + 8
             * (high) (AMD IOMMU spec 3.2). */
            if (!iv->superseded && iv->cap_offset >= 0x40 && iv->cap_offset < 0x100 - 12)
                passthrough_guard_config(iv->segment, (uint8_t)(iv->devid >> 8), (iv->devid >> 3) & 31,
                                         iv->devid & 7, (uint16_t)(iv->cap_offset + 4),
                                         (uint16_t)(iv->cap_offset + 12), "AMD-Vi: IOMMU base in its capability");
        }
    if (bi->ivrs_phys && ivrs.warnings)
        hv_log("iommu: IVRS warning: %s at 0x%x: %s (%u firmware entr%s skipped or fixed up, as Linux does)",
               ivrs.warning.field, ivrs.warning.offset, ivrs.warning.what, ivrs.warnings,
               ivrs.warnings == 1 ? "y" : "ies");
    if (n)
        ept_changed();
    char line[400];
    special_format(&hv_special, line, sizeof(line));
    hv_log("%s (%u IOMMU register set(s) out of the guest map)", line, n);
    return failed;
}

int iommu_hw_init(const struct minihv_boot_info *bi)
{
    /* A register set left in the guest map is an IOMMU the guest turns
     * off with one write (GCMD.TE, Control.IommuEn): fail closed, whether
     * or not minihv drives that unit (review R3: the table holds
     * SPECIAL_MAX entries; a DMAR may list 64 units). */
    unsigned unreserved = reserve_register_pages(bi);
    if (unreserved) {
        hv_log("iommu: %u IOMMU register set(s) could not be kept from the guest (special-page table full, %u "
               "entries): not virtualizing", unreserved, SPECIAL_MAX);
        return -1;
    }
    devmodel_register(&iommu_model);
    /* An unknown value fails closed: auto without the fallback to none. */
    mode = bi->iommu_mode <= IOMMU_MODE_AUTO_REQUIRED ? (enum iommu_mode)bi->iommu_mode : IOMMU_MODE_AUTO_REQUIRED;
    map_top = bi->phys_top;
    char dmar[48] = "absent", ivrs[48] = "absent";
    if (bi->dmar_phys)
        fmt_snprintf(dmar, sizeof(dmar), "%u bytes at 0x%lx", bi->dmar_len, bi->dmar_phys);
    if (bi->ivrs_phys)
        fmt_snprintf(ivrs, sizeof(ivrs), "%u bytes at 0x%lx", bi->ivrs_len, bi->ivrs_phys);
    hv_log("iommu: iommu = %s; DMAR %s, IVRS %s (the loader's copies, in the block)", iommu_mode_name(mode),
           dmar, ivrs);
    struct iommu_platform plat = {
        .mmio = &mmio_ops,
        .map_unit = map_unit,
        .mem = { alloc_pages, phys_to_virt, flush, NULL },
        .top = bi->phys_top,
    };
    plat.table = bi->dmar_phys ? (const void *)(uintptr_t)bi->dmar_phys : NULL;
    plat.table_len = bi->dmar_phys ? bi->dmar_len : 0;
    vtd_provider_init(&vtd, &plat, &providers[0]);
    /* A device below a DRHD's bridge scope (QEMU names each root-bus
     * device, a root port as a bridge, instead of INCLUDE_PCI_ALL) is found
     * through the bridge's bus numbers (VT-d 8.3.1); without them attach
     * failed and auto went on without an IOMMU. */
    vtd.bridge = passthrough_bridge_buses;
    plat.table = bi->ivrs_phys ? (const void *)(uintptr_t)bi->ivrs_phys : NULL;
    plat.table_len = bi->ivrs_phys ? bi->ivrs_len : 0;
    amdvi_provider_init(&amdvi, &plat, &providers[1]);

    /* Out of the DMA domain: the core's whole block (image, page tables,
     * heap: these very tables); then every special page whose kind says so
     * (special_kind_dma): the log ring, each I/O APIC page (a DMA write to
     * IOREGSEL/IOWIN programs a redirection past hv/ioapic.c, review R s6
     * finding 6), the default SMRAM (attack smm-open), the IOMMU's own
     * registers (a DMA write to GCMD/Control turns translation off: attack
     * iommu-dma), the judged pages (fch-acpimmio, sleep-reg, mchbar-vtd) and
     * each HPET page (a DMA write to a timer's FSB route would set it past
     * hv/hpet.c's judge: attack hpet-dma);
     * and every MCFG window (a DMA write there is a config write no guard
     * sees: attack ecam-dma). The domain holds them all (iommu/domain.h). */
    static struct iommu_range protect[2 + SPECIAL_MAX + MINIHV_MAX_ECAM];
    _Static_assert(ARRAY_SIZE(protect) <= IOMMU_DOMAIN_MAX_PROTECTED, "the DMA domain holds every protected range");
    unsigned nprotect = 0;
    protect[nprotect++] = (struct iommu_range){ bi->hv_phys_base, bi->hv_phys_size };
    if (log_ring_range(&protect[nprotect].base, &protect[nprotect].size))
        nprotect++;
    for (unsigned i = 0; i < hv_special.count && i < SPECIAL_MAX; i++)
        if (special_kind_dma(hv_special.e[i].kind) == SPECIAL_DMA_OUT)
            protect[nprotect++] = (struct iommu_range){ hv_special.e[i].base, hv_special.e[i].size };
    for (unsigned i = 0; i < bi->ecam_count && i < MINIHV_MAX_ECAM; i++)
        protect[nprotect++] = (struct iommu_range){ bi->ecam[i].base, bi->ecam[i].size };
    hv_log("iommu: %u range(s) to keep from device DMA (block, log ring, special pages, %u ECAM window(s))",
           nprotect, bi->ecam_count);
    uint32_t device = 0;
    struct iommu_request req = { protect, nprotect, &device, 0, log_line, NULL };
    if (bi->pt.present) {
        device = IOMMU_SBDF(bi->pt.segment, bi->pt.bus, bi->pt.dev, bi->pt.fn);
        req.device_count = 1;
    }
    uint64_t used = heap_used_bytes();
    chosen = iommu_select(mode, providers, ARRAY_SIZE(providers), &req);
    if (!chosen) {
        hv_log("iommu: error: iommu = %s could not be brought up: not virtualizing (%s)", iommu_mode_name(mode),
               mode == IOMMU_MODE_AUTO_REQUIRED
                   ? "turn the IOMMU (VT-d, AMD-Vi) on in the firmware's setup; under Secure Boot minihv does not run "
                     "without it"
                   : "set iommu = auto or none in minihv.cfg to go on without it");
        return -1;
    }
    hv_log("iommu: %s: block 0x%lx+%lu MiB %s, %s%s, tables %lu KiB", chosen->name,
           bi->hv_phys_base, bi->hv_phys_size >> 20,
           chosen->contains_dma ? "out of reach of device DMA" : "NOT protected from device DMA",
           bi->pt.present ? "passthrough device attached" : "no passthrough device",
           chosen->contains_dma ? "; every other device in the identity domain" : "",
           (heap_used_bytes() - used) >> 10);
    return 0;
}

static void report_fault(void *opaque, const struct iommu_fault *f)
{
    (void)opaque;
    fault_total++;
    hv_log("iommu: DMA fault: %02x:%02x.%u %s at 0x%lx reason 0x%x (%s), unit %u",
           IOMMU_SBDF_BUS(f->sbdf), (f->sbdf >> 3) & 0x1f, f->sbdf & 7, f->write ? "write" : "read",
           f->address, f->reason, f->reason_text ? f->reason_text : "?", f->unit);
}

unsigned long iommu_hw_poll_faults(void)
{
    if (!chosen || !chosen->read_faults)
        return fault_total;
    spin_lock(&fault_lock);
    chosen->read_faults(chosen->ctx, report_fault, NULL);
    unsigned long n = fault_total;
    spin_unlock(&fault_lock);
    return n;
}

bool iommu_hw_contains_dma(void)
{
    return chosen && chosen->contains_dma;
}

int iommu_hw_summary(char *buf, unsigned len)
{
    unsigned long faults = iommu_hw_poll_faults();
    if (!chosen)
        return fmt_snprintf(buf, len, "iommu none (not set up), faults 0");
    return fmt_snprintf(buf, len, "iommu %s (%s), DMA %s, faults %lu", chosen->name, iommu_mode_name(mode),
                        chosen->contains_dma ? "contained" : "NOT contained", faults);
}
