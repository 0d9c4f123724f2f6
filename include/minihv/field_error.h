/* What a parser of untrusted input objected to, for messages like
 * "vbt: bdb.bdb_size at 0x34: runs past vbt_size" or "DRHD.length at 0x30:
 * shorter than its fixed part". `field` and `what` are string literals;
 * `offset` is a byte offset into the buffer (or register file) the caller
 * handed the parser. Shared by drivers/igd and iommu/. */
#ifndef MINIHV_FIELD_ERROR_H
#define MINIHV_FIELD_ERROR_H

#include <stdint.h>

struct field_error {
    const char *field;
    uint32_t offset;
    const char *what;
};

/* Fills *err (when err is not NULL) and returns -code. */
static inline int field_fail(struct field_error *err, int code, const char *field, uint64_t offset,
                             const char *what)
{
    if (err) {
        err->field = field;
        err->offset = offset > UINT32_MAX ? UINT32_MAX : (uint32_t)offset;
        err->what = what;
    }
    return -code;
}

#endif
