/* Virtual MSI-X table: see msix.h. */
#include <minihv/libc.h>

#include "msix.h"
#include "pcicfg.h"

uint64_t vfio_msix_table_size(const struct vfio_msix *m)
{
    return (uint64_t)m->entries * VFIO_MSIX_ENTRY_SIZE;
}

/* One pending bit per entry, in whole qwords (PCI 3.0 6.8.2.10). */
uint64_t vfio_msix_pba_size(const struct vfio_msix *m)
{
    return ((uint64_t)m->entries + 63) / 64 * 8;
}

int vfio_msix_init(struct vfio_msix *m, const uint8_t *config, size_t len, uint8_t pos,
                   struct vfio_error *err)
{
    memset(m, 0, sizeof(*m));
    if (!range_ok(pos, CFG_MSIX_SIZEOF, len)) {
        err->what = "MSI-X capability outside config space";
        err->offset = pos;
        return VFIO_EINVAL;
    }
    uint16_t ctrl = le16(config + pos + CFG_MSIX_FLAGS);
    uint32_t table = le32(config + pos + CFG_MSIX_TABLE);
    uint32_t pba = le32(config + pos + CFG_MSIX_PBA);

    m->present = true;
    m->cap_pos = pos;
    m->entries = (ctrl & CFG_MSIX_FLAGS_QSIZE) + 1u;
    m->table_bar = table & CFG_MSIX_BIR_MASK;
    m->table_offset = table & CFG_MSIX_OFFSET_MASK;
    m->pba_bar = pba & CFG_MSIX_BIR_MASK;
    m->pba_offset = pba & CFG_MSIX_OFFSET_MASK;
    /* BIR values 6 and 7 are reserved (PCI 3.0 6.8.2.4). */
    if (m->table_bar > 5) {
        err->what = "MSI-X table BIR not a BAR";
        err->offset = pos + CFG_MSIX_TABLE;
        return VFIO_EINVAL;
    }
    if (m->pba_bar > 5) {
        err->what = "MSI-X PBA BIR not a BAR";
        err->offset = pos + CFG_MSIX_PBA;
        return VFIO_EINVAL;
    }
    for (uint32_t i = 0; i < m->entries; i++)
        m->table[i].ctrl = VFIO_MSIX_CTRL_MASKBIT;
    /* The dump's enable/mask state is the device's at capture time; the
     * guest starts from it like vfio-pci's vconfig does. */
    m->enabled = (ctrl & CFG_MSIX_FLAGS_ENABLE) != 0;
    m->function_masked = (ctrl & CFG_MSIX_FLAGS_MASKALL) != 0;
    return 0;
}

void vfio_msix_set_ops(struct vfio_msix *m, const struct vfio_msix_ops *ops, void *opaque)
{
    m->ops = ops;
    m->opaque = opaque;
}

static bool entry_live(const struct vfio_msix *m, uint32_t i)
{
    return m->live[i / 8] & (1u << (i % 8));
}

static void set_live(struct vfio_msix *m, uint32_t i, bool on)
{
    if (on)
        m->live[i / 8] |= (uint8_t)(1u << (i % 8));
    else
        m->live[i / 8] &= (uint8_t)~(1u << (i % 8));
}

static void program(struct vfio_msix *m, uint32_t i, uint64_t addr, uint32_t data, bool masked)
{
    if (m->ops && m->ops->write_entry)
        m->ops->write_entry(m->opaque, i, addr, data, masked);
}

static void count_refusal(struct vfio_msix *m, enum vfio_msi_fault fault)
{
    if (fault == VFIO_MSI_BAD_ADDRESS)
        m->refused++;
    else if (fault == VFIO_MSI_BAD_DELIVERY)
        m->refused_delivery++;
}

/* Bring physical entry i in line with the virtual one. `changed` says the
 * address or data moved, so a live entry must be reprogrammed. */
