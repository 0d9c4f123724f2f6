/* The attack guest's device-side attacks (issue 14): the IOMMU's registers,
 * MSI/MSI-X delivery modes, BAR placement over special pages, sub-page
 * BARs, hypercall buffers in MMIO. */
#include <minihv/format.h>
#include <minihv/io.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "tests/guests/attack.h"
#include "tests/guests/hvcall.h"
#include "tests/guests/print.h"

#define VTD_GCMD   0x18
#define VTD_GSTS   0x1c
#define VTD_RTADDR 0x20
#define VTD_TE     (1u << 31)
/* GSTS bits that are not one-shot commands, to build a GCMD value (VT-d
 * spec 11.4.4.1: write GSTS & 0x96FFFFFF with the one bit changed). */
#define VTD_GSTS_PERSIST 0x96ffffffu
#define AMDVI_CONTROL 0x18
#define AMDVI_IOMMU_EN 1ull

static char why[240];

static bool intact(void)
{
    return atk_core_intact(why, sizeof(why));
}

/* ---- iommu-regs ---- */

static uint64_t drhd_base(uint64_t xmar)
{
    uint32_t len;
    memcpy(&len, (const void *)(uintptr_t)(xmar + 4), 4);
    for (uint64_t p = xmar + 48; p + 16 <= xmar + len;) {
        uint16_t type, slen;
        memcpy(&type, (const void *)(uintptr_t)p, 2);
        memcpy(&slen, (const void *)(uintptr_t)(p + 2), 2);
        if (slen < 4)
            break;
        if (type == 0) { /* DRHD: register base at +8 */
            uint64_t b;
            memcpy(&b, (const void *)(uintptr_t)(p + 8), 8);
            return b;
        }
        p += slen;
    }
    return 0;
}

static uint64_t ivhd_base(uint64_t xvrs)
{
    uint32_t len;
    memcpy(&len, (const void *)(uintptr_t)(xvrs + 4), 4);
    for (uint64_t p = xvrs + 48; p + 24 <= xvrs + len;) {
        uint8_t type = *(const uint8_t *)(uintptr_t)p;
        uint16_t slen;
        memcpy(&slen, (const void *)(uintptr_t)(p + 2), 2);
        if (slen < 4)
            break;
        if (type == 0x10 || type == 0x11 || type == 0x40) { /* IVHD: base at +8 */
            uint64_t b;
            memcpy(&b, (const void *)(uintptr_t)(p + 8), 8);
            return b;
        }
        p += slen;
    }
    return 0;
}

/* The IOMMU's register base: from XMAR/XVRS (the loader's rename), or the
 * DMAR/IVRS when the core left it visible. */
static uint64_t iommu_base(bool *vtd)
{
    uint64_t t;
    if ((t = atk_acpi_table("XMAR")) || (t = atk_acpi_table("DMAR"))) {
        *vtd = true;
        return drhd_base(t);
    }
    if ((t = atk_acpi_table("XVRS")) || (t = atk_acpi_table("IVRS"))) {
        *vtd = false;
        return ivhd_base(t);
    }
    return 0;
}

/* The IOMMU's base when there is one and an edu to DMA with; else 0,
 * the attack skipped and said why. */
uint64_t atk_iommu_regs(void)
{
    bool vtd;
    return iommu_base(&vtd);
}

static uint64_t iommu_base_with_edu(const char *name, bool *vtd)
{
    uint64_t base = iommu_base(vtd);
    if (!base)
        atk_skip(name, "no XMAR/DMAR or XVRS/IVRS: no IOMMU");
    else if (!env.edu)
        atk_skip(name, "no edu device for the DMA");
    return env.edu ? base : 0;
}

void attack_iommu_regs(void)
{
    const char *name = "iommu-regs";
    bool vtd = false;
    uint64_t base = iommu_base_with_edu(name, &vtd);
    if (!base)
        return;
    char dma[200];
    bool blocked_before = atk_edu_dma_into_block(dma, sizeof(dma));
    char seen[160];
    bool off_seen = false;
    uint64_t f1, f2, f3;
    if (vtd) {
        uint32_t gsts = 0, gsts_after = 0;
        uint64_t rta = 0;
        f1 = atk_read32(base + VTD_GSTS, &gsts);
        atk_read64(base + VTD_RTADDR, &rta);
        /* TE off (VT-d 10.4.4 GCMD bit 31). */
        f2 = atk_write32(base + VTD_GCMD, (gsts & VTD_GSTS_PERSIST) & ~VTD_TE);
        BS->Stall(1000);
        f3 = atk_read32(base + VTD_GSTS, &gsts_after);
        off_seen = !f3 && gsts_after != 0xffffffffu && !(gsts_after & VTD_TE);
        fmt_snprintf(seen, sizeof(seen), "VT-d at 0x%lx: GSTS 0x%08x RTADDR 0x%lx; GCMD <- TE off: GSTS now 0x%08x%s", base, gsts,
                     rta, gsts_after, f1 || f2 || f3 ? " (an access faulted)" : "");
    } else {
        uint64_t ctl = 0, ctl_after = 0;
        f1 = atk_read64(base + AMDVI_CONTROL, &ctl);
        f2 = atk_write64(base + AMDVI_CONTROL, ctl & ~AMDVI_IOMMU_EN);
        BS->Stall(1000);
        f3 = atk_read64(base + AMDVI_CONTROL, &ctl_after);
        off_seen = !f3 && ctl_after != ~0ull && !(ctl_after & AMDVI_IOMMU_EN);
        fmt_snprintf(seen, sizeof(seen), "AMD-Vi at 0x%lx: control 0x%lx; IommuEn cleared: control now 0x%lx%s", base, ctl,
                     ctl_after, f1 || f2 || f3 ? " (an access faulted)" : "");
    }
    bool blocked = atk_edu_dma_into_block(dma, sizeof(dma));
    bool ok = intact();
    if (blocked && blocked_before && !off_seen && ok)
        atk_pass(name, "%s; then %s: blocked; %s", seen, dma, why);
    else
        atk_fail(name, "%s; then %s%s; %s", seen, dma, blocked ? "" : ": the DMA landed in the core's block",
                 ok ? "core intact otherwise" : why);
}

/* ---- iommu-dma (review R, session 7) ----
 * The IOMMU's register pages are not present for the CPU (iommu-regs),
 * but the device DMA domain is identity over [0, phys_top) minus the block,
 * the log ring, the I/O APIC pages and the default SMRAM: a device's DMA
 * write to GCMD (VT-d: TE off) or the control register (AMD-Vi: IommuEn
 * off) switches translation off, and the next DMA lands in the block. */
