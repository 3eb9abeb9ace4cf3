/*
 * mm/fault.c - the page-fault handler: a lock-free fast path and a slow
 * path under mm->lock held for reading.
 *
 * Fast path (private anonymous memory, the common case), all inside
 * rcu_read_lock and without mm->lock:
 *   1. vma = this CPU's cached vma if its seq is even and it covers va,
 *      else mt_find(va) (then cached); seq_read_try_begin(&vma->seq) (odd:
 *      fall back);
 *      snapshot the vma's fields; check va and permissions;
 *   2. walk the tables, installing missing levels with CAS;
 *   3. prepare the frame (zeroed, or the zero page) with no lock held;
 *   4. take the PTE table's lock, re-check the vma's seq and that the PTE
 *      is still the one read in step 2, install, unlock. A COW copy is
 *      made here, under the lock, once the re-check proved that the source
 *      is still mapped (so still referenced: it cannot be freed under us).
 * A changed seq means FAULT_RESTART (up to FAULT_MAX_RETRIES, then the slow
 * path); a permission failure, a missing vma, shared or object-backed
 * mappings take the slow path, which is authoritative: SIGSEGV is decided
 * only under the lock. Object-backed and shared faults stay off the fast
 * path because the object's page cache lookup takes a sleeping lock and may
 * allocate cache nodes, neither of which may happen inside rcu_read_lock.
 *
 * Why it is safe. Every writer (mm->lock held for writing) makes a vma's
 * seq odd and fences before changing the vma or any PTE in its range, and
 * changes PTEs only under the table lock. If a fault's install (step 4)
 * comes after such a writer took that table lock, the lock hands over the
 * odd count and the fault backs out; if before, the writer sees the new PTE
 * and treats it like any other (zaps, protects, copies or moves it). A
 * table created by the fault after the writer found that level empty
 * carries no lock handover, but the writer's fence made the odd count
 * visible before that read, so the fault, which created the table later,
 * reads it. Snapshot fields are only trusted once the seq re-check passes.
 * A vma leaving the tree stays odd forever and is freed after a grace
 * period; unlinked tables too, after the TLB flush (mm/tlb.c,
 * mm/pgtable.h): so no vma or table the fast path dereferences under
 * rcu_read_lock can be freed under it. A level the fault links into a
 * table that munmap is unlinking is freed with that table (the fault itself
 * backs out on the odd seq). Data frames are freed right after the flush,
 * without a grace period: the fast path reads a frame's contents only for
 * a COW copy, and copies under the table lock after checking that the PTE
 * still maps the frame, i.e. while the PTE's reference keeps it allocated
 * (Linux's fork copies pinned pages under the PTE lock the same way).
 * A frame's struct page (read for the reuse decision) is never freed.
 * The per-CPU vma cache (mm->vcache) holds a reference, so a cached vma
 * is never freed under a later fault; an even seq proves it is still in
 * the tree (leaving the tree makes it odd forever) and the range check that
 * it covers va, so the cache returns what the tree would. It spares the
 * fault the tree's lines, which another CPU's mmap/munmap rewrites (in a
 * small tree every store replaces the root leaf).
 * MADV_DONTNEED is the one PTE writer that leaves seqs alone (it holds
 * mm->lock only for reading, as in Linux): it only clears PTEs under the
 * table lock, and step 4's PTE re-check orders a fault against it.
 *
 * COW break replaces a present translation: the old PTE is cleared and
 * flushed on every CPU of the mm (waiting with the table lock held, which
 * pt_lock spinners serve) before the new one is stored, so no CPU reads the
 * old frame after another wrote the new one.
 */
#include "mm/vma.h"
#include "mm/pgtable.h"
#include "mm/tlb.h"

#define FAULT_MAX_RETRIES 3

enum fault_result {
	FAULT_DONE,		/* translation present: retry the access */
	FAULT_RESTART,		/* the world changed under us: start over */
	FAULT_FALLBACK,		/* not for the fast path: take the slow path */
	FAULT_SIGSEGV,		/* no mapping or no permission */
	FAULT_SIGBUS,		/* beyond the end of an object */
	FAULT_OOM,		/* a frame or table could not be allocated */
};

