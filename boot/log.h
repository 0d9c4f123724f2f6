/* The loader's log: every line "minihv: ..." to the serial port (own 16550
 * writes, so the log matches the core's) and to the UEFI console. */
#ifndef MINIHV_BOOT_LOG_H
#define MINIHV_BOOT_LOG_H

#include <stdint.h>

void log_init(uint16_t serial_port);
void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
