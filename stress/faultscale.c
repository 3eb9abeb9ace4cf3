/*
 * stress/faultscale.c - page-fault scaling: N threads faulting disjoint
 * slices of one anonymous mapping, without and then with a thread churning
 * mmap/munmap on unrelated ranges (which takes the mm's write side while the
 * faults want the lock-free read side).
 *
 * For every thread count in threads= (default 1,2,4) and churn in {0,1}:
 * map threads * pages pages, release the threads together, each writes one
 * word in every page of its slice (one first-touch fault per page), the main
 * thread measures from release to the last thread's finish; then each thread
 * verifies its slice and drops it with MADV_DONTNEED for the next round. Round 0 is a warm-up and is not measured.
 * Prints faults per second per configuration; a configuration fails if any
 * page lost its value or a DONTNEED'd page did not read back as zero.
 * Transparent huge pages are disabled on the mapping (MADV_NOHUGEPAGE, error
 * ignored) so that one touch is one 4 KiB fault on Linux too.
 *
 * Args: threads=1,2,4 pages=2048 (per thread) rounds=4 secs=30.
 */
#include "uktap.h"

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>

struct worker {
	pthread_t th;
	int id;
	uint64_t *slice;
	uint64_t t_end;		/* written by the worker before its done count */
};

static long pages, rounds;
static int nworkers;
static int round_no;		/* atomic: workers start round round_no when it changes */
static int done;		/* atomic: workers finished with the current round */
static int stop_churn;		/* atomic */
static long churn_ops;		/* only the churn thread writes */

static uint64_t stamp(int id, int round, long p)
{
	return ((uint64_t)id << 48) | ((uint64_t)round << 32) | (uint64_t)p | 1;
}

/* worker_round: touch, then verify and zap, this worker's slice. */
static void worker_round(struct worker *w, int r)
{
	uint64_t *s = w->slice;

	for (long p = 0; p < pages; p++)
		s[p * 512] = stamp(w->id, r, p);
	w->t_end = ut_now_ns();
	__atomic_add_fetch(&done, 1, __ATOMIC_RELEASE);
	for (long p = 0; p < pages; p++)
		if (s[p * 512] != stamp(w->id, r, p)) {
			UT_CHECK(0, "thread %d round %d: page %ld holds %#lx", w->id, r, p,
				 (unsigned long)s[p * 512]);
			break;
		}
	UT_CHECK(madvise(s, (size_t)pages * UT_PAGE, MADV_DONTNEED) == 0, "madvise: errno %d", errno);
	if (s[(pages - 1) * 512] != 0)
		UT_CHECK(0, "thread %d: page not zero after MADV_DONTNEED", w->id);
	__atomic_add_fetch(&done, 1, __ATOMIC_RELEASE);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (int r = 0; r <= rounds; r++) {
		while (__atomic_load_n(&round_no, __ATOMIC_ACQUIRE) < r)
			sched_yield();
		worker_round(w, r);
	}
	return NULL;
}

/* churn_main: mmap, touch and munmap 16-page ranges until told to stop. */
static void *churn_main(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop_churn, __ATOMIC_RELAXED)) {
		char *p = mmap(NULL, 16 * UT_PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			UT_CHECK(0, "churn mmap: errno %d", errno);
			break;
		}
		p[0] = 1;
		p[8 * UT_PAGE] = 2;
		munmap(p, 16 * UT_PAGE);
		churn_ops++;
	}
	return NULL;
}

/* wait_done: spin until `want` workers reported for this phase. */
static void wait_done(int want)
{
	while (__atomic_load_n(&done, __ATOMIC_ACQUIRE) < want)
		sched_yield();
}

/* run_config: one (threads, churn) measurement; returns faults per second. */
static double run_config(int nthr, int churn)
{
	struct worker *w = calloc((size_t)nthr, sizeof(*w));
	size_t len = (size_t)nthr * (size_t)pages * UT_PAGE;
	char *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t busy = 0;
	pthread_t ch;

	if (!w || map == MAP_FAILED) {
		UT_CHECK(0, "allocating %zu bytes: errno %d", len, errno);
		return 0;
	}
	madvise(map, len, MADV_NOHUGEPAGE);
	nworkers = nthr;
	__atomic_store_n(&round_no, -1, __ATOMIC_RELAXED);
	__atomic_store_n(&done, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&stop_churn, 0, __ATOMIC_RELAXED);
	churn_ops = 0;
	for (int i = 0; i < nthr; i++) {
		w[i].id = i;
		w[i].slice = (uint64_t *)(map + (size_t)i * (size_t)pages * UT_PAGE);
		pthread_create(&w[i].th, NULL, worker_main, &w[i]);
	}
	if (churn)
		pthread_create(&ch, NULL, churn_main, NULL);
	for (int r = 0; r <= rounds; r++) {	/* round 0 warms up, unmeasured */
		uint64_t t0 = ut_now_ns(), last = 0;

		__atomic_store_n(&done, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&round_no, r, __ATOMIC_RELEASE);
		wait_done(nthr);
		for (int i = 0; i < nthr; i++)
			last = w[i].t_end > last ? w[i].t_end : last;
		if (r)
			busy += last - t0;
		wait_done(2 * nthr);
	}
	for (int i = 0; i < nthr; i++)
		pthread_join(w[i].th, NULL);
	__atomic_store_n(&stop_churn, 1, __ATOMIC_RELAXED);
	if (churn)
		pthread_join(ch, NULL);
	munmap(map, len);
	free(w);
	return busy ? (double)nthr * (double)pages * (double)rounds / (busy / 1e9) : 0;
}

static int test_scaling(void)
{
	const char *list = ut_arg_str("threads", "1,2,4");

	for (const char *p = list; *p; ) {
		int n = (int)strtol(p, (char **)&p, 10);

		if (n < 1 || n > 256) {
			UT_CHECK(0, "bad thread count in threads=%s", list);
			break;
		}
		for (int churn = 0; churn < 2 && !ut_time_up(); churn++) {
			double fps = run_config(n, churn);

			ut_diag("faultscale threads=%d churn=%d: %.0f faults/s (%.0f per thread)",
				n, churn, fps, fps / n);
			if (churn)
				ut_diag("  churn thread: %ld mmap/touch/munmap cycles", churn_ops);
		}
		while (*p == ',' || *p == ' ')
			p++;
	}
	return UT_PASS;
}

int main(int argc, char **argv)
{
	static const struct ut_case cases[] = {
		{ "fault_scaling", test_scaling },
	};

	ut_init(argc, argv, 30);
	pages = ut_arg("pages", 2048);
	rounds = ut_arg("rounds", 4);
	if (pages < 1 || rounds < 1)
		return 2;
	return ut_run(cases, UT_NCASES(cases));
}
