/* Regions: sparse areas, argsz semantics, BAR/ROM/CONFIG/VGA info,
 * device-specific regions and bounds of region read/write. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "test_vfio_util.h"

#define R MINIHV_VFIO_REGION_INFO_FLAG_READ
#define W MINIHV_VFIO_REGION_INFO_FLAG_WRITE
#define M MINIHV_VFIO_REGION_INFO_FLAG_MMAP
#define C MINIHV_VFIO_REGION_INFO_FLAG_CAPS

typedef struct minihv_vfio_region_sparse_mmap_area area_t;

static void expect_areas(uint64_t bar, uint64_t off, uint64_t size, uint32_t n, const area_t *want)
{
    area_t got[2];
    memset(got, 0xee, sizeof(got));
    assert_int_equal(vfio_msix_mmap_areas(bar, off, size, got), n);
    for (uint32_t i = 0; i < n; i++) {
        assert_int_equal(got[i].offset, want[i].offset);
        assert_int_equal(got[i].size, want[i].size);
    }
}

static void test_sparse_table_at_start(void **state)
{
    (void)state;
    expect_areas(0x4000, 0, 0x100, 1, (area_t[]){ { 0x1000, 0x3000 } });
}

static void test_sparse_table_mid_bar(void **state)
{
    (void)state;
    expect_areas(0x10000, 0x8000, 0x800, 2, (area_t[]){ { 0, 0x8000 }, { 0x9000, 0x7000 } });
}

static void test_sparse_table_last_page(void **state)
{
    (void)state;
    expect_areas(0x4000, 0x3800, 0x400, 1, (area_t[]){ { 0, 0x3000 } });
}

static void test_sparse_table_spanning_pages(void **state)
{
    (void)state;
    /* 0x1800 + 0x1000 ends inside the page at 0x2000: mapping resumes at 0x3000. */
    expect_areas(0x10000, 0x1800, 0x1000, 2, (area_t[]){ { 0, 0x1000 }, { 0x3000, 0xd000 } });
}

static void test_sparse_table_fills_bar(void **state)
{
    (void)state;
    area_t got[2];
    assert_int_equal(vfio_msix_mmap_areas(0x1000, 0, 0x800, got), 0);
    assert_int_equal(vfio_msix_mmap_areas(0x8000, 0, 0x8000, got), 0);
    /* A table reaching the top of the address space: no wrap to page 0. */
    expect_areas(0x10000, UINT64_MAX - 0x10, 0x100, 1, (area_t[]){ { 0, 0x10000 } });
}

/* The same through a device: BAR0 of 4 KiB fully covered by a 256-entry
 * table keeps MMAP and a sparse cap with nr_areas 0. */
static void test_sparse_cap_no_areas_in_device(void **state)
{
    (void)state;
    uint8_t cfg[256];
    struct vfio_device *dev = dev_alloc();
    cfg_nvme(cfg, sizeof(cfg), 256);
    cfg_w32(cfg, 0x50 + 4, 0x0);    /* table at 0 */
    cfg_w32(cfg, 0x50 + 8, 0x2000 | 2); /* PBA in BAR2 */
    cfg_w32(cfg, 0x18, 0xfebe0000);
    uint64_t bars[6] = { 0x1000, 0, 0x4000 };
    assert_int_equal(vfio_device_init_pci(dev, cfg, sizeof(cfg), bars, 0), 0);
    uint8_t buf[128] = {0};
    uint32_t argsz = sizeof(buf);
    memcpy(buf, &argsz, 4);
    assert_int_equal(vfio_device_get_region_info(dev, 0, buf, sizeof(buf)), 0);
    struct minihv_vfio_region_info info;
    memcpy(&info, buf, sizeof(info));
    assert_int_equal(info.flags, R | W | M | C);
    assert_int_equal(info.cap_offset, 32);
    struct minihv_vfio_region_info_cap_sparse_mmap sp;
    memcpy(&sp, buf + 32, sizeof(sp));
    assert_int_equal(sp.header.id, 1);
    assert_int_equal(sp.header.next, 0);
    assert_int_equal(sp.nr_areas, 0);
    free(dev);
}

