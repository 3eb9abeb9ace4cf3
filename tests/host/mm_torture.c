/*
 * tests/host/mm_torture.c - several simulated CPUs fault and verify data
 * patterns in their own regions while a mutator CPU mmaps, munmaps,
 * mprotects, mremaps and forks neighbouring and overlapping ranges, with
 * schedule perturbation (DEBUG_YIELD). Bounded by MMT_SECONDS (environment
 * variable of the same name overrides; the "stress" run uses 20).
 *
 * Checks: every read a faulter makes equals its shadow (no stale read, no
 * lost write, no use after free: freed frames read as poison); writes fail
 * only inside the mutator's read-only windows; the mutator's own scratch
 * pages keep their contents across moves; inside every read-only window no
 * PTE is writable, and at the end every PTE lies inside a mapping that
 * allows it, RSS equals the mapped PTEs exactly, no frame was freed while
 * cached, and every frame and allocation comes back after exit. Faulters
 * also race reads against the mutator's scratch pages. (Checked: with the
 * fault path's seq re-check removed this test fails.)
 */
#include "mm_harness.h"
#include <pthread.h>
#include <time.h>

#define PG PAGE_SIZE
#define RW (PROT_READ | PROT_WRITE)
#define PA (MAP_PRIVATE | MAP_ANONYMOUS)
#define NFAULT 3
#define SLOT_PAGES 256ull
#define OWN_PAGES 64ull		/* faulter region: first pages of its slot */
#define BASE 0x100000000ull
#define MMT_SECONDS 3

static struct mm *mm;
static bool stop;			/* (A) */
static uint64_t fault_errors, mut_errors, writes_refused, mut_ops;	/* (A) */

static uint64_t slot(int i)
{
	return BASE + (uint64_t)i * SLOT_PAGES * PG;
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void *faulter(void *arg)
{
	int id = (int)(uintptr_t)arg;
	uint8_t shadow[OWN_PAGES] = { 0 };
	uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)(id + 1);

	host_cpu_start();
	for (unsigned iter = 1; !ck_pr_load_8((uint8_t *)&stop); iter++) {
		uint64_t p = rnd(&seed) % OWN_PAGES;

		if (iter % 128 == 0)
			sched_yield();	/* leave the mutator some of the 2 cores */
		if (iter % 8 == 0) {
			/* race the mutator on its scratch pages (reads only: any
			 * value or -EFAULT; what a racing fault may leave behind
			 * is checked by mmh_ptes_in) */
			mmh_read(mm, slot(id) + (OWN_PAGES + rnd(&seed) % (SLOT_PAGES - OWN_PAGES)) * PG);
			continue;
		}
		uint64_t va = slot(id) + p * PG + (rnd(&seed) % PG);
		uint8_t v = (uint8_t)(rnd(&seed) | 1);

		if (rnd(&seed) % 2) {
			/* the same byte in the whole page stands for the page */
			int err = mmh_write(mm, slot(id) + p * PG, v);

			if (!err)
				shadow[p] = v;
			else if (err == -EFAULT)
				ck_pr_inc_64(&writes_refused);
			else
				ck_pr_inc_64(&fault_errors);
		} else {
			int r = mmh_read(mm, va & ~(PG - 1));

			if (r != shadow[p]) {
				printf("# cpu %d: page %llu read %d, expected %u\n", id,
				       (unsigned long long)p, r, shadow[p]);
				ck_pr_inc_64(&fault_errors);
			}
		}
	}
	host_cpu_stop();
	return NULL;
}

/* Scratch model of the mutator: expected byte at offset 0 of each scratch
 * page of every slot, -1 if unmapped. */
static int scratch[NFAULT][SLOT_PAGES];

static void mut_check(int s, uint64_t p)
{
	int r = mmh_read(mm, slot(s) + p * PG);

	if (r != (scratch[s][p] < 0 ? -EFAULT : scratch[s][p])) {
		printf("# mutator: slot %d page %llu read %d, expected %d\n", s,
		       (unsigned long long)p, r, scratch[s][p]);
		ck_pr_inc_64(&mut_errors);
	}
}

