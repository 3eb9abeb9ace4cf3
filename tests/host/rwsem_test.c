/*
 * tests/host/rwsem_test.c - struct rwsem: contracts, exclusion torture, and
 * bounded waiting (no starvation by a thread that re-acquires at once).
 *
 * rwsem_torture: readers and writers (blocking and trylock) on one record
 *   whose words a writer rewrites with DEBUG_YIELD in the middle; readers
 *   check the checksum twice around a yield, and both sides check the
 *   counts of threads inside. TORTURE_SECONDS (default 2).
 * rwsem_no_starvation_*: a "hog" re-acquires r in a tight loop while a
 *   "victim" asks for it. Once the victim sleeps in down_*, every hog
 *   acquisition is an overtake; the victim must get r after at most
 *   RWSEM_MAX_OVERTAKES of them, in every round. Counting acquisitions
 *   rather than time keeps the test independent of the machine's load: the
 *   hog that sees the victim ask keeps r until the victim's thread is
 *   asleep (its state in /proc), so a victim that is slow to get scheduled
 *   is not counted as starved. The pthread_rwlock backend (no handoff)
 *   fails all three; a round stops at RWSEM_OVERTAKE_CAP overtakes.
 */
#include "sync/env.h"
#include "sync/lock.h"
#include "tests/ktest.h"
#include <ck_pr.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

KTEST(rwsem_trylock_rules)
{
	struct rwsem r;

	rwsem_init(&r, "t");
	KT_CHECK(down_read_trylock(&r) && down_read_trylock(&r), "two readers share");
	KT_CHECK(!down_write_trylock(&r) && !rwsem_write_held(&r), "no writer beside readers");
	up_read(&r);
	up_read(&r);
	KT_CHECK(down_write_trylock(&r) && rwsem_write_held(&r), "writer on a free lock");
	KT_CHECK(!down_read_trylock(&r), "no reader beside a writer");
	up_write(&r);
	KT_CHECK(!rwsem_write_held(&r), "released");
	down_write(&r);
	up_write(&r);
	down_read(&r);
	up_read(&r);
	rwsem_destroy(&r);
}

static struct rwsem bad;

static void write_twice(void)
{
	rwsem_init(&bad, "bad");
	down_write(&bad);
	down_write(&bad);
}

static void read_under_write(void)
{
	rwsem_init(&bad, "bad");
	down_write(&bad);
	down_read(&bad);
}

static void up_write_unheld(void)
{
	rwsem_init(&bad, "bad");
	up_write(&bad);
}

static void destroy_held(void)
{
	rwsem_init(&bad, "bad");
	down_read(&bad);
	rwsem_destroy(&bad);
}

KTEST(rwsem_contracts_panic)
{
	KT_CHECK(ktest_dies_by_panic(write_twice), "write recursion not caught");
	KT_CHECK(ktest_dies_by_panic(read_under_write), "read under own write not caught");
	KT_CHECK(ktest_dies_by_panic(up_write_unheld), "up_write of a free lock not caught");
	KT_CHECK(ktest_dies_by_panic(destroy_held), "destroy of a held lock not caught");
}

/* ---- torture ---- */

#define T_WORDS 8
#define T_READERS 4
#define T_WRITERS 3

static struct rwsem trw;
static struct {
	uint64_t gen;
	uint64_t word[T_WORDS];	/* word[i] = gen * 31 + i */
	uint64_t sum;
} rec;				/* under trw */
static int t_stop, inside_r, inside_w;	/* (A) */
static uint64_t t_bad, t_reads, t_writes;	/* (A) */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool rec_ok(uint64_t gen)
{
	uint64_t sum = 0;

	for (int i = 0; i < T_WORDS; i++) {
		if (rec.word[i] != gen * 31 + (uint64_t)i)
			return false;
		sum += rec.word[i];
	}
	return rec.gen == gen && rec.sum == sum;
}

/* trw_take: take trw (for writing if write); every 4th try is a trylock,
 * which may fail (false). */
static bool trw_take(bool write, unsigned i)
{
	if (i % 4 == 0)
		return write ? down_write_trylock(&trw) : down_read_trylock(&trw);
	if (write)
		down_write(&trw);
	else
		down_read(&trw);
	return true;
}

