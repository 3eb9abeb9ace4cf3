/*
 * tests/user/unmap_vs_access.c - one thread unmaps (or protects, or
 * replaces) what other threads are reading. A reader may see the old data
 * while the change is in progress, but once the munmap/mprotect/mmap call
 * has returned (published by the changer with a release store that the
 * reader loads before its access) the reader must fault, with si_addr the
 * exact address it read and si_code SEGV_MAPERR (unmapped) or SEGV_ACCERR
 * (PROT_NONE), or see the new data: never the stale page through an old TLB
 * entry. A fault while the mapping is stable is a failure too.
 *
 * State word (changer writes, readers read): round << 4 | phase.
 *   RESTORING: the region is being remapped and filled with pattern(round);
 *   MAPPED: it is stable and every word of page p holds pattern(round, p);
 *   CHANGING: the syscall is running; CHANGED: it returned.
 * Each round the changer waits until every reader has faulted (or, for
 * replace, read the new data) after observing CHANGED. Modes: munmap of the
 * whole region, munmap of its middle half (the outer pages must stay
 * readable and intact), mprotect(PROT_NONE), and replacement by an
 * mremap(MREMAP_FIXED) of a prepared region (new data, never the old).
 * Readers read a random word of a random page so si_addr is checked to the
 * byte, not just to the page.
 *
 * Args: readers=2 rounds=100 pages=16 secs=20.
 */
#include "uktap.h"
#include "usig.h"

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>

enum { RESTORING = 1, MAPPED = 2, CHANGING = 3, CHANGED = 4 };
enum { MODE_UNMAP, MODE_UNMAP_MIDDLE, MODE_PROTNONE, MODE_REPLACE };

static long npages, nrounds, nreaders;
static char *base;		/* region address, constant */
static int mode;		/* constant while readers run */
static uint64_t state;		/* atomic: round << 4 | phase */
static uint64_t acks[64];	/* atomic: last round each reader confirmed */
static int stop;		/* atomic */
static long reads, faults;	/* atomic: statistics */

static uint64_t pattern(uint64_t round, long page)
{
	return (round << 32) ^ ((uint64_t)page << 8) ^ 0xa5a5000000000005ull;
}

/* in_hole: can page p become inaccessible in this mode? (mremap FIXED
 * unmaps the destination before moving, so in replace mode every page
 * may fault while the call runs.) */
static int in_hole(long p)
{
	if (mode == MODE_UNMAP_MIDDLE)
		return p >= npages / 4 && p < npages - npages / 4;
	return 1;
}

static int hole_is_gone(void)
{
	return mode != MODE_REPLACE;
}

/* reader_fault: judge a fault on page p at addr, state s before, s2 after. */
static void reader_fault(int id, long p, uint64_t *addr, uint64_t s, uint64_t s2)
{
	uint64_t ph = s & 15;
	int expect = mode == MODE_PROTNONE ? SEGV_ACCERR : SEGV_MAPERR;
	int stable = s == s2 && (ph == MAPPED || (ph == CHANGED && !hole_is_gone()));

	__atomic_add_fetch(&faults, 1, __ATOMIC_RELAXED);
	UT_CHECK(ut_last_fault.signo == SIGSEGV && ut_last_fault.addr == (void *)addr &&
		 ut_last_fault.code == expect,
		 "reader %d: signal %d si_addr %p (read %p) si_code %d (want %d)", id,
		 ut_last_fault.signo, ut_last_fault.addr, (void *)addr, ut_last_fault.code, expect);
	UT_CHECK(in_hole(p) && !stable,
		 "reader %d: spurious fault on page %ld (state %#lx -> %#lx)", id, p,
		 (unsigned long)s, (unsigned long)s2);
	if (ph == CHANGED && s2 == s && hole_is_gone())
		__atomic_store_n(&acks[id], s >> 4, __ATOMIC_RELEASE);
}

