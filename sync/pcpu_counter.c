/* sync/pcpu_counter.c - slow paths of the per-CPU counters. */
#include "pcpu_counter.h"

/* pcpu_counter_init: zeroed counter with one slot per possible CPU.
 * Returns 0 or -ENOMEM (c untouched). */
int pcpu_counter_init(struct pcpu_counter *c, int64_t batch)
{
	unsigned n = cpu_count();
	struct pcpu_slot *slots = env_alloc(n * sizeof(*slots));

	KASSERT(batch > 0, "pcpu_counter_init: batch %lld", (long long)batch);
	if (!slots)
		return -ENOMEM;
	memset(slots, 0, n * sizeof(*slots));
	c->total = 0;
	c->batch = batch;
	c->nslots = n;
	c->slots = slots;
	return 0;
}

void pcpu_counter_destroy(struct pcpu_counter *c)
{
	env_free(c->slots, c->nslots * sizeof(*c->slots));
	c->slots = NULL;
}

/* pcpu_counter_fold: move slot value v into the total; the slot becomes 0.
 * Called by the slot's own CPU with preemption disabled. */
void pcpu_counter_fold(struct pcpu_counter *c, struct pcpu_slot *s, int64_t v)
{
	/* Zero the slot before adding: a concurrent sum may miss v for an
	 * instant but never counts it twice. */
	ck_pr_store_64((uint64_t *)&s->delta, 0);
	ck_pr_add_64((uint64_t *)&c->total, (uint64_t)v);
}

/* pcpu_counter_sum: total plus every CPU's pending delta. */
int64_t pcpu_counter_sum(const struct pcpu_counter *c)
{
	int64_t sum = pcpu_counter_read(c);

	for (unsigned i = 0; i < c->nslots; i++)
		sum += (int64_t)ck_pr_load_64((const uint64_t *)&c->slots[i].delta);
	return sum;
}
