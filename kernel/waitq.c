/*
 * kernel/waitq.c - wait queues: sleep until a condition holds.
 *
 * A sleeper queues itself and marks itself T_SLEEPING under the waitq lock,
 * then re-checks its condition and only then calls schedule(). A waker sets
 * the condition before taking the lock, so either the sleeper's re-check sees
 * it or the waker finds the sleeper queued (no lost wakeups). schedule() does
 * not switch out a thread that was woken in between (state is RUNNABLE).
 *
 * Synchronization: the list and waiter->queued under wq->lock (IRQ-saving:
 * the tick wakes tick_wq).
 */
#include "kernel/sched.h"
#include "spinlock_irq.h"

void thread_wake(struct thread *t);

void waitq_init(struct waitq *wq, const char *name)
{
	spin_init(&wq->lock, name);
	wq->head = NULL;
}

void waitq_prepare(struct waitq *wq, struct waiter *w)
{
	uint64_t f = spin_lock_irqsave(&wq->lock);

	if (!w->queued) {
		w->t = thread_self();
		w->next = wq->head;
		wq->head = w;
		w->queued = true;
	}
	ck_pr_store_int(&w->t->state, T_SLEEPING);
	spin_unlock_irqrestore(&wq->lock, f);
}

/* waitq_finish: leave the queue (if a waker did not already take us off). */
void waitq_finish(struct waitq *wq, struct waiter *w)
{
	uint64_t f = spin_lock_irqsave(&wq->lock);

	ck_pr_store_int(&thread_self()->state, T_RUNNABLE);
	if (w->queued) {
		struct waiter **pp = &wq->head;

		while (*pp != w)
			pp = &(*pp)->next;
		*pp = w->next;
		w->queued = false;
	}
	spin_unlock_irqrestore(&wq->lock, f);
}

static void waitq_wake(struct waitq *wq, bool all)
{
	uint64_t f = spin_lock_irqsave(&wq->lock);

	while (wq->head) {
		struct waiter *w = wq->head;

		wq->head = w->next;
		w->queued = false;
		thread_wake(w->t);
		if (!all)
			break;
	}
	spin_unlock_irqrestore(&wq->lock, f);
}

void waitq_wake_all(struct waitq *wq)
{
	waitq_wake(wq, true);
}

void waitq_wake_one(struct waitq *wq)
{
	waitq_wake(wq, false);
}
