/*
 * sync/lock.h - sleeping locks for slow paths: struct mutex and struct rwsem.
 *
 *   mutex_init(m, name), mutex_lock(m), mutex_unlock(m), mutex_held(m)
 *   rwsem_init(r, name), down_read(r), down_read_trylock(r), up_read(r),
 *   down_write(r), down_write_trylock(r), up_write(r), rwsem_write_held(r),
 *   rwsem_held(r)
 *
 * Both record the owning thread (env_thread_self()) so that contracts can be
 * asserted: mutex_held() and rwsem_write_held() are exact for the caller;
 * there is no reliable "held for read by me" (readers are not tracked):
 * rwsem_held() only says that someone holds it, in either mode.
 *
 * Contract for callers, whatever the backend: the trylocks never sleep and
 * may fail while the lock is free but others wait for it; a thread must not
 * take an rwsem it already holds, for writing or for reading (a second
 * down_read deadlocks once a writer queues in between, as in Linux).
 *
 * Host backend: a pthread mutex; an rwsem with FIFO handoff, so that a
 * waiter is never overtaken by a thread that releases and re-acquires
 * (sync/host/lock_backend.h). Kernel backend: wait-queue based; its rwsem
 * prefers writers but has no queue order (sync/kernel/lock_backend.h).
 */
#ifndef KESTREL_SYNC_LOCK_H
#define KESTREL_SYNC_LOCK_H

#include "env.h"
#include "lock_backend.h"

#endif
