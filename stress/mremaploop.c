/*
 * stress/mremaploop.c - threads growing, shrinking and moving mappings with
 * mremap while other threads fault the neighbouring pages.
 *
 * Each mover thread owns an arena of two slots of `max` pages, fenced by two
 * faulter blocks A (just below) and B (just above) that belong to a faulter
 * thread:
 *
 *      [ A: fb pages ][ slot 0: max pages ][ slot 1: max pages ][ B: fb pages ]
 *
 * The mover's region (1..max pages, a pattern of (mover, gen, page) in the
 * first and last word of each page) lives at the start of one slot; the rest
 * of the arena is held by PROT_NONE placeholders, so the only free holes in an
 * arena are made, briefly, by its own mover. Operations, chosen at random:
 *   grow in place (flags 0: must keep the address), shrink in place (the tail
 *   must be free afterwards), move to the other slot with MREMAP_FIXED (with
 *   or without resizing; the old range must be free), MREMAP_DONTUNMAP (the
 *   old range stays mapped and reads zero), MREMAP_MAYMOVE grow beyond any
 *   hole (the kernel picks the place, never over a placeholder) then
 *   MREMAP_FIXED shrink back into a slot, and rewrite with a new generation.
 * After every operation the whole region is verified. "Free" is checked with
 * mmap(MAP_FIXED_NOREPLACE), which succeeds only on an unmapped range.
 * Faulters keep writing, verifying and MADV_DONTNEED-zeroing A and B, whose
 * VMAs are the neighbours of the regions being split, merged and moved.
 *
 * Args: threads=2 (movers; as many faulters) iters=2000 max=32 secs=20.
 */
#include "uktap.h"

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>

#define FB 4	/* pages in each faulter block */

struct mover {
	int id;
	char *a, *b;		/* faulter blocks (owned by faulter `id`) */
	char *arena;		/* 2 * max pages */
	char *cur;		/* region start: arena or arena + max pages */
	long n;			/* region pages */
	uint64_t gen, seed;
	long ops[7];		/* atomic-free: only the mover writes, main reads at the end */
};

static long max_pages, iters;
static struct mover *movers;
static int stop;		/* atomic: faulters stop */
static int go;			/* atomic: all threads exist (their stacks are mapped) */
static long done_ops;		/* atomic: progress */
static pthread_mutex_t wander_lock = PTHREAD_MUTEX_INITIALIZER;	/* op_wander */

static uint64_t pat(int m, uint64_t gen, long page)
{
	uint64_t x = ((uint64_t)m << 48) ^ (gen << 16) ^ (uint64_t)page ^ 0x6a09e667f3bcc909ull;

	x ^= x >> 29;
	return x * 0x94d049bb133111ebull;
}

static void page_fill(struct mover *mv, char *base, long from, long to)
{
	for (long p = from; p < to; p++) {
		uint64_t *w = (uint64_t *)(base + p * UT_PAGE);
		w[0] = pat(mv->id, mv->gen, p);
		w[511] = ~pat(mv->id, mv->gen, p);
	}
}

/* region_verify: check pages [0, n) of the region at base; reports the first
 * bad page. Returns 0 if all match. */
static int region_verify(struct mover *mv, char *base, long n, const char *op)
{
	for (long p = 0; p < n; p++) {
		uint64_t *w = (uint64_t *)(base + p * UT_PAGE);
		if (w[0] != pat(mv->id, mv->gen, p) || w[511] != ~pat(mv->id, mv->gen, p)) {
			UT_CHECK(0, "mover %d after %s: page %ld/%ld holds %#lx", mv->id, op, p, n,
				 (unsigned long)w[0]);
			return -1;
		}
	}
	return 0;
}

/* range_reserve: turn a range that must be unmapped into a placeholder;
 * MAP_FIXED_NOREPLACE fails with EEXIST if anything is still mapped there. */
