/*
 * tests/host/mm_smp.c - shootdowns on several simulated CPUs.
 *
 * shootdown_1000_pages_3_cpus: unmapping 1,000 pages of an mm active on 3
 *   CPUs sends exactly 2 requests (the local CPU flushes inline).
 * gather_flushes_early_without_batches: with no memory for gather batches,
 *   the same unmap flushes every TLB_LOCAL_FRAMES frames and stays safe.
 * freed_frames_wait_for_acks: a remote CPU caches a page; after munmap the
 *   frame is never freed while a TLB still holds it (host freed_cached).
 * broken_machine_is_caught: with shootdowns deliberately dropped, the same
 *   scenario produces a stale read and freed_cached > 0: the checks can fail.
 * fork_snapshot_is_stable: two CPUs keep writing a region while the parent
 *   forks repeatedly; a third CPU reads the child, whose view must never
 *   change (a write through a stale writable TLB entry into a frame now
 *   shared copy-on-write would show). Fails with shootdowns dropped.
 */
#include "mm_harness.h"
#include <pthread.h>
#include <time.h>

#define PG PAGE_SIZE
#define RW (PROT_READ | PROT_WRITE)
#define PA (MAP_PRIVATE | MAP_ANONYMOUS)

struct worker {
	pthread_t t;
	struct mm *mm;
	uint64_t va;		/* (A) page to touch; 0 = none */
	int touches;		/* (A) requests to read va, done when 0 */
	int last;		/* (A) the value read */
	bool stop;		/* (A) */
	bool ready;		/* (A) */
};

/* worker_main: an active CPU: reads on request, otherwise polls its
 * mailbox like a CPU taking interrupts. */
static void *worker_main(void *arg)
{
	struct worker *w = arg;

	host_cpu_start();
	host_cpu_switch(w->mm);
	ck_pr_store_8((uint8_t *)&w->ready, 1);
	while (!ck_pr_load_8((uint8_t *)&w->stop)) {
		if (ck_pr_load_int(&w->touches) > 0) {
			ck_pr_store_int(&w->last, mmh_read(w->mm, ck_pr_load_64(&w->va)));
			ck_pr_dec_int(&w->touches);
		}
		host_cpu_poll();
		cpu_relax();
	}
	host_cpu_stop();
	return NULL;
}

static void worker_read(struct worker *w, uint64_t va)
{
	ck_pr_store_64(&w->va, va);
	ck_pr_store_int(&w->touches, 1);
	while (ck_pr_load_int(&w->touches))
		host_cpu_poll();
}

static void workers_start(struct worker *w, int n, struct mm *mm)
{
	for (int i = 0; i < n; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].mm = mm;
		pthread_create(&w[i].t, NULL, worker_main, &w[i]);
		while (!ck_pr_load_8((uint8_t *)&w[i].ready))
			cpu_relax();
	}
}

static void workers_stop(struct worker *w, int n)
{
	host_cpu_idle_begin();
	for (int i = 0; i < n; i++) {
		ck_pr_store_8((uint8_t *)&w[i].stop, 1);
		pthread_join(w[i].t, NULL);
	}
	host_cpu_idle_end();
}

/* map_1000_on_3_cpus: 1,000 written pages, cached by two worker CPUs. */
static struct mm *map_1000_on_3_cpus(struct worker *w, uint64_t *a)
{
	mmh_init(4);
	struct mm *mm = mm_create();

	if (!mm || mm_mmap(mm, 0, 1000 * PG, RW, PA, a) != 0)
		exit(2);
	for (int i = 0; i < 1000; i++)
		mmh_write(mm, *a + i * PG, (uint8_t)i);
	workers_start(w, 2, mm);
	worker_read(&w[0], *a);
	worker_read(&w[1], *a + 999 * PG);
	tlb_stats_reset();
	return mm;
}