/* reader_value: judge a completed read of v from page p. */
static void reader_value(int id, long p, uint64_t v, uint64_t s, uint64_t s2)
{
	uint64_t r = s >> 4, ph = s & 15;

	__atomic_add_fetch(&reads, 1, __ATOMIC_RELAXED);
	if (s != s2 || ph == RESTORING || ph == CHANGING) {
		UT_CHECK(v == 0 || v == pattern(r - 1, p) || v == pattern(r, p) ||
			 v == pattern(r + 1, p) || v == pattern(r + 2, p),
			 "reader %d: page %ld reads %#lx around round %lu", id, p,
			 (unsigned long)v, (unsigned long)r);
	} else if (ph == MAPPED || (ph == CHANGED && !in_hole(p))) {
		UT_CHECK(v == pattern(r, p), "reader %d: page %ld reads %#lx, want %#lx", id, p,
			 (unsigned long)v, (unsigned long)pattern(r, p));
	} else if (hole_is_gone()) {
		UT_CHECK(0, "reader %d: page %ld readable after the %s returned: %#lx (stale)", id, p,
			 mode == MODE_PROTNONE ? "mprotect" : "munmap", (unsigned long)v);
	} else {
		UT_CHECK(v == pattern(r + 1, p), "reader %d: page %ld reads %#lx after mremap "
			 "replaced it (want %#lx)", id, p, (unsigned long)v,
			 (unsigned long)pattern(r + 1, p));
		__atomic_store_n(&acks[id], r, __ATOMIC_RELEASE);
	}
}

static void *reader_main(void *arg)
{
	int id = (int)(long)arg;
	uint64_t seed = 0x9e3779b9u * (uint64_t)(id + 1);

	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE) && !ut_failures()) {
		long p = (long)(ut_rand(&seed) % (uint64_t)npages);
		uint64_t *addr = (uint64_t *)(base + p * UT_PAGE) + (ut_rand(&seed) % 512);
		uint64_t s = __atomic_load_n(&state, __ATOMIC_ACQUIRE), v = 0, s2;
		int f;

		if ((s & 15) == CHANGED && __atomic_load_n(&acks[id], __ATOMIC_RELAXED) == s >> 4) {
			sched_yield();	/* confirmed: let the changer run */
			continue;
		}
		f = ut_try_load(addr, &v);

		s2 = __atomic_load_n(&state, __ATOMIC_ACQUIRE);
		if (f)
			reader_fault(id, p, addr, s, s2);
		else
			reader_value(id, p, v, s, s2);
	}
	return NULL;
}

static void set_state(uint64_t round, int phase)
{
	__atomic_store_n(&state, round << 4 | (uint64_t)phase, __ATOMIC_RELEASE);
}

static void region_fill(char *at, uint64_t round)
{
	for (long p = 0; p < npages; p++)
		for (int w = 0; w < 512; w++)
			((uint64_t *)(at + p * UT_PAGE))[w] = pattern(round, p);
}

/* region_restore: make the whole region readable with pattern(round). */
static int region_restore(uint64_t round)
{
	int rw = PROT_READ | PROT_WRITE, fl = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE;
	long h0 = mode == MODE_UNMAP_MIDDLE ? npages / 4 : 0;
	long h1 = mode == MODE_UNMAP_MIDDLE ? npages - npages / 4 : npages;

	set_state(round, RESTORING);
	if (round > 1 && (mode == MODE_UNMAP || mode == MODE_UNMAP_MIDDLE)) {
		char *at = base + h0 * UT_PAGE;
		UT_REQUIRE(mmap(at, (size_t)(h1 - h0) * UT_PAGE, rw, fl, -1, 0) == at,
			   "remapping the hole: errno %d", errno);
	}
	if (round > 1 && mode == MODE_PROTNONE)
		UT_REQUIRE(mprotect(base, (size_t)npages * UT_PAGE, rw) == 0, "mprotect: errno %d", errno);
	region_fill(base, round);
	set_state(round, MAPPED);
	return 0;
}

/* region_change: the round's change, published as CHANGING then CHANGED. */
static int region_change(uint64_t round, char *spare)
{
	size_t len = (size_t)npages * UT_PAGE;
	long h0 = mode == MODE_UNMAP_MIDDLE ? npages / 4 : 0;
	long h1 = mode == MODE_UNMAP_MIDDLE ? npages - npages / 4 : npages;
	int rc = 0;

	if (mode == MODE_REPLACE)
		region_fill(spare, round + 1);
	set_state(round, CHANGING);
	if (mode == MODE_UNMAP || mode == MODE_UNMAP_MIDDLE)
		rc = munmap(base + h0 * UT_PAGE, (size_t)(h1 - h0) * UT_PAGE);
	else if (mode == MODE_PROTNONE)
		rc = mprotect(base, len, PROT_NONE);
	else
		rc = mremap(spare, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, base) == base ? 0 : -1;
	set_state(round, CHANGED);
	UT_REQUIRE(rc == 0, "change in mode %d: errno %d", mode, errno);
	return 0;
}

