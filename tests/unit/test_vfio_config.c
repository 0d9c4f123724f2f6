/* Config-space virtualization: BAR sizing, read-only bytes, the command
 * register, capability-chain validation, MSI, virtual registers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_vfio_util.h"

static uint32_t rd32(struct vfio_device *dev, unsigned off)
{
    uint8_t b[4];
    assert_int_equal(vfio_region_read(dev, 7, off, b, 4), 0);
    return cfg_r32(b, 0);
}

static uint16_t rd16(struct vfio_device *dev, unsigned off)
{
    uint16_t v;
    assert_int_equal(vfio_region_read(dev, 7, off, &v, 2), 0);
    return v;
}

static void wr32(struct vfio_device *dev, unsigned off, uint32_t v)
{
    assert_int_equal(vfio_region_write(dev, 7, off, &v, 4), 0);
}

static void wr16(struct vfio_device *dev, unsigned off, uint16_t v)
{
    assert_int_equal(vfio_region_write(dev, 7, off, &v, 2), 0);
}

struct remap {
    int calls;
    uint32_t bar;
    uint64_t addr, size;
    bool decode;
};

static void on_remap(void *opaque, uint32_t bar, uint64_t addr, uint64_t size, bool decode)
{
    struct remap *r = opaque;
    r->calls++;
    r->bar = bar;
    r->addr = addr;
    r->size = size;
    r->decode = decode;
}

static struct msi_seen {
    int calls;
    struct vfio_msi_state last;
} msi_seen;

static void on_msi(void *opaque, const struct vfio_msi_state *msi)
{
    (void)opaque;
    msi_seen.calls++;
    msi_seen.last = *msi;
}

static const struct vfio_config_ops cfg_ops = { .bar_remap = on_remap, .msi_update = on_msi };

/* BAR0 32-bit 4 KiB, BAR1-2 64-bit prefetchable 16 KiB, BAR3 I/O 32
 * bytes, BAR4-5 64-bit 8 GiB, ROM 64 KiB. */
static struct vfio_device *bars_dev(struct remap *r)
{
    static uint8_t cfg[256];
    struct vfio_device *dev = dev_alloc();
    cfg_header(cfg, sizeof(cfg), 0x8086, 0x1111, 0x020000);
    cfg_w16(cfg, 0x04, 0x0007);
    cfg_w32(cfg, 0x10, 0xfe000000);
    cfg_w32(cfg, 0x14, 0xfd00000c);
    cfg_w32(cfg, 0x18, 0x00000001);
    cfg_w32(cfg, 0x1c, 0x0000c021 & ~0x1e); /* I/O at 0xc020 */
    cfg_w32(cfg, 0x20, 0x0000000c);
    cfg_w32(cfg, 0x24, 0x00000004);
    cfg_w32(cfg, 0x30, 0xfe100000);
    uint64_t bars[6] = { 0x1000, 0x4000, 0, 32, 8ull << 30, 0 };
    assert_int_equal(vfio_device_init_pci(dev, cfg, sizeof(cfg), bars, 0x10000), 0);
    vfio_config_set_ops(&dev->config, &cfg_ops, r);
    return dev;
}

static void test_bar_sizing_32bit(void **state)
{
    (void)state;
    struct remap r = {0};
    struct vfio_device *dev = bars_dev(&r);
    assert_int_equal(rd32(dev, 0x10), 0xfe000000);
    wr32(dev, 0x10, 0xffffffff);
    assert_int_equal(rd32(dev, 0x10), 0xfffff000);
    wr32(dev, 0x10, 0xe0000abc);
    assert_int_equal(rd32(dev, 0x10), 0xe0000000);
    assert_int_equal(r.bar, 0);
    assert_int_equal(r.addr, 0xe0000000);
    assert_int_equal(r.size, 0x1000);
    assert_true(r.decode);
    assert_int_equal(r.calls, 2);
    /* The device's own BAR was never touched. */
    assert_int_equal(cfg_r32(dev->config.phys, 0x10), 0xfe000000);
    free(dev);
}

