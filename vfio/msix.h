/* The virtual MSI-X table (PCI 3.0 6.8.2). The guest's table accesses trap
 * to the hypervisor and land here; the physical table is only written
 * through ops->write_entry, and only with a message vfio_msi_check
 * accepts (address in the 0xFEExxxxx window, fixed or lowest-priority
 * delivery) or masked. Like QEMU's vfio and Linux's own MSI-X
 * code, entries are programmed when they become unmasked or change while
 * unmasked. */
#ifndef MINIHV_VFIO_MSIX_H
#define MINIHV_VFIO_MSIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "errno.h"
#include "msi.h"

#define VFIO_MSIX_MAX_ENTRIES 2048 /* table size field is 11 bits */
#define VFIO_MSIX_ENTRY_SIZE  16
#define VFIO_MSIX_CTRL_MASKBIT 0x1u

struct vfio_msix_entry {
    uint32_t addr_lo;
    uint32_t addr_hi;
    uint32_t data;
    uint32_t ctrl; /* vector control, bit 0 = masked */
};

struct vfio_msix_ops {
    /* Program physical entry `index`. When masked is false, addr and data
     * have been validated (vfio_msi_check); when masked is true, only the mask bit needs writing
     * (addr and data are 0). */
    void (*write_entry)(void *opaque, uint32_t index, uint64_t addr, uint32_t data, bool masked);
    /* Read the physical PBA, offset relative to the PBA start. */
    int (*read_pba)(void *opaque, uint64_t off, void *buf, size_t len);
    /* The guest changed MSI-X Enable or Function Mask in the (virtual)
     * message control register. */
    void (*set_control)(void *opaque, bool enable, bool function_mask);
};

struct vfio_msix {
    bool present;
    uint8_t cap_pos;      /* config offset of the MSI-X capability */
    uint8_t table_bar;    /* BIR of the table */
    uint8_t pba_bar;      /* BIR of the PBA */
    uint32_t table_offset; /* in table_bar */
    uint32_t pba_offset;   /* in pba_bar */
    uint32_t entries;
    bool enabled;
    bool function_masked;
    struct vfio_msix_entry table[VFIO_MSIX_MAX_ENTRIES];
    /* Entries currently programmed unmasked in the physical table. */
    uint8_t live[VFIO_MSIX_MAX_ENTRIES / 8];
    uint64_t refused;    /* entries not programmed: address outside the MSI window */
    uint64_t refused_delivery; /* ... data with a delivery mode other than fixed/lowest */
    uint64_t bad_access; /* table/PBA accesses not 4 or 8 bytes aligned */
    const struct vfio_msix_ops *ops;
    void *opaque;
};

/* Parse the MSI-X capability at `pos` of a config dump; all entries start
 * masked (PCI 3.0 6.8.2.9: vector control resets to masked). The caller
 * has checked that the capability lies inside the dump. */
int vfio_msix_init(struct vfio_msix *m, const uint8_t *config, size_t len, uint8_t pos,
                   struct vfio_error *err);
void vfio_msix_set_ops(struct vfio_msix *m, const struct vfio_msix_ops *ops, void *opaque);

uint64_t vfio_msix_table_size(const struct vfio_msix *m);
uint64_t vfio_msix_pba_size(const struct vfio_msix *m);

/* Guest accesses; `off` is relative to the start of the table (or PBA).
 * Only aligned 4- and 8-byte accesses are accepted (PCI 3.0 6.8.2). */
int vfio_msix_table_read(struct vfio_msix *m, uint64_t off, void *buf, size_t len);
int vfio_msix_table_write(struct vfio_msix *m, uint64_t off, const void *buf, size_t len);
int vfio_msix_pba_read(struct vfio_msix *m, uint64_t off, void *buf, size_t len);

/* Message control written by the guest (from vfio/config.c). */
void vfio_msix_set_control(struct vfio_msix *m, bool enable, bool function_mask);

#endif
