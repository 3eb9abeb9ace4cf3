/*
 * mm/pgtable.c - page-table walks and range operations (see mm/pgtable.h).
 *
 * Range operations visit each existing PTE table that intersects the range
 * and change its entries under that table's lock; absent subtrees are
 * skipped whole. Every caller holds mm->lock for writing and has bumped the
 * seq of each vma whose PTEs it changes (mm/fault.c explains why that makes
 * a lock-free fault back out); the one exception is pt_zap for
 * MADV_DONTNEED, under the lock held for reading (see pt_zap).
 */
#include "mm/pgtable.h"
#include "mm/tlb.h"
#include "mm/vma.h"

static inline pte_t *pt_entry(paddr_t table, uint64_t va, int level)
{
	return (pte_t *)pmap_pa_kva(table) + pt_index(va, level);
}

/* pt_walk: the PTE slot of va, or NULL if a level is absent; *ptp = the PTE
 * table's page. Lock-free (tables are not freed while the mm lives). */
pte_t *pt_walk(struct pmap *pm, uint64_t va, struct page **ptp)
{
	paddr_t table = pm->root;

	for (int level = PT_LEVELS - 1; level > 0; level--) {
		pte_t v = pte_load(pt_entry(table, va, level));

		if (!pte_present(v))
			return NULL;
		table = pte_pa(v);
	}
	*ptp = pmap_pa_page(table);
	return pt_entry(table, va, 0);
}

/* pt_walk_alloc: like pt_walk, allocating absent levels; NULL if a table
 * could not be allocated (levels installed so far stay: they are empty). */
pte_t *pt_walk_alloc(struct pmap *pm, uint64_t va, struct page **ptp)
{
	paddr_t table = pm->root;

	for (int level = PT_LEVELS - 1; level > 0; level--) {
		pte_t *e = pt_entry(table, va, level);
		pte_t v = pte_load(e);

		if (!pte_present(v)) {
			struct page *np = pmap_page_alloc(PG_PT | PMAP_ZERO);
			pte_t nv;

			if (!np)
				return NULL;
			np->level = (uint32_t)(level - 1);
			nv = pte_table(pmap_page_pa(np));
			/* ck CAS is a full barrier: the zeroed table is visible
			 * before the entry that publishes it. */
			if (ck_pr_cas_64_value((uint64_t *)e, 0, nv, (uint64_t *)&v)) {
				v = nv;
				ck_pr_inc_64(&pm->nr_pt);
			} else {
				pmap_page_free(np);	/* lost the race; never published */
			}
		}
		table = pte_pa(v);
	}
	*ptp = pmap_pa_page(table);
	return pt_entry(table, va, 0);
}

typedef void (*pt_leaf_fn)(struct page *ptp, pte_t *pte, uint64_t va, unsigned n,
			   void *arg);

/* pt_for_each_leaf: call fn for each existing PTE table intersecting
 * [start, end) with the first slot in range, its va and the slot count. */
static void pt_for_each_leaf(struct pmap *pm, uint64_t start, uint64_t end,
			     pt_leaf_fn fn, void *arg)
{
	uint64_t va = start;

	while (va < end) {
		paddr_t table = pm->root;
		int level;

		for (level = PT_LEVELS - 1; level > 0; level--) {
			pte_t v = pte_load(pt_entry(table, va, level));

			if (!pte_present(v))
				break;
			table = pte_pa(v);
		}
		uint64_t span = pt_span(level == 0 ? 1 : level);
		uint64_t next = (va & ~(span - 1)) + span;

		if (next > end || next == 0)
			next = end;
		if (level == 0)
			fn(pmap_pa_page(table), pt_entry(table, va, 0), va,
			   (unsigned)((next - va) >> PAGE_SHIFT), arg);
		va = next;
	}
}

struct pt_zap_arg {
	struct mm *mm;
	struct tlb_gather *tlb;
};

/* page_unmapped: one PTE mapping pg was cleared in mm: the map count and
 * RSS drop now; the PTE's reference goes to the gather, dropped after the
 * flush. 1 if it took a slot in the gather, 0 (the zero page) if not. */