/* ---- argsz ---- */

static struct vfio_device *nvme(void)
{
    static uint8_t cfg[256];
    struct vfio_device *dev = dev_alloc();
    cfg_nvme(cfg, sizeof(cfg), 64);
    assert_int_equal(vfio_device_init_pci(dev, cfg, sizeof(cfg), nvme_bars, 0), 0);
    return dev;
}

/* Sparse cap with two areas: 16 + 2 * 16 = 48 bytes after the 32 of info. */
#define FULL (32 + 48)

static void test_argsz_smaller_than_info(void **state)
{
    (void)state;
    struct vfio_device *dev = nvme();
    uint8_t buf[FULL];
    memset(buf, 0x5a, sizeof(buf));
    uint32_t argsz = 31;
    memcpy(buf, &argsz, 4);
    assert_int_equal(vfio_device_get_region_info(dev, 0, buf, sizeof(buf)), VFIO_EINVAL);
    assert_int_equal(cfg_r32(buf, 0), 31);
    assert_int_equal(buf[4], 0x5a); /* nothing written */
    /* A buffer smaller than the structure the kernel reads: a fault. */
    assert_int_equal(vfio_device_get_region_info(dev, 0, buf, 31), VFIO_EFAULT);
    assert_int_equal(vfio_device_get_region_info(dev, 0, NULL, 64), VFIO_EFAULT);
    free(dev);
}

static void check_short(struct vfio_device *dev, uint32_t argsz)
{
    uint8_t buf[FULL + 8];
    memset(buf, 0x5a, sizeof(buf));
    memcpy(buf, &argsz, 4);
    assert_int_equal(vfio_device_get_region_info(dev, 0, buf, argsz), 0);
    struct minihv_vfio_region_info info;
    memcpy(&info, buf, sizeof(info));
    assert_int_equal(info.argsz, FULL);  /* what is needed */
    assert_int_equal(info.flags, R | W | M | C);
    assert_int_equal(info.cap_offset, 0);
    assert_int_equal(info.index, 0);
    assert_int_equal(info.size, 0x4000);
    assert_int_equal(info.offset, 0);
    for (size_t i = 32; i < sizeof(buf); i++)
        assert_int_equal(buf[i], 0x5a); /* chain not written */
}

static void test_argsz_equal_to_info(void **state)
{
    (void)state;
    struct vfio_device *dev = nvme();
    check_short(dev, 32);
    free(dev);
}

static void test_argsz_between_info_and_chain(void **state)
{
    (void)state;
    struct vfio_device *dev = nvme();
    check_short(dev, 33);
    check_short(dev, FULL - 1);
    free(dev);
}

static void test_argsz_full_and_larger(void **state)
{
    (void)state;
    struct vfio_device *dev = nvme();
    for (uint32_t argsz = FULL; argsz <= FULL + 8; argsz += 8) {
        uint8_t buf[FULL + 8];
        memset(buf, 0x5a, sizeof(buf));
        memcpy(buf, &argsz, 4);
        assert_int_equal(vfio_device_get_region_info(dev, 0, buf, argsz), 0);
        assert_int_equal(cfg_r32(buf, 0), argsz); /* left as the caller set it */
        assert_int_equal(cfg_r32(buf, 12), 32);   /* cap_offset */
        assert_int_equal(cfg_r32(buf, 32), 0x00010001); /* id 1, version 1 */
        assert_int_equal(cfg_r32(buf, 36), 0);          /* next: end */
        assert_int_equal(cfg_r32(buf, 40), 2);          /* nr_areas */
        if (argsz > FULL)
            assert_int_equal(buf[FULL], 0x5a);
    }
    /* argsz promises more than the buffer holds: the copy would fault. */
    uint8_t buf[FULL];
    uint32_t argsz = FULL;
    memcpy(buf, &argsz, 4);
    assert_int_equal(vfio_device_get_region_info(dev, 0, buf, FULL - 1), VFIO_EFAULT);
    free(dev);
}

