/* The passthrough device inside the core: the vfio model (vfio/vfio.h)
 * built from the loader's snapshot (boot_info.pt), and what the guest's
 * accesses do to it.
 *
 * - Config space: CF8/CFC (PCI 3.0 3.2.2.3.2) and the device's ECAM page
 *   go to the vfio config region (index 7); the IGD's host and LPC bridges
 *   read through and drop writes; every other function is the hardware's.
 * - BARs: what VFIO_DEVICE_GET_REGION_INFO says is mmap-able (the whole
 *   BAR, or the sparse areas around the MSI-X table) is mapped guest BAR ->
 *   host BAR in the EPT/NPT, UC: no exits on the data path. The rest (the
 *   MSI-X table page, BARs under a page) is trapped and goes through
 *   vfio_region_read/write: the table to the MSI-X model, anything else to
 *   the host BAR. A BAR the guest moves or stops decoding is unmapped
 *   where it was and mapped where it goes; the physical BAR never moves,
 *   and its host window, once the guest has left it, reads all-ones.
 * - ROM: the loader's copy, mapped read-only where the guest enables the
 *   (virtual) ROM BAR.
 *
 * Pure C over struct pt_platform: the core gives it the EPT and the
 * hardware (hv/passthrough_hw.c), the host tests a fake. */
#ifndef MINIHV_HV_PASSTHROUGH_H
#define MINIHV_HV_PASSTHROUGH_H

#include <stdbool.h>
#include <stdint.h>
#include <minihv/boot_info.h>
#include <minihv/hypercall.h>
#include <vfio/vfio.h>
#include "hv/special_pages.h"

#define PT_PAGE 4096ull

struct pt_platform {
    /* Guest-physical map (attrs: PT_ATTRS from paging/paging.h). map: gpa ->
     * hpa; trap: not present, so accesses exit; identity: back to what the
     * core's identity map had there. 0 or < 0. */
    int (*map)(void *opaque, uint64_t gpa, uint64_t hpa, uint64_t size, uint32_t attrs);
    int (*trap)(void *opaque, uint64_t gpa, uint64_t size);
    int (*identity)(void *opaque, uint64_t gpa, uint64_t size);
    /* Every CPU's cached guest translations must go (after map changes). */
    void (*flush)(void *opaque);
    /* Physical config space of bus:dev.fn (the core: ECAM or CF8/CFC under
     * its lock). size 1, 2, 4; off < 4096. */
    uint32_t (*cfg_read)(void *opaque, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, unsigned size);
    void (*cfg_write)(void *opaque, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, unsigned size,
                      uint32_t value);
    /* A CF8/CFC access for a function that is not ours: done on the
     * hardware with CONFIG_ADDRESS = addr. */
    void (*conf1_hw)(void *opaque, uint32_t addr, uint16_t port, unsigned size, bool in, uint32_t *value);
    /* Host-physical MMIO (the device's BARs): size 1, 2, 4, 8. */
    uint64_t (*mmio_read)(void *opaque, uint64_t hpa, unsigned size);
    void (*mmio_write)(void *opaque, uint64_t hpa, unsigned size, uint64_t value);
    /* Host memory the core owns (the ROM copy), by physical address. */
    const void *(*phys_ptr)(void *opaque, uint64_t pa);
    void (*log)(void *opaque, const char *msg);
    void *opaque;
    /* The machine's special pages (hv/special_pages.h; the core: hv_special):
     * no window is placed over one, a window leaving one gives back what
     * the registry says there; the model adds its ECAM pages. NULL: none. */
    struct special_pages *special;
    /* mmio_read/mmio_write reach only [0, host_top) (the core: its identity
     * map, phys_top); 0: anywhere. */
    uint64_t host_top;
};

/* Why another function's config registers are guarded: each has its own
 * refusal count (hv/refuse.h: iommu-regs, pm-relocate, config-guard). */