static unsigned page_unmapped(struct mm *mm, struct page *pg, struct tlb_gather *tlb)
{
	if (pg->flags & PG_ZERO)
		return 0;
	ck_pr_dec_32((uint32_t *)&pg->mapcount);
	pcpu_counter_add(&mm->rss[rss_type_of(pg)], -1);
	tlb_add_frame(tlb, pg);
	return 1;
}

/* pt_zap_chunk: under ptp's lock, clear the mapped PTEs of pte[i..n) until
 * `room` frames went to the gather; returns where it stopped. */
static unsigned pt_zap_chunk(struct pt_zap_arg *a, pte_t *pte, unsigned i, unsigned n,
			     unsigned room, bool *any)
{
	for (; i < n && room; i++) {
		pte_t p = pte_load(&pte[i]);

		if (!pte_mapped(p))
			continue;
		pte_store(&pte[i], 0);
		room -= page_unmapped(a->mm, pmap_pa_page(pte_pa(p)), a->tlb);
		*any = true;
	}
	return i;
}

/* pt_zap_leaf: in chunks that fit the gather's free slots; each chunk's
 * range is gathered before the next tlb_frame_room may flush early. */
static void pt_zap_leaf(struct page *ptp, pte_t *pte, uint64_t va, unsigned n, void *arg)
{
	struct pt_zap_arg *a = arg;
	unsigned i = 0, first;

	while (i < n) {
		unsigned room = tlb_frame_room(a->tlb);
		bool any = false;

		first = i;
		pt_lock(ptp);
		i = pt_zap_chunk(a, pte, i, n, room, &any);
		pt_unlock(ptp);
		if (any)
			tlb_add_range(a->tlb, va + ((uint64_t)first << PAGE_SHIFT),
				      va + ((uint64_t)i << PAGE_SHIFT));
	}
}

/* pt_zap: clear every PTE in [start, end); RSS and map counts drop now,
 * frames are freed by the gather after the flush. We enter with mm->lock
 * held for writing and the vmas' seqs odd (munmap and friends), or for
 * reading, or with the read lock of the vma covering the range
 * (MADV_DONTNEED): clearing PTEs under their table locks frees no table
 * and changes no vma, and a racing fault re-checks its PTE under the same
 * lock (mm/mmap.c, madvise_zap). */
void pt_zap(struct mm *mm, uint64_t start, uint64_t end, struct tlb_gather *tlb)
{
	struct pt_zap_arg a = { mm, tlb };

	KASSERT(rwsem_held(&mm->lock) || vma_read_held(mm, start, end),
		"pt_zap: neither mm->lock nor a vma read lock held");
	pt_for_each_leaf(&mm->pmap, start, end, pt_zap_leaf, &a);
}

struct pt_prot_arg {
	int prot;
	bool shared;
	struct tlb_gather *tlb;
};

/* pte_reprotect: p with the permissions of prot. Private mappings never gain
 * PTE_W here (a write fault decides between reuse and copy). */
static pte_t pte_reprotect(pte_t p, int prot, bool shared)
{
	pte_t n = p & ~(PTE_P | PTE_PROTNONE | PTE_W | PTE_NX);

	if (prot == PROT_NONE)
		return n | PTE_PROTNONE | PTE_NX;
	n |= PTE_P;
	if ((prot & PROT_WRITE) && (shared || (p & PTE_W)))
		n |= PTE_W;
	if (!(prot & PROT_EXEC))
		n |= PTE_NX;
	return n;
}

static void pt_protect_leaf(struct page *ptp, pte_t *pte, uint64_t va, unsigned n, void *arg)
{
	struct pt_prot_arg *a = arg;
	bool reduced = false;

	pt_lock(ptp);
	for (unsigned i = 0; i < n; i++) {
		pte_t p = pte_load(&pte[i]);
		pte_t q;

		if (!pte_mapped(p))
			continue;
		q = pte_reprotect(p, a->prot, a->shared);
		if (q == p)
			continue;
		pte_store(&pte[i], q);
		if (pte_present(p) && (!pte_present(q) || ((p & PTE_W) && !(q & PTE_W)) ||
				       (!(p & PTE_NX) && (q & PTE_NX))))
			reduced = true;
	}
	pt_unlock(ptp);
	if (reduced)	/* gained rights need no flush: a stale entry faults */
		tlb_add_range(a->tlb, va, va + ((uint64_t)n << PAGE_SHIFT));
}

