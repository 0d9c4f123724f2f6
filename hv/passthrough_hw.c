/* The passthrough model (passthrough.c) on the machine: its guest-physical
 * map is the EPT/NPT, its config access ECAM or CF8/CFC, its MMIO the
 * core's identity map. One lock serializes the model: the guest's CPUs
 * may touch the device at once. */
#include <minihv/format.h>
#include <minihv/io.h>
#include <minihv/libc.h>
#include <minihv/x86.h>
#include <drivers/igd/bar_judged.h>
#include "hv/console.h"
#include "hv/devmodel.h"
#include "hv/ept.h"
#include "hv/extable.h"
#include "hv/hv.h"
#include "hv/io.h"
#include "hv/lock.h"
#include "hv/passthrough.h"
#include "hv/passthrough_hw.h"
#include "hv/refuse.h"
#include "hv/special_pages.h"
#include "hv/vcpu.h"

#define CONF1_FIRST 0xcf8
#define CONF1_PORTS 8 /* CONFIG_ADDRESS, RST_CNT (0xcf9), CONFIG_DATA */
#define CONF1_DATA  0xcfc
#define CONF1_DATA_PORTS 4
#define CONF1_ENABLE (1u << 31)

static struct pt_device pt;
static struct spinlock pt_lock;   /* the model */
static struct spinlock conf1_lock; /* the hardware's CONFIG_ADDRESS latch */
static bool pt_active;
/* Only CONFIG_DATA (0xcfc-0xcff) exits; the guest's CONFIG_ADDRESS is in
 * the hardware and every config access the core makes for the guest goes
 * through ECAM (passthrough_register_ports). */
static bool conf1_data_only;

static int hw_map(void *o, uint64_t gpa, uint64_t hpa, uint64_t size, uint32_t attrs)
{
    (void)o;
    return ept_map(gpa, hpa, size, attrs);
}

static int hw_trap(void *o, uint64_t gpa, uint64_t size)
{
    (void)o;
    return ept_unmap(gpa, size);
}

static int hw_identity(void *o, uint64_t gpa, uint64_t size)
{
    (void)o;
    return ept_restore_identity(gpa, size);
}

static void hw_flush(void *o)
{
    (void)o;
    ept_changed();
}

static volatile void *ecam_ptr(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
    uint64_t page = ptdev_ecam_page(&pt, bus, dev, fn);
    return page ? (volatile void *)(uintptr_t)(page + off) : NULL;
}

static uint32_t conf1_address(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
    return 0x80000000u | (uint32_t)bus << 16 | (uint32_t)dev << 11 | (uint32_t)fn << 8 | (off & 0xfc) |
           (uint32_t)(off & 0xf00) << 16;
}

static uint32_t hw_cfg_read(void *o, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, unsigned size)
{
    (void)o;
    volatile void *p = ecam_ptr(bus, dev, fn, off);
    if (p)
        return size == 1 ? *(volatile uint8_t *)p : size == 2 ? *(volatile uint16_t *)p : *(volatile uint32_t *)p;
    uint32_t v = 0;
    spin_lock(&conf1_lock);
    uint32_t guest = inl(0xcf8); /* the guest's, when it writes CONFIG_ADDRESS itself */
    outl(0xcf8, conf1_address(bus, dev, fn, off));
    io_hw((uint16_t)(0xcfc + (off & 3)), size, true, &v);
    outl(0xcf8, guest);
    spin_unlock(&conf1_lock);
    return v;
}

static void hw_cfg_write(void *o, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, unsigned size, uint32_t v)
{
    (void)o;
    volatile void *p = ecam_ptr(bus, dev, fn, off);
    if (p) {
        if (size == 1)
            *(volatile uint8_t *)p = (uint8_t)v;
        else if (size == 2)
            *(volatile uint16_t *)p = (uint16_t)v;
        else
            *(volatile uint32_t *)p = v;
        return;
    }
    spin_lock(&conf1_lock);
    uint32_t guest = inl(0xcf8);
    outl(0xcf8, conf1_address(bus, dev, fn, off));
    io_hw((uint16_t)(0xcfc + (off & 3)), size, false, &v);
    outl(0xcf8, guest);
    spin_unlock(&conf1_lock);
}