/* The state of one attempt; fault_state_release() undoes whatever of it
 * is held, whichever way the attempt ended (FreeBSD's faultstate). */
struct fault_state {
	struct mm *mm;
	uint64_t va;		/* page aligned */
	unsigned access;	/* FAULT_* */
	bool locked;		/* mm->lock held for reading */
	bool in_rcu;
	bool ptl_held;
	bool cached;		/* the vma came from this CPU's vcache */
	struct vma *vma;
	unsigned seq;		/* vma->seq when the snapshot was taken */
	uint32_t prot, flags;	/* snapshot of the vma */
	uint64_t start, end, pgoff;
	struct vm_object *obj;
	struct page *ptp;	/* the PTE table */
	pte_t *ptep;
	pte_t orig;		/* the PTE as first read */
	struct page *newpg;	/* prepared, unmapped frame (ours alone) */
	struct page *objpg;	/* object page reference we hold */
	struct page *copysrc;	/* COW: copy this into newpg once the re-check
				 * under the table lock proved it still mapped */
};

static bool force_locked;	/* (A) every fault takes mm->lock */

struct fault_stats_pcpu {
	struct fault_stats s;
} __cacheline_aligned;

static struct fault_stats_pcpu fstats[NCPU_MAX];

#define FSTAT_INC(f) ck_pr_store_64(&fstats[cpu_self()].s.f, \
	ck_pr_load_64(&fstats[cpu_self()].s.f) + 1)

static void fault_state_init(struct fault_state *fs, struct mm *mm, uint64_t va,
			     unsigned access)
{
	memset(fs, 0, sizeof(*fs));
	fs->mm = mm;
	fs->va = va & PAGE_MASK;
	fs->access = access;
}

/* fault_state_release: unlock, free and unreference whatever fs holds. */
static void fault_state_release(struct fault_state *fs)
{
	if (fs->ptl_held)
		pt_unlock(fs->ptp);
	if (fs->newpg) {
		fs->newpg->refcount = 0;
		pmap_page_free(fs->newpg);	/* never visible to anyone */
	}
	if (fs->objpg)
		page_put(fs->objpg);	/* the object still holds the page */
	if (fs->in_rcu)
		rcu_read_unlock();
	if (fs->locked)
		mm_unlock_read(fs->mm);
	fs->ptl_held = fs->in_rcu = fs->locked = false;
	fs->newpg = fs->objpg = NULL;
}

/* fault_snapshot: copy the vma fields the fault uses (unreliable until the
 * seq re-check when lock-free). */
static void fault_snapshot(struct fault_state *fs, struct vma *v)
{
	fs->vma = v;
	fs->start = ck_pr_load_64(&v->start);
	fs->end = ck_pr_load_64(&v->end);
	fs->prot = ck_pr_load_32(&v->prot);
	fs->flags = ck_pr_load_32(&v->flags);
	fs->pgoff = ck_pr_load_64(&v->pgoff);
	fs->obj = ck_pr_load_ptr(&v->obj);
}

/* fault_access_ok: x86 semantics: any access right implies read. */
static bool fault_access_ok(const struct fault_state *fs)
{
	if (fs->access & FAULT_WRITE)
		return fs->prot & PROT_WRITE;
	if (fs->access & FAULT_EXEC)
		return fs->prot & PROT_EXEC;
	return fs->prot != PROT_NONE;
}

/* fault_replace_old: under the table lock, unmap the frame of fs->orig
 * (COW break): clear, flush everywhere, then account; its last reference
 * frees it at once (copiers read only under a table lock, see above). */
