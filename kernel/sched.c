/*
 * kernel/sched.c - run queues, the context switch path, preemption, idle.
 *
 * Switch protocol: schedule() takes this CPU's rq lock with IRQs off and
 * preemption disabled, picks the next thread and calls switch_to(). The lock
 * is released by whichever thread runs next on this CPU (sched_finish), after
 * the previous thread's registers are saved, so a thread's on_cpu flag can
 * only be cleared once nothing uses its stack. Wakers and the balancer touch
 * a thread only under its rq lock and never move a thread with on_cpu set.
 *
 * Synchronization table
 *   schedule || thread_wake(t)        rq lock of t->cpu
 *   schedule || balance (pull)        both rq locks, ascending CPU id
 *   tick (IRQ) || anything on its CPU IRQs off around every rq lock
 */
#include "kernel/sched.h"
#include "kernel/percpu.h"
#include "kernel/kstack.h"
#include "spinlock_irq.h"
#include "kernel/machine.h"
#include "sync/rcu.h"
#include "arch/x86.h"
#include "arch/apic.h"

struct rq {
	struct spinlock lock;
	struct thread *head, *tail;	/* (L) runnable threads, not running */
	unsigned nr_queued;		/* (L) */
	struct thread *curr;		/* (L) */
	struct thread *prev;		/* (L) the thread being switched out */
} __cacheline_aligned;

static struct rq rqs[NCPU_MAX];
static struct thread boot_idle;
volatile uint64_t jiffies;
static struct waitq tick_wq;
static uint64_t tick_deadline = ~0ull;	/* (A) earliest jiffies a sleeper waits for */
static struct waitq exit_wq;

void switch_to(uint64_t *prev_rsp, uint64_t next_rsp);
void user_switch_to(struct thread *prev, struct thread *next);	/* arch/x86_64/user.c */
void thread_start(void);

static struct rq *this_rq(void)
{
	return &rqs[cpu_self()];
}

/* rq_load: runnable threads charged to this rq (queued + running non-idle). */
static unsigned rq_load(const struct rq *rq, unsigned cpu)
{
	const struct thread *c = ck_pr_load_ptr(&rq->curr);

	return ck_pr_load_uint(&rq->nr_queued) + (c && c != cpus[cpu].idle);
}

static void rq_enqueue(struct rq *rq, struct thread *t)
{
	t->rq_next = NULL;
	if (rq->tail)
		rq->tail->rq_next = t;
	else
		rq->head = t;
	rq->tail = t;
	ck_pr_store_uint(&rq->nr_queued, rq->nr_queued + 1);
}

static struct thread *rq_dequeue(struct rq *rq)
{
	struct thread *t = rq->head;

	if (!t)
		return NULL;
	rq->head = t->rq_next;
	if (!rq->head)
		rq->tail = NULL;
	ck_pr_store_uint(&rq->nr_queued, rq->nr_queued - 1);
	return t;
}

/* rq_steal: remove the last unpinned queued thread. Lock held. */
static struct thread *rq_steal(struct rq *rq)
{
	struct thread *prev = NULL, *victim = NULL, *vprev = NULL;

	for (struct thread *t = rq->head; t; prev = t, t = t->rq_next)
		if (!t->pinned)
			victim = t, vprev = prev;
	if (!victim)
		return NULL;
	if (vprev)
		vprev->rq_next = victim->rq_next;
	else
		rq->head = victim->rq_next;
	if (rq->tail == victim)
		rq->tail = vprev;
	ck_pr_store_uint(&rq->nr_queued, rq->nr_queued - 1);
	return victim;
}

/* sched_kick: make cpu notice new work if it is idling. */
static void sched_kick(unsigned cpu)
{
	if (ck_pr_load_ptr(&rqs[cpu].curr) != cpus[cpu].idle)
		return;
	if (cpu == cpu_self()) {
		ck_pr_store_int(&cpus[cpu].hot.need_resched, 1);	/* acted on at IRQ exit */
	} else {
		ck_pr_store_int(&cpus[cpu].hot.need_resched, 1);
		ck_pr_inc_64(&this_cpu()->ipi_sent);
		lapic_send_ipi(cpus[cpu].apic_id, VEC_RESCHED);
	}
}

/* sched_finish: second half of a switch, run by the thread switched in. */
static void sched_finish(void)
{
	struct rq *rq = this_rq();
	struct thread *prev = rq->prev;
	bool dead = prev->state == T_DEAD;

	ck_pr_store_int(&prev->on_cpu, 0);
	spin_unlock(&rq->lock);
	if (dead)
		waitq_wake_all(&exit_wq);
}

static void sched_account(struct thread *prev, struct thread *next, unsigned cpu)
{
	uint64_t now = time_ns();

	prev->runtime_ns += now - prev->switched_in_ns;
	next->switched_in_ns = now;
	next->cpus_seen |= 1ull << cpu;
	next->slice = 0;
}

/* __schedule: give the CPU to the next runnable thread (or keep running if
 * none). Callable with IRQs on or off; preemption must be enabled. A
 * preemption (preempt = true) never puts a thread to sleep: one caught
 * between waitq_prepare and schedule stays runnable and re-checks its
 * condition when it runs again. */
