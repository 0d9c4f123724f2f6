/* The few C library functions the pure-C parts (vfio/, drivers/igd/, boot
 * parsers) may use. Hosted builds (tools/, tests/) get them from libc; the
 * freestanding core and the UEFI loader get them from lib/string.c. */
#ifndef MINIHV_LIBC_H
#define MINIHV_LIBC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if __STDC_HOSTED__ && !defined(MINIHV_EFI)
#include <string.h>
#else
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* Little-endian loads from untrusted byte buffers (firmware tables, ROMs,
 * config dumps): no alignment assumed. Callers check bounds first. */
static inline uint16_t le16(const void *p)
{
    const uint8_t *b = p;
    return (uint16_t)(b[0] | b[1] << 8);
}
static inline uint32_t le32(const void *p)
{
    const uint8_t *b = p;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}
static inline uint64_t le64(const void *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32((const uint8_t *)p + 4) << 32;
}

/* True when [off, off + len) lies inside a buffer of `size` bytes, with no
 * unsigned wrap-around. The one bounds check every parser uses. */
static inline bool range_ok(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

#endif
