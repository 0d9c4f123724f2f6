/* See console.h. */
#include <minihv/boot_info.h>
#include <minihv/format.h>
#include <minihv/io.h>
#include <minihv/libc.h>
#include <minihv/logring.h>
#include <minihv/x86.h>
#include "hv/console.h"
#include "hv/hv.h"
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
    if (!console_ring)
        return;
    uint64_t tsc = read_tsc();
    if (!console_lock_bounded()) {
        log_ring_count_lost(console_ring);
        return;
    }
    ring_lines(cpu, source, tsc, text, len);
    spin_unlock(&console_lock);
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
