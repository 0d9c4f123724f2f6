/* The virtual MSI-X table: writes, masking, refused addresses and
 * delivery modes, PBA. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_vfio_util.h"

struct phys_table {
    int writes;
    uint32_t index;
    uint64_t addr;
    uint32_t data;
    bool masked;
    int controls;
    bool enable, fmask;
    int pba_reads;
};

static void on_entry(void *o, uint32_t index, uint64_t addr, uint32_t data, bool masked)
{
    struct phys_table *p = o;
    p->writes++;
    p->index = index;
    p->addr = addr;
    p->data = data;
    p->masked = masked;
    /* Never an unmasked entry outside the MSI window, nor one that sends
     * anything but a fixed or lowest-priority interrupt. */
    assert_true(masked || (vfio_msi_addr_valid(addr) && ((data >> 8) & 7) <= 1));
}

static int on_pba(void *o, uint64_t off, void *buf, size_t len)
{
    struct phys_table *p = o;
    p->pba_reads++;
    memset(buf, 0, len);
    if (off == 0)
        ((uint8_t *)buf)[0] = 0x5;
    return 0;
}

static void on_control(void *o, bool enable, bool fmask)
{
    struct phys_table *p = o;
    p->controls++;
    p->enable = enable;
    p->fmask = fmask;
}

static const struct vfio_msix_ops ops = { on_entry, on_pba, on_control };

/* NVMe-like, 8 entries, MSI-X enabled in the dump. */
static struct vfio_device *setup(struct phys_table *p, bool enabled)
{
    static uint8_t cfg[256];
    struct vfio_device *dev = dev_alloc();
    cfg_nvme(cfg, sizeof(cfg), 8);
    if (enabled)
        cfg[0x53] |= 0x80;
    assert_int_equal(vfio_device_init_pci(dev, cfg, sizeof(cfg), nvme_bars, 0), 0);
    vfio_msix_set_ops(&dev->msix, &ops, p);
    return dev;
}

static void tw32(struct vfio_device *dev, unsigned entry, unsigned field, uint32_t v)
{
    assert_int_equal(vfio_region_write(dev, 0, 0x2000 + entry * 16 + field, &v, 4), 0);
}

static uint32_t tr32(struct vfio_device *dev, unsigned entry, unsigned field)
{
    uint32_t v;
    assert_int_equal(vfio_region_read(dev, 0, 0x2000 + entry * 16 + field, &v, 4), 0);
    return v;
}

static void test_init_state(void **state)
{
    (void)state;
    struct phys_table p = {0};
    struct vfio_device *dev = setup(&p, true);
    assert_true(dev->msix.present);
    assert_int_equal(dev->msix.entries, 8);
    assert_int_equal(dev->msix.table_offset, 0x2000);
    assert_int_equal(dev->msix.pba_offset, 0x3000);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(tr32(dev, i, 12), 1);
    assert_int_equal(p.writes, 0);
    free(dev);
}

static void test_table_writes_and_unmask(void **state)
{
    (void)state;
    struct phys_table p = {0};
    struct vfio_device *dev = setup(&p, true);
    tw32(dev, 3, 0, 0xfee01000);
    tw32(dev, 3, 4, 0);
    tw32(dev, 3, 8, 0x4025);
    assert_int_equal(p.writes, 0); /* still masked */
    assert_int_equal(tr32(dev, 3, 0), 0xfee01000);
    assert_int_equal(tr32(dev, 3, 8), 0x4025);
    tw32(dev, 3, 12, 0xfffffffe);  /* unmask; reserved bits read 0 */
    assert_int_equal(tr32(dev, 3, 12), 0);
    assert_int_equal(p.writes, 1);
    assert_int_equal(p.index, 3);
    assert_int_equal(p.addr, 0xfee01000);
    assert_int_equal(p.data, 0x4025);
    assert_false(p.masked);
    /* Changing data while unmasked reprograms; rewriting the same does not. */
    tw32(dev, 3, 8, 0x4026);
    assert_int_equal(p.writes, 2);
    assert_int_equal(p.data, 0x4026);
    tw32(dev, 3, 8, 0x4026);
    assert_int_equal(p.writes, 2);
    /* An aligned 8-byte write of address lo/hi. */
    uint64_t a = 0xfee02000;
    assert_int_equal(vfio_region_write(dev, 0, 0x2000 + 3 * 16, &a, 8), 0);
    assert_int_equal(p.writes, 3);
    assert_int_equal(p.addr, 0xfee02000);
    uint64_t back;
    assert_int_equal(vfio_region_read(dev, 0, 0x2000 + 3 * 16 + 8, &back, 8), 0);
    assert_int_equal(back, 0x4026);
    assert_int_equal(dev->msix.refused, 0);
    free(dev);
}

