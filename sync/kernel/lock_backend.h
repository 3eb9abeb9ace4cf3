/*
 * sync/kernel/lock_backend.h - sleeping locks on wait queues.
 *
 * struct mutex: owner is the lock word itself (CAS NULL -> thread); waiters
 * sleep on wq until owner is NULL, then race for it again (no handoff, so a
 * running thread may barge; every unlock wakes one waiter, so none is lost).
 * struct rwsem: count > 0 readers, -1 one writer, 0 free; readers and
 * writers sleep on one queue and all are woken when it may have become
 * free. Writers are preferred: while one waits (wwait > 0) no new reader
 * gets in, so overlapping readers (MADV_DONTNEED holds it for reading
 * through a whole zap and flush) cannot starve mmap/munmap. Writers may
 * still barge each other (no queue order).
 *
 * Fields: mutex.owner (A); rwsem.count (A); rwsem.wwait (A) writers in
 * down_write; rwsem.writer (A) written by the writer only; name (C).
 */
#ifndef KESTREL_KERNEL_LOCK_BACKEND_H
#define KESTREL_KERNEL_LOCK_BACKEND_H

#include <ck_pr.h>
#include "kernel/sched.h"

struct mutex {
	void *owner;
	struct waitq wq;
	const char *name;
};

struct rwsem {
	int count;
	int wwait;
	void *writer;
	struct waitq wq;
	const char *name;
};

void mutex_init(struct mutex *m, const char *name);
void mutex_destroy(struct mutex *m);
void rwsem_init(struct rwsem *r, const char *name);
void rwsem_destroy(struct rwsem *r);
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);
void down_read(struct rwsem *r);
bool down_read_trylock(struct rwsem *r);
void up_read(struct rwsem *r);
void down_write(struct rwsem *r);
bool down_write_trylock(struct rwsem *r);
void up_write(struct rwsem *r);

static inline bool mutex_held(const struct mutex *m)
{
	return ck_pr_load_ptr(&m->owner) == env_thread_self();
}

static inline bool rwsem_write_held(const struct rwsem *r)
{
	return ck_pr_load_ptr(&r->writer) == env_thread_self();
}

/* rwsem_held: someone holds r, in either mode (all a reader can assert). */
static inline bool rwsem_held(const struct rwsem *r)
{
	return ck_pr_load_int(&r->count) != 0;
}

#endif
