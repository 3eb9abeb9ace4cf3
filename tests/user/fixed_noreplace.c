/*
 * tests/user/fixed_noreplace.c - MAP_FIXED_NOREPLACE against MAP_FIXED and
 * plain hints.
 *
 * Linux semantics checked: on a free range it returns exactly the address;
 * over any mapped page (whole or partial overlap) it fails with EEXIST and
 * changes nothing (the old data stays, the free part stays free); an
 * unaligned address is EINVAL; MAP_FIXED over the same range replaces it
 * with zero-filled pages; a plain hint on a mapped range is moved elsewhere;
 * threads racing for one free range: exactly one wins, the others get EEXIST.
 *
 * Args: racers=4 races=200 secs=20.
 */
#include "uktap.h"

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>

#define RW (PROT_READ | PROT_WRITE)
#define ANON (MAP_PRIVATE | MAP_ANONYMOUS)

static void *map_nr(void *at, size_t len)
{
	return mmap(at, len, RW, ANON | MAP_FIXED_NOREPLACE, -1, 0);
}

/* hole_of: a free, aligned range of `pages` pages (mapped, then unmapped). */
static char *hole_of(long pages)
{
	char *p = mmap(NULL, (size_t)pages * UT_PAGE, PROT_NONE, ANON, -1, 0);

	if (p != MAP_FAILED)
		munmap(p, (size_t)pages * UT_PAGE);
	return p == MAP_FAILED ? NULL : p;
}

static int test_free_and_exact(void)
{
	char *h = hole_of(4), *r;

	UT_REQUIRE(h, "mmap: errno %d", errno);
	r = map_nr(h + UT_PAGE, 2 * UT_PAGE);
	UT_REQUIRE(r == h + UT_PAGE, "on a free range: %p, want %p (errno %d)", (void *)r,
		   (void *)(h + UT_PAGE), errno);
	UT_CHECK(r[0] == 0 && r[2 * UT_PAGE - 1] == 0, "new pages not zero");
	r[0] = 7;
	munmap(r, 2 * UT_PAGE);
	return UT_PASS;
}

static int test_overlap_eexist(void)
{
	char *h = hole_of(8), *m, *r;

	UT_REQUIRE(h, "mmap: errno %d", errno);
	m = map_nr(h + 2 * UT_PAGE, 2 * UT_PAGE);	/* pages 2,3 */
	UT_REQUIRE(m == h + 2 * UT_PAGE, "setup: errno %d", errno);
	memset(m, 0x5a, 2 * UT_PAGE);
	r = map_nr(m, 2 * UT_PAGE);
	UT_CHECK(r == MAP_FAILED && errno == EEXIST, "same range: %p errno %d", (void *)r, errno);
	r = map_nr(h, 3 * UT_PAGE);	/* pages 0..2: overlaps page 2 */
	UT_CHECK(r == MAP_FAILED && errno == EEXIST, "partial overlap below: %p errno %d", (void *)r, errno);
	r = map_nr(h + 3 * UT_PAGE, 4 * UT_PAGE);	/* pages 3..6 */
	UT_CHECK(r == MAP_FAILED && errno == EEXIST, "partial overlap above: %p errno %d", (void *)r, errno);
	r = map_nr(h, 8 * UT_PAGE);	/* covers it */
	UT_CHECK(r == MAP_FAILED && errno == EEXIST, "covering: %p errno %d", (void *)r, errno);
	UT_CHECK(m[0] == 0x5a && m[2 * UT_PAGE - 1] == 0x5a, "failed NOREPLACE changed the data");
	r = map_nr(h, 2 * UT_PAGE);	/* pages 0,1 were left free */
	UT_CHECK(r == h, "the free part below is no longer free: %p errno %d", (void *)r, errno);
	r = map_nr(h + 4 * UT_PAGE, 4 * UT_PAGE);
	UT_CHECK(r == h + 4 * UT_PAGE, "the free part above is no longer free: errno %d", errno);
	r = mmap(h + 2 * UT_PAGE, 2 * UT_PAGE, RW, ANON | MAP_FIXED, -1, 0);
	UT_CHECK(r == h + 2 * UT_PAGE, "MAP_FIXED over it: errno %d", errno);
	UT_CHECK(m[0] == 0 && m[2 * UT_PAGE - 1] == 0, "MAP_FIXED did not replace the pages");
	munmap(h, 8 * UT_PAGE);
	return UT_PASS;
}

