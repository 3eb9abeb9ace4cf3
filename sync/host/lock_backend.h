/*
 * sync/host/lock_backend.h - sleeping locks on pthreads.
 *
 * struct mutex is a pthread mutex plus an owner field.
 *
 * struct rwsem is a FIFO reader-writer semaphore with handoff: one lock word
 * (ck_pr atomics) for the uncontended paths, and a queue of sleeping waiters
 * under a pthread mutex for the contended ones (Linux's rwsem, without the
 * optimistic spinning: simulated CPUs outnumber host cores, so a waiter
 * sleeps at once).
 *
 *   word = readers * RWSEM_READER | RWSEM_WRITER | RWSEM_WAITERS
 *
 * RWSEM_WAITERS is set exactly when the queue is non-empty (both change
 * only under wait_lock). While it is set no fast path and no trylock
 * succeeds, so nobody overtakes a queued waiter. The thread whose release
 * leaves no holder (the last up_read, or any up_write) sees RWSEM_WAITERS and
 * hands the lock over in rwsem_wake(): it writes the word on behalf of the
 * head of the queue (one writer, or every reader up to the first queued
 * writer) and wakes them; they return owning the lock without retrying. A
 * thread that releases and re-acquires at once therefore queues behind
 * whoever was waiting: a queued waiter waits for at most the holders in
 * front of it (pthread_rwlock has no handoff: a writer looping on
 * mmap/munmap kept a fault's reader waiting for milliseconds).
 *
 * Uncontended cost: one CAS for down_read/down_write/up_write, one atomic
 * add for up_read (plus the load that seeds the CAS).
 *
 * Semantics shared with the kernel backend (sync/kernel/lock_backend.h):
 * exclusion, rwsem_write_held() exact for the caller, trylocks never sleep.
 * Differences (the kernel's rwsem has no queue order and prefers writers):
 * here the trylocks fail while a waiter is queued, and a read lock is not
 * recursive: taking it twice in one thread deadlocks once a writer queues
 * in between (Linux forbids it for the same reason).
 *
 * Synchronization table (rwsem):
 *
 *   | operation              | may run concurrently with        | serialised by  |
 *   | ---------------------- | -------------------------------- | -------------- |
 *   | down_read, up_read,    | each other, in any thread        | CAS/FAA on word|
 *   |   down_read_trylock    |                                  |                |
 *   | down_write(_trylock),  | anything; holds exclude through  | CAS on word    |
 *   |   up_write             |   the word                       |                |
 *   | slow paths, rwsem_wake | each other                       | wait_lock      |
 *   | rwsem_write_held       | anything (exact for the caller)  | writer field   |
 *   | rwsem_held             | anything (either mode, anyone's) | word           |
 *   | rwsem_init, _destroy   | nothing                          | the caller     |
 *
 * Fields: mutex.owner (A); rwsem.word (A) changed by CAS/FAA, or stored
 * under wait_lock while nobody can acquire (rwsem_wake); rwsem.writer (A)
 * written only by the holding writer; rwsem.head/tail and each waiter's
 * next/granted (Q) under wait_lock; name (C).
 */
#ifndef KESTREL_HOST_LOCK_BACKEND_H
#define KESTREL_HOST_LOCK_BACKEND_H

#include <pthread.h>
#include <ck_pr.h>

struct mutex {
	pthread_mutex_t m;
	void *owner;		/* (A) holder's env_thread_self(), NULL if free */
	const char *name;	/* (C) */
};

#define RWSEM_WRITER	1u	/* one writer holds it */
#define RWSEM_WAITERS	2u	/* the queue is non-empty */
#define RWSEM_READER	4u	/* one reader holds it (counted from bit 2) */

struct rwsem_waiter;

struct rwsem {
	unsigned int word;		/* (A) see above */
	void *writer;			/* (A) writer's env_thread_self(), NULL if none */
	pthread_mutex_t wait_lock;	/* protects the queue */
	struct rwsem_waiter *head;	/* (Q) oldest waiter */
	struct rwsem_waiter *tail;	/* (Q) newest waiter */
	const char *name;		/* (C) */
};

