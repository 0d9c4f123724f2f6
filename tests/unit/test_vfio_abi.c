/* ABI: our mirror against the kernel's own <linux/vfio.h>, field by field,
 * and serialized region info against one built with the kernel structs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <linux/vfio.h>

#include "test_vfio_util.h"

/* linux/vfio.h spells this (1 << 31), which UBSan flags when evaluated at
 * run time; compare it at compile time instead. */
_Static_assert((uint32_t)VFIO_REGION_TYPE_PCI_VENDOR_TYPE == MINIHV_VFIO_REGION_TYPE_PCI_VENDOR_TYPE,
               "VFIO_REGION_TYPE_PCI_VENDOR_TYPE");

#define SAME_LAYOUT(ours, theirs, field) \
    assert_int_equal(offsetof(struct ours, field), offsetof(struct theirs, field))

static void test_struct_layouts(void **state)
{
    (void)state;
    assert_int_equal(sizeof(struct minihv_vfio_info_cap_header), sizeof(struct vfio_info_cap_header));
    SAME_LAYOUT(minihv_vfio_info_cap_header, vfio_info_cap_header, id);
    SAME_LAYOUT(minihv_vfio_info_cap_header, vfio_info_cap_header, version);
    SAME_LAYOUT(minihv_vfio_info_cap_header, vfio_info_cap_header, next);

    assert_int_equal(sizeof(struct minihv_vfio_device_info), sizeof(struct vfio_device_info));
    SAME_LAYOUT(minihv_vfio_device_info, vfio_device_info, argsz);
    SAME_LAYOUT(minihv_vfio_device_info, vfio_device_info, flags);
    SAME_LAYOUT(minihv_vfio_device_info, vfio_device_info, num_regions);
    SAME_LAYOUT(minihv_vfio_device_info, vfio_device_info, num_irqs);
    SAME_LAYOUT(minihv_vfio_device_info, vfio_device_info, cap_offset);

    assert_int_equal(sizeof(struct minihv_vfio_region_info), sizeof(struct vfio_region_info));
    assert_int_equal(sizeof(struct minihv_vfio_region_info), 32);
    SAME_LAYOUT(minihv_vfio_region_info, vfio_region_info, argsz);
    SAME_LAYOUT(minihv_vfio_region_info, vfio_region_info, flags);
    SAME_LAYOUT(minihv_vfio_region_info, vfio_region_info, index);
    SAME_LAYOUT(minihv_vfio_region_info, vfio_region_info, cap_offset);
    SAME_LAYOUT(minihv_vfio_region_info, vfio_region_info, size);
    SAME_LAYOUT(minihv_vfio_region_info, vfio_region_info, offset);

    assert_int_equal(sizeof(struct minihv_vfio_region_sparse_mmap_area),
                     sizeof(struct vfio_region_sparse_mmap_area));
    SAME_LAYOUT(minihv_vfio_region_sparse_mmap_area, vfio_region_sparse_mmap_area, offset);
    SAME_LAYOUT(minihv_vfio_region_sparse_mmap_area, vfio_region_sparse_mmap_area, size);

    assert_int_equal(sizeof(struct minihv_vfio_region_info_cap_sparse_mmap),
                     sizeof(struct vfio_region_info_cap_sparse_mmap));
    SAME_LAYOUT(minihv_vfio_region_info_cap_sparse_mmap, vfio_region_info_cap_sparse_mmap, header);
    SAME_LAYOUT(minihv_vfio_region_info_cap_sparse_mmap, vfio_region_info_cap_sparse_mmap, nr_areas);
    SAME_LAYOUT(minihv_vfio_region_info_cap_sparse_mmap, vfio_region_info_cap_sparse_mmap, reserved);
    SAME_LAYOUT(minihv_vfio_region_info_cap_sparse_mmap, vfio_region_info_cap_sparse_mmap, areas);

    assert_int_equal(sizeof(struct minihv_vfio_region_info_cap_type),
                     sizeof(struct vfio_region_info_cap_type));
    SAME_LAYOUT(minihv_vfio_region_info_cap_type, vfio_region_info_cap_type, header);
    SAME_LAYOUT(minihv_vfio_region_info_cap_type, vfio_region_info_cap_type, type);
    SAME_LAYOUT(minihv_vfio_region_info_cap_type, vfio_region_info_cap_type, subtype);
}

