/* PCI configuration-space layout (PCI Local Bus 3.0 ch. 6, PCIe 4.0 7.5). */
#ifndef MINIHV_PCI_H
#define MINIHV_PCI_H

#include <stdint.h>

#define PCI_VENDOR_ID      0x00
#define PCI_DEVICE_ID      0x02
#define PCI_COMMAND        0x04
#define  PCI_COMMAND_IO      0x1
#define  PCI_COMMAND_MEMORY  0x2
#define  PCI_COMMAND_MASTER  0x4
#define  PCI_COMMAND_INTX_DISABLE 0x400
#define PCI_STATUS         0x06
#define  PCI_STATUS_CAP_LIST 0x10
#define PCI_CLASS_REVISION 0x08
#define PCI_HEADER_TYPE    0x0e
#define PCI_BAR0           0x10
#define  PCI_BAR_IO          0x1
#define  PCI_BAR_MEM_TYPE_64 0x4
#define  PCI_BAR_MEM_PREFETCH 0x8
#define PCI_SECONDARY_BUS  0x19 /* type 1 */
#define PCI_ROM_ADDRESS    0x30 /* type 0 */
#define PCI_ROM_ADDRESS1   0x38 /* type 1 */
#define  PCI_ROM_ENABLE      0x1
#define PCI_CAP_PTR        0x34

#define PCI_CAP_ID_PM      0x01
#define PCI_CAP_ID_MSI     0x05
#define PCI_CAP_ID_VNDR    0x09
#define PCI_CAP_ID_EXP     0x10
#define PCI_CAP_ID_MSIX    0x11

/* MSI-X capability (PCI 3.0 6.8.2): control at +2, table at +4, PBA at +8,
 * BIR in the low 3 bits of each offset register. */
#define PCI_MSIX_FLAGS     2
#define  PCI_MSIX_FLAGS_QSIZE  0x07ff
#define  PCI_MSIX_FLAGS_MASKALL 0x4000
#define  PCI_MSIX_FLAGS_ENABLE 0x8000
#define PCI_MSIX_TABLE     4
#define PCI_MSIX_PBA       8
#define  PCI_MSIX_BIR_MASK   0x7
#define PCI_MSIX_ENTRY_SIZE 16

#define PCI_CLASS_DISPLAY_VGA 0x0300
#define PCI_CLASS_BRIDGE_HOST 0x0600
#define PCI_CLASS_BRIDGE_ISA  0x0601
#define PCI_CLASS_BRIDGE_PCI  0x0604

#define PCI_VENDOR_INTEL 0x8086

#endif
