/*
 * sync/pcpu_counter.h - per-CPU counters (RSS and statistics).
 *
 * Each CPU accumulates a private delta in its own cache line; once the delta
 * reaches +-batch it is folded into the shared total with one atomic add.
 *
 *   pcpu_counter_add(c, d)   fast path: a plain read-modify-write of this
 *                            CPU's slot; an atomic add only on a fold
 *   pcpu_counter_read(c)     approximate: the folded total only, off by at
 *                            most cpu_count() * (batch - 1)
 *   pcpu_counter_sum(c)      exact when no add runs concurrently: total plus
 *                            every slot; during concurrent adds each slot is
 *                            read atomically, but a fold in flight may be
 *                            missed for an instant (never counted twice)
 *
 * Synchronization table
 *   add  || add  (same CPU)   no: the kernel disables preemption; a host
 *                             thread is its CPU. Not IRQ-safe.
 *   add  || add  (other CPU)  yes
 *   add  || read/sum          yes (see precision above)
 *   init/destroy              exclusive
 *
 * Fields: total (A); batch, nslots, slots pointer (C); slot->delta written
 * only by its CPU, read atomically by anyone.
 */
#ifndef KESTREL_SYNC_PCPU_COUNTER_H
#define KESTREL_SYNC_PCPU_COUNTER_H

#include "env.h"
#include <ck_pr.h>

struct pcpu_slot {
	int64_t delta;
} __cacheline_aligned;

_Static_assert(sizeof(struct pcpu_slot) == CACHELINE, "pcpu_slot: one line per CPU");

struct pcpu_counter {
	int64_t total;
	int64_t batch;
	unsigned nslots;
	struct pcpu_slot *slots;
};

int pcpu_counter_init(struct pcpu_counter *c, int64_t batch);
void pcpu_counter_destroy(struct pcpu_counter *c);
int64_t pcpu_counter_sum(const struct pcpu_counter *c);
void pcpu_counter_fold(struct pcpu_counter *c, struct pcpu_slot *s, int64_t v);

/* pcpu_counter_add: add d on the executing CPU. */
static inline void pcpu_counter_add(struct pcpu_counter *c, int64_t d)
{
	preempt_disable();
	struct pcpu_slot *s = &c->slots[cpu_self()];
	int64_t v = ck_pr_load_64((uint64_t *)&s->delta) + d;

	if (likely(v < c->batch && v > -c->batch))
		ck_pr_store_64((uint64_t *)&s->delta, (uint64_t)v); /* owner-only write */
	else
		pcpu_counter_fold(c, s, v);
	preempt_enable();
}

/* pcpu_counter_read: the approximate value (folded total). */
static inline int64_t pcpu_counter_read(const struct pcpu_counter *c)
{
	return (int64_t)ck_pr_load_64((const uint64_t *)&c->total);
}

#endif