static void test_constants(void **state)
{
    (void)state;
    assert_int_equal(MINIHV_VFIO_DEVICE_FLAGS_RESET, VFIO_DEVICE_FLAGS_RESET);
    assert_int_equal(MINIHV_VFIO_DEVICE_FLAGS_PCI, VFIO_DEVICE_FLAGS_PCI);
    assert_int_equal(MINIHV_VFIO_DEVICE_FLAGS_CAPS, VFIO_DEVICE_FLAGS_CAPS);
    assert_int_equal(MINIHV_VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_READ);
    assert_int_equal(MINIHV_VFIO_REGION_INFO_FLAG_WRITE, VFIO_REGION_INFO_FLAG_WRITE);
    assert_int_equal(MINIHV_VFIO_REGION_INFO_FLAG_MMAP, VFIO_REGION_INFO_FLAG_MMAP);
    assert_int_equal(MINIHV_VFIO_REGION_INFO_FLAG_CAPS, VFIO_REGION_INFO_FLAG_CAPS);
    assert_int_equal(MINIHV_VFIO_REGION_INFO_CAP_SPARSE_MMAP, VFIO_REGION_INFO_CAP_SPARSE_MMAP);
    assert_int_equal(MINIHV_VFIO_REGION_INFO_CAP_TYPE, VFIO_REGION_INFO_CAP_TYPE);
    assert_int_equal(MINIHV_VFIO_REGION_TYPE_PCI_VENDOR_MASK, VFIO_REGION_TYPE_PCI_VENDOR_MASK);
    assert_int_equal(MINIHV_VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION, VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION);
    assert_int_equal(MINIHV_VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG, VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG);
    assert_int_equal(MINIHV_VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG, VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG);
    assert_int_equal(MINIHV_VFIO_PCI_BAR0_REGION_INDEX, VFIO_PCI_BAR0_REGION_INDEX);
    assert_int_equal(MINIHV_VFIO_PCI_BAR5_REGION_INDEX, VFIO_PCI_BAR5_REGION_INDEX);
    assert_int_equal(MINIHV_VFIO_PCI_ROM_REGION_INDEX, VFIO_PCI_ROM_REGION_INDEX);
    assert_int_equal(MINIHV_VFIO_PCI_CONFIG_REGION_INDEX, VFIO_PCI_CONFIG_REGION_INDEX);
    assert_int_equal(MINIHV_VFIO_PCI_VGA_REGION_INDEX, VFIO_PCI_VGA_REGION_INDEX);
    assert_int_equal(MINIHV_VFIO_PCI_NUM_REGIONS, VFIO_PCI_NUM_REGIONS);
    assert_int_equal(MINIHV_VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_INTX_IRQ_INDEX);
    assert_int_equal(MINIHV_VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX);
    assert_int_equal(MINIHV_VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_MSIX_IRQ_INDEX);
    assert_int_equal(MINIHV_VFIO_PCI_ERR_IRQ_INDEX, VFIO_PCI_ERR_IRQ_INDEX);
    assert_int_equal(MINIHV_VFIO_PCI_REQ_IRQ_INDEX, VFIO_PCI_REQ_IRQ_INDEX);
    assert_int_equal(MINIHV_VFIO_PCI_NUM_IRQS, VFIO_PCI_NUM_IRQS);
    assert_int_equal(MINIHV_VFIO_REGION_TYPE_PCI_VENDOR_TYPE | 0x8086, 0x80008086u);
}

/* BAR0 of the NVMe-like device: MSI-X table (64 entries = 1 KiB) at
 * 0x2000 of 16 KiB: areas [0, 0x2000) and [0x3000, 0x4000). */
