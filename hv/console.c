/* See console.h. */
#include <minihv/boot_info.h>
#include <minihv/format.h>
#include <minihv/io.h>
#include <minihv/libc.h>
#include <minihv/logring.h>
#include <minihv/x86.h>
#include "hv/console.h"
#include "hv/hv.h"
#include "hv/io.h"
#include "hv/refuse.h"
#include "hv/vcpu.h"
#include "hv/lock.h"
#include "hv/log_ring.h"
#include "log/ring_write.h"

#define LINE_PREFIX "minihv: hv: "
#define LOCK_SPINS 50000000u

static uint16_t console_port;
/* Lines from several CPUs do not interleave, and the ring has one writer
 * at a time (log/ring_write.h). Bounded wait: a CPU that dies holding it
 * (a fault inside hv_log) must not silence the others; a CPU that gives
 * up still prints its serial line but counts its ring line lost. */
static struct spinlock console_lock;
static struct minihv_log_header *console_ring; /* for flags and lost: stores only */
static struct log_ring_writer console_writer;

void console_init(uint16_t serial_port)
{
    console_port = serial_port;
    if (console_port)
        uart_init(console_port);
    log_ring_core_init(hv_boot); /* after the port: it may have a line to say */
}

int console_set_ring(struct minihv_log_header *ring, uint64_t area_size)
{
    if (log_ring_writer_open(&console_writer, ring, area_size))
        return -1;
    console_ring = ring;
    return 0;
}

static void console_write(const char *s)
{
    if (console_port)
        uart_puts(console_port, s);
}

static inline uint64_t read_tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* This CPU's index in the boot list (boot_info cpus[]), by the APIC ID
 * CPUID leaf 1 gives (as vcpu_current); 0xfffe when it is not there. */
static uint16_t this_cpu_index(void)
{
    uint32_t r[4];
    x86_cpuid(1, 0, r);
    uint32_t id = r[1] >> 24;
    for (unsigned i = 0; hv_boot && i < hv_boot->cpu_count && i < MINIHV_MAX_CPUS; i++)
        if (hv_boot->cpus[i].apic_id == id)
            return (uint16_t)i;
    return 0xfffe;
}

static bool console_lock_bounded(void)
{
    bool locked = false;
    for (unsigned spin = 0; spin < LOCK_SPINS && !(locked = spin_trylock(&console_lock)); spin++)
        cpu_pause();
    return locked;
}

/* Each '\n'-separated piece of text is a line of its own in the ring, as
 * it is on the serial port. Lock held. */
static void ring_lines(uint16_t cpu, uint8_t source, uint64_t tsc, const char *text, size_t len)
{
    for (size_t start = 0, i = 0; i <= len; i++) {
        if (i < len && text[i] != '\n')
            continue;
        if (i > start || len == 0) /* empty pieces (a trailing newline) are not lines */
            if (log_ring_append(&console_writer, cpu, source, tsc, text + start, i - start))
                log_ring_count_lost(console_ring);
        start = i + 1;
    }
}

void console_ring_line(uint16_t cpu, uint8_t source, const char *text, size_t len)
{
    uint64_t tsc = read_tsc();
    bool locked = console_lock_bounded();
    if (console_port && len) {
        char line[MINIHV_LOG_TEXT_MAX + 2];
        size_t n = len < MINIHV_LOG_TEXT_MAX ? len : MINIHV_LOG_TEXT_MAX;
        memcpy(line, text, n);
        line[n] = '\n';
        line[n + 1] = '\0';
        console_write(line);
    }
    if (!console_ring) {
        if (locked)
            spin_unlock(&console_lock);
        return;
    }
    if (!locked) {
        log_ring_count_lost(console_ring);
        return;
    }
    ring_lines(cpu, source, tsc, text, len);
    spin_unlock(&console_lock);
}

/* The core's UART as the guest sees it (console.h): a 16550 with nothing
 * on its line (PC16550D datasheet, register map): the transmitter always
 * empty (LSR 0x60), no byte ever received, no interrupt pending (IIR 1),
 * modem lines up (MSR: DCD, DSR, CTS), so a driver bound to it before the
 * core ran neither stalls nor reads a stream of bytes. What the guest
 * writes to THR is dropped and counted; IER, LCR, MCR, the scratch
 * register and the divisor latch are kept here, never on the real UART
 * (the core's line settings stay the core's). Byte by byte; the bytes of
 * an access outside [base, base + 8) go to the hardware. */