void mutex_init(struct mutex *m, const char *name);
void mutex_destroy(struct mutex *m);
void rwsem_init(struct rwsem *r, const char *name);
void rwsem_destroy(struct rwsem *r);
void rwsem_down_read_slow(struct rwsem *r);
void rwsem_down_write_slow(struct rwsem *r);
void rwsem_wake(struct rwsem *r);

static inline bool mutex_held(const struct mutex *m)
{
	return ck_pr_load_ptr(&m->owner) == env_thread_self();
}

static inline void mutex_lock(struct mutex *m)
{
	KASSERT(!mutex_held(m), "mutex_lock: recursion on %s", m->name);
	pthread_mutex_lock(&m->m);
	ck_pr_store_ptr(&m->owner, env_thread_self());
}

static inline void mutex_unlock(struct mutex *m)
{
	KASSERT(mutex_held(m), "mutex_unlock: %s not held", m->name);
	ck_pr_store_ptr(&m->owner, NULL);
	pthread_mutex_unlock(&m->m);
}

static inline bool rwsem_write_held(const struct rwsem *r)
{
	return ck_pr_load_ptr(&r->writer) == env_thread_self();
}

/* rwsem_held: someone holds r, in either mode (all a reader can assert). */
static inline bool rwsem_held(const struct rwsem *r)
{
	return (ck_pr_load_uint(&r->word) & ~RWSEM_WAITERS) != 0;
}

/* down_read_trylock: take r for reading if no writer holds it and nobody
 * waits; never sleeps. */
static inline bool down_read_trylock(struct rwsem *r)
{
	unsigned int c = ck_pr_load_uint(&r->word);

	while (!(c & (RWSEM_WRITER | RWSEM_WAITERS)))
		if (ck_pr_cas_uint_value(&r->word, c, c + RWSEM_READER, &c))
			return true;	/* ck: CAS is a full barrier (acquire) */
	return false;
}

/* down_read: take r for reading, sleeping behind any writer or waiter. */
static inline void down_read(struct rwsem *r)
{
	KASSERT(!rwsem_write_held(r), "down_read: %s held for write by caller", r->name);
	if (!down_read_trylock(r))
		rwsem_down_read_slow(r);
}

/* up_read: drop a read hold; the last reader out hands r to the waiters. */
static inline void up_read(struct rwsem *r)
{
	unsigned int old;

	KASSERT(ck_pr_load_uint(&r->word) >= RWSEM_READER, "up_read: %s not read-held", r->name);
	old = ck_pr_faa_uint(&r->word, -RWSEM_READER);	/* ck: locked xadd, full barrier (release) */
	if (old == (RWSEM_READER | RWSEM_WAITERS))
		rwsem_wake(r);
}

/* down_write_trylock: take r for writing if it is free and nobody waits. */
static inline bool down_write_trylock(struct rwsem *r)
{
	if (!ck_pr_cas_uint(&r->word, 0, RWSEM_WRITER))	/* ck: full barrier (acquire) */
		return false;
	ck_pr_store_ptr(&r->writer, env_thread_self());
	return true;
}

/* down_write: take r for writing, sleeping behind any holder or waiter. */
static inline void down_write(struct rwsem *r)
{
	KASSERT(!rwsem_write_held(r), "down_write: recursion on %s", r->name);
	if (!ck_pr_cas_uint(&r->word, 0, RWSEM_WRITER))	/* ck: full barrier (acquire) */
		rwsem_down_write_slow(r);
	ck_pr_store_ptr(&r->writer, env_thread_self());
}

/* up_write: drop the write hold; with waiters queued, hand r to them. */
static inline void up_write(struct rwsem *r)
{
	KASSERT(rwsem_write_held(r), "up_write: %s not held for write", r->name);
	ck_pr_store_ptr(&r->writer, NULL);
	if (!ck_pr_cas_uint(&r->word, RWSEM_WRITER, 0))	/* ck: full barrier (release) */
		rwsem_wake(r);
}

#endif
