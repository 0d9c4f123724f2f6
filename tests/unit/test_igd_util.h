/* Byte helpers and a synthetic VBT shared by the OpRegion tests. */
#ifndef TEST_IGD_UTIL_H
#define TEST_IGD_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static inline void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }
static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t get32(const uint8_t *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }
static inline uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }

/* A valid VBT of exactly `size` bytes: header, BDB header, one block 254
 * filling the rest with a pattern seeded by `seed`. */
static inline void make_vbt(uint8_t *v, size_t size, uint8_t seed)
{
    memset(v, 0, size);
    memcpy(v, "$VBT TESTLAKE       ", 20);
    put16(v + 0x14, 100);
    put16(v + 0x16, 48);
    put16(v + 0x18, (uint16_t)size);
    put32(v + 0x1C, 48);
    uint8_t *b = v + 48;
    memcpy(b, "BIOS_DATA_BLOCK ", 16);
    put16(b + 0x10, 240);
    put16(b + 0x12, 22);
    put16(b + 0x14, (uint16_t)(size - 48));
    b[22] = 254;
    put16(b + 23, (uint16_t)(size - 48 - 22 - 3));
    for (size_t i = 48 + 22 + 3; i < size; i++)
        v[i] = (uint8_t)(i * 7 + seed);
    uint8_t sum = 0;
    for (size_t i = 0; i < size; i++)
        sum = (uint8_t)(sum + v[i]);
    v[0x1A] = (uint8_t)-sum;
}

#endif
