/*
 * tests/user/madvise_dontneed.c - MADV_DONTNEED semantics.
 *
 * Linux semantics checked: on private anonymous memory the range reads zero
 * afterwards and stays mapped and writable, pages outside the range keep
 * their data; on MAP_SHARED|MAP_ANONYMOUS memory the data survives (the
 * pages are only unmapped from this process and come back from the shared
 * object); after fork, DONTNEED in the child zeroes only the child's view;
 * a range with a hole in it returns ENOMEM yet still zaps the mapped parts;
 * threads zapping while others refault their own pages never see another
 * thread's data or old data, also while another thread splits and re-merges
 * their vma with mprotect.
 *
 * Args: threads=2 iters=2000 secs=20.
 */
#include "uktap.h"

#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>

#define RW (PROT_READ | PROT_WRITE)

static char *map(size_t pages, int flags)
{
	char *p = mmap(NULL, pages * UT_PAGE, RW, flags | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void fill(char *p, long pages, int v)
{
	for (long i = 0; i < pages; i++)
		memset(p + i * UT_PAGE, v + (int)i, UT_PAGE);
}

/* page_is: page i of p is all (v + i) bytes, or all zero if v < 0. */
static int page_is(char *p, long i, int v)
{
	unsigned char want = v < 0 ? 0 : (unsigned char)(v + (int)i);

	for (size_t b = 0; b < UT_PAGE; b += 64)
		if ((unsigned char)p[i * UT_PAGE + b] != want)
			return 0;
	return 1;
}

static int test_private_zeroes(void)
{
	char *p = map(8, MAP_PRIVATE);

	UT_REQUIRE(p, "mmap: errno %d", errno);
	fill(p, 8, 1);
	UT_REQUIRE(madvise(p + 2 * UT_PAGE, 4 * UT_PAGE, MADV_DONTNEED) == 0, "errno %d", errno);
	for (long i = 0; i < 8; i++)
		UT_CHECK(page_is(p, i, i >= 2 && i < 6 ? -1 : 1), "page %ld after DONTNEED of 2..5", i);
	fill(p, 8, 9);
	for (long i = 0; i < 8; i++)
		UT_CHECK(page_is(p, i, 9), "page %ld not writable again", i);
	UT_REQUIRE(madvise(p, 8 * UT_PAGE, MADV_DONTNEED) == 0, "errno %d", errno);
	for (long i = 0; i < 8; i++)
		UT_CHECK(page_is(p, i, -1), "page %ld not zero after the full DONTNEED", i);
	munmap(p, 8 * UT_PAGE);
	return UT_PASS;
}

static int test_shared_keeps(void)
{
	char *p = map(4, MAP_SHARED);

	UT_REQUIRE(p, "mmap: errno %d", errno);
	fill(p, 4, 3);
	UT_REQUIRE(madvise(p, 4 * UT_PAGE, MADV_DONTNEED) == 0, "errno %d", errno);
	for (long i = 0; i < 4; i++)
		UT_CHECK(page_is(p, i, 3), "shared page %ld lost its data", i);
	munmap(p, 4 * UT_PAGE);
	return UT_PASS;
}

static int test_after_fork(void)
{
	char *p = map(4, MAP_PRIVATE);
	pid_t pid;
	int st = 0;

	UT_REQUIRE(p, "mmap: errno %d", errno);
	fill(p, 4, 5);
	pid = fork();
	if (pid == 0) {
		int bad = madvise(p, 4 * UT_PAGE, MADV_DONTNEED) != 0;
		for (long i = 0; i < 4; i++)
			bad |= !page_is(p, i, -1);
		_exit(bad);
	}
	UT_REQUIRE(pid > 0 && waitpid(pid, &st, 0) == pid, "fork/wait4: errno %d", errno);
	UT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child did not see zeroes (status %#x)", st);
	for (long i = 0; i < 4; i++)
		UT_CHECK(page_is(p, i, 5), "parent page %ld changed by the child's DONTNEED", i);
	munmap(p, 4 * UT_PAGE);
	return UT_PASS;
}

static int test_hole_enomem(void)
{
	char *p = map(3, MAP_PRIVATE);
	int r;

	UT_REQUIRE(p, "mmap: errno %d", errno);
	fill(p, 3, 7);
	munmap(p + UT_PAGE, UT_PAGE);
	r = madvise(p, 3 * UT_PAGE, MADV_DONTNEED);
	UT_CHECK(r == -1 && errno == ENOMEM, "range with a hole: %d errno %d", r, errno);
	UT_CHECK(page_is(p, 0, -1) && page_is(p, 2, -1), "mapped parts were not zapped");
	munmap(p, 3 * UT_PAGE);
	return UT_PASS;
}

static char *shared_region;
static long iters, zaps_done;	/* zaps_done: atomic */

/* zapper: each thread owns 4 pages: write a stamp, zap, expect zero. */
static void *zapper(void *arg)
{
	long id = (long)arg;
	char *mine = shared_region + id * 4 * UT_PAGE;

	for (long i = 0; i < iters && !ut_failures() && !ut_time_up(); i++) {
		long pg = i % 4;
		uint64_t *w = (uint64_t *)(mine + pg * UT_PAGE);

		UT_CHECK(*w == 0, "thread %ld: page %ld holds %#lx before its write", id, pg,
			 (unsigned long)*w);
		*w = (uint64_t)id << 32 | (uint64_t)i;
		UT_CHECK(*w == ((uint64_t)id << 32 | (uint64_t)i), "thread %ld: write lost", id);
		UT_CHECK(madvise(mine + pg * UT_PAGE, UT_PAGE, MADV_DONTNEED) == 0, "errno %d", errno);
		__atomic_add_fetch(&zaps_done, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int test_concurrent_zap(void)
{
	long n = ut_arg("threads", 2);
	pthread_t th[64];

	UT_REQUIRE(n >= 1 && n <= 64, "threads=1..64");
	iters = ut_arg("iters", 2000);
	shared_region = map((size_t)n * 4, MAP_PRIVATE);
	UT_REQUIRE(shared_region, "mmap: errno %d", errno);
	for (long i = 0; i < n; i++)
		UT_REQUIRE(!pthread_create(&th[i], NULL, zapper, (void *)i), "pthread_create");
	for (long i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	munmap(shared_region, (size_t)n * 4 * UT_PAGE);
	return UT_PASS;
}

/* Kestrel's mm counters (/proc/kestrel/mmstat), to say where a slow run's
 * time went; on Linux the file is absent and nothing is printed. */
struct mmstat {
	int n;
	char name[16][32];
	unsigned long long v[16];
};

static int mmstat_read(struct mmstat *m)
{
	FILE *f = fopen("/proc/kestrel/mmstat", "r");

	m->n = 0;
	if (!f)
		return 0;
	while (m->n < 16 && fscanf(f, "%31s %llu", m->name[m->n], &m->v[m->n]) == 2)
		m->n++;
	fclose(f);
	return m->n;
}

static void mmstat_diag(const struct mmstat *a, const struct mmstat *b)
{
	for (int i = 0; i < a->n && i < b->n; i++)
		ut_diag("  %s +%llu", a->name[i], b->v[i] - a->v[i]);
}

/* mmstat_delta: how much counter `name` grew from a to b (0 if absent). */
static unsigned long long mmstat_delta(const struct mmstat *a, const struct mmstat *b,
				       const char *name)
{
	for (int i = 0; i < a->n && i < b->n; i++)
		if (!strcmp(a->name[i], name))
			return b->v[i] - a->v[i];
	return 0;
}

static volatile int splitter_stop;

/* splitter: mprotect its own 4 pages at the end of the zappers' vma to RWX
 * and back (a split, then a re-merge of the vma the zappers' DONTNEEDs
 * lock), checking that its data survives. */
static void *splitter(void *arg)
{
	char *own = (char *)arg;
	long n = 0;

	while (!splitter_stop && !ut_failures()) {
		memset(own, (int)(n & 0x7f) + 1, 4 * UT_PAGE);
		UT_CHECK(mprotect(own, 4 * UT_PAGE, RW | PROT_EXEC) == 0, "mprotect: errno %d", errno);
		UT_CHECK(mprotect(own, 4 * UT_PAGE, RW) == 0, "mprotect back: errno %d", errno);
		for (long i = 0; i < 4; i++)
			UT_CHECK(own[i * UT_PAGE + 17] == (char)((n & 0x7f) + 1), "data lost by mprotect");
		n++;
	}
	return (void *)n;
}

/* zap_vs_split: zappers drop pages of a vma while another thread splits and
 * re-merges it (on Kestrel the DONTNEEDs hold the vma's read lock, and
 * mprotect waits for them). */
static int test_zap_vs_split(void)
{
	long n = ut_arg("threads", 2);
	pthread_t th[64], sp;
	struct mmstat m0, m1;
	void *rounds;

	UT_REQUIRE(n >= 1 && n <= 64, "threads=1..64");
	iters = ut_arg("iters", 2000) / 4;	/* the splitter slows the zappers */
	zaps_done = 0;
	mmstat_read(&m0);
	shared_region = map((size_t)n * 4 + 4, MAP_PRIVATE);
	UT_REQUIRE(shared_region, "mmap: errno %d", errno);
	splitter_stop = 0;
	UT_REQUIRE(!pthread_create(&sp, NULL, splitter, shared_region + n * 4 * UT_PAGE),
		   "pthread_create");
	for (long i = 0; i < n; i++)
		UT_REQUIRE(!pthread_create(&th[i], NULL, zapper, (void *)i), "pthread_create");
	for (long i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	splitter_stop = 1;
	pthread_join(sp, &rounds);
	ut_diag("splitter rounds: %ld, zaps %ld of %ld", (long)rounds, zaps_done, n * iters);
	if (m0.n && mmstat_read(&m1)) {	/* Kestrel: the counters saw it all */
		unsigned long long vl = mmstat_delta(&m0, &m1, "dontneed_vma_locked");

		mmstat_diag(&m0, &m1);
		UT_CHECK(vl > 0 && vl + mmstat_delta(&m0, &m1, "dontneed_mm_locked") >=
			 (unsigned long long)zaps_done, "DONTNEED counters: %llu under a vma lock", vl);
	}
	UT_CHECK((long)rounds > 0, "the splitter ran");
	munmap(shared_region, ((size_t)n * 4 + 4) * UT_PAGE);
	return UT_PASS;
}

int main(int argc, char **argv)
{
	static const struct ut_case cases[] = {
		{ "private_zeroes", test_private_zeroes },
		{ "shared_keeps_data", test_shared_keeps },
		{ "after_fork_child_only", test_after_fork },
		{ "hole_enomem_still_zaps", test_hole_enomem },
		{ "concurrent_zap_refault", test_concurrent_zap },
		{ "zap_vs_split", test_zap_vs_split },
	};

	ut_init(argc, argv, 20);
	return ut_run(cases, UT_NCASES(cases));
}