/* pt_protect: apply prot to every mapped PTE in [start, end). */
void pt_protect(struct mm *mm, uint64_t start, uint64_t end, int prot, bool shared,
		struct tlb_gather *tlb)
{
	struct pt_prot_arg a = { prot, shared, tlb };

	mm_assert_writer(mm, "pt_protect");
	pt_for_each_leaf(&mm->pmap, start, end, pt_protect_leaf, &a);
}

struct pt_pre_arg {
	struct pmap *dst;
	int64_t delta;
	int err;
};

static void pt_prealloc_leaf(struct page *ptp, pte_t *pte, uint64_t va, unsigned n, void *arg)
{
	struct pt_pre_arg *a = arg;
	struct page *dummy;
	unsigned first = n, last = 0;

	/* Under the table lock: a fault that read the vma's seq before the
	 * caller made it odd installs under this lock, so either we see its
	 * PTE or its re-check (after our unlock) sees the odd count. */
	pt_lock(ptp);
	for (unsigned i = 0; i < n; i++)
		if (pte_mapped(pte_load(&pte[i]))) {
			first = first == n ? i : first;
			last = i;
		}
	pt_unlock(ptp);
	if (first == n || a->err)
		return;
	/* A destination run of <= 512 pages spans at most two PTE tables,
	 * those of its first and last pages. */
	if (!pt_walk_alloc(a->dst, va + ((uint64_t)first << PAGE_SHIFT) + a->delta, &dummy) ||
	    !pt_walk_alloc(a->dst, va + ((uint64_t)last << PAGE_SHIFT) + a->delta, &dummy))
		a->err = -ENOMEM;
}

/* pt_prealloc: make sure dst has PTE tables for va + delta of every mapped
 * va in src's [start, end). 0 or -ENOMEM (tables made so far stay, empty). */
int pt_prealloc(struct pmap *dst, struct pmap *src, uint64_t start, uint64_t end,
		int64_t delta)
{
	struct pt_pre_arg a = { dst, delta, 0 };

	pt_for_each_leaf(src, start, end, pt_prealloc_leaf, &a);
	return a.err;
}

/* pt_prealloc_all: PTE tables for every page of [start, end) in pm,
 * whatever is mapped anywhere now. mremap uses it for its destination: a
 * fault may map more source pages before the move, and the move must not
 * allocate. Costs at most one table page per 2 MiB. 0 or -ENOMEM (tables
 * made so far stay, empty). */
int pt_prealloc_all(struct pmap *pm, uint64_t start, uint64_t end)
{
	struct page *ptp;

	for (uint64_t va = start; va < end; va = (va & ~(pt_span(1) - 1)) + pt_span(1))
		if (!pt_walk_alloc(pm, va, &ptp))
			return -ENOMEM;
	return 0;
}

struct pt_copy_arg {
	struct mm *dst, *src;
	bool cow;
	struct tlb_gather *tlb;
};

static void pt_copy_leaf(struct page *ptp, pte_t *pte, uint64_t va, unsigned n, void *arg)
{
	struct pt_copy_arg *a = arg;
	bool wp = false;

	pt_lock(ptp);
	for (unsigned i = 0; i < n; i++, va += PAGE_SIZE) {
		pte_t p = pte_load(&pte[i]);
		struct page *dptp, *pg;
		pte_t *d;

		if (!pte_mapped(p))
			continue;
		d = pt_walk(&a->dst->pmap, va, &dptp);
		KASSERT(d, "pt_copy: destination table missing at %llx", (unsigned long long)va);
		pg = pmap_pa_page(pte_pa(p));
		if (!(pg->flags & PG_ZERO)) {
			ck_pr_inc_32(&pg->refcount);
			ck_pr_inc_32((uint32_t *)&pg->mapcount);
			pcpu_counter_add(&a->dst->rss[rss_type_of(pg)], 1);
		}
		if (a->cow && (p & PTE_W)) {
			p &= ~PTE_W;
			pte_store(&pte[i], p);
			wp = true;
		}
		pte_store(d, p);	/* the child is private to the caller */
	}
	pt_unlock(ptp);
	if (wp)
		tlb_add_range(a->tlb, va - ((uint64_t)n << PAGE_SHIFT), va);
}