static void test_bar_sizing_64bit(void **state)
{
    (void)state;
    struct remap r = {0};
    struct vfio_device *dev = bars_dev(&r);
    wr32(dev, 0x14, 0xffffffff);
    wr32(dev, 0x18, 0xffffffff);
    assert_int_equal(rd32(dev, 0x14), 0xffffc00c);
    assert_int_equal(rd32(dev, 0x18), 0xffffffff);
    /* 8 GiB: the low dword has no address bits left. */
    wr32(dev, 0x20, 0xffffffff);
    wr32(dev, 0x24, 0xffffffff);
    assert_int_equal(rd32(dev, 0x20), 0x0000000c);
    assert_int_equal(rd32(dev, 0x24), 0xfffffffe);
    wr32(dev, 0x20, 0);
    wr32(dev, 0x24, 0x4);
    assert_int_equal(vfio_config_bar_addr(&dev->config, 4), 0x400000000ull);
    assert_int_equal(r.bar, 4);
    assert_int_equal(r.addr, 0x400000000ull);
    assert_int_equal(r.size, 8ull << 30);
    free(dev);
}

static void test_bar_sizing_io_and_rom(void **state)
{
    (void)state;
    struct remap r = {0};
    struct vfio_device *dev = bars_dev(&r);
    assert_int_equal(rd32(dev, 0x1c), 0xc021);
    wr32(dev, 0x1c, 0xffffffff);
    assert_int_equal(rd32(dev, 0x1c), 0xffffffe1);

    assert_int_equal(rd32(dev, 0x30), 0xfe100000);
    wr32(dev, 0x30, 0xfffffffe);
    assert_int_equal(rd32(dev, 0x30), 0xffff0000);
    r.calls = 0;
    wr32(dev, 0x30, 0xfe200001);
    assert_int_equal(rd32(dev, 0x30), 0xfe200001);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.bar, 6);
    assert_int_equal(r.addr, 0xfe200000);
    assert_true(r.decode);
    /* Absent BAR5 (upper half of BAR4 here is 0x24; BAR5 itself) and no-ROM devices. */
    free(dev);

    uint8_t cfg[256];
    dev = dev_alloc();
    cfg_header(cfg, sizeof(cfg), 0x8086, 0x1111, 0x020000);
    cfg_w32(cfg, 0x10, 0xfe000000);
    cfg_w32(cfg, 0x30, 0xfe100000);
    assert_int_equal(vfio_device_init_pci(dev, cfg, sizeof(cfg), (uint64_t[6]){0}, 0), 0);
    assert_int_equal(rd32(dev, 0x10), 0);
    wr32(dev, 0x10, 0xffffffff);
    assert_int_equal(rd32(dev, 0x10), 0);
    assert_int_equal(rd32(dev, 0x30), 0);
    wr32(dev, 0x30, 0xffffffff);
    assert_int_equal(rd32(dev, 0x30), 0);
    free(dev);
}

static void test_decode_change_reported(void **state)
{
    (void)state;
    struct remap r = {0};
    struct vfio_device *dev = bars_dev(&r);
    wr16(dev, 0x04, 0x0004); /* memory and I/O decode off */
    assert_false(r.decode);
    int off_calls = r.calls;
    assert_int_equal(off_calls, 4); /* BAR0, BAR1, BAR3, BAR4; the ROM was not enabled */
    wr16(dev, 0x04, 0x0006);
    assert_true(r.calls > off_calls);
    free(dev);
}

