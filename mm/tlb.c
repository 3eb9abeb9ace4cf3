/*
 * mm/tlb.c - batched shootdowns (see mm/tlb.h for the protocol).
 *
 * Why the free is safe: a PTE's reference reaches a gather when the PTE is
 * cleared (under the table lock), and the gather drops it only after the
 * flush. A CPU can still translate through the old PTE only by a TLB entry
 * filled before the clear; the CPU was then in the mm's cpumask (ports set
 * the bit, then fence, before walking), and tlb_flush reads the cpumask
 * after a full fence that follows the PTE stores, so that CPU is sent a
 * request. Until its acknowledgement the frame's reference count still
 * counts that PTE, so another mm sharing the frame (after fork) neither
 * reuses it for a COW write (fault_cow wants a count of 1) nor frees it.
 * The last reference frees the frame at once, with no grace period: the
 * only lock-free reader of a frame's contents, the fault's COW copy, copies
 * under the table lock after re-checking that the PTE still maps the frame
 * (mm/fault.c). Page-table pages are freed after a grace period too:
 * lock-free walkers (faults, the host MMU) read them without any lock.
 *
 * Order: references are dropped in the order they were gathered, so an allocator
 * that hands out the most recently freed frame first (a LIFO per-CPU cache,
 * as Linux's and both ports') reuses the most recently touched, cache-hot
 * frame first.
 */
#include "mm/tlb.h"
#include "mm/vma.h"
#include "mm/pgtable.h"

struct tlb_stats_pcpu {
	struct tlb_stats s;
} __cacheline_aligned;

static struct tlb_stats_pcpu tlb_stats_cpu[NCPU_MAX];

/* Owner-only counter update; readers load atomically. */
#define STAT_ADD(f, n) ck_pr_store_64(&tlb_stats_cpu[cpu_self()].s.f, \
	ck_pr_load_64(&tlb_stats_cpu[cpu_self()].s.f) + (n))

void tlb_gather_init(struct tlb_gather *tlb, struct mm *mm)
{
	memset(tlb, 0, sizeof(*tlb));
	tlb->mm = mm;
	tlb->local.pages = tlb->local_pages;
	tlb->local.max = TLB_LOCAL_FRAMES;
	tlb->active = &tlb->local;
}

/* tlb_add_range: translations in [start, end) changed; merges with the last
 * range when adjacent, switches to a full flush when the array overflows. */
void tlb_add_range(struct tlb_gather *tlb, uint64_t start, uint64_t end)
{
	struct tlb_range *last = tlb->nr ? &tlb->r[tlb->nr - 1] : NULL;

	KASSERT(start < end, "tlb_add_range: empty range");
	tlb->npages += (end - start) >> PAGE_SHIFT;
	if (tlb->full)
		return;
	if (last && last->end == start) {
		last->end = end;
	} else if (last && last->start == end) {
		last->start = start;
	} else if (tlb->nr == TLB_MAX_RANGES) {
		tlb->full = true;
	} else {
		tlb->r[tlb->nr].start = start;
		tlb->r[tlb->nr++].end = end;
	}
}

/* tlb_add_frame: hold the reference of a PTE just cleared that mapped pg
 * until the flush. The caller made room with tlb_frame_room(). */
void tlb_add_frame(struct tlb_gather *tlb, struct page *pg)
{
	struct tlb_batch *b = tlb->active;

	KASSERT(b->nr < b->max, "tlb_add_frame: no room (call tlb_frame_room)");
	KASSERT(ck_pr_load_32(&pg->refcount) > 0, "tlb_add_frame: unreferenced frame");
	b->pages[b->nr++] = pg;
}

void tlb_add_table(struct tlb_gather *tlb, struct page *pg)
{
	KASSERT(pg->flags & PG_PT, "tlb_add_table: not a table page");
	pg->next = tlb->tables;
	tlb->tables = pg;
}

static void tlb_free_cb(struct rcu_head *head)
{
	struct page *pg = container_of(head, struct page, rcu);

	while (pg) {
		struct page *next = pg->next;

		if (pg->flags & PG_PT)
			pt_free_subtree(pg);	/* with whatever was linked below */
		else
			pmap_page_free(pg);
		pg = next;
	}
}

/* tlb_free_deferred: free a ->next list of table pages (with what is
 * linked below them) or frames after a grace period. */
void tlb_free_deferred(struct page *list)
{
	if (list)
		call_rcu(&list->rcu, tlb_free_cb);
}

/* tlb_flush: flush r[0..n) (or everything) on every CPU that may cache the
 * mm's translations and wait for them. */
