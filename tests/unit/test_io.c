/* Port-I/O intercept table and bitmap bit positions (hv/io.c): VMX I/O
 * bitmaps A/B (SDM Vol. 3C 25.6.4) and the SVM IOPM (APM Vol. 2 15.10.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "hv/io.h"

static bool h1(struct vcpu *v, uint16_t port, unsigned size, bool in, uint32_t *value)
{
    (void)v, (void)port, (void)size, (void)in, (void)value;
    return true;
}

static bool h2(struct vcpu *v, uint16_t port, unsigned size, bool in, uint32_t *value)
{
    (void)v, (void)port, (void)size, (void)in, (void)value;
    return false;
}

static unsigned bits_set(const uint8_t *map, size_t n)
{
    unsigned c = 0;
    for (size_t i = 0; i < n; i++)
        c += (unsigned)__builtin_popcount(map[i]);
    return c;
}

static void test_positions(void **state)
{
    (void)state;
    uint32_t byte;
    unsigned bit;
    io_bitmap_pos(0, &byte, &bit);
    assert_int_equal(byte, 0);
    assert_int_equal(bit, 0);
    io_bitmap_pos(0xcf9, &byte, &bit); /* 0xcf9 = 8 * 0x19f + 1 */
    assert_int_equal(byte, 0x19f);
    assert_int_equal(bit, 1);
    io_bitmap_pos(0x7fff, &byte, &bit); /* last port of bitmap A */
    assert_int_equal(byte, 4095);
    assert_int_equal(bit, 7);
    io_bitmap_pos(0x8000, &byte, &bit); /* first of bitmap B: its byte 0 */
    assert_int_equal(byte, 4096);
    assert_int_equal(bit, 0);
    io_bitmap_pos(0xffff, &byte, &bit);
    assert_int_equal(byte, 8191);
    assert_int_equal(bit, 7);
}

static void test_set_range(void **state)
{
    (void)state;
    uint8_t map[3 * 4096]; /* the IOPM size; VMX uses the first 8 KiB */
    memset(map, 0, sizeof(map));
    /* PM1a_CNT 0x604, 2 bytes: byte 0xc0, bits 4 and 5. */
    assert_true(io_bitmap_set(map, sizeof(map), 0x604, 2));
    assert_int_equal(map[0xc0], 0x30);
    assert_int_equal(bits_set(map, sizeof(map)), 2);
    /* A range across a byte and across the A/B border. */
    memset(map, 0, sizeof(map));
    assert_true(io_bitmap_set(map, sizeof(map), 0x7ffe, 4));
    assert_int_equal(map[4095], 0xc0);
    assert_int_equal(map[4096], 0x03);
    assert_int_equal(bits_set(map, sizeof(map)), 4);
    /* Ports beyond a short map are reported, the rest still set. */
    memset(map, 0, sizeof(map));
    assert_false(io_bitmap_set(map, 4096, 0x7ffc, 8));
    assert_int_equal(map[4095], 0xf0);
    assert_int_equal(map[4096], 0);
}

static void test_table(void **state)
{
    (void)state;
    const char *name = NULL;
    io_reset();
    assert_int_equal(io_register(0x604, 2, h1, "pm1a"), 0);
    assert_int_equal(io_register(0xcf9, 1, h2, "cf9"), 0);
    assert_int_equal(io_register(0x605, 1, h1, "overlap"), -1);
    assert_int_equal(io_register(0xffff, 2, h1, "past the end"), -1);
    assert_int_equal(io_register(0x10, 0, h1, "empty"), -1);
    assert_int_equal(io_range_count(), 2);
    assert_ptr_equal(io_lookup(0x604, 2, &name), h1);
    assert_string_equal(name, "pm1a");
    assert_ptr_equal(io_lookup(0x605, 1, NULL), h1);
    assert_null(io_lookup(0x606, 2, NULL));
    assert_null(io_lookup(0x602, 2, NULL));
    /* A dword at CONFIG_ADDRESS touches 0xcf9: the reset handler gets it. */
    assert_ptr_equal(io_lookup(0xcf8, 4, &name), h2);
    assert_string_equal(name, "cf9");
    assert_null(io_lookup(0xcfc, 4, NULL));

    uint8_t map[8192];
    memset(map, 0, sizeof(map));
    io_bitmap_fill(map, sizeof(map));
    assert_int_equal(bits_set(map, sizeof(map)), 3);
    assert_int_equal(map[0xc0], 0x30);
    assert_int_equal(map[0x19f], 0x02);

    for (unsigned i = 2; i < IO_MAX_RANGES; i++)
        assert_int_equal(io_register((uint16_t)(0x1000 + i), 1, h1, "fill"), 0);
    assert_int_equal(io_register(0x2000, 1, h1, "one too many"), -1);
    io_reset();
    assert_int_equal(io_range_count(), 0);
}

