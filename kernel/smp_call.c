/*
 * kernel/smp_call.c - cross-CPU function calls over the VEC_CALL IPI, the
 * primitive TLB shootdowns build on.
 *
 * The caller puts one request per target CPU (on its own stack) in the
 * target's queue, sends the IPI, and spins until every request is marked
 * done. The handler drains its queue, runs each function and then sets done
 * with a release store: once the caller sees done, the function's effects
 * are visible and the request (on the caller's stack) is no longer touched.
 *
 * Synchronization table
 *   smp_call || smp_call     yes: queues are per target, IRQ-saving locks
 *   smp_call || handler      the target queue's lock
 */
#include "kernel/smp_call.h"
#include "kernel/percpu.h"
#include "spinlock_irq.h"
#include "arch/apic.h"
#include "arch/x86.h"

struct call_req {
	void (*fn)(void *);
	void *arg;
	int done;		/* (A) set by the target when fn returned */
	struct call_req *next;	/* (L) */
};

struct call_queue {
	struct spinlock lock;
	struct call_req *head;	/* (L) */
} __cacheline_aligned;

static struct call_queue call_queues[NCPU_MAX];

uint64_t cpu_ipi_sent(unsigned cpu)
{
	return ck_pr_load_64(&cpus[cpu].ipi_sent);
}

uint64_t cpu_ipi_received(unsigned cpu)
{
	return ck_pr_load_64(&cpus[cpu].ipi_received);
}

static void smp_call_irq(struct trap_frame *tf)
{
	struct call_queue *q = &call_queues[cpu_self()];
	struct call_req *r;

	lapic_eoi();
	ck_pr_inc_64(&this_cpu()->ipi_received);
	spin_lock(&q->lock);
	r = q->head;
	q->head = NULL;
	spin_unlock(&q->lock);
	while (r) {
		struct call_req *next = r->next;	/* read before done frees r */

		r->fn(r->arg);
		ck_pr_fence_store();	/* fn's stores before done */
		ck_pr_store_int(&r->done, 1);
		r = next;
	}
}

static void smp_resched_irq(struct trap_frame *tf)
{
	lapic_eoi();
	ck_pr_inc_64(&this_cpu()->ipi_received);	/* need_resched is already set */
}

void smp_call_init(void)
{
	for (unsigned c = 0; c < NCPU_MAX; c++)
		spin_init(&call_queues[c].lock, "call_queue");
	irq_register(VEC_CALL, smp_call_irq);
	irq_register(VEC_RESCHED, smp_resched_irq);
}

void smp_call(cpumask_t mask, void (*fn)(void *), void *arg)
{
	struct call_req reqs[NCPU_MAX];
	unsigned me;

	KASSERT(irqs_enabled(), "smp_call: called with interrupts disabled");
	preempt_disable();
	me = cpu_self();
	for (unsigned c = 0; c < ncpus; c++) {
		uint64_t f;

		reqs[c].done = 1;
		if (c == me || !(mask & (1ull << c)) || !ck_pr_load_int(&cpus[c].online))
			continue;
		reqs[c] = (struct call_req){ fn, arg, 0, NULL };
		f = spin_lock_irqsave(&call_queues[c].lock);
		reqs[c].next = call_queues[c].head;
		call_queues[c].head = &reqs[c];
		spin_unlock_irqrestore(&call_queues[c].lock, f);
		ck_pr_inc_64(&cpus[me].ipi_sent);
		lapic_send_ipi(cpus[c].apic_id, VEC_CALL);
	}
	if (mask & (1ull << me)) {
		uint64_t f = irq_save();

		fn(arg);
		irq_restore(f);
	}
	preempt_enable();
	for (unsigned c = 0; c < ncpus; c++)
		while (!ck_pr_load_int(&reqs[c].done))
			cpu_relax();
	ck_pr_fence_load();	/* the targets' effects after their done flags */
}
