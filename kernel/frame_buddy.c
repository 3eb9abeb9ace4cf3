/*
 * kernel/frame_buddy.c - the buddy allocator and the per-CPU frame caches.
 *
 * Buddy invariants (under frame_zone.lock), checked by frame_check():
 *   - a free block of order k starts at a pfn aligned to 2^k, lies inside
 *     one chunk, has PG_FREE and order = k on its first struct page, and is
 *     on free[k]; its other struct pages have neither PG_FREE nor PG_PCPU;
 *   - no free block's buddy is a free block of the same order (merged);
 *   - nr_free = sum over k of nblocks[k] * 2^k.
 * The buddy of a block of order k < FRAME_MAX_ORDER lies in the same chunk
 * (chunks are 2^FRAME_MAX_ORDER-aligned), and the chunk is ready because the
 * block is, so merging reads only valid struct pages.
 *
 * Per-CPU caches: frame_pcpu[cpu] is touched only by that CPU with
 * preemption disabled, so the fast path takes no lock and no atomic RMW.
 * count, refills and drains are stored with ck_pr so that frame_stats_get()
 * may read them from other CPUs (an instant's imprecision, never torn).
 */
#include "kernel/frame_internal.h"

struct frame_zone frame_zone = { .lock = SPINLOCK_INITIALIZER("frame_zone") };
struct frame_pcpu frame_pcpu[NCPU_MAX];
static unsigned frame_pcpu_high = 128;	/* (A) cache size bound; 0 = no caching */
static unsigned frame_pcpu_batch = 32;	/* (A) frames per refill/drain */

/* frame_list_push / frame_list_del: NULL-terminated doubly linked lists
 * whose heads are zero-initialised page_links. Zone lock held. */
static void frame_list_push(struct page_link *head, struct page_link *n)
{
	n->next = head->next;
	n->prev = head;
	if (head->next)
		head->next->prev = n;
	head->next = n;
}

static void frame_list_del(struct page_link *n)
{
	n->prev->next = n->next;
	if (n->next)
		n->next->prev = n->prev;
	n->next = n->prev = NULL;
}

/* __frame_block_push: put the free block headed by pg on free[order]. */
static void __frame_block_push(struct page *pg, unsigned order)
{
	pg->order = (uint8_t)order;
	ck_pr_or_32(&pg->flags, PG_FREE);
	frame_list_push(&frame_zone.free[order], &pg->link);
	frame_zone.nblocks[order]++;
	ck_pr_store_64(&frame_zone.nr_free, frame_zone.nr_free + (1ull << order));
}

/* __frame_block_del: take the free block headed by pg off its list. */
static void __frame_block_del(struct page *pg)
{
	frame_list_del(&pg->link);
	ck_pr_and_32(&pg->flags, ~PG_FREE);
	frame_zone.nblocks[pg->order]--;
	ck_pr_store_64(&frame_zone.nr_free, frame_zone.nr_free - (1ull << pg->order));
}

/* __frame_buddy_free: return block (pfn, order) of region r to the buddy,
 * merging with free buddies. Zone lock held. */
static void __frame_buddy_free(struct frame_region *r, uint64_t pfn, unsigned order)
{
	spin_assert_held(&frame_zone.lock, "__frame_buddy_free");
	while (order < FRAME_MAX_ORDER) {
		struct page *b = frame_region_page(r, pfn ^ (1ull << order));

		if (!(ck_pr_load_32(&b->flags) & PG_FREE) || b->order != order)
			break;
		__frame_block_del(b);
		pfn &= ~(1ull << order);
		order++;
	}
	__frame_block_push(frame_region_page(r, pfn), order);
}

/* __frame_buddy_alloc: remove a block of 2^order frames; NULL if the free
 * lists hold none. The caller sets the owner-visible fields. Zone lock held. */
static struct page *__frame_buddy_alloc(unsigned order)
{
	unsigned o = order;
	struct page *pg;