static int range_reserve(struct mover *mv, char *at, long pages, const char *op)
{
	void *r = mmap(at, (size_t)pages * UT_PAGE, PROT_NONE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	UT_CHECK(r == at, "mover %d after %s: range %p+%ld pages not free (errno %d)",
		 mv->id, op, (void *)at, pages, r == MAP_FAILED ? errno : 0);
	return r == at ? 0 : -1;
}

static char *other_slot(struct mover *mv)
{
	return mv->cur == mv->arena ? mv->arena + max_pages * UT_PAGE : mv->arena;
}

static int op_grow(struct mover *mv)
{
	long n2 = mv->n + 1 + (long)(ut_rand(&mv->seed) % (uint64_t)(max_pages - mv->n));
	void *r;

	munmap(mv->cur + mv->n * UT_PAGE, (size_t)(n2 - mv->n) * UT_PAGE);
	r = mremap(mv->cur, (size_t)mv->n * UT_PAGE, (size_t)n2 * UT_PAGE, 0);
	UT_CHECK(r == mv->cur, "grow in place %ld->%ld: %p errno %d", mv->n, n2, r, errno);
	if (r != mv->cur)
		return -1;
	page_fill(mv, mv->cur, mv->n, n2);
	mv->n = n2;
	return region_verify(mv, mv->cur, mv->n, "grow");
}

static int op_shrink(struct mover *mv)
{
	long n2 = 1 + (long)(ut_rand(&mv->seed) % (uint64_t)(mv->n - 1));
	void *r = mremap(mv->cur, (size_t)mv->n * UT_PAGE, (size_t)n2 * UT_PAGE, 0);

	UT_CHECK(r == mv->cur, "shrink %ld->%ld: %p errno %d", mv->n, n2, r, errno);
	if (r != mv->cur)
		return -1;
	if (range_reserve(mv, mv->cur + n2 * UT_PAGE, mv->n - n2, "shrink"))
		return -1;
	mv->n = n2;
	return region_verify(mv, mv->cur, mv->n, "shrink");
}

/* op_move: MREMAP_FIXED into the other slot, resizing to n2 pages. */
static int op_move(struct mover *mv, long n2)
{
	char *dst = other_slot(mv), *old = mv->cur;
	void *r = mremap(old, (size_t)mv->n * UT_PAGE, (size_t)n2 * UT_PAGE,
			 MREMAP_MAYMOVE | MREMAP_FIXED, dst);

	UT_CHECK(r == dst, "move fixed %ld->%ld pages: %p errno %d", mv->n, n2, r, errno);
	if (r != dst)
		return -1;
	if (range_reserve(mv, old, mv->n, "move fixed"))
		return -1;
	if (n2 > mv->n)
		page_fill(mv, dst, mv->n, n2);
	mv->cur = dst;
	mv->n = n2;
	return region_verify(mv, mv->cur, mv->n, "move fixed");
}

static int op_dontunmap(struct mover *mv)
{
	char *dst = other_slot(mv), *old = mv->cur;
	size_t len = (size_t)mv->n * UT_PAGE;
	void *r = mremap(old, len, len, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP, dst);

	UT_CHECK(r == dst, "dontunmap %ld pages: %p errno %d", mv->n, r, errno);
	if (r != dst)
		return -1;
	for (long p = 0; p < mv->n; p++) {
		uint64_t *w = (uint64_t *)(old + p * UT_PAGE);
		if (w[0] || w[511]) {
			UT_CHECK(0, "dontunmap: old page %ld still reads %#lx", p, (unsigned long)w[0]);
			return -1;
		}
	}
	r = mmap(old, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	UT_CHECK(r == MAP_FAILED && errno == EEXIST, "dontunmap: old range was unmapped (%p)", r);
	if (r != MAP_FAILED)
		return -1;
	r = mmap(old, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	UT_CHECK(r == old, "re-reserving the old range: errno %d", errno);
	mv->cur = dst;
	return region_verify(mv, mv->cur, mv->n, "dontunmap");
}

/* op_wander: MAYMOVE grow beyond any hole (the kernel must move it and must
 * not land on a placeholder), then MREMAP_FIXED shrink back into a slot.
 * Called with wander_lock held: the range it leaves outside the arenas must
 * stay free until it has been checked, so no other mover wanders meanwhile. */
static int op_wander(struct mover *mv)
{
	long big = max_pages + 1 + (long)(ut_rand(&mv->seed) % (uint64_t)max_pages);
	long back = 1 + (long)(ut_rand(&mv->seed) % (uint64_t)max_pages);
	char *old = mv->cur, *r, *r2;

	r = mremap(old, (size_t)mv->n * UT_PAGE, (size_t)big * UT_PAGE, MREMAP_MAYMOVE);
	UT_CHECK(r != MAP_FAILED && r != old, "maymove grow %ld->%ld: %p errno %d", mv->n, big,
		 (void *)r, errno);
	if (r == MAP_FAILED || r == old)
		return -1;
	if (range_reserve(mv, old, mv->n, "maymove grow"))
		return -1;
	page_fill(mv, r, mv->n, big);
	if (region_verify(mv, r, big, "maymove grow"))
		return -1;
	r2 = mremap(r, (size_t)big * UT_PAGE, (size_t)back * UT_PAGE,
		    MREMAP_MAYMOVE | MREMAP_FIXED, old);
	UT_CHECK(r2 == old, "fixed shrink back %ld->%ld: %p errno %d", big, back, (void *)r2, errno);
	if (r2 != old)
		return -1;
	r2 = mmap(r, (size_t)big * UT_PAGE, PROT_NONE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	UT_CHECK(r2 == r, "maymove source %p+%ld pages not free after the move back (errno %d)",
		 (void *)r, big, r2 == MAP_FAILED ? errno : 0);
	if (r2 == r)
		munmap(r, (size_t)big * UT_PAGE);
	mv->n = back;
	return region_verify(mv, mv->cur, mv->n, "fixed shrink back");
}

static int op_rewrite(struct mover *mv)
{
	mv->gen++;
	page_fill(mv, mv->cur, 0, mv->n);
	return region_verify(mv, mv->cur, mv->n, "rewrite");
}

/* mover_op: one random operation; returns nonzero on a failed check. */
static int mover_op(struct mover *mv)
{
	int k = (int)(ut_rand(&mv->seed) % 7);

	if (k == 0 && mv->n >= max_pages)
		k = 1;
	if (k == 1 && mv->n <= 1)
		k = 0;
	mv->ops[k]++;
	switch (k) {
	case 0: return op_grow(mv);
	case 1: return op_shrink(mv);
	case 2: return op_move(mv, mv->n);
	case 3: return op_move(mv, 1 + (long)(ut_rand(&mv->seed) % (uint64_t)max_pages));
	case 4: return op_dontunmap(mv);
	case 5: {
		int r;

		pthread_mutex_lock(&wander_lock);
		r = op_wander(mv);
		pthread_mutex_unlock(&wander_lock);
		return r;
	}
	default: return op_rewrite(mv);
	}
}

/* wait_go: no thread starts until every thread stack has been mapped, so
 * pthread_create's mmap never lands in a range a mover has just freed. */
static void wait_go(void)
{
	while (!__atomic_load_n(&go, __ATOMIC_ACQUIRE))
		sched_yield();
}

static void *mover_main(void *arg)
{
	struct mover *mv = arg;

	wait_go();
	for (long i = 0; i < iters && !ut_time_up() && !ut_failures(); i++) {
		if (mover_op(mv))
			break;
		__atomic_add_fetch(&done_ops, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

/* block_round: stamp, verify and sometimes zap one faulter block. */
static int block_round(int id, char *blk, uint64_t round)
{
	for (int p = 0; p < FB; p++) {
		uint64_t *w = (uint64_t *)(blk + p * UT_PAGE);
		w[0] = pat(100 + id, round, p);
		w[511] = round;
	}
	for (int p = 0; p < FB; p++) {
		uint64_t *w = (uint64_t *)(blk + p * UT_PAGE);
		if (w[0] != pat(100 + id, round, p) || w[511] != round) {
			UT_CHECK(0, "faulter %d: block %p page %d lost its stamp", id, (void *)blk, p);
			return -1;
		}
	}
	if (round % 8 == 7) {
		UT_CHECK(madvise(blk, FB * UT_PAGE, MADV_DONTNEED) == 0, "madvise errno %d", errno);
		for (int p = 0; p < FB; p++)
			if (*(uint64_t *)(blk + p * UT_PAGE)) {
				UT_CHECK(0, "faulter %d: page %d not zero after DONTNEED", id, p);
				return -1;
			}
	}
	return 0;
}

static void *faulter_main(void *arg)
{
	struct mover *mv = arg;

	wait_go();
	for (uint64_t round = 1; !__atomic_load_n(&stop, __ATOMIC_RELAXED) && !ut_failures(); round++)
		if (block_round(mv->id, mv->a, round) || block_round(mv->id, mv->b, round))
			break;
	return NULL;
}

/* arena_setup: reserve [A][slot0][slot1][B], map A and B, place the region. */
static int arena_setup(struct mover *mv, int id)
{
	size_t total = (size_t)(2 * max_pages + 2 * FB) * UT_PAGE;
	char *base = mmap(NULL, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int rw = PROT_READ | PROT_WRITE, fl = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;

	UT_REQUIRE(base != MAP_FAILED, "mmap arena: errno %d", errno);
	mv->id = id;
	mv->seed = 0x1234567ull * (uint64_t)(id + 1) + (uint64_t)ut_arg("seed", 1);
	mv->gen = 1;
	mv->a = base;
	mv->arena = base + FB * UT_PAGE;
	mv->b = mv->arena + 2 * max_pages * UT_PAGE;
	mv->cur = mv->arena;
	mv->n = max_pages / 2 ? max_pages / 2 : 1;
	UT_REQUIRE(mmap(mv->a, FB * UT_PAGE, rw, fl, -1, 0) == mv->a, "map A: errno %d", errno);
	UT_REQUIRE(mmap(mv->b, FB * UT_PAGE, rw, fl, -1, 0) == mv->b, "map B: errno %d", errno);
	UT_REQUIRE(mmap(mv->cur, (size_t)mv->n * UT_PAGE, rw, fl, -1, 0) == mv->cur,
		   "map region: errno %d", errno);
	page_fill(mv, mv->cur, 0, mv->n);
	return UT_PASS;
}

static int test_mremap_stress(void)
{
	long nthreads = ut_arg("threads", 2);
	pthread_t *th;
	long total = 0, ops[7] = { 0 };

	UT_REQUIRE(nthreads >= 1 && nthreads <= 64 && max_pages >= 2, "bad threads/max");
	movers = calloc((size_t)nthreads, sizeof(*movers));
	th = calloc((size_t)nthreads * 2, sizeof(*th));
	UT_REQUIRE(movers && th, "calloc");
	for (int i = 0; i < nthreads; i++)
		if (arena_setup(&movers[i], i) != UT_PASS)
			return UT_FAIL;
	for (int i = 0; i < nthreads; i++) {
		UT_REQUIRE(!pthread_create(&th[2 * i], NULL, faulter_main, &movers[i]), "pthread_create");
		UT_REQUIRE(!pthread_create(&th[2 * i + 1], NULL, mover_main, &movers[i]), "pthread_create");
	}
	__atomic_store_n(&go, 1, __ATOMIC_RELEASE);
	for (int i = 0; i < nthreads; i++) {
		pthread_join(th[2 * i + 1], NULL);
		if (ut_progress_due())
			ut_diag("progress: %ld mremap operations", __atomic_load_n(&done_ops, __ATOMIC_RELAXED));
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[2 * i], NULL);
	for (int k = 0; k < 7; k++)
		for (int i = 0; i < nthreads; i++) {
			ops[k] += movers[i].ops[k];
			total += movers[i].ops[k];
		}
	ut_diag("mremaploop: %ld movers, %ld ops: grow %ld shrink %ld move %ld move+resize %ld "
		"dontunmap %ld maymove %ld rewrite %ld", nthreads, total,
		ops[0], ops[1], ops[2], ops[3], ops[4], ops[5], ops[6]);
	for (int i = 0; i < nthreads && !ut_failures(); i++)
		region_verify(&movers[i], movers[i].cur, movers[i].n, "final");
	return UT_PASS;
}

int main(int argc, char **argv)
{
	static const struct ut_case cases[] = {
		{ "mremap_stress", test_mremap_stress },
	};

	ut_init(argc, argv, 20);
	iters = ut_arg("iters", 2000);
	max_pages = ut_arg("max", 32);
	return ut_run(cases, UT_NCASES(cases));
}
