/*
 * arch/x86_64/paging.c - the kernel page tables.
 *
 *   DIRECT_MAP + pa   all of [0, max(4 GiB, top of RAM)) with 1 GiB pages when
 *                     the CPU has them (2 MiB otherwise), RW + NX; 2 MiB pages
 *                     in the 3-4 GiB hole that hold no RAM are uncached (MMIO)
 *   KERNEL_BASE + pa  the image with 4 KiB pages: text RX, rodata R+NX,
 *                     data/bss RW+NX; the boot stack's guard page unmapped
 *
 * Tables come from bootmem until paging_use_page_alloc(), then page_alloc.
 * Synchronization: paging_lock serializes paging_map_4k (kernel stacks are
 * mapped at run time from any CPU).
 */
#include "kernel/bootinfo.h"
#include "kernel/mem.h"
#include "spinlock_irq.h"
#include "arch/paging.h"
#include "arch/mmu.h"
#include "arch/x86.h"

uint64_t kernel_cr3;
static bool use_page_alloc;
static struct spinlock paging_lock = SPINLOCK_INITIALIZER("paging_lock");

extern char _text_start[], _text_end[], _rodata_start[], _rodata_end[];
extern char _data_start[], _end[], boot_stack_guard[];

void paging_use_page_alloc(void)
{
	use_page_alloc = true;
}

static uint64_t pt_alloc(void)
{
	uint64_t pa;

	if (!use_page_alloc)
		return bootmem_alloc_pages(1);
	pa = page_alloc(0);
	if (!pa)
		panic("pt_alloc: out of memory for page tables");
	memset(pa_to_va(pa), 0, PAGE_SIZE);
	return pa;
}

/* pt_walk: the entry for va at `level` (3 = PDPT entry, 2 = PD, 1 = PT),
 * creating missing tables above it. */
static uint64_t *pt_walk(uint64_t va, int level)
{
	uint64_t *table = pa_to_va(kernel_cr3);

	for (int l = 4; l > level; l--) {
		uint64_t *e = &table[(va >> (12 + 9 * (l - 1))) & 511];

		if (!(*e & PTE_P))
			*e = pt_alloc() | PTE_P | PTE_W;
		KASSERT(!(*e & PTE_PS), "pt_walk: %llx inside a large page", (unsigned long long)va);
		table = pa_to_va(*e & PTE_ADDR);
	}
	return &table[(va >> (12 + 9 * (level - 1))) & 511];
}

void paging_map_4k(uint64_t va, uint64_t pa, uint64_t flags)
{
	uint64_t f = spin_lock_irqsave(&paging_lock);

	*pt_walk(va, 1) = pa | flags | PTE_P;
	spin_unlock_irqrestore(&paging_lock, f);
}

uint64_t paging_lookup(uint64_t va, unsigned *level)
{
	uint64_t *table = pa_to_va(read_cr3() & PTE_ADDR);

	for (int l = 4; l >= 1; l--) {
		uint64_t e = table[(va >> (12 + 9 * (l - 1))) & 511];

		if (!(e & PTE_P))
			return 0;
		if (l == 1 || (e & PTE_PS)) {
			*level = (unsigned)l;
			return e;
		}
		table = pa_to_va(e & PTE_ADDR);
	}
	return 0;
}

static bool range_has_ram(uint64_t pa, uint64_t len)
{
	for (unsigned i = 0; i < bootinfo.nmmap; i++) {
		const struct mem_region *r = &bootinfo.mmap[i];

		if (r->type == MEM_USABLE && r->base < pa + len && pa < r->base + r->len)
			return true;
	}
	return false;
}

/* map_direct: the direct map of [0, top). */
static void map_direct(uint64_t top)
{
	uint32_t r[4];
	bool gb;

	cpuid(0x80000001, 0, r);
	gb = r[3] & (1u << 26);
	for (uint64_t pa = 0; pa < top;) {
		uint64_t flags = PTE_P | PTE_W | PTE_PS | PTE_G | PTE_NX;

		if (gb && pa % HUGE_PAGE == 0 && (pa < (3ul << 30) || pa >= (4ul << 30)) &&
		    pa + HUGE_PAGE <= top) {
			*pt_walk(DIRECT_MAP + pa, 3) = pa | flags;
			pa += HUGE_PAGE;
			continue;
		}
		if (pa >= (3ul << 30) && pa < (4ul << 30) && !range_has_ram(pa, LARGE_PAGE))
			flags |= PTE_PCD | PTE_PWT;
		*pt_walk(DIRECT_MAP + pa, 2) = pa | flags;
		pa += LARGE_PAGE;
	}
	printk("paging: direct map of %llu MiB with %s pages\n", (unsigned long long)(top >> 20),
	       gb ? "1 GiB" : "2 MiB");
}

/* map_image: the kernel image with per-section permissions. */
static void map_image(void)
{
	for (uint64_t va = (uint64_t)_text_start; va < (uint64_t)_end; va += PAGE_SIZE) {
		uint64_t flags = PTE_G;

		if (va == (uint64_t)boot_stack_guard)
			continue;
		if (va >= (uint64_t)_rodata_start)
			flags |= PTE_NX;
		if (va >= (uint64_t)_data_start)
			flags |= PTE_W;
		*pt_walk(va, 1) = (va - KERNEL_BASE) | flags | PTE_P;
	}
	printk("paging: image text %lluK rx, rodata %lluK r, data+bss %lluK rw\n",
	       (unsigned long long)(_text_end - _text_start) >> 10,
	       (unsigned long long)(_rodata_end - _rodata_start) >> 10,
	       (unsigned long long)(_end - _data_start) >> 10);
}

/* paging_init: build the kernel tables and switch to them (boot CPU). */
void paging_init(void)
{
	uint64_t top = bootinfo.ram_top > (4ul << 30) ? bootinfo.ram_top : (4ul << 30);

	top = (top + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
	kernel_cr3 = bootmem_alloc_pages(1);
	map_direct(top);
	map_image();
	__asm__ volatile("mov %%cr4, %%rax; or $0x80, %%rax; mov %%rax, %%cr4" : : : "rax"); /* PGE */
	write_cr3(kernel_cr3);
	bootmem_set_limit(~0ul);
}