bool passthrough_bridge_buses(void *opaque, uint16_t segment, uint8_t bus, uint8_t dev, uint8_t fn, uint8_t *secondary,
                              uint8_t *subordinate)
{
    (void)opaque;
    if (segment != (hv_boot && hv_boot->pt.present ? hv_boot->pt.segment : 0) || dev > 31 || fn > 7)
        return false;
    uint32_t id = hw_cfg_read(NULL, bus, dev, fn, 0x00, 4);
    if ((id & 0xffff) == 0xffff || (hw_cfg_read(NULL, bus, dev, fn, 0x0e, 1) & 0x7f) != 1)
        return false;
    uint32_t nums = hw_cfg_read(NULL, bus, dev, fn, 0x18, 4); /* PCI-to-PCI Bridge Arch 1.2, 3.2.5.3-5 */
    *secondary = (uint8_t)(nums >> 8);
    *subordinate = (uint8_t)(nums >> 16);
    return true;
}

/* A CONFIG_DATA access the model leaves to the hardware (not the device's,
 * not a bridge's or guarded function's), through ECAM when only the data
 * ports exit: CONFIG_ADDRESS is then the guest's to write at any time from
 * any CPU, so a CF8/CFC pair of the core's could be redirected between its
 * two halves. Bits 27:24 are the extended register number where the
 * chipset decodes them (pt.conf1_ext_regs), ignored elsewhere, as the
 * model reads them. With the enable bit clear, or a bus
 * outside the MCFG window: no config cycle, reads all-ones, writes go
 * nowhere (a master abort, PCI 3.0 6.2.2). */
static void ecam_conf1(uint32_t addr, uint16_t port, unsigned size, bool in, uint32_t *value)
{
    uint16_t off = conf1_register(addr, port, pt.conf1_ext_regs);
    volatile void *p = (addr & CONF1_ENABLE) && (port & 3) + size <= 4
                           ? ecam_ptr((uint8_t)(addr >> 16), (addr >> 11) & 31, (addr >> 8) & 7, off)
                           : NULL;
    if (!p) {
        if (in)
            *value = size >= 4 ? ~0u : (1u << (8 * size)) - 1;
        return;
    }
    if (in)
        *value = size == 1 ? *(volatile uint8_t *)p : size == 2 ? *(volatile uint16_t *)p : *(volatile uint32_t *)p;
    else if (size == 1)
        *(volatile uint8_t *)p = (uint8_t)*value;
    else if (size == 2)
        *(volatile uint16_t *)p = (uint16_t)*value;
    else
        *(volatile uint32_t *)p = *value;
}

static void hw_conf1(void *o, uint32_t addr, uint16_t port, unsigned size, bool in, uint32_t *value)
{
    (void)o;
    if (conf1_data_only) {
        ecam_conf1(addr, port, size, in, value);
        return;
    }
    spin_lock(&conf1_lock);
    if (port >= 0xcfc)
        outl(0xcf8, addr);
    io_hw(port, size, in, value);
    spin_unlock(&conf1_lock);
}

static uint64_t hw_mmio_read(void *o, uint64_t hpa, unsigned size)
{
    (void)o;
    volatile void *p = (volatile void *)(uintptr_t)hpa;
    switch (size) {
    case 1: return *(volatile uint8_t *)p;
    case 2: return *(volatile uint16_t *)p;
    case 4: return *(volatile uint32_t *)p;
    default: return *(volatile uint64_t *)p;
    }
}

static void hw_mmio_write(void *o, uint64_t hpa, unsigned size, uint64_t v)
{
    (void)o;
    devmodel_write_mmio(hpa, size, v);
}

static const void *hw_phys_ptr(void *o, uint64_t pa)
{
    (void)o;
    return pa && hv_boot && pa < hv_boot->phys_top ? (const void *)(uintptr_t)pa : NULL;
}

static void hw_log(void *o, const char *msg)
{
    (void)o;
    hv_log("%s", msg);
}

static const struct pt_platform platform = {
    hw_map, hw_trap, hw_identity, hw_flush, hw_cfg_read, hw_cfg_write, hw_conf1,
    hw_mmio_read, hw_mmio_write, hw_phys_ptr, hw_log, NULL, &hv_special, 0, /* host_top: phys_top, at init */
};