void attack_iommu_dma(void)
{
    const char *name = "iommu-dma";
    static uint32_t zero[4] __attribute__((aligned(16)));
    bool vtd = false;
    uint64_t base = iommu_base_with_edu(name, &vtd);
    if (!base)
        return;
    char before[200], after[200];
    bool blocked_before = atk_edu_dma_into_block(before, sizeof(before));
    uint64_t target = base + (vtd ? VTD_GCMD : AMDVI_CONTROL);
    bool ran = atk_edu_dma_from(target, (uint64_t)(uintptr_t)zero, 4);
    bool blocked = atk_edu_dma_into_block(after, sizeof(after));
    bool ok = intact();
    if (blocked_before && blocked && ok)
        atk_pass(name, "edu DMA of 4 zero bytes to %s 0x%lx %s; then %s: blocked; core intact", vtd ? "VT-d GCMD" : "AMD-Vi control",
                 target, ran ? "ran" : "did not finish", after);
    else
        atk_fail(name, "edu DMA of 4 zero bytes to %s 0x%lx %s; then %s%s; %s", vtd ? "VT-d GCMD" : "AMD-Vi control", target,
                 ran ? "ran" : "did not finish", after, blocked ? "" : ": the DMA landed in the core's block",
                 ok ? "core intact otherwise" : why);
}

/* ---- ecam-dma (review R, session 7) ----
 * The ECAM window is identity in the device DMA domain too: a device's DMA
 * write there is a configuration write (QEMU dispatches it as one), past
 * every config guard of the core. ICH9 ACPI_CNTL (00:1f.0 0x44) is
 * guarded with a passthrough device (pmbase-move): its SCI IRQ select
 * (bits 2:0, harmless here; PMBASE itself would stop the firmware's PM
 * timer and Stall) changed by DMA, then put back. */
void attack_ecam_dma(void)
{
    const char *name = "ecam-dma";
    static uint32_t value[4] __attribute__((aligned(16)));
    if (!env.edu || !env.ecam) {
        atk_skip(name, "no edu device or no ECAM");
        return;
    }
    uint32_t id = atk_cfg_read32(0, 31, 0, 0), before = atk_cfg_read32(0, 31, 0, 0x44);
    if (id != 0x29188086u) {
        atk_skip(name, "00:1f.0 is 0x%08x, not ICH9 LPC", id);
        return;
    }
    uint64_t reg = env.ecam + (31u << 15) + 0x44;
    value[0] = before ^ 0x1;
    bool ran = atk_edu_dma_from(reg, (uint64_t)(uintptr_t)value, 4);
    uint32_t after = atk_cfg_read32(0, 31, 0, 0x44);
    value[0] = before;
    atk_edu_dma_from(reg, (uint64_t)(uintptr_t)value, 4);
    uint32_t restored = atk_cfg_read32(0, 31, 0, 0x44);
    if (after != before)
        atk_fail(name, "edu DMA of 0x%08x to ECAM 0x%lx (ICH9 ACPI_CNTL, guarded) %s: 0x%08x -> 0x%08x (put back: 0x%08x)",
                 before ^ 0x1, reg, ran ? "ran" : "did not finish", before, after, restored);
    else if (!intact())
        atk_fail(name, "after the DMA: %s", why);
    else
        atk_pass(name, "edu DMA to ECAM 0x%lx (ICH9 ACPI_CNTL) %s: 0x%08x unchanged; core intact", reg,
                 ran ? "ran" : "did not finish", before);
}


/* ---- hpet-fsb (review R, session 7) ----
 * The HPET (0xFED00000, the guest's, native) can deliver a timer's
 * interrupt as an FSB message: a dword write of Tn_FSB_INT_VAL to
 * Tn_FSB_INT_ADDR (IA-PC HPET 2.3.9.2.8). Pointed at the block instead of
 * 0xFEExxxxx, the write must not land there. */
#define HPET_BASE 0xfed00000ull
void attack_hpet_fsb(void)
{
    const char *name = "hpet-fsb";
    uint64_t cap = 0;
    atk_read64(HPET_BASE, &cap);
    if (!cap || cap == ~0ull) {
        atk_skip(name, "no HPET at 0x%llx", HPET_BASE);
        return;
    }
    uint64_t off = env.fp.block_size - 0x100000, before = 0, after = 0;
    uint64_t target = env.fp.block_base + env.fp.block_size - 0x10000;
    atk_block_digest(off, 0x100000, &before);
    uint64_t gen = 0, t0 = 0, main = 0;
    atk_read64(HPET_BASE + 0x10, &gen);
    atk_read64(HPET_BASE + 0x100, &t0);
    /* Timer 0: FSB route (value low, address high), FSB enable (bit 14),
     * interrupt enable (bit 2), edge; comparator a little ahead. */
    atk_write64(HPET_BASE + 0x110, (uint64_t)(uint32_t)target << 32 | 0x5a5a5a5au);
    atk_write64(HPET_BASE + 0x10, gen | 1);
    atk_read64(HPET_BASE + 0xf0, &main);
    atk_write64(HPET_BASE + 0x108, main + 0x10000);
    atk_write64(HPET_BASE + 0x100, (t0 & ~0x4f0eull) | (1u << 14) | (1u << 2));
    BS->Stall(20000);
    uint64_t t0_now = 0;
    atk_read64(HPET_BASE + 0x100, &t0_now);
    atk_write64(HPET_BASE + 0x100, t0);
    atk_write64(HPET_BASE + 0x10, gen);
    atk_block_digest(off, 0x100000, &after);
    if (before != after)
        atk_fail(name, "HPET timer 0 FSB write of 0x5a5a5a5a to 0x%lx (in the block): the block's last MiB 0x%016lx -> "
                 "0x%016lx (HPET cap 0x%lx, timer 0 config 0x%lx)", target, before, after, cap, t0_now);
    else if (!intact())
        atk_fail(name, "after the HPET write: %s", why);
    else
        atk_pass(name, "HPET timer 0 FSB write to 0x%lx did not land (digest 0x%016lx; timer 0 config 0x%lx); core intact",
                 target, before, t0_now);
}

/* ---- hpet-dma (session 7, helper H) ----
 * The HPET page is judged for the CPU (hpet-fsb); a device's DMA to it
 * would set the route past the judge. With the page out of the device
 * DMA domain the write faults in the IOMMU and the route stays. */
