/*
 * kernel/kstack.h - kernel thread stacks in their own region (KSTACK_BASE),
 * each KSTACK_PAGES pages above an unmapped guard page: running off the
 * bottom faults (and, with no stack left to push on, double-faults onto the
 * #DF IST stack, which reports it) instead of corrupting a neighbour.
 */
#ifndef KESTREL_KERNEL_KSTACK_H
#define KESTREL_KERNEL_KSTACK_H

#include "sync/env.h"

#define KSTACK_PAGES 4
#define KSTACK_SIZE (KSTACK_PAGES * 4096)

/* kstack_alloc: top of a fresh stack, 0 if out of memory. */
uint64_t kstack_alloc(void);
void kstack_free(uint64_t top);
/* kstack_guard_of: the guard page's address for the stack with this top. */
uint64_t kstack_guard_of(uint64_t top);

#endif