static void *t_reader(void *arg)
{
	uint64_t n = 0, bad_here = 0;

	for (unsigned i = (unsigned)(uintptr_t)arg; !ck_pr_load_int(&t_stop); i++) {
		if (!trw_take(false, i))
			continue;
		ck_pr_inc_int(&inside_r);
		uint64_t gen = rec.gen;
		bad_here += ck_pr_load_int(&inside_w) != 0 || rwsem_write_held(&trw) || !rec_ok(gen);
		DEBUG_YIELD();
		bad_here += ck_pr_load_int(&inside_w) != 0 || !rec_ok(gen);
		ck_pr_dec_int(&inside_r);
		up_read(&trw);
		n++;
	}
	ck_pr_add_64(&t_reads, n);
	ck_pr_add_64(&t_bad, bad_here);
	return (void *)(uintptr_t)n;
}

static void rec_write(void)
{
	uint64_t gen = rec.gen + 1;

	rec.gen = gen;
	rec.sum = 0;
	for (int i = 0; i < T_WORDS; i++) {
		rec.word[i] = gen * 31 + (uint64_t)i;
		rec.sum += rec.word[i];
		if (i == T_WORDS / 2)
			DEBUG_YIELD();	/* a torn record is visible here */
	}
}

static void *t_writer(void *arg)
{
	uint64_t n = 0, bad_here = 0;

	for (unsigned i = (unsigned)(uintptr_t)arg; !ck_pr_load_int(&t_stop); i++) {
		if (!trw_take(true, i))
			continue;
		bad_here += ck_pr_faa_int(&inside_w, 1) != 0 || ck_pr_load_int(&inside_r) != 0;
		bad_here += !rwsem_write_held(&trw) || !rec_ok(rec.gen);
		rec_write();
		ck_pr_dec_int(&inside_w);
		up_write(&trw);
		n++;
	}
	ck_pr_add_64(&t_writes, n);
	ck_pr_add_64(&t_bad, bad_here);
	return (void *)(uintptr_t)n;
}

KTEST(rwsem_torture)
{
	const char *s = getenv("TORTURE_SECONDS");
	double secs = s ? atof(s) : 2.0;
	pthread_t t[T_READERS + T_WRITERS];
	bool all_progressed = true;

	rwsem_init(&trw, "torture");
	rec_write();
	debug_yield_enable(64);
	for (int i = 0; i < T_READERS + T_WRITERS; i++)
		pthread_create(&t[i], NULL, i < T_READERS ? t_reader : t_writer,
			       (void *)(uintptr_t)i);
	double end = now_s() + secs;
	while (now_s() < end)
		usleep(10000);
	ck_pr_store_int(&t_stop, 1);
	for (int i = 0; i < T_READERS + T_WRITERS; i++) {
		void *n;

		pthread_join(t[i], &n);
		all_progressed &= n != NULL;
	}
	debug_yield_enable(0);
	printf("# %llu reads, %llu writes, gen %llu\n", (unsigned long long)t_reads,
	       (unsigned long long)t_writes, (unsigned long long)rec.gen);
	KT_CHECK(t_bad == 0, "%llu bad observations", (unsigned long long)t_bad);
	KT_CHECK(rec_ok(t_writes + 1), "record at gen %llu, %llu writes",
		 (unsigned long long)rec.gen, (unsigned long long)t_writes);
	KT_CHECK(all_progressed, "a thread never got the lock");
	rwsem_destroy(&trw);
}

/* ---- bounded waiting ---- */

#define RWSEM_MAX_OVERTAKES 4	/* in flight when the victim fell asleep */
#define RWSEM_OVERTAKE_CAP 2000
#define ROUNDS 20

static struct rwsem srw;
static int s_stop;		/* (A) hogs leave */
static int victim_tid;		/* (C) while hogs run */
static int victim_waiting;	/* (A) victim is between "ask" and "got it" */
static int victim_asleep;	/* (A) a hog saw it asleep while holding srw */
static int overtakes;		/* (A) hog acquisitions since then */