void attack_hpet_dma(void)
{
    const char *name = "hpet-dma";
    static uint64_t route[2] __attribute__((aligned(16)));
    uint64_t cap = 0, before = 0, after = 0;
    atk_read64(HPET_BASE, &cap);
    if (!cap || cap == ~0ull) {
        atk_skip(name, "no HPET at 0x%llx", HPET_BASE);
        return;
    }
    if (!env.edu) {
        atk_skip(name, "no edu device for the DMA");
        return;
    }
    uint64_t target = env.fp.block_base + env.fp.block_size - 0x10000;
    atk_read64(HPET_BASE + 0x110, &before);
    route[0] = (uint64_t)(uint32_t)target << 32 | 0x5a5a5a5au;
    bool ran = atk_edu_dma_from(HPET_BASE + 0x110, (uint64_t)(uintptr_t)route, 8);
    atk_read64(HPET_BASE + 0x110, &after);
    if (after != before) {
        route[0] = before;
        atk_edu_dma_from(HPET_BASE + 0x110, (uint64_t)(uintptr_t)route, 8);
        atk_fail(name, "edu DMA of route 0x%lx to HPET timer 0 FSB route %s: 0x%lx -> 0x%lx (past the judge)",
                 (uint64_t)(uint32_t)target << 32 | 0x5a5a5a5au, ran ? "ran" : "did not finish", before, after);
    } else if (!intact())
        atk_fail(name, "after the DMA: %s", why);
    else
        atk_pass(name, "edu DMA to HPET timer 0 FSB route %s: route 0x%lx unchanged; core intact",
                 ran ? "ran" : "did not finish", before);
}

/* ---- fwcfg-dma (review R, session 7) ----
 * QEMU's fw_cfg DMA interface (ports 0x514/0x518, docs/specs/fw_cfg.rst):
 * the guest names a descriptor in memory, QEMU copies a fw_cfg item to the
 * address in it, in system memory, not through the IOMMU. Aimed at the
 * block: must not land. */
/* One fw_cfg DMA request: item 0 (the signature), 4 bytes read to
 * `address`; returns the control word QEMU (or the core) left, host order
 * (0 done, bit 0 the error bit). Descriptor big-endian (fw_cfg.rst). */
static uint32_t fw_cfg_dma_signature(uint64_t address)
{
    static volatile struct {
        uint32_t control, length;
        uint64_t address;
    } __attribute__((aligned(16))) desc;
    uint64_t d = (uint64_t)(uintptr_t)&desc;
    desc.control = __builtin_bswap32(0x0000u << 16 | 0x08 | 0x02); /* select item 0 (signature), read */
    desc.length = __builtin_bswap32(4);
    desc.address = __builtin_bswap64(address);
    __asm__ volatile("" ::: "memory");
    outl(0x514, __builtin_bswap32((uint32_t)(d >> 32)));
    outl(0x518, __builtin_bswap32((uint32_t)d));
    return __builtin_bswap32(desc.control);
}

void attack_fwcfg_dma(void)
{
    const char *name = "fwcfg-dma";
    outw(0x510, 0x0000); /* FW_CFG_SIGNATURE */
    uint8_t sig[4] = { inb(0x511), inb(0x511), inb(0x511), inb(0x511) };
    outw(0x510, 0x0001); /* FW_CFG_ID: bit 1 = DMA interface */
    uint32_t id = inb(0x511) | (uint32_t)inb(0x511) << 8;
    if (memcmp(sig, "QEMU", 4) || !(id & 2)) {
        atk_skip(name, "no fw_cfg DMA interface (signature %02x%02x%02x%02x, id 0x%x)", sig[0], sig[1], sig[2], sig[3], id);
        return;
    }
    /* The same request into the guest's own RAM first: the core carries
     * it out from its copy of the descriptor (a guest may use fw_cfg DMA;
     * OVMF's QemuFwCfgLib stops dead on the error bit). */
    static volatile uint8_t mine[4] __attribute__((aligned(8)));
    memset((void *)mine, 0, sizeof(mine));
    uint32_t ram_status = fw_cfg_dma_signature((uint64_t)(uintptr_t)mine);
    if (ram_status || memcmp((const void *)mine, "QEMU", 4)) {
        atk_fail(name, "fw_cfg DMA of the signature into guest RAM at %p: status 0x%x, read %02x%02x%02x%02x (want 0, "
                 "\"QEMU\": a request the core may carry out)", (void *)mine, ram_status, mine[0], mine[1], mine[2], mine[3]);
        return;
    }
    uint64_t off = env.fp.block_size - 0x100000, before = 0, after = 0;
    uint64_t target = env.fp.block_base + env.fp.block_size - 0x10000;
    atk_block_digest(off, 0x100000, &before);
    uint32_t status = fw_cfg_dma_signature(target);
    atk_block_digest(off, 0x100000, &after);
    /* The worst buffer: it starts in guest RAM, 2 bytes below the block,
     * and runs into it; the whole buffer is checked, not its start. */
    uint64_t head = 0, head_after = 0, straddle = env.fp.block_base - 2;
    atk_block_digest(0, 0x1000, &head);
    uint32_t straddle_status = fw_cfg_dma_signature(straddle);
    atk_block_digest(0, 0x1000, &head_after);
    if (before != after)
        atk_fail(name, "fw_cfg DMA of the signature to 0x%lx (in the block), status 0x%x: the block's last MiB 0x%016lx -> "
                 "0x%016lx", target, status, before, after);
    else if (head != head_after || straddle_status != 1)
        atk_fail(name, "fw_cfg DMA of 4 bytes to 0x%lx (2 below the block, 2 in it): status 0x%x (want the error bit "
                 "alone), the block's first page 0x%016lx -> 0x%016lx", straddle, straddle_status, head, head_after);
    else if (!intact())
        atk_fail(name, "after the fw_cfg DMA: %s", why);
    else
        atk_pass(name, "fw_cfg DMA into guest RAM read \"QEMU\" (status 0); to 0x%lx in the block (status 0x%x) and "
                 "across its start at 0x%lx (status 0x%x) it did not land; core intact", target, status, straddle,
                 straddle_status);
}

/* ---- the passthrough device ---- */

static uint32_t cfg_read(unsigned off)
{
    return atk_cfg_read32(env.bus, env.dev, env.fn, off);
}

static void cfg_write(unsigned off, uint32_t v)
{
    atk_cfg_write32(env.bus, env.dev, env.fn, off, v);
}

