/*
 * kernel/futex.c - FUTEX_WAIT and FUTEX_WAKE for threads of one process.
 *
 * Waiters hash by (mm, uaddr) into FUTEX_BUCKETS buckets. Each bucket has a
 * mutex (not a spinlock: reading the futex word may fault and sleep) that
 * serialises "compare the word, then queue" against "dequeue and mark
 * woken", so a wake between a waiter's check and its sleep cannot be lost;
 * and a wait queue the sleepers block on until their own woken flag is set
 * (or the thread must leave: proc_exiting, or the timeout passed).
 *
 * Synchronization table
 *   wait || wake (same bucket)   bucket mutex; woken flag (A)
 *   waiter sleeping || wake      waitq: the waker sets woken, then wakes all
 */
#include "kernel/futex.h"
#include "kernel/sched.h"
#include "kernel/machine.h"
#include "kernel/syscall.h"
#include "kernel/signal.h"

#define FUTEX_WAIT	0
#define FUTEX_WAKE	1
#define FUTEX_PRIVATE	128
#define FUTEX_CLOCK_RT	256
#define FUTEX_BUCKETS	64
#define ETIMEDOUT_	110
#define EAGAIN_		11

struct futex_waiter {
	struct mm *mm;
	uint64_t uaddr;
	int woken;			/* (A) */
	struct futex_waiter *next;	/* (bucket mutex) */
};

struct futex_bucket {
	struct mutex lock;
	struct futex_waiter *head;	/* (lock) */
	struct waitq wq;
};

static struct futex_bucket buckets[FUTEX_BUCKETS];
static int futex_ready;		/* (A) 0 none, 1 initialising, 2 ready */

static struct futex_bucket *futex_bucket(struct mm *mm, uint64_t uaddr)
{
	uint64_t h = ((uint64_t)(uintptr_t)mm ^ uaddr) * 0x9e3779b97f4a7c15ull;

	if (ck_pr_load_int(&futex_ready) != 2) {
		if (ck_pr_cas_int(&futex_ready, 0, 1)) {
			for (unsigned i = 0; i < FUTEX_BUCKETS; i++) {
				mutex_init(&buckets[i].lock, "futex");
				waitq_init(&buckets[i].wq, "futex");
			}
			ck_pr_store_int(&futex_ready, 2);	/* release on x86 */
		}
		while (ck_pr_load_int(&futex_ready) != 2)
			sched_yield();
	}
	return &buckets[h >> 58];
}

/* futex_interrupted: a signal the thread neither blocks nor ignores is
 * pending. */
static bool futex_interrupted(void)
{
	return signal_interrupts(thread_self()->user);
}

/* futex_unqueue: remove w from b if still queued (bucket mutex held). */
static void futex_unqueue(struct futex_bucket *b, struct futex_waiter *w)
{
	for (struct futex_waiter **pp = &b->head; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			return;
		}
}

/* futex_wait: sleep while *uaddr == val until woken; 0, -EAGAIN (value
 * differs), -ETIMEDOUT, -EINTR (process exiting), -ERESTARTSYS (a signal
 * during an untimed wait: restarted unless a handler without SA_RESTART
 * runs), -ERESTART_RESTARTBLOCK (during a timed one: resumed with the same
 * deadline unless a handler runs; the caller saves it) or -EFAULT, as
 * Linux. */
static long futex_wait(struct proc *p, uint64_t uaddr, uint32_t val, uint64_t deadline_ns)
{
	struct futex_bucket *b = futex_bucket(p->mm, uaddr);
	struct futex_waiter w = { p->mm, uaddr, 0, NULL };
	uint32_t cur;
	long r = 0;

	if (uaddr & 3)
		return -EINVAL;
	mutex_lock(&b->lock);
	if (copy_from_user(&cur, uaddr, 4)) {
		mutex_unlock(&b->lock);
		return -EFAULT;
	}
	if (cur != val) {
		mutex_unlock(&b->lock);
		return -EAGAIN_;
	}
	w.next = b->head;
	b->head = &w;
	mutex_unlock(&b->lock);
	if (deadline_ns == UINT64_MAX) {
		wait_event(&b->wq, ck_pr_load_int(&w.woken) || proc_exiting(p) ||
				   futex_interrupted());
	} else {
		while (!ck_pr_load_int(&w.woken) && !proc_exiting(p) &&
		       !futex_interrupted() && time_ns() < deadline_ns)
			sched_sleep_ticks(1);
	}
	mutex_lock(&b->lock);
	if (!ck_pr_load_int(&w.woken)) {
		futex_unqueue(b, &w);
		/* Decide from what cannot be undone: the signal that ended
		 * the wait may already have been taken by a sibling (shared
		 * pending set), so asking again could turn it into a timeout.
		 * An untimed wait restarts; a restart with no handler run is
		 * transparent, as Linux. */
		r = proc_exiting(p) ? -EINTR : deadline_ns == UINT64_MAX ? -ERESTARTSYS :
		    time_ns() >= deadline_ns ? -ETIMEDOUT_ : -ERESTART_RESTARTBLOCK;
	}
	mutex_unlock(&b->lock);
	return r;
}

int futex_wake(struct mm *mm, uint64_t uaddr, int n)
{
	struct futex_bucket *b = futex_bucket(mm, uaddr);
	int woke = 0;

	mutex_lock(&b->lock);
	for (struct futex_waiter **pp = &b->head; *pp && woke < n;) {
		struct futex_waiter *w = *pp;

		if (w->mm == mm && w->uaddr == uaddr) {
			*pp = w->next;
			ck_pr_store_int(&w->woken, 1);
			woke++;
		} else {
			pp = &w->next;
		}
	}
	mutex_unlock(&b->lock);
	if (woke)
		waitq_wake_all(&b->wq);
	return woke;
}

void futex_wake_all(struct mm *mm)
{
	for (unsigned i = 0; i < FUTEX_BUCKETS; i++)
		if (ck_pr_load_int(&futex_ready) == 2)
			waitq_wake_all(&buckets[i].wq);
}

long sys_futex(uint64_t uaddr, uint64_t op, uint64_t val, uint64_t utimeout, uint64_t uaddr2,
	       uint64_t val3)
{
	struct proc *p = proc_self();
	uint64_t deadline = UINT64_MAX;
	int64_t ts[2];
	long r;

	switch (op & ~(uint64_t)(FUTEX_PRIVATE | FUTEX_CLOCK_RT)) {
	case FUTEX_WAIT:
		if (utimeout) {
			if (copy_from_user(ts, utimeout, sizeof(ts)))
				return -EFAULT;
			if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000)
				return -EINVAL;
			deadline = restart_take_end(thread_self()->user, time_ns() +
						    (uint64_t)ts[0] * 1000000000 + (uint64_t)ts[1]);
		}
		r = futex_wait(p, uaddr, (uint32_t)val, deadline);
		if (r == -ERESTART_RESTARTBLOCK)
			thread_self()->user->restart_end = deadline;
		return r;
	case FUTEX_WAKE:
		return futex_wake(p->mm, uaddr, (int)(val > INT32_MAX ? INT32_MAX : val));
	default:
		return -ENOSYS;
	}
}