/* The model's own refusal counters, seen under pt_lock; what moved since
 * the last look goes to the core's refused counts (hv/refuse.h) outside
 * the lock. */
struct refusals {
    uint64_t placement, bounds, guarded, pm_block, path; /* guarded config writes dropped, by pt_guard_kind */
    uint64_t judged; /* BAR writes dropped at a judged range (the IGD's MCHBAR mirror) */
    uint64_t msi_address, msi_delivery; /* the vfio model's, MSI and MSI-X (vfio/msi.h) */
};

static struct refusals refusals_taken(void)
{
    static struct refusals seen;
    struct refusals now = { pt.count.placement_refused, pt.count.bounds_refused,
                            pt.count.guarded_writes_dropped[PT_GUARD_IOMMU],
                            pt.count.guarded_writes_dropped[PT_GUARD_PM_BLOCK],
                            pt.count.guarded_writes_dropped[PT_GUARD_PATH], pt.vfio.judged_dropped,
                            pt.vfio.config.msi_refused + pt.vfio.msix.refused,
                            pt.vfio.config.msi_refused_delivery + pt.vfio.msix.refused_delivery };
    struct refusals d = { now.placement - seen.placement, now.bounds - seen.bounds, now.guarded - seen.guarded,
                          now.pm_block - seen.pm_block, now.path - seen.path, now.judged - seen.judged,
                          now.msi_address - seen.msi_address, now.msi_delivery - seen.msi_delivery };
    seen = now;
    return d;
}

static void refusals_report(struct refusals d)
{
    hv_refuse_add(HV_REFUSE_BAR_PLACEMENT, d.placement,
                  "a passthrough BAR placed over the core's block, a special page or another window: not mapped");
    hv_refuse_add(HV_REFUSE_MMIO_BOUNDS, d.bounds,
                  "an access in a sub-page BAR's page that crosses the page end or runs into a window: refused");
    hv_refuse_add(HV_REFUSE_CONFIG_GUARD, d.path,
                  "a config write to the registers that move where config space decodes (PCIEXBAR, a bridge above "
                  "the device): dropped");
    hv_refuse_add(HV_REFUSE_IOMMU_REGS, d.guarded,
                  "a config write to the registers that place an IOMMU's register set: dropped");
    hv_refuse_add(HV_REFUSE_IOMMU_REGS, d.judged,
                  "a write to the IGD's MCHBAR mirror of GFXVTBAR/VTDPVC0BAR (BAR0 + 0x145400, "
                  "drivers/igd/bar_judged.h): would move a VT-d unit, dropped");
    hv_refuse_add(HV_REFUSE_PM_RELOCATE, d.pm_block,
                  "a config write to the south bridge registers that place or enable the ACPI I/O block and its "
                  "PM1_CNT (Intel LPC PMBASE/ACPI_CNTL, PMC ABASE/ACTL, PIIX4 PMBA/PMREGMISC): dropped");
    hv_refuse_add(HV_REFUSE_MSI_ADDRESS, d.msi_address,
                  "an MSI/MSI-X message addressed outside 0xFEEx_xxxx: the device keeps it masked");
    hv_refuse_add(HV_REFUSE_MSI_DELIVERY_MODE, d.msi_delivery,
                  "an MSI/MSI-X message with delivery mode SMI, NMI, INIT, ExtINT or reserved: the device "
                  "keeps it masked");
}

static int guard_config(enum pt_guard_kind kind, uint16_t segment, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t lo,
                        uint16_t hi, const char *what)
{
    if (!pt_active || segment != hv_boot->pt.segment) {
        hv_log("passthrough: %s at %04x:%02x:%02x.%x [0x%x,0x%x) NOT guarded: config space is trapped only with a "
               "passthrough device on that segment or config_guard = on (segment 0)", what, segment, bus, dev, fn, lo,
               hi);
        return -1;
    }
    spin_lock(&pt_lock);
    int rc = ptdev_guard_config(&pt, kind, bus, dev, fn, lo, hi);
    spin_unlock(&pt_lock);
    hv_log("passthrough: %s at %04x:%02x:%02x.%x config [0x%x,0x%x): %s", what, segment, bus, dev, fn, lo, hi,
           rc ? "NOT guarded (table full or the device itself)" : "writes dropped, reads through");
    return rc;
}