static void sync_entry(struct vfio_msix *m, uint32_t i, bool changed)
{
    const struct vfio_msix_entry *e = &m->table[i];
    bool want = m->enabled && !m->function_masked && !(e->ctrl & VFIO_MSIX_CTRL_MASKBIT);

    if (want) {
        uint64_t addr = (uint64_t)e->addr_hi << 32 | e->addr_lo;
        if (entry_live(m, i) && !changed)
            return;
        enum vfio_msi_fault fault = vfio_msi_check(addr, e->data);
        if (fault != VFIO_MSI_OK) {
            /* Never let the device write outside the interrupt window
             * (a DMA write anywhere in memory) nor send SMI, NMI, INIT or
             * ExtINT (msi.h): the entry stays masked. */
            count_refusal(m, fault);
            if (entry_live(m, i))
                program(m, i, 0, 0, true);
            set_live(m, i, false);
            return;
        }
        program(m, i, addr, e->data, false);
        set_live(m, i, true);
    } else if (entry_live(m, i)) {
        program(m, i, 0, 0, true);
        set_live(m, i, false);
    }
}

/* PCI 3.0 6.8.2: DWORD or aligned QWORD accesses only. */
static bool access_ok(struct vfio_msix *m, uint64_t off, size_t len, uint64_t size)
{
    if ((len != 4 && len != 8) || (off & (len - 1)) || !range_ok(off, len, size)) {
        m->bad_access++;
        return false;
    }
    return true;
}

int vfio_msix_table_read(struct vfio_msix *m, uint64_t off, void *buf, size_t len)
{
    if (!m->present)
        return VFIO_ENODEV;
    if (!access_ok(m, off, len, vfio_msix_table_size(m)))
        return VFIO_EINVAL;
    const uint8_t *t = (const uint8_t *)m->table;
    /* The table array is entries of four u32 in field order, so the byte
     * image of the guest view is the array's own (x86 is little-endian). */
    memcpy(buf, t + off, len);
    return 0;
}

int vfio_msix_table_write(struct vfio_msix *m, uint64_t off, const void *buf, size_t len)
{
    if (!m->present)
        return VFIO_ENODEV;
    if (!access_ok(m, off, len, vfio_msix_table_size(m)))
        return VFIO_EINVAL;
    /* An 8-byte access stays inside one 16-byte entry since it is aligned. */
    uint32_t i = (uint32_t)(off / VFIO_MSIX_ENTRY_SIZE);
    struct vfio_msix_entry *e = &m->table[i];
    struct vfio_msix_entry old = *e;
    memcpy((uint8_t *)e + off % VFIO_MSIX_ENTRY_SIZE, buf, len);
    /* Vector control: only the mask bit is defined, the rest is reserved
     * and reads as zero (PCI 3.0 6.8.2.9). */
    e->ctrl &= VFIO_MSIX_CTRL_MASKBIT;
    bool changed = old.addr_lo != e->addr_lo || old.addr_hi != e->addr_hi || old.data != e->data;
    bool unmasked = !(e->ctrl & VFIO_MSIX_CTRL_MASKBIT);
    sync_entry(m, i, changed);
    /* With MSI-X disabled or function-masked nothing is programmed, but
     * the guest has still asked for the message: a bad one it unmasks or
     * writes unmasked is refused (and counted) now, and again if MSI-X
     * is enabled with it (sync_entry). */
    if (unmasked && (changed || (old.ctrl & VFIO_MSIX_CTRL_MASKBIT)) && (!m->enabled || m->function_masked))
        count_refusal(m, vfio_msi_check((uint64_t)e->addr_hi << 32 | e->addr_lo, e->data));
    return 0;
}

int vfio_msix_pba_read(struct vfio_msix *m, uint64_t off, void *buf, size_t len)
{
    if (!m->present)
        return VFIO_ENODEV;
    if (!access_ok(m, off, len, vfio_msix_pba_size(m)))
        return VFIO_EINVAL;
    if (!m->ops || !m->ops->read_pba) {
        memset(buf, 0, len);
        return 0;
    }
    return m->ops->read_pba(m->opaque, off, buf, len) < 0 ? VFIO_EIO : 0;
}

void vfio_msix_set_control(struct vfio_msix *m, bool enable, bool function_mask)
{
    if (!m->present || (enable == m->enabled && function_mask == m->function_masked))
        return;
    m->enabled = enable;
    m->function_masked = function_mask;
    if (m->ops && m->ops->set_control)
        m->ops->set_control(m->opaque, enable, function_mask);
    for (uint32_t i = 0; i < m->entries; i++)
        sync_entry(m, i, false);
}
