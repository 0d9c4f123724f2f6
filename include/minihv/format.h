/* A small vsnprintf for the core and the loader (no libc there):
 * %d %i %u %x %X %p %s %c %%, with flags '-' '0', a width, and the length
 * modifiers l, ll, z, h, hh. Always NUL-terminates; returns the length the
 * full output would have had. */
#ifndef MINIHV_FORMAT_H
#define MINIHV_FORMAT_H

#include <stdarg.h>
#include <stddef.h>

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
