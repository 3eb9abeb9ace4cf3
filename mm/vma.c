/*
 * mm/vma.c - mappings in the tree: find, split, merge, remove, and the
 * transaction that makes multi-step operations all-or-nothing.
 *
 * Every function requires mm->lock held for writing (the tree's writer
 * lock) unless it says otherwise. A vma is changed in place between
 * vma_write_begin and vma_write_end; a vma leaving the tree keeps an odd
 * seq forever and is freed after a grace period, so a lock-free fault that
 * still holds a pointer to it reads valid memory and always backs out.
 */
#include "mm/vma.h"
#include "mm/pgtable.h"
#include "mm/tlb.h"

int mm_txn_prepare(struct mm *mm, struct mm_txn *tx, unsigned nvmas, unsigned nstores)
{
	KASSERT(nvmas <= MM_TXN_MAX_VMAS, "mm_txn_prepare: %u vmas", nvmas);
	memset(tx, 0, sizeof(*tx));
	for (; tx->nspare < nvmas; tx->nspare++) {
		tx->spare[tx->nspare] = env_alloc(sizeof(struct vma));
		if (!tx->spare[tx->nspare])
			goto out_free_vmas;
	}
	if (nstores && mt_reserve(&mm->mt, nstores))
		goto out_free_vmas;
	tx->reserved = nstores != 0;
	return 0;

out_free_vmas:
	while (tx->nspare)
		env_free(tx->spare[--tx->nspare], sizeof(struct vma));
	return -ENOMEM;
}

/* mm_txn_vma: a spare vma; running out is a bug in the caller's count. */
struct vma *mm_txn_vma(struct mm_txn *tx)
{
	KASSERT(tx->nspare > 0, "mm_txn_vma: no spare vma reserved");
	return tx->spare[--tx->nspare];
}

void mm_txn_finish(struct mm *mm, struct mm_txn *tx)
{
	while (tx->nspare)
		env_free(tx->spare[--tx->nspare], sizeof(struct vma));
	if (tx->reserved)
		mt_reserve_release(&mm->mt);
	tx->reserved = false;
}

/* vma_find: the vma covering addr, or NULL (mm->lock held, either mode). */
struct vma *vma_find(struct mm *mm, uint64_t addr)
{
	struct vma *v;

	rcu_read_lock();
	v = mt_find(&mm->mt, addr, NULL);
	rcu_read_unlock();
	return v;
}

/* vma_seek: the lowest vma with end > addr, or NULL. */
struct vma *vma_seek(struct mm *mm, uint64_t addr)
{
	struct vma *v;

	rcu_read_lock();
	v = mt_seek(&mm->mt, addr, NULL);
	rcu_read_unlock();
	return v;
}

/* vma_prev: the highest vma with end <= addr, or NULL. */
struct vma *vma_prev(struct mm *mm, uint64_t addr)
{
	struct vma *v;

	rcu_read_lock();
	v = addr ? mt_prev(&mm->mt, addr, NULL) : NULL;
	rcu_read_unlock();
	return v;
}

void vma_init(struct vma *v, struct mm *mm, uint64_t start, uint64_t end, int prot,
	      uint32_t flags, struct vm_object *obj, uint64_t pgoff)
{
	memset(v, 0, sizeof(*v));
	v->start = start;
	v->end = end;
	v->prot = (uint32_t)prot;
	v->flags = flags;
	v->obj = obj;
	v->pgoff = pgoff;
	v->mm = mm;
	v->ref = 1;	/* the tree's */
	v->lseq = mm->wseq;	/* write-locked until this write section ends */
	seq_init(&v->seq);
}

/* vma_put: drop a reference; the last one frees v. The tree's reference
 * goes a grace period after v left the tree, so a put that frees runs
 * after every lock-free walker that found v in the tree is gone, and any
 * later user holds a reference of its own (a CPU's vcache slot). */
void vma_put(struct vma *v)
{
	if (ck_pr_faa_32(&v->ref, (uint32_t)-1) == 1)	/* ck: locked xadd, full barrier */
		env_free(v, sizeof(*v));
}

/* vma_insert: publish a fully initialised v into a free range. */
void vma_insert(struct mm *mm, struct vma *v)
{
	int err;

	mm_assert_writer(mm, "vma_insert");
	err = mt_store(&mm->mt, v->start, v->end - 1, v);
	KASSERT(err == 0, "vma_insert: reserved store failed (%d)", err);
	mm->nr_vmas++;
	mm->total_vm += vma_pages(v);
}

struct madvise_stats vma_lock_stats;	/* (A) the vma read lock's counters */

void madvise_stats_read(struct madvise_stats *out)
{
	out->vma_locked = ck_pr_load_64(&vma_lock_stats.vma_locked);
	out->mm_locked = ck_pr_load_64(&vma_lock_stats.mm_locked);
	out->writer_waits = ck_pr_load_64(&vma_lock_stats.writer_waits);
	out->writer_yields = ck_pr_load_64(&vma_lock_stats.writer_yields);
}

