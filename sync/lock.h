/*
 * sync/lock.h - sleeping locks for slow paths: struct mutex and struct rwsem.
 *
 *   mutex_init(m, name), mutex_lock(m), mutex_unlock(m), mutex_held(m)
 *   rwsem_init(r, name), down_read(r), down_read_trylock(r), up_read(r),
 *   down_write(r), down_write_trylock(r), up_write(r), rwsem_write_held(r)
 *
 * Both record the owning thread (env_thread_self()) so that contracts can be
 * asserted: mutex_held() and rwsem_write_held() are exact for the caller;
 * there is no reliable "held for read by me" (readers are not tracked).
 *
 * Host backend: pthread mutex / rwlock (sync/host/lock_backend.h).
 * Kernel backend: wait-queue based (sync/kernel/lock_backend.h).
 */
#ifndef KESTREL_SYNC_LOCK_H
#define KESTREL_SYNC_LOCK_H

#include "env.h"
#include "lock_backend.h"

#endif