static void test_read_only_writes_dropped(void **state)
{
    (void)state;
    struct remap r = {0};
    struct vfio_device *dev = bars_dev(&r);
    uint8_t before[256], after[256];
    assert_int_equal(vfio_region_read(dev, 7, 0, before, 256), 0);
    wr32(dev, 0x00, 0x12345678);   /* vendor/device */
    wr32(dev, 0x08, 0xffffffff);   /* revision/class */
    wr32(dev, 0x2c, 0xdeadbeef);   /* subsystem */
    wr16(dev, 0x06, 0xffff);       /* status */
    uint8_t bist = 0x40;
    assert_int_equal(vfio_region_write(dev, 7, 0x0f, &bist, 1), 0);
    wr32(dev, 0x34, 0xffffffff);   /* capability pointer */
    uint8_t pin = 4;
    assert_int_equal(vfio_region_write(dev, 7, 0x3d, &pin, 1), 0);
    wr32(dev, 0x80, 0xffffffff);   /* outside any capability */
    assert_int_equal(vfio_region_read(dev, 7, 0, after, 256), 0);
    assert_memory_equal(before, after, 0x0c);
    assert_memory_equal(before + 0x0f, after + 0x0f, 1);
    assert_memory_equal(before + 0x2c, after + 0x2c, 0x3c - 0x2c);
    assert_memory_equal(before + 0x3d, after + 0x3d, 256 - 0x3d);
    /* Cache line size and interrupt line are writable. */
    uint8_t cls = 0x10, line = 0x0b;
    assert_int_equal(vfio_region_write(dev, 7, 0x0c, &cls, 1), 0);
    assert_int_equal(vfio_region_write(dev, 7, 0x3c, &line, 1), 0);
    assert_int_equal(vfio_region_read(dev, 7, 0x0c, &cls, 1), 0);
    assert_int_equal(vfio_region_read(dev, 7, 0x3c, &line, 1), 0);
    assert_int_equal(cls, 0x10);
    assert_int_equal(line, 0x0b);
    free(dev);
}

static void test_command_safe_bits(void **state)
{
    (void)state;
    struct remap r = {0};
    struct vfio_device *dev = bars_dev(&r);
    wr16(dev, 0x04, 0xffff);
    assert_int_equal(rd16(dev, 0x04), 0x0547);
    wr16(dev, 0x04, 0x0000);
    assert_int_equal(rd16(dev, 0x04), 0x0000);
    /* A byte write to the high half touches only SERR / INTx disable. */
    uint8_t hi = 0xff;
    assert_int_equal(vfio_region_write(dev, 7, 0x05, &hi, 1), 0);
    assert_int_equal(rd16(dev, 0x04), 0x0500);
    free(dev);
}

/* Physical access goes through the ops when given; fully virtual reads do
 * not touch the device. */
struct phys {
    uint8_t cfg[256];
    int reads, writes;
};

static int phys_rd(void *o, uint16_t off, void *buf, size_t len)
{
    struct phys *p = o;
    p->reads++;
    memcpy(buf, p->cfg + off, len);
    return 0;
}

static int phys_wr(void *o, uint16_t off, const void *buf, size_t len)
{
    struct phys *p = o;
    p->writes++;
    memcpy(p->cfg + off, buf, len);
    return 0;
}

static void test_phys_ops(void **state)
{
    (void)state;
    struct phys p = {0};
    static const struct vfio_config_ops ops = { .phys_read = phys_rd, .phys_write = phys_wr };
    struct vfio_device *dev = dev_alloc();
    cfg_nvme(p.cfg, sizeof(p.cfg), 4);
    assert_int_equal(vfio_device_init_pci(dev, p.cfg, sizeof(p.cfg), nvme_bars, 0), 0);
    vfio_config_set_ops(&dev->config, &ops, &p);
    assert_int_equal(rd32(dev, 0x00), 0x00101b36);
    assert_int_equal(rd32(dev, 0x10), 0xfebf0004);
    assert_int_equal(p.reads, 0);
    assert_int_equal(rd32(dev, 0x2c), 0x11001af4);
    assert_int_equal(p.reads, 1);
    wr16(dev, 0x04, 0x0406);
    assert_int_equal(p.writes, 1);
    assert_int_equal(p.cfg[0x05], 0x04);
    /* PM control: power state bits stay the device's. */
    wr16(dev, 0x44, 0x0103);
    assert_int_equal(p.cfg[0x44], 0x00);
    assert_int_equal(p.cfg[0x45], 0x01);
    free(dev);
}