#define VMA_WAIT_SPINS 1000	/* ~50 us of pause, then yield */

/* vma_wait_readers: wait until v's read lock holders are gone. We enter
 * from vma_write_begin (v's seq odd, so no new holder gets in; mm->lock
 * held for writing, no spinlock). A holder never waits for mm->lock, only
 * for table locks and shootdown acknowledgements, which pmap_cpu_relax and
 * pmap_cpu_yield serve, so the wait ends. Spin first (a DONTNEED is short),
 * then yield, so that a holder preempted on this CPU gets to finish. */
void vma_wait_readers(struct vma *v)
{
	KASSERT(seq_raw(&v->seq) & 1, "vma_wait_readers: vma not write-locked");
	ck_pr_inc_64(&vma_lock_stats.writer_waits);
	for (unsigned spins = 0; ck_pr_load_32(&v->readers); spins++) {
		if (spins < VMA_WAIT_SPINS) {
			pmap_cpu_relax();
			continue;
		}
		if (spins == VMA_WAIT_SPINS)
			ck_pr_inc_64(&vma_lock_stats.writer_yields);
		pmap_cpu_yield();
	}
}

/* vma_read_held: some thread holds the read lock of a vma covering all of
 * [start, end) (not necessarily the caller: for assertions only). */
bool vma_read_held(struct mm *mm, uint64_t start, uint64_t end)
{
	struct vma *v;
	bool held;

	rcu_read_lock();
	v = mt_find(&mm->mt, start, NULL);
	held = v && v->start <= start && end <= v->end && ck_pr_load_32(&v->readers);
	rcu_read_unlock();
	return held;
}

static void vma_free_rcu(struct rcu_head *head)
{
	vma_put(container_of(head, struct vma, rcu));
}

/* vma_retire: v left the tree inside vma_write_begin (its seq stays odd);
 * the gather releases it after its flush (vma_release_retired), so the
 * object's pages outlive every stale TLB entry. */
void vma_retire(struct vma *v, struct tlb_gather *tlb)
{
	KASSERT(seq_raw(&v->seq) & 1, "vma_retire: vma not write-locked");
	v->mm->nr_vmas--;
	v->retire_next = tlb->vmas;
	tlb->vmas = v;
}

/* vma_release_retired: drop each vma's object, and the tree's reference
 * after a grace period (a lock-free fault may still hold a pointer to it). */
void vma_release_retired(struct vma *list)
{
	while (list) {
		struct vma *v = list;

		list = v->retire_next;
		if (v->obj)
			vm_object_put(v->obj);
		v->obj = NULL;
		call_rcu(&v->rcu, vma_free_rcu);
	}
}

void vma_free_unused(struct vma *v)
{
	env_free(v, sizeof(*v));
}

/* vma_split: v becomes [start, addr), a spare from tx becomes [addr, end). */
void vma_split(struct mm *mm, struct vma *v, uint64_t addr, struct mm_txn *tx)
{
	struct vma *nv = mm_txn_vma(tx);
	int err;

	mm_assert_writer(mm, "vma_split");
	KASSERT(addr > v->start && addr < v->end && !(addr & ~PAGE_MASK),
		"vma_split: %llx outside vma", (unsigned long long)addr);
	vma_init(nv, mm, addr, v->end, (int)v->prot, v->flags, v->obj,
		 v->pgoff + ((addr - v->start) >> PAGE_SHIFT));
	if (nv->obj)
		vm_object_get(nv->obj);
	vma_write_begin(v);
	v->end = addr;
	err = mt_store(&mm->mt, addr, nv->end - 1, nv);
	KASSERT(err == 0, "vma_split: reserved store failed (%d)", err);
	vma_write_end(v);
	mm->nr_vmas++;
}

/* vma_compatible: a immediately followed by b, and one mapping could
 * describe both. Private anonymous memory has no reverse map to fix up,
 * so any two such neighbours merge. */
static bool vma_compatible(const struct vma *a, const struct vma *b)
{
	if (!a || !b || a->end != b->start || a->prot != b->prot ||
	    a->flags != b->flags || a->obj != b->obj)
		return false;
	return !a->obj || a->pgoff + vma_pages(a) == b->pgoff;
}

/* vma_absorb: a takes over the range of its compatible successor b, which
 * is retired. Returns a. One tree store. */
static struct vma *vma_absorb(struct mm *mm, struct vma *a, struct vma *b,
			      struct tlb_gather *tlb)
{
	int err;

	vma_write_begin(a);
	vma_write_begin(b);	/* b's seq stays odd: it is retired */
	a->end = b->end;
	err = mt_store(&mm->mt, a->start, a->end - 1, a);
	KASSERT(err == 0, "vma_absorb: reserved store failed (%d)", err);
	vma_write_end(a);
	vma_retire(b, tlb);
	return a;
}

