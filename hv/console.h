/* The core's console: its own 16550 driver, no firmware. */
#ifndef MINIHV_HV_CONSOLE_H
#define MINIHV_HV_CONSOLE_H

#include <stdint.h>

void console_init(uint16_t serial_port);
/* One formatted line (or several), each prefixed "minihv: hv: ". */
void hv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
