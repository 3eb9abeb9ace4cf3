/*
 * sync/host/env_backend.h - the host (Linux userspace) side of sync/env.h.
 *
 * A "CPU" on the host is a thread that registered a slot with
 * hostcpu_register() (sync/host/hostcpu.h). cpu_self() on an unregistered
 * thread is a contract violation and panics.
 */
#ifndef KESTREL_HOST_ENV_BACKEND_H
#define KESTREL_HOST_ENV_BACKEND_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <pthread.h>

#define KESTREL_HOST 1

#define printk(...) ((void)fprintf(stderr, __VA_ARGS__))

__attribute__((noreturn, format(printf, 3, 4)))
void host_panic(const char *file, int line, const char *fmt, ...);
#define panic(...) host_panic(__FILE__, __LINE__, __VA_ARGS__)

void *env_alloc(size_t size);
void *env_alloc_try(size_t size);
void env_free(void *p, size_t size);

extern __thread int hostcpu_self_id;
__attribute__((noreturn)) void hostcpu_unregistered(void);

/* cpu_self: the simulated CPU this thread registered as. */
static inline unsigned cpu_self(void)
{
	if (__builtin_expect(hostcpu_self_id < 0, 0))
		hostcpu_unregistered();
	return (unsigned)hostcpu_self_id;
}

unsigned cpu_count(void);

#define preempt_disable() do { } while (0)
#define preempt_enable()  do { } while (0)
#define cpu_relax()       __builtin_ia32_pause()

static inline void spin_wait(unsigned *spins)
{
	if ((++*spins & 63) == 0)
		sched_yield();
	else
		cpu_relax();
}

static inline void *env_thread_self(void)
{
	return (void *)pthread_self();
}

/* Schedule perturbation: off unless a test calls debug_yield_enable(). */
extern int debug_yield_rate;
void debug_yield_slow(void);
void debug_yield_enable(int one_in_n);
#define DEBUG_YIELD() \
	do { if (__builtin_expect(__atomic_load_n(&debug_yield_rate, __ATOMIC_RELAXED) != 0, 0)) \
		debug_yield_slow(); } while (0)

#endif
