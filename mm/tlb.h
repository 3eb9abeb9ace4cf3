/*
 * mm/tlb.h - batched TLB shootdowns (Linux mmu_gather).
 *
 * An operation that changes or removes translations gathers the ranges it
 * touched, the frames whose PTEs it cleared (with their references) and the
 * table pages it unlinked, then calls tlb_finish() once: the local CPU
 * flushes inline, every other CPU in the mm's cpumask gets exactly one
 * request, and only after all acknowledged are the frame references dropped
 * (the last one frees the frame at once: a lock-free COW copy reads its
 * source only under the table lock, see mm/tlb.c) and the table pages freed
 * (after a grace period too, for lock-free walkers).
 *
 * Above TLB_FULL_FLUSH_PAGES pages a request asks for a full flush instead of
 * per-page invalidation. 33 is Linux's tlb_single_page_flush_ceiling: an
 * INVLPG costs ~100-200 cycles while a CR3 reload plus the refill of a few
 * dozen hot entries costs a few thousand, so the break-even is a few dozen
 * pages; on the host machine a range flush probes one TLB slot per page and a
 * full flush clears HOST_TLB_ENTRIES (64) slots, the same order of magnitude.
 *
 * Unmapped frames: the gather holds the reference of each cleared PTE until
 * the flush is acknowledged (Linux's mmu_gather batches), so until then no
 * other mm sees the frame as less shared than it is (COW reuse looks at the
 * reference count) and nobody frees it while a CPU may still cache it. The
 * references live in batches: TLB_LOCAL_FRAMES inside the gather, then 4 KiB
 * batches from env_alloc_try, at most TLB_MAX_BATCHES of them (8,144
 * frames; Linux caps at 10,000); when the cap is reached or an allocation
 * fails, the gather flushes early what it has and starts again. So adding
 * never fails and never needs a reservation: the price of memory pressure
 * is one more flush.
 *
 * A gather belongs to one thread (the mm's writer, or the last user at
 * exit); its tables and vmas are lists threaded through themselves.
 */
#ifndef KESTREL_MM_TLB_H
#define KESTREL_MM_TLB_H

#include "mm/mm.h"

#define TLB_MAX_RANGES		8
#define TLB_FULL_FLUSH_PAGES	33
#define TLB_LOCAL_FRAMES	16
#define TLB_MAX_BATCHES		16

/* A batch of held frame references, dropped after the flush. */
struct tlb_batch {
	struct tlb_batch *next;
	unsigned nr, max;
	struct page **pages;
};

struct tlb_gather {
	struct mm *mm;
	struct tlb_range r[TLB_MAX_RANGES];
	unsigned nr;
	bool full;		/* ranges overflowed: flush everything */
	uint64_t npages;	/* pages covered by r[] */
	struct tlb_batch *active;	/* batch being filled */
	unsigned nbatches;	/* allocated batches chained after local */
	struct tlb_batch local;	/* the first batch: local_pages */
	struct page *local_pages[TLB_LOCAL_FRAMES];
	struct page *tables;	/* table pages, freed after acks + grace period */
	struct vma *vmas;	/* retired mappings: released after the flush */
};

struct tlb_stats {
	uint64_t flushes;	/* tlb_finish calls that flushed */
	uint64_t requests;	/* requests sent to other CPUs */
	uint64_t pages;		/* pages flushed by range (all CPUs) */
	uint64_t full;		/* full flushes requested */
};

void tlb_gather_init(struct tlb_gather *tlb, struct mm *mm);
void tlb_add_range(struct tlb_gather *tlb, uint64_t start, uint64_t end);
unsigned tlb_frame_room(struct tlb_gather *tlb);
void tlb_add_frame(struct tlb_gather *tlb, struct page *pg);
void tlb_add_table(struct tlb_gather *tlb, struct page *pg);
void tlb_finish(struct tlb_gather *tlb);
void tlb_flush_page(struct mm *mm, uint64_t va);
void tlb_free_deferred(struct page *list);
void tlb_stats_read(struct tlb_stats *out);
void tlb_stats_reset(void);

#endif