static void __schedule(bool preempt)
{
	uint64_t f = irq_save();
	struct rq *rq;
	struct thread *prev, *next;

	KASSERT(preempt_count() == 0, "schedule: preempt_count %d in %s", preempt_count(),
		thread_self()->name);
	preempt_disable();
	rcu_note_qs();		/* a context switch point is a quiescent state */
	rq = this_rq();
	spin_lock(&rq->lock);
	ck_pr_store_int(&this_cpu()->hot.need_resched, 0);
	prev = rq->curr;
	if (preempt && prev->state == T_SLEEPING)
		ck_pr_store_int(&prev->state, T_RUNNABLE);
	if (prev->state == T_RUNNABLE && prev != this_cpu()->idle)
		rq_enqueue(rq, prev);
	next = rq_dequeue(rq);
	if (!next)
		next = prev->state == T_RUNNABLE ? prev : this_cpu()->idle;
	if (next != prev) {
		sched_account(prev, next, cpu_self());
		next->on_cpu = 1;
		rq->curr = next;
		rq->prev = prev;
		this_cpu()->hot.current = next;
		if (prev->user || next->user)
			user_switch_to(prev, next);	/* address space, RSP0, FS, FPU */
		switch_to(&prev->rsp, next->rsp);
		sched_finish();		/* we are back, maybe on another CPU */
	} else {
		spin_unlock(&rq->lock);
	}
	preempt_enable_no_resched();
	irq_restore(f);
}

void schedule(void)
{
	__schedule(false);
}

void sched_yield(void)
{
	__schedule(false);
}

/* preempt_resched: preempt_enable() found need_resched set. */
void preempt_resched(void)
{
	if (irqs_enabled())
		__schedule(true);
}

void sched_preempt_irq(void)
{
	__schedule(true);
}

/* thread_boot: first C code of every new thread (from thread_start). */
void thread_boot(void (*fn)(void *), void *arg)
{
	sched_finish();
	preempt_enable_no_resched();
	irq_enable();
	fn(arg);
	thread_exit();
}

/* thread_wake: make a sleeping thread runnable on the CPU it last ran on. */
void thread_wake(struct thread *t)
{
	for (;;) {
		unsigned cpu = ck_pr_load_uint(&t->cpu);
		struct rq *rq = &rqs[cpu];
		uint64_t f = spin_lock_irqsave(&rq->lock);

		if (t->cpu != cpu) {	/* migrated meanwhile: retry */
			spin_unlock_irqrestore(&rq->lock, f);
			continue;
		}
		if (t->state == T_SLEEPING) {
			ck_pr_store_int(&t->state, T_RUNNABLE);
			if (!t->on_cpu)
				rq_enqueue(rq, t);
		}
		spin_unlock_irqrestore(&rq->lock, f);
		sched_kick(cpu);
		return;
	}
}

/* sched_pull: move one thread from the busiest CPU to this one when that
 * CPU has at least two more runnable threads. IRQs off. */
static void sched_pull(void)
{
	unsigned me = cpu_self(), busiest = me, best = rq_load(&rqs[me], me) + 1;
	struct rq *a, *b;
	struct thread *t;

	for (unsigned c = 0; c < ncpus; c++)
		if (c != me && ck_pr_load_int(&cpus[c].online) && rq_load(&rqs[c], c) > best)
			busiest = c, best = rq_load(&rqs[c], c);
	if (busiest == me)
		return;
	a = &rqs[me < busiest ? me : busiest];
	b = &rqs[me < busiest ? busiest : me];
	spin_lock(&a->lock);
	spin_lock(&b->lock);
	t = rq_load(&rqs[busiest], busiest) > rq_load(&rqs[me], me) + 1 ? rq_steal(&rqs[busiest]) : NULL;
	if (t) {
		t->cpu = me;
		rq_enqueue(&rqs[me], t);
	}
	spin_unlock(&b->lock);
	spin_unlock(&a->lock);
}

/* sched_tick: timer interrupt work on every CPU (IRQs off). */
void sched_tick(void)
{
	struct cpu *c = this_cpu();
	struct thread *cur = thread_self();

	c->ticks++;
	if (cpu_self() == 0) {
		jiffies++;
		if (jiffies >= ck_pr_load_64(&tick_deadline)) {
			ck_pr_store_64(&tick_deadline, ~0ull);	/* sleepers re-register */
			waitq_wake_all(&tick_wq);
		}
	}
	if (c->ticks % SCHED_BALANCE_TICKS == 0)
		sched_pull();
	if (cur == c->idle ? ck_pr_load_uint(&this_rq()->nr_queued) > 0
			   : (++cur->slice >= 2 && ck_pr_load_uint(&this_rq()->nr_queued) > 0))
		ck_pr_store_int(&c->hot.need_resched, 1);
}

/* sched_tick_prepare: see kernel/sched.h. The tick wakes all sleepers once
 * the earliest deadline passes; each re-registers its own deadline after
 * queueing itself, so none is missed. */
