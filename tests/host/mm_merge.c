/*
 * tests/host/mm_merge.c - merging stays maximal after every operation.
 *
 * mmap reserves tree stores for one insert and two merges (mm/mmap.c): that
 * holds only if no operation ever leaves two compatible neighbours unmerged,
 * or a third merge would run past the reservation (mt's txn_stores
 * KASSERT). Random mmap (private, shared, objects at aligned and misaligned
 * pgoffs, fixed or hinted), munmap, mprotect, mremap (every flag, old_len 0),
 * brk, MADV_DONTNEED, writes and fork run in a 40-page window, and after
 * each one no two adjacent vmas may be compatible. Written from a reviewer's
 * stress program (2026-12-02), which ran 8 seeds x 300,000 operations clean.
 */
#include "mm_harness.h"

#define PG	PAGE_SIZE
#define NP	40			/* window pages, from MM_BRK_BASE */
#define OPS	40000
#define BASE	MM_BRK_BASE

static uint64_t rs;

static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static uint64_t raddr(void) { return BASE + (rnd() % NP) * PG; }
static uint64_t rlen(void) { return (1 + rnd() % 8) * PG; }

static int rprot(void)
{
	static const int p[] = { PROT_READ | PROT_WRITE, PROT_READ, PROT_NONE };

	return p[rnd() % 3];
}

/* compatible: what vma_compatible (mm/vma.c) would merge. */
static bool compatible(const struct vma *a, const struct vma *b)
{
	if (!a || !b || a->end != b->start || a->prot != b->prot ||
	    a->flags != b->flags || a->obj != b->obj)
		return false;
	return !a->obj || a->pgoff + vma_pages(a) == b->pgoff;
}

/* unmerged: the first adjacent compatible pair's start, or 0. */
static uint64_t unmerged(struct mm *m)
{
	struct mt_range rng;
	struct vma *v, *prev = NULL;
	uint64_t bad = 0;

	mm_lock_write(m);
	mt_for_each(&m->mt, v, 0, UINT64_MAX, rng) {
		if (!bad && compatible(prev, v))
			bad = prev->start;
		prev = v;
	}
	mm_unlock_write(m);
	return bad;
}

static void op_mmap(struct mm *m, struct vm_object **objs)
{
	int kind = (int)(rnd() % 4), fixed = rnd() % 4 ? MAP_FIXED : 0;
	uint64_t a = raddr(), len = rlen(), out, pgoff;

	if (kind < 2) {
		mm_mmap(m, a, len, rprot(), (kind ? MAP_SHARED : MAP_PRIVATE) | fixed, &out);
		return;
	}
	pgoff = ((a - BASE) / PG + (rnd() % 3 ? 0 : rnd() % 4)) % 200;
	mm_mmap_object(m, a, len, rprot(), (rnd() % 2 ? MAP_SHARED : MAP_PRIVATE) | fixed,
		       objs[rnd() % 2], pgoff, &out);
}

/* op_mremap: mostly from inside an existing vma, every flag combination. */
static void op_mremap(struct mm *m)
{
	int flags = (int)(rnd() % 8);
	uint64_t old = raddr(), old_len = rnd() % 6 ? rlen() : 0, new_len, dst, out;
	struct vma *v;

	mm_lock_read(m);
	v = vma_find(m, old);
	if (v && rnd() % 4) {
		old = v->start + (rnd() % vma_pages(v)) * PG;
		if (old_len)
			old_len = (1 + rnd() % ((v->end - old) / PG)) * PG;
	}
	mm_unlock_read(m);
	new_len = (flags & MREMAP_DONTUNMAP) ? old_len : rlen();
	if (!new_len)
		new_len = PG;
	dst = rnd() % 2 ? raddr() : old + old_len + (rnd() % 2) * PG;
	mm_mremap(m, old, old_len, new_len, flags, dst, &out);
}

/* op_fork: the child's layout must be as merged as the parent's. */
static uint64_t op_fork(struct mm *m)
{
	struct mm *child;
	uint64_t bad;

	if (mm_fork(m, &child))
		return 0;
	bad = unmerged(child);
	mm_destroy(child);
	return bad;
}

KTEST(merge_stays_maximal)
{
	struct vm_object *objs[2] = { vm_object_create_shmem(256), vm_object_create_shmem(256) };
	struct mm *m = mm_create();
	uint64_t bad = 0;
	long i;

	rs = ktest_seed * 0x9e3779b97f4a7c15ull + 12345;
	for (i = 0; i < OPS && !bad; i++) {
		if (i % 5000 == 4999) {
			mm_destroy(m);
			m = mm_create();
		}
		switch (rnd() % 9) {
		case 0: case 1: op_mmap(m, objs); break;
		case 2: mm_munmap(m, raddr(), rlen()); break;
		case 3: mm_mprotect(m, raddr(), rlen(), rprot()); break;
		case 4: case 5: op_mremap(m); break;
		case 6: mm_brk(m, BASE + (rnd() % 20) * PG + (rnd() % 2 ? 17 : 0)); break;
		case 7: mm_madvise(m, raddr(), rlen(), MADV_DONTNEED); break;
		default:
			if (rnd() % 20 == 0)
				bad = op_fork(m);
			else
				mmh_write(m, raddr(), 1);
		}
		if (!bad)
			bad = unmerged(m);
	}
	KT_CHECK(!bad, "op %ld: two compatible vmas left unmerged at %#llx", i,
		 (unsigned long long)bad);
	printf("# %ld operations\n", i);
	mm_destroy(m);
	vm_object_put(objs[0]);
	vm_object_put(objs[1]);
}

int main(int argc, char **argv)
{
	mmh_init(2);
	return ktest_main(argc, argv);
}
