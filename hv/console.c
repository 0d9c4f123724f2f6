/* See console.h. */
#include <minihv/format.h>
#include <minihv/io.h>
#include "hv/console.h"
#include "hv/lock.h"

static uint16_t console_port;
/* Lines from several CPUs do not interleave. Bounded wait: a CPU that dies
 * holding it (a fault inside hv_log) must not silence the others. */
static struct spinlock console_lock;

void console_init(uint16_t serial_port)
{
    console_port = serial_port;
    if (console_port)
        uart_init(console_port);
}

static void console_write(const char *s)
{
    if (console_port)
        uart_puts(console_port, s);
}

void hv_log(const char *fmt, ...)
{
    char line[512]; /* the summary's region list runs long */
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    bool locked = false;
    for (unsigned spin = 0; spin < 50000000 && !(locked = spin_trylock(&console_lock)); spin++)
        cpu_pause();
    console_write("minihv: hv: ");
    console_write(line);
    console_write("\n");
    if (locked)
        spin_unlock(&console_lock);
}
