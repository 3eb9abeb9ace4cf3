/*
 * tests/host/review_stale_tlb.c - deterministic interleavings of a zap whose
 * shootdown is still pending in one address space with a fault or a zap of
 * the same frame in another (found in review, 2026-11-22).
 *
 * The bug (fixed with this test): page_unmapped() dropped a frame's mapcount
 * and refcount when the PTE was cleared, but the mm's other CPUs may keep a
 * translation to the frame until tlb_finish() has their acknowledgements.
 * Meanwhile another mm that shares the frame (fork, COW) saw it as its own.
 * Now the gather holds the PTE's reference until after the flush and COW
 * reuse wants a reference count of 1. The two interleavings:
 *   cow_reuse_pending_flush: the parent's write fault reads mapcount == 1,
 *     reuses the frame and writes it; the child's CPU, still holding its
 *     read-only translation, reads the parent's new data.
 *   free_pending_flush: the parent unmaps it too; the parent's gather frees
 *     it (its own flush done) and the next allocation reuses it; the child's
 *     CPU reads a foreign page through its stale translation (and the host
 *     machine counts a frame freed while cached).
 * Correct result in both: the child's CPU reads the pre-fork byte.
 *
 * The pause: pmap_tlb_shootdown is wrapped (-Wl,--wrap, review.cmake): on the
 * child's unmapping CPU it waits, before posting, until the reader has read.
 */
#include "tests/host/mm_harness.h"
#include <pthread.h>

#define PG PAGE_SIZE
#define VA 0x200000000ull
#define NPG 64ull
#define OLD 0x11
#define RW (PROT_READ | PROT_WRITE)
#define PA (MAP_PRIVATE | MAP_ANONYMOUS)

void __real_pmap_tlb_shootdown(struct pmap *pm, const cpuset_t *targets,
			       const struct tlb_range *r, unsigned n, bool full);
void __wrap_pmap_tlb_shootdown(struct pmap *pm, const cpuset_t *targets,
			       const struct tlb_range *r, unsigned n, bool full);

static struct mm *parent, *child;
static int pause_cpu = -1;	/* (A) the CPU whose shootdown waits */
static int stage;		/* (A) 1 reader cached, 2 zapper paused,
				 * 3 other mm acted, 4 reader read */
static bool zapper_done;	/* (A) */
static int reader_got;
static int scenario;		/* 0: COW reuse, 1: free + reallocate */

static void wait_stage(int s)
{
	while (ck_pr_load_int(&stage) < s)
		pmap_cpu_relax();
}

/* __wrap_pmap_tlb_shootdown: the child's zapper stops between its PTE
 * clears (done) and its requests (not yet posted). */
void __wrap_pmap_tlb_shootdown(struct pmap *pm, const cpuset_t *targets,
			       const struct tlb_range *r, unsigned n, bool full)
{
	if ((int)cpu_self() == ck_pr_load_int(&pause_cpu)) {
		ck_pr_store_int(&stage, 2);
		wait_stage(4);
	}
	__real_pmap_tlb_shootdown(pm, targets, r, n, full);
}

static void *reader(void *arg)
{
	(void)arg;
	host_cpu_start();
	if (mmh_read(child, VA) != OLD)	/* caches the RO translation */
		printf("# reader: first read wrong\n");
	ck_pr_store_int(&stage, 1);
	while (ck_pr_load_int(&stage) < 3)
		cpu_relax();	/* no access, no poll: the translation stays */
	reader_got = mmh_read(child, VA);
	ck_pr_store_int(&stage, 4);
	while (!ck_pr_load_8((uint8_t *)&zapper_done))
		host_cpu_poll();	/* acknowledge the zapper's request */
	host_cpu_stop();
	return NULL;
}

static void *zapper(void *arg)
{
	(void)arg;
	ck_pr_store_int(&pause_cpu, host_cpu_start());
	wait_stage(1);
	if (mm_munmap(child, VA, NPG * PG))
		printf("# zapper: munmap failed\n");
	ck_pr_store_8((uint8_t *)&zapper_done, 1);
	host_cpu_stop();
	return NULL;
}

static void *other(void *arg)
{
	(void)arg;
	host_cpu_start();
	wait_stage(2);
	if (scenario == 0) {
		mmh_write(parent, VA, 0x55);	/* mapcount 1: reuse */
	} else {
		uint64_t a;

		mm_munmap(parent, VA, PG);	/* last reference: freed now */
		mm_mmap(parent, VA, PG, RW, PA | MAP_FIXED, &a);
		mmh_write(parent, VA, 0x77);	/* new frame: the LIFO's top */
	}
	ck_pr_store_int(&stage, 3);
	host_cpu_stop();
	return NULL;
}

static int run(int which, uint64_t *freed_cached)
{
	struct host_stats s0, s1;
	pthread_t t[3];
	uint64_t a;

	scenario = which;
	stage = 0;
	zapper_done = false;
	pause_cpu = -1;
	parent = mm_create();
	if (mm_mmap(parent, VA, NPG * PG, RW, PA | MAP_FIXED, &a))
		return -1;
	for (uint64_t i = 0; i < NPG; i++)
		mmh_write(parent, VA + i * PG, OLD);
	if (mm_fork(parent, &child))
		return -1;
	host_cpu_switch(NULL);	/* this CPU holds nothing of either mm */
	host_stats_read(&s0);
	pthread_create(&t[0], NULL, reader, NULL);
	pthread_create(&t[1], NULL, zapper, NULL);
	pthread_create(&t[2], NULL, other, NULL);
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	host_stats_read(&s1);
	*freed_cached = s1.freed_cached - s0.freed_cached;
	ck_pr_store_int(&pause_cpu, -1);
	mm_destroy(child);
	mm_destroy(parent);
	return reader_got;
}

KTEST(cow_reuse_pending_flush)
{
	uint64_t fc;
	int got;

	mmh_init(5);
	got = run(0, &fc);
	KT_CHECK(got == OLD, "child CPU read %#x through its translation, want %#x "
		 "(the parent's post-fork write)", got, OLD);
}

KTEST(free_pending_flush)
{
	uint64_t fc;
	int got;

	mmh_init(5);
	got = run(1, &fc);
	KT_CHECK(fc == 0, "%llu frame(s) freed while a CPU still cached them",
		 (unsigned long long)fc);
	KT_CHECK(got == OLD, "child CPU read %#x through its translation, want %#x "
		 "(a freed, reallocated frame)", got, OLD);
}

int main(int argc, char **argv)
{
	return ktest_main(argc, argv);
}
