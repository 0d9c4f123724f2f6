/* The AMD FCH's PM index/data ports 0xcd6/0xcd7 (the policy and its
 * reasons: hv/io.h, "the AMD FCH's PM index/data ports"): intercepted on
 * AMD CPUs, every access forwarded but the data writes that would move or
 * switch off the ACPI I/O block. */
#ifndef MINIHV_HV_FCH_PM_H
#define MINIHV_HV_FCH_PM_H

/* On an AMD or Hygon CPU (CPUID vendor), before the backend builds its
 * I/O bitmap (hv_main's global init): registers 0xcd6-0xcd7. 0 (nothing
 * to do on other CPUs), or -1 when the ports cannot be taken (the core
 * does not start: the guest could move the ACPI block). */
int fch_pm_register(void);

#endif
