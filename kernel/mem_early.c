/*
 * kernel/mem_early.c - interim page allocator behind kernel/mem.h until the
 * buddy frame allocator (kernel/frame.c) lands.
 *
 * Regions are carved lazily by a per-region bump pointer; freed blocks go to
 * per-order free lists and are reused as they are (no coalescing), so the
 * free count is exact but large blocks do not re-form from small ones.
 *
 * Synchronization: everything under mem_lock (IRQ-saving: page_free may run
 * from RCU callbacks).
 */
#include "kernel/mem.h"
#include "spinlock_irq.h"
#include "arch/mmu.h"

#define MEM_REGIONS 64
#define MEM_ORDERS 11

struct mem_region_state {
	uint64_t next, end;	/* (L) bump pointer and end of the region */
};

struct free_block {
	struct free_block *next;
};

static struct spinlock mem_lock = SPINLOCK_INITIALIZER("mem_lock");
static struct mem_region_state regions[MEM_REGIONS];	/* (L) */
static unsigned nregions;				/* (L) */
static struct free_block *free_lists[MEM_ORDERS];	/* (L) */
static uint64_t free_pages;				/* (L) */

void *phys_to_virt(uint64_t pa)
{
	return pa_to_va(pa);
}

void mem_add_region(uint64_t pa, uint64_t npages)
{
	uint64_t f = spin_lock_irqsave(&mem_lock);

	KASSERT(nregions < MEM_REGIONS, "mem_add_region: too many regions");
	regions[nregions].next = pa;
	regions[nregions++].end = pa + npages * PAGE_SIZE;
	free_pages += npages;
	spin_unlock_irqrestore(&mem_lock, f);
}

/* mem_carve: bump-allocate an aligned block of 2^order pages. Lock held. */
static uint64_t mem_carve(unsigned order)
{
	uint64_t size = (uint64_t)PAGE_SIZE << order;

	for (unsigned i = 0; i < nregions; i++) {
		struct mem_region_state *r = &regions[i];
		uint64_t pa = (r->next + size - 1) & ~(size - 1);

		if (pa + size > r->end)
			continue;
		for (uint64_t gap = r->next; gap < pa; gap += PAGE_SIZE) {
			struct free_block *b = phys_to_virt(gap);	/* alignment slack */
			b->next = free_lists[0];
			free_lists[0] = b;
		}
		r->next = pa + size;
		return pa;
	}
	return 0;
}

uint64_t page_alloc(unsigned order)
{
	uint64_t f, pa = 0;

	KASSERT(order < MEM_ORDERS, "page_alloc: order %u", order);
	f = spin_lock_irqsave(&mem_lock);
	if (free_lists[order]) {
		struct free_block *b = free_lists[order];
		free_lists[order] = b->next;
		pa = va_to_pa(b);
	} else {
		pa = mem_carve(order);
	}
	if (pa)
		free_pages -= 1ul << order;
	spin_unlock_irqrestore(&mem_lock, f);
	return pa;
}

void page_free(uint64_t pa, unsigned order)
{
	struct free_block *b = phys_to_virt(pa);
	uint64_t f;

	KASSERT(pa && !(pa & ((PAGE_SIZE << order) - 1)), "page_free: bad pa %llx",
		(unsigned long long)pa);
	f = spin_lock_irqsave(&mem_lock);
	b->next = free_lists[order];
	free_lists[order] = b;
	free_pages += 1ul << order;
	spin_unlock_irqrestore(&mem_lock, f);
}

uint64_t page_free_count(void)
{
	return ck_pr_load_64(&free_pages);
}
