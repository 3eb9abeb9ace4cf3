/*
 * kernel/futex.h - private futexes (FUTEX_WAIT, FUTEX_WAKE), keyed by
 * (address space, user address).
 */
#ifndef KESTREL_KERNEL_FUTEX_H
#define KESTREL_KERNEL_FUTEX_H

#include "kernel/proc.h"

/* futex_wake: wake up to n waiters on (mm, uaddr); how many woke. */
int futex_wake(struct mm *mm, uint64_t uaddr, int n);
/* futex_wake_all: wake every waiter in mm (group exit: they re-check). */
void futex_wake_all(struct mm *mm);

#endif
