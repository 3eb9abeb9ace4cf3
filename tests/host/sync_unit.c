/*
 * tests/host/sync_unit.c - unit tests for each sync/ primitive, single and
 * multi-threaded, on registered host CPUs.
 */
#include "sync/env.h"
#include "sync/rcu.h"
#include "sync/seq.h"
#include "sync/spinlock.h"
#include "sync/lock.h"
#include "sync/pcpu_counter.h"
#include "sync/host/hostcpu.h"
#include "sync/host/alloc_inject.h"
#include "tests/ktest.h"
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* run_threads: start n threads on fn(i), each registered as CPU i. */
struct thr_arg { int id; void *(*fn)(int); };

static void *thr_trampoline(void *p)
{
	struct thr_arg *a = p;
	void *r;

	if (hostcpu_register_id(a->id) != 0)
		abort();
	r = a->fn(a->id);
	hostcpu_unregister();
	return r;
}

static void run_threads(int n, void *(*fn)(int))
{
	pthread_t t[NCPU_MAX];
	struct thr_arg a[NCPU_MAX];

	for (int i = 0; i < n; i++) {
		a[i] = (struct thr_arg){ i + 1, fn };	/* CPU 0 is main */
		pthread_create(&t[i], NULL, thr_trampoline, &a[i]);
	}
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
}

KTEST(hostcpu_register_slots)
{
	KT_CHECK(cpu_self() == 0, "main is cpu %u", cpu_self());
	KT_CHECK(hostcpu_register_id(0) == -EINVAL, "double registration refused");
	KT_CHECK(hostcpu_register_id(NCPU_MAX) == -EINVAL, "out of range refused");
}

static void *claim_cpu1(int id)
{
	(void)id;
	return NULL;
}

KTEST(hostcpu_busy_slot)
{
	run_threads(1, claim_cpu1);	/* takes and frees slot 1 */
	KT_CHECK(hostcpu_register_id(0) == -EINVAL, "already registered");
}

KTEST(seq_basic)
{
	seqcount_t s = SEQCOUNT_INITIALIZER;
	unsigned v = seq_read_begin(&s), w;

	KT_CHECK(!seq_read_retry(&s, v), "no writer, no retry");
	seq_write_begin(&s);
	KT_CHECK(!seq_read_try_begin(&s, &w), "try_begin fails during a write");
	KT_CHECK(seq_raw(&s) & 1, "odd during a write");
	seq_write_end(&s);
	KT_CHECK(seq_read_retry(&s, v), "retry after a write");
	KT_CHECK(seq_read_try_begin(&s, &w) && w == v + 2, "even, +2 per write");
}

KTEST(spin_basic)
{
	struct spinlock l = SPINLOCK_INITIALIZER("t");

	KT_CHECK(!spin_holding(&l), "free");
	spin_lock(&l);
	KT_CHECK(spin_holding(&l), "held by me");
	KT_CHECK(!spin_trylock(&l), "trylock on a held lock fails");
	spin_unlock(&l);
	KT_CHECK(spin_trylock(&l), "trylock on a free lock");
	spin_unlock(&l);
}

static void spin_twice(void)
{
	struct spinlock l = SPINLOCK_INITIALIZER("recursive");

	spin_lock(&l);
	spin_lock(&l);
}

static void spin_unlock_unheld(void)
{
	struct spinlock l = SPINLOCK_INITIALIZER("unheld");

	spin_unlock(&l);
}

/* The recursion and foreign-release assertions must fire. */
KTEST(spin_recursion_panics)
{
	KT_CHECK(ktest_dies_by_panic(spin_twice), "recursion not caught");
	KT_CHECK(ktest_dies_by_panic(spin_unlock_unheld), "unlock of a free lock not caught");
}

static struct spinlock contended = SPINLOCK_INITIALIZER("contended");
static volatile long shared_plain;	/* protected by contended */
static long spin_done;			/* (A) acquisitions, all workers */
#define SPIN_ITERS 200000
#define SPIN_BUDGET_NS (5 * 1000000000LL)

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* spin_worker: up to SPIN_ITERS non-atomic increments under the lock, for
 * at most SPIN_BUDGET_NS (a ticket lock whose next holder's thread is
 * descheduled stalls every waiter: on a loaded 2-core machine 4 workers can
 * take minutes). The check counts what was done, not what was planned. */
static void *spin_worker(int id)
{
	long long end = now_ns() + SPIN_BUDGET_NS;
	long i = 0;

	(void)id;
	for (; i < SPIN_ITERS && (i % 1024 || now_ns() < end); i++) {
		spin_lock(&contended);
		shared_plain = shared_plain + 1;	/* non-atomic RMW */
		spin_unlock(&contended);
	}
	__atomic_add_fetch(&spin_done, i, __ATOMIC_RELAXED);
	return NULL;
}