static int test_unaligned_and_hint(void)
{
	char *h = hole_of(2), *m, *r;

	UT_REQUIRE(h, "mmap: errno %d", errno);
	r = map_nr(h + 100, UT_PAGE);
	UT_CHECK(r == MAP_FAILED && errno == EINVAL, "unaligned: %p errno %d", (void *)r, errno);
	m = map_nr(h, UT_PAGE);
	UT_REQUIRE(m == h, "setup: errno %d", errno);
	r = mmap(h, UT_PAGE, RW, ANON, -1, 0);	/* plain hint, occupied */
	UT_CHECK(r != MAP_FAILED && r != h, "plain hint on a mapped page: %p", (void *)r);
	if (r != MAP_FAILED && r != h)
		munmap(r, UT_PAGE);
	munmap(h, UT_PAGE);
	return UT_PASS;
}

static char *race_at;
static int race_go;		/* atomic: generation released */
static int race_wins, race_eexist, race_other;	/* atomic */
static long nraces;

static void *racer(void *arg)
{
	(void)arg;
	for (int g = 1; g <= nraces; g++) {
		char *r;

		while (__atomic_load_n(&race_go, __ATOMIC_ACQUIRE) < g)
			sched_yield();
		if (__atomic_load_n(&race_go, __ATOMIC_ACQUIRE) > nraces)
			break;
		r = map_nr(race_at, 4 * UT_PAGE);
		if (r == race_at)
			__atomic_add_fetch(&race_wins, 1, __ATOMIC_RELAXED);
		else if (r == MAP_FAILED && errno == EEXIST)
			__atomic_add_fetch(&race_eexist, 1, __ATOMIC_RELAXED);
		else
			__atomic_add_fetch(&race_other, 1, __ATOMIC_RELAXED);
		while (__atomic_load_n(&race_go, __ATOMIC_ACQUIRE) == g)
			sched_yield();
	}
	return NULL;
}

static int test_race_one_winner(void)
{
	long n = ut_arg("racers", 4), g;
	pthread_t th[32];

	UT_REQUIRE(n >= 2 && n <= 32, "racers=2..32");
	nraces = ut_arg("races", 200);
	for (long i = 0; i < n; i++)	/* before hole_of: stacks must not land in it */
		UT_REQUIRE(!pthread_create(&th[i], NULL, racer, NULL), "pthread_create");
	race_at = hole_of(4);
	UT_REQUIRE(race_at, "mmap: errno %d", errno);
	for (g = 1; g <= nraces; g++) {
		int done = (int)(n * (g - 1));

		__atomic_store_n(&race_go, (int)g, __ATOMIC_RELEASE);
		while (__atomic_load_n(&race_wins, __ATOMIC_ACQUIRE) +
		       __atomic_load_n(&race_eexist, __ATOMIC_ACQUIRE) +
		       __atomic_load_n(&race_other, __ATOMIC_ACQUIRE) < done + n)
			sched_yield();
		UT_CHECK(race_wins == g, "race %ld: %d winners in total", g, race_wins);
		munmap(race_at, 4 * UT_PAGE);
		if (race_wins != g || ut_time_up())
			break;
	}
	__atomic_store_n(&race_go, (int)nraces + 1, __ATOMIC_RELEASE);
	for (long i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	UT_CHECK(race_other == 0, "%d racers got neither the range nor EEXIST", race_other);
	ut_diag("%d races of %ld threads: %d wins, %d EEXIST", race_wins, n, race_wins, race_eexist);
	return UT_PASS;
}

int main(int argc, char **argv)
{
	static const struct ut_case cases[] = {
		{ "free_range_exact", test_free_and_exact },
		{ "overlap_eexist", test_overlap_eexist },
		{ "unaligned_and_hint", test_unaligned_and_hint },
		{ "race_one_winner", test_race_one_winner },
	};

	ut_init(argc, argv, 20);
	return ut_run(cases, UT_NCASES(cases));
}
