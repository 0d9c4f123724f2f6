/* The PCI configuration-space registers the vfio model virtualizes
 * (PCI Local Bus 3.0 ch. 6, PCIe Base 4.0 7.5), under a CFG_ prefix of
 * their own so vfio/ depends on nothing outside include/minihv. Names
 * follow include/uapi/linux/pci_regs.h. */
#ifndef MINIHV_VFIO_PCICFG_H
#define MINIHV_VFIO_PCICFG_H

#define CFG_SPACE_SIZE      256
#define CFG_SPACE_EXP_SIZE  4096
#define CFG_STD_HEADER_SIZE 0x40

#define CFG_VENDOR_ID       0x00
#define CFG_DEVICE_ID       0x02
#define CFG_COMMAND         0x04
#define  CFG_COMMAND_IO       0x0001
#define  CFG_COMMAND_MEMORY   0x0002
#define  CFG_COMMAND_MASTER   0x0004
#define  CFG_COMMAND_PARITY   0x0040
#define  CFG_COMMAND_SERR     0x0100
#define  CFG_COMMAND_INTX_DISABLE 0x0400
#define CFG_STATUS          0x06
#define  CFG_STATUS_CAP_LIST  0x0010
#define CFG_CLASS_PROG      0x09
#define CFG_CLASS_DEVICE    0x0a /* sub-class at 0x0a, base class at 0x0b */
#define  CFG_CLASS_DISPLAY_VGA 0x0300
#define CFG_CACHE_LINE_SIZE 0x0c
#define CFG_LATENCY_TIMER   0x0d
#define CFG_HEADER_TYPE     0x0e
#define  CFG_HEADER_TYPE_MASK   0x7f
#define  CFG_HEADER_TYPE_NORMAL 0
#define CFG_BIST            0x0f
#define CFG_BASE_ADDRESS_0  0x10
#define  CFG_BAR_SPACE_IO      0x01
#define  CFG_BAR_MEM_TYPE_MASK 0x06
#define  CFG_BAR_MEM_TYPE_32   0x00
#define  CFG_BAR_MEM_TYPE_1M   0x02 /* PCI 2.x "below 1 MiB", decoded as 32-bit */
#define  CFG_BAR_MEM_TYPE_64   0x04
#define  CFG_BAR_MEM_PREFETCH  0x08
#define  CFG_BAR_MEM_FLAGS     0x0f
#define  CFG_BAR_IO_FLAGS      0x03
#define CFG_ROM_ADDRESS     0x30
#define  CFG_ROM_ENABLE       0x00000001u
#define  CFG_ROM_ADDR_MASK    0xfffff800u
#define CFG_CAPABILITY_LIST 0x34
#define CFG_INTERRUPT_LINE  0x3c
#define CFG_INTERRUPT_PIN   0x3d

/* Capability ids and layouts */
#define CFG_CAP_LIST_ID     0
#define CFG_CAP_LIST_NEXT   1
#define CFG_CAP_ID_PM       0x01
#define  CFG_PM_CTRL          4
#define  CFG_PM_CTRL_STATE_MASK 0x0003
#define  CFG_PM_SIZEOF        8
#define CFG_CAP_ID_MSI      0x05
#define  CFG_MSI_FLAGS        2
#define  CFG_MSI_FLAGS_ENABLE   0x0001
#define  CFG_MSI_FLAGS_QMASK    0x000e /* multiple message capable */
#define  CFG_MSI_FLAGS_QSIZE    0x0070 /* multiple message enable */
#define  CFG_MSI_FLAGS_64BIT    0x0080
#define  CFG_MSI_FLAGS_MASKBIT  0x0100
#define  CFG_MSI_ADDRESS_LO   4
#define  CFG_MSI_ADDRESS_HI   8
#define  CFG_MSI_DATA_32      8
#define  CFG_MSI_MASK_32      12
#define  CFG_MSI_DATA_64      12
#define  CFG_MSI_MASK_64      16
#define CFG_CAP_ID_VNDR     0x09
#define  CFG_VNDR_LENGTH      2
#define CFG_CAP_ID_EXP      0x10
#define  CFG_EXP_FLAGS        2
#define  CFG_EXP_FLAGS_VERS   0x000f
#define  CFG_EXP_DEVCTL       8
#define  CFG_EXP_DEVCTL_BCR_FLR 0x8000
#define  CFG_EXP_LNKCTL       0x10
#define  CFG_EXP_DEVCTL2      0x28
#define  CFG_EXP_SIZEOF_V1    0x14 /* PCI_CAP_EXP_ENDPOINT_SIZEOF_V1 */
#define  CFG_EXP_SIZEOF_V2    0x3c /* PCI_CAP_EXP_ENDPOINT_SIZEOF_V2 */
#define CFG_CAP_ID_MSIX     0x11
#define  CFG_MSIX_FLAGS       2
#define  CFG_MSIX_FLAGS_QSIZE   0x07ff
#define  CFG_MSIX_FLAGS_MASKALL 0x4000
#define  CFG_MSIX_FLAGS_ENABLE  0x8000
#define  CFG_MSIX_TABLE       4
#define  CFG_MSIX_PBA         8
#define  CFG_MSIX_BIR_MASK    0x7
#define  CFG_MSIX_OFFSET_MASK 0xfffffff8u
#define  CFG_MSIX_SIZEOF      12
#define  CFG_MSIX_ENTRY_SIZE  16

/* Extended capabilities (PCIe, from 0x100): 16-bit id, 4-bit version,
 * 12-bit next pointer whose low two bits are reserved. */
#define CFG_EXT_CAP_START   0x100
#define CFG_EXT_CAP_NEXT(h) (((h) >> 20) & 0xffc)

#endif
