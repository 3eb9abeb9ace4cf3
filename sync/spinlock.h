/*
 * sync/spinlock.h - ticket spinlocks (ck_spinlock_ticket) that know their owner.
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
 * Fields: tk (A) the ck ticket word; owner (L) written only by the holder;
 *         name (C).
 */
#ifndef KESTREL_SYNC_SPINLOCK_H
#define KESTREL_SYNC_SPINLOCK_H

#include "env.h"
#include <ck_pr.h>
#include <ck_spinlock.h>

#define SPIN_NO_OWNER (-1)

struct spinlock {
	ck_spinlock_ticket_t tk;
	int owner;		/* CPU id of the holder, SPIN_NO_OWNER if free */
	const char *name;
};

#define SPINLOCK_INITIALIZER(n) \
	{ .tk = CK_SPINLOCK_TICKET_INITIALIZER, .owner = SPIN_NO_OWNER, .name = (n) }

static inline void spin_init(struct spinlock *l, const char *name)
{
	ck_spinlock_ticket_init(&l->tk);
	l->owner = SPIN_NO_OWNER;
	l->name = name;
}

/* spin_holding: true if the executing CPU holds l. */
static inline bool spin_holding(const struct spinlock *l)
{
	return ck_pr_load_int(&l->owner) == (int)cpu_self();
}

/* spin_lock: acquire l; panics (debug) if this CPU already holds it. */
static inline void spin_lock(struct spinlock *l)
{
	preempt_disable();
	KASSERT(!spin_holding(l), "spin_lock: recursion on %s (cpu %u)", l->name, cpu_self());
	ck_spinlock_ticket_lock(&l->tk);	/* ck: acquire fence included */
	ck_pr_store_int(&l->owner, (int)cpu_self());
}

/* spin_trylock: acquire l if free; true on success. */
static inline bool spin_trylock(struct spinlock *l)
{
	preempt_disable();
	if (!ck_spinlock_ticket_trylock(&l->tk)) {
		preempt_enable();
		return false;
	}
	ck_pr_store_int(&l->owner, (int)cpu_self());
	return true;
}

/* spin_unlock: release l, which this CPU must hold. */
static inline void spin_unlock(struct spinlock *l)
{
	KASSERT(spin_holding(l), "spin_unlock: %s not held by cpu %u", l->name, cpu_self());
	ck_pr_store_int(&l->owner, SPIN_NO_OWNER);
	ck_spinlock_ticket_unlock(&l->tk);	/* ck: release fence included */
	preempt_enable();
}

#define spin_assert_held(l, fn) \
	KASSERT(spin_holding(l), "%s: %s not held", (fn), (l)->name)

#endif
