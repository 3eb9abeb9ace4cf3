/* kernel/mem.c - the environment hooks of the frame allocator and the heap:
 * phys_to_virt (the direct map) and env_alloc/env_free (sync/env.h). */
#include "kernel/mem.h"
#include "kernel/slab.h"
#include "arch/mmu.h"

void *phys_to_virt(uint64_t pa)
{
	return pa_to_va(pa);
}

void *env_alloc(size_t size)
{
	return kmalloc(size);
}

/* env_alloc_try: the kernel has no failure injection: kmalloc too. */
void *env_alloc_try(size_t size)
{
	return kmalloc(size);
}

/* env_free: poisons in debug builds (slab's KMEM_POISON on kmalloc caches). */
void env_free(void *p, size_t size)
{
	kfree(p, size);
}

/* heap_live_objects: objects handed out by the kmalloc caches. The counts
 * are read without the cache locks: exact only when nothing allocates. */
uint64_t heap_live_objects(void)
{
	uint64_t n = 0;

	for (unsigned sh = KMEM_MIN_SHIFT; sh <= KMEM_MAX_SHIFT; sh++)
		n += ck_pr_load_64(&kmalloc_cache((size_t)1 << sh)->ninuse);
	return n;
}