/* pt_copy: fork's copy of [start, end) from src into dst (tables already
 * made by pt_prealloc); cow write-protects both sides. */
void pt_copy(struct mm *dst, struct mm *src, uint64_t start, uint64_t end, bool cow,
	     struct tlb_gather *tlb)
{
	struct pt_copy_arg a = { dst, src, cow, tlb };

	mm_assert_writer(src, "pt_copy");
	pt_for_each_leaf(&src->pmap, start, end, pt_copy_leaf, &a);
}

struct pt_move_arg {
	struct mm *mm;
	int64_t delta;
	struct tlb_gather *tlb;
};

static void pt_move_leaf(struct page *ptp, pte_t *pte, uint64_t va, unsigned n, void *arg)
{
	struct pt_move_arg *a = arg;
	struct page *held = NULL;
	bool any = false;

	pt_lock(ptp);
	for (unsigned i = 0; i < n; i++) {
		uint64_t from = va + ((uint64_t)i << PAGE_SHIFT);
		pte_t p = pte_load(&pte[i]);
		struct page *dptp;
		pte_t *d;

		if (!pte_mapped(p))
			continue;
		d = pt_walk(&a->mm->pmap, from + a->delta, &dptp);
		KASSERT(d, "pt_move: destination table missing");
		if (dptp != held && dptp != ptp) {
			if (held)
				pt_unlock(held);
			pt_lock(dptp);	/* nested: only the mm-lock writer holds two */
			held = dptp;
		}
		KASSERT(!pte_mapped(pte_load(d)), "pt_move: destination occupied");
		pte_store(&pte[i], 0);
		pte_store(d, p);
		any = true;
	}
	if (held)
		pt_unlock(held);
	pt_unlock(ptp);
	if (any)
		tlb_add_range(a->tlb, va, va + ((uint64_t)n << PAGE_SHIFT));
}

/* pt_move: move the PTEs of [old, old + len) to new (tables pre-made; the
 * destination empty). Frames, map counts and RSS are unchanged. */
void pt_move(struct mm *mm, uint64_t old, uint64_t new, uint64_t len,
	     struct tlb_gather *tlb)
{
	struct pt_move_arg a = { mm, (int64_t)(new - old), tlb };

	mm_assert_writer(mm, "pt_move");
	pt_for_each_leaf(&mm->pmap, old, old + len, pt_move_leaf, &a);
}

/* pt_count_tables: table pages in the subtree of the level-`level` table
 * at pa, itself included. */
static uint64_t pt_count_tables(paddr_t pa, int level)
{
	pte_t *t = pmap_pa_kva(pa);
	uint64_t n = 1;

	for (unsigned i = 0; level > 0 && i < PT_ENTRIES; i++)
		if (pte_present(pte_load(&t[i])))
			n += pt_count_tables(pte_pa(pte_load(&t[i])), level - 1);
	return n;
}

/* pt_free_subtree: free table pg and every table below it. Runs after the
 * flush and a grace period (mm/tlb.c): by then no walker is inside and no
 * fault can still link a level into it, so the scan is stable. Every PTE
 * below must be clear: a fault that raced the unmap backed out. */
void pt_free_subtree(struct page *pg)
{
	pte_t *t = pmap_page_kva(pg);

	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		pte_t v = pte_load(&t[i]);

		if (pg->level > 0 && pte_present(v))
			pt_free_subtree(pmap_pa_page(pte_pa(v)));
		else
			KASSERT(pg->level > 0 || !pte_mapped(v), "pt_free_subtree: PTE still mapped");
	}
	pmap_page_free(pg);
}