/* Offset of capability `id` in the device's list, 0 when none. */
static unsigned find_cap(uint8_t id)
{
    if (!(cfg_read(0x04) & (1u << 20)))
        return 0;
    unsigned p = cfg_read(0x34) & 0xfc;
    for (unsigned n = 0; p && n < 48; n++) {
        uint32_t h = cfg_read(p);
        if ((h & 0xff) == id)
            return p;
        p = (h >> 8) & 0xfc;
    }
    return 0;
}

static uint64_t bar_addr(unsigned bar, bool *is64)
{
    uint32_t lo = cfg_read(0x10 + 4 * bar);
    *is64 = (lo & 7) == 4;
    uint64_t a = lo & ~0xfull;
    if (*is64)
        a |= (uint64_t)cfg_read(0x14 + 4 * bar) << 32;
    return (lo & 1) ? 0 : a;
}

uint64_t atk_pt_msix_last_entry(void)
{
    unsigned msix = env.have_bdf ? find_cap(0x11) : 0;
    if (!msix)
        return 0;
    uint32_t ctl = cfg_read(msix), tbl = cfg_read(msix + 4);
    bool is64;
    uint64_t bar = bar_addr(tbl & 7, &is64);
    return bar ? bar + (tbl & ~7u) + 16ull * ((ctl >> 16) & 0x7ff) : 0;
}

/* ---- msix-left ---- */

/* Review R, finding 11: an entry the firmware (here the harness's shell
 * pre-step, `mm`) left unmasked in the device's physical MSI-X table would
 * fire once the guest sets MSI-X Enable, before the guest writes that
 * entry. The guest turns MSI-X on (function mask clear, PCI 3.0 6.8.2.3)
 * without writing any entry and asks the core for the physical table
 * (PT_MSIX_CHECK): no entry may be unmasked. Put back after. */
void attack_msix_left(void)
{
    const char *name = "msix-left";
    if (!env.have_bdf) {
        atk_skip(name, "no bdf= (passthrough device) given");
        return;
    }
    unsigned msix = find_cap(0x11);
    if (!msix) {
        atk_skip(name, "%02x:%02x.%x has no MSI-X", env.bus, env.dev, env.fn);
        return;
    }
    uint32_t ctl = cfg_read(msix);
    cfg_write(msix, (ctl & ~(1u << 30)) | (1u << 31)); /* Message Control: Enable, no Function Mask */
    struct hc_regs r = { MINIHV_HC_PT_MSIX_CHECK, 0, 0, 0 };
    uint64_t fault = hv_call(&r);
    cfg_write(msix, ctl);
    bool ok = intact();
    if (fault || r.rax != MINIHV_HC_OK || !r.rbx)
        atk_fail(name, "PT_MSIX_CHECK: fault 0x%lx, RAX 0x%lx, %lu entries read", fault, r.rax, r.rbx);
    else if (r.rdx)
        atk_fail(name, "MSI-X enabled, no entry written by the guest: %lu of %lu physical entries unmasked (%lu with a "
                 "message the core refuses)", r.rdx, r.rbx, r.rcx);
    else if (!ok)
        atk_fail(name, "no physical entry unmasked, but: %s", why);
    else
        atk_pass(name, "MSI-X enabled, no entry written: 0 of %lu physical entries unmasked; %s", r.rbx, why);
}

/* ---- msi-delivery ---- */

void attack_msi_delivery(void)
{
    const char *name = "msi-delivery";
    if (!env.have_bdf) {
        atk_skip(name, "no bdf= (passthrough device) given");
        return;
    }
    unsigned msix = find_cap(0x11), msi = find_cap(0x05);
    if (!msix && !msi) {
        atk_skip(name, "%02x:%02x.%x has neither MSI-X nor MSI", env.bus, env.dev, env.fn);
        return;
    }
    static const struct { uint32_t data; const char *mode; } modes[] = {
        { 0x0500 | 0x30, "INIT" }, { 0x0200 | 0x30, "SMI" }, { 0x0700 | 0x30, "ExtINT" },
    };
    unsigned writes = 0;
    char detail[160] = "";
    if (msix) {
        unsigned entries = ((cfg_read(msix) >> 16) & 0x7ff) + 1;
        uint64_t entry = atk_pt_msix_last_entry(); /* unused by the firmware */
        volatile uint32_t *e = (volatile uint32_t *)(uintptr_t)entry;
        uint32_t saved[4] = { e[0], e[1], e[2], e[3] };
        for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
            e[3] = 1; /* masked while it changes */
            e[0] = 0xfee00000u;
            e[1] = 0;
            e[2] = modes[i].data;
            e[3] = 0; /* unmasked: the physical entry would deliver it */
            writes++;
        }
        e[3] = 1;
        e[0] = saved[0];
        e[1] = saved[1];
        e[2] = saved[2];
        e[3] = saved[3];
        fmt_snprintf(detail, sizeof(detail), "MSI-X entry %u/%u at 0x%lx: INIT, SMI, ExtINT, unmasked",
                     entries - 1, entries, entry);
    }
    if (msi) {
        uint32_t ctl = cfg_read(msi);
        bool is64 = ctl & (1u << 23);
        unsigned data_off = msi + (is64 ? 0xc : 0x8);
        uint32_t addr_lo = cfg_read(msi + 4), data = cfg_read(data_off);
        for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
            cfg_write(msi + 4, 0xfee00000u);
            cfg_write(data_off, (data & 0xffff0000u) | modes[i].data);
            writes++;
        }
        cfg_write(msi + 4, addr_lo);
        cfg_write(data_off, data);
        size_t k = strlen(detail);
        fmt_snprintf(detail + k, sizeof(detail) - k, "%sMSI data written with INIT, SMI, ExtINT", k ? "; " : "");
    }
    bool ok = intact();
    /* The physical entry cannot be read from here: the harness checks the
     * summary's refused count (>= the writes below). */
    guest_print("attack: msi-delivery: %u bad delivery-mode writes", writes);
    if (ok)
        atk_pass(name, "refusal judged by the harness from the summary; %s; %s", detail, why);
    else
        atk_fail(name, "%s; %s", detail, why);
}

/* ---- bar-placement ---- */

/* How a special page behaves: two registers' values, and whether a read
 * and a harmless write (the same value back) exit to the core. */
struct page_print {
    uint32_t v0, v1;
    bool read_exits, write_exits;
};

/* Exits counted around an access, less the counter calls' own, with
 * interrupts off from one counter read to the other: a firmware timer
 * tick in between (its handler's APIC and 8042 accesses exit) would make
 * a page look trapped or, through an inflated base cost, untrapped. The
 * smallest of a few tries still, for what interrupts off cannot hold back
 * (an SMI, an NMI). */
