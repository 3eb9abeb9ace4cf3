/*
 * mm/mmap.c - mmap, munmap, mprotect, madvise(DONTNEED) and brk.
 *
 * Each operation follows the same shape: validate (errno, nothing
 * changed); take mm->lock for writing; allocate everything it may need
 * (mm_txn_prepare: spare vmas and tree nodes; objects) and undo those on
 * failure; then the point of no return, after which nothing can fail; then
 * one batched TLB flush (tlb_finish) that frees the gathered frames.
 */
#include "mm/vma.h"
#include "mm/pgtable.h"
#include "mm/tlb.h"

#define PROT_ALL (PROT_READ | PROT_WRITE | PROT_EXEC)

static inline uint64_t page_align_up(uint64_t x)
{
	return (x + PAGE_SIZE - 1) & PAGE_MASK;
}

/* mmap_check: Linux's argument checks; 0 or negative errno. */
static int mmap_check(uint64_t addr, uint64_t len, int prot, int flags)
{
	int type = flags & (MAP_SHARED | MAP_PRIVATE);

	if (!len || (prot & ~PROT_ALL))
		return -EINVAL;
	if (type != MAP_SHARED && type != MAP_PRIVATE)
		return -EINVAL;
	if (page_align_up(len) < len || page_align_up(len) == 0)
		return -ENOMEM;
	if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) && (addr & ~PAGE_MASK))
		return -EINVAL;
	return 0;
}

/* mmap_place: choose [*addr, *addr + len) per flags; 0, -EEXIST, -ENOMEM. */
static int mmap_place(struct mm *mm, uint64_t *addr, uint64_t len, int flags)
{
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		if (*addr + len < *addr || *addr + len > USER_VA_END)
			return -ENOMEM;
		if ((flags & MAP_FIXED_NOREPLACE) && !mm_range_free(mm, *addr, *addr + len))
			return -EEXIST;
		return 0;
	}
	return mm_get_area(mm, *addr, len, addr);
}

/* mm_may_expand: RLIMIT_AS allows npages more pages of mappings. */
static bool mm_may_expand(struct mm *mm, uint64_t npages)
{
	return mm->rlimit_as == MM_NO_LIMIT ||
	       (mm->total_vm + npages) << PAGE_SHIFT <= mm->rlimit_as;
}

/* mm_mmap_object: map obj (or anonymous memory if obj is NULL) at a place
 * chosen per flags. MAP_SHARED|MAP_ANONYMOUS gets a new shmem object.
 * 0 and *out, or -EINVAL/-ENOMEM/-EEXIST with nothing changed. The
 * caller's reference to obj is not consumed. */
int mm_mmap_object(struct mm *mm, uint64_t addr, uint64_t len, int prot,
		   int flags, struct vm_object *obj, uint64_t pgoff, uint64_t *out)
{
	struct tlb_gather tlb;
	struct mm_txn tx;
	struct vma *v;
	uint64_t mapped;
	unsigned splits;
	int err = mmap_check(addr, len, prot, flags);

	if (err)
		return err;
	len = page_align_up(len);
	mm_lock_write(mm);
	err = mmap_place(mm, &addr, len, flags);
	if (err)
		goto out_unlock;
	err = -ENOMEM;
	mapped = (flags & MAP_FIXED) ? mm_range_mapped(mm, addr, addr + len) : 0;
	if (!mm_may_expand(mm, (len - mapped) >> PAGE_SHIFT))
		goto out_unlock;
	/* Reserve for the stores this mmap will make: the insert and up to
	 * two merges, and over mappings their unmap (its splits, one erase).
	 * The usual free range needs 3 worst cases, not 6: ~3x fewer nodes. */
	splits = mapped ? mm_range_splits(mm, addr, addr + len) : 0;
	if (mm_txn_prepare(mm, &tx, 1 + splits, 3 + (mapped ? splits + 1 : 0)))
		goto out_unlock;
	if (obj)
		vm_object_get(obj);
	else if (flags & MAP_SHARED)
		obj = vm_object_create_shmem(len >> PAGE_SHIFT);
	if ((flags & MAP_SHARED) && !obj)
		goto out_txn;
	/* Point of no return. */
	tlb_gather_init(&tlb, mm);
	if (mapped)
		mm_unmap_locked(mm, addr, addr + len, &tx, &tlb);
	v = mm_txn_vma(&tx);
	vma_init(v, mm, addr, addr + len, prot, (flags & MAP_SHARED) ? VM_SHARED : 0, obj,
		 pgoff);
	vma_insert(mm, v);
	vma_merge(mm, v, &tlb);
	mm_txn_finish(mm, &tx);
	tlb_finish(&tlb);
	mm_unlock_write(mm);
	*out = addr;
	return 0;

out_txn:
	mm_txn_finish(mm, &tx);
out_unlock:
	mm_unlock_write(mm);
	return err;
}