int passthrough_guard_config(uint16_t segment, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t lo, uint16_t hi,
                             const char *what)
{
    return guard_config(PT_GUARD_IOMMU, segment, bus, dev, fn, lo, hi, what);
}

/* The ACPI I/O block (PM1a_CNT among its registers) is placed by config
 * registers of the Intel south bridge: PMBASE (ACPI_BASE) at 0x40 and
 * ACPI_CNTL at 0x44 (ACPI_EN, bit 7) of the LPC bridge 00:1f.0 (ICH/PCH
 * up to 9-series; QEMU q35's ICH9 8086:2918, hw/isa/lpc_ich9.c), of the
 * PMC 00:1f.2 from the 100-series PCH on (ABASE 0x40, ACTL 0x44; coreboot
 * soc/intel/.../pmc.h); on the PIIX4 (440BX boards, QEMU pc and Bochs at
 * 00:01.3, 8086:7113) PMBA at 0x40 and PMREGMISC 0x80 (PMIOSE, bit 0;
 * 82371AB datasheet 7.1; QEMU hw/acpi/piix4.c pm_io_space_update). A
 * guest that moves the block writes SLP_EN at a PM1_CNT no intercept
 * covers (docs/security.md, "Sleep states"), so those registers are
 * guarded: reads through, writes dropped and counted pm-relocate. Bus 0
 * of segment 0, where the chipset has them. PCI class codes: 0x0601 ISA
 * bridge, 0x0580 other memory controller (the PMC's). */
static void guard_acpi_block(void)
{
    static const struct {
        uint8_t dev, fn;
        uint32_t id;        /* vendor | device << 16; device 0: any Intel device of the class */
        uint16_t class_code;
        uint16_t lo, hi;
        const char *what;
    } fns[] = {
        { 31, 0, 0x8086, 0x0601, 0x40, 0x48, "ACPI I/O block: PMBASE/ACPI_CNTL of the Intel LPC bridge" },
        { 31, 2, 0x8086, 0x0580, 0x40, 0x48, "ACPI I/O block: ABASE/ACTL of the Intel PMC" },
        { 1, 3, 0x71138086, 0, 0x40, 0x44, "ACPI I/O block: PMBA of the PIIX4 PM function" },
        { 1, 3, 0x71138086, 0, 0x80, 0x81, "ACPI I/O block: PMREGMISC (PMIOSE) of the PIIX4 PM function" },
        { 7, 3, 0x71138086, 0, 0x40, 0x44, "ACPI I/O block: PMBA of the PIIX4 PM function" },
        { 7, 3, 0x71138086, 0, 0x80, 0x81, "ACPI I/O block: PMREGMISC (PMIOSE) of the PIIX4 PM function" },
    };
    if (hv_boot->pt.segment != 0)
        return;
    for (unsigned k = 0; k < sizeof(fns) / sizeof(fns[0]); k++) {
        spin_lock(&pt_lock);
        uint32_t id = hw_cfg_read(NULL, 0, fns[k].dev, fns[k].fn, 0x00, 4);
        uint32_t class_rev = hw_cfg_read(NULL, 0, fns[k].dev, fns[k].fn, 0x08, 4);
        spin_unlock(&pt_lock);
        bool match = fns[k].id >> 16 ? id == fns[k].id
                                     : (id & 0xffff) == fns[k].id && class_rev >> 16 == fns[k].class_code;
        if (match)
            guard_config(PT_GUARD_PM_BLOCK, 0, 0, fns[k].dev, fns[k].fn, fns[k].lo, fns[k].hi, fns[k].what);
    }
}

/* One CONFIG_DATA access of size 1, 2 or 4 within 0xcfc-0xcff, with the
 * guest's CONFIG_ADDRESS read from the hardware (conf1_data_only): the
 * CPU that exited reads at 0xcf8 what its own data access would have used.
 * CONFIG_ADDRESS is one register of the host bridge (PCI Local Bus 3.0
 * 3.2.2.3.2), shared by the CPUs; a guest keeps its CF8 write and the
 * CFC access that follows together under a lock of its own (Linux:
 * pci_config_lock), as it must on hardware. SMM saves and restores CF8.
 * Under pt_lock, as every core access through CF8 (hw_cfg_*), which put
 * the guest's value back. */