/* ---- malformed dumps ---- */

static int init_err(uint8_t *cfg, size_t len, const uint64_t bars[6], uint64_t rom, uint32_t *offset)
{
    struct vfio_device *dev = dev_alloc();
    int ret = vfio_device_init_pci(dev, cfg, len, bars, rom);
    if (ret < 0) {
        assert_non_null(dev->error.what);
        *offset = dev->error.offset;
    }
    free(dev);
    return ret;
}

static void test_cap_loop_rejected(void **state)
{
    (void)state;
    uint8_t cfg[256];
    uint32_t off = 0;
    cfg_nvme(cfg, sizeof(cfg), 4);
    cfg[0x61] = 0x40; /* PCIe -> PM: loop */
    assert_int_equal(init_err(cfg, sizeof(cfg), nvme_bars, 0, &off), VFIO_ELOOP);
    assert_int_equal(off, 0x61);
    cfg_nvme(cfg, sizeof(cfg), 4);
    cfg[0x41] = 0x40; /* points at itself */
    assert_int_equal(init_err(cfg, sizeof(cfg), nvme_bars, 0, &off), VFIO_ELOOP);
    assert_int_equal(off, 0x41);
    cfg[0x41] = 0x43; /* low bits are reserved: still itself */
    assert_int_equal(init_err(cfg, sizeof(cfg), nvme_bars, 0, &off), VFIO_ELOOP);
}

static void test_bad_cap_pointers_rejected(void **state)
{
    (void)state;
    uint8_t cfg[256];
    uint32_t off = 0;
    cfg_nvme(cfg, sizeof(cfg), 4);
    cfg[0x51] = 0x20; /* into the header */
    assert_int_equal(init_err(cfg, sizeof(cfg), nvme_bars, 0, &off), VFIO_EINVAL);
    assert_int_equal(off, 0x51);
    cfg_nvme(cfg, sizeof(cfg), 4);
    cfg[0x61] = 0xf8;   /* MSI-X of 12 bytes at 0xf8: past the end */
    cfg[0xf8] = 0x11;
    cfg[0x51] = 0x60;
    cfg[0x50] = 0x09;   /* turn the old MSI-X into a vendor cap of 16 */
    cfg[0x52] = 0x10;
    assert_int_equal(init_err(cfg, sizeof(cfg), nvme_bars, 0, &off), VFIO_EINVAL);
    assert_int_equal(off, 0xf8);
    cfg_nvme(cfg, sizeof(cfg), 4);
    cfg[0x42] = 0;      /* PM stays 8 bytes; make PCIe start inside it */
    cfg[0x51] = 0x44;
    cfg[0x44] = 0x10;
    cfg[0x45] = 0;
    assert_int_equal(init_err(cfg, sizeof(cfg), nvme_bars, 0, &off), VFIO_EINVAL);
    assert_int_equal(off, 0x44);
    cfg_nvme(cfg, sizeof(cfg), 4);
    cfg_add_cap(cfg, 0xa0, 0x09);
    cfg[0xa2] = 2;      /* vendor length below its own header */
    assert_int_equal(init_err(cfg, sizeof(cfg), nvme_bars, 0, &off), VFIO_EINVAL);
    assert_int_equal(off, 0xa2);
}