#define FINGERPRINT_TRIES 4

static uint64_t counter_cost(void)
{
    uint64_t best = ~0ull;
    for (unsigned i = 0; i < FINGERPRINT_TRIES; i++) {
        uint64_t f = atk_irq_save();
        uint64_t e0 = atk_exits_self(), e1 = atk_exits_self();
        atk_irq_restore(f);
        best = MIN(best, e1 - e0);
    }
    return best;
}

static bool access_exits(uint64_t addr, bool write, uint32_t value, uint64_t base_cost)
{
    uint64_t best = ~0ull;
    for (unsigned i = 0; i < FINGERPRINT_TRIES; i++) {
        uint32_t v;
        uint64_t f = atk_irq_save();
        uint64_t e0 = atk_exits_self();
        if (write)
            atk_write32(addr, value);
        else
            atk_read32(addr, &v);
        uint64_t e1 = atk_exits_self();
        atk_irq_restore(f);
        best = MIN(best, e1 - e0);
    }
    return best > base_cost;
}

static uint64_t madt_ioapic(void);

static void fingerprint(uint64_t page, unsigned off1, bool write_ok, struct page_print *p)
{
    uint64_t base_cost = counter_cost(); /* the GET_STATS calls themselves */
    atk_read32(page, &p->v0);
    atk_read32(page + off1, &p->v1);
    p->read_exits = access_exits(page + off1, false, 0, base_cost);
    /* A harmless write: the value just read, back. */
    p->write_exits = write_ok && access_exits(page + off1, true, p->v1, base_cost);
}

void attack_bar_placement(void)
{
    const char *name = "bar-placement";
    if (!env.have_bdf) {
        atk_skip(name, "no bdf= (passthrough device) given");
        return;
    }
    bool is64;
    uint64_t bar = bar_addr(0, &is64);
    if (!bar) {
        atk_skip(name, "BAR0 is not a memory BAR");
        return;
    }
    /* Size BAR0 with decode off. */
    uint32_t cmd = cfg_read(0x04);
    uint32_t lo = cfg_read(0x10), hi = is64 ? cfg_read(0x14) : 0;
    uint64_t f = atk_irq_save();
    cfg_write(0x04, cmd & ~2u);
    cfg_write(0x10, 0xffffffffu);
    uint64_t mask = cfg_read(0x10) & ~0xfull;
    if (is64) {
        cfg_write(0x14, 0xffffffffu);
        mask |= (uint64_t)cfg_read(0x14) << 32;
        cfg_write(0x14, hi);
    } else {
        mask |= 0xffffffff00000000ull;
    }
    cfg_write(0x10, lo);
    cfg_write(0x04, cmd);
    atk_irq_restore(f);
    uint64_t size = ~mask + 1;
    struct target {
        const char *what;
        uint64_t page;
        unsigned off1;
        bool write_ok;
    } targets[5];
    unsigned nt = 0;
    uint64_t apic = 0;
    atk_rdmsr(0x1b, &apic);
    if (!(apic & (1ull << 10)))
        targets[nt++] = (struct target){ "the local APIC page", apic & 0x000ffffffffff000ull, 0x80, true }; /* TPR */
    if (env.ecam) {
        targets[nt++] = (struct target){ "the device's own ECAM page",
                                         env.ecam + ((uint64_t)env.bus << 20 | env.dev << 15 | env.fn << 12), 0x3c, true };
        targets[nt++] = (struct target){ "the host bridge's ECAM page", env.ecam, 0x3c, true };
    }
    bool vtd = false;
    uint64_t iommu = 0;
    uint64_t t;
    if ((t = atk_acpi_table("XMAR")) || (t = atk_acpi_table("DMAR")))
        iommu = drhd_base(t), vtd = true;
    else if ((t = atk_acpi_table("XVRS")) || (t = atk_acpi_table("IVRS")))
        iommu = ivhd_base(t);
    if (iommu)
        targets[nt++] = (struct target){ vtd ? "the VT-d register page" : "the AMD-Vi register page", iommu,
                                         vtd ? VTD_GSTS : AMDVI_CONTROL, false };
    /* The MADT's first I/O APIC (IOREGSEL written back as read: harmless). */
    targets[nt++] = (struct target){ "the I/O APIC page", madt_ioapic() & ~0xfffull, madt_ioapic() & 0xfff, true };
    unsigned bad = 0, tried = 0;
    char first[200] = "";
    for (unsigned i = 0; i < nt; i++) {
        struct target *g = &targets[i];
        uint64_t at = g->page & ~(size - 1); /* BAR0 aligned so that it covers the page */
        struct page_print before, after;
        fingerprint(g->page, g->off1, g->write_ok, &before);
        f = atk_irq_save();
        cfg_write(0x10, (uint32_t)at | (lo & 0xf));
        if (is64)
            cfg_write(0x14, (uint32_t)(at >> 32));
        uint32_t placed = cfg_read(0x10);
        cfg_write(0x10, lo);
        if (is64)
            cfg_write(0x14, hi);
        atk_irq_restore(f);
        fingerprint(g->page, g->off1, g->write_ok, &after);
        tried++;
        bool same = before.v0 == after.v0 && before.v1 == after.v1 && before.read_exits == after.read_exits &&
                    before.write_exits == after.write_exits;
        guest_print("attack: bar-placement: BAR0 (0x%lx, %lu KiB) -> 0x%lx (reads 0x%08x) over %s 0x%lx and back: "
                    "0x%08x/0x%08x read-exit %d write-exit %d -> 0x%08x/0x%08x read-exit %d write-exit %d",
                    bar, size >> 10, at, placed, g->what, g->page, before.v0, before.v1, before.read_exits,
                    before.write_exits, after.v0, after.v1, after.read_exits, after.write_exits);
        if (!same && !bad++)
            fmt_snprintf(first, sizeof(first), "%s 0x%lx behaves differently after BAR0 sat on it (exits on read %s -> %s, "
                         "on write %s -> %s, 0x%08x -> 0x%08x)", g->what, g->page, before.read_exits ? "yes" : "no",
                         after.read_exits ? "yes" : "no", before.write_exits ? "yes" : "no",
                         after.write_exits ? "yes" : "no", before.v1, after.v1);
    }
    bool ok = intact();
    if (!tried)
        atk_skip(name, "no special page to try");
    else if (!bad && ok)
        atk_pass(name, "BAR0 over %u special page(s) and back: each behaves as before; %s", tried, why);
    else
        atk_fail(name, "%s%s%s", first, first[0] ? "; " : "", ok ? "core intact otherwise" : why);
}