static enum minihv_exit_kind data_access(uint16_t port, unsigned size, bool in, uint32_t *value)
{
    if (conf1_data_only) {
        uint32_t addr = inl(0xcf8);
        ptdev_conf1_io(&pt, 0xcf8, 4, false, &addr);
    }
    return ptdev_conf1_io(&pt, port, size, in, value);
}

/* With a passthrough device. With ECAM (the usual case): only 0xcfc-0xcff
 * exit (conf1_data_only); CONFIG_ADDRESS writes and RST_CNT (0xcf9) go to
 * the hardware, no exit (issue 15: a dword at 0xcf8 exited for 0xcf9's
 * bit, SDM Vol. 3C 26.1.3, APM Vol. 2 15.10.2). An access that also
 * touches ports outside 0xcfc-0xcff (a dword at 0xcfa or 0xcfe) is split
 * as the bus sees it: the bytes outside go to the hardware one by one, the
 * data part to the model in one piece when it is 1, 2 or 4 bytes, else
 * byte by byte. Without ECAM: 0xcf8-0xcff exit; the model keeps the
 * guest's CONFIG_ADDRESS, and a write that covers 0xcf9 (a byte there, a
 * word at 0xcf8, anything but the dword at 0xcf8) is RST_CNT's, the
 * reset the summary is printed for (vcpu_reset_port_io). */
static bool conf1_io(struct vcpu *v, uint16_t port, unsigned size, bool in, uint32_t *value)
{
    if (!conf1_data_only && ((port == 0xcf9 && size == 1) ||
                             (!in && port <= 0xcf9 && port + size > 0xcf9 && !(port == 0xcf8 && size == 4))))
        return vcpu_reset_port_io(v, port, size, in, value);
    if (!pt_active) {
        io_hw(port, size, in, value);
        return true;
    }
    enum minihv_exit_kind kind = MINIHV_EXIT_IO;
    spin_lock(&pt_lock);
    uint32_t first = port, end = (uint32_t)port + size;
    uint32_t lo = first > CONF1_DATA ? first : CONF1_DATA;
    uint32_t hi = end < CONF1_DATA + CONF1_DATA_PORTS ? end : CONF1_DATA + CONF1_DATA_PORTS;
    if (!conf1_data_only || (lo == first && hi == end)) {
        kind = conf1_data_only ? data_access(port, size, in, value) : ptdev_conf1_io(&pt, port, size, in, value);
    } else {
        uint32_t out = 0;
        for (uint32_t p = first; p < end; p++) {
            unsigned shift = 8 * (p - first);
            uint32_t piece = (*value >> shift) & 0xff;
            unsigned n = 1;
            if (p == lo && lo < hi && (hi - lo == 2 || hi - lo == 4))
                n = hi - lo;
            if (n > 1)
                piece = (uint32_t)(((uint64_t)*value >> shift) & ((1ull << (8 * n)) - 1));
            enum minihv_exit_kind k = MINIHV_EXIT_IO;
            if (p >= lo && p < hi)
                k = data_access((uint16_t)p, n, in, &piece);
            else
                io_hw((uint16_t)p, 1, in, &piece);
            if (k != MINIHV_EXIT_IO)
                kind = k;
            out |= (piece & (uint32_t)((1ull << (8 * n)) - 1)) << shift;
            p += n - 1;
        }
        if (in)
            *value = out;
    }
    struct refusals r = refusals_taken();
    spin_unlock(&pt_lock);
    refusals_report(r);
    if (kind != MINIHV_EXIT_IO)
        vcpu_recount(v, MINIHV_EXIT_IO, kind);
    return true;
}

/* The IGD's I/O BAR (MMIO_INDEX/MMIO_DATA, ptdev_igd_io_write): trapped
 * where the device has judged BAR0 ranges, so a register write by port
 * meets them too. Under pt_lock, as every access to the pair exits, the
 * hardware's MMIO_INDEX read here is the one the data write would use.
 * Reads and everything else go to the hardware. */
static uint16_t igd_io_base;