	spin_assert_held(&frame_zone.lock, "__frame_buddy_alloc");
	while (o < FRAME_NORDERS && !frame_zone.free[o].next)
		o++;
	if (o == FRAME_NORDERS)
		return NULL;
	pg = container_of(frame_zone.free[o].next, struct page, link);
	__frame_block_del(pg);
	while (o > order) {	/* split: keep the lower half, free the upper */
		o--;
		__frame_block_push(pg + (1ull << o), o);
	}
	return pg;
}

/* frame_buddy_add_range: give frames [pfn, end) of one ready chunk to the
 * buddy as maximal aligned blocks. Takes the zone lock. */
void frame_buddy_add_range(struct frame_region *r, uint64_t pfn, uint64_t end)
{
	spin_lock(&frame_zone.lock);
	while (pfn < end) {
		unsigned o = FRAME_MAX_ORDER;

		while (o && ((pfn & ((1ull << o) - 1)) || pfn + (1ull << o) > end))
			o--;
		__frame_block_push(frame_region_page(r, pfn), o);
		pfn += 1ull << o;
	}
	spin_unlock(&frame_zone.lock);
}

/* frame_block_take: hand block pg (order) out, its first struct page in
 * the state frame.h promises. Returns its physical address. */
static uint64_t frame_block_take(struct page *pg, unsigned order)
{
	uint64_t pa = frame_page_pa(pg);

	/* Frame 0 is never free: a region's first frame holds its metadata. */
	KASSERT(pa != 0, "frame_block_take: frame 0 handed out");
	ck_pr_store_32(&pg->flags, 0);	/* no kind left over from a tail page's past */
	pg->order = (uint8_t)order;
	pg->level = 0;
	pg->next = NULL;
	spin_init(&pg->ptl, "page ptl");
	ck_pr_store_32((uint32_t *)&pg->mapcount, 0);
	ck_pr_store_32(&pg->refcount, 1);
	return pa;
}

/* frame_alloc_buddy: a block straight from the buddy, growing into fresh
 * chunks while the free lists cannot satisfy it; as a last resort for
 * order > 0, drain this CPU's cache (its frames may complete a block).
 * 0 when RAM is exhausted. */
static uint64_t frame_alloc_buddy(unsigned order)
{
	bool drained = false;
	struct page *pg;

	for (;;) {
		do {
			spin_lock(&frame_zone.lock);
			pg = __frame_buddy_alloc(order);
			spin_unlock(&frame_zone.lock);
			if (pg)
				return frame_block_take(pg, order);
		} while (frame_chunk_grow());
		if (drained || !order)
			return 0;
		frame_pcpu_drain();
		drained = true;
	}
}

/* frame_pcpu_refill: move up to a batch of order-0 frames from the buddy to
 * pc (this CPU's cache, preemption disabled). Returns how many it moved. */
static unsigned frame_pcpu_refill(struct frame_pcpu *pc)
{
	unsigned batch = ck_pr_load_uint(&frame_pcpu_batch), n = 0;
	struct page *pg;

	spin_lock(&frame_zone.lock);
	while (n < batch && (pg = __frame_buddy_alloc(0)) != NULL) {
		ck_pr_or_32(&pg->flags, PG_PCPU);
		pg->link.next = pc->head ? &pc->head->link : NULL;
		pc->head = pg;
		n++;
	}
	spin_unlock(&frame_zone.lock);
	ck_pr_store_32(&pc->count, pc->count + n);
	ck_pr_store_64(&pc->refills, pc->refills + 1);
	return n;
}

/* frame_pcpu_pop: the top frame of pc, or NULL if empty. */
static struct page *frame_pcpu_pop(struct frame_pcpu *pc)
{
	struct page *pg = pc->head;

	if (!pg)
		return NULL;
	pc->head = pg->link.next ? container_of(pg->link.next, struct page, link) : NULL;
	ck_pr_store_32(&pc->count, pc->count - 1);
	ck_pr_and_32(&pg->flags, ~PG_PCPU);
	return pg;
}

