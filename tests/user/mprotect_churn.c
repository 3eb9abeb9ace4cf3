/*
 * tests/user/mprotect_churn.c - mprotect on random page ranges of one region
 * (splitting and re-merging its VMAs) while faulting threads read and write
 * their own pages of it.
 *
 * Each page has a state word: gen << 8 | settled << 4 | prot. The churner
 * clears `settled` on a range, calls mprotect, then publishes the new prot as
 * settled. A faulter loads the state before and after its access; when both
 * loads are equal and settled, the outcome must match the protection exactly:
 * a fault on an allowed access is spurious, a completed access that the
 * protection forbids went through a stale TLB entry (mprotect must flush
 * before it returns). Every fault must be SIGSEGV with si_code SEGV_ACCERR and
 * si_addr the accessed word. Pages are owned by one faulter each, which
 * writes words 0 and 511 and reads any word, so every completed read must
 * return the last value that faulter wrote there (or zero for words never
 * written): no write is lost across the VMA splits and merges.
 *
 * Args: threads=2 iters=3000 (mprotect calls) pages=64 secs=20.
 */
#include "uktap.h"
#include "usig.h"

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>

#define P_NONE 0
#define P_READ 1
#define P_RW 3
#define SETTLED 16

static long npages, nthreads, iters;
static char *region;
static uint64_t *pstate;	/* atomic: per-page state, churner writes */
static int stop;		/* atomic */
static long faults, accesses;	/* atomic: statistics */

static int to_prot(int p)
{
	return p == P_RW ? PROT_READ | PROT_WRITE : p == P_READ ? PROT_READ : PROT_NONE;
}

/* faulter_access: one read or write of page p, judged against its state. */
static void faulter_access(int id, long p, uint64_t *last, uint64_t *seed)
{
	int write = (int)(ut_rand(seed) & 1), f;
	int w = write ? (ut_rand(seed) & 1) * 511 : (int)(ut_rand(seed) % 512);
	uint64_t *addr = (uint64_t *)(region + p * UT_PAGE) + w;
	uint64_t *lastw = w == 0 ? &last[2 * p] : w == 511 ? &last[2 * p + 1] : NULL;
	uint64_t s1, s2, v = 0, nv = lastw ? (*lastw + 1) | ((uint64_t)id << 56) : 0;

	s1 = __atomic_load_n(&pstate[p], __ATOMIC_ACQUIRE);
	if (write)
		f = ut_try_store(addr, nv);
	else
		f = ut_try_load(addr, &v);
	s2 = __atomic_load_n(&pstate[p], __ATOMIC_ACQUIRE);
	__atomic_add_fetch(&accesses, 1, __ATOMIC_RELAXED);
	if (f) {
		__atomic_add_fetch(&faults, 1, __ATOMIC_RELAXED);
		UT_CHECK(ut_last_fault.signo == SIGSEGV && ut_last_fault.code == SEGV_ACCERR &&
			 ut_last_fault.addr == (void *)addr,
			 "thread %d: signal %d si_code %d si_addr %p (accessed %p)", id,
			 ut_last_fault.signo, ut_last_fault.code, ut_last_fault.addr, (void *)addr);
	} else if (write) {
		*lastw = nv;
	} else {
		uint64_t want = lastw ? *lastw : 0;

		UT_CHECK(v == want, "thread %d: page %ld word %d reads %#lx, last written %#lx", id,
			 p, w, (unsigned long)v, (unsigned long)want);
	}
	if (s1 == s2 && (s1 & SETTLED)) {
		int prot = (int)(s1 & 15 & ~SETTLED);
		int allowed = write ? prot == P_RW : prot != P_NONE;

		UT_CHECK(allowed == !f, "thread %d: %s of page %ld %s under settled prot %d (%s)", id,
			 write ? "write" : "read", p, f ? "faulted" : "completed", prot,
			 f ? "spurious fault" : "stale TLB permission");
	}
}

static void *faulter_main(void *arg)
{
	int id = (int)(long)arg;
	uint64_t seed = 0x51ed2701u + (uint64_t)id * 7919;
	uint64_t *last = calloc((size_t)npages * 2, sizeof(*last));

	if (!last)
		return NULL;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE) && !ut_failures()) {
		long p = (long)(ut_rand(&seed) % (uint64_t)npages);

		p -= p % nthreads;
		p += id;
		if (p < npages)
			faulter_access(id, p, last, &seed);
	}
	free(last);
	return NULL;
}

/* churn_once: mprotect a random range to a random protection, publishing
 * unsettled before the call and settled after it returns. */
static int churn_once(uint64_t gen, uint64_t *seed)
{
	long a = (long)(ut_rand(seed) % (uint64_t)npages);
	long b = a + 1 + (long)(ut_rand(seed) % (uint64_t)(npages - a));
	int choice[3] = { P_NONE, P_READ, P_RW }, prot = choice[ut_rand(seed) % 3];

	for (long p = a; p < b; p++)
		__atomic_store_n(&pstate[p], pstate[p] & ~(uint64_t)SETTLED, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);	/* unsettled before the PTEs change */
	UT_REQUIRE(mprotect(region + a * UT_PAGE, (size_t)(b - a) * UT_PAGE, to_prot(prot)) == 0,
		   "mprotect: errno %d", errno);
	for (long p = a; p < b; p++)
		__atomic_store_n(&pstate[p], gen << 8 | SETTLED | (uint64_t)prot, __ATOMIC_RELEASE);
	return 0;
}

static int test_mprotect_churn(void)
{
	pthread_t th[64];
	uint64_t seed = (uint64_t)ut_arg("seed", 1) * 0x9e3779b97f4a7c15ull + 1;
	long i;

	region = mmap(NULL, (size_t)npages * UT_PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pstate = calloc((size_t)npages, sizeof(*pstate));
	UT_REQUIRE(region != MAP_FAILED && pstate, "mmap: errno %d", errno);
	for (long p = 0; p < npages; p++)
		pstate[p] = SETTLED | P_RW;
	for (long t = 0; t < nthreads; t++)
		UT_REQUIRE(!pthread_create(&th[t], NULL, faulter_main, (void *)t), "pthread_create");
	for (i = 0; i < iters && !ut_time_up() && !ut_failures(); i++) {
		if (churn_once((uint64_t)i + 1, &seed))
			break;
		if (ut_progress_due())
			ut_diag("progress: %ld mprotect calls, %ld accesses", i, accesses);
		if (i % 16 == 0)
			sched_yield();
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
	for (long t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
	ut_diag("%ld mprotect calls, %ld accesses, %ld faults", i, accesses, faults);
	UT_CHECK(mprotect(region, (size_t)npages * UT_PAGE, PROT_READ | PROT_WRITE) == 0,
		 "final mprotect: errno %d", errno);
	UT_CHECK(munmap(region, (size_t)npages * UT_PAGE) == 0, "munmap: errno %d", errno);
	return UT_PASS;
}

int main(int argc, char **argv)
{
	static const struct ut_case cases[] = {
		{ "mprotect_churn", test_mprotect_churn },
	};

	ut_init(argc, argv, 20);
	nthreads = ut_arg("threads", 2);
	iters = ut_arg("iters", 3000);
	npages = ut_arg("pages", 64);
	if (nthreads < 1 || nthreads > 64 || npages < 1)
		return 2;
	ut_fault_install();
	return ut_run(cases, UT_NCASES(cases));
}
