/*
 * mm/tlb.h - batched TLB shootdowns (Linux mmu_gather).
 *
 * An operation that changes or removes translations gathers the ranges it
 * touched and the frames and table pages whose last reference it dropped,
 * then calls tlb_finish() once: the local CPU flushes inline, every other
 * CPU in the mm's cpumask gets exactly one request, and only after all
 * acknowledged are the gathered frames freed (table pages after a grace
 * period too, for lock-free walkers; data frames at once: a lock-free COW
 * copy reads its source only under the table lock, see mm/tlb.c).
 *
 * Above TLB_FULL_FLUSH_PAGES pages a request asks for a full flush instead of
 * per-page invalidation. 33 is Linux's tlb_single_page_flush_ceiling: an
 * INVLPG costs ~100-200 cycles while a CR3 reload plus the refill of a few
 * dozen hot entries costs a few thousand, so the break-even is a few dozen
 * pages; on the host machine a range flush probes one TLB slot per page and a
 * full flush clears HOST_TLB_ENTRIES (64) slots, the same order of magnitude.
 *
 * A gather belongs to one thread; it allocates nothing (lists are threaded
 * through struct page), so adding to it never fails.
 */
#ifndef KESTREL_MM_TLB_H
#define KESTREL_MM_TLB_H

#include "mm/mm.h"

#define TLB_MAX_RANGES		8
#define TLB_FULL_FLUSH_PAGES	33

struct tlb_gather {
	struct mm *mm;
	struct tlb_range r[TLB_MAX_RANGES];
	unsigned nr;
	bool full;		/* ranges overflowed: flush everything */
	uint64_t npages;	/* pages covered by r[] */
	struct page *frames;	/* refcount 0, freed after the acks */
	struct page *frames_tail;	/* last of frames (valid if frames) */
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
void tlb_add_frame(struct tlb_gather *tlb, struct page *pg);
void tlb_add_table(struct tlb_gather *tlb, struct page *pg);
void tlb_finish(struct tlb_gather *tlb);
void tlb_flush_page(struct mm *mm, uint64_t va);
void tlb_free_deferred(struct page *list);
void tlb_stats_read(struct tlb_stats *out);
void tlb_stats_reset(void);

#endif
