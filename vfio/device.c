/* The device and its regions, after vfio_pci_enable(), vfio_pci_ioctl()
 * and vfio_pci_rw() of Linux 4.6. */
#include <minihv/libc.h>

#include "pcicfg.h"
#include "vfio.h"

#define RW (MINIHV_VFIO_REGION_INFO_FLAG_READ | MINIHV_VFIO_REGION_INFO_FLAG_WRITE)

static int fail(struct vfio_device *dev, const char *what, uint32_t offset, int code)
{
    dev->error.what = what;
    dev->error.offset = offset;
    return code;
}

/* The MSI-X table and PBA must sit in a memory BAR, inside it when its
 * size is known. */
static int check_msix_bar(struct vfio_device *dev, uint8_t bar, uint64_t off, uint64_t len,
                          uint32_t reg, const char *what_kind, const char *what_range)
{
    const struct vfio_bar *b = &dev->config.bars[bar];
    if (b->kind == VFIO_BAR_IO || b->kind == VFIO_BAR_MEM64_HI)
        return fail(dev, what_kind, reg, VFIO_EINVAL);
    if (b->kind != VFIO_BAR_ABSENT && !range_ok(off, len, b->size))
        return fail(dev, what_range, reg, VFIO_EINVAL);
    return 0;
}

static int init_msix(struct vfio_device *dev, const uint8_t *config, size_t len)
{
    struct vfio_msix *m = &dev->msix;
    uint8_t pos = dev->config.msix_pos;
    int ret = vfio_msix_init(m, config, len, pos, &dev->error);
    if (ret < 0)
        return ret;
    ret = check_msix_bar(dev, m->table_bar, m->table_offset, vfio_msix_table_size(m),
                         pos + CFG_MSIX_TABLE, "MSI-X table BIR is not a memory BAR",
                         "MSI-X table runs past the end of its BAR");
    if (ret < 0)
        return ret;
    ret = check_msix_bar(dev, m->pba_bar, m->pba_offset, vfio_msix_pba_size(m),
                         pos + CFG_MSIX_PBA, "MSI-X PBA BIR is not a memory BAR",
                         "MSI-X PBA runs past the end of its BAR");
    if (ret < 0)
        return ret;
    dev->config.msix = m;
    return 0;
}

static bool overlaps(uint64_t off, uint64_t len, uint64_t start, uint64_t n)
{
    return off < start + n && start < off + len;
}

/* An mmap-able BAR's sparse capability (its only one), made anew: the
 * areas around the MSI-X table and the judged ranges it holds; none when
 * it holds neither (the whole BAR is mappable). */
static int bar_sparse_cap(struct vfio_device *dev, uint32_t i)
{
    struct vfio_region *r = &dev->regions[i];
    struct vfio_hole holes[VFIO_HOLES_MAX];
    uint32_t n = 0;
    if (dev->msix.present && dev->msix.table_bar == i)
        holes[n++] = (struct vfio_hole){ dev->msix.table_offset, vfio_msix_table_size(&dev->msix) };
    for (uint32_t k = 0; k < dev->nr_judged && n < VFIO_HOLES_MAX; k++)
        if (dev->judged[k].index == i)
            holes[n++] = (struct vfio_hole){ dev->judged[k].offset, dev->judged[k].size };
    r->caps_len = 0;
    r->flags &= ~MINIHV_VFIO_REGION_INFO_FLAG_CAPS;
    if (!n)
        return 0;
    struct minihv_vfio_region_sparse_mmap_area areas[VFIO_HOLES_MAX + 1];
    return vfio_region_add_sparse_cap(r, areas, vfio_mmap_areas(r->size, holes, n, areas, VFIO_HOLES_MAX + 1));
}

/* The VFIO_PCI_BAR*_REGION_INDEX cases of VFIO_DEVICE_GET_REGION_INFO. */
static int init_bar_region(struct vfio_device *dev, uint32_t i)
{
    const struct vfio_bar *b = &dev->config.bars[i];
    struct vfio_region *r = &dev->regions[i];

    r->present = true;
    if (b->kind != VFIO_BAR_IO && b->kind != VFIO_BAR_MEM32 && b->kind != VFIO_BAR_MEM64)
        return 0; /* absent or upper half: size 0, flags 0 */
    r->size = b->size;
    r->flags = RW;
    /* Linux 4.6 maps only memory BARs of at least a page: EPT, like the
     * host MMU, cannot map less. */
    if (b->kind == VFIO_BAR_IO || b->size < VFIO_PAGE_SIZE)
        return 0;
    r->flags |= MINIHV_VFIO_REGION_INFO_FLAG_MMAP;
    return bar_sparse_cap(dev, i);
}