/* mm_mmap: anonymous memory (MAP_ANONYMOUS is implied: files go through
 * mm_mmap_object). */
int mm_mmap(struct mm *mm, uint64_t addr, uint64_t len, int prot, int flags,
	    uint64_t *out)
{
	return mm_mmap_object(mm, addr, len, prot, flags, NULL, 0, out);
}

/* range_check: a page-aligned, non-wrapping user range; 0 or -EINVAL. */
static int range_check(uint64_t addr, uint64_t len)
{
	if ((addr & ~PAGE_MASK) || addr >= USER_VA_END)
		return -EINVAL;
	if (page_align_up(len) < len || addr + page_align_up(len) < addr ||
	    addr + page_align_up(len) > USER_VA_END)
		return -EINVAL;
	return 0;
}

/* mm_munmap: remove every mapping in [addr, addr + len), holes allowed.
 * 0, -EINVAL, or -ENOMEM (a split could not allocate; nothing changed). */
int mm_munmap(struct mm *mm, uint64_t addr, uint64_t len)
{
	struct tlb_gather tlb;
	struct mm_txn tx;
	unsigned splits;
	int err = range_check(addr, len);

	if (err || !len)
		return len ? err : -EINVAL;
	len = page_align_up(len);
	mm_lock_write(mm);
	if (mm_range_free(mm, addr, addr + len))
		goto out_unlock;
	splits = mm_range_splits(mm, addr, addr + len);
	err = mm_txn_prepare(mm, &tx, splits, splits + 1);
	if (err)
		goto out_unlock;
	tlb_gather_init(&tlb, mm);
	mm_unmap_locked(mm, addr, addr + len, &tx, &tlb);
	mm_free_tables(mm, addr, addr + len, &tlb);
	mm_txn_finish(mm, &tx);
	tlb_finish(&tlb);
out_unlock:
	mm_unlock_write(mm);
	return err;
}

/* mprotect_count: vmas covering [start, end) without a hole; -ENOMEM on a
 * hole (as Linux). */
static long mprotect_count(struct mm *mm, uint64_t start, uint64_t end)
{
	struct mt_range rng;
	struct vma *v;
	uint64_t at = start;
	long n = 0;

	mt_for_each(&mm->mt, v, start, end - 1, rng) {
		if (v->start > at)
			return -ENOMEM;
		at = v->end;
		n++;
	}
	return at >= end ? n : -ENOMEM;
}

/* mm_merge_range: merge every vma in [start, end) with its neighbours. */
static void mm_merge_range(struct mm *mm, uint64_t start, uint64_t end,
			   struct tlb_gather *tlb)
{
	struct vma *v = vma_find(mm, start);

	while (v) {
		v = vma_merge(mm, v, tlb);
		if (v->end >= end || v->end >= USER_VA_END)
			break;
		v = vma_find(mm, v->end);
	}
}

/* mm_mprotect: set prot on [addr, addr + len), splitting and re-merging.
 * 0, -EINVAL, or -ENOMEM (hole in the range, or out of memory: unchanged). */
int mm_mprotect(struct mm *mm, uint64_t addr, uint64_t len, int prot)
{
	struct tlb_gather tlb;
	struct mt_range rng;
	struct mm_txn tx;
	struct vma *v;
	uint64_t end;
	long n;
	int err;

	/* Linux's order: unaligned start, empty, wrapping (-ENOMEM), bad prot;
	 * a range past the user half has no mappings: -ENOMEM. */
	if (addr & ~PAGE_MASK)
		return -EINVAL;
	if (!len)
		return 0;
	if (page_align_up(len) < len || addr + page_align_up(len) <= addr)
		return -ENOMEM;
	if (prot & ~PROT_ALL)
		return -EINVAL;
	end = addr + page_align_up(len);
	if (end > USER_VA_END)
		return -ENOMEM;
	mm_lock_write(mm);
	n = mprotect_count(mm, addr, end);
	err = n < 0 ? (int)n : mm_txn_prepare(mm, &tx, 2, (unsigned)n + 4);
	if (err)
		goto out_unlock;
	tlb_gather_init(&tlb, mm);
	mm_split_range(mm, addr, end, &tx);
	mt_for_each(&mm->mt, v, addr, end - 1, rng) {
		vma_write_begin(v);
		v->prot = (uint32_t)prot;
		pt_protect(mm, v->start, v->end, prot, v->flags & VM_SHARED, &tlb);
		vma_write_end(v);
	}
	mm_merge_range(mm, addr, end, &tlb);
	mm_txn_finish(mm, &tx);
	tlb_finish(&tlb);
out_unlock:
	mm_unlock_write(mm);
	return err;
}

