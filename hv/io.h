/* Port-I/O intercepts, vendor-neutral: a small table of port ranges, each
 * with a handler. Only registered ports exit: the backends turn the table
 * into their bitmap (VMX I/O bitmaps A/B, SDM Vol. 3C 25.6.4; SVM I/O
 * permission map, APM Vol. 2 15.10.1), one bit per port, port p at byte
 * p / 8, bit p % 8, set = the access exits. An access exits when any of
 * the ports it touches has its bit set (a dword at 0xcf8 would exit for
 * 0xcf9: that is why 0xcf9 is not intercepted, hv/summary.c).
 * Pure C (no hardware) except io_hw(), so host tests build it. */
#ifndef MINIHV_HV_IO_H
#define MINIHV_HV_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vcpu;

/* One access: port and size (1, 2, 4) as the guest issued it, which may
 * start below or end past the registered range (a dword at 0xcfa for
 * 0xcfc-0xcff). For IN the handler fills *value (the low size bytes
 * count); for OUT *value holds the guest's data. False: the core cannot
 * carry it out (fatal report). */
typedef bool (*io_handler_fn)(struct vcpu *v, uint16_t port, unsigned size, bool in, uint32_t *value);

#define IO_MAX_RANGES 16

/* Adds [first, first + count): 0, or -1 when the table is full, the range
 * is empty, runs past 0xffff or overlaps one already there. Before the
 * backend builds its bitmap (hv_main's global init). */
int io_register(uint16_t first, uint32_t count, io_handler_fn fn, const char *name);
/* The range an access [port, port + size) touches, or NULL. */
io_handler_fn io_lookup(uint16_t port, unsigned size, const char **name);
unsigned io_range_count(void);
void io_reset(void); /* empties the table (host tests) */

/* Sets the bits of [first, first + count) in a map of map_bytes bytes
 * (ports beyond the map are left alone): false if any was out of the map. */
bool io_bitmap_set(uint8_t *map, size_t map_bytes, uint32_t first, uint32_t count);
/* Where port's bit is: byte and bit in the map. VMX: bitmap A is bytes
 * 0-4095 (ports 0-0x7fff), B is 4096-8191 (0x8000-0xffff) when the two
 * pages are contiguous; SVM: the IOPM's first 8 KiB, same positions. */
static inline void io_bitmap_pos(uint32_t port, uint32_t *byte, unsigned *bit)
{
    *byte = port / 8;
    *bit = port % 8;
}
/* Every registered range into the map (after io_register calls). */
void io_bitmap_fill(uint8_t *map, size_t map_bytes);

/* The access done on the hardware (IN/OUT of size 1, 2, 4). */
void io_hw(uint16_t port, unsigned size, bool in, uint32_t *value);
/* A dword of bus 0's config space through CONFIG_ADDRESS/DATA (0xcf8/
 * 0xcfc, PCI Local Bus 3.0 3.2.2.3.2), CONFIG_ADDRESS put back as it was:
 * for the core's global init (no guest runs yet), on the hardware. */
uint32_t io_pci_read32(uint8_t dev, uint8_t fn, uint8_t reg);

/* ---- sleep requests (issue 14) ----
 * Only power-off may reach the hardware: a sleep state that keeps RAM
 * (S1-S3) resumes at the guest's FACS waking vector with no core under
 * any CPU. The sleep bits sit in one byte: PM1x_CNT byte 1 (SLP_TYPx bits
 * 12:10, SLP_EN bit 13; ACPI 6.5 4.8.4.2.1), SLEEP_CONTROL_REG byte 0
 * (bits 4:2 and 5; 4.8.3.7), so slp_byte is 1 or 0. An access [port,
 * port + size) that covers the register's byte reg + slp_byte and sets
 * SLP_EN there is a sleep request: IO_SLEEP_S5 when the DSDT's \_S5 was
 * found and SLP_TYP equals its value for this register, else
 * IO_SLEEP_REFUSE (the caller drops the whole write). Without \_S5 the
 * core cannot tell power-off from suspend: every request is refused (the
 * machine then powers off by its button). *typ: the SLP_TYP written. */
enum io_sleep { IO_SLEEP_NONE, IO_SLEEP_S5, IO_SLEEP_REFUSE };
/* The one judge of every path: ports (hv/summary.c), a register in System
 * Memory (its address as reg, the write's as port, size up to 8: a MOV of
 * 8 bytes) and the FCH's PM1_CNT alias (page offsets). */
enum io_sleep io_sleep_decide(uint64_t reg, unsigned slp_byte, uint64_t port, unsigned size, uint64_t value,
                              bool s5_found, uint8_t s5_typ, uint8_t *typ);
#define IO_SLP_EN_BIT 5 /* in the sleep byte */