/* pt_detach: unlink the table that entry e (of a level-`level` table) points
 * to and queue its subtree on tlb. Only mm->lock writers detach; a fault can
 * only turn an empty entry into a table, so a plain store suffices. */
static void pt_detach(struct pmap *pm, pte_t *e, int level, struct tlb_gather *tlb)
{
	paddr_t pa = pte_pa(pte_load(e));

	pte_store(e, 0);
	ck_pr_sub_64(&pm->nr_pt, pt_count_tables(pa, level - 1));
	tlb_add_table(tlb, pmap_pa_page(pa));
}

/* pt_free_range_level: in the level-`level` table at pa covering from base,
 * detach every child table that lies inside [floor, ceil) and intersects
 * [start, end); descend into the others. */
static bool pt_free_range_level(struct pmap *pm, paddr_t pa, int level, uint64_t base,
				uint64_t start, uint64_t end, uint64_t floor, uint64_t ceil,
				struct tlb_gather *tlb)
{
	pte_t *t = pmap_pa_kva(pa);
	uint64_t span = pt_span(level);
	bool any = false;

	for (unsigned i = pt_index(start > base ? start : base, level); i < PT_ENTRIES; i++) {
		uint64_t a = base + i * span;
		pte_t v = pte_load(&t[i]);

		if (a >= end || (level == PT_LEVELS - 1 && i >= PT_ENTRIES / 2))
			break;
		if (!pte_present(v))
			continue;
		if (a >= floor && a + span <= ceil) {
			pt_detach(pm, &t[i], level, tlb);
			any = true;
		} else if (level > 1) {
			any |= pt_free_range_level(pm, pte_pa(v), level - 1, a, start, end, floor,
						   ceil, tlb);
		}
	}
	return any;
}

/* pt_free_range: free the page tables that only serve [floor, ceil), a
 * range with no mapping left, among those that intersect [start, end)
 * (Linux free_pgtables). Their range is added to the flush, for the MMU's
 * paging-structure caches. Every PTE in [floor, ceil) must be clear. */
void pt_free_range(struct mm *mm, uint64_t start, uint64_t end, uint64_t floor,
		   uint64_t ceil, struct tlb_gather *tlb)
{
	mm_assert_writer(mm, "pt_free_range");
	if (pt_free_range_level(&mm->pmap, mm->pmap.root, PT_LEVELS - 1, 0, start, end, floor,
				ceil, tlb))
		tlb_add_range(tlb, start, end);
}

/* pt_free_all: queue every user table below the root (teardown: every PTE
 * must already be zapped). The root itself is freed by pmap_fini. */
void pt_free_all(struct pmap *pm, struct tlb_gather *tlb)
{
	pte_t *root = pmap_pa_kva(pm->root);

	for (unsigned i = 0; i < PT_ENTRIES / 2; i++)
		if (pte_present(pte_load(&root[i])))
			pt_detach(pm, &root[i], PT_LEVELS - 1, tlb);
}

struct pt_count_arg {
	unsigned long n, zero;
};

static void pt_count_leaf(struct page *ptp, pte_t *pte, uint64_t va, unsigned n, void *arg)
{
	struct pt_count_arg *a = arg;

	for (unsigned i = 0; i < n; i++) {
		pte_t p = pte_load(&pte[i]);

		if (pte_mapped(p)) {
			a->n++;
			if (pmap_pa_page(pte_pa(p))->flags & PG_ZERO)
				a->zero++;
		}
	}
}

/* pt_count_mapped: mapped PTEs in [start, end); *zero: of which the zero
 * page (not counted in RSS, as in Linux). Racy unless writers are held. */
unsigned long pt_count_mapped(struct pmap *pm, uint64_t start, uint64_t end,
			      unsigned long *zero)
{
	struct pt_count_arg a = { 0, 0 };

	pt_for_each_leaf(pm, start, end, pt_count_leaf, &a);
	if (zero)
		*zero = a.zero;
	return a.n;
}
