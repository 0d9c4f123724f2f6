/* Pure rules for events the core cannot deliver, instruction lengths
 * across an IP wraparound and port writes over a reset register
 * (hv/event_rules.h). */
#include "hv/event_rules.h"

enum event_class { CLASS_BENIGN, CLASS_CONTRIBUTORY, CLASS_PAGE_FAULT, CLASS_DOUBLE_FAULT };

/* SDM Vol. 3A 6.15 Table 6-4. */
static enum event_class class_of(bool hw_exception, unsigned vector)
{
    if (!hw_exception)
        return CLASS_BENIGN;
    switch (vector) {
    case 0: case 10: case 11: case 12: case 13: case 21: /* #DE #TS #NP #SS #GP #CP */
        return CLASS_CONTRIBUTORY;
    case 14: case 20: /* #PF #VE */
        return CLASS_PAGE_FAULT;
    case 8:
        return CLASS_DOUBLE_FAULT;
    default:
        return CLASS_BENIGN;
    }
}

/* Table 6-5 with a contributory second exception (#GP). */
enum event_outcome event_delivery_fault(bool hw_exception, unsigned vector)
{
    switch (class_of(hw_exception, vector)) {
    case CLASS_BENIGN:
        return EVENT_RAISE_GP;
    case CLASS_CONTRIBUTORY:
    case CLASS_PAGE_FAULT:
        return EVENT_RAISE_DF;
    default:
        return EVENT_TRIPLE_FAULT;
    }
}

uint32_t event_idt_error_code(unsigned vector, bool external)
{
    return ((vector & 0xffu) << 3) | 2u | (external ? 1u : 0u);
}

uint32_t event_selector_error_code(uint16_t selector, bool external)
{
    return (uint32_t)(selector & 0xfffcu) | (external ? 1u : 0u);
}

uint64_t ip_mask(bool long_mode, bool cs_db)
{
    return long_mode ? ~0ull : cs_db ? 0xffffffffull : 0xffffull;
}

bool addr_canonical(uint64_t la, bool la57)
{
    unsigned shift = la57 ? 7 : 16;
    return (uint64_t)((int64_t)(la << shift) >> shift) == la;
}

unsigned insn_len_wrapped(uint64_t rip, uint64_t next_rip, uint64_t mask)
{
    uint64_t len = (next_rip - rip) & mask;
    return len >= 1 && len <= 15 ? (unsigned)len : 0;
}

bool port_write_covers(uint16_t port, unsigned size, uint32_t value, uint16_t reg, uint8_t *byte)
{
    if (size < 1 || size > 4 || reg < port || (uint32_t)reg - port >= size)
        return false;
    *byte = (uint8_t)(value >> (8 * (reg - port)));
    return true;
}