static void test_sparse_region_info_bytes(void **state)
{
    (void)state;
    uint8_t cfg[256];
    struct vfio_device *dev = dev_alloc();
    cfg_nvme(cfg, sizeof(cfg), 64);
    assert_int_equal(vfio_device_init_pci(dev, cfg, sizeof(cfg), nvme_bars, 0), 0);

    /* The kernel's way: struct vfio_region_info, then the capability. */
    uint8_t theirs[256] = {0};
    size_t caps = sizeof(struct vfio_region_info_cap_sparse_mmap) + 2 * sizeof(struct vfio_region_sparse_mmap_area);
    struct vfio_region_info info = {
        .argsz = sizeof(theirs),
        .flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE |
                 VFIO_REGION_INFO_FLAG_MMAP | VFIO_REGION_INFO_FLAG_CAPS,
        .index = VFIO_PCI_BAR0_REGION_INDEX,
        .cap_offset = sizeof(struct vfio_region_info),
        .size = 0x4000,
        .offset = 0,
    };
    memcpy(theirs, &info, sizeof(info));
    struct vfio_region_info_cap_sparse_mmap *sp = (void *)(theirs + sizeof(info));
    sp->header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
    sp->header.version = 1;
    sp->header.next = 0;
    sp->nr_areas = 2;
    sp->areas[0].offset = 0;
    sp->areas[0].size = 0x2000;
    sp->areas[1].offset = 0x3000;
    sp->areas[1].size = 0x1000;

    uint8_t ours[256] = {0};
    uint32_t argsz = sizeof(ours);
    memcpy(ours, &argsz, 4);
    assert_int_equal(vfio_device_get_region_info(dev, 0, ours, sizeof(ours)), 0);
    assert_memory_equal(ours, theirs, sizeof(info) + caps);
    assert_memory_equal(ours, theirs, sizeof(ours));
    free(dev);
}

static int dummy_read(void *o, uint64_t off, void *b, size_t l)
{
    (void)o; (void)off;
    memset(b, 0, l);
    return 0;
}

static void test_type_cap_and_device_info_bytes(void **state)
{
    (void)state;
    uint8_t cfg[256];
    struct vfio_device *dev = dev_alloc();
    cfg_header(cfg, sizeof(cfg), 0x8086, 0x3e9b, 0x030000);
    assert_int_equal(vfio_device_init_pci(dev, cfg, sizeof(cfg), (uint64_t[6]){0}, 0), 0);
    static const struct vfio_region_ops rd = { .read = dummy_read };
    int idx = vfio_device_add_dev_region(dev, MINIHV_VFIO_REGION_TYPE_PCI_VENDOR_TYPE | 0x8086,
                                         VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION,
                                         VFIO_REGION_INFO_FLAG_READ, 0x2000, &rd, NULL);
    assert_int_equal(idx, VFIO_PCI_NUM_REGIONS);

    uint8_t theirs[64] = {0};
    struct vfio_region_info info = {
        .argsz = sizeof(theirs),
        .flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_CAPS,
        .index = VFIO_PCI_NUM_REGIONS,
        .cap_offset = sizeof(struct vfio_region_info),
        .size = 0x2000,
        .offset = (uint64_t)VFIO_PCI_NUM_REGIONS << 40,
    };
    memcpy(theirs, &info, sizeof(info));
    struct vfio_region_info_cap_type *t = (void *)(theirs + sizeof(info));
    t->header.id = VFIO_REGION_INFO_CAP_TYPE;
    t->header.version = 1;
    t->type = 0x80008086;
    t->subtype = VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION;

    uint8_t ours[64] = {0};
    uint32_t argsz = sizeof(ours);
    memcpy(ours, &argsz, 4);
    assert_int_equal(vfio_device_get_region_info(dev, (uint32_t)idx, ours, sizeof(ours)), 0);
    assert_memory_equal(ours, theirs, sizeof(ours));

    /* VFIO_DEVICE_GET_INFO writes up to num_irqs (Linux 4.6 minsz). */
    struct vfio_device_info kinfo;
    memset(&kinfo, 0xa5, sizeof(kinfo));
    kinfo.argsz = sizeof(kinfo);
    kinfo.flags = VFIO_DEVICE_FLAGS_PCI;
    kinfo.num_regions = VFIO_PCI_NUM_REGIONS + 1;
    kinfo.num_irqs = VFIO_PCI_NUM_IRQS;
    uint8_t dbuf[sizeof(struct vfio_device_info)];
    memset(dbuf, 0xa5, sizeof(dbuf));
    argsz = sizeof(dbuf);
    memcpy(dbuf, &argsz, 4);
    assert_int_equal(vfio_device_get_info(dev, dbuf, sizeof(dbuf)), 0);
    assert_memory_equal(dbuf, &kinfo, sizeof(kinfo));
    free(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_struct_layouts),
        cmocka_unit_test(test_constants),
        cmocka_unit_test(test_sparse_region_info_bytes),
        cmocka_unit_test(test_type_cap_and_device_info_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
