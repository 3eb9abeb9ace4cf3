/*
 * stress/forkloop.c - a tree of processes forking repeatedly.
 *
 * Every iteration the root grows a tree (fanout F, depth D). Each process owns
 * a pattern in its private memory (.data, .bss and a private anonymous
 * mapping) and a slot in a MAP_SHARED|MAP_ANONYMOUS mapping. Around each fork:
 *   parent: fill(own, g) -> fork -> fill(own, g+1) -> slot.go = token
 *   child:  wait slot.go -> check(parent, g) -> fill(self) -> subtree ->
 *           check(self) -> slot.done = token' -> _exit
 *   parent: wait4 -> exit status 0, slot.done == token' -> check(own, g+1)
 * so copy-on-write isolation is checked in both directions (the parent's
 * post-fork writes must not reach the child, the child's must not reach the
 * parent), sharing in both directions (go and done travel through the shared
 * mapping), and every child is reaped. At the end MemFree (/proc/meminfo) is
 * compared with its value after the first (warm-up) iteration, polled for up
 * to memwait ms for deferred frees: reported natively (other processes move
 * it), enforced with strict=1 (the Kestrel run: no frame may leak). vfork is checked by
 * tests/user/vfork_borrows.c.
 *
 * Args: iters=10 fanout=2 depth=3 pages=32 secs=30 strict=0 memtol=64 (kB)
 * memwait=2000 (ms).
 */
#include "uktap.h"

#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>

struct slot {
	uint64_t go;	/* written by the parent after its fork */
	uint64_t done;	/* written by the child before it exits */
};

struct stats {
	uint64_t forks;		/* atomic: fork() calls that succeeded */
	uint64_t fork_ns;	/* atomic: time spent inside fork() in parents */
};

static uint64_t data_words[512] = { 1 };	/* .data: file-backed private */
static uint64_t bss_words[1024];		/* .bss: zero-fill private */
static uint64_t *priv;				/* private anonymous mapping */
static long npages, fanout, depth;
static struct slot *slots;
static struct stats *stats;
static long nslots;

static uint64_t pattern(long id, uint64_t gen, size_t i)
{
	uint64_t x = ((uint64_t)id << 40) ^ (gen << 20) ^ i ^ 0x9e3779b97f4a7c15ull;

	x ^= x >> 31;
	return x * 0xbf58476d1ce4e5b9ull;
}

/* mem_fill: write the (id, gen) pattern into every private area. */
static void mem_fill(long id, uint64_t gen)
{
	for (size_t i = 0; i < 512; i++)
		data_words[i] = pattern(id, gen, i);
	for (size_t i = 0; i < 1024; i++)
		bss_words[i] = pattern(id, gen, 512 + i);
	for (long p = 0; p < npages; p++) {
		priv[p * 512] = pattern(id, gen, 4096 + p);
		priv[p * 512 + 511] = ~pattern(id, gen, 4096 + p);
	}
}

/* mem_check: count the words that differ from the (id, gen) pattern. */
static long mem_check(long id, uint64_t gen)
{
	long bad = 0;

	for (size_t i = 0; i < 512; i++)
		bad += data_words[i] != pattern(id, gen, i);
	for (size_t i = 0; i < 1024; i++)
		bad += bss_words[i] != pattern(id, gen, 512 + i);
	for (long p = 0; p < npages; p++) {
		bad += priv[p * 512] != pattern(id, gen, 4096 + p);
		bad += priv[p * 512 + 511] != ~pattern(id, gen, 4096 + p);
	}
	return bad;
}

static uint64_t token(long id, long iter, int done)
{
	return 0xf0c0000000000000ull | ((uint64_t)iter << 24) | ((uint64_t)id << 1) | (uint64_t)done;
}

static uint64_t grow(long id, long level, long iter);

/* child_main: the life of process id at tree level `level`; never returns. */
static void child_main(long id, long parent, long level, long iter, uint64_t pgen)
{
	uint64_t t0 = ut_now_ns(), gen = (uint64_t)iter;
	long bad;

	while (__atomic_load_n(&slots[id].go, __ATOMIC_ACQUIRE) != token(id, iter, 0)) {
		if (ut_now_ns() - t0 > 30000000000ull) {
			UT_CHECK(0, "node %ld: go token never arrived through the shared mapping", id);
			_exit(1);
		}
		sched_yield();
	}
	bad = mem_check(parent, pgen);
	UT_CHECK(bad == 0, "node %ld: %ld words differ from the parent's pre-fork pattern", id, bad);
	mem_fill(id, gen);
	if (level < depth)
		gen = grow(id, level, iter);
	bad = mem_check(id, gen);
	UT_CHECK(bad == 0, "node %ld: %ld words of its own pattern lost", id, bad);
	__atomic_store_n(&slots[id].done, token(id, iter, 1), __ATOMIC_RELEASE);
	_exit(ut_failures() ? 1 : 0);
}

/* grow: fork the fanout children of `id` (and, through them, the subtree),
 * check isolation and sharing around them and reap them all. Returns the
 * generation of the pattern left in id's private memory. */