static void test_masking(void **state)
{
    (void)state;
    struct phys_table p = {0};
    struct vfio_device *dev = setup(&p, true);
    tw32(dev, 0, 0, 0xfee00000);
    tw32(dev, 0, 12, 0);
    assert_int_equal(p.writes, 1);
    tw32(dev, 0, 12, 1);
    assert_int_equal(p.writes, 2);
    assert_true(p.masked);
    assert_int_equal(p.addr, 0);
    tw32(dev, 0, 12, 1);            /* already masked: nothing to do */
    assert_int_equal(p.writes, 2);
    tw32(dev, 0, 12, 0);
    assert_int_equal(p.writes, 3);
    assert_false(p.masked);

    /* Function mask through the (virtual) MSI-X control register. */
    uint16_t ctrl = 0xc007;
    assert_int_equal(vfio_region_write(dev, 7, 0x52, &ctrl, 2), 0);
    assert_int_equal(p.controls, 1);
    assert_true(p.enable);
    assert_true(p.fmask);
    assert_int_equal(p.writes, 4);
    assert_true(p.masked);
    uint16_t rd;
    assert_int_equal(vfio_region_read(dev, 7, 0x52, &rd, 2), 0);
    assert_int_equal(rd, 0xc007);   /* table size stays read-only */
    ctrl = 0x8000;
    assert_int_equal(vfio_region_write(dev, 7, 0x52, &ctrl, 2), 0);
    assert_int_equal(p.writes, 5);
    assert_false(p.masked);
    assert_int_equal(p.addr, 0xfee00000);
    /* Disabling MSI-X masks the live entries too. */
    ctrl = 0;
    assert_int_equal(vfio_region_write(dev, 7, 0x52, &ctrl, 2), 0);
    assert_int_equal(p.writes, 6);
    assert_true(p.masked);
    assert_false(p.enable);
    free(dev);
}

static void test_disabled_until_enable(void **state)
{
    (void)state;
    struct phys_table p = {0};
    struct vfio_device *dev = setup(&p, false);
    tw32(dev, 1, 0, 0xfee00000);
    tw32(dev, 1, 8, 0x30);
    tw32(dev, 1, 12, 0);
    assert_int_equal(p.writes, 0);
    uint16_t ctrl = 0x8000;
    assert_int_equal(vfio_region_write(dev, 7, 0x52, &ctrl, 2), 0);
    assert_int_equal(p.writes, 1);
    assert_int_equal(p.index, 1);
    assert_int_equal(p.data, 0x30);
    free(dev);
}