static void test_ext_cap_loop_rejected(void **state)
{
    (void)state;
    static uint8_t cfg[4096];
    uint32_t off = 0;
    cfg_nvme(cfg, sizeof(cfg), 4);
    cfg_w32(cfg, 0x100, 0x1u | 1u << 16 | 0x140u << 20); /* AER -> 0x140 */
    cfg_w32(cfg, 0x140, 0x3u | 1u << 16 | 0x100u << 20); /* -> back to 0x100 */
    assert_int_equal(init_err(cfg, sizeof(cfg), nvme_bars, 0, &off), VFIO_ELOOP);
    assert_int_equal(off, 0x140);
    cfg_w32(cfg, 0x140, 0x3u | 1u << 16 | 0x0c0u << 20);
    assert_int_equal(init_err(cfg, sizeof(cfg), nvme_bars, 0, &off), VFIO_EINVAL);
    cfg_w32(cfg, 0x140, 0x3u | 1u << 16);
    assert_int_equal(init_err(cfg, sizeof(cfg), nvme_bars, 0, &off), 0);
}

static void test_bad_headers_and_sizes(void **state)
{
    (void)state;
    uint8_t cfg[256];
    uint32_t off = 0;
    cfg_nvme(cfg, sizeof(cfg), 4);
    assert_int_equal(init_err(cfg, 255, nvme_bars, 0, &off), VFIO_EINVAL);
    assert_int_equal(init_err(cfg, 64, nvme_bars, 0, &off), VFIO_EINVAL);
    cfg[0x0e] = 0x01;
    assert_int_equal(init_err(cfg, sizeof(cfg), nvme_bars, 0, &off), VFIO_EINVAL);
    assert_int_equal(off, 0x0e);
    cfg_nvme(cfg, sizeof(cfg), 4);
    cfg_w16(cfg, 0, 0xffff);
    assert_int_equal(init_err(cfg, sizeof(cfg), nvme_bars, 0, &off), VFIO_EINVAL);

    cfg_nvme(cfg, sizeof(cfg), 4);
    assert_int_equal(init_err(cfg, sizeof(cfg), (uint64_t[6]){ 0x3000 }, 0, &off), VFIO_EINVAL);
    assert_int_equal(off, 0x10);
    assert_int_equal(init_err(cfg, sizeof(cfg), (uint64_t[6]){ 0x4000, 0x1000 }, 0, &off), VFIO_EINVAL);
    assert_int_equal(off, 0x14);  /* size given for the upper half */
    assert_int_equal(init_err(cfg, sizeof(cfg), (uint64_t[6]){ 0x20000 }, 0, &off), VFIO_EINVAL);
    assert_int_equal(off, 0x10);  /* 0xfebf0000 not aligned to 128 KiB */
    assert_int_equal(init_err(cfg, sizeof(cfg), nvme_bars, 1000, &off), VFIO_EINVAL);
    assert_int_equal(off, 0x30);
    assert_int_equal(init_err(cfg, sizeof(cfg), (uint64_t[6]){ 0x2000 }, 0, &off), VFIO_EINVAL);
    assert_int_equal(off, 0x54);  /* MSI-X PBA at 0x3000 beyond an 8 KiB BAR */
    cfg_w32(cfg, 0x10, 0xfebf0006);
    assert_int_equal(init_err(cfg, sizeof(cfg), nvme_bars, 0, &off), VFIO_EINVAL);
    cfg_w32(cfg, 0x10, 0xfebf0004);
    cfg_w32(cfg, 0x24, 0x4);      /* 64-bit BAR5 */
    assert_int_equal(init_err(cfg, sizeof(cfg), nvme_bars, 0, &off), VFIO_EINVAL);
    assert_int_equal(off, 0x24);
    assert_int_equal(init_err(NULL, 256, nvme_bars, 0, &off), VFIO_EINVAL);
}

/* ---- MSI ---- */

