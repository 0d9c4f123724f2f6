/* libFuzzer target over the vfio model: a config dump with BAR sizes, then
 * a stream of region-info requests, region reads/writes, config writes and
 * MSI-X table accesses. Every callback checks it is handed in-bounds
 * offsets and, for MSI and MSI-X, only addresses in the MSI window and
 * fixed or lowest-priority delivery (data bits 10:8 = 0 or 1).
 *
 * Input: [flags][7 BAR/ROM size codes][config 256|4096][ops...] */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vfio/vfio.h"

#define REGION_BACKING 0x1000

struct stream {
    const uint8_t *p;
    size_t n;
};

static uint64_t take(struct stream *s, size_t bytes)
{
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; i++) {
        uint8_t b = 0;
        if (s->n) {
            b = *s->p++;
            s->n--;
        }
        v |= (uint64_t)b << (8 * i);
    }
    return v;
}

static uint8_t backing[REGION_BACKING];

static int back_read(void *opaque, uint64_t off, void *buf, size_t len)
{
    uint64_t size = (uint64_t)(uintptr_t)opaque;
    if (off > size || len > size - off)
        abort();
    /* Backing smaller than huge regions: fold into it. */
    for (size_t i = 0; i < len; i++)
        ((uint8_t *)buf)[i] = backing[(off + i) % REGION_BACKING];
    return 0;
}

static int back_write(void *opaque, uint64_t off, const void *buf, size_t len)
{
    uint64_t size = (uint64_t)(uintptr_t)opaque;
    if (off > size || len > size - off)
        abort();
    for (size_t i = 0; i < len; i++)
        backing[(off + i) % REGION_BACKING] = ((const uint8_t *)buf)[i];
    return 0;
}

static const struct vfio_region_ops back_ops = { back_read, back_write };

static void on_entry(void *o, uint32_t index, uint64_t addr, uint32_t data, bool masked)
{
    const struct vfio_msix *m = o;
    if (index >= m->entries || (!masked && (!vfio_msi_addr_valid(addr) || ((data >> 8) & 7) > 1)))
        abort();
}

static int on_pba(void *o, uint64_t off, void *buf, size_t len)
{
    const struct vfio_msix *m = o;
    if (off > vfio_msix_pba_size(m) || len > vfio_msix_pba_size(m) - off)
        abort();
    memset(buf, 0xff, len);
    return 0;
}

static const struct vfio_msix_ops msix_ops = { on_entry, on_pba, NULL };

static void on_msi(void *o, const struct vfio_msi_state *msi)
{
    (void)o;
    if (msi->enabled && (!vfio_msi_addr_valid(msi->addr) || ((msi->data >> 8) & 7) > 1))
        abort();
}

static const struct vfio_config_ops cfg_ops = { .msi_update = on_msi };

/* Check a successful GET_REGION_INFO answer against its own rules. */
static void check_region_info(const uint8_t *buf, uint32_t argsz_in, size_t bufsz)
{
    struct minihv_vfio_region_info info;
    memcpy(&info, buf, sizeof(info));
    if (!(info.flags & MINIHV_VFIO_REGION_INFO_FLAG_CAPS))
        return;
    if (info.argsz != argsz_in) {
        if (info.cap_offset != 0 || info.argsz <= argsz_in)
            abort();
        return;
    }
    if (info.cap_offset != sizeof(info))
        abort();
    /* Walk the chain: strictly forward, inside argsz and the buffer. */
    uint32_t at = info.cap_offset;
    while (at) {
        if (at > bufsz - sizeof(struct minihv_vfio_info_cap_header) || at >= argsz_in)
            abort();
        struct minihv_vfio_info_cap_header h;
        memcpy(&h, buf + at, sizeof(h));
        if (h.next && h.next <= at)
            abort();
        at = h.next;
    }
}

static struct vfio_device dev;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct stream s = { data, size };
    static uint8_t config[VFIO_CONFIG_MAX];
    uint64_t sizes[7];

    uint8_t flags = (uint8_t)take(&s, 1);
    for (int i = 0; i < 7; i++) {
        uint8_t code = (uint8_t)take(&s, 1);
        sizes[i] = code ? 1ull << (code & 63) : 0;
    }
    size_t len = (flags & 1) ? VFIO_CONFIG_MAX : 256;
    memset(config, 0, sizeof(config));
    size_t have = s.n < len ? s.n : len;
    memcpy(config, s.p, have);
    s.p += have;
    s.n -= have;

    if (vfio_device_init_pci(&dev, config, len, sizes, sizes[6]) < 0) {
        if (!dev.error.what)
            abort();
        return 0;
    }
    vfio_msix_set_ops(&dev.msix, &msix_ops, &dev.msix);
    vfio_config_set_ops(&dev.config, &cfg_ops, NULL);
    for (uint32_t i = 0; i < 9; i++)
        vfio_device_set_region_ops(&dev, i, &back_ops,
                                   (void *)(uintptr_t)dev.regions[i].size);

    for (int ops = 0; s.n && ops < 256; ops++) {
        uint8_t op = (uint8_t)take(&s, 1);
        uint8_t buf[512];
        switch (op % 8) {
        case 0: { /* GET_REGION_INFO */
            uint32_t index = (uint32_t)take(&s, 1);
            uint32_t argsz = (uint32_t)take(&s, 2);
            size_t bufsz = take(&s, 2) % (sizeof(buf) + 1);
            memset(buf, 0, sizeof(buf));
            memcpy(buf, &argsz, 4);
            if (vfio_device_get_region_info(&dev, index, buf, bufsz) == 0)
                check_region_info(buf, argsz, bufsz);
            break;
        }
        case 1:   /* region read */
        case 2: { /* region write */
            uint32_t index = (uint32_t)take(&s, 1) % 17;
            uint64_t off = take(&s, 8);
            if (!(op & 0x80))
                off &= 0xffff; /* mostly near the start */
            size_t count = take(&s, 1) % 17;
            for (size_t i = 0; i < count; i++)
                buf[i] = (uint8_t)take(&s, 1);
            if (op % 8 == 1)
                vfio_region_read(&dev, index, off, buf, count);
            else
                vfio_region_write(&dev, index, off, buf, count);
            break;
        }
        case 3: { /* config write */
            uint64_t off = take(&s, 2) % 4200;
            size_t count = (size_t)1 << (take(&s, 1) % 3);
            uint32_t v = (uint32_t)take(&s, 4);
            vfio_config_write(&dev.config, off, &v, count);
            break;
        }
        case 4: { /* config read, all of it */
            vfio_config_read(&dev.config, 0, buf, 256);
            break;
        }
        case 5: { /* GET_INFO */
            uint32_t argsz = (uint32_t)take(&s, 1);
            size_t bufsz = take(&s, 1) % 21;
            memcpy(buf, &argsz, 4);
            vfio_device_get_info(&dev, buf, bufsz);
            break;
        }
        case 6: { /* MSI-X table write */
            uint64_t off = take(&s, 2);
            size_t count = (take(&s, 1) & 1) ? 8 : 4;
            uint64_t v = take(&s, 8);
            vfio_msix_table_write(&dev.msix, off, &v, count);
            break;
        }
        case 7: { /* device-specific region */
            uint64_t rsize = take(&s, 2);
            vfio_device_add_dev_region(&dev, 0x80008086, (uint32_t)take(&s, 1),
                                       MINIHV_VFIO_REGION_INFO_FLAG_READ | MINIHV_VFIO_REGION_INFO_FLAG_WRITE,
                                       rsize, &back_ops, (void *)(uintptr_t)rsize);
            break;
        }
        }
    }
    return 0;
}
