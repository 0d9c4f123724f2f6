/* The x86 MSI message rules and the virtual MSI capability: see msi.h. */
#include <minihv/libc.h>
#include <minihv/x86.h>

#include "config.h"
#include "msi.h"
#include "pcicfg.h"

bool vfio_msi_addr_valid(uint64_t addr)
{
    /* Compatibility format only: bit 4 set is the VT-d remappable format
     * (VT-d 5.1.5.2), whose delivery mode is in a table entry, not in the
     * data this model checks. */
    return (addr >> 32) == 0 && ((uint32_t)addr & VFIO_MSI_ADDR_MASK) == VFIO_MSI_ADDR_BASE &&
           !(addr & VFIO_MSI_ADDR_REMAPPABLE);
}

bool vfio_msi_data_valid(uint32_t data)
{
    return x86_delivery_mode_allowed(X86_SRC_MSI, X86_DELIVERY_MODE(data));
}

enum vfio_msi_fault vfio_msi_check(uint64_t addr, uint32_t data)
{
    if (!vfio_msi_addr_valid(addr))
        return VFIO_MSI_BAD_ADDRESS;
    if (!vfio_msi_data_valid(data))
        return VFIO_MSI_BAD_DELIVERY;
    return VFIO_MSI_OK;
}

uint32_t vfio_msi_cap_len(uint16_t flags)
{
    uint32_t len = (flags & CFG_MSI_FLAGS_64BIT) ? 14 : 10;
    return (flags & CFG_MSI_FLAGS_MASKBIT) ? len + 10 : len;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void msi_fixup(struct vfio_config *c)
{
    uint8_t *flags = c->vconfig + c->msi_pos + CFG_MSI_FLAGS;
    uint16_t f = le16(flags);
    /* Multiple Message Enable may not exceed Multiple Message Capable,
     * which itself tops out at 32 vectors (encoding 5). */
    uint16_t mmc = (f & CFG_MSI_FLAGS_QMASK) >> 1, mme = (f & CFG_MSI_FLAGS_QSIZE) >> 4;
    if (mmc > 5)
        mmc = 5;
    if (mme > mmc)
        put16(flags, (uint16_t)((f & ~CFG_MSI_FLAGS_QSIZE) | (mmc << 4)));
}

void vfio_config_msi_state(const struct vfio_config *c, struct vfio_msi_state *msi)
{
    memset(msi, 0, sizeof(*msi));
    if (!c->msi_pos)
        return;
    const uint8_t *cap = c->vconfig + c->msi_pos;
    uint16_t f = le16(cap + CFG_MSI_FLAGS);
    bool is64 = f & CFG_MSI_FLAGS_64BIT;
    msi->enabled = f & CFG_MSI_FLAGS_ENABLE;
    msi->vectors = (uint8_t)(1u << ((f & CFG_MSI_FLAGS_QSIZE) >> 4));
    msi->addr = le32(cap + CFG_MSI_ADDRESS_LO);
    if (is64)
        msi->addr |= (uint64_t)le32(cap + CFG_MSI_ADDRESS_HI) << 32;
    msi->data = le16(cap + (is64 ? CFG_MSI_DATA_64 : CFG_MSI_DATA_32));
    msi->maskable = f & CFG_MSI_FLAGS_MASKBIT;
    if (msi->maskable)
        msi->mask = le32(cap + (is64 ? CFG_MSI_MASK_64 : CFG_MSI_MASK_32));
}

void vfio_msi_cap_written(struct vfio_config *c)
{
    struct vfio_msi_state msi;
    msi_fixup(c);
    vfio_config_msi_state(c, &msi);
    /* The device never gets a message it could not send under the core:
     * it stays disabled until the guest writes one that passes. The
     * guest still reads back what it wrote (the capability is virtual). */
    enum vfio_msi_fault fault = msi.enabled ? vfio_msi_check(msi.addr, msi.data) : VFIO_MSI_OK;
    if (fault == VFIO_MSI_BAD_ADDRESS)
        c->msi_refused++;
    else if (fault == VFIO_MSI_BAD_DELIVERY)
        c->msi_refused_delivery++;
    if (fault != VFIO_MSI_OK)
        msi.enabled = false;
    if (c->ops && c->ops->msi_update)
        c->ops->msi_update(c->opaque, &msi);
}
