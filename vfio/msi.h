/* An x86 MSI message (Intel SDM Vol. 3A 10.11: address 0xFEEx_xxxx,
 * data = trigger | delivery mode | vector) and the virtual MSI capability
 * (PCI 3.0 6.8.1). The rules here decide what a passthrough device may be
 * programmed to send: both MSI and MSI-X go through them. */
#ifndef MINIHV_VFIO_MSI_H
#define MINIHV_VFIO_MSI_H

#include <stdbool.h>
#include <stdint.h>

/* x86 MSI address window: 0xFEE00000-0xFEEFFFFF, upper half 0
 * (SDM Vol. 3A 10.11.1). */
#define VFIO_MSI_ADDR_BASE 0xfee00000u
#define VFIO_MSI_ADDR_MASK 0xfff00000u
#define VFIO_MSI_ADDR_REMAPPABLE (1u << 4) /* VT-d interrupt format bit */

/* What is wrong with a message (0: nothing). */
enum vfio_msi_fault {
    VFIO_MSI_OK = 0,
    VFIO_MSI_BAD_ADDRESS,  /* outside the window: a DMA write anywhere */
    VFIO_MSI_BAD_DELIVERY, /* not fixed or lowest priority */
};

bool vfio_msi_addr_valid(uint64_t addr);
/* Fixed and lowest priority only. SMI enters SMM, INIT resets the target
 * (out of the core on SVM), ExtINT asks a PIC for the vector, 011 and 110
 * are reserved, and NMI is the core's own kick between CPUs (hv/ipi.c): a
 * device able to raise it could forge or storm it. No driver programs a
 * device with any of them. */
bool vfio_msi_data_valid(uint32_t data);
enum vfio_msi_fault vfio_msi_check(uint64_t addr, uint32_t data);

struct vfio_config;
/* The MSI capability's length from its flags (10 to 24 bytes). */
uint32_t vfio_msi_cap_len(uint16_t flags);
/* After a guest write inside the MSI capability: clamps Multiple Message
 * Enable, refuses (reports disabled, counts) a message vfio_msi_check
 * rejects, and hands the state to ops->msi_update. */
void vfio_msi_cap_written(struct vfio_config *c);

#endif
