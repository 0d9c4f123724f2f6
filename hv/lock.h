/* A test-and-set spinlock for the core (interrupts are always off there). */
#ifndef MINIHV_HV_LOCK_H
#define MINIHV_HV_LOCK_H

#include <stdbool.h>

struct spinlock {
    volatile int locked;
};

static inline bool spin_trylock(struct spinlock *l)
{
    return !__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE);
}

static inline void spin_lock(struct spinlock *l)
{
    while (!spin_trylock(l))
        while (l->locked)
            __asm__ volatile("pause");
}

static inline void spin_unlock(struct spinlock *l)
{
    __atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

#endif
