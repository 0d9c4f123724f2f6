/* Config-space virtualization, after Linux drivers/vfio/pci/vfio_pci_config.c:
 * one permission table filled once per register and capability, two bit
 * masks per byte:
 *   virt  — bits served from (and written to) the virtual copy `vconfig`;
 *   write — bits the guest may write.
 * A byte with neither is read-only passthrough; virt without write is a
 * read-only virtual value; write without virt goes to the device.
 * Reads return (phys & ~virt) | (vconfig & virt); writes update the
 * writable virtual bits and read-modify-write the writable physical ones
 * (vfio_default_config_write). */
#ifndef MINIHV_VFIO_CONFIG_H
#define MINIHV_VFIO_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errno.h"
#include "msix.h"
#include "pcicfg.h"

#define VFIO_CONFIG_MAX   4096
#define VFIO_CONFIG_VREGS 8
#define VFIO_CONFIG_BARS  7 /* BAR0-5 and the ROM BAR (index 6) */
#define VFIO_CONFIG_ROM_BAR 6

enum vfio_bar_kind {
    VFIO_BAR_ABSENT = 0,
    VFIO_BAR_IO,
    VFIO_BAR_MEM32,
    VFIO_BAR_MEM64,    /* lower dword of a 64-bit BAR */
    VFIO_BAR_MEM64_HI, /* upper dword: no region of its own */
    VFIO_BAR_ROM,
};

struct vfio_bar {
    enum vfio_bar_kind kind;
    bool prefetch;
    uint64_t size;
    uint64_t reported_addr; /* last address handed to ops->bar_remap */
    bool reported_decode;
};

/* The state of the (virtual) MSI capability, handed to ops->msi_update.
 * enabled is only true with a message vfio_msi_check accepts (msi.h). */
struct vfio_msi_state {
    bool enabled;
    uint8_t vectors; /* 1 << multiple message enable */
    uint64_t addr;
    uint16_t data;
    bool maskable;
    uint32_t mask;
};

struct vfio_config_ops {
    /* Physical config access. NULL: the dump given to init stands in for
     * the device (host tools, tests). Return < 0 on failure. */
    int (*phys_read)(void *opaque, uint16_t off, void *buf, size_t len);
    int (*phys_write)(void *opaque, uint16_t off, const void *buf, size_t len);
    /* A BAR's guest address or decode enable changed (bar 6 = ROM). Also
     * called during sizing, with the all-ones mask as address. */
    void (*bar_remap)(void *opaque, uint32_t bar, uint64_t addr, uint64_t size, bool decode);
    /* The guest wrote the MSI capability. */
    void (*msi_update)(void *opaque, const struct vfio_msi_state *msi);
};

/* A virtual register (e.g. IGD ASLS at 0xFC): reads come from vconfig,
 * writes of write_mask bits land there and are reported to `changed`. */
struct vfio_config_vreg {
    uint16_t off;
    uint8_t len;
    uint32_t write_mask;
    void (*changed)(void *opaque, uint16_t off, uint32_t value);
    void *opaque;
};

struct vfio_config {
    uint32_t size; /* 256 or 4096 */
    uint8_t phys[VFIO_CONFIG_MAX];    /* the dump; the device when no phys ops */
    uint8_t vconfig[VFIO_CONFIG_MAX];
    uint8_t virt[VFIO_CONFIG_MAX];
    uint8_t write[VFIO_CONFIG_MAX];
    uint8_t owner[CFG_SPACE_SIZE]; /* capability id owning each byte, overlap check */
    struct vfio_bar bars[VFIO_CONFIG_BARS];
    uint8_t pm_pos, msi_pos, msix_pos, exp_pos; /* 0: absent */
    uint8_t msi_len;
    uint16_t last_command; /* decode bits last reported to bar_remap */
    struct vfio_config_vreg vregs[VFIO_CONFIG_VREGS];
    uint32_t nvregs;
    uint64_t msi_refused; /* MSI enables refused: address outside the window */
    uint64_t msi_refused_delivery; /* ... data with a delivery mode other than fixed/lowest (msi.h) */
    struct vfio_msix *msix; /* MSI-X control writes go here; may be NULL */
    const struct vfio_config_ops *ops;
    void *opaque;
};

/* Build the permission table from a config dump (256 or 4096 bytes) and the
 * BAR sizes (found by the caller, who can touch hardware). bar_sizes[i] is
 * the size of BAR i, 0 for absent; for a 64-bit BAR the size is given at
 * its lower index and the upper index must be 0. rom_size 0: no ROM.
 * On a malformed dump returns < 0 and fills *err. */
int vfio_config_init(struct vfio_config *c, const uint8_t *config, size_t len,
                     const uint64_t bar_sizes[6], uint64_t rom_size, struct vfio_error *err);
void vfio_config_set_ops(struct vfio_config *c, const struct vfio_config_ops *ops, void *opaque);

/* Guest access to [off, off + len) of config space. */
int vfio_config_read(struct vfio_config *c, uint64_t off, void *buf, size_t len);
int vfio_config_write(struct vfio_config *c, uint64_t off, const void *buf, size_t len);

/* Make [off, off + len) (len 1, 2 or 4, naturally aligned) a virtual
 * register with initial value `init`. Overrides the permissions there. */
int vfio_config_add_vreg(struct vfio_config *c, uint16_t off, uint8_t len, uint32_t init,
                         uint32_t write_mask,
                         void (*changed)(void *opaque, uint16_t off, uint32_t value),
                         void *opaque);

/* The guest's current address of BAR bar (0-5, 6 = ROM), 64-bit BARs whole. */
uint64_t vfio_config_bar_addr(const struct vfio_config *c, uint32_t bar);
/* The current virtual MSI state. */
void vfio_config_msi_state(const struct vfio_config *c, struct vfio_msi_state *msi);

#endif
