/*
 * sync/host/lock.c - sleeping locks on pthreads: set-up, tear-down and the
 * rwsem's contended paths (design: sync/host/lock_backend.h).
 *
 * Why no waiter is overtaken. A waiter sets RWSEM_WAITERS with a CAS that
 * also checks the word it could not take, so whoever holds r at that moment
 * sees the bit when releasing (up_write's CAS fails; the last up_read reads
 * it back from its atomic add) and calls rwsem_wake(). From then on no fast
 * path or trylock succeeds: the word changes only by the holders' releases
 * and by rwsem_wake's grants, under wait_lock, to the head of the queue.
 * New arrivals queue at the tail. So a queued waiter is passed only by
 * holders granted before it, and every grant goes to the oldest waiters.
 *
 * Why no wakeup is lost. The queue and RWSEM_WAITERS change together under
 * wait_lock. A release that leaves no holder and sees RWSEM_WAITERS leaves a
 * word nobody can take (RWSEM_WAITERS, or RWSEM_WRITER | RWSEM_WAITERS for
 * up_write) until its rwsem_wake() writes the grant; only one release can
 * produce that state, so exactly one rwsem_wake() runs per handoff.
 * A waiter sleeps on a futex on its own `granted` word (waking needs no
 * lock, so a granted waiter runs after one wakeup, not two as with a
 * condition variable whose mutex the waker still holds). The waker reads
 * w->next before setting granted, since w may return and free its stack
 * right after; the futex wake that follows only uses the address, and a
 * wake on a reused address is a spurious wakeup, which every futex user
 * must tolerate (ours re-checks its word; glibc's do the same).
 */
#include "../lock.h"
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

struct rwsem_waiter {
	struct rwsem_waiter *next;	/* (Q) */
	int granted;			/* (A) set once, by rwsem_wake */
	bool write;			/* (C) */
};

/* futex_wait/futex_wake: the raw private futex; waits may return early. */
static void futex_wait(int *addr, int val)
{
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(int *addr)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

void mutex_init(struct mutex *m, const char *name)
{
	pthread_mutex_init(&m->m, NULL);
	m->owner = NULL;
	m->name = name;
}

void mutex_destroy(struct mutex *m)
{
	KASSERT(m->owner == NULL, "mutex_destroy: %s still held", m->name);
	pthread_mutex_destroy(&m->m);
}

void rwsem_init(struct rwsem *r, const char *name)
{
	r->word = 0;
	r->writer = NULL;
	pthread_mutex_init(&r->wait_lock, NULL);
	r->head = r->tail = NULL;
	r->name = name;
}

void rwsem_destroy(struct rwsem *r)
{
	KASSERT(r->writer == NULL && r->word == 0, "rwsem_destroy: %s still held", r->name);
	KASSERT(r->head == NULL, "rwsem_destroy: %s has waiters", r->name);
	pthread_mutex_destroy(&r->wait_lock);
}

/* rwsem_enqueue: append w to r's queue. Caller holds wait_lock and has set
 * (or found) RWSEM_WAITERS. */
static void rwsem_enqueue(struct rwsem *r, struct rwsem_waiter *w)
{
	w->next = NULL;
	if (r->tail)
		r->tail->next = w;
	else
		r->head = w;
	r->tail = w;
}

/* rwsem_take_or_queue: with wait_lock held, take r for w if nobody waits and
 * the holders allow it (true), or queue w and set RWSEM_WAITERS (false). */
static bool rwsem_take_or_queue(struct rwsem *r, struct rwsem_waiter *w)
{
	unsigned int c = ck_pr_load_uint(&r->word);

	for (;;) {
		if (c & RWSEM_WAITERS)
			break;		/* others queued first: behind them */
		if (w->write ? c == 0 : !(c & RWSEM_WRITER)) {
			unsigned int take = w->write ? RWSEM_WRITER : c + RWSEM_READER;

			if (ck_pr_cas_uint_value(&r->word, c, take, &c))
				return true;	/* ck: CAS is a full barrier (acquire) */
			continue;
		}
		/* ck: CAS orders the bit against the holder's release (see top) */
		if (ck_pr_cas_uint_value(&r->word, c, c | RWSEM_WAITERS, &c))
			break;
	}
	rwsem_enqueue(r, w);
	return false;
}

/* rwsem_down_slow: take r as w describes, sleeping in the queue if needed;
 * returns owning r (as granted by rwsem_wake, or taken directly). */
static void rwsem_down_slow(struct rwsem *r, bool write)
{
	struct rwsem_waiter w = { .granted = 0, .write = write };
	bool taken;

	DEBUG_YIELD();
	pthread_mutex_lock(&r->wait_lock);
	taken = rwsem_take_or_queue(r, &w);
	pthread_mutex_unlock(&r->wait_lock);
	if (taken)
		return;
	while (!ck_pr_load_int(&w.granted))
		futex_wait(&w.granted, 0);
	ck_pr_fence_acquire();	/* the grant (and the releaser's section) before ours */
}

/* rwsem_down_read_slow: down_read's path when a writer holds r or someone
 * waits. Returns with r held for reading. */
void rwsem_down_read_slow(struct rwsem *r)
{
	rwsem_down_slow(r, false);
}

/* rwsem_down_write_slow: down_write's path when r is held or someone waits.
 * Returns with r held for writing (the caller records itself as writer). */
void rwsem_down_write_slow(struct rwsem *r)
{
	rwsem_down_slow(r, true);
}

/* rwsem_grant: dequeue the head of the queue (one writer, or the readers up
 * to the first writer) into a list at *first; returns the word that makes
 * them the holders. Caller holds wait_lock; the queue is not empty. */
static unsigned int rwsem_grant(struct rwsem *r, struct rwsem_waiter **first)
{
	struct rwsem_waiter *w = r->head, *last = NULL;
	unsigned int word = 0;

	*first = w;
	if (w->write) {
		word = RWSEM_WRITER;
		last = w;
		w = w->next;
	} else {
		for (; w && !w->write; w = w->next) {
			word += RWSEM_READER;
			last = w;
		}
	}
	last->next = NULL;	/* *first .. last is the granted list */
	r->head = w;
	if (!w)
		r->tail = NULL;
	return word | (w ? RWSEM_WAITERS : 0);
}

/* rwsem_wake: the caller's release left no holder but RWSEM_WAITERS set
 * (the last up_read), or is up_write with RWSEM_WAITERS set: hand r to the
 * oldest waiters and wake them. Nobody else can take r meanwhile. */
void rwsem_wake(struct rwsem *r)
{
	struct rwsem_waiter *w, *next;
	unsigned int c;

	DEBUG_YIELD();
	pthread_mutex_lock(&r->wait_lock);
	c = ck_pr_load_uint(&r->word);
	KASSERT(c == RWSEM_WAITERS || c == (RWSEM_WRITER | RWSEM_WAITERS),
		"rwsem_wake: %s in state %#x", r->name, c);
	KASSERT(r->head != NULL, "rwsem_wake: %s flagged but no waiter", r->name);
	c = rwsem_grant(r, &w);
	ck_pr_fence_release();	/* the releaser's section before the new holders' */
	ck_pr_store_uint(&r->word, c);
	ck_pr_fence_store();	/* the word before any grant: new holders release on it */
	for (; w; w = next) {
		next = w->next;	/* w may leave once granted is set */
		ck_pr_store_int(&w->granted, 1);
		futex_wake(&w->granted);
	}
	pthread_mutex_unlock(&r->wait_lock);
}
