/* Builders for synthetic config-space dumps, shared by the vfio tests. */
#ifndef TEST_VFIO_UTIL_H
#define TEST_VFIO_UTIL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vfio/vfio.h"

static inline void cfg_w8(uint8_t *c, unsigned off, uint8_t v) { c[off] = v; }
static inline void cfg_w16(uint8_t *c, unsigned off, uint16_t v) { memcpy(c + off, &v, 2); }
static inline void cfg_w32(uint8_t *c, unsigned off, uint32_t v) { memcpy(c + off, &v, 4); }
static inline uint32_t cfg_r32(const uint8_t *c, unsigned off) { uint32_t v; memcpy(&v, c + off, 4); return v; }

/* A type-0 header: vendor, device, class (base<<16 | sub<<8 | prog-if). */
static inline void cfg_header(uint8_t *c, size_t len, uint16_t vendor, uint16_t device, uint32_t class24)
{
    memset(c, 0, len);
    cfg_w16(c, 0x00, vendor);
    cfg_w16(c, 0x02, device);
    cfg_w8(c, 0x09, (uint8_t)class24);
    cfg_w8(c, 0x0a, (uint8_t)(class24 >> 8));
    cfg_w8(c, 0x0b, (uint8_t)(class24 >> 16));
    cfg_w16(c, 0x2c, 0x1af4);
    cfg_w16(c, 0x2e, 0x1100);
    cfg_w8(c, 0x3d, 1);
}

/* Append a capability of `id` at `pos` to the end of the chain. */
static inline void cfg_add_cap(uint8_t *c, unsigned pos, uint8_t id)
{
    unsigned at = 0x34;
    c[0x06] |= 0x10; /* status: capability list */
    while (c[at])
        at = c[at] + 1;
    c[at] = (uint8_t)pos;
    c[pos] = id;
    c[pos + 1] = 0;
}

static inline void cfg_add_msix(uint8_t *c, unsigned pos, unsigned entries, unsigned table_bir,
                                uint32_t table_off, unsigned pba_bir, uint32_t pba_off)
{
    cfg_add_cap(c, pos, 0x11);
    cfg_w16(c, pos + 2, (uint16_t)(entries - 1));
    cfg_w32(c, pos + 4, table_off | table_bir);
    cfg_w32(c, pos + 8, pba_off | pba_bir);
}

/* An NVMe-like device as QEMU builds it: 64-bit BAR0 of 16 KiB at
 * 0xfebf0000 with the MSI-X table (entries) at 0x2000 and PBA at 0x3000,
 * plus PM and PCIe capabilities. */
static inline void cfg_nvme(uint8_t *c, size_t len, unsigned entries)
{
    cfg_header(c, len, 0x1b36, 0x0010, 0x010802);
    cfg_w16(c, 0x04, 0x0006);
    cfg_w32(c, 0x10, 0xfebf0004);
    cfg_w32(c, 0x14, 0);
    cfg_add_cap(c, 0x40, 0x01);       /* PM */
    cfg_w16(c, 0x42, 0x0003);
    cfg_add_msix(c, 0x50, entries, 0, 0x2000, 0, 0x3000);
    cfg_add_cap(c, 0x60, 0x10);       /* PCIe v2 endpoint */
    cfg_w16(c, 0x62, 0x0002);
}

static const uint64_t nvme_bars[6] = { 0x4000, 0, 0, 0, 0, 0 };

static inline struct vfio_device *dev_alloc(void)
{
    return calloc(1, sizeof(struct vfio_device));
}

#endif
