/*
 * mm/mremap.c - mremap: shrink, grow in place, or move by moving page-table
 * entries (never copying pages), with MREMAP_MAYMOVE, MREMAP_FIXED and
 * MREMAP_DONTUNMAP. Linux's errors, except that every failure leaves the
 * address space unchanged (Linux unmaps a MREMAP_FIXED destination before
 * it can still fail). old_len == 0 duplicates a shared mapping (a second
 * mapping of the same object pages, as Linux keeps for DOS emulators) and is
 * -EINVAL for a private one. The page tables that only served a range that
 * was moved away or cut off are freed, as after munmap.
 */
#include "mm/vma.h"
#include "mm/pgtable.h"
#include "mm/tlb.h"

static inline uint64_t page_align_up(uint64_t x)
{
	return (x + PAGE_SIZE - 1) & PAGE_MASK;
}

/* mremap_check: argument checks that need no lock; 0 or -EINVAL. */
static int mremap_check(uint64_t old, uint64_t old_len, uint64_t new_len, int flags,
			uint64_t new_addr)
{
	if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP))
		return -EINVAL;
	if ((flags & (MREMAP_FIXED | MREMAP_DONTUNMAP)) && !(flags & MREMAP_MAYMOVE))
		return -EINVAL;
	if ((flags & MREMAP_DONTUNMAP) && old_len != new_len)
		return -EINVAL;
	if ((old & ~PAGE_MASK) || !new_len)
		return -EINVAL;
	if (page_align_up(new_len) < new_len || page_align_up(old_len) < old_len)
		return -EINVAL;
	new_len = page_align_up(new_len);
	if (flags & MREMAP_FIXED) {
		if ((new_addr & ~PAGE_MASK) || new_len > USER_VA_END ||
		    new_addr > USER_VA_END - new_len)
			return -EINVAL;
		if (new_addr < old + page_align_up(old_len) && old < new_addr + new_len)
			return -EINVAL;
	}
	return 0;
}

/* mremap_grow: extend v (ending at old + old_len) in place to new_end. */
static int mremap_grow(struct mm *mm, struct vma *v, uint64_t new_end)
{
	struct tlb_gather tlb;
	struct mm_txn tx;
	int err;

	if (mm_txn_prepare(mm, &tx, 0, 3))
		return -ENOMEM;
	tlb_gather_init(&tlb, mm);
	vma_write_begin(v);
	mm->total_vm += (new_end - v->end) >> PAGE_SHIFT;
	v->end = new_end;
	err = mt_store(&mm->mt, v->start, v->end - 1, v);
	KASSERT(err == 0, "mremap_grow: reserved store failed (%d)", err);
	vma_write_end(v);
	vma_merge(mm, v, &tlb);
	mm_txn_finish(mm, &tx);
	tlb_finish(&tlb);
	return 0;
}

/* mremap_move: move [old, old + old_len) to [dst, dst + new_len).
 * 0, or -ENOMEM with nothing changed. */
static int mremap_move(struct mm *mm, uint64_t old, uint64_t old_len, uint64_t dst,
		       uint64_t new_len, int flags)
{
	uint64_t move_len = old_len < new_len ? old_len : new_len;
	struct tlb_gather tlb;
	struct mm_txn tx;
	struct vma *v, *nv;

	if (mm_txn_prepare(mm, &tx, 5, 10))
		return -ENOMEM;
	if (pt_prealloc_all(&mm->pmap, dst, dst + move_len)) {
		mm_txn_finish(mm, &tx);	/* the empty tables made stay */
		return -ENOMEM;
	}
	/* Point of no return. */
	tlb_gather_init(&tlb, mm);
	if (flags & MREMAP_FIXED)
		mm_unmap_locked(mm, dst, dst + new_len, &tx, &tlb);
	v = vma_find(mm, old);	/* again: the unmap may have split it */
	nv = mm_txn_vma(&tx);
	vma_init(nv, mm, dst, dst + new_len, (int)v->prot, v->flags, v->obj,
		 v->pgoff + ((old - v->start) >> PAGE_SHIFT));
	if (nv->obj)
		vm_object_get(nv->obj);
	vma_write_begin(v);
	pt_move(mm, old, dst, move_len, &tlb);
	vma_write_end(v);
	vma_insert(mm, nv);	/* after the move: a fault cannot fill it first */
	if (!(flags & MREMAP_DONTUNMAP) && old_len) {
		mm_unmap_locked(mm, old, old + old_len, &tx, &tlb);
		mm_free_tables(mm, old, old + old_len, &tlb);
	}
	vma_merge(mm, nv, &tlb);
	mm_txn_finish(mm, &tx);
	tlb_finish(&tlb);
	return 0;
}

