/* Device-specific IGD regions for the vfio model, after Linux
 * vfio_pci_igd.c (vfio_pci_igd_opregion_init, vfio_pci_igd_cfg_init): each
 * serves a byte buffer read-only. */
#include <minihv/libc.h>
#include <minihv/vfio_abi.h>
#include <drivers/igd/opregion.h>
#include <drivers/igd/regions.h>

/* Offsets arrive bounds-checked against the region size (= len) by
 * vfio's region_rw; checked again so the ops are safe on their own. */
static int igd_region_read(void *opaque, uint64_t off, void *buf, size_t len)
{
    const struct igd_region_bytes *b = opaque;
    if (!range_ok(off, len, b->len))
        return VFIO_ERANGE;
    memcpy(buf, b->data + off, len);
    return 0;
}

static const struct vfio_region_ops igd_region_ro_ops = {
    .read = igd_region_read,
    .write = NULL,   /* no WRITE flag: vfio refuses writes with -EPERM */
};

static bool cfg_ok(const struct igd_region_bytes *b)
{
    return b->data && b->len >= 256 && b->len <= IGD_PCI_CFG_MAX;
}

int igd_add_vfio_regions(struct vfio_device *dev, const struct igd_regions *r)
{
    if (!dev || !r)
        return VFIO_EINVAL;
    struct igd_opregion_info info;
    if (!r->opregion.data || igd_opregion_parse(r->opregion.data, r->opregion.len, 0, &info, NULL) != 0)
        return VFIO_EINVAL;
    if (!cfg_ok(&r->host_cfg) || !cfg_ok(&r->lpc_cfg))
        return VFIO_EINVAL;
    if (dev->num_regions < MINIHV_VFIO_PCI_NUM_REGIONS || dev->num_regions + 3 > VFIO_MAX_REGIONS)
        return VFIO_ENOSPC;

    const struct {
        uint32_t subtype;
        const struct igd_region_bytes *bytes;
    } regs[] = {
        { MINIHV_VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION, &r->opregion },
        { MINIHV_VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG, &r->host_cfg },
        { MINIHV_VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG, &r->lpc_cfg },
    };
    int first = -1;
    for (size_t i = 0; i < ARRAY_SIZE(regs); i++) {
        int idx = vfio_device_add_dev_region(dev, IGD_VFIO_REGION_TYPE, regs[i].subtype,
                                             MINIHV_VFIO_REGION_INFO_FLAG_READ, regs[i].bytes->len,
                                             &igd_region_ro_ops, (void *)regs[i].bytes);
        if (idx < 0)
            return idx;   /* not reached: inputs and room were checked above */
        if (first < 0)
            first = idx;
    }
    return first;
}
