/* FNV-1a 32 (offset basis 0x811c9dc5, prime 0x01000193): the log ring's
 * header_check and record check (include/minihv/logring.h). One copy for
 * the writer, the reader and the tools; incremental, so a record whose
 * text wraps around the ring's end is hashed in two pieces. */
#ifndef MINIHV_LOG_FNV1A_H
#define MINIHV_LOG_FNV1A_H

#include <stddef.h>
#include <stdint.h>

#define LOG_FNV1A32_INIT 0x811c9dc5u

static inline uint32_t log_fnv1a32_update(uint32_t h, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x01000193u;
    return h;
}

static inline uint32_t log_fnv1a32(const void *buf, size_t len)
{
    return log_fnv1a32_update(LOG_FNV1A32_INIT, buf, len);
}

#endif
