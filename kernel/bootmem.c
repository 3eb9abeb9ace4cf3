/*
 * kernel/bootmem.c - the early page allocator: a bump pointer over the usable
 * regions of the memory map, above everything the loader left in memory.
 *
 * Before paging_init() switches to the full direct map only the first GiB is
 * addressable, so allocations stay below bootmem_limit until it is raised.
 * Single-threaded (boot CPU, before SMP); never frees. bootmem_handover()
 * gives the rest of RAM to the frame allocator.
 */
#include "kernel/bootinfo.h"
#include "kernel/mem.h"
#include "arch/mmu.h"

static unsigned bm_region;	/* index into bootinfo.mmap */
static uint64_t bm_next;	/* next free PA in that region */
static uint64_t bm_limit = 1ul << 30;
static uint64_t bm_used_pages;

void bootmem_set_limit(uint64_t limit)
{
	bm_limit = limit;
}

static uint64_t align_up(uint64_t x, uint64_t a)
{
	return (x + a - 1) & ~(a - 1);
}

uint64_t bootmem_alloc_pages(size_t npages)
{
	uint64_t size = npages * PAGE_SIZE;

	for (; bm_region < bootinfo.nmmap; bm_region++, bm_next = 0) {
		const struct mem_region *r = &bootinfo.mmap[bm_region];
		uint64_t start = align_up(r->base, PAGE_SIZE), end = r->base + r->len;

		if (r->type != MEM_USABLE)
			continue;
		if (start < bootinfo.reserved_end)
			start = align_up(bootinfo.reserved_end, PAGE_SIZE);
		if (bm_next > start)
			start = bm_next;
		if (start + size > bm_limit)
			break;		/* memory below the limit is exhausted */
		if (start + size > end)
			continue;
		bm_next = start + size;
		bm_used_pages += npages;
		memset(pa_to_va(start), 0, size);
		return start;
	}
	panic("bootmem_alloc_pages: out of early memory (%zu pages)", npages);
}

/* bootmem_handover: give every usable page not handed out to mem_add_region. */
void bootmem_handover(void)
{
	for (unsigned i = 0; i < bootinfo.nmmap; i++) {
		const struct mem_region *r = &bootinfo.mmap[i];
		uint64_t start = align_up(r->base, PAGE_SIZE);
		uint64_t end = (r->base + r->len) & ~(uint64_t)(PAGE_SIZE - 1);

		if (r->type != MEM_USABLE)
			continue;
		if (start < bootinfo.reserved_end)
			start = align_up(bootinfo.reserved_end, PAGE_SIZE);
		if (i < bm_region)
			continue;
		if (i == bm_region && bm_next > start)
			start = bm_next;
		if (start < end)
			mem_add_region(start, (end - start) / PAGE_SIZE);
	}
	bm_region = bootinfo.nmmap;	/* bootmem is closed from now on */
	printk("bootmem: %llu early pages used\n", (unsigned long long)bm_used_pages);
}
