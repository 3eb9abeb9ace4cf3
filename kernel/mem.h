/*
 * kernel/mem.h - the kernel's physical page and heap interface, on the buddy
 * frame allocator (kernel/frame.h) and the slab caches (kernel/slab.h).
 *
 *   mem_add_region(pa, npages)   give usable RAM to the frame allocator
 *   page_alloc(order)            2^order contiguous, uninitialised frames:
 *                                their PA, or 0 when out of memory
 *   page_free(pa, order)         return them
 *   page_free_count()            free frames right now (per-CPU caches included)
 *   phys_to_virt(pa)             the direct map (the frame allocator's hook)
 *   env_alloc/env_free           sync/env.h's heap: kmalloc/kfree
 *   heap_live_objects()          kmalloc objects in use (leak checks)
 *
 * None of these may be called from an interrupt handler (frame.h context).
 */
#ifndef KESTREL_KERNEL_MEM_H
#define KESTREL_KERNEL_MEM_H

#include "sync/env.h"
#include "kernel/printk.h"
#include "kernel/frame.h"

static inline void mem_add_region(uint64_t pa, uint64_t npages)
{
	frame_add_region(pa, npages);
}

static inline uint64_t page_alloc(unsigned order)
{
	return frame_alloc(order);
}

static inline void page_free(uint64_t pa, unsigned order)
{
	frame_free(pa, order);
}

static inline uint64_t page_free_count(void)
{
	return frame_free_count();
}

uint64_t heap_live_objects(void);

#endif