/* wait_acks: every reader confirmed round r, or 30 s passed (a failure:
 * generous, as readers may wait long for a CPU on a loaded machine). */
static int wait_acks(uint64_t r)
{
	uint64_t t0 = ut_now_ns();

	for (int i = 0; i < nreaders; i++)
		while (__atomic_load_n(&acks[i], __ATOMIC_ACQUIRE) != r) {
			UT_REQUIRE(ut_now_ns() - t0 < 30000000000ull && !ut_failures(),
				   "reader %d never confirmed round %lu", i, (unsigned long)r);
			sched_yield();
		}
	return 0;
}

/* run_mode: readers against rounds of restore/let-read/change/confirm. */
static int run_mode(int m)
{
	size_t len = (size_t)npages * UT_PAGE;
	pthread_t th[64];
	char *spare = NULL;
	uint64_t r;
	int err = 0;

	mode = m;
	base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	UT_REQUIRE(base != MAP_FAILED, "mmap: errno %d", errno);
	memset(acks, 0, sizeof(acks));
	__atomic_store_n(&stop, 0, __ATOMIC_RELAXED);
	reads = faults = 0;
	region_restore(1);
	for (long i = 0; i < nreaders; i++)
		UT_REQUIRE(!pthread_create(&th[i], NULL, reader_main, (void *)i), "pthread_create");
	for (r = 1; r <= (uint64_t)nrounds && !err && !ut_time_up(); r++) {
		long before = __atomic_load_n(&reads, __ATOMIC_RELAXED);
		uint64_t t0 = ut_now_ns();

		if (r > 1)
			err = region_restore(r);
		while (__atomic_load_n(&reads, __ATOMIC_RELAXED) < before + 8 * nreaders &&
		       ut_now_ns() - t0 < 2000000)
			sched_yield();
		if (mode == MODE_REPLACE)
			spare = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		err = err || spare == MAP_FAILED || region_change(r, spare) || wait_acks(r);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (long i = 0; i < nreaders; i++)
		pthread_join(th[i], NULL);
	ut_diag("mode %d: %lu rounds, %ld good reads, %ld faults", m, (unsigned long)r - 1,
		reads, faults);
	munmap(base, len);
	return err ? UT_FAIL : UT_PASS;
}

static int test_munmap_whole(void) { return run_mode(MODE_UNMAP); }
static int test_munmap_middle(void) { return run_mode(MODE_UNMAP_MIDDLE); }
static int test_mprotect_none(void) { return run_mode(MODE_PROTNONE); }
static int test_mremap_replace(void) { return run_mode(MODE_REPLACE); }

/* child_touch: in a child with the default SIGSEGV action, touch p. */
static int child_touch(volatile uint64_t *p, int write)
{
	pid_t pid = fork();
	int st = 0;

	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL);
		if (write)
			*p = 1;
		else
			(void)*p;
		_exit(0);
	}
	UT_REQUIRE(pid > 0 && waitpid(pid, &st, 0) == pid, "fork/wait4: errno %d", errno);
	UT_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV,
		 "child status %#x: not killed by SIGSEGV", st);
	return UT_PASS;
}

static int test_default_action_kills(void)
{
	char *p = mmap(NULL, 2 * UT_PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	UT_REQUIRE(p != MAP_FAILED, "mmap: errno %d", errno);
	munmap(p + UT_PAGE, UT_PAGE);
	child_touch((uint64_t *)(p + UT_PAGE), 0);	/* unmapped read */
	child_touch((uint64_t *)p, 1);			/* write to read-only */
	munmap(p, UT_PAGE);
	return UT_PASS;
}

int main(int argc, char **argv)
{
	static const struct ut_case cases[] = {
		{ "munmap_whole", test_munmap_whole },
		{ "munmap_middle", test_munmap_middle },
		{ "mprotect_none", test_mprotect_none },
		{ "mremap_replace", test_mremap_replace },
		{ "default_action_kills", test_default_action_kills },
	};

	ut_init(argc, argv, 20);
	nreaders = ut_arg("readers", 2);
	nrounds = ut_arg("rounds", 100);
	npages = ut_arg("pages", 16);
	if (nreaders < 1 || nreaders > 64 || npages < 4 || nrounds < 1)
		return 2;
	ut_fault_install();
	return ut_run(cases, UT_NCASES(cases));
}
