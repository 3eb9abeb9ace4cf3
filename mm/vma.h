/*
 * mm/vma.h - mapping helpers shared by the operations (internal to mm/).
 *
 * Every function here requires mm->lock held for writing. Tree changes use
 * nodes set aside by mm_txn_prepare(), and new vmas come from the same
 * transaction, so nothing after the point of no return can fail.
 *
 * Transactions: mm_txn_prepare(mm, tx, nvmas, nstores) allocates nvmas spare
 * vmas and reserves tree nodes for nstores stores: 0 or -ENOMEM with nothing
 * held. Then the operation runs without failing, taking spares with
 * mm_txn_vma(); mm_txn_finish() frees what was not used.
 */
#ifndef KESTREL_MM_VMA_H
#define KESTREL_MM_VMA_H

#include "mm/mm.h"

struct tlb_gather;

#define MM_TXN_MAX_VMAS 6

struct mm_txn {
	struct vma *spare[MM_TXN_MAX_VMAS];
	unsigned nspare;
	bool reserved;
};

int mm_txn_prepare(struct mm *mm, struct mm_txn *tx, unsigned nvmas, unsigned nstores);
struct vma *mm_txn_vma(struct mm_txn *tx);
void mm_txn_finish(struct mm *mm, struct mm_txn *tx);

static inline uint64_t vma_pages(const struct vma *v)
{
	return (v->end - v->start) >> PAGE_SHIFT;
}

void vma_wait_readers(struct vma *v);
extern struct madvise_stats vma_lock_stats;

/* vma_write_begin/end: bracket changes of a vma's fields or PTEs. We enter
 * with mm->lock held for writing; we return once no vma read lock holder
 * is left, and none gets in until mm_unlock_write (lseq). */
static inline void vma_write_begin(struct vma *v)
{
	seq_write_begin(&v->seq);
	ck_pr_store_32(&v->lseq, ck_pr_load_32(&v->mm->wseq));
	/* Full fence: the odd count must be visible before we read any table
	 * entry or the readers count; else (store->load reordering) we could
	 * see a level empty, a fault could then CAS a new table there, lock it
	 * and still read the old count (mm/fault.c, "why it is safe"), or we
	 * could read no readers while one reads the old count
	 * (vma_read_trylock). */
	ck_pr_fence_memory();
	if (unlikely(ck_pr_load_32(&v->readers)))
		vma_wait_readers(v);
	ck_pr_fence_acquire();	/* the last holder's changes before ours */
}

static inline void vma_write_end(struct vma *v)
{
	seq_write_end(&v->seq);
}

/* vma_read_unlock: drop the read lock of vma_read_trylock. */
static inline void vma_read_unlock(struct vma *v)
{
	ck_pr_fence_release();	/* our PTE changes before a writer sees zero */
	ck_pr_dec_32(&v->readers);
}

/* vma_read_trylock: the vma read lock, which excludes v's writers (their
 * vma_write_begin waits for it) and nothing else. We enter inside
 * rcu_read_lock, with v found in the tree and seq read even from it; on
 * success v stays in the tree, unchanged, until vma_read_unlock, even
 * after rcu_read_unlock. Fails if a writer began since seq was read, or
 * if the write section that created or last changed v has not ended: its
 * TLB flush may still be due (a vma that mremap just filled with moved
 * PTEs is in the tree before the source range is flushed). */
static inline bool vma_read_trylock(struct vma *v, unsigned seq)
{
	ck_pr_inc_32(&v->readers);
	/* Full fence: the count before the re-reads of seq and lseq; pairs
	 * with the one in vma_write_begin (one of the two sees the other). */
	ck_pr_fence_memory();
	if (likely(!seq_read_retry(&v->seq, seq) &&
		   ck_pr_load_32(&v->lseq) != ck_pr_load_32(&v->mm->wseq))) {
		ck_pr_fence_acquire();	/* the ended section's changes before ours */
		return true;
	}
	vma_read_unlock(v);
	return false;
}

bool vma_read_held(struct mm *mm, uint64_t start, uint64_t end);

/* mm_assert_writer: the lock contract of every function in this file. */
#define mm_assert_writer(mm, fn) \
	KASSERT(rwsem_write_held(&(mm)->lock), "%s: mm->lock not held for writing", (fn))

/* mm_assert_locked: mm->lock held in either mode (readers are not tracked,
 * so this cannot tell that the holder is the caller). */
#define mm_assert_locked(mm, fn) \
	KASSERT(rwsem_held(&(mm)->lock), "%s: mm->lock not held", (fn))

struct vma *vma_find(struct mm *mm, uint64_t addr);
struct vma *vma_seek(struct mm *mm, uint64_t addr);
struct vma *vma_prev(struct mm *mm, uint64_t addr);
void vma_init(struct vma *v, struct mm *mm, uint64_t start, uint64_t end, int prot,
	      uint32_t flags, struct vm_object *obj, uint64_t pgoff);
void vma_insert(struct mm *mm, struct vma *v);
void vma_split(struct mm *mm, struct vma *v, uint64_t addr, struct mm_txn *tx);
struct vma *vma_merge(struct mm *mm, struct vma *v, struct tlb_gather *tlb);
void vma_retire(struct vma *v, struct tlb_gather *tlb);
void vma_release_retired(struct vma *list);
void vma_free_unused(struct vma *v);
void vma_put(struct vma *v);
bool mm_range_free(struct mm *mm, uint64_t start, uint64_t end);
uint64_t mm_range_mapped(struct mm *mm, uint64_t start, uint64_t end);
unsigned mm_range_splits(struct mm *mm, uint64_t start, uint64_t end);
void mm_split_range(struct mm *mm, uint64_t start, uint64_t end, struct mm_txn *tx);
void mm_unmap_locked(struct mm *mm, uint64_t start, uint64_t end,
		     struct mm_txn *tx, struct tlb_gather *tlb);
void mm_free_tables(struct mm *mm, uint64_t start, uint64_t end, struct tlb_gather *tlb);
int mm_get_area(struct mm *mm, uint64_t hint, uint64_t len, uint64_t *out);

#endif