static bool igd_index_io(struct vcpu *v, uint16_t port, unsigned size, bool in, uint32_t *value)
{
    (void)v;
    spin_lock(&pt_lock);
    bool done = false;
    if (!in && pt_active)
        done = ptdev_igd_io_write(&pt, inl(igd_io_base), (unsigned)(port - igd_io_base), size, *value);
    if (!done)
        io_hw(port, size, in, value);
    struct refusals r = refusals_taken();
    spin_unlock(&pt_lock);
    refusals_report(r);
    return true;
}

/* -1 when the pair cannot be intercepted: a register write by port would
 * pass the judged ranges, so the core does not start. */
static int register_igd_io(const struct minihv_passthrough *s)
{
    uint16_t vendor = (uint16_t)(s->cfg[0] | s->cfg[1] << 8), device = (uint16_t)(s->cfg[2] | s->cfg[3] << 8);
    const struct igd_bar_judged *judged[IGD_BAR_JUDGED_MAX];
    if (!s->present || (s->flags & MINIHV_PT_IGD_FORCED) || s->cfg[0x0b] != 0x03 ||
        !igd_bar_judged_ranges(vendor, device, judged, IGD_BAR_JUDGED_MAX))
        return 0;
    for (unsigned i = 0; i < 6; i++) {
        const struct minihv_pt_bar *b = &s->bars[i];
        if (!b->io || b->size < 8 || !b->addr || b->addr > 0xfff8)
            continue;
        igd_io_base = (uint16_t)b->addr;
        int rc = io_register(igd_io_base, 8, igd_index_io, "the IGD's MMIO index/data");
        hv_log("passthrough: IGD I/O BAR%u 0x%x (MMIO_INDEX/MMIO_DATA) %s", i, igd_io_base,
               rc ? "NOT intercepted (port table full): not virtualizing"
                  : "intercepted: a register write by port meets BAR0's judged ranges");
        return rc ? -1 : 0;
    }
    return 0;
}

int passthrough_register_ports(const struct minihv_boot_info *bi)
{
    if (register_igd_io(&bi->pt))
        return -1;
    if (!bi->pt.present && !(bi->pt.flags & MINIHV_PT_CONFIG_GUARD))
        return 0; /* no port of 0xcf8-0xcff exits (docs/security.md; config_guard = on: they do) */
    conf1_data_only = bi->pt.ecam_base && bi->pt.segment == 0;
    uint16_t first = conf1_data_only ? CONF1_DATA : CONF1_FIRST;
    uint32_t count = conf1_data_only ? CONF1_DATA_PORTS : CONF1_PORTS;
    if (io_register(first, count, conf1_io, "PCI conf1")) {
        conf1_data_only = false;
        hv_log("passthrough: cannot intercept CF8/CFC (port table full): config space via ECAM only");
        return 0;
    }
    hv_log("passthrough: %s", conf1_data_only
                                  ? "CONFIG_DATA 0xcfc-0xcff intercepted; CONFIG_ADDRESS and 0xcf9 go to the "
                                    "hardware, the core's config accesses for the guest through ECAM"
                                  : "0xcf8-0xcff intercepted (no ECAM on segment 0)");
    return 0;
}

static const struct devmodel passthrough_model;

static void report_line(void *opaque, const char *line)
{
    (void)opaque;
    hv_log("%s", line);
}

/* Intel's PCIEXBAR (host bridge 00:00.0 config 0x60-0x67, 64-bit; Intel
 * client chipsets' datasheets, QEMU q35's MCH_HOST_BRIDGE_PCIEXBAR) says
 * where ECAM decodes. Moved by the guest into a hole (identity in the
 * EPT/NPT), the device's physical config space would answer there without
 * an exit (BARs, MSI, MSI-X past the model), and the core's own ECAM
 * accesses would go nowhere (review R, finding 2). Guarded when the host
 * bridge is Intel's and 0x60 holds the MCFG's window. Not covered: server
 * parts whose MMCONFIG base is in another function; a PCIEXBAR the
 * firmware left off with no MCFG (the guest could turn it on). */