/* The machine reset: RST_CNT hard then full reset, the FADT's register,
 * the 8042 last; no duplicate when the FADT names 0xcf9. */
static void test_reset_steps(void **state)
{
    (void)state;
    struct io_reset_step st[IO_RESET_STEPS];
    unsigned n = io_reset_steps(0xb2, 0x0f, st);
    assert_int_equal(n, 5);
    assert_int_equal(st[0].port, 0xcf9);
    assert_int_equal(st[0].value, 0x02);
    assert_false(st[0].settle);
    assert_int_equal(st[1].value, 0x06);
    assert_true(st[1].settle);
    assert_int_equal(st[2].value, 0x0e);
    assert_int_equal(st[3].port, 0xb2);
    assert_int_equal(st[3].value, 0x0f);
    assert_int_equal(st[4].port, 0x64);
    assert_int_equal(st[4].value, 0xfe);
    assert_true(st[4].kbc);
    assert_int_equal(io_reset_steps(0xcf9, 0x06, st), 4);
    assert_int_equal(st[3].port, 0x64);
    assert_int_equal(io_reset_steps(0, 0, st), 4);
}

/* io_sleep_decide: QEMU q35's PM1a_CNT at 0x604, \_S5 SLP_TYP 0 (its
 * DSDT: Name(_S5, Package(4){0, 0, 0, 0})); S3 is SLP_TYP 1 there. */
