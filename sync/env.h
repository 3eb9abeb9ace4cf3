/*
 * sync/env.h - the environment contract of Kestrel's portable code.
 *
 * Every portable file (sync/, mm/) includes this header and nothing from libc,
 * the kernel or the host directly. Each build provides "env_backend.h" on its
 * include path:
 *
 *     host   (Linux userspace):  sync/host/env_backend.h
 *     kernel (freestanding):     sync/kernel/env_backend.h
 *
 * What every backend must provide
 * -------------------------------
 * Types and errors
 *   <stdint.h>, <stddef.h>, <stdbool.h> types; Linux errno values (ENOMEM,
 *   EINVAL, EEXIST, EFAULT, EAGAIN, ENOSYS, ...). Portable code returns
 *   negative errno.
 * Memory and strings
 *   memset, memcpy, memmove, memcmp, strlen, strcmp.
 *   void *env_alloc(size_t size);          may return NULL, never sleeps
 *   void *env_alloc_try(size_t size);      the same, for allocations whose
 *                                          failure the caller absorbs (the
 *                                          operation still succeeds, e.g. a
 *                                          TLB gather flushes early); host
 *                                          failure injection leaves these to
 *                                          alloc_inject_try_fail()
 *   void  env_free(void *p, size_t size);  size as allocated; poisons in debug
 * Diagnostics
 *   printk(fmt, ...)                       printf-like log line
 *   panic(fmt, ...)                        never returns
 *   KASSERT(cond, fmt, ...)                panic unless cond (debug builds)
 * CPUs and preemption
 *   NCPU_MAX                               compile-time bound on CPU ids
 *   unsigned cpu_self(void)                id of the executing CPU, < NCPU_MAX
 *   unsigned cpu_count(void)               CPUs that may ever run (ids below)
 *   preempt_disable(), preempt_enable()    pin to cpu_self() (no-op on host,
 *                                          where a thread *is* its CPU)
 *   cpu_relax()                            spin-wait hint
 *   spin_wait(unsigned *spins)             called in every spin-wait loop
 *                                          iteration: kernel = cpu_relax();
 *                                          host = pause, and sched_yield()
 *                                          every 64 spins, because host
 *                                          "CPUs" outnumber real cores and a
 *                                          preempted lock holder or next
 *                                          ticket must get to run
 *   void *env_thread_self(void)            opaque id of the running thread,
 *                                          used for sleeping-lock ownership
 * Schedule perturbation (STYLE.md item 18)
 *   DEBUG_YIELD()                          host torture builds: maybe yield or
 *                                          sleep; kernel: nothing
 *
 * Nothing else may be assumed. The machine itself (page tables, frames, TLBs)
 * is reached only through mm/pmap.h.
 */
#ifndef KESTREL_SYNC_ENV_H
#define KESTREL_SYNC_ENV_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#define NCPU_MAX 64

#ifdef __cplusplus
#define _Static_assert static_assert	/* headers are shared with C++ benchmarks */
#endif

#include "env_backend.h"

#ifndef likely
#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define CACHELINE 64
#define __cacheline_aligned __attribute__((aligned(CACHELINE)))

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

#ifdef KESTREL_DEBUG
#define KASSERT(cond, ...) do { if (unlikely(!(cond))) panic(__VA_ARGS__); } while (0)
#else
#define KASSERT(cond, ...) do { (void)sizeof(cond); } while (0)
#endif

#endif /* KESTREL_SYNC_ENV_H */
