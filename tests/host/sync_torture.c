/*
 * tests/host/sync_torture.c - torture tests in the style of rcutorture.
 *
 * rcu_torture: writers keep replacing the objects in a small array of
 *   RCU-protected slots, freeing the old ones with call_rcu (env_free poisons
 *   them). Readers, inside rcu_read_lock, pick a slot, check the object's
 *   checksum, yield (DEBUG_YIELD), and check it again: a premature free shows
 *   up as poison (0x6b) or a bad checksum, or as an ASan use-after-free.
 * seq_torture: a writer updates a multi-word record under a seqcount; readers
 *   must never accept a torn snapshot (words from different generations).
 *
 * Duration: TORTURE_SECONDS (default 3) per test; schedule perturbation on.
 */
#include "sync/env.h"
#include "sync/rcu.h"
#include "sync/seq.h"
#include "sync/host/hostcpu.h"
#include "sync/host/alloc_inject.h"
#include "tests/ktest.h"
#include <pthread.h>
#include <time.h>
#include <unistd.h>
#include <sched.h>
#include <ck_pr.h>

#define NSLOTS   8
#define NWORDS   16
#define NREADERS 4
#define NWRITERS 2

struct tobj {
	struct rcu_head head;
	uint64_t gen;
	uint64_t word[NWORDS];	/* word[i] = gen * 31 + i */
	uint64_t sum;		/* sum of word[] */
};

static struct tobj *slots[NSLOTS];	/* (R) published with rcu_assign_pointer */
static int stop;			/* (A) */
static uint64_t bad_reads, good_reads, frees_queued, frees_done;