#define PM1A 0x604
#define SLP(typ) (((typ) << 10) | (1u << 13))
static void test_sleep_decide(void **state)
{
    (void)state;
    uint8_t typ;
    /* Power-off: the word write Linux and OVMF do. */
    assert_int_equal(io_sleep_decide(PM1A, 1, PM1A, 2, SLP(0), true, 0, &typ), IO_SLEEP_S5);
    assert_int_equal(typ, 0);
    /* S3 (and S1, S4 here): refused, at every width and offset that covers byte 1. */
    assert_int_equal(io_sleep_decide(PM1A, 1, PM1A, 2, SLP(1), true, 0, &typ), IO_SLEEP_REFUSE);
    assert_int_equal(typ, 1);
    assert_int_equal(io_sleep_decide(PM1A, 1, PM1A + 1, 1, SLP(1) >> 8, true, 0, &typ), IO_SLEEP_REFUSE);
    assert_int_equal(io_sleep_decide(PM1A, 1, PM1A, 4, SLP(1), true, 0, &typ), IO_SLEEP_REFUSE);
    assert_int_equal(io_sleep_decide(PM1A, 1, PM1A - 2, 4, SLP(1) << 16, true, 0, &typ), IO_SLEEP_REFUSE);
    assert_int_equal(io_sleep_decide(PM1A, 1, PM1A - 1, 2, SLP(1) << 8, true, 0, &typ), IO_SLEEP_NONE); /* bytes -1, 0 */
    assert_int_equal(io_sleep_decide(PM1A, 1, PM1A - 1, 4, SLP(1) << 8, true, 0, &typ), IO_SLEEP_REFUSE);
    assert_int_equal(io_sleep_decide(PM1A, 1, PM1A + 1, 2, SLP(7) >> 8, true, 0, &typ), IO_SLEEP_REFUSE);
    assert_int_equal(typ, 7);
    /* The same at byte width for power-off passes. */
    assert_int_equal(io_sleep_decide(PM1A, 1, PM1A + 1, 1, SLP(0) >> 8, true, 0, &typ), IO_SLEEP_S5);
    /* No SLP_EN: an SLP_TYP set up alone, SCI_EN, other bytes. */
    assert_int_equal(io_sleep_decide(PM1A, 1, PM1A, 2, 1u << 10 | 1, true, 0, &typ), IO_SLEEP_NONE);
    assert_int_equal(io_sleep_decide(PM1A, 1, PM1A, 1, 0xff, true, 0, &typ), IO_SLEEP_NONE);
    assert_int_equal(io_sleep_decide(PM1A, 1, PM1A - 3, 4, 0xffffffffu, true, 0, &typ), IO_SLEEP_NONE);
    assert_int_equal(io_sleep_decide(PM1A, 1, PM1A + 2, 2, 0xffff, true, 0, &typ), IO_SLEEP_NONE);
    /* No \_S5 known: every sleep refused, SLP_TYP 0 included. */
    assert_int_equal(io_sleep_decide(PM1A, 1, PM1A, 2, SLP(0), false, 0, &typ), IO_SLEEP_REFUSE);
    /* A firmware whose S5 is 7 (many Intel boards: \_S5 {7, 0}); 5 is S3 on some. */
    assert_int_equal(io_sleep_decide(PM1A, 1, PM1A, 2, SLP(7), true, 7, &typ), IO_SLEEP_S5);
    assert_int_equal(io_sleep_decide(PM1A, 1, PM1A, 2, SLP(5), true, 7, &typ), IO_SLEEP_REFUSE);
    /* SLEEP_CONTROL_REG (hardware-reduced): SLP_TYP 4:2, SLP_EN 5 of byte 0. */
    assert_int_equal(io_sleep_decide(0x1004, 0, 0x1004, 1, 5u << 2 | 1u << 5, true, 5, &typ), IO_SLEEP_S5);
    assert_int_equal(io_sleep_decide(0x1004, 0, 0x1004, 1, 3u << 2 | 1u << 5, true, 5, &typ), IO_SLEEP_REFUSE);
    assert_int_equal(io_sleep_decide(0x1004, 0, 0x1002, 4, (3u << 2 | 1u << 5) << 16, true, 5, &typ),
                     IO_SLEEP_REFUSE);
    assert_int_equal(io_sleep_decide(0x1004, 0, 0x1005, 1, 0xff, true, 5, &typ), IO_SLEEP_NONE);
    /* The same judge for a register in System Memory (issue 14): 64-bit
     * addresses, writes up to 8 bytes (a MOV r64), the sleep byte in
     * either half; a page's other bytes pass. */
    const uint64_t mem = 0x7f0000004ull; /* X_PM1a_CNT_BLK, SLP_TYPa of \_S5 = 0 */
    assert_int_equal(io_sleep_decide(mem, 1, mem, 2, SLP(1), true, 0, &typ), IO_SLEEP_REFUSE);
    assert_int_equal(typ, 1);
    assert_int_equal(io_sleep_decide(mem, 1, mem, 2, SLP(0), true, 0, &typ), IO_SLEEP_S5);
    assert_int_equal(io_sleep_decide(mem, 1, mem - 4, 8, (uint64_t)SLP(1) << 32, true, 0, &typ), IO_SLEEP_REFUSE);
    assert_int_equal(io_sleep_decide(mem, 1, mem - 6, 8, (uint64_t)SLP(1) << 48, true, 0, &typ), IO_SLEEP_REFUSE);
    assert_int_equal(io_sleep_decide(mem, 1, mem - 7, 8, (uint64_t)SLP(1) << 56, true, 0, &typ), IO_SLEEP_NONE);
    assert_int_equal(io_sleep_decide(mem, 1, mem + 1, 8, SLP(1) >> 8, true, 0, &typ), IO_SLEEP_REFUSE);
    assert_int_equal(io_sleep_decide(mem, 1, mem + 2, 8, ~0ull, true, 0, &typ), IO_SLEEP_NONE);
    assert_int_equal(io_sleep_decide(mem, 1, mem - 8, 8, ~0ull, true, 0, &typ), IO_SLEEP_NONE);
    assert_int_equal(io_sleep_decide(mem, 1, mem, 16, SLP(1), true, 0, &typ), IO_SLEEP_NONE); /* no such access */
    /* Near the top of the address space: no wrap. */
    assert_int_equal(io_sleep_decide(~0ull - 1, 1, ~0ull, 1, SLP(1) >> 8, true, 0, &typ), IO_SLEEP_REFUSE);
    assert_int_equal(io_sleep_decide(~0ull - 1, 1, 0, 8, ~0ull, true, 0, &typ), IO_SLEEP_NONE);
}