static void guard_pciexbar(void)
{
    uint32_t id = hw_cfg_read(NULL, 0, 0, 0, 0x00, 4), class = hw_cfg_read(NULL, 0, 0, 0, 0x08, 4) >> 16;
    if ((id & 0xffff) != 0x8086 || class != 0x0600)
        return; /* not an Intel host bridge: no PCIEXBAR there */
    /* Only where 0x60 is PCIEXBAR: enabled (bit 0) at the MCFG's bus 0
     * (base in bits 38:26, by its length field; an i440FX keeps DRAM row
     * boundaries there, a server part its own registers). */
    const struct minihv_passthrough *s = &hv_boot->pt;
    uint64_t bar = (uint64_t)hw_cfg_read(NULL, 0, 0, 0, 0x64, 4) << 32 | hw_cfg_read(NULL, 0, 0, 0, 0x60, 4);
    uint64_t bus0 = s->ecam_base - ((uint64_t)s->ecam_bus_start << 20);
    if (!s->ecam_base || !(bar & 1) || (bar & 0x7ffc000000ull) != bus0) {
        hv_log("passthrough: host bridge %04x:00:00.0 (0x%08x) config 0x60 = 0x%lx: no PCIEXBAR at the MCFG's 0x%lx, "
               "not guarded", s->segment, id, bar, s->ecam_base ? bus0 : 0);
        return;
    }
    spin_lock(&pt_lock);
    int rc = ptdev_guard_config(&pt, PT_GUARD_PATH, 0, 0, 0, 0x60, 0x68);
    spin_unlock(&pt_lock);
    hv_log("passthrough: PCIEXBAR 0x%lx of the host bridge %04x:00:00.0 (0x%08x) config [0x60,0x68): %s", bar,
           s->segment, id, rc ? "NOT guarded (table full or the device itself)" : "writes dropped, reads through");
}

/* AMD Family 10h-16h BKDG, MSR C001_001F NB_CFG bit 46 EnableCf8ExtCfg:
 * CF8 bits 27:24 become register bits 11:8. NB_CFG is MSR_CHECK_UNCHANGED
 * for the guest (hv/msr_policy.c), so what init reads holds. Any other
 * vendor, or no such MSR: the bits are ignored by the chipset. */
static bool conf1_ext_decoded(void)
{
    uint64_t nb_cfg;
    return x86_cpu_amd_like() && !msr_safe_read(0xc001001f, &nb_cfg) && (nb_cfg >> 46 & 1);
}

int passthrough_init(const struct minihv_boot_info *bi)
{
    const struct minihv_passthrough *s = &bi->pt;
    devmodel_register(&passthrough_model); /* its summary line even when none is configured */
    if (!s->present && !(s->flags & MINIHV_PT_CONFIG_GUARD)) {
        hv_log("passthrough: none configured");
        return 0;
    }
    struct pt_platform hw = platform;
    hw.host_top = bi->phys_top; /* hw_mmio_read/write: the core's identity map */
    if (ptdev_init(&pt, s, &hw, bi->hv_phys_base, bi->hv_phys_size)) {
        hv_log("passthrough: %02x:%02x.%x not passed through (see above); the guest sees it as it is", s->bus,
               s->dev, s->fn);
        return 0;
    }
    refusals_report(refusals_taken()); /* windows the firmware left over a special page */
    pt.conf1_ext_regs = conf1_ext_decoded();
    pt_active = true;
    /* config_guard = on without a device: the same guards (the IOMMU's
     * come from iommu_hw_init through passthrough_guard_config). */
    if (!s->present)
        hv_log("passthrough: none configured; config_guard = on: config space trapped for the guarded functions");
    guard_pciexbar();
    if (!s->present) {
        guard_acpi_block();
        return 0;
    }
    spin_lock(&pt_lock);
    int bridges = ptdev_guard_bridge_path(&pt);
    spin_unlock(&pt_lock);
    if (bridges < 0)
        hv_log("passthrough: the bridges above the device NOT all guarded (no bridge leads to its bus, or the guard "
               "table is full): the guest may renumber them");
    else if (bridges)
        hv_log("passthrough: %d bridge(s) above the device: bus numbers, windows [0x18,0x34) and Bridge Control "
               "[0x3e,0x40): writes dropped, reads through", bridges);
    ptdev_report(&pt, report_line, NULL); /* the lines minihv-preflight prints for its candidate */
    guard_acpi_block();
    return 0;
}

/* ---- trapped pages ---- */

struct mmio_ctx {
    struct vcpu *v;
    enum minihv_exit_kind kind;
    bool claimed;
};

