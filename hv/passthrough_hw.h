/* The passthrough device on the machine (passthrough_hw.c): set up at the
 * core's global init, then the guest's trapped accesses. */
#ifndef MINIHV_HV_PASSTHROUGH_HW_H
#define MINIHV_HV_PASSTHROUGH_HW_H

#include <stdbool.h>
#include <stdint.h>
#include <minihv/boot_info.h>

struct vcpu;

/* CF8-CFF (0xcf9 included: its reset handling moves here) when a device
 * is configured: before the backend builds its I/O bitmap. */
void passthrough_register_ports(const struct minihv_boot_info *bi);

/* Builds the model from bi->pt and maps the device's windows: after the
 * EPT/NPT exists, before any CPU enters the guest. A device that cannot be passed through is logged and left as
 * it is (0); -1 only when the core cannot go on. */
int passthrough_init(const struct minihv_boot_info *bi);

/* A nested page fault at gpa: true when it was the device's (emulated,
 * RIP advanced, counted), false when it is not ours. */
bool passthrough_npf(struct vcpu *v, uint64_t gpa, unsigned access);

/* The summary line (`passthrough ...`), and the device's vfio regions
 * ("BAR0 16 KiB RW mmap sparse ...; CONFIG 4 KiB RW"; empty: none). */
int passthrough_summary(char *buf, unsigned len);
int passthrough_summary_regions(char *buf, unsigned len);

#endif