/* The A20 gate stays on: every way a PC turns it off, and what must pass. */
static void test_a20_gate(void **state)
{
    (void)state;
    bool next = false, refused;
    uint8_t b = 0x00; /* 0x92: A20 off */
    assert_true(a20_gate_write(A20_PORT_SCP_A, &b, &next, &refused));
    assert_int_equal(b, 0x02);
    assert_true(refused);
    b = 0x03; /* INIT_NOW with A20 on: as written */
    assert_true(a20_gate_write(A20_PORT_SCP_A, &b, &next, &refused));
    assert_int_equal(b, 0x03);
    assert_false(refused);
    b = 0x01; /* INIT_NOW with A20 off: the reset goes through, A20 stays on */
    assert_true(a20_gate_write(A20_PORT_SCP_A, &b, &next, &refused));
    assert_int_equal(b, 0x03);
    assert_true(refused);
    b = A20_KBC_A20_OFF; /* 8042 "disable A20": dropped */
    assert_false(a20_gate_write(A20_PORT_KBC, &b, &next, &refused));
    assert_true(refused);
    b = 0xdf; /* "enable A20" */
    assert_true(a20_gate_write(A20_PORT_KBC, &b, &next, &refused));
    assert_false(refused);
    b = 0xf4; /* a keyboard byte to 0x60, no 0xd1 before it */
    assert_true(a20_gate_write(A20_PORT_KBD, &b, &next, &refused));
    assert_int_equal(b, 0xf4);
    assert_false(refused);
    b = A20_KBC_WRITE_OUTPORT; /* 0xd1, then the output port with A20 off */
    assert_true(a20_gate_write(A20_PORT_KBC, &b, &next, &refused));
    assert_true(next);
    b = 0xdd;
    assert_true(a20_gate_write(A20_PORT_KBD, &b, &next, &refused));
    assert_int_equal(b, 0xdf);
    assert_true(refused);
    assert_false(next);
    b = 0xdd; /* the next byte to 0x60 is the keyboard's again */
    assert_true(a20_gate_write(A20_PORT_KBD, &b, &next, &refused));
    assert_int_equal(b, 0xdd);
    assert_false(refused);
    b = A20_KBC_WRITE_OUTPORT; /* 0xd1, then a command without a byte: QEMU's 8042 still waits (review R) */
    assert_true(a20_gate_write(A20_PORT_KBC, &b, &next, &refused));
    b = 0xad;
    assert_true(a20_gate_write(A20_PORT_KBC, &b, &next, &refused));
    assert_true(next);
    b = 0x01;
    assert_true(a20_gate_write(A20_PORT_KBD, &b, &next, &refused));
    assert_int_equal(b, 0x03);
    assert_true(refused);
    b = A20_KBC_WRITE_OUTPORT; /* 0xd1, then a command that takes a byte: that byte is not the output port */
    assert_true(a20_gate_write(A20_PORT_KBC, &b, &next, &refused));
    b = 0xd4;
    assert_true(a20_gate_write(A20_PORT_KBC, &b, &next, &refused));
    assert_false(next);
    b = 0xf4;
    assert_true(a20_gate_write(A20_PORT_KBD, &b, &next, &refused));
    assert_int_equal(b, 0xf4);
    b = 0x00; /* the output port with reset asserted and A20 on: as written but A20 */
    next = true;
    assert_true(a20_gate_write(A20_PORT_KBD, &b, &next, &refused));
    assert_int_equal(b, 0x02);
}

