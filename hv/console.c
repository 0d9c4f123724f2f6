/* See console.h. */
#include <minihv/format.h>
#include <minihv/io.h>
#include "hv/console.h"

static uint16_t console_port;

void console_init(uint16_t serial_port)
{
    console_port = serial_port;
    if (console_port)
        uart_init(console_port);
}

static void console_write(const char *s)
{
    for (; *s && console_port; s++) {
        if (*s == '\n')
            uart_putc(console_port, '\r');
        uart_putc(console_port, *s);
    }
}

void hv_log(const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    console_write("minihv: hv: ");
    console_write(line);
    console_write("\n");
}