/* ---- resetting the machine ----
 * A guest that resets (a reset write, a triple fault) must reset the
 * machine, never leave a CPU parked. The writes a PC resets on, in the
 * order the core tries them, each given time to take before the next:
 * RST_CNT 0xcf9 (Intel ICH/PCH and AMD FCH datasheets: SYS_RST 0x02 set
 * first, then RST_CPU 0 -> 1 for a hard reset 0x06, then 0x0e with
 * FULL_RST), the FADT's RESET_REG when it is a port (ACPI 6.5 4.8.4.6),
 * and the 8042's reset pulse (0xfe to port 0x64, once its input buffer is
 * empty). The caller's last resort after all of them: a triple fault of
 * its own. */
struct io_reset_step {
    uint16_t port;
    uint8_t value;
    bool kbc;    /* wait for the 8042 input buffer (0x64 bit 1) to drain first */
    bool settle; /* give the write time to take before the next step */
};
#define IO_RESET_STEPS 5
/* Fills steps[IO_RESET_STEPS]; the count. reset_port 0 (no FADT reset
 * register in I/O space) or 0xcf9 adds no step of its own. */
unsigned io_reset_steps(uint16_t reset_port, uint8_t reset_value, struct io_reset_step *steps);
/* Carries the steps out on the hardware; returns only if none took. */
void io_reset_machine(uint16_t reset_port, uint8_t reset_value);

/* ---- the A20 gate ----
 * (issue 14: a path of the kind the list missed). A PC masks
 * physical address bit 20 when software turns the gate off: port 0x92
 * (System Control Port A) bit 1, the 8042's output port bit 1 (command
 * 0xd1 to port 0x64, then the byte to port 0x60) and the 8042 commands
 * 0xdd (off) / 0xdf (on). VMXON blocks and disables A20M (SDM Vol. 3C,
 * VMXON "Operation"), but QEMU's TCG masks every access of the CPU the
 * line is wired to, in host mode too (x86_cpu_set_a20), Bochs masks every
 * access under VMX as well, and the APM promises nothing for host mode:
 * with the gate off, the core's own page walks and data at addresses with
 * bit 20 set would go to the page 1 MiB below. The core therefore
 * intercepts the three ports on both backends (the cost, in the summary's
 * `a20 gate:` line: 660 exits in check-linux's 2-CPU boot from OVMF to
 * power-off, 616 of them reads of the 8042 status at 0x64; a few per key
 * on a PS/2 keyboard) and keeps the gate on: a write that would turn it off goes to the hardware
 * with bit 1 set (0xdd is dropped), counted `a20`. Reads, reset bits
 * (0x92 bit 0, output port bit 0) and every other 8042 command reach the
 * hardware as written; hv/a20_gate.c intercepts the three ports. */
#define A20_PORT_SCP_A   0x92 /* System Control Port A: bit 0 INIT_NOW, bit 1 A20 */
#define A20_PORT_KBC     0x64 /* 8042 command */
#define A20_PORT_KBD     0x60 /* 8042 data: the output port after command 0xd1 */
#define A20_KBC_WRITE_OUTPORT 0xd1
#define A20_KBC_A20_OFF  0xdd
#define A20_BIT          0x02

/* One byte written to one of the three ports. *outport_next: the 8042's
 * state (a 0xd1 command is pending: the next byte to 0x60 is the output
 * port; some 8042s drop it at any other command, QEMU's only at one that
 * takes a byte, so only those end it here), updated.
 * Returns true when the byte goes to the hardware (*byte possibly with
 * the A20 bit set), false when it is dropped; *refused: the write would
 * have turned the gate off. */
bool a20_gate_write(uint16_t port, uint8_t *byte, bool *outport_next, bool *refused);

/* ---- the AMD FCH's PM index/data ports ----
 * (issue 14, docs/security.md "Sleep states"). On AMD FCH south bridges
 * (SB800 on, every Family 15h-19h FCH) the ACPI I/O block is placed by PM
 * registers reached through index 0xcd6 / data 0xcd7, one byte each:
 * PMx60 AcpiPm1EvtBlk, PMx62 AcpiPm1CntBlk, PMx64 AcpiPmTmrBlk, PMx66
 * CpuCntBlk, PMx68 AcpiGpe0Blk, PMx6A AcpiSmiCmd, PMx6C-0x6F (SB800's
 * AcpiPm2CntBlk at 0x6E), 16 bits each, and PMx74 AcpiConfig (bit 0
 * decode the block, bit 1 ACPI global enable, bit 9 reduced hardware)
 * (AMD BKDG Family 15h/16h FCH "PMx60"-"PMx74"; coreboot soc/amd
 * southbridge.h PM_EVT_BLK ... PM_ACPI_CONF). A guest that rewrites
 * AcpiPm1CntBlk writes SLP_EN at a PM1_CNT no intercept covers. The core
 * intercepts both ports on AMD CPUs (hv/fch_pm.c): the index is one
 * register of the machine, shadowed under a lock and forwarded; a data
 * write whose index is in [0x60, 0x70) or [0x74, 0x78) is dropped, counted
 * `fch-pm`; reads and every other index reach the hardware as written. */
