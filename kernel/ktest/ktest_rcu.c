/*
 * kernel/ktest/ktest_rcu.c - kernel RCU: while a reader thread on every CPU
 * dereferences a shared pointer in read-side sections, a writer replaces the
 * object and frees the old one after synchronize_rcu() or via call_rcu().
 * A freed object is marked dead (then poisoned by env_free), so a reader
 * that ever sees a dead object proves a grace period ended too early.
 */
#include "ktest_util.h"
#include "sync/rcu.h"
#include "kernel/mem.h"

#define OBJ_LIVE 0x4c495645u
#define OBJ_DEAD 0xdeadu

struct rcu_obj {
	uint32_t magic;
	uint32_t gen;
	struct rcu_head rcu;
};

static struct rcu_obj *shared;	/* (R) published with rcu_assign_pointer */
static int readers_stop;	/* (A) */
static uint64_t reads;		/* (A) */
static int bad_reads;		/* (A) */
static int cb_freed;		/* (A) */

static void reader(void *arg)
{
	uint64_t n = 0;

	while (!ck_pr_load_int(&readers_stop)) {
		rcu_read_lock();
		struct rcu_obj *o = rcu_dereference(shared);

		for (int i = 0; o && i < 20; i++) {
			if (ck_pr_load_32(&o->magic) != OBJ_LIVE) {
				ck_pr_inc_int(&bad_reads);
				break;
			}
			cpu_relax();
		}
		rcu_read_unlock();
		n++;
	}
	ck_pr_add_64(&reads, n);
}

static struct rcu_obj *obj_new(uint32_t gen)
{
	struct rcu_obj *o = env_alloc(sizeof(*o));

	if (o) {
		o->magic = OBJ_LIVE;
		o->gen = gen;
	}
	return o;
}

static void obj_kill(struct rcu_obj *o)
{
	ck_pr_store_32(&o->magic, OBJ_DEAD);
	env_free(o, sizeof(*o));
}

static void obj_rcu_free(struct rcu_head *h)
{
	obj_kill(container_of(h, struct rcu_obj, rcu));
	ck_pr_inc_int(&cb_freed);
}

static void writer(void *arg)
{
	enum { SYNC_ROUNDS = 40, CB_ROUNDS = 400 };

	for (uint32_t g = 1; g <= SYNC_ROUNDS + CB_ROUNDS; g++) {
		struct rcu_obj *n = obj_new(g), *old;

		KT_CHECK(n != NULL, "env_alloc");
		if (!n)
			break;
		old = shared;
		rcu_assign_pointer(shared, n);
		if (g <= SYNC_ROUNDS) {
			synchronize_rcu();
			obj_kill(old);
		} else {
			call_rcu(&old->rcu, obj_rcu_free);
		}
	}
	rcu_barrier();
	KT_CHECK(ck_pr_load_int(&cb_freed) == CB_ROUNDS, "%d of %d callbacks ran",
		 ck_pr_load_int(&cb_freed), CB_ROUNDS);
}

KTEST(rcu_grace_period_with_readers)
{
	struct thread *r[NCPU_MAX], *w;
	uint64_t gp0 = rcu_gp_started(), live0 = heap_live_objects();

	shared = obj_new(0);
	KT_REQUIRE(shared != NULL, "env_alloc");
	readers_stop = 0;
	reads = 0;
	bad_reads = 0;
	cb_freed = 0;
	for (unsigned c = 0; c < ncpus; c++)
		r[c] = thread_create("rcu_reader", reader, NULL, (int)c);
	w = thread_create("rcu_writer", writer, NULL, -1);
	KT_REQUIRE(w != NULL, "thread_create");
	thread_join(w);
	ck_pr_store_int(&readers_stop, 1);
	for (unsigned c = 0; c < ncpus; c++)
		if (r[c])
			thread_join(r[c]);
	obj_kill(shared);
	shared = NULL;
	KT_CHECK(bad_reads == 0, "%d reads saw a freed object", bad_reads);
	KT_CHECK(reads > ncpus, "readers made no progress (%llu)", (unsigned long long)reads);
	KT_CHECK(rcu_gp_started() - gp0 >= 41, "only %llu grace periods",
		 (unsigned long long)(rcu_gp_started() - gp0));
	KT_CHECK(heap_live_objects() == live0, "heap objects %llu before, %llu after",
		 (unsigned long long)live0, (unsigned long long)heap_live_objects());
	printk("# rcu: %llu read sections, %llu grace periods\n", (unsigned long long)reads,
	       (unsigned long long)(rcu_gp_started() - gp0));
}

struct cb_obj {
	struct rcu_head rcu;
	unsigned cpu;		/* the CPU that queued it */
	uint64_t gp;		/* rcu_gp_started() when it was queued */
};

static int cb_ran;		/* (A) */
static int cb_wrong_cpu;	/* (A) */
static int cb_too_early;	/* (A) */

static void cb_count(struct rcu_head *h)
{
	struct cb_obj *o = container_of(h, struct cb_obj, rcu);

	if (o->cpu != cpu_self())
		ck_pr_inc_int(&cb_wrong_cpu);
	if (rcu_gp_started() <= o->gp)
		ck_pr_inc_int(&cb_too_early);	/* no grace period started since */
	ck_pr_inc_int(&cb_ran);
	env_free(o, sizeof(*o));
}

/* Callbacks per CPU: every one allocates and frees through one kmalloc
 * cache lock, whose handoffs cost milliseconds each under TCG with more
 * vCPUs than host cores, so the total shrinks with the CPU count. */
static int cbs_per_cpu(void)
{
	int n = 2400 / (int)(ncpus * ncpus);

	return n < 30 ? 30 : n > 300 ? 300 : n;
}

static void cb_queuer(void *arg)
{
	for (int i = 0; i < cbs_per_cpu(); i++) {
		struct cb_obj *o = env_alloc(sizeof(*o));

		KT_CHECK(o != NULL, "env_alloc");
		if (!o)
			return;
		preempt_disable();	/* o->cpu must be the CPU call_rcu queues on */
		o->cpu = cpu_self();
		o->gp = rcu_gp_started();
		call_rcu(&o->rcu, cb_count);
		preempt_enable();
		if (i % 25 == 0)
			sched_sleep_ticks(1);	/* spread them over grace periods */
	}
}

/* Callbacks queued concurrently on every CPU all run, on the CPU that queued
 * them, after a grace period began, and rcu_barrier() waits for all. */
KTEST(rcu_callbacks_on_all_cpus)
{
	void *args[NCPU_MAX] = { 0 };
	uint64_t live0 = heap_live_objects();

	cb_ran = cb_wrong_cpu = cb_too_early = 0;
	ktest_on_each_cpu(cb_queuer, args);
	rcu_barrier();
	KT_CHECK(cb_ran == cbs_per_cpu() * (int)ncpus, "%d of %d callbacks ran", cb_ran,
		 cbs_per_cpu() * (int)ncpus);
	KT_CHECK(cb_wrong_cpu == 0, "%d callbacks ran on another CPU", cb_wrong_cpu);
	KT_CHECK(cb_too_early == 0, "%d callbacks ran before a grace period", cb_too_early);
	KT_CHECK(heap_live_objects() == live0, "heap objects %llu before, %llu after",
		 (unsigned long long)live0, (unsigned long long)heap_live_objects());
}
