/* One formatted line on the firmware console (ConOut), which OVMF mirrors
 * to the serial ports the test harness reads. BSP only: not MP-safe. */
#ifndef MINIHV_TESTS_GUESTS_PRINT_H
#define MINIHV_TESTS_GUESTS_PRINT_H

void guest_print(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