static bool pt_read(void *ctx, uint64_t gpa, unsigned size, uint64_t *value)
{
    struct mmio_ctx *c = ctx;
    spin_lock(&pt_lock);
    c->claimed = ptdev_mmio(&pt, gpa, size, false, value, &c->kind);
    struct refusals r = refusals_taken();
    spin_unlock(&pt_lock);
    refusals_report(r);
    return c->claimed;
}

static bool pt_write(void *ctx, uint64_t gpa, unsigned size, uint64_t value)
{
    struct mmio_ctx *c = ctx;
    spin_lock(&pt_lock);
    c->claimed = ptdev_mmio(&pt, gpa, size, true, &value, &c->kind);
    struct refusals r = refusals_taken();
    spin_unlock(&pt_lock);
    refusals_report(r);
    return c->claimed;
}

static bool passthrough_npf(struct vcpu *v, uint64_t gpa, unsigned access)
{
    if (!pt_active)
        return false;
    spin_lock(&pt_lock);
    bool ours = ptdev_claims(&pt, gpa);
    spin_unlock(&pt_lock);
    if (!ours)
        return false;
    if (access & NPF_FETCH) {
        vcpu_count(v, MINIHV_EXIT_PT_BAR);
        vcpu_refuse_fetch(v, gpa, "the passthrough device's window");
        return true;
    }
    struct mmio_ctx c = { v, MINIHV_EXIT_PT_BAR, false };
    struct decode_mmio_ops ops = { pt_read, pt_write, &c };
    struct decoded_insn insn;
    enum decode_status st = vcpu_emulate_mmio(v, gpa, &ops, &insn);
    if (st == DECODE_ERR_STRING && (access & NPF_WRITE)) {
        spin_lock(&pt_lock);
        bool drops = ptdev_drops_writes(&pt, gpa);
        spin_unlock(&pt_lock);
        unsigned element = drops ? vcpu_drop_string_store(v, &insn) : 0;
        if (element && pt_write(&c, gpa, element, 0))
            st = DECODE_OK;
    }
    vcpu_count(v, c.kind);
    if (st != DECODE_OK)
        vcpu_refuse_insn(v, gpa, st, &insn, "the passthrough device");
    return true;
}

static int passthrough_summary(char *buf, unsigned len)
{
    spin_lock(&pt_lock);
    int n = ptdev_format_summary(&pt, buf, len);
    spin_unlock(&pt_lock);
    return n;
}

static int passthrough_summary_regions(char *buf, unsigned len)
{
    int n = 0;
    buf[0] = 0;
    spin_lock(&pt_lock);
    for (uint32_t i = 0; i < pt.vfio.num_regions && pt.present && (unsigned)n + 2 < len; i++) {
        int k = ptdev_format_region(&pt, i, buf + n + (n ? 2 : 0), len - (unsigned)n - (n ? 2 : 0));
        if (k > 0) {
            if (n) {
                buf[n] = ';';
                buf[n + 1] = ' ';
            }
            n += k + (n ? 2 : 0);
        }
    }
    spin_unlock(&pt_lock);
    return n;
}

/* `passthrough ...` (the model's counters), then its vfio regions if any. */
static void passthrough_summary_lines(void (*emit)(const char *line))
{
    static const char regions[] = "passthrough regions: ";
    char line[sizeof(regions) - 1 + 400];
    passthrough_summary(line, sizeof(line));
    emit(line);
    memcpy(line, regions, sizeof(regions));
    if (passthrough_summary_regions(line + sizeof(regions) - 1, sizeof(line) - (sizeof(regions) - 1)) > 0)
        emit(line);
    spin_lock(&pt_lock);
    int n = ptdev_format_msix(&pt, line, sizeof(line));
    spin_unlock(&pt_lock);
    if (n > 0)
        emit(line);
}

static const struct devmodel passthrough_model = {
    .name = "passthrough",
    .npf = passthrough_npf,
    .summary = passthrough_summary_lines,
};

unsigned passthrough_msix_check(unsigned *bad, unsigned *unmasked)
{
    spin_lock(&pt_lock); /* the device's state (a BAR moving) stays put meanwhile */
    unsigned n = ptdev_msix_physical_check(&pt, bad, unmasked);
    spin_unlock(&pt_lock);
    return n;
}