/* thread_state: the state letter of thread tid in /proc ('S' sleeping). */
static char thread_state(int tid)
{
	char path[64], buf[512], *p;
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", tid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return '?';
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return '?';
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : '?';
}

/* hog_holding: called by a hog holding srw. Counts an overtake if the
 * victim is known to sleep; otherwise, if the victim asks, keeps srw until
 * the victim sleeps (so that it is waiting on srw, not on the CPU). At the
 * cap, pauses the hog until the victim got srw (the round is lost). */
static bool hog_holding(void)
{
	if (!ck_pr_load_int(&victim_waiting))
		return true;
	if (ck_pr_load_int(&victim_asleep))
		return ck_pr_faa_int(&overtakes, 1) + 1 < RWSEM_OVERTAKE_CAP;
	while (ck_pr_load_int(&victim_waiting) && thread_state(victim_tid) != 'S')
		sched_yield();
	ck_pr_store_int(&victim_asleep, 1);
	return true;
}

static void hog_pause(void)
{
	while (ck_pr_load_int(&victim_waiting))
		sched_yield();
}

static void hold_briefly(void)
{
	for (int i = 0; i < 200; i++)
		cpu_relax();
}

static void srw_lock(bool write)
{
	if (write)
		down_write(&srw);
	else
		down_read(&srw);
}

static void srw_unlock(bool write)
{
	if (write)
		up_write(&srw);
	else
		up_read(&srw);
}

/* hog: re-take srw (for writing if arg is non-NULL) until s_stop. */
static void *hog(void *arg)
{
	bool write = arg != NULL;

	while (!ck_pr_load_int(&s_stop)) {
		srw_lock(write);
		bool go_on = hog_holding();
		hold_briefly();
		srw_unlock(write);
		if (!go_on)
			hog_pause();
	}
	return NULL;
}

/* starve_rounds: nhogs hog threads (writers if hog_write) against this
 * thread asking for srw ROUNDS times (for writing if write); checks that no
 * round saw more than RWSEM_MAX_OVERTAKES. */
static void starve_rounds(bool hog_write, int nhogs, bool write, const char *what)
{
	pthread_t t[4];
	int worst = 0, lost = 0;

	rwsem_init(&srw, "starve");
	victim_tid = (int)syscall(SYS_gettid);
	ck_pr_store_int(&s_stop, 0);
	for (int i = 0; i < nhogs; i++)
		pthread_create(&t[i], NULL, hog, hog_write ? &srw : NULL);
	for (int round = 0; round < ROUNDS; round++) {
		for (int i = 0; i < 20; i++)
			sched_yield();	/* let the hogs get going */
		ck_pr_store_int(&victim_asleep, 0);
		ck_pr_store_int(&overtakes, 0);
		ck_pr_fence_store();	/* reset before the ask is visible */
		ck_pr_store_int(&victim_waiting, 1);
		srw_lock(write);
		int n = ck_pr_load_int(&overtakes);	/* final: hogs are excluded */
		ck_pr_store_int(&victim_waiting, 0);
		srw_unlock(write);
		worst = n > worst ? n : worst;
		lost += n > RWSEM_MAX_OVERTAKES;
	}
	ck_pr_store_int(&s_stop, 1);
	for (int i = 0; i < nhogs; i++)
		pthread_join(t[i], NULL);
	rwsem_destroy(&srw);
	printf("# %s: worst %d overtakes, %d/%d rounds lost\n", what, worst, lost, ROUNDS);
	KT_CHECK(lost == 0, "%s: overtaken %d times (bound %d)", what, worst,
		 RWSEM_MAX_OVERTAKES);
}

KTEST(rwsem_no_starvation_reader_vs_writer)
{
	starve_rounds(true, 1, false, "reader vs re-acquiring writer");
}

KTEST(rwsem_no_starvation_writer_vs_writer)
{
	starve_rounds(true, 1, true, "writer vs re-acquiring writer");
}

KTEST(rwsem_no_starvation_writer_vs_readers)
{
	starve_rounds(false, 2, true, "writer vs 2 re-acquiring readers");
}

int main(int argc, char **argv)
{
	return ktest_main(argc, argv);
}
