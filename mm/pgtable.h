/*
 * mm/pgtable.h - walking and changing an mm's 4-level page tables.
 *
 * Levels below the root are allocated on demand and linked into their
 * parent with compare-and-swap, so a lock-free fault can populate them.
 * munmap unlinks the tables that only served the unmapped gap (pt_free_range,
 * mm->lock held for writing) and exit unlinks all; unlinked subtrees are
 * freed after the TLB flush and a grace period (pt_free_subtree), so a
 * lock-free walker never meets a freed table, and a level a racing fault
 * linked into an unlinked table is freed with it. The entries of a PTE table
 * (level 0) change only under that table's lock (pt_lock); an intermediate
 * entry changes from empty to a table by CAS (faults, writers) and from a
 * table to empty only by a writer.
 *
 * Synchronization table
 *   pt_walk        || anything          yes (loads of published entries)
 *   pt_walk_alloc  || pt_walk_alloc     yes (CAS; the loser frees its table)
 *   PTE store      || PTE store         no: the leaf's pt_lock
 *   pt_free_range  || pt_walk*          yes (unlinked tables live a grace period)
 *   pt_free_range  || writers           no: mm->lock
 *   pt_free_all    || anything          no: the mm is dead
 */
#ifndef KESTREL_MM_PGTABLE_H
#define KESTREL_MM_PGTABLE_H

#include "mm/mm.h"

struct tlb_gather;

static inline pte_t pte_load(const pte_t *p)
{
	return ck_pr_load_64((const uint64_t *)p);
}

/* pte_store: the MMU walks concurrently; a single 64-bit store is atomic. */
static inline void pte_store(pte_t *p, pte_t v)
{
	ck_pr_store_64((uint64_t *)p, v);
}

/* pt_lock: take a PTE table's lock; spins like a CPU with interrupts on,
 * serving shootdowns (mm/pmap.h), so a holder may wait for acks. */
static inline void pt_lock(struct page *ptp)
{
	while (!spin_trylock(&ptp->ptl))
		pmap_cpu_relax();
}

static inline void pt_unlock(struct page *ptp)
{
	spin_unlock(&ptp->ptl);
}

/* rss_type_of: which RSS counter a mapped frame belongs to. */
static inline enum mm_rss rss_type_of(const struct page *pg)
{
	return (pg->flags & PG_SHMEM) ? MM_SHMEM : (pg->flags & PG_FILE) ? MM_FILE : MM_ANON;
}

pte_t *pt_walk(struct pmap *pm, uint64_t va, struct page **ptp);
pte_t *pt_walk_alloc(struct pmap *pm, uint64_t va, struct page **ptp);
int pt_prealloc_all(struct pmap *pm, uint64_t start, uint64_t end);
int pt_prealloc(struct pmap *dst, struct pmap *src, uint64_t start, uint64_t end,
		int64_t delta);
void pt_zap(struct mm *mm, uint64_t start, uint64_t end, struct tlb_gather *tlb);
void pt_protect(struct mm *mm, uint64_t start, uint64_t end, int prot, bool shared,
		struct tlb_gather *tlb);
void pt_copy(struct mm *dst, struct mm *src, uint64_t start, uint64_t end, bool cow,
	     struct tlb_gather *tlb);
void pt_move(struct mm *mm, uint64_t old, uint64_t new, uint64_t len,
	     struct tlb_gather *tlb);
void pt_free_range(struct mm *mm, uint64_t start, uint64_t end, uint64_t floor,
		   uint64_t ceil, struct tlb_gather *tlb);
void pt_free_all(struct pmap *pm, struct tlb_gather *tlb);
void pt_free_subtree(struct page *pg);
unsigned long pt_count_mapped(struct pmap *pm, uint64_t start, uint64_t end,
			      unsigned long *zero);

#endif
