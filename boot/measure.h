/* Measured launch (boot/measure.c): TCG2 events for the config, the policy
 * and the guest image. */
#ifndef MINIHV_BOOT_MEASURE_H
#define MINIHV_BOOT_MEASURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Finds EFI_TCG2_PROTOCOL; false (and one line) when there is none. */
bool measure_init(void);
/* HashLogExtendEvent of data into pcr, the event data being desc (ASCII,
 * no NUL), as EV_IPL. One log line either way. */
void measure_event(uint32_t pcr, const void *data, size_t len, const char *desc);

#endif