static void tlb_flush(struct mm *mm, const struct tlb_range *r, unsigned n,
		      bool full, uint64_t npages)
{
	cpuset_t targets;
	unsigned self, count = 0;
	bool local;

	/* Stay on this CPU from the snapshot to the local flush: a thread that
	 * migrated in between would flush the wrong CPU locally and never send
	 * a request to the one it left, which may run another thread of the
	 * mm with its stale translations. */
	preempt_disable();
	self = cpu_self();
	/* Full fence: the PTE stores before the cpumask loads (pairs with the
	 * port's bit-set-then-fence before a walk). */
	ck_pr_fence_memory();
	for (unsigned i = 0; i < CPUSET_WORDS; i++) {
		targets.w[i] = ck_pr_load_64(&mm->pmap.cpumask.w[i]);
		count += __builtin_popcountll(targets.w[i]);
	}
	local = cpuset_test(&targets, self);
	if (local) {
		targets.w[self / 64] &= ~(1ull << (self % 64));
		count--;
		pmap_tlb_flush_local(&mm->pmap, r, n, full);
	}
	if (count)
		pmap_tlb_shootdown(&mm->pmap, &targets, r, n, full);
	STAT_ADD(flushes, 1);
	STAT_ADD(requests, count);
	STAT_ADD(pages, full ? 0 : npages * (count + local));
	STAT_ADD(full, full ? count + local : 0);
	preempt_enable();
}

/* tlb_release_frames: after the acks, drop every held reference (the last
 * frees the frame) and empty the batches, keeping them for reuse. */
static void tlb_release_frames(struct tlb_gather *tlb)
{
	for (struct tlb_batch *b = &tlb->local; b; b = b->next) {
		for (unsigned i = 0; i < b->nr; i++)
			if (ck_pr_faa_32(&b->pages[i]->refcount, (uint32_t)-1) == 1)
				pmap_page_free(b->pages[i]);
		b->nr = 0;
	}
	tlb->active = &tlb->local;
}

/* tlb_flush_early: the batches are full: flush the ranges gathered so far
 * (they cover every held frame) and release the frames; tables and vmas
 * wait for tlb_finish. */
static void tlb_flush_early(struct tlb_gather *tlb)
{
	bool full = tlb->full || tlb->npages > TLB_FULL_FLUSH_PAGES;

	if (tlb->nr || full)
		tlb_flush(tlb->mm, tlb->r, tlb->nr, full, tlb->npages);
	tlb_release_frames(tlb);
	tlb->nr = 0;
	tlb->full = false;
	tlb->npages = 0;
}

/* tlb_batch_new: a 4 KiB batch, or NULL (the caller flushes early). */
static struct tlb_batch *tlb_batch_new(void)
{
	struct tlb_batch *b = env_alloc_try(PAGE_SIZE);

	if (!b)
		return NULL;
	b->next = NULL;
	b->nr = 0;
	b->max = (PAGE_SIZE - sizeof(*b)) / sizeof(b->pages[0]);
	b->pages = (struct page **)(b + 1);
	return b;
}

/* tlb_frame_room: make room for at least one more frame and return how
 * many fit in the active batch: move to the next batch, chain a new one,
 * or flush early. Call without table locks (it may flush and wait). */
unsigned tlb_frame_room(struct tlb_gather *tlb)
{
	struct tlb_batch *b = tlb->active;

	if (b->nr == b->max && b->next) {
		b = tlb->active = b->next;
	} else if (b->nr == b->max) {
		b->next = tlb->nbatches < TLB_MAX_BATCHES ? tlb_batch_new() : NULL;
		if (b->next) {
			tlb->nbatches++;
			b = tlb->active = b->next;
		} else {
			tlb_flush_early(tlb);
			b = tlb->active;
		}
	}
	return b->max - b->nr;
}

/* tlb_batches_free: give back the allocated batches (all released). */
static void tlb_batches_free(struct tlb_gather *tlb)
{
	struct tlb_batch *b = tlb->local.next;

	while (b) {
		struct tlb_batch *next = b->next;

		env_free(b, PAGE_SIZE);
		b = next;
	}
}

/* tlb_finish: flush what was gathered, then drop the held frame references
 * (at once) and free tables (after a grace period). The gather is empty
 * afterwards. */
void tlb_finish(struct tlb_gather *tlb)
{
	bool full = tlb->full || tlb->npages > TLB_FULL_FLUSH_PAGES;

	/* Freed tables with no range gathered (empty tables of a gap, exit):
	 * x86 paging-structure caches may still point at them, so flush all. */
	if (!tlb->nr && tlb->tables)
		full = true;
	if (tlb->nr || full)
		tlb_flush(tlb->mm, tlb->r, tlb->nr, full, tlb->npages);
	tlb_release_frames(tlb);
	tlb_batches_free(tlb);
	tlb_free_deferred(tlb->tables);
	vma_release_retired(tlb->vmas);
	tlb_gather_init(tlb, tlb->mm);
}

/* tlb_flush_page: flush one page now (COW break under a table lock). */
void tlb_flush_page(struct mm *mm, uint64_t va)
{
	struct tlb_range r = { va, va + PAGE_SIZE };

	tlb_flush(mm, &r, 1, false, 1);
}

void tlb_stats_read(struct tlb_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < NCPU_MAX; i++) {
		struct tlb_stats *s = &tlb_stats_cpu[i].s;

		out->flushes += ck_pr_load_64(&s->flushes);
		out->requests += ck_pr_load_64(&s->requests);
		out->pages += ck_pr_load_64(&s->pages);
		out->full += ck_pr_load_64(&s->full);
	}
}

/* tlb_stats_reset: only while no CPU flushes. */
void tlb_stats_reset(void)
{
	memset(tlb_stats_cpu, 0, sizeof(tlb_stats_cpu));
}
