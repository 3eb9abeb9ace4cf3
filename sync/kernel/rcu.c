/*
 * sync/kernel/rcu.c - quiescent-state-based RCU for the kernel.
 *
 * Protocol. rcu_gp is a global grace-period number. A writer starts grace
 * period g with g = ++rcu_gp (an atomic add, a full barrier on x86). Each CPU
 * publishes in qs_seq the value of rcu_gp it last read at a quiescent state.
 * Grace period g is over once every online CPU has qs_seq >= g.
 *
 * Why that is enough: the writer unpublishes an object, then increments
 * rcu_gp. A CPU that stores qs_seq >= g read rcu_gp after that increment, at
 * a point where it was outside every read-side section. Sections that ended
 * before that point are finished (program order, and the fence below keeps
 * their loads before the qs_seq store); sections that begin after it load
 * after the CPU saw the increment, hence after the unpublish, so they cannot
 * find the object. So once all CPUs report, no reader can hold it.
 *
 * Forcing: a CPU that stays in read-side sections back to back may never be
 * ticked outside one. When the tick finds a grace period waiting on its CPU
 * inside a section, it sets need_resched; the section's closing
 * preempt_enable() then enters schedule(), which reports the QS.
 *
 * Callbacks: per CPU, call_rcu appends to `pend`. The tick moves `pend` to
 * `wait` by starting a new grace period (wait_gp); when that completes the
 * batch moves to `done` and the CPU's "rcu/N" thread runs it. Order per CPU
 * is preserved (rcu_barrier relies on it).
 *
 * Synchronization table
 *   rcu_read_lock || anything     yes (readers touch only their CPU's count)
 *   call_rcu || tick || kthread   the CPU's rcu_cpu lock (IRQ-saving); remote
 *                                 enqueue (rcu_barrier) takes the same lock
 *   synchronize_rcu || *          yes; writers never block each other
 * Fields: rcu_gp (A); qs_seq (A) written by its CPU only; lists (L).
 */
#include "sync/rcu.h"
#include "kernel/sched.h"
#include "kernel/percpu.h"
#include "spinlock_irq.h"
#include "kernel/printk.h"

struct rcu_cpu {
	uint64_t qs_seq;		/* (A) last rcu_gp seen at a QS */
	struct spinlock lock;
	struct rcu_head *pend, **pend_tail;	/* (L) waiting for a GP to start */
	struct rcu_head *wait, **wait_tail;	/* (L) waiting for wait_gp */
	uint64_t wait_gp;			/* (L) */
	struct rcu_head *done, **done_tail;	/* (L) ready to run */
	struct waitq wq;			/* the rcu/N thread sleeps here */
	uint64_t invoked;			/* (O) callbacks run */
} __cacheline_aligned;

static uint64_t rcu_gp = 1;
static struct rcu_cpu rcu_cpus[NCPU_MAX];
static char rcu_names[NCPU_MAX][8];
/* Barrier waiters sleep on one static queue: the last callback must not
 * touch the state after its decrement, since the waiter may see zero,
 * return and free it before the callback gets to a wakeup. */
static struct waitq rcu_barrier_wq;

void rcu_cpu_init(unsigned cpu)
{
	struct rcu_cpu *rc = &rcu_cpus[cpu];

	spin_init(&rc->lock, "rcu_cpu");
	rc->pend_tail = &rc->pend;
	rc->wait_tail = &rc->wait;
	rc->done_tail = &rc->done;
	waitq_init(&rc->wq, "rcu_wq");
	rc->qs_seq = ck_pr_load_64(&rcu_gp);
}

void rcu_note_qs(void)
{
	struct rcu_cpu *rc = &rcu_cpus[cpu_self()];
	uint64_t g = ck_pr_load_64(&rcu_gp);

	if (ck_pr_load_64(&rc->qs_seq) == g)
		return;
	ck_pr_fence_memory();	/* earlier sections' loads before the report */
	ck_pr_store_64(&rc->qs_seq, g);
}

/* rcu_gp_done: has every online CPU reported a QS for grace period g? */
static bool rcu_gp_done(uint64_t g)
{
	for (unsigned c = 0; c < ncpus; c++)
		if (ck_pr_load_int(&cpus[c].online) && ck_pr_load_64(&rcu_cpus[c].qs_seq) < g)
			return false;
	return true;
}

uint64_t rcu_gp_started(void)
{
	return ck_pr_load_64(&rcu_gp);
}

static void rcu_splice(struct rcu_head **dst_tail_ref, struct rcu_head ***dst_tail,
		       struct rcu_head **src, struct rcu_head ***src_tail)
{
	*dst_tail_ref = *src;
	*dst_tail = *src_tail;
	*src = NULL;
	*src_tail = src;
}