static uint64_t grow(long id, long level, long iter)
{
	uint64_t g = (uint64_t)iter * 4 + 1000 + (uint64_t)level;
	pid_t pids[16];
	long bad;

	mem_fill(id, g);
	for (long k = 0; k < fanout; k++) {
		long c = id * fanout + k + 1;
		uint64_t t0;

		slots[c].go = 0;
		slots[c].done = 0;
		t0 = ut_now_ns();
		pids[k] = fork();
		if (pids[k] == 0)
			child_main(c, id, level + 1, iter, g);
		UT_CHECK(pids[k] > 0, "fork: errno %d", errno);
		if (pids[k] > 0) {
			__atomic_add_fetch(&stats->fork_ns, ut_now_ns() - t0, __ATOMIC_RELAXED);
			__atomic_add_fetch(&stats->forks, 1, __ATOMIC_RELAXED);
		}
	}
	mem_fill(id, g + 1);	/* copy-on-write breaks on the parent's side */
	for (long k = 0; k < fanout; k++)
		__atomic_store_n(&slots[id * fanout + k + 1].go,
				 token(id * fanout + k + 1, iter, 0), __ATOMIC_RELEASE);
	for (long k = 0; k < fanout; k++) {
		long c = id * fanout + k + 1;
		int st = 0;

		if (pids[k] <= 0)
			continue;
		UT_CHECK(waitpid(pids[k], &st, 0) == pids[k], "wait4: errno %d", errno);
		UT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "node %ld exited with status 0x%x", c, st);
		UT_CHECK(__atomic_load_n(&slots[c].done, __ATOMIC_ACQUIRE) == token(c, iter, 1),
			 "node %ld: done token not visible through the shared mapping", c);
	}
	bad = mem_check(id, g + 1);
	UT_CHECK(bad == 0, "node %ld: %ld words changed by its children", id, bad);
	return g + 1;
}

/* memfree_kb: MemFree from /proc/meminfo, or -1. */
static long memfree_kb(void)
{
	static char buf[8192];

	if (ut_read_file("/proc/meminfo", buf, sizeof(buf)) < 0)
		return -1;
	return ut_field_kb(buf, "MemFree");
}

static long memfree_start = -2;	/* kB after the warm-up iteration */

static int test_fork_tree(void)
{
	long iters = ut_arg("iters", 10), it;
	uint64_t t0 = ut_now_ns(), el;

	for (it = 0; it < iters && !ut_time_up() && !ut_failures(); it++) {
		grow(0, 0, it);
		if (it == 0)
			memfree_start = memfree_kb();	/* baseline after warm-up */
		if (ut_progress_due())
			ut_diag("progress: iteration %ld/%ld, %lu forks", it + 1, iters,
				(unsigned long)stats->forks);
	}
	el = ut_now_ns() - t0;
	UT_REQUIRE(stats->forks > 0, "no fork happened");
	ut_diag("forkloop: %ld iterations, %lu forks (fanout %ld depth %ld, %ld private pages + 12 KiB data/bss)",
		it, (unsigned long)stats->forks, fanout, depth, npages);
	ut_diag("forkloop: fork() call %.1f us avg, %.1f us per fork (fork+check+exit+reap, wall)",
		stats->fork_ns / 1e3 / stats->forks, el / 1e3 / stats->forks);
	return UT_PASS;
}

static int test_all_reaped(void)
{
	int st;

	UT_CHECK(waitpid(-1, &st, WNOHANG) < 0 && errno == ECHILD,
		 "children left over (errno %d)", errno);
	return UT_PASS;
}

/* test_memfree: MemFree is back to the baseline taken after the first
 * (warm-up) iteration, so one-time kernel caches do not count. Frees a
 * kernel defers (after an RCU grace period, a TLB flush or a reaper) may
 * land a little after the last wait4: poll for up to memwait ms. */
static int test_memfree(void)
{
	long strict = ut_arg("strict", 0), tol = ut_arg("memtol", 64);
	long wait_ms = ut_arg("memwait", 2000), waited = 0, now, delta;
	struct timespec tick = { 0, 50 * 1000000L };

	if (memfree_start < 0)
		return ut_skip("/proc/meminfo has no MemFree");
	while ((now = memfree_kb()) >= 0 && now - memfree_start < -tol && waited < wait_ms) {
		nanosleep(&tick, NULL);
		waited += 50;
	}
	if (now < 0)
		return ut_skip("/proc/meminfo unreadable at the end");
	delta = now - memfree_start;
	ut_diag("MemFree after warm-up %ld kB, end %ld kB, delta %ld kB after %ld ms "
		"(tolerance %ld kB, %s)", memfree_start, now, delta, waited, tol,
		strict ? "enforced" : "reported only");
	if (strict)
		UT_CHECK(delta >= -tol, "MemFree dropped by %ld kB: frames leaked", -delta);
	return UT_PASS;
}

int main(int argc, char **argv)
{
	static const struct ut_case cases[] = {
		{ "fork_tree", test_fork_tree },
		{ "all_reaped", test_all_reaped },
		{ "memfree_restored", test_memfree },
	};
	long n = 1;

	ut_init(argc, argv, 30);
	fanout = ut_arg("fanout", 2);
	depth = ut_arg("depth", 3);
	npages = ut_arg("pages", 32);
	if (fanout < 1 || fanout > 16 || depth < 1 || depth > 8 || npages < 1) {
		ut_printf("forkloop: need 1<=fanout<=16, 1<=depth<=8, pages>=1\n");
		return 2;
	}
	for (long d = 0, w = 1; d < depth; d++)
		n += (w *= fanout);
	nslots = n;
	priv = mmap(NULL, (size_t)npages * UT_PAGE, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	slots = mmap(NULL, (size_t)nslots * sizeof(*slots) + UT_PAGE, PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (priv == MAP_FAILED || slots == MAP_FAILED) {
		ut_printf("forkloop: mmap failed: errno %d\n", errno);
		return 2;
	}
	stats = (struct stats *)(slots + nslots);
	mem_fill(0, 1);
	return ut_run(cases, UT_NCASES(cases));
}
