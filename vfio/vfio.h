/* The vfio region model: a passthrough PCI device described the way Linux
 * vfio-pci (4.6) describes it to userspace, so the hypervisor, the host
 * tools and the tests all speak the VFIO_DEVICE_GET_INFO /
 * VFIO_DEVICE_GET_REGION_INFO ABI of <linux/vfio.h>.
 *
 * A device is a fixed array of regions: BAR0-5 (0-5), ROM (6), CONFIG (7),
 * VGA (8, VGA-class devices only), then device-specific regions (9...)
 * registered by drivers such as drivers/igd. No allocation: the caller
 * provides the (large) struct vfio_device and must not copy it after init,
 * since it points into itself. */
#ifndef MINIHV_VFIO_VFIO_H
#define MINIHV_VFIO_VFIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <minihv/vfio_abi.h>

#include "config.h"
#include "errno.h"
#include "msix.h"

#define VFIO_MAX_REGIONS     16
#define VFIO_REGION_CAPS_MAX 128 /* capability chain bytes per region */
#define VFIO_PAGE_SIZE       4096ull
#define VFIO_VGA_REGION_SIZE 0xc0000 /* vfio-pci: 0xa0000-0xbffff + I/O 0x3b0-0x3df */
#define VFIO_JUDGED_MAX      2       /* judged ranges per device (vfio_device_add_judged) */

/* Backing of a region. Offsets are relative to the region start and have
 * been bounds-checked; return < 0 on failure. */
struct vfio_region_ops {
    int (*read)(void *opaque, uint64_t off, void *buf, size_t len);
    int (*write)(void *opaque, uint64_t off, const void *buf, size_t len);
};

struct vfio_region {
    bool present;    /* answers GET_REGION_INFO */
    uint32_t flags;  /* MINIHV_VFIO_REGION_INFO_FLAG_*, CAPS added on output */
    uint64_t size;
    uint32_t type, subtype; /* device-specific regions */
    /* The capability chain exactly as it follows the info structure:
     * `next` offsets count from the start of struct vfio_region_info. */
    uint8_t caps[VFIO_REGION_CAPS_MAX];
    uint32_t caps_len;
    const struct vfio_region_ops *ops;
    void *opaque;
};

/* Bytes [offset, offset + size) of BAR `index` that the device must never
 * be written at (vfio_device_add_judged). */
struct vfio_judged_range {
    uint32_t index;
    uint64_t offset, size;
};

struct vfio_device {
    uint32_t flags; /* MINIHV_VFIO_DEVICE_FLAGS_* */
    uint32_t num_regions;
    struct vfio_region regions[VFIO_MAX_REGIONS];
    struct vfio_config config;
    struct vfio_msix msix;
    struct vfio_judged_range judged[VFIO_JUDGED_MAX];
    uint32_t nr_judged;
    uint64_t judged_dropped; /* writes dropped for touching a judged range */
    struct vfio_error error; /* why init failed */
};

/* Build the device from a config dump (256 or 4096 bytes) and the BAR
 * sizes, which only the hardware knows (a caller sizes the BARs, or a
 * tool takes them from the user; 0 = absent). See vfio_config_init for
 * the rules; on failure dev->error names the field and offset. */
int vfio_device_init_pci(struct vfio_device *dev, const uint8_t *config, size_t config_len,
                         const uint64_t bar_sizes[6], uint64_t rom_size);

/* Register a device-specific region (vfio_pci_register_dev_region): it
 * gets the next index from MINIHV_VFIO_PCI_NUM_REGIONS on and a type
 * capability (id 2) with type/subtype. flags: READ and/or WRITE; ops
 * must provide what the flags promise. Returns the index or < 0. */
int vfio_device_add_dev_region(struct vfio_device *dev, uint32_t type, uint32_t subtype,
                               uint32_t flags, uint64_t size, const struct vfio_region_ops *ops,
                               void *opaque);

/* A range of memory BAR `index` whose writes the model drops whole, when
 * they touch any byte of it (counted in judged_dropped), while every other
 * access goes to the region's ops. Its page(s) are left out of the BAR's
 * sparse mmap areas, as vfio-pci leaves out an MSI-X table's, so a user of
 * the ABI traps them; the core maps them read-only (reads native, writes
 * exit: hv/passthrough_map.c window_map). For registers inside a passthrough BAR that
 * move what the hypervisor guards (an IGD's MCHBAR mirror, drivers/igd/
 * bar_judged.h). 0; VFIO_EINVAL (not a memory BAR, empty), VFIO_ERANGE
 * (past the BAR's end), VFIO_ENOSPC (table or capability full). */
