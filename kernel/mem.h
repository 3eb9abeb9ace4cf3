/*
 * kernel/mem.h - the kernel's physical page and heap interface.
 *
 *   mem_add_region(pa, npages)   give usable RAM to the page allocator
 *   page_alloc(order)            2^order contiguous, uninitialised frames:
 *                                their PA, or 0 when out of memory
 *   page_free(pa, order)         return them
 *   page_free_count()            free frames right now
 *   phys_to_virt(pa)             the direct map (hook the frame allocator uses)
 *   env_alloc/env_free           the sync/env.h heap contract (kernel/heap.c)
 *
 * Backed by the frame allocator (kernel/frame.h) once it exists; until then
 * by kernel/mem_early.c, a free-list page allocator without coalescing.
 */
#ifndef KESTREL_KERNEL_MEM_H
#define KESTREL_KERNEL_MEM_H

#include "sync/env.h"
#include "kernel/printk.h"

void mem_add_region(uint64_t pa, uint64_t npages);
uint64_t page_alloc(unsigned order);
void page_free(uint64_t pa, unsigned order);
uint64_t page_free_count(void);
void *phys_to_virt(uint64_t pa);
void heap_init(void);
uint64_t heap_live_objects(void);

#endif