/* frame_pcpu_drain_n: give up to n frames of pc back to the buddy. */
static void frame_pcpu_drain_n(struct frame_pcpu *pc, unsigned n)
{
	struct page *pg;

	if (!n || !pc->head)
		return;
	spin_lock(&frame_zone.lock);
	while (n-- && (pg = frame_pcpu_pop(pc)) != NULL)
		__frame_buddy_free(&frame_regions[pg->region], frame_pfn_of(pg), 0);
	spin_unlock(&frame_zone.lock);
	ck_pr_store_64(&pc->drains, pc->drains + 1);
}

/* frame_alloc_pcpu: an order-0 frame from this CPU's cache, refilling it
 * (and growing into fresh chunks) when empty. 0 when RAM is exhausted. */
static uint64_t frame_alloc_pcpu(void)
{
	struct frame_pcpu *pc;
	struct page *pg;

	preempt_disable();
	pc = &frame_pcpu[cpu_self()];
	while (!(pg = frame_pcpu_pop(pc))) {
		if (!frame_pcpu_refill(pc) && !frame_chunk_grow()) {
			preempt_enable();
			return 0;
		}
	}
	preempt_enable();
	return frame_block_take(pg, 0);
}

/* frame_alloc: 2^order contiguous frames aligned to their size; returns the
 * physical address, 0 on failure. The first struct page has refcount 1. */
uint64_t frame_alloc(unsigned order)
{
	KASSERT(order <= FRAME_MAX_ORDER, "frame_alloc: order %u > %u", order,
		(unsigned)FRAME_MAX_ORDER);
	if (order == 0 && ck_pr_load_uint(&frame_pcpu_high))
		return frame_alloc_pcpu();
	return frame_alloc_buddy(order);
}

/* frame_free_check: the struct page of block (pa, order) after checking
 * that it is an allocated block of that order; panics on misuse. */
static struct page *frame_free_check(struct frame_region *r, uint64_t pa, unsigned order)
{
	struct page *pg;
	uint32_t fl;

	KASSERT(r && order <= FRAME_MAX_ORDER && pa % (FRAME_SIZE << order) == 0,
		"frame_free: bad block %#llx order %u", (unsigned long long)pa, order);
	pg = frame_region_page(r, pa >> FRAME_SHIFT);
	fl = ck_pr_load_32(&pg->flags);
	KASSERT(!(fl & (PG_FREE | PG_PCPU | PG_RESERVED)),
		"frame_free: %#llx not allocated (flags %#x): double free?",
		(unsigned long long)pa, fl);
	KASSERT(pg->order == order, "frame_free: %#llx allocated with order %u, freed with %u",
		(unsigned long long)pa, pg->order, order);
	KASSERT(ck_pr_load_32((uint32_t *)&pg->mapcount) == 0, "frame_free: %#llx still mapped",
		(unsigned long long)pa);
	return pg;
}

/* frame_free: return a block from frame_alloc(order). Panics (debug) on a
 * double free, a wrong order or a still-mapped frame. */
void frame_free(uint64_t pa, unsigned order)
{
	struct frame_region *r = frame_region_pfn(pa >> FRAME_SHIFT);
	struct page *pg = frame_free_check(r, pa, order);
	unsigned high = ck_pr_load_uint(&frame_pcpu_high);

	ck_pr_store_32(&pg->refcount, 0);
	ck_pr_store_32(&pg->flags, 0);	/* slab and mm/ kinds end with the block */
	if (order == 0 && high) {
		struct frame_pcpu *pc;

		preempt_disable();
		pc = &frame_pcpu[cpu_self()];
		ck_pr_or_32(&pg->flags, PG_PCPU);
		pg->link.next = pc->head ? &pc->head->link : NULL;
		pc->head = pg;
		ck_pr_store_32(&pc->count, pc->count + 1);
		if (pc->count > high)
			frame_pcpu_drain_n(pc, ck_pr_load_uint(&frame_pcpu_batch));
		preempt_enable();
		return;
	}
	spin_lock(&frame_zone.lock);
	__frame_buddy_free(r, pa >> FRAME_SHIFT, order);
	spin_unlock(&frame_zone.lock);
}

