/* See io.h. */
#include <minihv/io.h>
#include "hv/io.h"

struct io_range {
    uint16_t first;
    uint32_t count;
    io_handler_fn fn;
    const char *name;
};
static struct io_range ranges[IO_MAX_RANGES];
static unsigned range_count;

static bool overlaps(uint32_t a, uint32_t alen, uint32_t b, uint32_t blen)
{
    return a < b + blen && b < a + alen;
}

int io_register(uint16_t first, uint32_t count, io_handler_fn fn, const char *name)
{
    if (!count || !fn || (uint32_t)first + count > 0x10000u || range_count >= IO_MAX_RANGES)
        return -1;
    for (unsigned i = 0; i < range_count; i++)
        if (overlaps(first, count, ranges[i].first, ranges[i].count))
            return -1;
    ranges[range_count++] = (struct io_range){ first, count, fn, name };
    return 0;
}

io_handler_fn io_lookup(uint16_t port, unsigned size, const char **name)
{
    for (unsigned i = 0; i < range_count; i++)
        if (overlaps(port, size, ranges[i].first, ranges[i].count)) {
            if (name)
                *name = ranges[i].name;
            return ranges[i].fn;
        }
    return NULL;
}

unsigned io_range_count(void)
{
    return range_count;
}

void io_reset(void)
{
    range_count = 0;
}

bool io_bitmap_set(uint8_t *map, size_t map_bytes, uint32_t first, uint32_t count)
{
    bool all = true;
    for (uint32_t p = first; p - first < count; p++) {
        uint32_t byte;
        unsigned bit;
        io_bitmap_pos(p, &byte, &bit);
        if (byte >= map_bytes) {
            all = false;
            continue;
        }
        map[byte] |= (uint8_t)(1u << bit);
    }
    return all;
}

void io_bitmap_fill(uint8_t *map, size_t map_bytes)
{
    for (unsigned i = 0; i < range_count; i++)
        io_bitmap_set(map, map_bytes, ranges[i].first, ranges[i].count);
}

void io_hw(uint16_t port, unsigned size, bool in, uint32_t *value)
{
    if (in) {
        if (size == 1)
            *value = inb(port);
        else if (size == 2) {
            uint16_t w;
            __asm__ volatile("inw %1, %0" : "=a"(w) : "Nd"(port));
            *value = w;
        } else
            *value = inl(port);
        return;
    }
    if (size == 1)
        outb(port, (uint8_t)*value);
    else if (size == 2)
        __asm__ volatile("outw %0, %1" ::"a"((uint16_t)*value), "Nd"(port));
    else
        outl(port, *value);
}

uint32_t io_pci_read32(uint8_t dev, uint8_t fn, uint8_t reg)
{
    uint32_t saved = inl(0xcf8);
    outl(0xcf8, 0x80000000u | (uint32_t)(dev & 31) << 11 | (uint32_t)(fn & 7) << 8 | (reg & 0xfc));
    uint32_t v = inl(0xcfc);
    outl(0xcf8, saved);
    return v;
}

enum io_sleep io_sleep_decide(uint64_t reg, unsigned slp_byte, uint64_t port, unsigned size, uint64_t value,
                              bool s5_found, uint8_t s5_typ, uint8_t *typ)
{
    uint64_t at = reg + slp_byte;
    *typ = 0;
    if (size > 8 || at < port || at - port >= size)
        return IO_SLEEP_NONE; /* the access leaves the sleep byte alone */
    uint8_t byte = (uint8_t)(value >> (8 * (at - port)));
    *typ = (byte >> 2) & 7;
    if (!(byte & (1u << IO_SLP_EN_BIT)))
        return IO_SLEEP_NONE;
    return s5_found && *typ == (s5_typ & 7) ? IO_SLEEP_S5 : IO_SLEEP_REFUSE;
}

#define RST_CNT       0xcf9
#define KBC_STATUS    0x64
#define KBC_IBF       (1u << 1) /* input buffer full */
#define KBC_PULSE_RESET 0xfe    /* pulse output line 0 (CPU reset) */

unsigned io_reset_steps(uint16_t reset_port, uint8_t reset_value, struct io_reset_step *steps)
{
    unsigned n = 0;
    steps[n++] = (struct io_reset_step){ RST_CNT, 0x02, false, false };
    steps[n++] = (struct io_reset_step){ RST_CNT, 0x06, false, true };
    steps[n++] = (struct io_reset_step){ RST_CNT, 0x0e, false, true };
    if (reset_port && reset_port != RST_CNT)
        steps[n++] = (struct io_reset_step){ reset_port, reset_value, false, true };
    steps[n++] = (struct io_reset_step){ KBC_STATUS, KBC_PULSE_RESET, true, true };
    return n;
}