static void test_invalid_addresses_refused(void **state)
{
    (void)state;
    struct phys_table p = {0};
    struct vfio_device *dev = setup(&p, true);
    tw32(dev, 2, 0, 0xdead0000);     /* RAM, not the MSI window */
    tw32(dev, 2, 12, 0);
    assert_int_equal(p.writes, 0);
    assert_int_equal(dev->msix.refused, 1);
    tw32(dev, 2, 0, 0xfee00000);
    tw32(dev, 2, 4, 0x1);            /* above 4 GiB */
    assert_int_equal(dev->msix.refused, 2);
    /* The valid low half went live, the bad high half masked it again. */
    assert_int_equal(p.writes, 2);
    assert_true(p.masked);
    tw32(dev, 2, 4, 0);              /* valid again: reprogrammed */
    assert_int_equal(p.writes, 3);
    assert_int_equal(p.addr, 0xfee00000);
    assert_false(p.masked);
    assert_int_equal(dev->msix.refused, 2);
    /* The guest still reads what it wrote. */
    tw32(dev, 5, 0, 0xfef00000);
    tw32(dev, 5, 12, 0);
    assert_int_equal(tr32(dev, 5, 0), 0xfef00000);
    assert_int_equal(dev->msix.refused, 3);
    assert_false(vfio_msi_addr_valid(0xfedfffff));
    assert_true(vfio_msi_addr_valid(0xfeefffef)); /* bit 4 clear */
    assert_false(vfio_msi_addr_valid(0xfeefffff)); /* bit 4: the remappable format */
    free(dev);
}

/* SDM Vol. 3A 10.11.2: data bits 10:8. Fixed and lowest priority go
 * live; SMI, NMI, INIT, ExtINT and the reserved 011/110 keep the entry
 * masked and are counted apart from bad addresses. */
static void test_delivery_modes_refused(void **state)
{
    (void)state;
    struct phys_table p = {0};
    struct vfio_device *dev = setup(&p, true);
    tw32(dev, 4, 0, 0xfee00000);
    tw32(dev, 4, 8, 0x0130);         /* lowest priority, vector 0x30 */
    tw32(dev, 4, 12, 0);
    assert_int_equal(p.writes, 1);
    assert_false(p.masked);
    assert_int_equal(p.data, 0x0130);
    static const uint32_t bad[] = { 0x0200, 0x0300, 0x0400, 0x0500, 0x0600, 0x0700, 0xc500 };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tw32(dev, 4, 8, bad[i] | 0x30);
        assert_true(p.masked);       /* the live entry is masked again */
        assert_int_equal(dev->msix.refused_delivery, i + 1);
        assert_int_equal(tr32(dev, 4, 8), bad[i] | 0x30); /* the guest reads what it wrote */
    }
    assert_int_equal(p.writes, 2);   /* one mask; the other bad writes find it masked */
    assert_int_equal(dev->msix.refused, 0);
    tw32(dev, 4, 8, 0x8031);         /* fixed, level-triggered: fine again */
    assert_false(p.masked);
    assert_int_equal(p.data, 0x8031);
    /* Unmasking an entry that holds INIT: refused, never programmed. */
    tw32(dev, 6, 0, 0xfee00000);
    tw32(dev, 6, 8, 0x0500);
    int before = p.writes;
    tw32(dev, 6, 12, 0);
    assert_int_equal(p.writes, before);
    assert_int_equal(dev->msix.refused_delivery, 8);
    /* Enabling MSI-X with the INIT entry unmasked: refused again. */
    uint16_t ctrl = 0;
    assert_int_equal(vfio_region_write(dev, 7, 0x52, &ctrl, 2), 0);
    ctrl = 0x8000;
    assert_int_equal(vfio_region_write(dev, 7, 0x52, &ctrl, 2), 0);
    assert_int_equal(dev->msix.refused_delivery, 9);
    assert_true(vfio_msi_data_valid(0x00ff));
    assert_true(vfio_msi_data_valid(0xffff81ff)); /* only bits 10:8 decide */
    assert_false(vfio_msi_data_valid(0x04ff));
    assert_int_equal(vfio_msi_check(0xfee00000, 0x0700), VFIO_MSI_BAD_DELIVERY);
    assert_int_equal(vfio_msi_check(0xfef00000, 0x0700), VFIO_MSI_BAD_ADDRESS);
    assert_int_equal(vfio_msi_check(0xfee00000, 0x0100), VFIO_MSI_OK);
    /* VT-d remappable format (address bit 4; handle in 19:5, SHV bit 3):
     * its delivery mode is in a table the core does not check. */
    assert_int_equal(vfio_msi_check(0xfee00010, 0x0000), VFIO_MSI_BAD_ADDRESS);
    assert_int_equal(vfio_msi_check(0xfee0001c, 0x0000), VFIO_MSI_BAD_ADDRESS);
    assert_int_equal(vfio_msi_check(0xfee0000c, 0x0000), VFIO_MSI_OK); /* RH, DM: compatibility format */
    free(dev);
}

