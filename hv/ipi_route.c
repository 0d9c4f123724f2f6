/* See ipi_route.h. */
#include "hv/ipi_route.h"

struct apic_icr apic_icr_parse(uint32_t icr_low)
{
    return (struct apic_icr){
        .vector = (uint8_t)icr_low,
        .delivery = (uint8_t)((icr_low >> 8) & 7),
        .logical = (icr_low >> 11) & 1,
        .assert_level = (icr_low >> 14) & 1,
        .shorthand = (uint8_t)((icr_low >> 18) & 3),
    };
}

bool apic_icr_delivery_ok(const struct apic_icr *icr)
{
    return x86_delivery_mode_allowed(X86_SRC_ICR, icr->delivery);
}

uint32_t x2apic_logical_id(uint32_t apic_id)
{
    return ((apic_id >> 4) & 0xffffu) << 16 | 1u << (apic_id & 0xf);
}

/* SDM 10.6.2.2 (xAPIC) and 10.12.10.2 (x2APIC); an all-ones destination
 * is a broadcast in every model. */
static bool logical_match(uint32_t dest, bool x2apic, uint32_t apic_id, const struct apic_logical *l)
{
    if (x2apic) {
        if (dest == 0xffffffffu)
            return true;
        uint32_t ldr = x2apic_logical_id(apic_id);
        return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xffffu);
    }
    dest &= 0xff;
    if (dest == 0xff)
        return true;
    uint8_t id = (uint8_t)(l->ldr >> 24);
    switch (l->dfr & 0xf0000000u) {
    case APIC_DFR_FLAT:
        return dest & id;
    case APIC_DFR_CLUSTER:
        return (dest >> 4) == (id >> 4) && (dest & id & 0xf);
    default:
        return false; /* DFR model reserved: no APIC accepts it */
    }
}

/* SDM 10.6.1 (shorthands win over the destination field), 10.6.2.1 and
 * 10.12.9 (physical: xAPIC 0xff, x2APIC 0xffffffff broadcast). */
bool ipi_route_targets(const struct apic_icr *icr, uint32_t dest, bool x2apic, uint32_t self,
                       uint32_t apic_id, const struct apic_logical *l)
{
    switch (icr->shorthand) {
    case APIC_DEST_SELF:
        return apic_id == self;
    case APIC_DEST_ALL:
        return true;
    case APIC_DEST_OTHERS:
        return apic_id != self;
    default:
        break;
    }
    if (icr->logical)
        return logical_match(dest, x2apic, apic_id, l);
    if (x2apic)
        return dest == 0xffffffffu || dest == apic_id;
    return (dest & 0xff) == 0xff || (dest & 0xff) == apic_id;
}