/* vma_merge: coalesce v with its previous neighbour and with as many
 * following ones as are compatible; returns the vma that now covers v's
 * range. One tree store per absorbed vma. Every operation leaves all
 * compatible neighbours merged, so a vma that is new or changed alone
 * absorbs at most one of each side: mmap reserves 2 merge stores on that
 * (a third trips mt's txn_stores KASSERT); mprotect, whose range may hold
 * many vmas made compatible at once, reserves one per vma. */
struct vma *vma_merge(struct mm *mm, struct vma *v, struct tlb_gather *tlb)
{
	struct vma *prev = vma_prev(mm, v->start), *next;

	mm_assert_writer(mm, "vma_merge");
	if (vma_compatible(prev, v))
		v = vma_absorb(mm, prev, v, tlb);
	while (v->end < USER_VA_END && (next = vma_find(mm, v->end)) && vma_compatible(v, next))
		v = vma_absorb(mm, v, next, tlb);
	return v;
}

/* mm_range_free: no mapping intersects [start, end). */
bool mm_range_free(struct mm *mm, uint64_t start, uint64_t end)
{
	struct vma *v = vma_seek(mm, start);

	return !v || v->start >= end;
}

/* mm_range_mapped: bytes of [start, end) covered by mappings. */
uint64_t mm_range_mapped(struct mm *mm, uint64_t start, uint64_t end)
{
	struct mt_range rng;
	struct vma *v;
	uint64_t n = 0;

	rcu_read_lock();
	mt_for_each(&mm->mt, v, start, end - 1, rng)
		n += (v->end < end ? v->end : end) - (v->start > start ? v->start : start);
	rcu_read_unlock();
	return n;
}

/* mm_range_splits: how many splits mm_split_range(start, end) will make
 * (0-2): one per boundary that falls inside a vma. Writer lock held. */
unsigned mm_range_splits(struct mm *mm, uint64_t start, uint64_t end)
{
	struct vma *v = vma_find(mm, start), *w = vma_find(mm, end - 1);

	mm_assert_writer(mm, "mm_range_splits");
	return (v && v->start < start) + (w && w->end > end);
}

/* mm_split_range: split the vmas straddling start and end so that the
 * range is covered by whole vmas. Needs mm_range_splits() spare vmas and
 * as many stores (at most 2). */
void mm_split_range(struct mm *mm, uint64_t start, uint64_t end, struct mm_txn *tx)
{
	struct vma *v = vma_find(mm, start);

	mm_assert_writer(mm, "mm_split_range");
	if (v && v->start < start)
		vma_split(mm, v, start, tx);
	v = vma_find(mm, end - 1);
	if (v && v->end > end)
		vma_split(mm, v, end, tx);
}

/* mm_unmap_locked: remove every mapping in [start, end) and clear its PTEs
 * into tlb. Needs mm_range_splits() spare vmas and one store more in tx
 * (none if the range is free; at most 2 and 3); cannot fail. */
void mm_unmap_locked(struct mm *mm, uint64_t start, uint64_t end,
		     struct mm_txn *tx, struct tlb_gather *tlb)
{
	struct vma *v;
	struct mt_range rng;
	bool any = false;
	int err;

	mm_assert_writer(mm, "mm_unmap_locked");
	mm_split_range(mm, start, end, tx);
	mt_for_each(&mm->mt, v, start, end - 1, rng) {
		vma_write_begin(v);	/* never ended: v is leaving */
		DEBUG_YIELD();
		pt_zap(mm, v->start, v->end, tlb);
		mm->total_vm -= vma_pages(v);
		vma_retire(v, tlb);	/* queued on tlb; the tree still points at it */
		any = true;
	}
	if (!any)
		return;
	err = mt_erase(&mm->mt, start, end - 1);
	KASSERT(err == 0, "mm_unmap_locked: reserved erase failed (%d)", err);
}

/* mm_free_tables: after [start, end) was unmapped, free the page tables
 * that only served the gap between the surrounding mappings. */
void mm_free_tables(struct mm *mm, uint64_t start, uint64_t end, struct tlb_gather *tlb)
{
	struct vma *prev = vma_prev(mm, start), *next = vma_seek(mm, end);

	pt_free_range(mm, start, end, prev ? prev->end : 0, next ? next->start : USER_VA_END,
		      tlb);
}

/* mm_get_area: where to put len bytes: the hint if it is free and valid,
 * else the highest free range below mmap_base. 0 or -ENOMEM. */
int mm_get_area(struct mm *mm, uint64_t hint, uint64_t len, uint64_t *out)
{
	hint = (hint + PAGE_SIZE - 1) & PAGE_MASK;
	if (hint >= MM_MMAP_MIN && hint + len > hint && hint + len <= USER_VA_END &&
	    mm_range_free(mm, hint, hint + len)) {
		*out = hint;
		return 0;
	}
	if (len > mm->mmap_base - MM_MMAP_MIN)
		return -ENOMEM;
	return mt_gap_find(&mm->mt, MM_MMAP_MIN, mm->mmap_base - 1, len, PAGE_SIZE, true,
			   out) ? -ENOMEM : 0;
}