static bool mremap_may_expand(struct mm *mm, uint64_t npages)
{
	return mm->rlimit_as == MM_NO_LIMIT ||
	       (mm->total_vm + npages) << PAGE_SHIFT <= mm->rlimit_as;
}

/* mremap_locked: the decision tree of mremap with mm->lock held. */
static int mremap_locked(struct mm *mm, uint64_t old, uint64_t old_len, uint64_t new_len,
			 int flags, uint64_t new_addr, uint64_t *out)
{
	struct vma *v = vma_find(mm, old);
	uint64_t grow = new_len > old_len ? (new_len - old_len) >> PAGE_SHIFT : 0;
	int err;

	if (!v || old + old_len > v->end || old + old_len < old)
		return -EFAULT;
	if (!old_len && !(v->flags & VM_SHARED))
		return -EINVAL;	/* a "duplicate" of private memory would be new memory */
	if ((flags & MREMAP_DONTUNMAP) && (v->obj || (v->flags & VM_SHARED)))
		return -EINVAL;
	if (flags & MREMAP_FIXED) {
		uint64_t pages;

		if (!old_len && new_addr <= old && old < new_addr + new_len)
			return -EFAULT;	/* Linux unmaps the source, then finds no vma */
		pages = (flags & MREMAP_DONTUNMAP) ? new_len >> PAGE_SHIFT : grow;

		pages -= mm_range_mapped(mm, new_addr, new_addr + new_len) >> PAGE_SHIFT;
		if ((int64_t)pages > 0 && !mremap_may_expand(mm, pages))
			return -ENOMEM;
		*out = new_addr;
		return mremap_move(mm, old, old_len, new_addr, new_len, flags);
	}
	if (new_len < old_len && !(flags & MREMAP_DONTUNMAP)) {
		struct tlb_gather tlb;
		struct mm_txn tx;

		if (mm_txn_prepare(mm, &tx, 2, 3))
			return -ENOMEM;
		tlb_gather_init(&tlb, mm);
		mm_unmap_locked(mm, old + new_len, old + old_len, &tx, &tlb);
		mm_free_tables(mm, old + new_len, old + old_len, &tlb);
		mm_txn_finish(mm, &tx);
		tlb_finish(&tlb);
		*out = old;
		return 0;
	}
	if (new_len == old_len && !(flags & MREMAP_DONTUNMAP)) {
		*out = old;
		return 0;
	}
	if (!mremap_may_expand(mm, (flags & MREMAP_DONTUNMAP) ? new_len >> PAGE_SHIFT : grow))
		return -ENOMEM;
	if (!(flags & MREMAP_DONTUNMAP) && old + old_len == v->end &&
	    old + new_len <= USER_VA_END && mm_range_free(mm, v->end, old + new_len)) {
		*out = old;
		return mremap_grow(mm, v, old + new_len);
	}
	if (!(flags & MREMAP_MAYMOVE))
		return -ENOMEM;
	err = mm_get_area(mm, 0, new_len, out);
	return err ? err : mremap_move(mm, old, old_len, *out, new_len, flags);
}

/* mm_mremap: see the file comment. 0 and *out (the new address), or
 * -EINVAL, -EFAULT, -ENOMEM with nothing changed. */
int mm_mremap(struct mm *mm, uint64_t old, uint64_t old_len, uint64_t new_len,
	      int flags, uint64_t new_addr, uint64_t *out)
{
	uint64_t res;
	int err = mremap_check(old, old_len, new_len, flags, new_addr);

	if (err)
		return err;
	mm_lock_write(mm);
	err = mremap_locked(mm, old, page_align_up(old_len), page_align_up(new_len), flags,
			    new_addr, &res);
	mm_unlock_write(mm);
	if (!err)
		*out = res;
	return err;
}
