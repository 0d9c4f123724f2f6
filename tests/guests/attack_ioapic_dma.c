/* Attack ioapic-dma (review R of this session, finding 6): the I/O APIC's
 * page is read-only for the CPU (hv/ioapic.c judges every redirection
 * entry), but a device the guest drives could write it by DMA: IOREGSEL,
 * then IOWIN, an INIT entry past the model's check. The edu device (passed
 * through, under intel-iommu or amd-iommu) copies 4 bytes (0xa5 first)
 * to the default I/O APIC page; IOREGSEL must still hold what the CPU put
 * there. The core leaves every I/O APIC page out of the IOMMU's domain. */
#include <minihv/format.h>
#include "tests/guests/attack.h"

#define IOAPIC_PAGE 0xfec00000ull /* QEMU q35's, the MADT's only one */
#define IOAPIC_VERSION_INDEX 0x01 /* a harmless index to leave in IOREGSEL */

void attack_ioapic_dma(void)
{
    const char *name = "ioapic-dma";
    static char why[240];
    uint32_t sel_before = 0, sel_after = 0, version = 0;
    uint64_t flags = atk_irq_save();
    atk_write32(IOAPIC_PAGE, IOAPIC_VERSION_INDEX);
    atk_read32(IOAPIC_PAGE, &sel_before);
    atk_read32(IOAPIC_PAGE + 0x10, &version);
    bool ran = atk_edu_dma_to(IOAPIC_PAGE, 4);
    atk_read32(IOAPIC_PAGE, &sel_after);
    atk_write32(IOAPIC_PAGE, IOAPIC_VERSION_INDEX);
    atk_irq_restore(flags);
    atk_note(name, "edu DMA of 4 bytes (0xa5 first) to IOREGSEL 0x%llx %s; IOREGSEL 0x%x before, 0x%x after; "
             "version register 0x%x", IOAPIC_PAGE, ran ? "ran" : "did not finish", sel_before & 0xff, sel_after & 0xff,
             version);
    if (!ran && !(sel_before & 0xff) && !version)
        atk_skip(name, "no edu device or no I/O APIC at 0x%llx", IOAPIC_PAGE);
    else if ((sel_after & 0xff) != (sel_before & 0xff))
        atk_fail(name, "the device's DMA reached the I/O APIC: IOREGSEL 0x%x -> 0x%x", sel_before & 0xff, sel_after & 0xff);
    else if (!atk_core_intact(why, sizeof(why)))
        atk_fail(name, "after the DMA: %s", why);
    else
        atk_pass(name, "the DMA did not reach IOREGSEL (0x%x before and after); core intact", sel_before & 0xff);
}