#define FCH_PM_INDEX 0xcd6
#define FCH_PM_DATA  0xcd7

/* The FCH's PM register layout, told by its SMBus controller at 00:14.0
 * as Linux's drivers/watchdog/sp5100_tco.c tco_reg_layout tells it:
 * SB800 for 1002:4385 revision 0x40 on, 1022:780b below 0x41, 1022:790b
 * below 0x49; SB7X0 for 1002:4385 below 0x40 (SB700/SB710/SB750, SP5100),
 * whose ACPI block is placed by PM 0x20-0x2F instead (AcpiPm1EvtBlk 0x20,
 * AcpiPm1CntBlk 0x22, PmTmr 0x24, CpuCnt 0x26, Gpe0 0x28, SmiCmd 0x2A,
 * PmaCnt 0x2C, end 0x2E; decoded with PM 0x0E bit 3 AcpiDecodeEnable:
 * coreboot southbridge/amd/sb700 sci_interrupt_setup and its FADT code);
 * the later FCHs and no FCH at all OTHER, guarded as SB800 (review R,
 * session 7, finding 6: the SB7x0 layout was taken for SB800's). */
enum fch_layout { FCH_LAYOUT_OTHER, FCH_LAYOUT_SB800, FCH_LAYOUT_SB7X0 };

/* Does a data write at PM register `index` move or switch off the ACPI
 * block on this layout? */
bool fch_pm_index_guarded(enum fch_layout layout, uint8_t index);
/* One byte written to FCH_PM_INDEX or FCH_PM_DATA; *index: the shadowed
 * index register, set by a write to FCH_PM_INDEX. True when the byte goes
 * to the hardware, false when it is dropped (a data write at a guarded
 * index). Other ports: true. */
bool fch_pm_write(enum fch_layout layout, uint16_t port, uint8_t byte, uint8_t *index);

enum fch_layout fch_layout_of(uint32_t smbus_id, uint8_t revision);

/* On the SB800 layout AcpiMmioEn, PMx24-0x27 (sp5100_tco.h
 * SB800_PM_ACPI_MMIO_EN: bit 0 AcpiMmioDecodeEn, bit 1 AcpiMmioSel (I/O
 * instead of memory), the page's address above: sp5100_tco.c takes it as
 * the value & ~0xfff; coreboot amdblocks/acpimmio.h: "all discrete FCHs
 * and the Kabini SoC" decode AcpiMmio by PMx24, Mullins on by PMx04 at the
 * fixed 0xFED80000) places the AcpiMmio page, the PM block among it: moved
 * or switched to I/O, the PM registers are reached where the core traps
 * nothing. A data byte `value` for PM register `index` whose hardware value
 * is `now`: false when it changes a bit but AcpiMmioDecodeEn there. Every
 * other index and layout: true (PMx00 DecodeEn, whose bit 7 WdtEn Linux's
 * sp5100_tco sets, and PMx04 place nothing: their blocks sit at fixed
 * addresses). */
bool fch_pm_bits_ok(enum fch_layout layout, uint8_t index, uint8_t now, uint8_t value);
/* Is `index` one whose bits fch_pm_bits_ok judges (so that its hardware
 * value must be read first)? */
bool fch_pm_bits_judged(enum fch_layout layout, uint8_t index);

/* The same registers in the FCH's AcpiMmio page (0xFED80000; AMD BKDG
 * Family 16h "FCH ... AcpiMmio": PM block at +0x300, PMx60 at +0x360; the
 * ACPI block at +0x800 on Family 17h and later, coreboot soc/amd
 * amdblocks/acpi.h MMIO_ACPI_PM1_CNT_BLK: PM1_CNT at +0x804, a memory
 * alias of PM1a_CNT that no port intercept covers). The page is mapped
 * read-only; hv/fch_pm.c judges each write at page offset `off`:
 * FCH_MMIO_DROP_PM when it touches PMx60-0x6F or PMx74-0x77 (counted
 * fch-pm), else io_sleep_decide on PM1_CNT's byte 1 against \_S5's
 * SLP_TYPa: FCH_MMIO_DROP_SLEEP (counted sleep-state) or FCH_MMIO_S5;
 * anything else FCH_MMIO_PASS (SMBus at +0xA00, the rest of the PM
 * block). size 1, 2, 4 or 8, off + size within the page. */
#define FCH_ACPIMMIO_BASE   ((uint64_t)0xfed80000)
#define FCH_ACPIMMIO_PM     0x300
#define FCH_ACPIMMIO_PM1_CNT 0x804
enum fch_mmio_verdict { FCH_MMIO_PASS, FCH_MMIO_DROP_PM, FCH_MMIO_DROP_SLEEP, FCH_MMIO_S5 };
enum fch_mmio_verdict fch_mmio_judge(uint32_t off, unsigned size, uint64_t value, bool s5_found, uint8_t s5_typ);


#endif