/* About a millisecond on hardware: port 0x80 writes take ~1 us each. */
static void settle(void)
{
    for (unsigned i = 0; i < 1000; i++)
        outb(0x80, 0);
}

void io_reset_machine(uint16_t reset_port, uint8_t reset_value)
{
    struct io_reset_step steps[IO_RESET_STEPS];
    unsigned n = io_reset_steps(reset_port, reset_value, steps);
    for (unsigned i = 0; i < n; i++) {
        for (unsigned spin = 0; steps[i].kbc && (inb(KBC_STATUS) & KBC_IBF) && spin < 100000; spin++)
            __asm__ volatile("pause");
        outb(steps[i].port, steps[i].value);
        if (steps[i].settle)
            settle();
    }
}

bool a20_gate_write(uint16_t port, uint8_t *byte, bool *outport_next, bool *refused)
{
    *refused = false;
    switch (port) {
    case A20_PORT_SCP_A:
        break;
    case A20_PORT_KBC:
        /* A 0xd1 stays pending until a byte goes to 0x60 or another command
         * that takes one replaces it: QEMU's 8042 keeps it across any other
         * command (d1, ad, then 0x01 to 0x60 was A20 off: review R). */
        if (*byte == A20_KBC_WRITE_OUTPORT)
            *outport_next = true;
        else if (*byte == 0x60 || *byte == 0xd2 || *byte == 0xd3 || *byte == 0xd4)
            *outport_next = false;
        if (*byte == A20_KBC_A20_OFF) {
            *refused = true;
            return false;
        }
        return true;
    case A20_PORT_KBD:
        if (!*outport_next)
            return true; /* a byte for the keyboard */
        *outport_next = false;
        break;
    default:
        return true;
    }
    if (!(*byte & A20_BIT)) {
        *byte |= A20_BIT;
        *refused = true;
    }
    return true;
}

bool fch_pm_index_guarded(enum fch_layout layout, uint8_t index)
{
    if (layout == FCH_LAYOUT_SB7X0)
        return index >= 0x20 && index < 0x30;
    return (index >= 0x60 && index < 0x70) || (index >= 0x74 && index < 0x78);
}

bool fch_pm_write(enum fch_layout layout, uint16_t port, uint8_t byte, uint8_t *index)
{
    if (port == FCH_PM_INDEX) {
        *index = byte;
        return true;
    }
    return port != FCH_PM_DATA || !fch_pm_index_guarded(layout, *index);
}

enum fch_layout fch_layout_of(uint32_t smbus_id, uint8_t revision)
{
    switch (smbus_id) {
    case 0x43851002: return revision >= 0x40 ? FCH_LAYOUT_SB800 : FCH_LAYOUT_SB7X0;
    case 0x780b1022: return revision < 0x41 ? FCH_LAYOUT_SB800 : FCH_LAYOUT_OTHER;
    case 0x790b1022: return revision < 0x49 ? FCH_LAYOUT_SB800 : FCH_LAYOUT_OTHER;
    default:         return FCH_LAYOUT_OTHER;
    }
}

#define FCH_PM_ACPIMMIO_EN      0x24
#define FCH_ACPIMMIO_DECODE_EN  0x01u

bool fch_pm_bits_judged(enum fch_layout layout, uint8_t index)
{
    return layout == FCH_LAYOUT_SB800 && index >= FCH_PM_ACPIMMIO_EN && index <= FCH_PM_ACPIMMIO_EN + 3;
}

bool fch_pm_bits_ok(enum fch_layout layout, uint8_t index, uint8_t now, uint8_t value)
{
    if (!fch_pm_bits_judged(layout, index))
        return true;
    uint8_t free = index == FCH_PM_ACPIMMIO_EN ? FCH_ACPIMMIO_DECODE_EN : 0;
    return !((now ^ value) & (uint8_t)~free);
}

enum fch_mmio_verdict fch_mmio_judge(uint32_t off, unsigned size, uint64_t value, bool s5_found, uint8_t s5_typ)
{
    for (unsigned i = 0; i < size; i++) {
        uint32_t at = off + i;
        if (at >= FCH_ACPIMMIO_PM && at < FCH_ACPIMMIO_PM + 0x100 && fch_pm_index_guarded(FCH_LAYOUT_SB800, (uint8_t)(at - FCH_ACPIMMIO_PM)))
            return FCH_MMIO_DROP_PM;
    }
    /* PM1_CNT's sleep byte, judged as the port's. */
    uint8_t typ;
    enum io_sleep d = io_sleep_decide(FCH_ACPIMMIO_PM1_CNT, 1, off, size, value, s5_found, s5_typ, &typ);
    return d == IO_SLEEP_REFUSE ? FCH_MMIO_DROP_SLEEP : d == IO_SLEEP_S5 ? FCH_MMIO_S5 : FCH_MMIO_PASS;
}
