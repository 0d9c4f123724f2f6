/* The IGD's device-specific vfio regions (Linux vfio_pci_igd.c): type
 * 0x80008086 (PCI vendor type | Intel) with subtypes OPREGION 1, HOST_CFG 2
 * (host bridge 00:00.0 config space), LPC_CFG 3 (LPC/ISA bridge 00:1f.0
 * config space). All three are read-only: the guest's writable OpRegion is
 * the copy igd_opregion_build_guest makes. */
#ifndef MINIHV_DRIVERS_IGD_REGIONS_H
#define MINIHV_DRIVERS_IGD_REGIONS_H

#include <drivers/igd/igd.h>
#include <vfio/vfio.h>

#define IGD_VFIO_REGION_TYPE \
    (MINIHV_VFIO_REGION_TYPE_PCI_VENDOR_TYPE | 0x8086u)   /* 0x80008086 */
#define IGD_PCI_CFG_MAX 4096u

/* Bytes a region serves; must outlive the vfio_device (the region ops read
 * from here on every access). */
struct igd_region_bytes {
    const uint8_t *data;
    size_t len;
};

struct igd_regions {
    struct igd_region_bytes opregion;   /* an OpRegion ("IntelGraphicsMem"), >= 8 KiB */
    struct igd_region_bytes host_cfg;   /* 256 (or up to 4096) bytes */
    struct igd_region_bytes lpc_cfg;    /* 256 (or up to 4096) bytes */
};

/* Checks all three inputs, then registers the three regions in subtype
 * order (so they get consecutive indices from 9 on). Registers nothing when
 * any input is bad or the device has no room for three more regions.
 * Returns the OpRegion region's index, or a negative VFIO_E* code. */
int igd_add_vfio_regions(struct vfio_device *dev, const struct igd_regions *r);

#endif