KTEST(spin_mutual_exclusion)
{
	shared_plain = 0;
	spin_done = 0;
	run_threads(4, spin_worker);
	KT_CHECK(spin_done >= 4 * 1024, "only %ld acquisitions", spin_done);
	KT_CHECK(shared_plain == spin_done, "count %ld of %ld", shared_plain, spin_done);
}

static struct mutex mtx;
static struct rwsem rw;
static long mtx_count, rw_a, rw_b, rw_torn;

static void *lock_worker(int id)
{
	for (int i = 0; i < 20000; i++) {
		mutex_lock(&mtx);
		mtx_count++;
		mutex_unlock(&mtx);
		if (id & 1) {
			down_write(&rw);
			rw_a++;
			rw_b++;
			up_write(&rw);
		} else {
			down_read(&rw);
			if (rw_a != rw_b)
				__atomic_add_fetch(&rw_torn, 1, __ATOMIC_RELAXED);
			up_read(&rw);
		}
	}
	return NULL;
}

KTEST(sleeping_locks)
{
	mutex_init(&mtx, "mtx");
	rwsem_init(&rw, "rw");
	KT_CHECK(!mutex_held(&mtx) && !rwsem_write_held(&rw), "free at start");
	run_threads(4, lock_worker);
	KT_CHECK(mtx_count == 4 * 20000, "mutex count %ld", mtx_count);
	KT_CHECK(rw_a == 2 * 20000 && rw_torn == 0, "rw %ld torn %ld", rw_a, rw_torn);
	down_write(&rw);
	KT_CHECK(rwsem_write_held(&rw), "write held");
	KT_CHECK(!down_read_trylock(&rw), "read trylock fails under write");
	up_write(&rw);
	mutex_destroy(&mtx);
	rwsem_destroy(&rw);
}

static struct pcpu_counter ctr;
#define PCPU_ITERS 100000

static void *pcpu_worker(int id)
{
	for (int i = 0; i < PCPU_ITERS; i++)
		pcpu_counter_add(&ctr, (i % 3) ? 1 : -1);	/* net +1/3 */
	return NULL;
}

KTEST(pcpu_counter_exact)
{
	int64_t per = 0;

	for (int i = 0; i < PCPU_ITERS; i++)
		per += (i % 3) ? 1 : -1;
	KT_REQUIRE(pcpu_counter_init(&ctr, 32) == 0, "init");
	run_threads(6, pcpu_worker);
	KT_CHECK(pcpu_counter_sum(&ctr) == 6 * per, "sum %lld want %lld",
		 (long long)pcpu_counter_sum(&ctr), (long long)(6 * per));
	int64_t slack = (int64_t)cpu_count() * 31;
	int64_t approx = pcpu_counter_read(&ctr);
	KT_CHECK(approx >= 6 * per - slack && approx <= 6 * per + slack, "approx %lld",
		 (long long)approx);
	pcpu_counter_destroy(&ctr);
}

KTEST(pcpu_counter_enomem)
{
	struct pcpu_counter c = { 0 };
	uint64_t live = alloc_inject_live();

	alloc_inject_fail_nth(0);
	KT_CHECK(pcpu_counter_init(&c, 8) == -ENOMEM, "injected failure");
	KT_CHECK(alloc_inject_fired() && c.slots == NULL, "c untouched");
	KT_CHECK(alloc_inject_live() == live, "no leak");
}

KTEST(alloc_alignment)
{
	static const size_t sizes[] = { 8, 24, 64, 100, 256, 1000, 4096, 10000 };

	for (unsigned i = 0; i < ARRAY_SIZE(sizes); i++) {
		void *p = env_alloc(sizes[i]);
		size_t want = 8;
		while (want < sizes[i] && want < 4096)
			want <<= 1;
		KT_CHECK(p && ((uintptr_t)p % want) == 0, "size %zu at %p", sizes[i], p);
		env_free(p, sizes[i]);
	}
}

struct rcu_obj { struct rcu_head head; int *flag; };

static void rcu_obj_free(struct rcu_head *h)
{
	struct rcu_obj *o = container_of(h, struct rcu_obj, head);

	__atomic_store_n(o->flag, 1, __ATOMIC_RELEASE);
	env_free(o, sizeof(*o));
}

KTEST(rcu_call_and_barrier)
{
	int freed = 0;
	struct rcu_obj *o = env_alloc(sizeof(*o));

	KT_REQUIRE(o, "alloc");
	o->flag = &freed;
	rcu_read_lock();
	call_rcu(&o->head, rcu_obj_free);
	rcu_read_unlock();
	synchronize_rcu();
	rcu_barrier();
	KT_CHECK(__atomic_load_n(&freed, __ATOMIC_ACQUIRE) == 1, "callback ran");
}

int main(int argc, char **argv)
{
	hostcpu_set_count(16);
	if (hostcpu_register_id(0) != 0)
		return 2;
	return ktest_main(argc, argv);
}
