/*
 * tests/host/mm_dontneed.c - MADV_DONTNEED under mm->lock held for reading,
 * or under the read lock of its one vma,
 * races faults instead of excluding them (mm/mmap.c, mm_madvise): faulter
 * CPUs write and read back their own pages while two dropper CPUs zap
 * random ranges of them, concurrently with each other, and one of them
 * re-forks the mm now and then so that faults also break COW.
 *
 * A mutator CPU is the writer of the vmas a dropper's read lock holds
 * (mm_madvise takes only the one vma's read lock when the range lies in
 * it): it mprotects part of a faulter's private region away and back (a
 * split, then a re-merge) and maps, fills and unmaps or moves a region of
 * its own, which the droppers also drop.
 *
 * Checks: a private page reads back what its faulter last wrote or zero (it
 * was dropped), never anything else (a COW copy made from a zapped, freed
 * frame reads as poison); a shared page always reads back what was written
 * (DONTNEED keeps a shared object's contents); every call succeeds; at the
 * end RSS equals the mapped PTEs, no frame was freed while a TLB cached it,
 * and everything comes back after exit. Bounded by MMD_SECONDS (default 2).
 * (Checked: with fault_install's PTE re-check removed this test fails.)
 */
#include "mm_harness.h"
#include <pthread.h>

#define PG PAGE_SIZE
#define RW (PROT_READ | PROT_WRITE)
#define NFAULT 3
#define PRIV_PAGES 64ull
#define SHARED_PAGES 16ull
#define BASE 0x100000000ull
#define SLOT (1ull << 24)	/* each faulter's private, then shared region */
#define MMD_SECONDS 2

#define CH_BASE (BASE + NFAULT * SLOT)	/* the mutator's region */
#define CH_PAGES 32ull

static struct mm *mm, *child;	/* child: the droppers' latest fork */
static bool stop;		/* (A) */
static uint64_t errors, drops, forks, mutations;	/* (A) */

static uint64_t priv(int i)
{
	return BASE + (uint64_t)i * SLOT;
}

static uint64_t shared(int i)
{
	return priv(i) + SLOT / 2;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void fail(const char *what, int id, uint64_t va, int got, int want)
{
	printf("# faulter %d: %s at %#llx: got %d, want %d\n", id, what,
	       (unsigned long long)va, got, want);
	ck_pr_inc_64(&errors);
}

/* fault_page: write (or not) and read back page p of faulter id's private
 * or shared region; the page holds *shadow, or zero if it is private and
 * was dropped. */
static void fault_page(int id, bool sh, uint64_t p, uint8_t *shadow, uint64_t *seed)
{
	uint64_t va = (sh ? shared(id) : priv(id)) + p * PG;
	int r;

	if (rnd(seed) % 2) {
		uint8_t v = (uint8_t)(rnd(seed) | 1);

		if (mmh_write(mm, va, v))
			return fail("write", id, va, -1, v);
		*shadow = v;
	}
	r = mmh_read(mm, va);
	if (r != *shadow && (sh || r != 0))
		return fail(sh ? "shared read" : "private read", id, va, r, *shadow);
	*shadow = (uint8_t)r;
}

static void *faulter(void *arg)
{
	int id = (int)(uintptr_t)arg;
	uint8_t ps[PRIV_PAGES], ss[SHARED_PAGES] = { 0 };
	uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);

	for (uint64_t p = 0; p < PRIV_PAGES; p++)
		ps[p] = (uint8_t)(id * PRIV_PAGES + p) | 1;	/* the prefill */
	host_cpu_start();
	for (unsigned iter = 1; !ck_pr_load_8((uint8_t *)&stop); iter++) {
		uint64_t p = rnd(&seed);

		if (iter % 128 == 0)
			sched_yield();	/* 2 cores, 6 CPUs */
		if (p % 4)
			fault_page(id, false, p / 4 % PRIV_PAGES, &ps[p / 4 % PRIV_PAGES], &seed);
		else
			fault_page(id, true, p / 4 % SHARED_PAGES, &ss[p / 4 % SHARED_PAGES], &seed);
	}
	host_cpu_stop();
	return NULL;
}

/* refork: replace the child with a fresh fork (write-protects the parent). */
static void refork(void)
{
	struct mm *c;

	if (mm_fork(mm, &c)) {
		ck_pr_inc_64(&errors);
		return;
	}
	if (child)
		mm_destroy(child);
	child = c;
	ck_pr_inc_64(&forks);
}

static void *dropper(void *arg)
{
	uint64_t seed = 0x1234567ull + ktest_seed + (uintptr_t)arg;

	host_cpu_start();
	for (unsigned iter = 1; !ck_pr_load_8((uint8_t *)&stop); iter++) {
		int id = (int)(rnd(&seed) % NFAULT);
		bool sh = rnd(&seed) % 4 == 0;
		uint64_t n = sh ? SHARED_PAGES : PRIV_PAGES, len = 1 + rnd(&seed) % 8;
		uint64_t first = rnd(&seed) % n;

		int err;

		if (first + len > n)
			len = n - first;
		if (iter % 8 == 0) {	/* the mutator's region, or where it moves it */
			uint64_t at = iter % 16 ? CH_BASE : CH_BASE + SLOT / 2;

			err = mm_madvise(mm, at + rnd(&seed) % CH_PAGES * PG, len * PG,
					 MADV_DONTNEED);
			if (err && err != -ENOMEM)
				ck_pr_inc_64(&errors);
		} else if (mm_madvise(mm, (sh ? shared(id) : priv(id)) + first * PG, len * PG,
				      MADV_DONTNEED)) {
			ck_pr_inc_64(&errors);
		}
		ck_pr_inc_64(&drops);
		if (arg == NULL && iter % 64 == 0)
			refork();
		if (iter % 16 == 0)
			sched_yield();
	}
	host_cpu_stop();
	return NULL;
}