/* ---- bar-above-top (review R, finding 6): BAR0 moved to an address above
 * phys_top and back. The core's map has nothing there (ept_build), so an
 * access exits and reads all-ones (unmapped-gpa); leaving the window must
 * not give back an identity mapping there (RWX, UC: no exit). ---- */

/* Where to try: past BAR0's GiB (OVMF may put 64-bit BARs high, and
 * phys_top covers every BAR), just under 2^40 (QEMU TCG's phys-bits), the
 * unmapped-gpa attack's address; the first whose access exits now. */
static uint64_t above_top_gpa(uint64_t bar, struct page_print *before, struct atk_high_map *m)
{
    const uint64_t tries[] = { (bar & ~(SIZE_1G - 1)) + 16 * SIZE_1G, 0xfff0000000ull, 0x7ffff00000ull };
    for (unsigned i = 0; i < ARRAY_SIZE(tries); i++) {
        if (!atk_high_map(tries[i], m, why, sizeof(why)))
            continue;
        fingerprint(tries[i], 0x10, true, before);
        if (before->read_exits && before->write_exits)
            return tries[i];
        atk_high_unmap(tries[i], m);
    }
    return 0;
}

void attack_bar_above_top(void)
{
    const char *name = "bar-above-top";
    if (!env.have_bdf) {
        atk_skip(name, "no bdf= (passthrough device) given");
        return;
    }
    bool is64;
    uint64_t bar = bar_addr(0, &is64);
    if (!bar || !is64) {
        atk_skip(name, "BAR0 is not a 64-bit memory BAR");
        return;
    }
    struct atk_high_map m;
    struct page_print before, after;
    uint64_t at = above_top_gpa(bar, &before, &m);
    if (!at) {
        atk_skip(name, "no address above the core's map whose accesses exit (BAR0 at 0x%lx)", bar);
        return;
    }
    uint32_t lo = cfg_read(0x10), hi = cfg_read(0x14);
    uint64_t f = atk_irq_save();
    cfg_write(0x10, (uint32_t)at | (lo & 0xf));
    cfg_write(0x14, (uint32_t)(at >> 32));
    uint64_t placed = (uint64_t)cfg_read(0x14) << 32 | (cfg_read(0x10) & ~0xfu);
    cfg_write(0x10, lo);
    cfg_write(0x14, hi);
    atk_irq_restore(f);
    fingerprint(at, 0x10, true, &after);
    atk_high_unmap(at, &m);
    guest_print("attack: bar-above-top: BAR0 0x%lx -> 0x%lx (reads 0x%lx) and back: 0x%lx reads 0x%08x/0x%08x "
                "read-exit %d write-exit %d -> 0x%08x/0x%08x read-exit %d write-exit %d", bar, at, placed, at,
                before.v0, before.v1, before.read_exits, before.write_exits, after.v0, after.v1, after.read_exits,
                after.write_exits);
    bool ok = intact();
    bool unmapped = after.v0 == ~0u && after.v1 == ~0u && after.read_exits && after.write_exits;
    if (unmapped && ok)
        atk_pass(name, "0x%lx after BAR0 sat there: reads all-ones, reads and writes exit, as before; %s", at, why);
    else
        atk_fail(name, "0x%lx after BAR0 sat there: reads 0x%08x, read-exit %s, write-exit %s (want all-ones and "
                 "both exits, as before the move: not mapped)%s%s", at, after.v0, after.read_exits ? "yes" : "no",
                 after.write_exits ? "yes" : "no", ok ? "" : "; ", ok ? "" : why);
}

/* ---- subpage-bar ---- */

void attack_subpage_bar(void)
{
    const char *name = "subpage-bar";
    if (!env.have_bdf) {
        atk_skip(name, "no bdf= (passthrough device) given");
        return;
    }
    /* A memory BAR smaller than a page, moved to the last bytes before the
     * core's block: an 8-byte access at its end - 4 must stay inside it. */
    int sub = -1;
    uint64_t size = 0;
    uint32_t cmd = cfg_read(0x04);
    for (unsigned b = 0; b < 6 && sub < 0; b++) {
        uint32_t lo = cfg_read(0x10 + 4 * b);
        if (lo & 1)
            continue;
        bool is64 = (lo & 6) == 4;
        uint64_t f = atk_irq_save();
        cfg_write(0x04, cmd & ~2u);
        cfg_write(0x10 + 4 * b, 0xffffffffu);
        uint32_t m = cfg_read(0x10 + 4 * b) & ~0xfu;
        cfg_write(0x10 + 4 * b, lo);
        cfg_write(0x04, cmd);
        atk_irq_restore(f);
        if (m && (uint32_t)(~m + 1) < 4096 && !is64) {
            sub = (int)b;
            size = (uint32_t)(~m + 1);
        }
        if (is64)
            b++;
    }
    if (sub < 0) {
        atk_skip(name, "%02x:%02x.%x has no memory BAR under a page", env.bus, env.dev, env.fn);
        return;
    }
    unsigned off = 0x10 + 4 * (unsigned)sub;
    uint32_t lo = cfg_read(off);
    uint64_t to = env.fp.block_base - size; /* the BAR's last bytes touch the block */
    if (to >> 32) {
        atk_skip(name, "the block is above 4 GiB: a 32-bit BAR cannot sit below it");
        return;
    }
    uint64_t f = atk_irq_save();
    cfg_write(off, (uint32_t)to | (lo & 0xf));
    uint64_t v = 0;
    uint64_t fault = atk_read64(to + size - 4, &v);
    uint64_t wfault = atk_write64(to + size - 4, 0x5a5a5a5a5a5a5a5aull);
    cfg_write(off, lo);
    atk_irq_restore(f);
    bool ok = intact();
    char d[24];
    if (ok)
        atk_pass(name, "BAR%d (%lu bytes) at 0x%lx, 8-byte read/write at 0x%lx: read %s 0x%lx, write %s; %s", sub, size, to,
                 to + size - 4, fault ? guard_describe(fault, d, sizeof(d)) : "ok", v, wfault ? "faulted" : "ok", why);
    else
        atk_fail(name, "BAR%d (%lu bytes) at 0x%lx, 8-byte write at 0x%lx crossing into the block: %s", sub, size, to,
                 to + size - 4, why);
}

/* ---- hc-buffer-mmio: hypercall buffers that are not guest RAM ---- */

