/*
 * sync/kernel/env_backend.h - the kernel (freestanding x86_64) side of sync/env.h.
 *
 * Per-CPU state is reached through GS: every CPU's GS base points at its
 * struct cpu (kernel/percpu.h), whose first member is the struct cpu_hot
 * below, so cpu_self() and preempt_disable() are one %gs-relative
 * instruction each. preempt_count is per CPU (as in Linux x86): a thread only
 * switches CPUs inside schedule(), which runs with the count at a fixed value,
 * so the count a thread sees is always its own.
 *
 * Fields of struct cpu_hot: self, id (C after boot); preempt_count written
 * only by its own CPU; need_resched (A) set by any CPU, cleared by its own;
 * current written only by its own CPU in schedule().
 */
#ifndef KESTREL_KERNEL_ENV_BACKEND_H
#define KESTREL_KERNEL_ENV_BACKEND_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <string.h>

#define KESTREL_KERNEL_ENV 1

#define EPERM	1
#define ENOENT	2
#define EINTR	4
#define EIO	5
#define E2BIG	7
#define EAGAIN	11
#define ENOMEM	12
#define EFAULT	14
#define EBUSY	16
#define EEXIST	17
#define EINVAL	22
#define ENOSPC	28
#define ERANGE	34
#define ENOSYS	38
#define ETIMEDOUT 110

__attribute__((format(printf, 1, 2))) void printk(const char *fmt, ...);
__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);

void *env_alloc(size_t size);
void *env_alloc_try(size_t size);
void env_free(void *p, size_t size);

struct cpu_hot {
	struct cpu_hot *self;	/* (C) linear address of this struct: %gs:0 */
	unsigned id;		/* (C) dense CPU id, 0 = boot CPU */
	int preempt_count;	/* own CPU only; > 0 pins the running thread */
	int need_resched;	/* (A) ask this CPU to reschedule */
	void *current;		/* own CPU only: the running struct thread */
};

#define CPU_HOT_OFF(f) offsetof(struct cpu_hot, f)

static inline unsigned cpu_self(void)
{
	unsigned v;

	__asm__ volatile("movl %%gs:%c1, %0" : "=r"(v) : "i"(CPU_HOT_OFF(id)));
	return v;
}

static inline struct cpu_hot *cpu_hot_self(void)
{
	struct cpu_hot *p;

	__asm__ volatile("movq %%gs:%c1, %0" : "=r"(p) : "i"(CPU_HOT_OFF(self)));
	return p;
}

unsigned cpu_count(void);

void preempt_resched(void);

static inline int preempt_count(void)
{
	int v;

	__asm__ volatile("movl %%gs:%c1, %0" : "=r"(v) : "i"(CPU_HOT_OFF(preempt_count)));
	return v;
}

/* The "memory" clobbers keep the protected accesses inside the section. */
static inline void preempt_disable(void)
{
	__asm__ volatile("incl %%gs:%c0" : : "i"(CPU_HOT_OFF(preempt_count)) : "memory");
}

static inline void preempt_enable(void)
{
	__asm__ volatile("decl %%gs:%c0" : : "i"(CPU_HOT_OFF(preempt_count)) : "memory");
	if (__builtin_expect(preempt_count() == 0, 1)) {
		int nr;

		__asm__ volatile("movl %%gs:%c1, %0" : "=r"(nr) : "i"(CPU_HOT_OFF(need_resched)));
		if (__builtin_expect(nr != 0, 0))
			preempt_resched();
	}
}

/* preempt_enable_no_resched: drop the count without a reschedule check. */
static inline void preempt_enable_no_resched(void)
{
	__asm__ volatile("decl %%gs:%c0" : : "i"(CPU_HOT_OFF(preempt_count)) : "memory");
}

#define cpu_relax() __builtin_ia32_pause()
/* spin_wait: one spin-wait iteration (sync/env.h); real CPUs just pause. */
#define spin_wait(spins) ((void)(spins), cpu_relax())

static inline void *env_thread_self(void)
{
	void *t;

	__asm__ volatile("movq %%gs:%c1, %0" : "=r"(t) : "i"(CPU_HOT_OFF(current)));
	return t;
}

#define DEBUG_YIELD() do { } while (0)

#endif