static void test_no_caps_leaves_cap_offset(void **state)
{
    (void)state;
    struct vfio_device *dev = nvme();
    uint8_t buf[32];
    memset(buf, 0x5a, sizeof(buf));
    uint32_t argsz = 32;
    memcpy(buf, &argsz, 4);
    assert_int_equal(vfio_device_get_region_info(dev, 7, buf, sizeof(buf)), 0);
    assert_int_equal(cfg_r32(buf, 4), R | W);
    assert_int_equal(cfg_r32(buf, 8), 7);
    assert_int_equal(cfg_r32(buf, 12), 0x5a5a5a5a);
    free(dev);
}

static void test_device_info_argsz(void **state)
{
    (void)state;
    struct vfio_device *dev = nvme();
    uint8_t buf[20];
    memset(buf, 0x5a, sizeof(buf));
    uint32_t argsz = 15;
    memcpy(buf, &argsz, 4);
    assert_int_equal(vfio_device_get_info(dev, buf, sizeof(buf)), VFIO_EINVAL);
    assert_int_equal(buf[4], 0x5a);
    argsz = 16;
    memcpy(buf, &argsz, 4);
    assert_int_equal(vfio_device_get_info(dev, buf, 15), VFIO_EFAULT);
    assert_int_equal(vfio_device_get_info(dev, buf, 16), 0);
    assert_int_equal(cfg_r32(buf, 0), 16);
    assert_int_equal(cfg_r32(buf, 4), MINIHV_VFIO_DEVICE_FLAGS_PCI);
    assert_int_equal(cfg_r32(buf, 8), 9);
    assert_int_equal(cfg_r32(buf, 12), 5);
    assert_int_equal(buf[16], 0x5a);
    free(dev);
}

/* ---- fixed regions ---- */

static void region(struct vfio_device *dev, uint32_t i, struct minihv_vfio_region_info *info)
{
    uint8_t buf[256] = {0};
    uint32_t argsz = sizeof(buf);
    memcpy(buf, &argsz, 4);
    assert_int_equal(vfio_device_get_region_info(dev, i, buf, sizeof(buf)), 0);
    memcpy(info, buf, sizeof(*info));
    assert_int_equal(info->index, i);
    assert_int_equal(info->offset, (uint64_t)i << 40);
}

static void test_bar_kinds(void **state)
{
    (void)state;
    uint8_t cfg[256];
    struct vfio_device *dev = dev_alloc();
    struct minihv_vfio_region_info info;
    cfg_header(cfg, sizeof(cfg), 0x8086, 0x1234, 0x030000);
    cfg_w32(cfg, 0x10, 0xf0000000);        /* BAR0 32-bit 16 MiB */
    cfg_w32(cfg, 0x14, 0xe000000c);        /* BAR1 64-bit prefetchable 256 MiB */
    cfg_w32(cfg, 0x18, 0x00000000);        /* BAR2 upper half */
    cfg_w32(cfg, 0x1c, 0x0000e001);        /* BAR3 I/O 64 bytes */
    cfg_w32(cfg, 0x20, 0xfd000800);        /* BAR4 32-bit 2 KiB: below a page */
    uint64_t bars[6] = { 16 << 20, 256 << 20, 0, 64, 2048, 0 };
    assert_int_equal(vfio_device_init_pci(dev, cfg, sizeof(cfg), bars, 0x10000), 0);

    region(dev, 0, &info);
    assert_int_equal(info.flags, R | W | M);
    assert_int_equal(info.size, 16 << 20);
    region(dev, 1, &info);
    assert_int_equal(info.flags, R | W | M);
    assert_int_equal(info.size, 256 << 20);
    region(dev, 2, &info);
    assert_int_equal(info.flags, 0);
    assert_int_equal(info.size, 0);
    region(dev, 3, &info);
    assert_int_equal(info.flags, R | W);
    assert_int_equal(info.size, 64);
    region(dev, 4, &info);
    assert_int_equal(info.flags, R | W);
    assert_int_equal(info.size, 2048);
    region(dev, 5, &info);
    assert_int_equal(info.flags, 0);
    assert_int_equal(info.size, 0);
    region(dev, 6, &info);
    assert_int_equal(info.flags, R);
    assert_int_equal(info.size, 0x10000);
    region(dev, 7, &info);
    assert_int_equal(info.flags, R | W);
    assert_int_equal(info.size, 256);
    region(dev, 8, &info); /* VGA class */
    assert_int_equal(info.flags, R | W);
    assert_int_equal(info.size, 0xc0000);

    uint8_t buf[64] = {0};
    buf[0] = 64;
    assert_int_equal(vfio_device_get_region_info(dev, 9, buf, sizeof(buf)), VFIO_EINVAL);
    free(dev);
}