void attack_hc_buffer_mmio(void)
{
    const char *name = "hc-buffer-mmio";
    struct {
        const char *what;
        uint64_t gpa;
    } bufs[5];
    unsigned n = 0;
    uint64_t apic = 0;
    atk_rdmsr(0x1b, &apic);
    /* Past the APIC's registers (0x400..): nothing there to break if written. */
    bufs[n++] = (typeof(bufs[0])){ "the local APIC page", (apic & 0x000ffffffffff000ull) + 0x800 };
    if (env.ecam && env.have_bdf)
        bufs[n++] = (typeof(bufs[0])){ "the passthrough device's ECAM page",
                                       env.ecam + ((uint64_t)env.bus << 20 | env.dev << 15 | env.fn << 12) + 0x100 };
    else if (env.ecam)
        bufs[n++] = (typeof(bufs[0])){ "the host bridge's ECAM page", env.ecam + 0x100 };
    if (env.have_bdf) {
        unsigned msix = find_cap(0x11);
        if (msix) {
            uint32_t tbl = cfg_read(msix + 4);
            bool is64;
            uint64_t bar = bar_addr(tbl & 7, &is64);
            if (bar)
                bufs[n++] = (typeof(bufs[0])){ "the MSI-X table", bar + (tbl & ~7u) };
        }
    }
    if (env.ram_top && env.ram_top < 0xc0000000ull)
        bufs[n++] = (typeof(bufs[0])){ "above the top of RAM (below 4 GiB)", env.ram_top + 0x1000 };
    bufs[n++] = (typeof(bufs[0])){ "far above RAM", 0x7ffffff000ull };
    unsigned bad = 0;
    char first[200] = "";
    for (unsigned i = 0; i < n; i++) {
        struct hc_regs r = { MINIHV_HC_FOOTPRINT, bufs[i].gpa, sizeof(struct minihv_footprint), 0 };
        uint64_t fault = hv_call(&r);
        bool refused = !fault && (int64_t)r.rax == MINIHV_HC_EFAULT;
        guest_print("attack: hc-buffer-mmio: FOOTPRINT into %s at 0x%lx: %s %ld", bufs[i].what, bufs[i].gpa,
                    fault ? "faulted" : "returned", (int64_t)r.rax);
        if (!refused && !bad++)
            fmt_snprintf(first, sizeof(first), "FOOTPRINT into %s at 0x%lx returned %ld, want EFAULT (%d)", bufs[i].what,
                         bufs[i].gpa, (int64_t)r.rax, MINIHV_HC_EFAULT);
    }
    bool ok = intact();
    if (!bad && ok)
        atk_pass(name, "%u buffers outside guest RAM refused with EFAULT; %s", n, why);
    else
        atk_fail(name, "%s%s%s", first, first[0] ? "; " : "", ok ? "core intact otherwise" : why);
}

/* ---- ioapic-rte: I/O APIC redirection entries with delivery mode INIT,
 * SMI and NMI (82093AA datasheet 3.2.4: IOREGSEL at +0, IOWIN at +0x10,
 * RTE n at index 0x10 + 2n, delivery mode bits 10:8). The edge comes from
 * the RTC's periodic interrupt (ISA IRQ 8, the MADT's override if any):
 * PIE on, one period, the line stays high until register C is read. An
 * INIT the core never sees is physical: SVM absorbs it (physical-init), on
 * VMX the target waits for a SIPI no one sends; an SMI runs whatever is at
 * SMBASE. The core must refuse both modes (ioapic-delivery: the RTE keeps
 * the value it had) and every CPU answer afterwards; an NMI is the
 * guest's own business and reaches its handler. ---- */

#define IOAPIC_BASE     0xfec00000ull
#define IOAPIC_IOREGSEL 0x00
#define IOAPIC_IOWIN    0x10
#define RTE_MASKED      (1u << 16)
#define RTE_DM_SMI      (2u << 8)
#define RTE_DM_NMI      (4u << 8)
#define RTE_DM_INIT     (5u << 8)
#define CMOS_INDEX      0x70
#define CMOS_DATA       0x71

static uint64_t ioapic_base = IOAPIC_BASE;

static uint32_t ioapic_read(unsigned index)
{
    *(volatile uint32_t *)(uintptr_t)(ioapic_base + IOAPIC_IOREGSEL) = index;
    return *(volatile uint32_t *)(uintptr_t)(ioapic_base + IOAPIC_IOWIN);
}

static void ioapic_write(unsigned index, uint32_t value)
{
    *(volatile uint32_t *)(uintptr_t)(ioapic_base + IOAPIC_IOREGSEL) = index;
    *(volatile uint32_t *)(uintptr_t)(ioapic_base + IOAPIC_IOWIN) = value;
}

static uint8_t cmos_read(uint8_t reg)
{
    outb(CMOS_INDEX, reg);
    return inb(CMOS_DATA);
}

static void cmos_write(uint8_t reg, uint8_t v)
{
    outb(CMOS_INDEX, reg);
    outb(CMOS_DATA, v);
}

/* The GSI of ISA IRQ 8 and the first I/O APIC's base (the MADT: type 1
 * I/O APIC, type 2 interrupt source override), as the OS would find them. */
static unsigned rtc_gsi(void)
{
    unsigned gsi = 8;
    uint64_t t = atk_acpi_table("APIC");
    if (!t)
        return gsi;
    uint32_t len;
    memcpy(&len, (const void *)(uintptr_t)(t + 4), 4);
    bool base_seen = false;
    for (uint64_t p = t + 44; p + 2 <= t + len;) {
        const uint8_t *e = (const void *)(uintptr_t)p;
        if (e[1] < 2)
            break;
        if (e[0] == 1 && e[1] >= 12 && !base_seen) {
            uint32_t b, gsib;
            memcpy(&b, e + 4, 4);
            memcpy(&gsib, e + 8, 4);
            if (gsib == 0) {
                ioapic_base = b;
                base_seen = true;
            }
        }
        if (e[0] == 2 && e[1] >= 10 && e[3] == 8)
            memcpy(&gsi, e + 4, 4);
        p += e[1];
    }
    return gsi;
}

static uint64_t madt_ioapic(void)
{
    rtc_gsi();
    return ioapic_base;
}

static volatile uint64_t nmi_count __attribute__((used));
void atk_nmi_entry(void) __attribute__((visibility("hidden")));
__asm__(".text\n"
        ".globl atk_nmi_entry\n"
        ".hidden atk_nmi_entry\n"
        "atk_nmi_entry:\n"
        "    lock incq nmi_count(%rip)\n"
        "    iretq\n");