int vfio_device_add_judged(struct vfio_device *dev, uint32_t index, uint64_t offset, uint64_t size);

/* Back a fixed region (a BAR, the ROM, VGA) with operations. */
int vfio_device_set_region_ops(struct vfio_device *dev, uint32_t index,
                               const struct vfio_region_ops *ops, void *opaque);

/* VFIO_DEVICE_GET_INFO / VFIO_DEVICE_GET_REGION_INFO: `buf` holds the
 * caller's structure (argsz in its first u32), bufsz is how much memory
 * is really there. Writes exactly what the ioctl writes: argsz below the
 * fixed structure is -EINVAL; a capability chain that does not fit argsz
 * is left out, argsz is raised to the size needed, cap_offset is 0 and
 * FLAG_CAPS stays set (vfio_pci_ioctl, Linux 4.6). -EFAULT where the
 * kernel would fault: bufsz smaller than what it reads or writes.
 * The region index is the `index` argument. */
int vfio_device_get_info(const struct vfio_device *dev, void *buf, size_t bufsz);
int vfio_device_get_region_info(const struct vfio_device *dev, uint32_t index, void *buf,
                                size_t bufsz);

/* Read/write `count` bytes at `offset` of region `index`, like pread/pwrite
 * on the device fd at index << 40 | offset. 0 or < 0. */
int vfio_region_read(struct vfio_device *dev, uint32_t index, uint64_t offset, void *buf,
                     size_t count);
int vfio_region_write(struct vfio_device *dev, uint32_t index, uint64_t offset, const void *buf,
                      size_t count);
/* The same with a device-file offset (index << 40 | offset). */
int vfio_device_read(struct vfio_device *dev, uint64_t fd_offset, void *buf, size_t count);
int vfio_device_write(struct vfio_device *dev, uint64_t fd_offset, const void *buf, size_t count);

/* Walks a capability chain in an info buffer (what GET_REGION_INFO wrote)
 * as a userspace consumer would, with the same distrust: every header in
 * bounds, at most 64 steps, forward links only. Start with *at =
 * info.cap_offset (0 if no CAPS flag) and *steps = 0; returns 1 with *c
 * filled while there is a capability, 0 at the end. A capability's body
 * ends where the next begins, or at the buffer's end. */
/* "BAR0".."BAR5", "ROM", "CONFIG", "VGA", then "DEV" (device-specific). */
const char *vfio_region_name(uint32_t index);

struct vfio_cap_view {
    uint16_t id, version;
    const uint8_t *body;
    size_t body_len;
};
int vfio_info_next_cap(const uint8_t *buf, size_t len, uint32_t *at, int *steps,
                       struct vfio_cap_view *c);

/* Capability builders (vfio_info_cap_add): append to a region's chain. */
int vfio_region_add_cap(struct vfio_region *r, uint16_t id, uint16_t version, const void *body,
                        size_t body_len);
int vfio_region_add_sparse_cap(struct vfio_region *r,
                               const struct minihv_vfio_region_sparse_mmap_area *areas,
                               uint32_t nr_areas);
int vfio_region_add_type_cap(struct vfio_region *r, uint32_t type, uint32_t subtype);

/* The mappable parts of a BAR of bar_size around `n` holes (byte ranges,
 * each widened to whole pages; one ending past 2^64 ends there), in
 * offset order, at most `max`; returns the count. */
struct vfio_hole {
    uint64_t offset, size;
};
#define VFIO_HOLES_MAX (1 + VFIO_JUDGED_MAX) /* the MSI-X table, the judged ranges */
uint32_t vfio_mmap_areas(uint64_t bar_size, const struct vfio_hole *holes, uint32_t n,
                         struct minihv_vfio_region_sparse_mmap_area *areas, uint32_t max);

/* msix_sparse_mmap_cap (Linux 4.6): the mappable parts of a BAR of
 * bar_size holding an MSI-X table at [table_offset, +table_size):
 * [0, table_offset & PAGE_MASK) and [PAGE_ALIGN(table_offset +
 * table_size), bar_size), each only if non-empty. Returns the count (0-2). */
uint32_t vfio_msix_mmap_areas(uint64_t bar_size, uint64_t table_offset, uint64_t table_size,
                              struct minihv_vfio_region_sparse_mmap_area areas[2]);

#endif