enum pt_guard_kind {
    PT_GUARD_IOMMU,     /* they place an IOMMU's register set (issue 14, path 1) */
    PT_GUARD_PM_BLOCK,  /* they place or enable the ACPI I/O block (PM1_CNT: sleep states) */
    PT_GUARD_PATH,      /* they move where config space decodes: PCIEXBAR, bridges above the device */
    PT_GUARD_KINDS
};

/* Counted for the summary; each also shows in the exit table by kind. */
struct pt_counters {
    uint64_t cfg_reads, cfg_writes;       /* the device's config space */
    uint64_t msix_reads, msix_writes, msix_bytes; /* its MSI-X table and PBA, trapped */
    uint64_t bar_exits;                   /* other trapped BAR accesses */
    uint64_t bar_bytes;
    uint64_t bridge_writes_dropped;       /* IGD host/LPC bridge config writes */
    uint64_t rom_writes_dropped;
    uint64_t refused;                     /* accesses refused (bad size, straddling, I/O BAR moves) */
    uint64_t placement_refused;           /* windows over the block, a special page or another window */
    uint64_t bounds_refused;              /* accesses across the end of a trapped page */
    uint64_t guarded_writes_dropped[PT_GUARD_KINDS]; /* writes to another function's guarded registers, by why */
    uint64_t remaps;                      /* BAR windows mapped or unmapped */
};

/* One BAR (0-5) or the ROM (6) as the guest has placed it. */
struct pt_window {
    bool mapped;          /* its guest window is in the map now */
    uint64_t guest;       /* guest address of the window */
    uint64_t size;
    uint64_t host;        /* host-physical address (ROM: the core's copy) */
};

struct pt_bridge {
    bool present;
    uint8_t bus, dev, fn;
};

/* Config registers [lo, hi) of another function the guest may read but
 * never write (ptdev_guard_config), and why. */
struct pt_guarded {
    bool present;
    uint8_t bus, dev, fn;
    uint16_t lo, hi;
    enum pt_guard_kind kind;
};
#define PT_MAX_GUARDED 16

/* Lines a guest can cause again and again (pt_say_limited): each kind says
 * its first PT_SAY_LIMIT, then only the counters move (review R, finding 8:
 * the serial log is slow and the lines are said under pt_lock). */
enum pt_say_kind { PT_SAY_IO_BAR_MOVE, PT_SAY_PLACEMENT, PT_SAY_MAP_MEMORY, PT_SAY_KINDS };
#define PT_SAY_LIMIT 8

struct pt_device;
/* What a BAR's vfio region ops get: the device and which BAR. */
struct pt_bar_ctx {
    struct pt_device *d;
    unsigned bar;
};

struct pt_device {
    bool present;                /* a device passed through: the vfio model below */
    /* CF8/CFC and the guarded functions' ECAM pages go through the model:
     * with a device, or without one under config_guard = on
     * (MINIHV_PT_CONFIG_GUARD), where only ptdev_guard_config's
     * functions are the model's. */
    bool config_trapped;
    uint8_t bus, dev, fn;
    uint16_t vendor, device;
    uint32_t flags;              /* MINIHV_PT_* */
    uint64_t ecam_base;          /* of bus ecam_bus_start; 0: none */
    uint8_t ecam_bus_start, ecam_bus_end;
    struct pt_bridge bridges[2]; /* IGD: host bridge, LPC bridge */
    struct pt_guarded guarded[PT_MAX_GUARDED];
    uint32_t conf1_addr;         /* the guest's CONFIG_ADDRESS (0xcf8) */
    /* The chipset decodes CONFIG_ADDRESS bits 27:24 as register bits
     * 11:8 (AMD, NB_CFG EnableCf8ExtCfg). Elsewhere they are reserved and
     * ignored (PCI 3.0 3.2.2.3.2; Intel, PIIX4, QEMU, Bochs): register
     * 0x40 with them set is still 0x40 to the chipset (review R3). */
    bool conf1_ext_regs;
    uint64_t forbid_base, forbid_size; /* never a guest window: the core's block */
    struct pt_window win[VFIO_CONFIG_BARS];
    uint64_t host_bar[VFIO_CONFIG_BARS]; /* where the hardware decodes each BAR */
    struct pt_counters count;
    uint8_t said[PT_SAY_KINDS];  /* guest-caused lines said so far, by kind */
    struct pt_bar_ctx bar_ctx[6];
    struct pt_platform hw;
    struct vfio_device vfio;     /* large: the struct lives in .bss */
};