static void test_msi_virtual(void **state)
{
    (void)state;
    uint8_t cfg[256];
    struct vfio_device *dev = dev_alloc();
    struct remap r = {0};
    cfg_header(cfg, sizeof(cfg), 0x1234, 0x11e8, 0x00ff00);
    cfg_add_cap(cfg, 0x40, 0x05);
    cfg_w16(cfg, 0x42, 0x0180 | 0x2); /* 64-bit, maskable, 2 vectors capable */
    assert_int_equal(vfio_device_init_pci(dev, cfg, sizeof(cfg), (uint64_t[6]){0}, 0), 0);
    vfio_config_set_ops(&dev->config, &cfg_ops, &r);
    memset(&msi_seen, 0, sizeof(msi_seen));

    wr32(dev, 0x44, 0xfee00003);
    wr32(dev, 0x48, 0);
    wr16(dev, 0x4c, 0x4041);
    wr32(dev, 0x50, 0x2);
    wr16(dev, 0x42, 0x0071);  /* enable, ask 128 vectors: clamped to 2 */
    assert_int_equal(rd16(dev, 0x42), 0x0180 | 0x2 | 0x0011);
    assert_int_equal(rd32(dev, 0x44), 0xfee00000);
    assert_true(msi_seen.last.enabled);
    assert_int_equal(msi_seen.last.vectors, 2);
    assert_int_equal(msi_seen.last.addr, 0xfee00000);
    assert_int_equal(msi_seen.last.data, 0x4041);
    assert_true(msi_seen.last.maskable);
    assert_int_equal(msi_seen.last.mask, 2);
    assert_int_equal(msi_seen.calls, 5);
    /* The device's MSI capability is untouched. */
    assert_int_equal(cfg_r32(dev->config.phys, 0x44), 0);

    wr32(dev, 0x48, 1);       /* address above 4 GiB: not an interrupt */
    assert_false(msi_seen.last.enabled);
    assert_int_equal(dev->config.msi_refused, 1);
    free(dev);
}

/* MSI data bits 10:8 (SDM Vol. 3A 10.11.2): the device only ever gets a
 * fixed or lowest-priority message; SMI, NMI, INIT, ExtINT and reserved
 * modes leave it disabled and are counted, the guest reads its value. */
static void test_msi_delivery_modes(void **state)
{
    (void)state;
    uint8_t cfg[256];
    struct vfio_device *dev = dev_alloc();
    struct remap r = {0};
    cfg_header(cfg, sizeof(cfg), 0x1234, 0x11e8, 0x00ff00);
    cfg_add_cap(cfg, 0x40, 0x05);
    cfg_w16(cfg, 0x42, 0x0000);   /* 32-bit, not maskable: data at 0x48 */
    assert_int_equal(vfio_device_init_pci(dev, cfg, sizeof(cfg), (uint64_t[6]){0}, 0), 0);
    assert_int_equal(dev->config.msi_len, 10);
    vfio_config_set_ops(&dev->config, &cfg_ops, &r);
    memset(&msi_seen, 0, sizeof(msi_seen));

    wr32(dev, 0x44, 0xfee00000);
    wr16(dev, 0x48, 0x0541);      /* INIT */
    wr16(dev, 0x42, 0x0001);      /* enable */
    assert_false(msi_seen.last.enabled);
    assert_int_equal(dev->config.msi_refused_delivery, 1);
    assert_int_equal(dev->config.msi_refused, 0);
    assert_int_equal(rd16(dev, 0x48), 0x0541);
    static const uint16_t bad[] = { 0x0241, 0x0341, 0x0441, 0x0641, 0x0741 };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        wr16(dev, 0x48, bad[i]);
        assert_false(msi_seen.last.enabled);
        assert_int_equal(dev->config.msi_refused_delivery, i + 2);
    }
    wr16(dev, 0x48, 0x0141);      /* lowest priority */
    assert_true(msi_seen.last.enabled);
    assert_int_equal(msi_seen.last.data, 0x0141);
    wr16(dev, 0x48, 0xc041);      /* fixed, level, assert */
    assert_true(msi_seen.last.enabled);
    assert_int_equal(dev->config.msi_refused_delivery, 6);
    /* A disabled capability holding INIT is not a refusal: nothing is sent. */
    wr16(dev, 0x42, 0x0000);
    wr16(dev, 0x48, 0x0541);
    assert_false(msi_seen.last.enabled);
    assert_int_equal(dev->config.msi_refused_delivery, 6);
    free(dev);
}

