/* The HPET timer blocks the loader found (boot_info.hpet_base): each one's
 * page read-only, every write judged (hv/hpet.h). */
#ifndef MINIHV_HV_HPET_HW_H
#define MINIHV_HV_HPET_HW_H

struct minihv_boot_info;

/* At global init, before the guest map is built. -1 when a page cannot be
 * judged (logged): the core does not start, fail closed. */
int hpet_register(const struct minihv_boot_info *bi);

#endif