static void fault_replace_old(struct fault_state *fs)
{
	struct page *old = pmap_pa_page(pte_pa(fs->orig));

	pte_store(fs->ptep, 0);
	tlb_flush_page(fs->mm, fs->va);
	if (old->flags & PG_ZERO)
		return;
	ck_pr_dec_32((uint32_t *)&old->mapcount);
	pcpu_counter_add(&fs->mm->rss[rss_type_of(old)], -1);
	/* Flushed everywhere, and copiers read frames only under a table
	 * lock holding a mapping PTE: the last reference frees at once. */
	if (ck_pr_faa_32(&old->refcount, (uint32_t)-1) == 1)
		pmap_page_free(old);
}

/* fault_install: step 4. Consumes fs->newpg or fs->objpg if newpte maps
 * it, filling newpg from fs->copysrc first if set. Returns DONE (installed,
 * or someone else resolved the fault first) or RESTART (a writer ran). */
static enum fault_result fault_install(struct fault_state *fs, pte_t newpte)
{
	struct page *pg = pmap_pa_page(pte_pa(newpte));

	DEBUG_YIELD();
	pt_lock(fs->ptp);
	fs->ptl_held = true;
	if (seq_read_retry(&fs->vma->seq, fs->seq))
		return FAULT_RESTART;
	if (pte_load(fs->ptep) != fs->orig)
		return FAULT_DONE;
	/* The PTE still maps copysrc, so its reference pins the frame, and
	 * zap, COW break and fork's copy of this PTE all need our lock. */
	if (fs->copysrc)
		memcpy(pmap_page_kva(fs->newpg), pmap_page_kva(fs->copysrc), PAGE_SIZE);
	if (pte_present(fs->orig) && pte_pa(fs->orig) != pte_pa(newpte))
		fault_replace_old(fs);
	if (pg == fs->newpg) {
		/* Ours alone until the PTE store (published by pt_unlock's
		 * release): a plain store, no atomic needed. */
		ck_pr_store_32((uint32_t *)&pg->mapcount, 1);
		pcpu_counter_add(&fs->mm->rss[rss_type_of(pg)], 1);
		fs->newpg = NULL;
	} else if (pg == fs->objpg) {
		ck_pr_inc_32((uint32_t *)&pg->mapcount);
		pcpu_counter_add(&fs->mm->rss[rss_type_of(pg)], 1);
		fs->objpg = NULL;
	}
	pte_store(fs->ptep, newpte);
	return FAULT_DONE;
}

/* fault_cow: a write to a present read-only PTE. Reuse the frame if ours
 * is its only reference (private anonymous) or the mapping is shared; else copy
 * it, under the table lock in fault_install (the source may be unmapped and
 * freed until the re-check there). */
static enum fault_result fault_cow(struct fault_state *fs)
{
	struct page *old = pmap_pa_page(pte_pa(fs->orig));
	bool exec = fs->prot & PROT_EXEC;

	/* The reference count, not the map count: a frame another mm just
	 * unmapped keeps that PTE's reference in its gather until the flush,
	 * while one of its CPUs may still read the frame through its TLB. */
	if ((fs->flags & VM_SHARED) ||
	    ((old->flags & PG_ANON) && ck_pr_load_32(&old->refcount) == 1))
		return fault_install(fs, fs->orig | PTE_W);
	fs->newpg = pmap_page_alloc(PG_ANON);
	if (!fs->newpg)
		return FAULT_OOM;
	fs->copysrc = old;
	return fault_install(fs, pte_make(pmap_page_pa(fs->newpg), true, exec));
}

/* fault_walk: step 2; FAULT_DONE here means "go on". */
static enum fault_result fault_walk(struct fault_state *fs)
{
	fs->ptep = pt_walk_alloc(&fs->mm->pmap, fs->va, &fs->ptp);
	if (!fs->ptep)
		return FAULT_OOM;
	fs->orig = pte_load(fs->ptep);
	return FAULT_DONE;
}

/* fault_anon: private anonymous memory (fast and slow path). */
static enum fault_result fault_anon(struct fault_state *fs)
{
	bool write = fs->access & FAULT_WRITE;
	enum fault_result r = fault_walk(fs);

