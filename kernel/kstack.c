/*
 * kernel/kstack.c - guarded kernel stacks.
 *
 * Slot i spans [KSTACK_BASE + i * SLOT, + SLOT): one guard page (never
 * mapped), then KSTACK_PAGES mapped pages. A freed slot keeps its pages
 * mapped and goes on a free list, so stacks are never unmapped and no TLB
 * shootdown is needed; mapping a new slot only fills empty PTEs.
 *
 * Synchronization: kstack_lock guards the free list and slot counter.
 */
#include "kernel/kstack.h"
#include "kernel/mem.h"
#include "spinlock_irq.h"
#include "arch/paging.h"
#include "arch/mmu.h"

#define SLOT ((KSTACK_PAGES + 1) * PAGE_SIZE)
#define KSTACK_SLOTS 4096

static struct spinlock kstack_lock = SPINLOCK_INITIALIZER("kstack_lock");
static uint32_t kstack_free_list[KSTACK_SLOTS];	/* (L) */
static unsigned kstack_nfree;			/* (L) */
static unsigned kstack_nslots;			/* (L) slots ever mapped */

static uint64_t slot_top(unsigned i)
{
	return KSTACK_BASE + (uint64_t)i * SLOT + SLOT;
}

uint64_t kstack_guard_of(uint64_t top)
{
	return top - SLOT;
}

/* kstack_map: back slot i with fresh pages; false if out of memory. */
static bool kstack_map(unsigned i)
{
	uint64_t base = slot_top(i) - KSTACK_SIZE;
	uint64_t pa[KSTACK_PAGES];

	for (int p = 0; p < KSTACK_PAGES; p++) {
		pa[p] = page_alloc(0);
		if (!pa[p]) {
			while (p--)
				page_free(pa[p], 0);
			return false;
		}
	}
	for (int p = 0; p < KSTACK_PAGES; p++)
		paging_map_4k(base + p * PAGE_SIZE, pa[p], PTE_W | PTE_NX | PTE_G);
	return true;
}

uint64_t kstack_alloc(void)
{
	uint64_t f = spin_lock_irqsave(&kstack_lock);
	unsigned i;

	if (kstack_nfree) {
		i = kstack_free_list[--kstack_nfree];
		spin_unlock_irqrestore(&kstack_lock, f);
		return slot_top(i);
	}
	if (kstack_nslots == KSTACK_SLOTS) {
		spin_unlock_irqrestore(&kstack_lock, f);
		return 0;
	}
	i = kstack_nslots++;
	spin_unlock_irqrestore(&kstack_lock, f);
	if (!kstack_map(i))
		return 0;	/* the VA slot stays unused; no memory is held */
	return slot_top(i);
}

void kstack_free(uint64_t top)
{
	unsigned i = (unsigned)((top - KSTACK_BASE) / SLOT - 1);
	uint64_t f = spin_lock_irqsave(&kstack_lock);

	KASSERT(i < kstack_nslots, "kstack_free: bad stack top %llx", (unsigned long long)top);
	kstack_free_list[kstack_nfree++] = i;
	spin_unlock_irqrestore(&kstack_lock, f);
}