/* mut_step: one random operation on scratch pages or over faulter ranges. */
static void mut_step(uint64_t *seed)
{
	int s = (int)(rnd(seed) % NFAULT), op = (int)(rnd(seed) % 6);
	uint64_t p = OWN_PAGES + rnd(seed) % (SLOT_PAGES - OWN_PAGES - 16), n = 1 + rnd(seed) % 8;
	uint64_t va = slot(s) + p * PG, o;
	struct mm *child;

	switch (op) {
	case 0:	/* map fresh memory and fill it */
		if (mm_mmap(mm, va, n * PG, RW, (rnd(seed) % 2 ? MAP_SHARED | MAP_ANONYMOUS : PA) |
			    MAP_FIXED, &o))
			break;
		for (uint64_t i = 0; i < n; i++) {
			scratch[s][p + i] = (int)((p + i) & 0xff) | 1;
			mmh_write(mm, va + i * PG, (uint8_t)scratch[s][p + i]);
		}
		break;
	case 1:
		mm_munmap(mm, va, n * PG);
		for (uint64_t i = 0; i < n; i++)
			scratch[s][p + i] = -1;
		break;
	case 2: {	/* move n pages within the scratch area */
		uint64_t q = OWN_PAGES + rnd(seed) % (SLOT_PAGES - OWN_PAGES - 16);
		int save[8];
		bool mapped = true;

		for (uint64_t i = 0; i < n; i++)
			mapped &= scratch[s][p + i] >= 0;
		if (!mapped || (q < p + n && p < q + n))
			break;
		for (uint64_t i = 0; i < n; i++)
			save[i] = scratch[s][p + i];
		if (mm_mremap(mm, va, n * PG, n * PG, MREMAP_MAYMOVE | MREMAP_FIXED,
			      slot(s) + q * PG, &o))
			break;
		for (uint64_t i = 0; i < n; i++) {
			scratch[s][p + i] = -1;
			scratch[s][q + i] = save[i];
		}
		for (uint64_t i = 0; i < n; i++)
			mut_check(s, q + i);
		break;
	}
	case 3: {	/* read-only window over part of a faulter's region */
		uint64_t f = rnd(seed) % OWN_PAGES, m = 1 + rnd(seed) % (OWN_PAGES - f);

		mm_mprotect(mm, slot(s) + f * PG, m * PG, PROT_READ);
		DEBUG_YIELD();
		/* no fault may have installed a writable PTE in the window */
		mm_lock_write(mm);
		if (mmh_ptes_in(mm, slot(s) + f * PG, slot(s) + (f + m) * PG, true))
			ck_pr_inc_64(&mut_errors);
		mm_unlock_write(mm);
		mm_mprotect(mm, slot(s) + f * PG, m * PG, RW);
		break;
	}
	case 4:	/* fork and let the child go */
		if (!mm_fork(mm, &child)) {
			if (mmh_read(child, va) != (scratch[s][p] < 0 ? -EFAULT : scratch[s][p]))
				ck_pr_inc_64(&mut_errors);
			host_cpu_switch(NULL);
			mm_destroy(child);
		}
		break;
	default:
		for (uint64_t i = 0; i < n; i++)
			mut_check(s, p + i);
		break;
	}
	ck_pr_inc_64(&mut_ops);
}

static void *mutator(void *arg)
{
	uint64_t seed = 0x1234567ull + ktest_seed;

	host_cpu_start();
	while (!ck_pr_load_8((uint8_t *)&stop))
		mut_step(&seed);
	host_cpu_stop();
	return NULL;
}

KTEST(torture_faults_vs_mutations)
{
	pthread_t ft[NFAULT], mt;
	struct fault_stats fs;
	struct host_stats hs;
	struct mmh_mark mark;
	uint64_t o;

	mmh_init(8);
	mmh_quiesce();
	mark = mmh_mark_now();
	mm = mm_create();
	KT_REQUIRE(mm, "mm");
	for (int i = 0; i < NFAULT; i++) {
		KT_REQUIRE(mm_mmap(mm, slot(i), OWN_PAGES * PG, RW, PA | MAP_FIXED, &o) == 0, "own");
		for (uint64_t p = 0; p < SLOT_PAGES; p++)
			scratch[i][p] = -1;
	}
	fault_stats_reset();
	debug_yield_enable(getenv("MMT_NOYIELD") ? 0 : 64);
	host_cpu_idle_begin();
	for (int i = 0; i < NFAULT; i++)
		pthread_create(&ft[i], NULL, faulter, (void *)(uintptr_t)i);
	pthread_create(&mt, NULL, mutator, NULL);
	sleep(getenv("MMT_SECONDS") ? (unsigned)atoi(getenv("MMT_SECONDS")) : MMT_SECONDS);
	ck_pr_store_8((uint8_t *)&stop, 1);
	for (int i = 0; i < NFAULT; i++)
		pthread_join(ft[i], NULL);
	pthread_join(mt, NULL);
	host_cpu_idle_end();
	debug_yield_enable(0);
	fault_stats_read(&fs);
	host_stats_read(&hs);
	printf("# %llu mutations; faults: %llu fast (%llu found in the CPU's vma cache), %llu"
	       " retries, %llu fallbacks; %llu writes refused in read-only windows\n",
	       (unsigned long long)mut_ops, (unsigned long long)fs.fast,
	       (unsigned long long)fs.cached, (unsigned long long)fs.retries,
	       (unsigned long long)fs.fallbacks, (unsigned long long)writes_refused);
	KT_CHECK(fault_errors == 0, "%llu faulter errors", (unsigned long long)fault_errors);
	KT_CHECK(mut_errors == 0, "%llu mutator errors", (unsigned long long)mut_errors);
	KT_CHECK(mut_ops > 10 && fs.fast > 10, "both sides made progress");
	KT_CHECK(fs.cached > 10 && fs.cached <= fs.fast, "the vma cache answered");
	KT_CHECK(hs.freed_cached == 0, "%llu frames freed while cached",
		 (unsigned long long)hs.freed_cached);
	KT_CHECK(mmh_rss_ok(mm), "exact rss at the end");
	KT_CHECK(mmh_ptes_in(mm, BASE, slot(NFAULT), true) == 0, "every PTE inside its mapping");
	mm_destroy(mm);
	mmh_check_leaks(mark);
}

int main(int argc, char **argv)
{
	return ktest_main(argc, argv);
}
