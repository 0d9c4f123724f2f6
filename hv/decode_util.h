/* Operand-size helpers the decoder (decode.c) and the emulation
 * (emulate.c) share. */
#ifndef MINIHV_HV_DECODE_UTIL_H
#define MINIHV_HV_DECODE_UTIL_H

#include <stdint.h>

/* The low `size` bytes set. */
static inline uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

/* A `size`-byte value sign-extended to 64 bits. */
static inline uint64_t sign_extend(uint64_t value, unsigned size)
{
    unsigned shift = 64 - size * 8;
    return (uint64_t)((int64_t)(value << shift) >> shift);
}

#endif