int vfio_device_init_pci(struct vfio_device *dev, const uint8_t *config, size_t config_len,
                         const uint64_t bar_sizes[6], uint64_t rom_size)
{
    int ret;

    if (!dev)
        return VFIO_EINVAL;
    memset(dev, 0, sizeof(*dev));
    ret = vfio_config_init(&dev->config, config, config_len, bar_sizes, rom_size, &dev->error);
    if (ret < 0)
        return ret;
    if (dev->config.msix_pos && (ret = init_msix(dev, config, config_len)) < 0)
        return ret;

    for (uint32_t i = MINIHV_VFIO_PCI_BAR0_REGION_INDEX; i <= MINIHV_VFIO_PCI_BAR5_REGION_INDEX; i++)
        if ((ret = init_bar_region(dev, i)) < 0)
            return ret;

    /* The ROM region reports the ROM BAR size and is read-only. */
    struct vfio_region *rom = &dev->regions[MINIHV_VFIO_PCI_ROM_REGION_INDEX];
    rom->present = true;
    rom->size = dev->config.bars[VFIO_CONFIG_ROM_BAR].size;
    rom->flags = rom->size ? MINIHV_VFIO_REGION_INFO_FLAG_READ : 0;

    struct vfio_region *cfg = &dev->regions[MINIHV_VFIO_PCI_CONFIG_REGION_INDEX];
    cfg->present = true;
    cfg->size = config_len;
    cfg->flags = RW;

    /* has_vga: class code 0x0300, any programming interface. */
    if (le16(config + CFG_CLASS_DEVICE) == CFG_CLASS_DISPLAY_VGA) {
        struct vfio_region *vga = &dev->regions[MINIHV_VFIO_PCI_VGA_REGION_INDEX];
        vga->present = true;
        vga->size = VFIO_VGA_REGION_SIZE;
        vga->flags = RW;
    }

    /* vfio-pci counts the VGA index whether or not the device has VGA. */
    dev->num_regions = MINIHV_VFIO_PCI_NUM_REGIONS;
    /* No RESET: the model does not reset the device. */
    dev->flags = MINIHV_VFIO_DEVICE_FLAGS_PCI;
    return 0;
}

int vfio_device_add_dev_region(struct vfio_device *dev, uint32_t type, uint32_t subtype,
                               uint32_t flags, uint64_t size, const struct vfio_region_ops *ops,
                               void *opaque)
{
    if (!dev || !ops || (flags & ~RW))
        return VFIO_EINVAL;
    if (((flags & MINIHV_VFIO_REGION_INFO_FLAG_READ) && !ops->read) ||
        ((flags & MINIHV_VFIO_REGION_INFO_FLAG_WRITE) && !ops->write))
        return VFIO_EINVAL;
    /* A region owns the 2^40 bytes of device file from index << 40. */
    if (size > MINIHV_VFIO_PCI_OFFSET_MASK + 1)
        return VFIO_EINVAL;
    if (dev->num_regions < MINIHV_VFIO_PCI_NUM_REGIONS || dev->num_regions >= VFIO_MAX_REGIONS)
        return VFIO_ENOSPC;

    uint32_t index = dev->num_regions;
    struct vfio_region *r = &dev->regions[index];
    memset(r, 0, sizeof(*r));
    r->flags = flags;
    r->size = size;
    r->type = type;
    r->subtype = subtype;
    r->ops = ops;
    r->opaque = opaque;
    int ret = vfio_region_add_type_cap(r, type, subtype);
    if (ret < 0)
        return ret;
    r->present = true;
    dev->num_regions++;
    return (int)index;
}

int vfio_device_add_judged(struct vfio_device *dev, uint32_t index, uint64_t offset, uint64_t size)
{
    if (!dev || index > MINIHV_VFIO_PCI_BAR5_REGION_INDEX || !size)
        return VFIO_EINVAL;
    enum vfio_bar_kind kind = dev->config.bars[index].kind;
    if (kind != VFIO_BAR_MEM32 && kind != VFIO_BAR_MEM64)
        return VFIO_EINVAL;
    if (!range_ok(offset, size, dev->regions[index].size))
        return VFIO_ERANGE;
    /* Its pages are mapped read-only: never the MSI-X table's, which the
     * model virtualizes for reads too. */
    const struct vfio_msix *m = &dev->msix;
    uint64_t first = ALIGN_DOWN(offset, VFIO_PAGE_SIZE), end = ALIGN_UP(offset + size, VFIO_PAGE_SIZE);
    uint64_t table = ALIGN_DOWN(m->table_offset, VFIO_PAGE_SIZE);
    uint64_t table_end = ALIGN_UP((uint64_t)m->table_offset + vfio_msix_table_size(m), VFIO_PAGE_SIZE);
    if (m->present && m->table_bar == index && first < table_end && table < end)
        return VFIO_EINVAL;
    if (dev->nr_judged >= VFIO_JUDGED_MAX)
        return VFIO_ENOSPC;
    dev->judged[dev->nr_judged++] = (struct vfio_judged_range){ index, offset, size };
    if (!(dev->regions[index].flags & MINIHV_VFIO_REGION_INFO_FLAG_MMAP))
        return 0; /* not mappable at all: every access is the model's already */
    int ret = bar_sparse_cap(dev, index);
    if (ret < 0) /* not reached (4 areas fit VFIO_REGION_CAPS_MAX): map none of the BAR */
        dev->regions[index].flags &= ~MINIHV_VFIO_REGION_INFO_FLAG_MMAP;
    return ret < 0 ? ret : 0;
}