/* madvise_hint: advice Linux accepts that changes nothing observable here
 * (NORMAL, RANDOM, SEQUENTIAL, WILLNEED, FREE - contents may stay -, and
 * DONTFORK .. PAGEOUT, which only tune policy). */
static bool madvise_hint(int advice)
{
	return (advice >= 0 && advice <= 3) || advice == 8 || (advice >= 10 && advice <= 21);
}

/* madvise_zap: drop the pages of [addr, end) in every vma it meets (one:
 * the vma that covers all of it, or NULL to look them up); the bytes the
 * vmas covered. We enter with the vmas held still (mm->lock for reading, or
 * one's read lock), and return with them still held.
 *
 * Only PTEs change, each under its table lock, so the vmas' seqs stay
 * alone (two DONTNEEDs may run at once, and a seq has one writer), and
 * faults race with the zap instead of backing out: a fault that read a PTE
 * before the zap cleared it finds it changed under the table lock and
 * retries (fault_install); one that read it empty installs a fresh page,
 * which is the outcome of a fault after the DONTNEED. Either order is one
 * Linux allows. Tables are not freed here, so walkers need no more. Two
 * DONTNEEDs of one range: mm->zapping makes the second flush what the
 * first cleared (found in review: it returned before the first's flush,
 * and a CPU still reached the dropped page through its TLB). */
static uint64_t madvise_zap(struct mm *mm, uint64_t addr, uint64_t end, struct vma *one)
{
	struct tlb_gather tlb;
	struct mt_range rng;
	struct vma *v;
	uint64_t covered = 0;

	tlb_gather_init(&tlb, mm);
	ck_pr_inc_32(&mm->zapping);	/* ck: locked inc, full barrier: before our zaps */
	if (one) {
		pt_zap(mm, addr, end, &tlb);
		covered = end - addr;
	} else {
		mt_for_each(&mm->mt, v, addr, end - 1, rng) {
			uint64_t s = v->start > addr ? v->start : addr;
			uint64_t e = v->end < end ? v->end : end;

			pt_zap(mm, s, e, &tlb);
			covered += e - s;
		}
	}
	/* Another DONTNEED may have cleared PTEs of our range that we then
	 * found empty, and not flushed them yet: flush the whole range, so
	 * that no CPU can reach a dropped page once we return (Linux's
	 * mm_tlb_flush_nested). Its increment came before its clears, which
	 * came before our reads of them under the same table locks. */
	if (ck_pr_load_32(&mm->zapping) > 1)
		tlb_add_range(&tlb, addr, end);
	tlb_finish(&tlb);
	ck_pr_dec_32(&mm->zapping);	/* ck: locked dec, full barrier: after our flush */
	return covered;
}

/* madvise_vma_lock: the vma covering all of [addr, end), read-locked
 * (vma_read_trylock), or NULL: the range spans vmas or holes, or a writer
 * is changing the vma (the caller then takes mm->lock, as Linux's
 * lock_vma_under_rcu falls back to mmap_lock). */
static struct vma *madvise_vma_lock(struct mm *mm, uint64_t addr, uint64_t end)
{
	struct vma *v;
	unsigned seq;

	rcu_read_lock();
	v = mt_find(&mm->mt, addr, NULL);
	if (v && (!seq_read_try_begin(&v->seq, &seq) || !vma_read_trylock(v, seq)))
		v = NULL;
	rcu_read_unlock();	/* a read-locked vma stays in the tree */
	if (v && (v->start > addr || v->end < end)) {	/* stable once locked */
		vma_read_unlock(v);
		v = NULL;
	}
	return v;
}

/* madvise_dontneed: zap [addr, end) under the lightest lock that keeps its
 * vmas still: the one vma's read lock, else mm->lock for reading. The
 * bytes the vmas covered. */
