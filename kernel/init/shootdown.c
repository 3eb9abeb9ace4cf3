/*
 * kernel/init/shootdown.c - TLB shootdowns seen from user space.
 *
 * Reader threads keep reading their page of one mapping (so their CPUs hold
 * the translation) and report the CPU they run on (getcpu); the main thread
 * munmaps the mapping. Checked everywhere: once munmap has returned, every
 * reader's next access faults (SIGSEGV, SEGV_MAPERR, exact si_addr) and no
 * read ever returns anything but the page's pattern. Checked on Kestrel,
 * which exports per-CPU IPI counters in /proc/kestrel/ipi: when a reader
 * was running on another CPU than the unmapping thread, the munmap sent at
 * least one IPI, and at most one per other CPU (plus scheduler kicks).
 *
 * Args: readers=3 rounds=20 secs=20.
 */
#include "uktap.h"
#include "usig.h"

#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define MAXR 8

static long nreaders, rounds;
static char *region;		/* one page per reader */
static int phase;		/* atomic: 0 read, 1 unmapped, 2 quit */
static int started, checked;	/* atomic */
static int cpu_of[MAXR];	/* atomic: last CPU each reader saw */
static int stale;		/* atomic: wrong data read */
static int no_fault;		/* atomic: access after munmap did not fault */

static int getcpu_now(void)
{
	unsigned cpu = 0;

	return syscall(SYS_getcpu, &cpu, NULL, NULL) == 0 ? (int)cpu : -1;
}

static void *reader(void *arg)
{
	long id = (long)arg;
	volatile uint64_t *p = (volatile uint64_t *)(region + id * UT_PAGE);
	uint64_t v;

	ut_fault_install();
	__atomic_add_fetch(&started, 1, __ATOMIC_ACQ_REL);
	while (__atomic_load_n(&phase, __ATOMIC_ACQUIRE) == 0) {
		if (ut_try_load(p, &v) == 0 && v != 0x5d00000000ull + (uint64_t)id)
			__atomic_add_fetch(&stale, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&cpu_of[id], getcpu_now(), __ATOMIC_RELAXED);
	}
	if (__atomic_load_n(&phase, __ATOMIC_ACQUIRE) == 1) {
		if (ut_try_load(p, &v) == 0 || ut_last_fault.addr != (void *)p ||
		    ut_last_fault.code != SEGV_MAPERR)
			__atomic_add_fetch(&no_fault, 1, __ATOMIC_RELAXED);
	}
	__atomic_add_fetch(&checked, 1, __ATOMIC_ACQ_REL);
	return NULL;
}

/* ipi_sent: IPIs sent by all CPUs so far, or -1 without /proc/kestrel/ipi. */
static long ipi_sent(void)
{
	char buf[4096], *s = buf;
	long sum = 0;

	if (ut_read_file("/proc/kestrel/ipi", buf, sizeof(buf)) <= 0)
		return -1;
	while ((s = strstr(s, " sent ")) != NULL) {
		sum += strtol(s + 6, &s, 10);
	}
	return sum;
}

/* round_run: one map / read / unmap round; 1 if a reader ran elsewhere. */
static int round_run(long *ipis)
{
	pthread_t t[MAXR];
	int me, elsewhere = 0;
	long before, after;

	region = mmap(NULL, nreaders * UT_PAGE, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (region == MAP_FAILED)
		return -1;
	for (long i = 0; i < nreaders; i++)
		*(uint64_t *)(region + i * UT_PAGE) = 0x5d00000000ull + (uint64_t)i;
	__atomic_store_n(&phase, 0, __ATOMIC_RELEASE);
	started = checked = 0;
	for (long i = 0; i < nreaders; i++) {
		cpu_of[i] = -1;
		pthread_create(&t[i], NULL, reader, (void *)i);
	}
	while (__atomic_load_n(&started, __ATOMIC_ACQUIRE) < nreaders)
		sched_yield();
	for (int spin = 0; spin < 200; spin++)	/* let them spread and read */
		sched_yield();
	me = getcpu_now();
	for (long i = 0; i < nreaders; i++)
		elsewhere |= __atomic_load_n(&cpu_of[i], __ATOMIC_RELAXED) != me;
	before = ipi_sent();
	munmap(region, nreaders * UT_PAGE);
	after = ipi_sent();
	elsewhere &= getcpu_now() == me;
	__atomic_store_n(&phase, 1, __ATOMIC_RELEASE);
	for (long i = 0; i < nreaders; i++)
		pthread_join(t[i], NULL);
	*ipis = before < 0 ? -1 : after - before;
	return elsewhere;
}

static int test_unmap_shootdown(void)
{
	long measured = 0, with_ipi = 0, total_ipis = 0;

	for (long r = 0; r < rounds && !ut_time_up(); r++) {
		long ipis;
		int elsewhere = round_run(&ipis);

		UT_REQUIRE(elsewhere >= 0, "mmap: errno %d", errno);
		if (ipis >= 0 && elsewhere) {
			measured++;
			with_ipi += ipis >= 1;
			total_ipis += ipis;
			UT_CHECK(ipis <= 2 * (nreaders + 1), "round %ld: %ld IPIs for %ld readers",
				 r, ipis, nreaders);
		}
	}
	UT_CHECK(stale == 0, "%d reads returned wrong data", stale);
	UT_CHECK(no_fault == 0, "%d accesses after munmap did not fault at the address (MAPERR)",
		 no_fault);
	UT_CHECK(with_ipi == measured, "%ld of %ld rounds with a remote reader sent no IPI",
		 measured - with_ipi, measured);
	ut_diag("%ld rounds measured (reader on another CPU), %ld IPIs", measured, total_ipis);
	return UT_PASS;
}

int main(int argc, char **argv)
{
	static const struct ut_case cases[] = {
		{ "unmap_shootdown", test_unmap_shootdown },
	};

	ut_init(argc, argv, 20);
	nreaders = ut_arg("readers", 3);
	rounds = ut_arg("rounds", 20);
	if (nreaders < 1 || nreaders > MAXR)
		nreaders = 3;
	return ut_run(cases, UT_NCASES(cases));
}
