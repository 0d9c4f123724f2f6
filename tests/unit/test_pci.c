/* PCI scan (boot/pci.c) over fake devices that answer BAR sizing like
 * hardware: writes of all-ones read back the size mask. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <minihv/pci.h>
#include "boot/pci.h"

struct fake_dev {
    uint8_t bus, dev, fn;
    uint8_t cfg[256];
    uint64_t bar_size[6]; /* BAR sizing: mask = ~(size - 1) | type bits */
    uint32_t rom_size;
};

static struct fake_dev devs[4];
static unsigned ndevs;

static struct fake_dev *find(uint8_t bus, uint8_t dev, uint8_t fn)
{
    for (unsigned i = 0; i < ndevs; i++)
        if (devs[i].bus == bus && devs[i].dev == dev && devs[i].fn == fn)
            return &devs[i];
    return NULL;
}

static uint32_t rd(void *o, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off)
{
    (void)o;
    struct fake_dev *d = find(bus, dev, fn);
    uint32_t v = 0xffffffff;
    if (d)
        memcpy(&v, d->cfg + off, 4);
    return v;
}

static void wr(void *o, uint8_t bus, uint8_t dev, uint8_t fn, uint16_t off, uint32_t v)
{
    (void)o;
    struct fake_dev *d = find(bus, dev, fn);
    if (!d)
        return;
    if (off >= 0x10 && off < 0x28) {
        unsigned i = (off - 0x10) / 4;
        uint32_t old;
        memcpy(&old, d->cfg + off, 4);
        uint64_t size = d->bar_size[i];
        bool upper = i > 0 && d->bar_size[i - 1] && !d->bar_size[i] && (d->cfg[off - 4] & 6) == 4;
        if (upper)
            v &= (uint32_t)(~(d->bar_size[i - 1] - 1) >> 32);
        else if (!size)
            v = 0;
        else if (old & 1)
            v = (v & ~(uint32_t)(size - 1) & ~3u) | (old & 3);
        else
            v = (v & ~(uint32_t)(size - 1) & ~0xfu) | (old & 0xf);
    } else if (off == PCI_ROM_ADDRESS) {
        v = d->rom_size ? (v & ~(d->rom_size - 1) & 0xfffff801) : 0;
    }
    memcpy(d->cfg + off, &v, 4);
}

static struct fake_dev *add(uint8_t bus, uint8_t dev, uint8_t fn, uint16_t vendor, uint16_t device,
                            uint32_t class_code, uint8_t htype)
{
    struct fake_dev *d = &devs[ndevs++];
    memset(d, 0, sizeof(*d));
    d->bus = bus, d->dev = dev, d->fn = fn;
    memcpy(d->cfg, &vendor, 2);
    memcpy(d->cfg + 2, &device, 2);
    uint32_t cr = class_code << 8;
    memcpy(d->cfg + 8, &cr, 4);
    d->cfg[PCI_HEADER_TYPE] = htype;
    return d;
}

static void set32(uint8_t *cfg, unsigned off, uint32_t v) { memcpy(cfg + off, &v, 4); }

static void build(void)
{
    ndevs = 0;
    add(0, 0, 0, 0x8086, 0x29c0, 0x060000, 0x80); /* multi-function host bridge */
    struct fake_dev *nvme = add(0, 0, 1, 0x1b36, 0x0010, 0x010802, 0);
    set32(nvme->cfg, 0x10, 0xfebf0004); /* 64-bit mem BAR0 */
    set32(nvme->cfg, 0x14, 0x00000001);
    nvme->bar_size[0] = 0x4000;
    set32(nvme->cfg, 0x18, 0x0000c001); /* I/O BAR2 */
    nvme->bar_size[2] = 0x20;
    set32(nvme->cfg, 0x1c, 0xfe000008); /* 32-bit prefetchable BAR3 */
    nvme->bar_size[3] = 0x100000;
    nvme->rom_size = 0x40000;
    nvme->cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
    nvme->cfg[PCI_CAP_PTR] = 0x40;
    nvme->cfg[0x40] = PCI_CAP_ID_MSIX, nvme->cfg[0x41] = 0x50;
    nvme->cfg[0x42] = 63; /* 64 entries */
    set32(nvme->cfg, 0x44, 0x2000 | 0); /* table in BAR0 at 0x2000 */
    set32(nvme->cfg, 0x48, 0x3000 | 0);
    nvme->cfg[0x50] = PCI_CAP_ID_MSI, nvme->cfg[0x51] = 0x00;
    /* device 3 has a looping capability list */
    struct fake_dev *loop = add(0, 3, 0, 0x1234, 0x5678, 0x020000, 0);
    loop->cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
    loop->cfg[PCI_CAP_PTR] = 0x40;
    loop->cfg[0x40] = 0x01, loop->cfg[0x41] = 0x48;
    loop->cfg[0x48] = 0x10, loop->cfg[0x49] = 0x40;
}

static void test_scan(void **state)
{
    (void)state;
    struct pci_dev_info info[8];
    build();
    unsigned n = pci_scan(&(struct pci_access){ rd, wr, NULL }, info, 8);
    assert_int_equal(n, 3);
    const struct pci_dev_info *nv = &info[1];
    assert_int_equal(nv->fn, 1);
    assert_int_equal(nv->vendor, 0x1b36);
    assert_int_equal(nv->class_code, 0x010802);
    assert_true(nv->bars[0].is64);
    assert_int_equal(nv->bars[0].addr, 0x1febf0000ull);
    assert_int_equal(nv->bars[0].size, 0x4000);
    assert_int_equal(nv->bars[1].size, 0); /* upper half */
    assert_true(nv->bars[2].io);
    assert_int_equal(nv->bars[2].addr, 0xc000);
    assert_int_equal(nv->bars[2].size, 0x20);
    assert_true(nv->bars[3].prefetch);
    assert_int_equal(nv->bars[3].size, 0x100000);
    assert_int_equal(nv->bars[4].size, 0);
    assert_int_equal(nv->rom_size, 0x40000);
    assert_int_equal(nv->msix_cap, 0x40);
    assert_int_equal(nv->msix_entries, 64);
    assert_int_equal(nv->msix_table_bir, 0);
    assert_int_equal(nv->msix_table_off, 0x2000);
    assert_int_equal(nv->msix_pba_off, 0x3000);
    assert_int_equal(nv->msi_cap, 0x50);
    assert_int_equal(nv->cap_count, 2);
    /* sizing restored the BARs */
    assert_int_equal(devs[1].cfg[0x10], 0x04);
    assert_int_equal(devs[1].cfg[0x12], 0xbf);
    assert_true(info[2].cap_loop);
    assert_int_equal(info[2].cap_count, 2);
}

static void test_caps_out_of_range(void **state)
{
    (void)state;
    uint8_t cfg[256] = { 0 };
    struct pci_dev_info d = { 0 };
    cfg[PCI_STATUS] = PCI_STATUS_CAP_LIST;
    cfg[PCI_CAP_PTR] = 0xfc; /* MSI-X here would need 12 bytes: past the end */
    cfg[0xfc] = PCI_CAP_ID_MSIX;
    cfg[0xfd] = 0x10; /* points below 0x40: ends the walk */
    pci_parse_caps(cfg, &d);
    assert_int_equal(d.cap_count, 1);
    assert_int_equal(d.msix_cap, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_caps_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
