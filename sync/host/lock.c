/* sync/host/lock.c - sleeping locks on pthreads: set-up and tear-down. */
#include "../lock.h"

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
	pthread_rwlock_init(&r->rw, NULL);
	r->writer = NULL;
	r->name = name;
}

void rwsem_destroy(struct rwsem *r)
{
	KASSERT(r->writer == NULL, "rwsem_destroy: %s still held", r->name);
	pthread_rwlock_destroy(&r->rw);
}