KTEST(shootdown_1000_pages_3_cpus)
{
	struct worker w[2];
	struct tlb_stats ts;
	uint64_t a;
	struct mm *mm = map_1000_on_3_cpus(w, &a);

	KT_CHECK(mm_munmap(mm, a, 1000 * PG) == 0, "munmap");
	tlb_stats_read(&ts);
	KT_CHECK(ts.requests == 2, "requests %llu", (unsigned long long)ts.requests);
	KT_CHECK(ts.flushes == 1, "one batched flush, got %llu", (unsigned long long)ts.flushes);
	KT_CHECK(ts.full == 3, "1000 pages > ceiling: full flush on 3 CPUs (%llu)",
		 (unsigned long long)ts.full);
	workers_stop(w, 2);
	KT_CHECK(mmh_rss_ok(mm), "rss");
	mm_destroy(mm);
}

/* gather_flushes_early_without_batches: when the gather cannot allocate
 * batches it flushes every TLB_LOCAL_FRAMES frames: 1,000 frames make 63
 * flushes of 2 requests, and still no frame is freed while cached. */
KTEST(gather_flushes_early_without_batches)
{
	struct worker w[2];
	struct tlb_stats ts;
	struct host_stats hs0, hs;
	uint64_t a;
	struct mm *mm = map_1000_on_3_cpus(w, &a);

	host_stats_read(&hs0);
	alloc_inject_try_fail(true);
	KT_CHECK(mm_munmap(mm, a, 1000 * PG) == 0, "munmap");
	alloc_inject_try_fail(false);
	tlb_stats_read(&ts);
	host_stats_read(&hs);
	KT_CHECK(ts.flushes == (1000 + TLB_LOCAL_FRAMES - 1) / TLB_LOCAL_FRAMES,
		 "flushes %llu", (unsigned long long)ts.flushes);
	KT_CHECK(ts.requests == 2 * ts.flushes, "requests %llu", (unsigned long long)ts.requests);
	KT_CHECK(hs.freed_cached == hs0.freed_cached, "%llu frames freed while cached",
		 (unsigned long long)(hs.freed_cached - hs0.freed_cached));
	worker_read(&w[0], a + 999 * PG);
	KT_CHECK(ck_pr_load_int(&w[0].last) == -EFAULT, "unmapped for the other CPUs: %d",
		 ck_pr_load_int(&w[0].last));
	workers_stop(w, 2);
	KT_CHECK(mmh_rss_ok(mm), "rss");
	mm_destroy(mm);
}

/* stale_scenario: a remote CPU caches page a (value 1); a is unmapped and
 * re-mapped with value 2; returns what the remote CPU then reads. */
static int stale_scenario(struct mm *mm, struct worker *w)
{
	uint64_t a = 0x20000000, o;

	mm_mmap(mm, a, PG, RW, PA | MAP_FIXED, &o);
	mmh_write(mm, a, 1);
	worker_read(w, a);
	mm_munmap(mm, a, PG);
	mmh_quiesce();		/* let the freed frame be poisoned */
	mm_mmap(mm, a, PG, RW, PA | MAP_FIXED, &o);
	mmh_write(mm, a, 2);
	worker_read(w, a);
	return ck_pr_load_int(&w->last);
}

KTEST(freed_frames_wait_for_acks)
{
	struct worker w[1];
	struct host_stats hs;
	int bad = 0;

	mmh_init(4);
	struct mm *mm = mm_create();

	workers_start(w, 1, mm);
	for (int i = 0; i < 50; i++)
		bad += stale_scenario(mm, w) != 2;
	host_stats_read(&hs);
	KT_CHECK(bad == 0, "%d stale reads", bad);
	KT_CHECK(hs.freed_cached == 0, "%llu frames freed while cached",
		 (unsigned long long)hs.freed_cached);
	workers_stop(w, 1);
	mm_destroy(mm);
}