static uint64_t madvise_dontneed(struct mm *mm, uint64_t addr, uint64_t end)
{
	struct vma *one = madvise_vma_lock(mm, addr, end);
	uint64_t covered;

	if (one) {
		covered = madvise_zap(mm, addr, end, one);
		vma_read_unlock(one);
		ck_pr_inc_64(&vma_lock_stats.vma_locked);
	} else {
		mm_lock_read(mm);
		covered = madvise_zap(mm, addr, end, NULL);
		mm_unlock_read(mm);
		ck_pr_inc_64(&vma_lock_stats.mm_locked);
	}
	return covered;
}

/* mm_madvise: MADV_DONTNEED drops the pages of [addr, addr + len): private
 * memory reads back as zeros, shared memory keeps its object's contents;
 * the hints above only check the range. 0, -EINVAL (unknown advice,
 * unaligned or wrapping range), or -ENOMEM if part of the range was
 * unmapped (the mapped parts are still dropped, as Linux).
 *
 * A range inside one vma takes only that vma's read lock (Linux 6.16's
 * per-VMA lock for MADV_DONTNEED): mmap/munmap elsewhere in the mm go on,
 * and only a writer of this vma waits. Any other range holds mm->lock for
 * reading, as Linux did before. */
int mm_madvise(struct mm *mm, uint64_t addr, uint64_t len, int advice)
{
	uint64_t end, covered;

	if ((advice != MADV_DONTNEED && !madvise_hint(advice)) || (addr & ~PAGE_MASK))
		return -EINVAL;
	if ((len && !page_align_up(len)) || addr + page_align_up(len) < addr)
		return -EINVAL;
	if (!len)
		return 0;
	end = addr + page_align_up(len);
	if (advice == MADV_DONTNEED) {
		covered = madvise_dontneed(mm, addr, end);
	} else {
		mm_lock_read(mm);
		covered = mm_range_mapped(mm, addr, end);
		mm_unlock_read(mm);
	}
	return covered == end - addr ? 0 : -ENOMEM;
}

/* brk_grow: map [from, to) as heap; 0 or negative errno, nothing changed. */
static int brk_grow(struct mm *mm, uint64_t from, uint64_t to)
{
	struct tlb_gather tlb;
	struct mm_txn tx;
	struct vma *v;

	/* Linux keeps a free page between the break and the next mapping */
	if (to > mm->mmap_base || !mm_range_free(mm, from, to + PAGE_SIZE) ||
	    !mm_may_expand(mm, (to - from) >> PAGE_SHIFT))
		return -ENOMEM;
	if (mm_txn_prepare(mm, &tx, 1, 3))
		return -ENOMEM;
	tlb_gather_init(&tlb, mm);
	v = mm_txn_vma(&tx);
	vma_init(v, mm, from, to, PROT_READ | PROT_WRITE, 0, NULL, 0);
	vma_insert(mm, v);
	vma_merge(mm, v, &tlb);
	mm_txn_finish(mm, &tx);
	tlb_finish(&tlb);
	return 0;
}

/* brk_shrink: unmap [from, to); 0 or -ENOMEM, nothing changed. */
static int brk_shrink(struct mm *mm, uint64_t from, uint64_t to)
{
	struct tlb_gather tlb;
	struct mm_txn tx;

	if (mm_txn_prepare(mm, &tx, 2, 3))
		return -ENOMEM;
	tlb_gather_init(&tlb, mm);
	mm_unmap_locked(mm, from, to, &tx, &tlb);
	mm_free_tables(mm, from, to, &tlb);
	mm_txn_finish(mm, &tx);
	tlb_finish(&tlb);
	return 0;
}

/* mm_brk: Linux sys_brk: move the program break to newbrk and return the
 * resulting break (the old one when the move is refused). */
uint64_t mm_brk(struct mm *mm, uint64_t newbrk)
{
	uint64_t oldend, newend, ret;
	int err = 0;

	mm_lock_write(mm);
	if (newbrk < mm->brk_start || newbrk > USER_VA_END)	/* no wrap in page_align_up */
		goto out;
	oldend = page_align_up(mm->brk);
	newend = page_align_up(newbrk);
	if (newend > oldend)
		err = brk_grow(mm, oldend, newend);
	else if (newend < oldend)
		err = brk_shrink(mm, newend, oldend);
	if (!err)
		mm->brk = newbrk;
out:
	ret = mm->brk;
	mm_unlock_write(mm);
	return ret;
}