/* The FCH PM ports: the ACPI block's registers (PMx60-0x6F, PMx74-0x77)
 * never take a data write; the index is tracked across the two ports;
 * every other index and port passes. */
static void test_fch_pm(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 256; i++) {
        bool want = (i >= 0x60 && i <= 0x6f) || (i >= 0x74 && i <= 0x77);
        assert_int_equal(fch_pm_index_guarded(FCH_LAYOUT_OTHER, (uint8_t)i), want);
    }
    uint8_t index = 0;
    assert_true(fch_pm_write(FCH_LAYOUT_OTHER, FCH_PM_INDEX, 0x62, &index)); /* AcpiPm1CntBlk: the index itself goes through */
    assert_int_equal(index, 0x62);
    assert_false(fch_pm_write(FCH_LAYOUT_OTHER, FCH_PM_DATA, 0x00, &index)); /* its data: dropped */
    assert_false(fch_pm_write(FCH_LAYOUT_OTHER, FCH_PM_DATA, 0x08, &index)); /* again: the index stays */
    assert_true(fch_pm_write(FCH_LAYOUT_OTHER, FCH_PM_INDEX, 0x74, &index)); /* AcpiConfig */
    assert_false(fch_pm_write(FCH_LAYOUT_OTHER, FCH_PM_DATA, 0x00, &index));
    assert_true(fch_pm_write(FCH_LAYOUT_OTHER, FCH_PM_INDEX, 0x77, &index));
    assert_false(fch_pm_write(FCH_LAYOUT_OTHER, FCH_PM_DATA, 0xff, &index));
    assert_true(fch_pm_write(FCH_LAYOUT_OTHER, FCH_PM_INDEX, 0x5f, &index)); /* just below the block */
    assert_true(fch_pm_write(FCH_LAYOUT_OTHER, FCH_PM_DATA, 0x12, &index));
    assert_true(fch_pm_write(FCH_LAYOUT_OTHER, FCH_PM_INDEX, 0x70, &index)); /* between 0x6F and 0x74 */
    assert_true(fch_pm_write(FCH_LAYOUT_OTHER, FCH_PM_DATA, 0x12, &index));
    assert_true(fch_pm_write(FCH_LAYOUT_OTHER, FCH_PM_INDEX, 0x78, &index));
    assert_true(fch_pm_write(FCH_LAYOUT_OTHER, FCH_PM_DATA, 0x12, &index));
    assert_true(fch_pm_write(FCH_LAYOUT_OTHER, FCH_PM_INDEX, 0x00, &index)); /* PMx00 DecodeEn */
    assert_true(fch_pm_write(FCH_LAYOUT_OTHER, FCH_PM_DATA, 0x12, &index));
    index = 0x60;
    assert_true(fch_pm_write(FCH_LAYOUT_OTHER, 0xcd5, 0x00, &index)); /* the BIOS RAM data port beside them */
    assert_true(fch_pm_write(FCH_LAYOUT_OTHER, 0xcd4, 0x62, &index));
    assert_int_equal(index, 0x60);
}

/* SB7x0 (1002:4385 below revision 0x40) places the ACPI block by PM
 * 0x20-0x2F (coreboot sb700: "When AcpiDecodeEnable set, South-Bridge uses
 * the contents of the PM registers at index 20-2B"); the SB800 registers
 * at 0x60-0x6F are others there (sp5100_tco's watchdog at 0x69, 0x6C) and
 * pass. On every other layout (and without an FCH) as before. Review R's
 * finding 6: before, the SB7x0 took SB800's set and a write to 0x22 (its
 * AcpiPm1CntBlk) went to the hardware. */
