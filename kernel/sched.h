/*
 * kernel/sched.h - kernel threads, per-CPU run queues, wait queues.
 *
 * Each CPU has a run queue of runnable threads (FIFO, round robin) and an
 * idle thread that halts. The tick preempts a thread that ran a full slice
 * while others wait; every SCHED_BALANCE_TICKS a CPU pulls a waiting thread
 * from the busiest CPU if that one has at least two more. Wakeups put a
 * thread back on the queue of the CPU it last ran on (and kick that CPU if
 * it idles); only the balancer migrates.
 *
 * Lock order: waitq lock -> rq lock; two rq locks in CPU-id order.
 * Legend: (R) under the lock of the rq the thread belongs to (t->cpu);
 * (C) constant after creation; (O) only the thread itself / its CPU.
 */
#ifndef KESTREL_KERNEL_SCHED_H
#define KESTREL_KERNEL_SCHED_H

#include "sync/env.h"
#include "sync/spinlock.h"

#define SCHED_HZ 100
#define SCHED_BALANCE_TICKS 4

enum thread_state { T_RUNNABLE, T_SLEEPING, T_DEAD };

struct thread {
	uint64_t rsp;			/* (R) saved stack pointer while off CPU */
	uint64_t stack_top;		/* (C) 0 for the boot CPU's idle thread */
	int state;			/* (A) written under the rq lock or by itself */
	int on_cpu;			/* (R) 1 from switch-in until switch-out completes */
	unsigned cpu;			/* (R) its run queue; changes with both rq locks */
	bool pinned;			/* (C) never migrated */
	struct thread *rq_next;		/* (R) run-queue link */
	const char *name;		/* (C) */
	uint64_t runtime_ns;		/* (O) time on CPU, updated at switch-out */
	uint64_t switched_in_ns;	/* (O) */
	uint64_t cpus_seen;		/* (O) bitmask of CPUs it ran on */
	unsigned slice;			/* (O) ticks in the current slice */
	struct uthread *user;		/* (O) user-mode state (kernel/proc.h),
					 * NULL for kernel threads */
};

struct waiter {
	struct thread *t;
	struct waiter *next;
	bool queued;			/* under the waitq lock */
};

struct waitq {
	struct spinlock lock;
	struct waiter *head;		/* (L) */
};

void sched_init(void);
void sched_cpu_start(void) __attribute__((noreturn));
struct thread *sched_idle_create(unsigned cpu);

/* thread_create: a new runnable kernel thread running fn(arg); cpu < 0 lets
 * the scheduler place it, otherwise it is pinned there. NULL on ENOMEM. */
struct thread *thread_create(const char *name, void (*fn)(void *), void *arg, int cpu);
/* thread_join: wait for t to exit, then free it. */
void thread_join(struct thread *t);
void thread_exit(void) __attribute__((noreturn));

static inline struct thread *thread_self(void)
{
	return env_thread_self();
}

void schedule(void);
void sched_yield(void);
void sched_preempt_irq(void);
void sched_tick(void);
/* sched_sleep_ticks: block for at least n timer ticks. */
void sched_sleep_ticks(uint64_t n);
/* sched_tick_prepare/finish: the halves of wait_event_ticks around its
 * check: queue w as a tick sleeper with deadline until (jiffies), leave. */
void sched_tick_prepare(struct waiter *w, uint64_t until);
void sched_tick_finish(struct waiter *w);
/* sched_tick_wake_all: every tick sleeper re-checks its condition now
 * (a signal or an exit may have made a wait_event_ticks one true). */
void sched_tick_wake_all(void);
extern volatile uint64_t jiffies;

void waitq_init(struct waitq *wq, const char *name);
void waitq_prepare(struct waitq *wq, struct waiter *w);
void waitq_finish(struct waitq *wq, struct waiter *w);
void waitq_wake_all(struct waitq *wq);
void waitq_wake_one(struct waitq *wq);

/* wait_event: sleep until cond is true; cond is re-checked after every
 * wakeup. Must be called with preemption enabled and no spinlock held. */
#define wait_event(wq, cond) do {					\
		struct waiter __w = { 0 };				\
		for (;;) {						\
			waitq_prepare((wq), &__w);			\
			if (cond)					\
				break;					\
			schedule();					\
		}							\
		waitq_finish((wq), &__w);				\
	} while (0)

/* wait_event_ticks: sleep until cond is true or n ticks passed, re-checking
 * cond after every wakeup (the tick at the deadline, sched_tick_wake_all);
 * whether cond held. Preemption enabled, no spinlock held. */
#define wait_event_ticks(cond, n) ({					\
		struct waiter __w = { 0 };				\
		uint64_t __until = jiffies + (n);			\
		bool __done;						\
		for (;;) {						\
			sched_tick_prepare(&__w, __until);		\
			if ((__done = (cond)) || jiffies >= __until)	\
				break;					\
			schedule();					\
		}							\
		sched_tick_finish(&__w);				\
		__done;							\
	})

#endif
