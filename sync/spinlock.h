/*
 * sync/spinlock.h - ticket spinlocks on ck_pr atomics that know their owner.
 *
 * A ticket lock is FIFO-fair, which matters under TCG where vCPUs run at very
 * different speeds; at Kestrel's CPU counts (<= 64) the shared-line spinning of
 * a ticket lock costs less than MCS's per-acquire queue node.
 *
 * The lock records the CPU that holds it. Debug builds panic on recursion
 * (spin_lock on a lock this CPU holds) and on release by a non-owner, naming
 * the lock. Host threads that take spinlocks must be registered CPUs.
 * Kernel callers that share a lock with interrupt handlers use the IRQ-saving
 * variants in the kernel backend (spin_lock_irqsave/spin_unlock_irqrestore).
 *
 * Legend: (A) atomic, (L) written only by the holder, (C) constant.
 */
#ifndef KESTREL_SYNC_SPINLOCK_H
#define KESTREL_SYNC_SPINLOCK_H

#include "env.h"
#include <ck_pr.h>

#define SPIN_NO_OWNER (-1)

/* A ticket lock over ck_pr atomics: take a ticket from next, wait until
 * serving reaches it. (ck_spinlock_ticket spins without a hook to yield;
 * host CPUs outnumber real cores, so the wait loop must call spin_wait.) */
union spin_ticket {
	uint64_t word;
	struct {
		uint32_t next;		/* (A) next ticket to hand out */
		uint32_t serving;	/* (A) ticket now holding the lock */
	};
};

struct spinlock {
	union spin_ticket tk;
	int owner;		/* (L) CPU id of the holder, SPIN_NO_OWNER if free */
	const char *name;	/* (C) */
};

#define SPINLOCK_INITIALIZER(n) \
	{ .tk = { .word = 0 }, .owner = SPIN_NO_OWNER, .name = (n) }

static inline void spin_init(struct spinlock *l, const char *name)
{
	l->tk.word = 0;
	l->owner = SPIN_NO_OWNER;
	l->name = name;
}

/* spin_holding: true if the executing CPU holds l. */
static inline bool spin_holding(const struct spinlock *l)
{
	return ck_pr_load_int(&l->owner) == (int)cpu_self();
}

/* spin_locked: true if anyone holds l (diagnostics only). */
static inline bool spin_locked(const struct spinlock *l)
{
	uint64_t w = ck_pr_load_64(&l->tk.word);

	return (uint32_t)w != (uint32_t)(w >> 32);
}

/* spin_lock: acquire l; panics (debug) if this CPU already holds it. */
static inline void spin_lock(struct spinlock *l)
{
	unsigned spins = 0;

	preempt_disable();
	KASSERT(!spin_holding(l), "spin_lock: recursion on %s (cpu %u)", l->name, cpu_self());
	uint32_t t = ck_pr_faa_32(&l->tk.next, 1);	/* locked RMW: full barrier */
	while (ck_pr_load_32(&l->tk.serving) != t)
		spin_wait(&spins);
	ck_pr_fence_lock();	/* critical section loads stay after the acquire */
	ck_pr_store_int(&l->owner, (int)cpu_self());
}

/* spin_trylock: acquire l if free; true on success. */
static inline bool spin_trylock(struct spinlock *l)
{
	preempt_disable();
	uint64_t w = ck_pr_load_64(&l->tk.word);
	uint32_t next = (uint32_t)w;
	uint64_t taken = (w & ~(uint64_t)UINT32_MAX) | (uint32_t)(next + 1);

	if (next != (uint32_t)(w >> 32) || !ck_pr_cas_64(&l->tk.word, w, taken)) {
		preempt_enable();
		return false;
	}
	ck_pr_fence_lock();	/* the CAS is a full barrier; this documents it */
	ck_pr_store_int(&l->owner, (int)cpu_self());
	return true;
}

/* spin_unlock: release l, which this CPU must hold. */
static inline void spin_unlock(struct spinlock *l)
{
	KASSERT(spin_holding(l), "spin_unlock: %s not held by cpu %u", l->name, cpu_self());
	ck_pr_store_int(&l->owner, SPIN_NO_OWNER);
	ck_pr_fence_unlock();	/* critical section stores before the hand-off */
	ck_pr_store_32(&l->tk.serving, l->tk.serving + 1);	/* holder-only write */
	preempt_enable();
}

#define spin_assert_held(l, fn) \
	KASSERT(spin_holding(l), "%s: %s not held", (fn), (l)->name)

#endif