static void test_no_vga_for_other_classes(void **state)
{
    (void)state;
    struct vfio_device *dev = nvme();
    uint8_t buf[64] = {0};
    buf[0] = 64;
    assert_int_equal(vfio_device_get_region_info(dev, 8, buf, sizeof(buf)), VFIO_EINVAL);
    assert_int_equal(vfio_device_get_region_info(dev, UINT32_MAX, buf, sizeof(buf)), VFIO_EINVAL);
    free(dev);
}

/* ---- device-specific regions ---- */

struct backing {
    uint8_t data[0x100];
    int reads, writes;
};

static int back_read(void *opaque, uint64_t off, void *buf, size_t len)
{
    struct backing *b = opaque;
    b->reads++;
    assert_true(off + len <= sizeof(b->data));
    memcpy(buf, b->data + off, len);
    return 0;
}

static int back_write(void *opaque, uint64_t off, const void *buf, size_t len)
{
    struct backing *b = opaque;
    b->writes++;
    assert_true(off + len <= sizeof(b->data));
    memcpy(b->data + off, buf, len);
    return 0;
}

static const struct vfio_region_ops back_ops = { back_read, back_write };
static const struct vfio_region_ops read_only_ops = { back_read, NULL };

static void test_dev_regions(void **state)
{
    (void)state;
    struct vfio_device *dev = nvme();
    struct backing b = {0};
    const uint32_t igd = MINIHV_VFIO_REGION_TYPE_PCI_VENDOR_TYPE | 0x8086;
    for (int i = 0; i < 0x100; i++)
        b.data[i] = (uint8_t)i;

    assert_int_equal(vfio_device_add_dev_region(dev, igd, 1, R, sizeof(b.data), &read_only_ops, &b), 9);
    assert_int_equal(vfio_device_add_dev_region(dev, igd, 2, R | W, sizeof(b.data), &back_ops, &b), 10);
    /* Flags the ops cannot keep, or MMAP, are refused. */
    assert_int_equal(vfio_device_add_dev_region(dev, igd, 3, R | W, 16, &read_only_ops, &b), VFIO_EINVAL);
    assert_int_equal(vfio_device_add_dev_region(dev, igd, 3, R | M, 16, &back_ops, &b), VFIO_EINVAL);
    assert_int_equal(vfio_device_add_dev_region(dev, igd, 3, R, 16, NULL, &b), VFIO_EINVAL);
    assert_int_equal(vfio_device_add_dev_region(dev, igd, 3, R, (1ull << 40) + 1, &back_ops, &b), VFIO_EINVAL);

    struct minihv_vfio_region_info info;
    region(dev, 10, &info);
    assert_int_equal(info.flags, R | W | C);
    assert_int_equal(info.size, 0x100);

    uint8_t buf[8];
    assert_int_equal(vfio_region_read(dev, 9, 0x10, buf, 4), 0);
    assert_int_equal(cfg_r32(buf, 0), 0x13121110);
    assert_int_equal(vfio_region_write(dev, 9, 0x10, buf, 4), VFIO_EPERM);
    assert_int_equal(vfio_region_write(dev, 10, 0xfc, "\1\2\3\4", 4), 0);
    assert_int_equal(b.data[0xff], 4);
    assert_int_equal(vfio_device_read(dev, (10ull << 40) | 0xfc, buf, 4), 0);
    assert_int_equal(cfg_r32(buf, 0), 0x04030201);

    uint8_t dinfo[16] = {16};
    assert_int_equal(vfio_device_get_info(dev, dinfo, sizeof(dinfo)), 0);
    assert_int_equal(cfg_r32(dinfo, 8), 11);

    /* 16 regions at most: 5 more fit, the sixth does not. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(vfio_device_add_dev_region(dev, igd, 9, R, 16, &back_ops, &b), 11 + i);
    assert_int_equal(vfio_device_add_dev_region(dev, igd, 9, R, 16, &back_ops, &b), VFIO_ENOSPC);
    free(dev);
}

/* ---- read/write bounds ---- */

static void test_rw_bounds(void **state)
{
    (void)state;
    struct vfio_device *dev = nvme();
    struct backing b = {0};
    assert_int_equal(vfio_device_add_dev_region(dev, 1, 1, R | W, sizeof(b.data), &back_ops, &b), 9);
    uint8_t buf[16];

    assert_int_equal(vfio_region_read(dev, 9, 0xfc, buf, 4), 0);
    assert_int_equal(vfio_region_read(dev, 9, 0xfd, buf, 4), VFIO_ERANGE);
    assert_int_equal(vfio_region_read(dev, 9, 0x100, buf, 0), 0);
    assert_int_equal(vfio_region_read(dev, 9, 0x101, buf, 0), VFIO_ERANGE);
    /* offset + count wraps past 2^64 to a small number: rejected. */
    assert_int_equal(vfio_region_read(dev, 9, UINT64_MAX - 1, buf, 4), VFIO_ERANGE);
    assert_int_equal(vfio_region_write(dev, 9, UINT64_MAX, buf, 2), VFIO_ERANGE);
    assert_int_equal(vfio_region_read(dev, 9, 4, buf, SIZE_MAX), VFIO_ERANGE);
    assert_int_equal(vfio_region_read(dev, 7, UINT64_MAX - 2, buf, 4), VFIO_ERANGE);
    assert_int_equal(vfio_region_read(dev, 7, 0xfe, buf, 4), VFIO_ERANGE);
    assert_int_equal(b.reads, 1);
    assert_int_equal(b.writes, 0);

    assert_int_equal(vfio_region_read(dev, 16, 0, buf, 4), VFIO_EINVAL);
    assert_int_equal(vfio_region_read(dev, 8, 0, buf, 4), VFIO_EINVAL); /* no VGA */
    assert_int_equal(vfio_region_read(dev, 1, 0, buf, 4), VFIO_EPERM); /* upper half */
    assert_int_equal(vfio_region_read(dev, 9, 0, NULL, 4), VFIO_EINVAL);
    /* BAR0 has no backing outside the MSI-X table and PBA. */
    assert_int_equal(vfio_region_read(dev, 0, 0, buf, 4), VFIO_ENODEV);
    assert_int_equal(vfio_device_read(dev, (9ull << 40) | 0x100, buf, 1), VFIO_ERANGE);
    free(dev);
}

/* BAR accesses inside the table and PBA are the virtual MSI-X ones, and
 * may not straddle their edges. */
static void test_bar_msix_dispatch(void **state)
{
    (void)state;
    struct vfio_device *dev = nvme();
    struct backing b = {0};
    assert_int_equal(vfio_device_set_region_ops(dev, 0, &back_ops, &b), 0);
    assert_int_equal(vfio_device_set_region_ops(dev, 7, &back_ops, &b), VFIO_EINVAL);
    uint8_t buf[8];
    uint32_t v = 0xfee01000;
    assert_int_equal(vfio_region_write(dev, 0, 0x2000, &v, 4), 0);
    assert_int_equal(dev->msix.table[0].addr_lo, 0xfee01000);
    assert_int_equal(vfio_region_read(dev, 0, 0x200c, buf, 4), 0);
    assert_int_equal(cfg_r32(buf, 0), 1); /* masked at reset */
    assert_int_equal(vfio_region_read(dev, 0, 0x1ffc, buf, 8), VFIO_EINVAL);
    assert_int_equal(vfio_region_read(dev, 0, 0x23fc, buf, 8), VFIO_EINVAL);
    assert_int_equal(vfio_region_read(dev, 0, 0x3000, buf, 8), 0); /* PBA */
    assert_int_equal(cfg_r32(buf, 0), 0);
    assert_int_equal(vfio_region_write(dev, 0, 0x3000, buf, 8), 0);   /* dropped */
    assert_int_equal(b.reads + b.writes, 0);
    assert_int_equal(vfio_region_read(dev, 0, 0x10, buf, 4), 0);      /* backing */
    assert_int_equal(vfio_region_write(dev, 0, 0x20, buf, 4), 0);
    assert_int_equal(b.reads, 1);
    assert_int_equal(b.writes, 1);
    free(dev);
}

/* ---- judged ranges of a BAR (vfio_device_add_judged) ---- */

/* BAR0's sparse areas as GET_REGION_INFO gives them; returns nr_areas. */
static uint32_t bar_areas(const struct vfio_device *dev, area_t *out, uint32_t max)
{
    uint8_t buf[256] = { 0 };
    struct minihv_vfio_region_info info = { .argsz = sizeof(buf) };
    memcpy(buf, &info, sizeof(info));
    assert_int_equal(vfio_device_get_region_info(dev, 0, buf, sizeof(buf)), 0);
    memcpy(&info, buf, sizeof(info));
    uint32_t at = info.flags & C ? info.cap_offset : 0, n = 0;
    int steps = 0;
    struct vfio_cap_view c;
    while (vfio_info_next_cap(buf, sizeof(buf), &at, &steps, &c))
        if (c.id == MINIHV_VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
            memcpy(&n, c.body, 4);
            assert_true(n <= max && 8 + n * sizeof(area_t) <= c.body_len);
            memcpy(out, c.body + 8, n * sizeof(area_t));
        }
    return n;
}

static void test_judged_range(void **state)
{
    (void)state;
    struct vfio_device *dev = nvme(); /* BAR0 16 KiB, MSI-X table page 0x2000 */
    struct backing b = { 0 };
    assert_int_equal(vfio_device_set_region_ops(dev, 0, &back_ops, &b), 0);
    /* Not on the MSI-X table's page, not past the BAR, a memory BAR only. */
    assert_int_equal(vfio_device_add_judged(dev, 0, 0x2ff8, 8), VFIO_EINVAL);
    assert_int_equal(vfio_device_add_judged(dev, 0, 0x3ffc, 8), VFIO_ERANGE);
    assert_int_equal(vfio_device_add_judged(dev, 1, 0, 8), VFIO_EINVAL); /* BAR0's upper half */
    assert_int_equal(vfio_device_add_judged(dev, 0, 0x40, 0), VFIO_EINVAL);
    assert_int_equal(vfio_device_add_judged(dev, 0, 0x40, 0x18), 0);
    /* Its page is left out of the areas as the table's is, in order. */
    area_t got[4];
    assert_int_equal(bar_areas(dev, got, 4), 2);
    assert_int_equal(got[0].offset, 0x1000);
    assert_int_equal(got[0].size, 0x1000);
    assert_int_equal(got[1].offset, 0x3000);
    assert_int_equal(got[1].size, 0x1000);
    /* A write touching any byte of it is dropped whole and counted. */
    uint64_t v = ~0ull;
    static const struct { uint64_t off; unsigned len; } drop[] = { { 0x40, 1 }, { 0x57, 1 }, { 0x3c, 8 }, { 0x56, 4 },
                                                                   { 0x48, 8 } };
    for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
        assert_int_equal(vfio_region_write(dev, 0, drop[i].off, &v, drop[i].len), 0);
    assert_int_equal(b.writes, 0);
    assert_int_equal(dev->judged_dropped, 5);
    /* Beside it, and every read, to the backing. */
    assert_int_equal(vfio_region_write(dev, 0, 0x3c, &v, 4), 0);
    assert_int_equal(vfio_region_write(dev, 0, 0x58, &v, 8), 0);
    assert_int_equal(vfio_region_read(dev, 0, 0x40, &v, 8), 0);
    assert_int_equal(b.writes, 2);
    assert_int_equal(b.reads, 1);
    assert_int_equal(dev->judged_dropped, 5);
    /* A second range, then the table is full. */
    assert_int_equal(vfio_device_add_judged(dev, 0, 0x3800, 4), 0);
    assert_int_equal(bar_areas(dev, got, 4), 1);
    assert_int_equal(got[0].offset, 0x1000);
    assert_int_equal(vfio_device_add_judged(dev, 0, 0x1000, 4), VFIO_ENOSPC);
    free(dev);
}

static void test_mmap_areas_around_holes(void **state)
{
    (void)state;
    /* Out of order, overlapping pages, one past the BAR's end. */
    const struct vfio_hole holes[3] = { { 0x9000, 0x10 }, { 0x1800, 0x1000 }, { 0x2100, 8 } };
    area_t got[4];
    assert_int_equal(vfio_mmap_areas(0x10000, holes, 3, got, 4), 3);
    assert_int_equal(got[0].offset, 0);
    assert_int_equal(got[0].size, 0x1000);
    assert_int_equal(got[1].offset, 0x3000);
    assert_int_equal(got[1].size, 0x6000);
    assert_int_equal(got[2].offset, 0xa000);
    assert_int_equal(got[2].size, 0x6000);
    /* Room for fewer: the first ones (the rest stays trapped). */
    assert_int_equal(vfio_mmap_areas(0x10000, holes, 3, got, 1), 1);
    const struct vfio_hole past = { 0x20000, 8 };
    assert_int_equal(vfio_mmap_areas(0x10000, &past, 1, got, 4), 1);
    assert_int_equal(got[0].size, 0x10000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sparse_table_at_start),
        cmocka_unit_test(test_sparse_table_mid_bar),
        cmocka_unit_test(test_sparse_table_last_page),
        cmocka_unit_test(test_sparse_table_spanning_pages),
        cmocka_unit_test(test_sparse_table_fills_bar),
        cmocka_unit_test(test_sparse_cap_no_areas_in_device),
        cmocka_unit_test(test_argsz_smaller_than_info),
        cmocka_unit_test(test_argsz_equal_to_info),
        cmocka_unit_test(test_argsz_between_info_and_chain),
        cmocka_unit_test(test_argsz_full_and_larger),
        cmocka_unit_test(test_no_caps_leaves_cap_offset),
        cmocka_unit_test(test_device_info_argsz),
        cmocka_unit_test(test_bar_kinds),
        cmocka_unit_test(test_no_vga_for_other_classes),
        cmocka_unit_test(test_dev_regions),
        cmocka_unit_test(test_rw_bounds),
        cmocka_unit_test(test_bar_msix_dispatch),
        cmocka_unit_test(test_judged_range),
        cmocka_unit_test(test_mmap_areas_around_holes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