/* frame_pcpu_drain: give every frame of this CPU's cache back to the buddy
 * (before a CPU goes offline, on memory pressure, at the end of a test). */
void frame_pcpu_drain(void)
{
	struct frame_pcpu *pc;

	preempt_disable();
	pc = &frame_pcpu[cpu_self()];
	frame_pcpu_drain_n(pc, pc->count);
	preempt_enable();
}

/* frame_pcpu_set_limits: cache at most high frames per CPU, moving batch
 * at a time (1 <= batch <= high). high = 0 turns caching off: frames still
 * cached are used up by their CPU's allocations or frame_pcpu_drain(). */
void frame_pcpu_set_limits(unsigned high, unsigned batch)
{
	KASSERT(!high || (batch >= 1 && batch <= high),
		"frame_pcpu_set_limits: batch %u, high %u", batch, high);
	ck_pr_store_uint(&frame_pcpu_batch, batch ? batch : 1);
	ck_pr_store_uint(&frame_pcpu_high, high);
}

/* frame_free_count: free frames (buddy, per-CPU caches, untouched chunks);
 * exact while no CPU allocates or frees, approximate otherwise. */
uint64_t frame_free_count(void)
{
	uint64_t n = ck_pr_load_64(&frame_zone.nr_free) + ck_pr_load_64(&frame_untouched);

	for (unsigned c = 0; c < NCPU_MAX; c++)
		n += ck_pr_load_32(&frame_pcpu[c].count);
	return n;
}

/* frame_check_block: problems with free block pg on free[order]; 0 if none. */
static int frame_check_block(struct page *pg, unsigned order)
{
	uint64_t pfn = frame_pfn_of(pg);
	struct page *b = frame_region_page(&frame_regions[pg->region], pfn ^ (1ull << order));
	int bad = 0;

	if (!(ck_pr_load_32(&pg->flags) & PG_FREE) || pg->order != order || (pfn & ((1ull << order) - 1)))
		bad++;
	if (order < FRAME_MAX_ORDER && (ck_pr_load_32(&b->flags) & PG_FREE) && b->order == order)
		bad++;	/* unmerged buddies */
	for (uint64_t i = 1; i < (1ull << order); i++)
		if (ck_pr_load_32(&pg[i].flags) & (PG_FREE | PG_PCPU | PG_RESERVED))
			bad++;
	if (bad)
		printk("frame_check: bad free block pfn %#llx order %u\n", (unsigned long long)pfn, order);
	return bad;
}

/* frame_check: verify the buddy invariants listed at the top of this file.
 * Returns 0, or -EINVAL after printing each problem. */
int frame_check(void)
{
	uint64_t sum = 0;
	int bad = 0;

	spin_lock(&frame_zone.lock);
	for (unsigned o = 0; o < FRAME_NORDERS; o++) {
		uint64_t n = 0;

		for (struct page_link *l = frame_zone.free[o].next; l; l = l->next, n++)
			bad += frame_check_block(container_of(l, struct page, link), o);
		if (n != frame_zone.nblocks[o]) {
			printk("frame_check: order %u lists %llu blocks, counts %llu\n", o,
			       (unsigned long long)n, (unsigned long long)frame_zone.nblocks[o]);
			bad++;
		}
		sum += n << o;
	}
	if (sum != frame_zone.nr_free) {
		printk("frame_check: lists hold %llu frames, nr_free %llu\n",
		       (unsigned long long)sum, (unsigned long long)frame_zone.nr_free);
		bad++;
	}
	spin_unlock(&frame_zone.lock);
	return bad ? -EINVAL : 0;
}

/* frame_buddy_reset: empty the free lists and caches (frame_reset only). */
void frame_buddy_reset(void)
{
	spin_lock(&frame_zone.lock);
	memset(frame_zone.free, 0, sizeof(frame_zone.free));
	memset(frame_zone.nblocks, 0, sizeof(frame_zone.nblocks));
	ck_pr_store_64(&frame_zone.nr_free, 0);
	spin_unlock(&frame_zone.lock);
	memset(frame_pcpu, 0, sizeof(frame_pcpu));
}
