/* The loader's log: every line "minihv: ..." to the serial port (own 16550
 * writes, so the log matches the core's), to the UEFI console, and to the
 * log ring (issue 17, include/minihv/logring.h): before the ring exists
 * into a small static buffer, copied in first; while the loader alone
 * runs straight into the ring; once the core runs through the core
 * (MINIHV_HC_LOADER_LOG: the guest may not write the ring); after
 * log_ring_close, serial and console only. */
#ifndef MINIHV_BOOT_LOG_H
#define MINIHV_BOOT_LOG_H

#include <stdint.h>

/* The TSC when the loader started (header.tsc_base): first thing in efi_main. */
void log_start_clock(void);
void log_init(uint16_t serial_port);
void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reserves the ring (log_kb KiB of ring + a 4 KiB header page,
 * EfiReservedMemoryType): at preferred_phys when nonzero (the previous
 * boot's area, boot/lastlog.c), else anywhere below 4 GiB; calibrates the
 * TSC, formats it with boot_count = prev_boot_count + 1, copies the lines
 * logged so far, installs the ACPI table "MHVL" when the firmware has ACPI
 * tables. No memory: one line, serial and console only. */
void log_ring_start(uint32_t log_kb, uint64_t preferred_phys, uint64_t prev_boot_count);
/* The area (0, 0 when there is none): for boot_info and the UEFI variable. */
uint64_t log_ring_phys(void);
uint64_t log_ring_size(void);
/* boot/launch.c, before the core starts: disconnects the firmware's
 * driver from the Super I/O UART at the configured serial port (the
 * core's), so that the firmware's console stops writing and polling a port
 * the core drops every guest access to; the loader prints its own lines
 * there until the core takes it. Nothing when no Super I/O device decodes
 * that port (a PCI UART: the firmware keeps it). restore reconnects it
 * when the core did not start. */
void log_release_firmware_uart(void);
void log_restore_firmware_uart(void);
/* boot/launch.c: the core runs now and owns the ring (read-only for the
 * guest) and its UART: the loader's lines go through the core from here
 * on, which prints them on the serial port too. */
void log_ring_core_took(void);
/* Before the guest starts: the core takes no more loader lines (nor any
 * guest's); later lines go to serial and console only. */
void log_ring_close(void);

#endif