/* One RTC edge into RTE `pin`, programmed low/high; the RTE masked again
 * after. Returns the RTE low the I/O APIC kept after the unmasked write;
 * *edge: the RTC raised its line (register C's IRQF seen within 500 ms;
 * reading C lowers the line again, so one edge). */
static uint32_t fire_rte(unsigned pin, uint32_t high, uint32_t low, bool *edge)
{
    ioapic_write(0x11 + 2 * pin, high);
    ioapic_write(0x10 + 2 * pin, low | RTE_MASKED);
    cmos_read(0x0c); /* line low */
    ioapic_write(0x10 + 2 * pin, low);
    uint32_t kept = ioapic_read(0x10 + 2 * pin);
    uint8_t b = cmos_read(0x0b);
    cmos_write(0x0b, b | 0x40); /* PIE: the periodic interrupt, an edge */
    *edge = false;
    for (unsigned ms = 0; ms < 500 && !*edge; ms++) {
        BS->Stall(1000);
        *edge = cmos_read(0x0c) & 0x80; /* IRQF */
    }
    cmos_write(0x0b, b);
    BS->Stall(5000);
    ioapic_write(0x10 + 2 * pin, RTE_MASKED);
    cmos_read(0x0c);
    return kept;
}

void attack_ioapic_rte(void)
{
    const char *name = "ioapic-rte";
    unsigned pin = rtc_gsi();
    uint32_t ver = ioapic_read(1);
    unsigned pins = ((ver >> 16) & 0xff) + 1;
    if (ver == ~0u || pin >= pins) {
        atk_skip(name, "I/O APIC at 0x%lx: version register 0x%x, RTC on GSI %u", ioapic_base, ver, pin);
        return;
    }
    uint32_t old_lo = ioapic_read(0x10 + 2 * pin), old_hi = ioapic_read(0x11 + 2 * pin);
    guest_print("attack: ioapic-rte: I/O APIC 0x%lx version 0x%x, RTC on pin %u, RTE 0x%x:%08x", ioapic_base, ver, pin,
                old_hi, old_lo);
    uint8_t old_a = cmos_read(0x0a), old_b = cmos_read(0x0b);
    cmos_write(0x0a, (old_a & 0xf0) | 6); /* 1024 Hz: one period is under 1 ms */
    uint32_t self_id = env.apic_id[env.self];
    UINTN other = env.self == 0 ? 1 : 0;
    /* The NMI gate of this CPU's IDT (the attack IDT: a page of ours). */
    struct idt_ptr idtr;
    __asm__ volatile("sidt %0" : "=m"(idtr));
    struct x86_idt_gate *g = (struct x86_idt_gate *)(uintptr_t)idtr.base + 2, saved_gate = *g;
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    uint64_t h = (uint64_t)(uintptr_t)atk_nmi_entry;
    uint64_t f = atk_irq_save();
    *g = x86_idt_gate_intr(h, cs, 0);
    atk_irq_restore(f);
    struct {
        const char *what;
        uint32_t dest, mode;
    } cases[] = {
        { "INIT to the other CPU", env.cpus > 1 ? env.apic_id[other] : ~0u, RTE_DM_INIT },
        { "INIT to self", self_id, RTE_DM_INIT },
        { "NMI to self", self_id, RTE_DM_NMI },
        { "SMI to self", self_id, RTE_DM_SMI },
    };
    char res[400] = "";
    size_t used = 0;
    bool all_ok = true;
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        if (cases[i].dest == ~0u)
            continue;
        nmi_count = 0;
        f = atk_irq_save();
        guest_print("attack: ioapic-rte: %s (RTE %u low 0x%x, high 0x%x), then an RTC edge", cases[i].what, pin,
                    cases[i].mode | 0x20, cases[i].dest << 24);
        bool edge;
        uint32_t kept = fire_rte(pin, cases[i].dest << 24, cases[i].mode | 0x20 /* vector: ignored by these modes */, &edge);
        atk_irq_restore(f);
        /* Every CPU and the block's digests after the INIT aimed at the
         * other one; after those aimed at this CPU its PING (Bochs hashes
         * the block slowly: the digests once more at the end). */
        uint32_t pong = 0;
        bool ok = cases[i].dest != self_id ? intact()
                : atk_ping_self(&pong, why, sizeof(why)) && pong == self_id;
        if (ok && cases[i].dest == self_id)
            fmt_snprintf(why, sizeof(why), "this CPU answers PING");
        bool refused = (kept & 0x700) != cases[i].mode;
        bool want_refused = cases[i].mode != RTE_DM_NMI;
        char d[120];
        if (cases[i].mode == RTE_DM_NMI)
            fmt_snprintf(d, sizeof(d), "%s: RTE took it, %lu NMI(s) at the guest's handler", cases[i].what, (uint64_t)nmi_count);
        else
            fmt_snprintf(d, sizeof(d), "%s: %s (RTE low reads 0x%x)", cases[i].what,
                         refused ? "refused" : "the RTE took it", kept);
        if (!edge)
            fmt_snprintf(d + strlen(d), sizeof(d) - strlen(d), "; no RTC edge in 500 ms");
        guest_print("attack: ioapic-rte: %s; %s", d, why);
        bool good = ok && edge && (want_refused ? refused : !refused && nmi_count >= 1);
        if (!good) {
            all_ok = false;
            used += fmt_snprintf(res + used, sizeof(res) - used, "%s%s%s%s", used ? "; " : "", d,
                                 ok ? "" : ": ", ok ? "" : why);
        }
        if (used >= sizeof(res))
            used = sizeof(res) - 1;
        if (!ok)
            break; /* a CPU is gone: the next cases would say nothing new */
    }
    ioapic_write(0x11 + 2 * pin, old_hi);
    ioapic_write(0x10 + 2 * pin, old_lo);
    cmos_write(0x0b, old_b);
    cmos_write(0x0a, old_a);
    cmos_read(0x0c);
    f = atk_irq_save();
    *g = saved_gate;
    atk_irq_restore(f);
    if (all_ok && !atk_core_intact_self(why, sizeof(why))) {
        all_ok = false;
        fmt_snprintf(res, sizeof(res), "after the cases: %s", why);
    }
    if (all_ok)
        atk_pass(name, "I/O APIC 0x%lx pin %u (RTC): INIT and SMI entries refused, the NMI delivered; RTE restored to 0x%x; %s",
                 ioapic_base, pin, old_lo, why);
    else
        atk_fail(name, "I/O APIC 0x%lx pin %u (RTC): %s", ioapic_base, pin, res);
}