/* rcu_tick: advance this CPU's callback batches (IRQs off). */
void rcu_tick(void)
{
	struct rcu_cpu *rc = &rcu_cpus[cpu_self()];
	bool wake = false;

	if (preempt_count() == 0)
		rcu_note_qs();		/* the interrupted code held no section */
	else if (ck_pr_load_64(&rc->qs_seq) < ck_pr_load_64(&rcu_gp))
		/* A grace period waits on us and we are in a section: have the
		 * closing preempt_enable() call schedule(), a quiescent state. */
		ck_pr_store_int(&this_cpu()->hot.need_resched, 1);
	spin_lock(&rc->lock);
	if (rc->wait && rcu_gp_done(rc->wait_gp)) {
		rcu_splice(rc->done_tail, &rc->done_tail, &rc->wait, &rc->wait_tail);
		wake = true;
	}
	if (!rc->wait && rc->pend) {
		rcu_splice(&rc->wait, &rc->wait_tail, &rc->pend, &rc->pend_tail);
		rc->wait_gp = ck_pr_faa_64(&rcu_gp, 1) + 1;
	}
	spin_unlock(&rc->lock);
	if (wake)
		waitq_wake_all(&rc->wq);
}

static void rcu_enqueue(struct rcu_cpu *rc, struct rcu_head *head)
{
	uint64_t f = spin_lock_irqsave(&rc->lock);

	head->next = NULL;
	*rc->pend_tail = head;
	rc->pend_tail = &head->next;
	spin_unlock_irqrestore(&rc->lock, f);
}

void call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head))
{
	head->func = func;
	preempt_disable();
	rcu_enqueue(&rcu_cpus[cpu_self()], head);
	preempt_enable();
}

/* rcu_thread: runs the CPU's ready callbacks, in order, preemptible. */
static void rcu_thread(void *arg)
{
	struct rcu_cpu *rc = arg;

	for (;;) {
		struct rcu_head *list;
		uint64_t f;

		wait_event(&rc->wq, ck_pr_load_ptr(&rc->done) != NULL);
		f = spin_lock_irqsave(&rc->lock);
		list = rc->done;
		rc->done = NULL;
		rc->done_tail = &rc->done;
		spin_unlock_irqrestore(&rc->lock, f);
		while (list) {
			struct rcu_head *next = list->next;

			list->func(list);
			rc->invoked++;
			list = next;
		}
	}
}

void rcu_start_threads(void)
{
	waitq_init(&rcu_barrier_wq, "rcu_barrier");
	for (unsigned c = 0; c < ncpus; c++) {
		snprintf(rcu_names[c], sizeof(rcu_names[c]), "rcu/%u", c);
		if (!thread_create(rcu_names[c], rcu_thread, &rcu_cpus[c], (int)c))
			panic("rcu_start_threads: cannot create %s", rcu_names[c]);
	}
}

/* synchronize_rcu: start a grace period and sleep until it completes. */
void synchronize_rcu(void)
{
	uint64_t g;

	KASSERT(preempt_count() == 0, "synchronize_rcu: called with preemption disabled");
	g = ck_pr_faa_64(&rcu_gp, 1) + 1;
	preempt_disable();
	rcu_note_qs();		/* the caller itself is outside any section */
	preempt_enable();
	while (!rcu_gp_done(g))
		sched_sleep_ticks(1);
}

struct rcu_barrier_node {
	struct rcu_head head;
	struct rcu_barrier_state *s;
};

struct rcu_barrier_state {
	struct rcu_barrier_node nodes[NCPU_MAX];
	int pending;		/* (A) CPUs whose barrier callback has not run */
};


static void rcu_barrier_cb(struct rcu_head *h)
{
	struct rcu_barrier_state *s = container_of(h, struct rcu_barrier_node, head)->s;

	if (ck_pr_faa_int(&s->pending, -1) == 1)	/* s is dead after this */
		waitq_wake_all(&rcu_barrier_wq);
}

/* rcu_barrier: wait until every callback queued (on any CPU) before the call
 * has run: queue one more callback behind them on every online CPU. */
void rcu_barrier(void)
{
	struct rcu_barrier_state *s = env_alloc(sizeof(*s));

	if (!s)
		panic("rcu_barrier: out of memory");
	s->pending = (int)cpus_online();
	for (unsigned c = 0; c < ncpus; c++)
		if (ck_pr_load_int(&cpus[c].online)) {
			s->nodes[c].s = s;
			s->nodes[c].head.func = rcu_barrier_cb;
			rcu_enqueue(&rcu_cpus[c], &s->nodes[c].head);
		}
	wait_event(&rcu_barrier_wq, ck_pr_load_int(&s->pending) == 0);
	env_free(s, sizeof(*s));
}
