/* See hpet.h. */
#include <stdbool.h>
#include "hv/hpet.h"
#include "vfio/msi.h"

/* The register `q` (8-aligned) with `size` bytes of `value` written at `off`. */
static uint64_t merge(uint64_t cur, uint32_t q, uint32_t off, unsigned size, uint64_t value)
{
    unsigned shift = (off - q) * 8;
    uint64_t mask = size >= 8 ? ~0ull : ((1ull << (size * 8)) - 1);
    return (cur & ~(mask << shift)) | ((value & mask) << shift);
}

static uint32_t timer_reg(uint32_t q)
{
    return q < HPET_TIMER_FIRST ? ~0u : (q - HPET_TIMER_FIRST) % HPET_TIMER_STRIDE;
}

static bool judged(uint32_t q)
{
    uint32_t r = timer_reg(q);
    return r == HPET_TN_CONFIG || r == HPET_TN_FSB_ROUTE;
}

static bool route_ok(uint64_t route)
{
    return vfio_msi_check(route >> 32, (uint32_t)route) == VFIO_MSI_OK;
}

enum hpet_verdict hpet_write_judge(uint32_t off, unsigned size, uint64_t value, hpet_read64_fn read, void *ctx,
                                   uint64_t *route)
{
    uint32_t q = off & ~7u;
    if (off + size > q + 8)
        return judged(q) || judged(q + 8) ? HPET_DROP_SPLIT : HPET_PASS;
    uint32_t r = timer_reg(q);
    if (r == HPET_TN_CONFIG) {
        uint64_t config = merge(read(ctx, q), q, off, size, value);
        if (!(config & HPET_TN_FSB_EN))
            return HPET_PASS;
        *route = read(ctx, q + HPET_TN_FSB_ROUTE);
        return route_ok(*route) ? HPET_PASS : HPET_DROP_FSB_ENABLE;
    }
    if (r != HPET_TN_FSB_ROUTE)
        return HPET_PASS;
    /* Each dword on its own: Linux writes the value, then the address
     * (hpet_msi_write), so the other half may still be the firmware's. */
    *route = merge(read(ctx, q), q, off, size, value);
    bool value_written = off < q + 4, address_written = off + size > q + 4;
    if (value_written && !vfio_msi_data_valid((uint32_t)*route))
        return HPET_DROP_ROUTE;
    if (address_written && !vfio_msi_addr_valid(*route >> 32))
        return HPET_DROP_ROUTE;
    return HPET_PASS;
}

const char *hpet_verdict_name(enum hpet_verdict v)
{
    switch (v) {
    case HPET_PASS: return "passed";
    case HPET_DROP_FSB_ENABLE: return "FSB delivery on over a route outside the rule";
    case HPET_DROP_ROUTE: return "FSB route outside 0xFEExxxxx or fixed/lowest delivery";
    case HPET_DROP_SPLIT: return "unaligned across a judged register";
    }
    return "?";
}
