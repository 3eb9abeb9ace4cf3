/* sync/host/lock_backend.h - sleeping locks on pthreads. */
#ifndef KESTREL_HOST_LOCK_BACKEND_H
#define KESTREL_HOST_LOCK_BACKEND_H

#include <pthread.h>
#include <ck_pr.h>

struct mutex {
	pthread_mutex_t m;
	void *owner;		/* (A) holder's env_thread_self(), NULL if free */
	const char *name;	/* (C) */
};

struct rwsem {
	pthread_rwlock_t rw;
	void *writer;		/* (A) writer's env_thread_self(), NULL if none */
	const char *name;	/* (C) */
};

void mutex_init(struct mutex *m, const char *name);
void mutex_destroy(struct mutex *m);
void rwsem_init(struct rwsem *r, const char *name);
void rwsem_destroy(struct rwsem *r);

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

static inline void down_read(struct rwsem *r)
{
	KASSERT(!rwsem_write_held(r), "down_read: %s held for write by caller", r->name);
	pthread_rwlock_rdlock(&r->rw);
}

static inline bool down_read_trylock(struct rwsem *r)
{
	return pthread_rwlock_tryrdlock(&r->rw) == 0;
}

static inline void up_read(struct rwsem *r)
{
	pthread_rwlock_unlock(&r->rw);
}

static inline void down_write(struct rwsem *r)
{
	KASSERT(!rwsem_write_held(r), "down_write: recursion on %s", r->name);
	pthread_rwlock_wrlock(&r->rw);
	ck_pr_store_ptr(&r->writer, env_thread_self());
}

static inline bool down_write_trylock(struct rwsem *r)
{
	if (pthread_rwlock_trywrlock(&r->rw) != 0)
		return false;
	ck_pr_store_ptr(&r->writer, env_thread_self());
	return true;
}

static inline void up_write(struct rwsem *r)
{
	KASSERT(rwsem_write_held(r), "up_write: %s not held for write", r->name);
	ck_pr_store_ptr(&r->writer, NULL);
	pthread_rwlock_unlock(&r->rw);
}

#endif