static void test_fch_pm_sb7x0(void **state)
{
    (void)state;
    for (unsigned i = 0; i < 256; i++) {
        assert_int_equal(fch_pm_index_guarded(FCH_LAYOUT_SB7X0, (uint8_t)i), i >= 0x20 && i <= 0x2f);
        assert_int_equal(fch_pm_index_guarded(FCH_LAYOUT_SB800, (uint8_t)i),
                         (i >= 0x60 && i <= 0x6f) || (i >= 0x74 && i <= 0x77));
    }
    enum fch_layout sb700 = fch_layout_of(0x43851002, 0x3a);
    uint8_t index = 0;
    assert_true(fch_pm_write(sb700, FCH_PM_INDEX, 0x22, &index));
    assert_false(fch_pm_write(sb700, FCH_PM_DATA, 0x00, &index)); /* AcpiPm1CntBlk low: dropped */
    assert_true(fch_pm_write(sb700, FCH_PM_INDEX, 0x23, &index));
    assert_false(fch_pm_write(sb700, FCH_PM_DATA, 0x0e, &index));
    assert_true(fch_pm_write(sb700, FCH_PM_INDEX, 0x0e, &index)); /* AcpiDecodeEnable: the bases stay put */
    assert_true(fch_pm_write(sb700, FCH_PM_DATA, 0x08, &index));
    assert_true(fch_pm_write(sb700, FCH_PM_INDEX, 0x69, &index)); /* the watchdog's control */
    assert_true(fch_pm_write(sb700, FCH_PM_DATA, 0x01, &index));
}

/* The FCH generations by SMBus controller as Linux's sp5100_tco tells
 * them, and AcpiMmioEn (PMx24-0x27) on the SB800 layout: only
 * AcpiMmioDecodeEn (PMx24 bit 0) may change; AcpiMmioSel (bit 1) and the
 * address (PMx25-0x27, PMx24's upper bits) stay. The values: AcpiMmio at
 * 0xFED80000 decoded in memory, PMx24-0x27 = 01 00 d8 fe. */
static void test_fch_pm_bits(void **state)
{
    (void)state;
    assert_int_equal(fch_layout_of(0x43851002, 0x3c), FCH_LAYOUT_SB7X0); /* SB7x0/SP5100 */
    assert_int_equal(fch_layout_of(0x43851002, 0x42), FCH_LAYOUT_SB800); /* SB8x0/SB9x0 */
    assert_int_equal(fch_layout_of(0x780b1022, 0x14), FCH_LAYOUT_SB800); /* Hudson-2 */
    assert_int_equal(fch_layout_of(0x780b1022, 0x42), FCH_LAYOUT_OTHER); /* efch: PMx04 */
    assert_int_equal(fch_layout_of(0x790b1022, 0x4a), FCH_LAYOUT_OTHER);
    assert_int_equal(fch_layout_of(0x790b1022, 0x61), FCH_LAYOUT_OTHER); /* Family 17h on */
    assert_int_equal(fch_layout_of(0x790b1022, 0x42), FCH_LAYOUT_SB800);
    assert_int_equal(fch_layout_of(0xffffffff, 0xff), FCH_LAYOUT_OTHER); /* no FCH (QEMU) */
    for (unsigned i = 0; i < 256; i++)
        assert_int_equal(fch_pm_bits_judged(FCH_LAYOUT_SB800, (uint8_t)i), i >= 0x24 && i <= 0x27);
    for (unsigned i = 0; i < 256; i++)
        assert_false(fch_pm_bits_judged(FCH_LAYOUT_OTHER, (uint8_t)i));
    const enum fch_layout sb = FCH_LAYOUT_SB800;
    assert_true(fch_pm_bits_ok(sb, 0x24, 0x01, 0x01));  /* as it is */
    assert_true(fch_pm_bits_ok(sb, 0x24, 0x01, 0x00));  /* decode off: the guest's own loss */
    assert_true(fch_pm_bits_ok(sb, 0x24, 0x00, 0x01));  /* decode on, in place */
    assert_false(fch_pm_bits_ok(sb, 0x24, 0x01, 0x03)); /* AcpiMmioSel: the page into I/O space */
    assert_false(fch_pm_bits_ok(sb, 0x24, 0x01, 0x11)); /* a bit of the address / reserved */
    assert_false(fch_pm_bits_ok(sb, 0x26, 0xd8, 0x00)); /* the page moved */
    assert_false(fch_pm_bits_ok(sb, 0x27, 0xfe, 0x7e));
    assert_false(fch_pm_bits_ok(sb, 0x25, 0x00, 0x10));
    assert_true(fch_pm_bits_ok(sb, 0x27, 0xfe, 0xfe));
    assert_true(fch_pm_bits_ok(sb, 0x28, 0x00, 0xff));  /* beside it */
    assert_true(fch_pm_bits_ok(sb, 0x00, 0x00, 0x80));  /* PMx00 WdtEn (sp5100_tco) */
    assert_true(fch_pm_bits_ok(FCH_LAYOUT_OTHER, 0x26, 0xd8, 0x00)); /* PMx24 is not AcpiMmioEn there */
}

