/* What the whole core knows once it has started: the boot info and the
 * memory it set aside, for the footprint. */
#ifndef MINIHV_HV_HV_H
#define MINIHV_HV_HV_H

#include <minihv/boot_info.h>
#include <minihv/hypercall.h>

extern const struct minihv_boot_info *hv_boot;
/* Filled as the core sets itself up; the leaf counts by vcpu_fill_footprint. */
extern struct minihv_footprint hv_footprint;

#endif
