/*
 * sync/kernel/spinlock_irq.h - IRQ-saving spinlock variants (kernel only).
 *
 * Use them for any lock an interrupt handler (IPI, timer) also takes:
 * interrupts go off before the ticket is taken, so a handler on this CPU
 * can never spin on a lock its own interrupted thread holds.
 */
#ifndef KESTREL_KERNEL_SPINLOCK_IRQ_H
#define KESTREL_KERNEL_SPINLOCK_IRQ_H

#include "sync/spinlock.h"
#include "arch/x86.h"

/* spin_lock_irqsave: disable interrupts, take l; returns the flags to restore. */
static inline uint64_t spin_lock_irqsave(struct spinlock *l)
{
	uint64_t f = irq_save();

	spin_lock(l);
	return f;
}

static inline void spin_unlock_irqrestore(struct spinlock *l, uint64_t f)
{
	spin_unlock(l);
	irq_restore(f);
}

#endif
