/* See print.h. */
#include <efi.h>
#include <efilib.h>
#include <minihv/format.h>
#include <minihv/libc.h>
#include "tests/guests/print.h"

void guest_print(const char *fmt, ...)
{
    /* Room for a whole core line of the log ring (MINIHV_LOG_TEXT_MAX, 512)
     * behind logread's prefix: a shorter buffer cut the core's 287-character
     * special-pages line and check-log saw the ring differ from the serial
     * port. */
    char line[640];
    CHAR16 wide[644];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    size_t n = 0;
    for (const char *s = line; *s && n < ARRAY_SIZE(wide) - 3; s++)
        wide[n++] = (CHAR16)(unsigned char)*s;
    wide[n++] = L'\r';
    wide[n++] = L'\n';
    wide[n] = 0;
    ST->ConOut->OutputString(ST->ConOut, wide);
}
