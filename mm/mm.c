/*
 * mm/mm.c - address-space lifetime: create, fork, exit teardown, the mm
 * lock and RSS.
 */
#include "mm/vma.h"
#include "mm/pgtable.h"
#include "mm/tlb.h"

#define MM_RSS_BATCH 32

/* mm_create: an empty address space; NULL when out of memory. */
struct mm *mm_create(void)
{
	struct mm *mm = env_alloc(sizeof(*mm));
	int i;

	if (!mm)
		return NULL;
	memset(mm, 0, sizeof(*mm));
	for (i = 0; i < MM_NR_RSS; i++)
		if (pcpu_counter_init(&mm->rss[i], MM_RSS_BATCH))
			goto out_free_rss;
	if (pmap_init(&mm->pmap))
		goto out_free_rss;
	mt_init(&mm->mt);
	rwsem_init(&mm->lock, "mm");
	mm->mmap_base = MM_MMAP_BASE;
	mm->brk_start = mm->brk = MM_BRK_BASE;
	mm->rlimit_as = MM_NO_LIMIT;
	return mm;

out_free_rss:
	while (i-- > 0)
		pcpu_counter_destroy(&mm->rss[i]);
	env_free(mm, sizeof(*mm));
	return NULL;
}

/* mm_destroy: exit teardown: unmap everything, return every frame and
 * table page, free the mm. No CPU other than the caller may use mm. */
void mm_destroy(struct mm *mm)
{
	struct tlb_gather tlb;
	struct mt_range rng;
	struct vma *v;

	mm_lock_write(mm);
	tlb_gather_init(&tlb, mm);
	mt_for_each(&mm->mt, v, 0, UINT64_MAX, rng) {
		vma_write_begin(v);
		pt_zap(mm, v->start, v->end, &tlb);
		vma_retire(v, &tlb);
	}
	pt_free_all(&mm->pmap, &tlb);
	tlb_finish(&tlb);
	mm_unlock_write(mm);
	mt_destroy(&mm->mt);
	for (unsigned c = 0; c < NCPU_MAX; c++)
		if (mm->vcache[c])
			vma_put(mm->vcache[c]);	/* retired above: odd, unused */
	pmap_fini(&mm->pmap);
	for (int i = 0; i < MM_NR_RSS; i++) {
		KASSERT(pcpu_counter_sum(&mm->rss[i]) == 0, "mm_destroy: rss[%d] leak", i);
		pcpu_counter_destroy(&mm->rss[i]);
	}
	rwsem_destroy(&mm->lock);
	env_free(mm, sizeof(*mm));
}

/* mm_lock_*: the mm rwsem; a CPU about to block stops holding back
 * shootdowns (mm/pmap.h), since the lock holder may be waiting for them. */
void mm_lock_write(struct mm *mm)
{
	if (down_write_trylock(&mm->lock))
		return;
	pmap_cpu_sleep_begin();
	down_write(&mm->lock);
	pmap_cpu_sleep_end();
}

/* mm_unlock_write: end the write section: every vma it created or changed
 * (vma->lseq == wseq) may be read-locked again from here on. */
void mm_unlock_write(struct mm *mm)
{
	ck_pr_fence_release();	/* the section's changes and flushes before the bump */
	ck_pr_store_32(&mm->wseq, mm->wseq + 1);
	up_write(&mm->lock);
}

void mm_lock_read(struct mm *mm)
{
	if (down_read_trylock(&mm->lock))
		return;
	pmap_cpu_sleep_begin();
	down_read(&mm->lock);
	pmap_cpu_sleep_end();
}

void mm_unlock_read(struct mm *mm)
{
	up_read(&mm->lock);
}

/* mm_rss: exact when no fault or operation runs concurrently. */
int64_t mm_rss(struct mm *mm, enum mm_rss type)
{
	return pcpu_counter_sum(&mm->rss[type]);
}

/* fork_seq_all: begin (or end) a write section on every vma of parent.
 * fork keeps them all odd from before its table scan until after the
 * write-protect flush: a fault that passed its seq check in that window
 * could install a PTE the scan missed, or break COW while another CPU still
 * writes through a stale writable TLB entry (losing that write). */
static void fork_seq_all(struct mm *parent, bool begin)
{
	struct mt_range rng;
	struct vma *v;

	mt_for_each(&parent->mt, v, 0, UINT64_MAX, rng) {
		if (begin)
			vma_write_begin(v);
		else
			vma_write_end(v);
	}
}

/* fork_prepare: give child a copy of every parent vma, published in the
 * child's tree (private: nobody can fault in it yet), and every PTE table
 * the copy will need. 0 or -ENOMEM; on failure the caller destroys child,
 * which retires whatever was inserted. No tree reservation is needed. */
static int fork_prepare(struct mm *parent, struct mm *child)
{
	struct mt_range rng;
	struct vma *v;

	mt_for_each(&parent->mt, v, 0, UINT64_MAX, rng) {
		struct vma *c = env_alloc(sizeof(*c));

		if (!c)
			return -ENOMEM;
		vma_init(c, child, v->start, v->end, (int)v->prot, v->flags, v->obj, v->pgoff);
		if (mt_store(&child->mt, c->start, c->end - 1, c)) {
			vma_free_unused(c);
			return -ENOMEM;
		}
		if (c->obj)
			vm_object_get(c->obj);
		child->nr_vmas++;
		child->total_vm += vma_pages(c);
		if (pt_prealloc(&child->pmap, &parent->pmap, v->start, v->end, 0))
			return -ENOMEM;
	}
	return 0;
}

/* mm_fork: a copy of parent whose private pages are shared copy-on-write
 * (both sides write-protected, one batched flush of the parent) and whose
 * shared mappings stay shared. 0 and *out, or -ENOMEM with parent unchanged. */
int mm_fork(struct mm *parent, struct mm **out)
{
	struct mm *child = mm_create();
	struct mt_range rng;
	struct vma *c;
	struct tlb_gather tlb;
	int err;

	if (!child)
		return -ENOMEM;
	mm_lock_write(parent);
	mm_lock_write(child);	/* uncontended: nobody else knows it yet */
	fork_seq_all(parent, true);
	err = fork_prepare(parent, child);
	if (err)
		goto out_destroy_child;
	/* Point of no return. */
	tlb_gather_init(&tlb, parent);
	mt_for_each(&child->mt, c, 0, UINT64_MAX, rng) {
		KASSERT(seq_raw(&vma_find(parent, c->start)->seq) & 1,
			"mm_fork: parent vma not write-locked");
		pt_copy(child, parent, c->start, c->end, !(c->flags & VM_SHARED), &tlb);
	}
	tlb_finish(&tlb);
	fork_seq_all(parent, false);	/* after the flush: see fork_seq_all */
	child->mmap_base = parent->mmap_base;
	child->brk_start = parent->brk_start;
	child->brk = parent->brk;
	child->rlimit_as = parent->rlimit_as;
	mm_unlock_write(child);
	mm_unlock_write(parent);
	*out = child;
	return 0;

out_destroy_child:
	fork_seq_all(parent, false);
	mm_unlock_write(child);
	mm_unlock_write(parent);
	mm_destroy(child);
	return err;
}
