/* See heap.h. */
#include <minihv/libc.h>
#include <minihv/x86.h>
#include "hv/heap.h"
#include "hv/lock.h"

static uint64_t heap_next, heap_end, heap_start;
static struct spinlock heap_lock;

void heap_init(uint64_t base, uint64_t size)
{
    heap_start = heap_next = ALIGN_UP(base, PAGE_SIZE);
    heap_end = base + size;
}

uint64_t heap_alloc(uint64_t pages)
{
    uint64_t pa = 0;
    spin_lock(&heap_lock);
    if (pages && pages <= (heap_end - heap_next) / PAGE_SIZE) {
        pa = heap_next;
        heap_next += pages * PAGE_SIZE;
    }
    spin_unlock(&heap_lock);
    if (pa)
        memset((void *)(uintptr_t)pa, 0, (size_t)(pages * PAGE_SIZE));
    return pa;
}

uint64_t heap_used_bytes(void)
{
    return heap_next - heap_start;
}