/* Builds the model from the snapshot and maps the device's windows as the
 * firmware left them (guest address = host address). On a bad snapshot
 * returns < 0 and says why through hw->log; nothing is mapped then.
 * Without a device (present 0) but MINIHV_PT_CONFIG_GUARD: the model
 * takes only the snapshot's ECAM window, for ptdev_guard_config. */
/* The config register a CONFIG_DATA access at port reaches with
 * CONFIG_ADDRESS a: bits 7:2 and the port's byte, and bits 27:24 as
 * register bits 11:8 only where the chipset decodes them (ext). The
 * guards must see the register the hardware will write. */
static inline uint16_t conf1_register(uint32_t a, uint16_t port, bool ext)
{
    return (uint16_t)((ext ? (a >> 16) & 0xf00 : 0) | (a & 0xfc) | (port & 3));
}

int ptdev_init(struct pt_device *d, const struct minihv_passthrough *snap, const struct pt_platform *hw,
            uint64_t forbid_base, uint64_t forbid_size);

/* Guards config registers [lo, hi) (lo < hi <= 4096) of bus:dev.fn, a
 * function other than the device: through CF8/CFC and its ECAM page
 * (trapped, in the special-page registry as ecam-iommu or ecam-pm) reads
 * reach the hardware, writes reach it unless they touch [lo, hi), which
 * are dropped and counted (guarded_writes_dropped[kind]). PT_GUARD_IOMMU:
 * the registers that move an IOMMU's register set (issue 14, path 1): the
 * AMD-Vi IOMMU function's capability base (cap + 4 .. cap + 11), Intel's
 * MCHBAR (00:00.0 0x48, whose window holds GFXVTBAR/VTDBAR).
 * PT_GUARD_PATH: the registers that move where config space decodes
 * (Intel's PCIEXBAR, host bridge 0x60; the bridges above the device,
 * ptdev_guard_bridge_path), their ECAM page registered as ecam-bridge.
 * PT_GUARD_PM_BLOCK: Intel's PMBASE/ABASE and ACPI_CNTL (LPC 00:1f.0 or
 * PMC 00:1f.2, 0x40-0x47; PIIX4 PMBA 0x40 and PMREGMISC 0x80), which
 * move or disable the ACPI I/O block. A
 * write that touches ranges of two kinds counts as the first guarded. 0,
 * or -1 (no device, the device itself, bad range or kind, table full). */
int ptdev_guard_config(struct pt_device *d, enum pt_guard_kind kind, uint8_t bus, uint8_t dev, uint8_t fn,
                       uint16_t lo, uint16_t hi);

/* The bridges above the device (PCI-to-PCI Bridge Architecture 1.2,
 * 3.2.5.3-3.2.5.10, 3.2.5.18), found from the segment's first bus down by
 * each bridge's secondary and subordinate bus numbers as the firmware left
 * them, guarded as PT_GUARD_PATH: [0x18,0x34) (bus numbers; I/O,
 * memory and prefetchable windows with their upper halves) and [0x3e,0x40)
 * (Bridge Control: secondary bus reset). Renumbered, the device would
 * answer at another bus whose ECAM page is identity-mapped: its config past
 * the model. Before any CPU enters the guest. Returns the number of
 * bridges guarded (0: the device is on the first bus), -1 when the path is
 * broken (no bridge leads to the device's bus) or the table is full. */