/* mutate_once: split part of a faulter's private region off and merge it
 * back (RWX, then RW: faulters keep writing), then map the mutator's
 * region, fill every third page and unmap it, directly or after moving it. */
static void mutate_once(uint64_t *seed, unsigned iter)
{
	uint64_t first = rnd(seed) % PRIV_PAGES, len = 1 + rnd(seed) % 16, a, o;

	if (first + len > PRIV_PAGES)
		len = PRIV_PAGES - first;
	a = priv((int)(rnd(seed) % NFAULT)) + first * PG;
	if (mm_mprotect(mm, a, len * PG, RW | PROT_EXEC) || mm_mprotect(mm, a, len * PG, RW))
		ck_pr_inc_64(&errors);
	if (mm_mmap(mm, CH_BASE, CH_PAGES * PG, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, &o)) {
		ck_pr_inc_64(&errors);
		return;
	}
	for (uint64_t p = 0; p < CH_PAGES; p += 3)
		if (mmh_write(mm, CH_BASE + p * PG, 1))
			ck_pr_inc_64(&errors);
	a = CH_BASE;
	if (iter % 2 && mm_mremap(mm, CH_BASE, CH_PAGES * PG, CH_PAGES * PG,
				  MREMAP_MAYMOVE | MREMAP_FIXED, CH_BASE + SLOT / 2, &a))
		ck_pr_inc_64(&errors);
	if (mm_munmap(mm, a, CH_PAGES * PG))
		ck_pr_inc_64(&errors);
	ck_pr_inc_64(&mutations);
}

static void *mutator(void *arg)
{
	uint64_t seed = 0xabcdef12ull + ktest_seed;

	(void)arg;
	host_cpu_start();
	for (unsigned iter = 1; !ck_pr_load_8((uint8_t *)&stop); iter++) {
		mutate_once(&seed, iter);
		if (iter % 16 == 0)
			sched_yield();
	}
	host_cpu_stop();
	return NULL;
}

/* setup: each faulter's private region, prefilled, and its shared one. */
static void setup(void)
{
	uint64_t o;

	mm = mm_create();
	KT_REQUIRE(mm, "mm");
	for (int i = 0; i < NFAULT; i++) {
		KT_REQUIRE(mm_mmap(mm, priv(i), PRIV_PAGES * PG, RW,
				   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, &o) == 0, "private");
		KT_REQUIRE(mm_mmap(mm, shared(i), SHARED_PAGES * PG, RW,
				   MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, &o) == 0, "shared");
		for (uint64_t p = 0; p < PRIV_PAGES; p++)
			KT_REQUIRE(mmh_write(mm, priv(i) + p * PG,
					     (uint8_t)(i * PRIV_PAGES + p) | 1) == 0, "prefill");
	}
	refork();
}

KTEST(dontneed_vs_faults)
{
	pthread_t ft[NFAULT], dt[2], mt;
	const char *secs = getenv("MMD_SECONDS");
	struct madvise_stats m0, m1;
	struct host_stats hs;
	struct mmh_mark mark;

	mmh_init(8);
	mmh_quiesce();
	mark = mmh_mark_now();
	setup();
	debug_yield_enable(64);
	host_cpu_idle_begin();
	for (int i = 0; i < NFAULT; i++)
		pthread_create(&ft[i], NULL, faulter, (void *)(uintptr_t)i);
	madvise_stats_read(&m0);
	for (uintptr_t i = 0; i < 2; i++)
		pthread_create(&dt[i], NULL, dropper, (void *)i);
	pthread_create(&mt, NULL, mutator, NULL);
	sleep(secs ? (unsigned)atoi(secs) : MMD_SECONDS);
	ck_pr_store_8((uint8_t *)&stop, 1);
	for (int i = 0; i < NFAULT; i++)
		pthread_join(ft[i], NULL);
	for (int i = 0; i < 2; i++)
		pthread_join(dt[i], NULL);
	pthread_join(mt, NULL);
	host_cpu_idle_end();
	debug_yield_enable(0);
	host_stats_read(&hs);
	madvise_stats_read(&m1);
	printf("# %llu drops (%llu under a vma's read lock, %llu under mm->lock), %llu forks, "
	       "%llu mutations\n", (unsigned long long)drops,
	       (unsigned long long)(m1.vma_locked - m0.vma_locked),
	       (unsigned long long)(m1.mm_locked - m0.mm_locked), (unsigned long long)forks,
	       (unsigned long long)mutations);
	KT_CHECK(errors == 0, "%llu errors", (unsigned long long)errors);
	KT_CHECK(drops > 100 && forks > 1 && mutations > 10, "every thread made progress");
	KT_CHECK(m1.vma_locked - m0.vma_locked > 10 && m1.mm_locked - m0.mm_locked > 10,
		 "both DONTNEED paths ran");
	KT_CHECK(hs.freed_cached == 0, "%llu frames freed while cached",
		 (unsigned long long)hs.freed_cached);
	KT_CHECK(mmh_rss_ok(mm), "exact rss at the end");
	KT_CHECK(mmh_rss_ok(child), "exact rss in the child");
	mm_destroy(child);
	mm_destroy(mm);
	mmh_check_leaks(mark);
}

int main(int argc, char **argv)
{
	return ktest_main(argc, argv);
}