	if (r != FAULT_DONE)
		return r;
	if (pte_present(fs->orig))
		return (!write || pte_writable(fs->orig)) ? FAULT_DONE : fault_cow(fs);
	if (pte_mapped(fs->orig))
		return FAULT_RESTART;	/* PROT_NONE PTE: an mprotect is in flight */
	if (!write)
		return fault_install(fs, pte_make(pmap_page_pa(pmap_zero_page()), false,
						  fs->prot & PROT_EXEC));
	fs->newpg = pmap_page_alloc(PG_ANON | PMAP_ZERO);
	if (!fs->newpg)
		return FAULT_OOM;
	return fault_install(fs, pte_make(pmap_page_pa(fs->newpg), true, fs->prot & PROT_EXEC));
}

/* fault_object: object-backed mappings (slow path only; may sleep). */
static enum fault_result fault_object(struct fault_state *fs)
{
	bool write = fs->access & FAULT_WRITE, shared = fs->flags & VM_SHARED;
	enum fault_result r = fault_walk(fs);
	int err;

	if (r != FAULT_DONE)
		return r;
	if (pte_present(fs->orig)) {
		if (!write || pte_writable(fs->orig))
			return FAULT_DONE;
		return fault_cow(fs);
	}
	if (pte_mapped(fs->orig))
		return FAULT_RESTART;
	err = vm_object_getpage(fs->obj, fs->pgoff + ((fs->va - fs->start) >> PAGE_SHIFT),
				&fs->objpg);
	if (err)
		return err == -ENOMEM ? FAULT_OOM : FAULT_SIGBUS;
	if (shared || !write)
		return fault_install(fs, pte_make(pmap_page_pa(fs->objpg),
						  shared && (fs->prot & PROT_WRITE),
						  fs->prot & PROT_EXEC));
	fs->newpg = pmap_page_alloc(PG_ANON);
	if (!fs->newpg)
		return FAULT_OOM;
	memcpy(pmap_page_kva(fs->newpg), pmap_page_kva(fs->objpg), PAGE_SIZE);
	return fault_install(fs, pte_make(pmap_page_pa(fs->newpg), true, fs->prot & PROT_EXEC));
}

/* vcache_lookup: this CPU's last vma of mm if it still covers va, with its
 * seq read into *seq, else NULL. The slot's reference keeps the vma
 * allocated; an even seq means it is still in the tree (a removed vma stays
 * odd), and it covers va, so it is what the tree would return; the re-check
 * in fault_install proves that nothing changed it since. */
static struct vma *vcache_lookup(struct mm *mm, uint64_t va, unsigned *seq)
{
	struct vma *v = ck_pr_load_ptr(&mm->vcache[cpu_self()]);

	if (!v || !seq_read_try_begin(&v->seq, seq))
		return NULL;
	if (va < ck_pr_load_64(&v->start) || va >= ck_pr_load_64(&v->end))
		return NULL;
	return v;
}

/* vcache_fill: remember v, just found in the tree under rcu_read_lock, in
 * this CPU's slot: its tree reference is still held (dropped only a grace
 * period after removal), so taking one more is safe. Only this CPU, inside
 * rcu_read_lock (no preemption in the kernel), uses the slot. */
static void vcache_fill(struct mm *mm, struct vma *v)
{
	struct vma **slot = &mm->vcache[cpu_self()], *old = *slot;

	if (old == v)
		return;
	ck_pr_inc_32(&v->ref);
	ck_pr_store_ptr(slot, v);
	if (old)
		vma_put(old);
}

/* fault_find: step 1's lookup: this CPU's cached vma, else the tree. */
static struct vma *fault_find(struct fault_state *fs)
{
	struct vma *v = vcache_lookup(fs->mm, fs->va, &fs->seq);

	if (v) {
		fs->cached = true;
		return v;
	}
	v = mt_find(&fs->mm->mt, fs->va, NULL);
	if (!v || !seq_read_try_begin(&v->seq, &fs->seq))
		return NULL;
	vcache_fill(fs->mm, v);
	return v;
}

