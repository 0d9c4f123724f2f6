/* See log.h. */
#include <efi.h>
#include <efilib.h>
#include <minihv/format.h>
#include <minihv/io.h>
#include <minihv/libc.h>
#include "boot/log.h"

static uint16_t log_port;

/* True when the firmware's console (the ConOut variable, UEFI 2.7 3.3) has a
 * UART among its devices: it then already mirrors every console line to the
 * serial ports (OVMF does, to all of them), and writing them to the port
 * ourselves would print each line twice. */
static bool firmware_console_has_uart(void)
{
    UINTN size = 0;
    EFI_DEVICE_PATH *dp = LibGetVariableAndSize(L"ConOut", &EfiGlobalVariable, &size);
    bool uart = false;
    if (!dp)
        return false;
    for (uint8_t *p = (uint8_t *)dp, *end = p + size; p + 4 <= end;) {
        uint16_t len = le16(p + 2);
        if (p[0] == MESSAGING_DEVICE_PATH && p[1] == MSG_UART_DP)
            uart = true;
        if (len < 4)
            break;
        p += len;
    }
    FreePool(dp);
    return uart;
}

void log_init(uint16_t serial_port)
{
    log_port = serial_port;
    if (log_port)
        uart_init(log_port);
    if (firmware_console_has_uart())
        log_port = 0; /* lines reach the serial ports through ConOut */
}

static void console_out(const char *s)
{
    CHAR16 wide[260];
    size_t n = 0;
    for (; *s && n < ARRAY_SIZE(wide) - 2; s++) {
        if (*s == '\n')
            wide[n++] = L'\r';
        wide[n++] = (CHAR16)(unsigned char)*s;
    }
    wide[n] = 0;
    ST->ConOut->OutputString(ST->ConOut, wide);
}

void log_line(const char *fmt, ...)
{
    char line[320]; /* the passthrough device line lists every BAR */
    va_list ap;
    va_start(ap, fmt);
    int n = fmt_vsnprintf(line + 8, sizeof(line) - 9, fmt, ap);
    va_end(ap);
    memcpy(line, "minihv: ", 8);
    size_t len = 8 + (n < (int)sizeof(line) - 9 ? (size_t)n : sizeof(line) - 10);
    line[len++] = '\n';
    line[len] = '\0';
    if (log_port)
        uart_puts(log_port, line);
    console_out(line);
}