void sched_tick_prepare(struct waiter *w, uint64_t until)
{
	uint64_t d;

	waitq_prepare(&tick_wq, w);
	/* Read after queueing (the waitq lock orders it after any tick
	 * that reset the deadline before waking the queue): a deadline read
	 * earlier could be one that tick consumed, and ours would never be
	 * registered. */
	d = ck_pr_load_64(&tick_deadline);
	while (until < d && !ck_pr_cas_64_value(&tick_deadline, d, until, &d))
		;
}

void sched_tick_finish(struct waiter *w)
{
	waitq_finish(&tick_wq, w);
}

void sched_tick_wake_all(void)
{
	waitq_wake_all(&tick_wq);
}

void sched_sleep_ticks(uint64_t n)
{
	(void)wait_event_ticks(false, n);
}

/* sched_enqueue_new: first enqueue of a created thread on cpu. */
static void sched_enqueue_new(struct thread *t, unsigned cpu)
{
	uint64_t f = spin_lock_irqsave(&rqs[cpu].lock);

	t->cpu = cpu;
	rq_enqueue(&rqs[cpu], t);
	spin_unlock_irqrestore(&rqs[cpu].lock, f);
	sched_kick(cpu);
}

/* sched_pick_cpu: the online CPU with the lightest load. */
static unsigned sched_pick_cpu(void)
{
	unsigned best = cpu_self(), load = rq_load(&rqs[best], best);

	for (unsigned c = 0; c < ncpus; c++)
		if (ck_pr_load_int(&cpus[c].online) && rq_load(&rqs[c], c) < load)
			best = c, load = rq_load(&rqs[c], c);
	return best;
}

struct thread *thread_create(const char *name, void (*fn)(void *), void *arg, int cpu)
{
	struct thread *t = env_alloc(sizeof(*t));
	uint64_t *sp;

	if (!t)
		return NULL;
	memset(t, 0, sizeof(*t));
	t->stack_top = kstack_alloc();
	if (!t->stack_top) {
		env_free(t, sizeof(*t));
		return NULL;
	}
	t->name = name;
	t->pinned = cpu >= 0;
	t->state = T_RUNNABLE;
	sp = (uint64_t *)t->stack_top;
	*--sp = 0;			/* keeps the ABI's 16-byte alignment */
	*--sp = (uint64_t)thread_start;	/* switch_to's return address */
	*--sp = 0;			/* rbp */
	*--sp = 0;			/* rbx */
	*--sp = (uint64_t)fn;		/* r12 */
	*--sp = (uint64_t)arg;		/* r13 */
	*--sp = 0;			/* r14 */
	*--sp = 0;			/* r15 */
	t->rsp = (uint64_t)sp;
	sched_enqueue_new(t, cpu >= 0 ? (unsigned)cpu : sched_pick_cpu());
	return t;
}

void thread_exit(void)
{
	irq_disable();
	ck_pr_store_int(&thread_self()->state, T_DEAD);
	schedule();
	panic("thread_exit: dead thread %s scheduled", thread_self()->name);
}

void thread_join(struct thread *t)
{
	wait_event(&exit_wq, ck_pr_load_int(&t->state) == T_DEAD && !ck_pr_load_int(&t->on_cpu));
	kstack_free(t->stack_top);
	env_free(t, sizeof(*t));
}

/* sched_idle_create: the idle thread of cpu (its stack is where the AP
 * starts); the boot CPU's idle thread is the boot context itself. */
struct thread *sched_idle_create(unsigned cpu)
{
	struct thread *t = cpu ? env_alloc(sizeof(*t)) : &boot_idle;

	if (!t)
		panic("sched_idle_create: out of memory");
	memset(t, 0, sizeof(*t));
	t->stack_top = cpu ? kstack_alloc() : 0;
	if (cpu && !t->stack_top)
		panic("sched_idle_create: no stack for cpu %u", cpu);
	t->name = "idle";
	t->pinned = true;
	t->cpu = cpu;
	t->on_cpu = 1;
	t->state = T_RUNNABLE;
	cpus[cpu].idle = t;
	rqs[cpu].curr = t;
	cpus[cpu].hot.current = t;
	return t;
}

void sched_init(void)
{
	for (unsigned c = 0; c < NCPU_MAX; c++)
		spin_init(&rqs[c].lock, "rq");
	waitq_init(&tick_wq, "tick_wq");
	waitq_init(&exit_wq, "exit_wq");
	sched_idle_create(0);
}

/* sched_cpu_start: this CPU's idle loop, entered with IRQs off once the CPU
 * is set up. Halts with "sti; hlt" so a wakeup IPI cannot slip in between
 * the run-queue check and the halt. */
void sched_cpu_start(void)
{
	struct rq *rq = this_rq();

	ck_pr_store_int(&this_cpu()->online, 1);
	for (;;) {
		irq_disable();
		rcu_note_qs();		/* idle is a quiescent state */
		if (!ck_pr_load_uint(&rq->nr_queued))
			sched_pull();
		if (ck_pr_load_uint(&rq->nr_queued)) {
			irq_enable();
			schedule();
			continue;
		}
		__asm__ volatile("sti; hlt" : : : "memory");
	}
}
