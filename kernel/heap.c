/*
 * kernel/heap.c - env_alloc/env_free (sync/env.h): power-of-two size classes
 * from 16 to 2048 bytes carved out of single pages, larger requests as whole
 * page blocks. Freed objects are poisoned (KESTREL_DEBUG) with 0x6b.
 *
 * Synchronization: one IRQ-saving lock per class guards its free list
 * (RCU callbacks free from the callback thread, IPIs never allocate).
 */
#include "kernel/mem.h"
#include "spinlock_irq.h"
#include "arch/mmu.h"

#define HEAP_MIN_SHIFT 4
#define HEAP_CLASSES 8		/* 16 .. 2048 */
#define HEAP_POISON 0x6b

struct heap_obj {
	struct heap_obj *next;
};

struct heap_class {
	struct spinlock lock;
	struct heap_obj *free;	/* (L) */
	uint64_t live;		/* (L) objects handed out */
} __cacheline_aligned;

static struct heap_class heap[HEAP_CLASSES];

void heap_init(void)
{
	for (int i = 0; i < HEAP_CLASSES; i++)
		spin_init(&heap[i].lock, "heap_class");
}

static unsigned heap_class_of(size_t size)
{
	unsigned c = 0;

	while (((size_t)1 << (c + HEAP_MIN_SHIFT)) < size)
		c++;
	return c;
}

static unsigned heap_order_of(size_t size)
{
	unsigned o = 0;

	while (((size_t)PAGE_SIZE << o) < size)
		o++;
	return o;
}

/* heap_refill: split a fresh page into class-c objects. Lock held. */
static bool heap_refill(struct heap_class *hc, unsigned c)
{
	size_t sz = (size_t)1 << (c + HEAP_MIN_SHIFT);
	uint64_t pa = page_alloc(0);
	char *p;

	if (!pa)
		return false;
	p = phys_to_virt(pa);
	for (size_t off = 0; off + sz <= PAGE_SIZE; off += sz) {
		struct heap_obj *o = (struct heap_obj *)(p + off);
		o->next = hc->free;
		hc->free = o;
	}
	return true;
}

void *env_alloc(size_t size)
{
	struct heap_class *hc;
	struct heap_obj *o = NULL;
	unsigned c;
	uint64_t f;

	if (size == 0)
		size = 1;
	if (size > ((size_t)1 << (HEAP_CLASSES - 1 + HEAP_MIN_SHIFT))) {
		uint64_t pa = page_alloc(heap_order_of(size));
		return pa ? phys_to_virt(pa) : NULL;
	}
	c = heap_class_of(size);
	hc = &heap[c];
	f = spin_lock_irqsave(&hc->lock);
	if (hc->free || heap_refill(hc, c)) {
		o = hc->free;
		hc->free = o->next;
		hc->live++;
	}
	spin_unlock_irqrestore(&hc->lock, f);
	return o;
}

void env_free(void *p, size_t size)
{
	struct heap_class *hc;
	struct heap_obj *o = p;
	unsigned c;
	uint64_t f;

	if (!p)
		return;
	if (size == 0)
		size = 1;
	if (size > ((size_t)1 << (HEAP_CLASSES - 1 + HEAP_MIN_SHIFT))) {
		page_free(va_to_pa(p), heap_order_of(size));
		return;
	}
	c = heap_class_of(size);
	hc = &heap[c];
#ifdef KESTREL_DEBUG
	memset(p, HEAP_POISON, (size_t)1 << (c + HEAP_MIN_SHIFT));
#endif
	f = spin_lock_irqsave(&hc->lock);
	KASSERT(hc->live > 0, "env_free: class %u has no live objects (%p)", c, p);
	o->next = hc->free;
	hc->free = o;
	hc->live--;
	spin_unlock_irqrestore(&hc->lock, f);
}

/* heap_live: objects currently allocated in all classes (leak checks). */
uint64_t heap_live_objects(void)
{
	uint64_t n = 0;

	for (int i = 0; i < HEAP_CLASSES; i++)
		n += ck_pr_load_64(&heap[i].live);
	return n;
}
