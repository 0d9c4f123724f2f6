/* The IGD's device-specific vfio regions through the vfio model: indices,
 * type capability, sizes, read-only contents. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include <drivers/igd/opregion.h>
#include <drivers/igd/regions.h>

static uint8_t igd_cfg[256], host_cfg[256], lpc_cfg[256], opregion[0x2000];

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }

static void make_inputs(void)
{
    memset(igd_cfg, 0, sizeof(igd_cfg));
    put16(igd_cfg, 0x8086);
    put16(igd_cfg + 2, 0x3E9B);
    igd_cfg[0x0B] = 0x03;                      /* display / VGA */
    for (size_t i = 0; i < 256; i++) {
        host_cfg[i] = (uint8_t)(i * 3 + 1);
        lpc_cfg[i] = (uint8_t)(i * 5 + 2);
    }
    put16(host_cfg, 0x8086);
    put16(host_cfg + 2, 0x3E0F);
    put16(lpc_cfg, 0x8086);
    put16(lpc_cfg + 2, 0xA306);
    memset(opregion, 0, sizeof(opregion));
    memcpy(opregion, IGD_OPREGION_SIGNATURE, 16);
    opregion[0x10] = 8;
    put16(opregion + 0x16, 0x0201);
    opregion[0x58] = IGD_MBOX_ACPI | IGD_MBOX_ASLE;
    for (size_t i = 0x100; i < sizeof(opregion); i++)
        opregion[i] = (uint8_t)(i >> 3);
    memset(opregion + IGD_OPREGION_RVDA_OFF, 0, 12);   /* no extended VBT */
}

static struct vfio_device *new_device(void)
{
    struct vfio_device *dev = calloc(1, sizeof(*dev));
    assert_non_null(dev);
    uint64_t bars[6] = { 0x1000000, 0, 0x10000000, 0, 0, 0 };
    assert_int_equal(vfio_device_init_pci(dev, igd_cfg, sizeof(igd_cfg), bars, 0), 0);
    return dev;
}

static void test_three_regions(void **state)
{
    (void)state;
    make_inputs();
    struct vfio_device *dev = new_device();
    struct igd_regions r = {
        { opregion, sizeof(opregion) }, { host_cfg, sizeof(host_cfg) }, { lpc_cfg, sizeof(lpc_cfg) },
    };
    int first = igd_add_vfio_regions(dev, &r);
    assert_int_equal(first, MINIHV_VFIO_PCI_NUM_REGIONS);
    assert_int_equal(dev->num_regions, MINIHV_VFIO_PCI_NUM_REGIONS + 3);

    const struct { uint32_t subtype; const uint8_t *data; size_t len; } want[3] = {
        { MINIHV_VFIO_REGION_SUBTYPE_INTEL_IGD_OPREGION, opregion, sizeof(opregion) },
        { MINIHV_VFIO_REGION_SUBTYPE_INTEL_IGD_HOST_CFG, host_cfg, sizeof(host_cfg) },
        { MINIHV_VFIO_REGION_SUBTYPE_INTEL_IGD_LPC_CFG, lpc_cfg, sizeof(lpc_cfg) },
    };
    for (uint32_t i = 0; i < 3; i++) {
        uint32_t index = (uint32_t)first + i;
        uint8_t buf[128] = { 0 };
        struct minihv_vfio_region_info *info = (void *)buf;
        info->argsz = sizeof(buf);
        assert_int_equal(vfio_device_get_region_info(dev, index, buf, sizeof(buf)), 0);
        assert_int_equal(info->index, index);
        assert_int_equal(info->flags, MINIHV_VFIO_REGION_INFO_FLAG_READ | MINIHV_VFIO_REGION_INFO_FLAG_CAPS);
        assert_int_equal(info->size, want[i].len);
        assert_int_equal(info->cap_offset, sizeof(*info));
        struct minihv_vfio_region_info_cap_type cap;
        memcpy(&cap, buf + info->cap_offset, sizeof(cap));
        assert_int_equal(cap.header.id, MINIHV_VFIO_REGION_INFO_CAP_TYPE);
        assert_int_equal(cap.header.version, 1);
        assert_int_equal(cap.header.next, 0);
        assert_int_equal(cap.type, 0x80008086u);
        assert_int_equal(cap.subtype, want[i].subtype);

        /* contents, whole and at an odd offset */
        uint8_t *copy = malloc(want[i].len);
        assert_int_equal(vfio_region_read(dev, index, 0, copy, want[i].len), 0);
        assert_memory_equal(copy, want[i].data, want[i].len);
        assert_int_equal(vfio_region_read(dev, index, 0x11, copy, 7), 0);
        assert_memory_equal(copy, want[i].data + 0x11, 7);
        free(copy);
        /* read-only; nothing past the end */
        uint8_t b = 0;
        assert_int_equal(vfio_region_write(dev, index, 0, &b, 1), VFIO_EPERM);
        assert_int_equal(vfio_region_read(dev, index, want[i].len, &b, 1), VFIO_ERANGE);
        assert_int_equal(vfio_region_read(dev, index, want[i].len - 1, &b, 2), VFIO_ERANGE);
    }
    free(dev);
}

static void test_bad_inputs_register_nothing(void **state)
{
    (void)state;
    make_inputs();
    struct vfio_device *dev = new_device();
    struct igd_regions r = {
        { opregion, sizeof(opregion) }, { host_cfg, sizeof(host_cfg) }, { lpc_cfg, sizeof(lpc_cfg) },
    };
    r.lpc_cfg.len = 64;
    assert_int_equal(igd_add_vfio_regions(dev, &r), VFIO_EINVAL);
    r.lpc_cfg.len = 256;
    r.host_cfg.data = NULL;
    assert_int_equal(igd_add_vfio_regions(dev, &r), VFIO_EINVAL);
    r.host_cfg.data = host_cfg;
    opregion[0] = 'X';
    assert_int_equal(igd_add_vfio_regions(dev, &r), VFIO_EINVAL);
    opregion[0] = 'I';
    r.opregion.len = 0x1000;
    assert_int_equal(igd_add_vfio_regions(dev, &r), VFIO_EINVAL);
    r.opregion.len = sizeof(opregion);
    assert_int_equal(igd_add_vfio_regions(NULL, &r), VFIO_EINVAL);
    assert_int_equal(igd_add_vfio_regions(dev, NULL), VFIO_EINVAL);
    assert_int_equal(dev->num_regions, MINIHV_VFIO_PCI_NUM_REGIONS);

    /* not enough room for all three: none added */
    dev->num_regions = VFIO_MAX_REGIONS - 2;
    assert_int_equal(igd_add_vfio_regions(dev, &r), VFIO_ENOSPC);
    assert_int_equal(dev->num_regions, VFIO_MAX_REGIONS - 2);
    free(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_three_regions),
        cmocka_unit_test(test_bad_inputs_register_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