/* fault_fast: steps 1-4 without mm->lock. */
static enum fault_result fault_fast(struct fault_state *fs)
{
	struct vma *v;

	rcu_read_lock();
	fs->in_rcu = true;
	v = fault_find(fs);
	if (!v)
		return FAULT_FALLBACK;
	fault_snapshot(fs, v);
	if (fs->va < fs->start || fs->va >= fs->end)
		return FAULT_RESTART;
	if (fs->obj || (fs->flags & VM_SHARED) || !fault_access_ok(fs))
		return FAULT_FALLBACK;
	DEBUG_YIELD();
	return fault_anon(fs);
}

/* fault_slow: the same under mm->lock held for reading (writers excluded,
 * so the vma is stable and its seq even). We enter without the lock and
 * fault_state_release drops it. */
static enum fault_result fault_slow(struct fault_state *fs)
{
	struct vma *v;

	mm_lock_read(fs->mm);
	fs->locked = true;
	v = vma_find(fs->mm, fs->va);
	if (!v)
		return FAULT_SIGSEGV;
	fs->seq = seq_raw(&v->seq);
	fault_snapshot(fs, v);
	if (!fault_access_ok(fs))
		return FAULT_SIGSEGV;
	if (fs->obj)
		return fault_object(fs);
	return fault_anon(fs);
}

static int fault_errno(enum fault_result r)
{
	switch (r) {
	case FAULT_DONE:
		return 0;
	case FAULT_OOM:
		return -ENOMEM;
	default:
		return -EFAULT;
	}
}

/* fault_handle: resolve a translation miss of access at va in mm, as the
 * MMU reports it. 0 (retry the access), -EFAULT (SIGSEGV/SIGBUS) or
 * -ENOMEM. Called with no mm lock held. */
int fault_handle(struct mm *mm, uint64_t va, unsigned access)
{
	struct fault_state fs;
	enum fault_result r = FAULT_FALLBACK;

	/* No KASSERT(!rwsem_write_held(&mm->lock)) here: it reads the lock's
	 * line, which every mmap/munmap of another CPU dirties (+12 ns per
	 * fault beside a same-mm churner, in a profile; within noise in A/B
	 * runs). The contract still holds where breaking it would deadlock:
	 * the slow path's down_read asserts it. */
	if (!ck_pr_load_8((uint8_t *)&force_locked)) {
		for (int tries = 0; tries < FAULT_MAX_RETRIES; tries++) {
			fault_state_init(&fs, mm, va, access);
			r = fault_fast(&fs);
			fault_state_release(&fs);
			if (r != FAULT_RESTART)
				break;
			FSTAT_INC(retries);
		}
		if (r == FAULT_DONE || r == FAULT_OOM) {
			if (r == FAULT_DONE)
				FSTAT_INC(fast);
			if (r == FAULT_DONE && fs.cached)
				FSTAT_INC(cached);
			return fault_errno(r);
		}
		FSTAT_INC(fallbacks);
	}
	FSTAT_INC(locked);
	do {
		fault_state_init(&fs, mm, va, access);
		r = fault_slow(&fs);
		fault_state_release(&fs);
	} while (r == FAULT_RESTART);
	return fault_errno(r);
}

void fault_set_force_locked(bool on)
{
	ck_pr_store_8((uint8_t *)&force_locked, on);
}

bool fault_force_locked(void)
{
	return ck_pr_load_8((uint8_t *)&force_locked);
}

void fault_stats_read(struct fault_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < NCPU_MAX; i++) {
		out->fast += ck_pr_load_64(&fstats[i].s.fast);
		out->retries += ck_pr_load_64(&fstats[i].s.retries);
		out->fallbacks += ck_pr_load_64(&fstats[i].s.fallbacks);
		out->locked += ck_pr_load_64(&fstats[i].s.locked);
		out->cached += ck_pr_load_64(&fstats[i].s.cached);
	}
}

/* fault_stats_reset: only while no fault runs. */
void fault_stats_reset(void)
{
	memset(fstats, 0, sizeof(fstats));
}