int ptdev_guard_bridge_path(struct pt_device *d);

/* The ECAM page of bus:dev.fn, 0 when there is no ECAM or it is outside. */
uint64_t ptdev_ecam_page(const struct pt_device *d, uint8_t bus, uint8_t dev, uint8_t fn);

/* A guest access to 0xcf8-0xcff (byte 0xcf9 excepted: the caller's reset
 * port). Returns the exit kind to count (MINIHV_EXIT_IO when the access
 * was not for the device or its bridges). */
enum minihv_exit_kind ptdev_conf1_io(struct pt_device *d, uint16_t port, unsigned size, bool in, uint32_t *value);

/* The IGD's I/O BAR is an index/data window onto its registers: MMIO_INDEX
 * at +0, MMIO_DATA at +4 (coreboot's io_i915_write32; QEMU's
 * hw/vfio/igd.c traps the same pair); index bit 0 set selects a GTT entry
 * instead of a register. A data write reaches BAR0's register at the
 * index, so it must meet BAR0's judged ranges (the MCHBAR mirror's VT-d
 * bases) as a store through the window does (review R5). For a guest
 * write of `size` bytes at byte `at` (0-7) of that BAR with the hardware's
 * MMIO_INDEX `index`: true when the model carried it out (a register
 * write through BAR0's region: judged, else to the hardware by MMIO),
 * false when the hardware takes it as is (MMIO_INDEX, a GTT entry, a
 * device without judged ranges). A write across +3/+4 is dropped. */
bool ptdev_igd_io_write(struct pt_device *d, uint32_t index, unsigned at, unsigned size, uint32_t value);

/* Is gpa one of the pages the model trapped (its ECAM pages, its BAR
 * windows, the host windows it guards)? No side effects. */
bool ptdev_claims(const struct pt_device *d, uint64_t gpa);

/* A guest access that exited at gpa (a page the model trapped). Returns
 * false when gpa is none of the device's: the caller's to handle. *kind
 * gets the exit kind to count. Reads fill *value. */
bool ptdev_mmio(struct pt_device *d, uint64_t gpa, unsigned size, bool write, uint64_t *value,
             enum minihv_exit_kind *kind);

/* Region `index` as GET_REGION_INFO gives it, e.g. "BAR0 16 KiB RW mmap
 * sparse [0x0,0x2000) [0x3000,0x4000)"; 0 (empty) for an absent region. */
int ptdev_format_region(const struct pt_device *d, uint32_t index, char *buf, unsigned len);

/* `passthrough 00:05.0 1b36:0010 cfg-reads=... ` for the summary. */
int ptdev_format_summary(const struct pt_device *d, char *buf, unsigned len);
/* "passthrough msix: ..." (the guest-programmed MSI-X entries); 0 without MSI-X. */
int ptdev_format_msix(const struct pt_device *d, char *buf, unsigned len);
/* The device's MSI-X table as the hardware holds it (through d->hw):
 * returns the entries read, *unmasked those whose vector control has the
 * mask bit clear (the ones judged), *bad those of them whose message
 * vfio_msi_check refuses. 0 without a device or MSI-X. */
unsigned ptdev_msix_physical_check(const struct pt_device *d, unsigned *bad, unsigned *unmasked);
/* True where the model drops every write to gpa: a host window the guest
 * left or one that does not decode, the ROM window. A string store there
 * may be dropped element by element (vcpu_drop_string_store). */
bool ptdev_drops_writes(const struct pt_device *d, uint64_t gpa);

/* The lines the core logs once the device is set up: each BAR window, each
 * vfio region (ptdev_format_region), the MSI-X table, "ready". The same
 * lines minihv-preflight prints for its candidate, so the two compare. */
void ptdev_report(const struct pt_device *d, void (*say)(void *opaque, const char *line), void *opaque);

#endif
