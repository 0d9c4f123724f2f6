/* The core's console: its own 16550 driver, no firmware, and the log ring
 * (issue 17, include/minihv/logring.h): every line hv_log prints goes to
 * the ring too, with this CPU's index and the TSC, serial port or not. */
#ifndef MINIHV_HV_CONSOLE_H
#define MINIHV_HV_CONSOLE_H

#include <stddef.h>
#include <stdint.h>
#include <minihv/logring.h>

/* Sets the port (0: no serial line), then takes the loader's ring from
 * hv_boot (hv/log_ring.c checks it first). Once, on the first CPU. */
void console_init(uint16_t serial_port);
/* One formatted line (or several), each prefixed "minihv: hv: ". */
void hv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The ring hv_log appends to, area_size bytes, set once at init: checked
 * once (log/ring_write.h log_ring_writer_open), then only written. 0, or -1
 * when the header is not a ring's (nothing is appended then). */
int console_set_ring(struct minihv_log_header *ring, uint64_t area_size);
/* One line of the loader's (MINIHV_HC_LOADER_LOG) under the console's
 * lock: to the serial port (the loader, a guest now, cannot write the
 * core's UART: console_register_port) and into the ring. */
void console_ring_line(uint16_t cpu, uint8_t source, const char *text, size_t len);
/* Intercepts the core's UART (the 8 ports from its base) for the guest: a
 * 16550 with nothing on its line, its data written dropped and counted
 * (`core-uart`), its settings kept apart from the real UART's: nothing
 * the guest writes there can pass for a line of the core's. Before the
 * backend builds its I/O bitmap. */
void console_register_port(void);
/* flags |= MINIHV_LOG_FLAG_* in the ring's header (vcpu_fatal: FATAL). */
void hv_log_flag(uint32_t flag);

#endif