KTEST(broken_machine_is_caught)
{
	struct worker w[1];
	struct host_stats hs0, hs;
	int bad = 0;

	mmh_init(4);
	struct mm *mm = mm_create();

	workers_start(w, 1, mm);
	host_stats_read(&hs0);
	ck_pr_store_8((uint8_t *)&host_debug_skip_shootdowns, 1);
	for (int i = 0; i < 40 && bad < 3; i++)
		bad += stale_scenario(mm, w) != 2;
	ck_pr_store_8((uint8_t *)&host_debug_skip_shootdowns, 0);
	host_stats_read(&hs);
	/* A stale entry may hit the same frame reused for the new page (LIFO
	 * free list): then the read happens to be right; most are not. */
	KT_CHECK(bad > 0, "dropped shootdowns must give stale reads (%d)", bad);
	KT_CHECK(hs.freed_cached > hs0.freed_cached, "freed-while-cached detected");
	workers_stop(w, 1);
	mm_destroy(mm);
}

#define SNAP_PAGES 64

static struct mm *snap_parent;		/* (A) */
static bool snap_stop;			/* (A) */
static uint64_t snap_bad;		/* (A) */

static void *snap_writer(void *arg)
{
	uint64_t seed = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;

	host_cpu_start();
	for (uint8_t v = 1; !ck_pr_load_8((uint8_t *)&snap_stop); v++) {
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		mmh_write(snap_parent, 0x20000000 + (seed % SNAP_PAGES) * PG, v);
	}
	host_cpu_stop();
	return NULL;
}

/* snap_reader: read the child twice; both passes must agree. */
static void snap_check_child(struct mm *child)
{
	int first[SNAP_PAGES];

	for (int pass = 0; pass < 100; pass++) {
		sched_yield();	/* let the writers run between passes */
		for (int i = 0; i < SNAP_PAGES; i++) {
			int r = mmh_read(child, 0x20000000 + i * PG);

			if (pass == 0)
				first[i] = r;
			else if (r != first[i])
				ck_pr_inc_64(&snap_bad);
		}
	}
	host_cpu_switch(NULL);
}

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* fork_rounds: fork under the writers, check each child, for up to rounds
 * rounds or budget_s seconds (at least 4 rounds: each waits for the
 * writers' acks, slow when a loaded host deschedules them); children live
 * until the writers stopped, so that with shootdowns dropped no frame a
 * stale TLB entry can still write is freed and reused (which would corrupt
 * page tables instead of failing the check). */
static uint64_t fork_rounds(int rounds, int budget_s)
{
	long long end = now_ns() + budget_s * 1000000000LL;
	struct mm *children[64];
	pthread_t w[2];
	uint64_t a;
	int n = 0;

	snap_bad = 0;
	snap_stop = false;
	snap_parent = mm_create();
	mm_mmap(snap_parent, 0x20000000, SNAP_PAGES * PG, RW, PA | MAP_FIXED, &a);
	host_cpu_idle_begin();
	for (int i = 0; i < 2; i++)
		pthread_create(&w[i], NULL, snap_writer, (void *)(uintptr_t)(i + 1));
	host_cpu_idle_end();
	for (int r = 0; r < rounds && n < 64 && (r < 4 || now_ns() < end); r++)
		if (!mm_fork(snap_parent, &children[n]))
			snap_check_child(children[n++]);
	host_cpu_idle_begin();
	ck_pr_store_8((uint8_t *)&snap_stop, 1);
	for (int i = 0; i < 2; i++)
		pthread_join(w[i], NULL);
	host_cpu_idle_end();
	while (n)
		mm_destroy(children[--n]);
	mm_destroy(snap_parent);
	return snap_bad;
}

KTEST(fork_snapshot_is_stable)
{
	mmh_init(4);
	printf("# phase 1: a correct machine\n");
	fflush(stdout);
	KT_CHECK(fork_rounds(40, 10) == 0, "the child's view changed");
	ck_pr_store_8((uint8_t *)&host_debug_skip_shootdowns, 1);
	printf("# phase 2: shootdowns dropped\n");
	fflush(stdout);
	uint64_t bad = 0;

	for (int t = 0; t < 5 && !bad; t++)	/* a timing-dependent negative control */
		bad = fork_rounds(40, 6);
	KT_CHECK(bad > 0, "dropped shootdowns must break the snapshot");
	ck_pr_store_8((uint8_t *)&host_debug_skip_shootdowns, 0);
}

int main(int argc, char **argv)
{
	return ktest_main(argc, argv);
}
