/* sync/kernel/lock.c - sleeping mutex and rwsem (see lock_backend.h). */
#include "sync/lock.h"

void mutex_init(struct mutex *m, const char *name)
{
	m->owner = NULL;
	waitq_init(&m->wq, name);
	m->name = name;
}

void mutex_destroy(struct mutex *m)
{
	KASSERT(m->owner == NULL, "mutex_destroy: %s still held", m->name);
}

/* mutex_lock: sleep until the mutex is ours. Not from IRQ context. */
void mutex_lock(struct mutex *m)
{
	void *self = env_thread_self();

	KASSERT(!mutex_held(m), "mutex_lock: recursion on %s", m->name);
	while (!ck_pr_cas_ptr(&m->owner, NULL, self))	/* ck: CAS is a full barrier */
		wait_event(&m->wq, ck_pr_load_ptr(&m->owner) == NULL);
}

void mutex_unlock(struct mutex *m)
{
	KASSERT(mutex_held(m), "mutex_unlock: %s not held", m->name);
	ck_pr_fence_release();	/* the critical section before the release */
	ck_pr_store_ptr(&m->owner, NULL);
	waitq_wake_one(&m->wq);
}

void rwsem_init(struct rwsem *r, const char *name)
{
	r->count = 0;
	r->wwait = 0;
	r->writer = NULL;
	waitq_init(&r->wq, name);
	r->name = name;
}

void rwsem_destroy(struct rwsem *r)
{
	KASSERT(r->count == 0, "rwsem_destroy: %s still held", r->name);
}

/* down_read_trylock: fails while a writer holds r or waits for it. A
 * writer that arrives after our check finds count > 0 and waits for us;
 * one that arrived before made wwait visible (its locked increment) before
 * reading count, so one of us sees the other (both sides are full fences:
 * the writer's increment and our CAS). */
bool down_read_trylock(struct rwsem *r)
{
	int c = ck_pr_load_int(&r->count);

	while (c >= 0 && !ck_pr_load_int(&r->wwait)) {
		if (ck_pr_cas_int_value(&r->count, c, c + 1, &c)) {
			if (!ck_pr_load_int(&r->wwait))
				return true;
			up_read(r);	/* a writer came in between: let it go first */
			return false;
		}
	}
	return false;
}

void down_read(struct rwsem *r)
{
	KASSERT(!rwsem_write_held(r), "down_read: %s held for write by caller", r->name);
	while (!down_read_trylock(r))
		wait_event(&r->wq, ck_pr_load_int(&r->count) >= 0 &&
				   !ck_pr_load_int(&r->wwait));
}

void up_read(struct rwsem *r)
{
	KASSERT(ck_pr_load_int(&r->count) > 0, "up_read: %s not read-held", r->name);
	if (ck_pr_faa_int(&r->count, -1) == 1)	/* ck: locked add, full barrier */
		waitq_wake_all(&r->wq);
}

bool down_write_trylock(struct rwsem *r)
{
	if (!ck_pr_cas_int(&r->count, 0, -1))
		return false;
	ck_pr_store_ptr(&r->writer, env_thread_self());
	return true;
}

void down_write(struct rwsem *r)
{
	KASSERT(!rwsem_write_held(r), "down_write: recursion on %s", r->name);
	if (down_write_trylock(r))
		return;
	ck_pr_inc_int(&r->wwait);	/* ck: locked inc, full barrier: before count */
	while (!down_write_trylock(r))
		wait_event(&r->wq, ck_pr_load_int(&r->count) == 0);
	if (ck_pr_faa_int(&r->wwait, -1) == 1)
		waitq_wake_all(&r->wq);	/* readers wait for wwait == 0 too */
}

void up_write(struct rwsem *r)
{
	KASSERT(rwsem_write_held(r), "up_write: %s not held for write", r->name);
	ck_pr_store_ptr(&r->writer, NULL);
	ck_pr_fence_release();	/* the critical section before the release */
	ck_pr_store_int(&r->count, 0);
	waitq_wake_all(&r->wq);
}