/* The AcpiMmio page's writes: the PM block's ACPI registers (+0x360-0x36F,
 * +0x374-0x377) dropped at any width that touches them; PM1_CNT's memory
 * alias (+0x804) judged as the port is (\_S5's SLP_TYP 5 here: S3 = 1
 * refused, 5 power-off); SMBus (+0xA00) and the PM block's other
 * registers pass. */
static void test_fch_mmio(void **state)
{
    (void)state;
    assert_int_equal(fch_mmio_judge(0x362, 2, 0x1004, true, 5), FCH_MMIO_DROP_PM); /* AcpiPm1CntBlk */
    assert_int_equal(fch_mmio_judge(0x360, 4, 0x10041000, true, 5), FCH_MMIO_DROP_PM);
    assert_int_equal(fch_mmio_judge(0x35c, 8, 0, true, 5), FCH_MMIO_DROP_PM);          /* reaches 0x360 */
    assert_int_equal(fch_mmio_judge(0x36f, 1, 0, true, 5), FCH_MMIO_DROP_PM);
    assert_int_equal(fch_mmio_judge(0x374, 4, 0, true, 5), FCH_MMIO_DROP_PM);          /* AcpiConfig */
    assert_int_equal(fch_mmio_judge(0x377, 1, 0, true, 5), FCH_MMIO_DROP_PM);
    assert_int_equal(fch_mmio_judge(0x35c, 4, 0, true, 5), FCH_MMIO_PASS);             /* just below */
    assert_int_equal(fch_mmio_judge(0x370, 4, 0, true, 5), FCH_MMIO_PASS);             /* between */
    assert_int_equal(fch_mmio_judge(0x378, 4, 0, true, 5), FCH_MMIO_PASS);
    assert_int_equal(fch_mmio_judge(0x300, 4, 0, true, 5), FCH_MMIO_PASS);             /* PMx00 DecodeEn */
    assert_int_equal(fch_mmio_judge(0xa00, 1, 0xff, true, 5), FCH_MMIO_PASS);          /* SMBus */
    uint16_t s3 = 1u << 10 | 1u << 13, s5 = 5u << 10 | 1u << 13;
    assert_int_equal(fch_mmio_judge(0x804, 2, s3, true, 5), FCH_MMIO_DROP_SLEEP);
    assert_int_equal(fch_mmio_judge(0x805, 1, s3 >> 8, true, 5), FCH_MMIO_DROP_SLEEP);
    assert_int_equal(fch_mmio_judge(0x800, 8, (uint64_t)s3 << 32, true, 5), FCH_MMIO_DROP_SLEEP); /* high half */
    assert_int_equal(fch_mmio_judge(0x804, 2, s5, true, 5), FCH_MMIO_S5);
    assert_int_equal(fch_mmio_judge(0x804, 2, s5, false, 5), FCH_MMIO_DROP_SLEEP);    /* no \_S5: refused */
    assert_int_equal(fch_mmio_judge(0x804, 2, 1u << 10, true, 5), FCH_MMIO_PASS);     /* no SLP_EN */
    assert_int_equal(fch_mmio_judge(0x804, 1, 0xff, true, 5), FCH_MMIO_PASS);         /* byte 0 only */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_reset_steps),
        cmocka_unit_test(test_set_range),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_sleep_decide),
        cmocka_unit_test(test_a20_gate),
        cmocka_unit_test(test_fch_pm),
        cmocka_unit_test(test_fch_pm_bits),
        cmocka_unit_test(test_fch_pm_sb7x0),
        cmocka_unit_test(test_fch_mmio),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