/* MSI-X disabled: nothing is programmed, but a bad message the guest
 * unmasks is refused and counted at once, and again at enable. */
static void test_refused_while_disabled(void **state)
{
    (void)state;
    struct phys_table p = {0};
    struct vfio_device *dev = setup(&p, false);
    tw32(dev, 1, 0, 0xfee00000);
    tw32(dev, 1, 8, 0x0500);         /* INIT, still masked: not a refusal yet */
    assert_int_equal(dev->msix.refused_delivery, 0);
    tw32(dev, 1, 12, 0);             /* unmasked */
    assert_int_equal(dev->msix.refused_delivery, 1);
    tw32(dev, 1, 12, 0);             /* no change: not counted twice */
    assert_int_equal(dev->msix.refused_delivery, 1);
    tw32(dev, 1, 0, 0xdead0000);     /* a bad address on top, unmasked */
    assert_int_equal(dev->msix.refused, 1);
    uint16_t ctrl = 0x8000;
    assert_int_equal(vfio_region_write(dev, 7, 0x52, &ctrl, 2), 0);
    assert_int_equal(dev->msix.refused, 2);
    assert_int_equal(p.writes, 0);
    free(dev);
}

static void test_bad_access_sizes(void **state)
{
    (void)state;
    struct phys_table p = {0};
    struct vfio_device *dev = setup(&p, true);
    uint8_t b[8] = {0};
    assert_int_equal(vfio_region_write(dev, 0, 0x2000, b, 2), VFIO_EINVAL);
    assert_int_equal(vfio_region_write(dev, 0, 0x2002, b, 4), VFIO_EINVAL);
    assert_int_equal(vfio_region_write(dev, 0, 0x2004, b, 8), VFIO_EINVAL);
    assert_int_equal(vfio_region_read(dev, 0, 0x2001, b, 1), VFIO_EINVAL);
    assert_int_equal(vfio_region_read(dev, 0, 0x3000, b, 2), VFIO_EINVAL);
    assert_int_equal(dev->msix.bad_access, 5);
    assert_int_equal(vfio_msix_table_write(&dev->msix, 8 * 16, b, 4), VFIO_EINVAL);
    assert_int_equal(vfio_msix_table_read(&dev->msix, UINT64_MAX - 3, b, 4), VFIO_EINVAL);
    assert_int_equal(p.writes, 0);
    free(dev);
}

static void test_pba_read(void **state)
{
    (void)state;
    struct phys_table p = {0};
    struct vfio_device *dev = setup(&p, true);
    uint64_t v = 0;
    assert_int_equal(vfio_region_read(dev, 0, 0x3000, &v, 8), 0);
    assert_int_equal(v, 0x5);
    assert_int_equal(p.pba_reads, 1);
    assert_int_equal(vfio_region_read(dev, 0, 0x3008, &v, 8), VFIO_ENODEV); /* past the PBA: BAR ops */
    free(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_state),
        cmocka_unit_test(test_table_writes_and_unmask),
        cmocka_unit_test(test_masking),
        cmocka_unit_test(test_disabled_until_enable),
        cmocka_unit_test(test_invalid_addresses_refused),
        cmocka_unit_test(test_delivery_modes_refused),
        cmocka_unit_test(test_refused_while_disabled),
        cmocka_unit_test(test_bad_access_sizes),
        cmocka_unit_test(test_pba_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
