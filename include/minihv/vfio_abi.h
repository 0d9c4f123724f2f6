/* Our mirror of the parts of <linux/vfio.h> the region model speaks: the
 * structures VFIO_DEVICE_GET_INFO and VFIO_DEVICE_GET_REGION_INFO fill in,
 * the capability headers, and the flags, indices and ids. Layout and values
 * follow the Linux UAPI header byte for byte (tests/unit/test_vfio_abi.c
 * checks every size, offset and constant against /usr/include/linux/vfio.h);
 * the names carry a minihv_ prefix so both headers can be included at once. */
#ifndef MINIHV_VFIO_ABI_H
#define MINIHV_VFIO_ABI_H

#include <stdint.h>

/* struct vfio_info_cap_header: `next` is the offset of the next capability
 * from the start of the info structure, 0 ends the chain. */
struct minihv_vfio_info_cap_header {
    uint16_t id;
    uint16_t version;
    uint32_t next;
};

/* struct vfio_device_info. Linux 4.6 ends at num_irqs (16 bytes written by
 * the ioctl); cap_offset came later and is only written for devices with
 * device capabilities, which vfio-pci does not have. */
struct minihv_vfio_device_info {
    uint32_t argsz;
    uint32_t flags;
    uint32_t num_regions;
    uint32_t num_irqs;
    uint32_t cap_offset;
};

#define MINIHV_VFIO_DEVICE_FLAGS_RESET (1u << 0)
#define MINIHV_VFIO_DEVICE_FLAGS_PCI   (1u << 1)
#define MINIHV_VFIO_DEVICE_FLAGS_CAPS  (1u << 7)

/* struct vfio_region_info */
struct minihv_vfio_region_info {
    uint32_t argsz;
    uint32_t flags;
    uint32_t index;
    uint32_t cap_offset;
    uint64_t size;
    uint64_t offset;
};

#define MINIHV_VFIO_REGION_INFO_FLAG_READ  (1u << 0)
#define MINIHV_VFIO_REGION_INFO_FLAG_WRITE (1u << 1)
#define MINIHV_VFIO_REGION_INFO_FLAG_MMAP  (1u << 2)
#define MINIHV_VFIO_REGION_INFO_FLAG_CAPS  (1u << 3)

/* Capability id 1, version 1: the parts of a region that may be mapped. */
#define MINIHV_VFIO_REGION_INFO_CAP_SPARSE_MMAP 1

struct minihv_vfio_region_sparse_mmap_area {
    uint64_t offset;
    uint64_t size;
};

struct minihv_vfio_region_info_cap_sparse_mmap {
    struct minihv_vfio_info_cap_header header;
    uint32_t nr_areas;
    uint32_t reserved;
    struct minihv_vfio_region_sparse_mmap_area areas[];
};

/* Capability id 2, version 1: what a device-specific region is. */
#define MINIHV_VFIO_REGION_INFO_CAP_TYPE 2

struct minihv_vfio_region_info_cap_type {
    struct minihv_vfio_info_cap_header header;
    uint32_t type;
    uint32_t subtype;
};

#define MINIHV_VFIO_REGION_TYPE_PCI_VENDOR_TYPE (1u << 31)
#define MINIHV_VFIO_REGION_TYPE_PCI_VENDOR_MASK 0xffffu
/* Intel IGD: type VENDOR_TYPE | 0x8086 = 0x80008086. */
#define MINIHV_VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION 1
#define MINIHV_VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG 2
#define MINIHV_VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG  3

/* enum in linux/vfio.h: fixed vfio-pci region indices. Indices from
 * MINIHV_VFIO_PCI_NUM_REGIONS on are device-specific. */
#define MINIHV_VFIO_PCI_BAR0_REGION_INDEX   0
#define MINIHV_VFIO_PCI_BAR5_REGION_INDEX   5
#define MINIHV_VFIO_PCI_ROM_REGION_INDEX    6
#define MINIHV_VFIO_PCI_CONFIG_REGION_INDEX 7
#define MINIHV_VFIO_PCI_VGA_REGION_INDEX    8
#define MINIHV_VFIO_PCI_NUM_REGIONS         9

/* enum in linux/vfio.h: vfio-pci interrupt indices. */
#define MINIHV_VFIO_PCI_INTX_IRQ_INDEX 0
#define MINIHV_VFIO_PCI_MSI_IRQ_INDEX  1
#define MINIHV_VFIO_PCI_MSIX_IRQ_INDEX 2
#define MINIHV_VFIO_PCI_ERR_IRQ_INDEX  3
#define MINIHV_VFIO_PCI_REQ_IRQ_INDEX  4
#define MINIHV_VFIO_PCI_NUM_IRQS       5

/* VFIO_PCI_INDEX_TO_OFFSET in drivers/vfio/pci/vfio_pci_private.h: each
 * region lives at index << 40 of the device file. */
#define MINIHV_VFIO_PCI_OFFSET_SHIFT 40
#define MINIHV_VFIO_PCI_INDEX_TO_OFFSET(index) ((uint64_t)(index) << MINIHV_VFIO_PCI_OFFSET_SHIFT)
#define MINIHV_VFIO_PCI_OFFSET_TO_INDEX(off) ((uint32_t)((off) >> MINIHV_VFIO_PCI_OFFSET_SHIFT))
#define MINIHV_VFIO_PCI_OFFSET_MASK ((1ull << MINIHV_VFIO_PCI_OFFSET_SHIFT) - 1)

#endif