int vfio_device_set_region_ops(struct vfio_device *dev, uint32_t index,
                               const struct vfio_region_ops *ops, void *opaque)
{
    if (!dev || index >= dev->num_regions || !dev->regions[index].present ||
        index == MINIHV_VFIO_PCI_CONFIG_REGION_INDEX)
        return VFIO_EINVAL;
    dev->regions[index].ops = ops;
    dev->regions[index].opaque = opaque;
    return 0;
}

/* vfio_pci_bar_rw: the MSI-X table and PBA inside a BAR are the virtual
 * ones; an access may not straddle their edge. Returns 1 when the access
 * was not for them. */
static int msix_rw(struct vfio_device *dev, uint32_t index, uint64_t off, void *buf, size_t count,
                   bool write)
{
    struct vfio_msix *m = &dev->msix;
    if (!m->present)
        return 1;
    uint64_t tsize = vfio_msix_table_size(m), psize = vfio_msix_pba_size(m);
    if (m->table_bar == index && overlaps(off, count, m->table_offset, tsize)) {
        if (off < m->table_offset || !range_ok(off - m->table_offset, count, tsize))
            return VFIO_EINVAL;
        return write ? vfio_msix_table_write(m, off - m->table_offset, buf, count)
                     : vfio_msix_table_read(m, off - m->table_offset, buf, count);
    }
    if (m->pba_bar == index && overlaps(off, count, m->pba_offset, psize)) {
        if (off < m->pba_offset || !range_ok(off - m->pba_offset, count, psize))
            return VFIO_EINVAL;
        /* The PBA is read-only (PCI 3.0 6.8.2.10): writes are dropped. */
        return write ? 0 : vfio_msix_pba_read(m, off - m->pba_offset, buf, count);
    }
    return 1;
}

static int region_rw(struct vfio_device *dev, uint32_t index, uint64_t off, void *buf,
                     size_t count, bool write)
{
    if (!dev || index >= dev->num_regions || !dev->regions[index].present || (!buf && count))
        return VFIO_EINVAL;
    struct vfio_region *r = &dev->regions[index];
    uint32_t need = write ? MINIHV_VFIO_REGION_INFO_FLAG_WRITE : MINIHV_VFIO_REGION_INFO_FLAG_READ;
    if (!(r->flags & need))
        return VFIO_EPERM;
    /* range_ok rejects off + count wrapping past 2^64. */
    if (!range_ok(off, count, r->size))
        return VFIO_ERANGE;
    if (!count)
        return 0;

    if (index == MINIHV_VFIO_PCI_CONFIG_REGION_INDEX)
        return write ? vfio_config_write(&dev->config, off, buf, count)
                     : vfio_config_read(&dev->config, off, buf, count);
    if (index <= MINIHV_VFIO_PCI_BAR5_REGION_INDEX) {
        /* A write touching a judged range is dropped whole: a part of it
         * could be all an attacker needs (one byte of a base address). */
        for (uint32_t k = 0; write && k < dev->nr_judged; k++)
            if (dev->judged[k].index == index && overlaps(off, count, dev->judged[k].offset, dev->judged[k].size)) {
                dev->judged_dropped++;
                return 0;
            }
        int ret = msix_rw(dev, index, off, buf, count, write);
        if (ret <= 0)
            return ret;
    }
    if (!r->ops || (write ? !r->ops->write : !r->ops->read))
        return VFIO_ENODEV;
    int ret = write ? r->ops->write(r->opaque, off, buf, count)
                    : r->ops->read(r->opaque, off, buf, count);
    return ret < 0 ? ret : 0;
}

int vfio_region_read(struct vfio_device *dev, uint32_t index, uint64_t offset, void *buf,
                     size_t count)
{
    return region_rw(dev, index, offset, buf, count, false);
}

int vfio_region_write(struct vfio_device *dev, uint32_t index, uint64_t offset, const void *buf,
                      size_t count)
{
    /* region_rw only reads from buf on the write path. */
    return region_rw(dev, index, offset, (void *)buf, count, true);
}

int vfio_device_read(struct vfio_device *dev, uint64_t fd_offset, void *buf, size_t count)
{
    return vfio_region_read(dev, MINIHV_VFIO_PCI_OFFSET_TO_INDEX(fd_offset),
                            fd_offset & MINIHV_VFIO_PCI_OFFSET_MASK, buf, count);
}

int vfio_device_write(struct vfio_device *dev, uint64_t fd_offset, const void *buf, size_t count)
{
    return vfio_region_write(dev, MINIHV_VFIO_PCI_OFFSET_TO_INDEX(fd_offset),
                             fd_offset & MINIHV_VFIO_PCI_OFFSET_MASK, buf, count);
}
