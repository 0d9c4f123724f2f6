/* Page allocator for the core: a bump allocator over the free part of the
 * reserved block (boot_info.heap_*). Nothing is ever freed. */
#ifndef MINIHV_HV_HEAP_H
#define MINIHV_HV_HEAP_H

#include <stdint.h>

void heap_init(uint64_t base, uint64_t size);
/* `pages` zeroed pages, physically contiguous; their physical address
 * (= the core's virtual address: identity map), 0 when exhausted. */
uint64_t heap_alloc(uint64_t pages);
uint64_t heap_used_bytes(void);

#endif