static double torture_seconds(void)
{
	const char *s = getenv("TORTURE_SECONDS");

	return s ? atof(s) : 3.0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static struct tobj *tobj_new(uint64_t gen)
{
	struct tobj *o = env_alloc(sizeof(*o));

	if (!o)
		abort();
	o->gen = gen;
	o->sum = 0;
	for (int i = 0; i < NWORDS; i++) {
		o->word[i] = gen * 31 + (uint64_t)i;
		o->sum += o->word[i];
	}
	return o;
}

/* tobj_ok: the object is intact (not freed, not torn). */
static bool tobj_ok(const struct tobj *o)
{
	uint64_t sum = 0;

	for (int i = 0; i < NWORDS; i++) {
		if (o->word[i] != o->gen * 31 + (uint64_t)i)
			return false;
		sum += o->word[i];
	}
	return sum == o->sum;
}

static void tobj_free_cb(struct rcu_head *h)
{
	env_free(container_of(h, struct tobj, head), sizeof(struct tobj));
	ck_pr_inc_64(&frees_done);
}

static void *torture_reader(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;

	hostcpu_register();
	while (!ck_pr_load_int(&stop)) {
		rcu_read_lock();
		struct tobj *o = rcu_dereference(slots[rand_r(&seed) % NSLOTS]);
		bool ok = tobj_ok(o);
		DEBUG_YIELD();		/* widen the window for a premature free */
		ok = ok && tobj_ok(o);
		rcu_read_unlock();
		ck_pr_inc_64(ok ? &good_reads : &bad_reads);
	}
	hostcpu_unregister();
	return NULL;
}

static pthread_mutex_t writer_lock = PTHREAD_MUTEX_INITIALIZER;

static void *torture_writer(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	uint64_t gen = (uint64_t)(uintptr_t)arg << 40;

	hostcpu_register();
	while (!ck_pr_load_int(&stop)) {
		struct tobj *n = tobj_new(++gen), *old;
		int s = rand_r(&seed) % NSLOTS;

		pthread_mutex_lock(&writer_lock);	/* writers serialise per update */
		old = slots[s];
		rcu_assign_pointer(slots[s], n);
		pthread_mutex_unlock(&writer_lock);
		call_rcu(&old->head, tobj_free_cb);
		ck_pr_inc_64(&frees_queued);
		if (rand_r(&seed) % 64 == 0)
			synchronize_rcu();	/* mix synchronous grace periods in */
		DEBUG_YIELD();
	}
	hostcpu_unregister();
	return NULL;
}

KTEST(rcu_torture)
{
	pthread_t r[NREADERS], w[NWRITERS];
	uint64_t live0 = alloc_inject_live();

	for (int i = 0; i < NSLOTS; i++)
		slots[i] = tobj_new((uint64_t)i);
	debug_yield_enable(8);
	stop = 0;
	for (int i = 0; i < NREADERS; i++)
		pthread_create(&r[i], NULL, torture_reader, (void *)(uintptr_t)(i + 1));
	for (int i = 0; i < NWRITERS; i++)
		pthread_create(&w[i], NULL, torture_writer, (void *)(uintptr_t)(i + 100));
	for (double end = now() + torture_seconds(); now() < end;)
		usleep(10000);
	ck_pr_store_int(&stop, 1);
	for (int i = 0; i < NREADERS; i++)
		pthread_join(r[i], NULL);
	for (int i = 0; i < NWRITERS; i++)
		pthread_join(w[i], NULL);
	debug_yield_enable(0);
	rcu_barrier();
	printf("# reads %llu bad %llu, replaced %llu freed %llu\n",
	       (unsigned long long)good_reads, (unsigned long long)bad_reads,
	       (unsigned long long)frees_queued, (unsigned long long)frees_done);
	KT_CHECK(bad_reads == 0, "%llu reads saw a freed or torn object",
		 (unsigned long long)bad_reads);
	KT_CHECK(good_reads > 1000 && frees_queued > 100, "torture made progress");
	KT_CHECK(frees_done == frees_queued, "every callback ran after rcu_barrier");
	for (int i = 0; i < NSLOTS; i++)
		env_free(slots[i], sizeof(struct tobj));
	KT_CHECK(alloc_inject_live() == live0, "no leaked objects");
}

/* --- seqcount: torn snapshots --- */

static seqcount_t rec_seq = SEQCOUNT_INITIALIZER;
static uint64_t rec[NWORDS];		/* protected by rec_seq */
static uint64_t snap_ok, snap_retry, snap_torn;

static void *seq_writer(void *arg)
{
	hostcpu_register();
	for (uint64_t g = 1; !ck_pr_load_int(&stop); g++) {
		seq_write_begin(&rec_seq);
		for (int i = 0; i < NWORDS; i++) {
			ck_pr_store_64(&rec[i], g);
			if (i == NWORDS / 2)
				DEBUG_YIELD();	/* stall mid-update */
		}
		seq_write_end(&rec_seq);
		if (g % 8 == 0)
			sched_yield();	/* a writer that never pauses starves readers */
	}
	hostcpu_unregister();
	return NULL;
}

static void *seq_reader(void *arg)
{
	uint64_t copy[NWORDS];

	hostcpu_register();
	while (!ck_pr_load_int(&stop)) {
		unsigned v = seq_read_begin(&rec_seq);
		for (int i = 0; i < NWORDS; i++)
			copy[i] = ck_pr_load_64(&rec[i]);
		if (seq_read_retry(&rec_seq, v)) {
			ck_pr_inc_64(&snap_retry);
			continue;
		}
		bool torn = false;	/* accepted: every word from one generation */
		for (int i = 1; i < NWORDS; i++)
			torn |= copy[i] != copy[0];
		ck_pr_inc_64(torn ? &snap_torn : &snap_ok);
	}
	hostcpu_unregister();
	return NULL;
}

KTEST(seq_torture)
{
	pthread_t w, r[NREADERS];

	debug_yield_enable(16);
	stop = 0;
	pthread_create(&w, NULL, seq_writer, NULL);
	for (int i = 0; i < NREADERS; i++)
		pthread_create(&r[i], NULL, seq_reader, NULL);
	for (double end = now() + torture_seconds(); now() < end;)
		usleep(10000);
	ck_pr_store_int(&stop, 1);
	pthread_join(w, NULL);
	for (int i = 0; i < NREADERS; i++)
		pthread_join(r[i], NULL);
	debug_yield_enable(0);
	printf("# snapshots ok %llu retried %llu torn %llu\n", (unsigned long long)snap_ok,
	       (unsigned long long)snap_retry, (unsigned long long)snap_torn);
	KT_CHECK(snap_torn == 0, "readers accepted %llu torn snapshots",
		 (unsigned long long)snap_torn);
	KT_CHECK(snap_ok > 100, "readers made progress");
}

int main(int argc, char **argv)
{
	hostcpu_set_count(16);
	return ktest_main(argc, argv);
}
