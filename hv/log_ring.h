/* The log ring in the core (issue 17, include/minihv/logring.h): the
 * loader's area checked and handed to the console (hv/console.c appends
 * every hv_log line), mapped READ-ONLY for the guest (a special page,
 * hv/special_pages.h: a write exits, is dropped and counted as refused
 * `log-write`, the guest goes on at the next instruction), and the
 * loader's own lines while it still runs as the guest. */
#ifndef MINIHV_HV_LOG_RING_H
#define MINIHV_HV_LOG_RING_H

#include <stdbool.h>
#include <stdint.h>
#include <minihv/boot_info.h>

struct vcpu;

/* From console_init, on the first CPU, before the guest map is built:
 * checks bi->log_phys/log_size and the header there (one line naming
 * what is wrong, then serial only), registers the read-only mapping and
 * the write trap, sets MINIHV_LOG_FLAG_CORE. */
void log_ring_core_init(const struct minihv_boot_info *bi);

/* The ring the core writes (after log_ring_core_init): its physical range,
 * which hv/iommu_hw.c keeps out of device DMA as it does the block. false:
 * no ring. */
bool log_ring_range(uint64_t *phys, uint64_t *size);

/* MINIHV_HC_LOADER_LOG: RBX = gpa of the text, RCX = its length (at most
 * MINIHV_LOG_TEXT_MAX) -> appended as a loader line (cpu
 * MINIHV_LOG_CPU_LOADER, the core's TSC). RBX = RCX = 0: the loader is
 * done (it starts the guest): every later call is refused (EPERM,
 * counted log-write). The guest never writes the ring. */
int64_t log_ring_loader_hypercall(struct vcpu *v, uint64_t gpa, uint64_t len);

#endif