#define UART_PORTS 8
#define UART_LCR_DLAB 0x80
static struct {
    uint8_t reg[UART_PORTS]; /* IER 1, LCR 3, MCR 4, SCR 7 as written */
    uint8_t dll, dlm;
} uart_shadow = { .reg = { [3] = 0x03 } }; /* 8N1 */

static uint8_t uart_guest_read(unsigned off)
{
    bool dlab = uart_shadow.reg[3] & UART_LCR_DLAB;
    switch (off) {
    case 0: return dlab ? uart_shadow.dll : 0;           /* RBR: nothing received */
    case 1: return dlab ? uart_shadow.dlm : uart_shadow.reg[1];
    case 2: return 0x01;                                  /* IIR: no interrupt pending */
    case 5: return 0x60;                                  /* LSR: THRE, TEMT */
    case 6: return 0xb0;                                  /* MSR: DCD, DSR, CTS */
    default: return uart_shadow.reg[off];                 /* LCR, MCR, SCR */
    }
}

/* True when the byte was data for the line (THR), which is dropped. */
static bool uart_guest_write(unsigned off, uint8_t byte)
{
    bool dlab = uart_shadow.reg[3] & UART_LCR_DLAB;
    if (off == 0 && !dlab)
        return true;
    if (off == 0)
        uart_shadow.dll = byte;
    else if (off == 1 && dlab)
        uart_shadow.dlm = byte;
    else if (off != 2 && off != 5 && off != 6) /* FCR, and the read-only LSR/MSR: nothing kept */
        uart_shadow.reg[off] = byte;
    return false;
}

static bool uart_guest_io(struct vcpu *v, uint16_t port, unsigned size, bool in, uint32_t *value)
{
    uint32_t out = in ? 0 : *value, result = 0;
    unsigned dropped = 0;
    for (unsigned i = 0; i < size; i++) {
        uint16_t p = (uint16_t)(port + i);
        uint32_t byte = (out >> (8 * i)) & 0xff;
        if (p >= console_port && p < console_port + UART_PORTS) {
            unsigned off = p - console_port;
            if (in)
                byte = uart_guest_read(off);
            else
                dropped += uart_guest_write(off, (uint8_t)byte);
        } else {
            io_hw(p, 1, in, &byte);
        }
        result |= (byte & 0xff) << (8 * i);
    }
    if (in)
        *value = result;
    else if (dropped)
        hv_refuse(HV_REFUSE_CORE_UART, "cpu %u: %u-byte write of 0x%x at port 0x%x, data for the core's UART "
                  "(serial = 0x%x): dropped", v->index, size, out, port, console_port);
    return true;
}

void console_register_port(void)
{
    if (!console_port)
        return;
    if (io_register(console_port, UART_PORTS, uart_guest_io, "the core's UART"))
        hv_log("io: cannot intercept the core's UART at 0x%x (table full or overlap): the guest can write it",
               console_port);
}

void hv_log_flag(uint32_t flag)
{
    if (console_ring)
        log_ring_set_flags(console_ring, flag);
}

void hv_log(const char *fmt, ...)
{
    char line[sizeof(LINE_PREFIX) - 1 + 512]; /* the summary's region list runs long */
    memcpy(line, LINE_PREFIX, sizeof(LINE_PREFIX) - 1);
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vsnprintf(line + sizeof(LINE_PREFIX) - 1, sizeof(line) - (sizeof(LINE_PREFIX) - 1), fmt, ap);
    va_end(ap);
    size_t len = sizeof(LINE_PREFIX) - 1 + MIN((size_t)(n < 0 ? 0 : n), sizeof(line) - sizeof(LINE_PREFIX));
    uint64_t tsc = read_tsc();
    uint16_t cpu = console_ring ? this_cpu_index() : 0;
    bool locked = console_lock_bounded();
    console_write(line);
    console_write("\n");
    if (console_ring) {
        if (locked)
            ring_lines(cpu, MINIHV_LOG_SRC_CORE, tsc, line, len);
        else
            log_ring_count_lost(console_ring);
    }
    if (locked)
        spin_unlock(&console_lock);
}