/* ---- virtual registers (IGD ASLS) ---- */

static struct { int calls; uint16_t off; uint32_t value; } asls;

static void on_asls(void *opaque, uint16_t off, uint32_t value)
{
    (void)opaque;
    asls.calls++;
    asls.off = off;
    asls.value = value;
}

static void test_vreg(void **state)
{
    (void)state;
    uint8_t cfg[256];
    struct vfio_device *dev = dev_alloc();
    cfg_nvme(cfg, sizeof(cfg), 4);
    cfg_w32(cfg, 0xfc, 0x7a000000);
    assert_int_equal(vfio_device_init_pci(dev, cfg, sizeof(cfg), nvme_bars, 0), 0);
    assert_int_equal(rd32(dev, 0xfc), 0x7a000000);
    assert_int_equal(vfio_config_add_vreg(&dev->config, 0xfc, 4, 0x12345000, 0xfffff000, on_asls, NULL), 0);
    assert_int_equal(rd32(dev, 0xfc), 0x12345000);
    wr32(dev, 0xfc, 0xaabbccdd);
    assert_int_equal(rd32(dev, 0xfc), 0xaabbc000);
    assert_int_equal(asls.calls, 1);
    assert_int_equal(asls.off, 0xfc);
    assert_int_equal(asls.value, 0xaabbc000);
    assert_int_equal(cfg_r32(dev->config.phys, 0xfc), 0x7a000000);

    assert_int_equal(vfio_config_add_vreg(&dev->config, 0xfc, 4, 0, 0, NULL, NULL), VFIO_EINVAL);
    assert_int_equal(vfio_config_add_vreg(&dev->config, 0x10, 4, 0, 0, NULL, NULL), VFIO_EINVAL);
    assert_int_equal(vfio_config_add_vreg(&dev->config, 0x50, 4, 0, 0, NULL, NULL), VFIO_EINVAL); /* MSI-X */
    assert_int_equal(vfio_config_add_vreg(&dev->config, 0xf2, 4, 0, 0, NULL, NULL), VFIO_EINVAL);
    assert_int_equal(vfio_config_add_vreg(&dev->config, 0xfe, 4, 0, 0, NULL, NULL), VFIO_EINVAL);
    assert_int_equal(vfio_config_add_vreg(&dev->config, 0xf0, 3, 0, 0, NULL, NULL), VFIO_EINVAL);
    for (int i = 0; i < VFIO_CONFIG_VREGS - 1; i++)
        assert_int_equal(vfio_config_add_vreg(&dev->config, (uint16_t)(0xc0 + i), 1, 0, 0xff, NULL, NULL), 0);
    assert_int_equal(vfio_config_add_vreg(&dev->config, 0xd0, 1, 0, 0, NULL, NULL), VFIO_ENOSPC);
    free(dev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bar_sizing_32bit),
        cmocka_unit_test(test_bar_sizing_64bit),
        cmocka_unit_test(test_bar_sizing_io_and_rom),
        cmocka_unit_test(test_decode_change_reported),
        cmocka_unit_test(test_read_only_writes_dropped),
        cmocka_unit_test(test_command_safe_bits),
        cmocka_unit_test(test_phys_ops),
        cmocka_unit_test(test_cap_loop_rejected),
        cmocka_unit_test(test_bad_cap_pointers_rejected),
        cmocka_unit_test(test_ext_cap_loop_rejected),
        cmocka_unit_test(test_bad_headers_and_sizes),
        cmocka_unit_test(test_msi_virtual),
        cmocka_unit_test(test_msi_delivery_modes),
        cmocka_unit_test(test_vreg),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
