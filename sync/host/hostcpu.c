/* sync/host/hostcpu.c - registered threads as simulated CPUs. */
#include "../env.h"
#include "../rcu.h"
#include "hostcpu.h"
#include <ck_pr.h>

__thread int hostcpu_self_id = -1;
static uint8_t slot_used[NCPU_MAX];	/* (A) claimed by CAS */
static unsigned ncpus = NCPU_MAX;	/* (C) set before threads start */

void hostcpu_unregistered(void)
{
	panic("cpu_self: thread is not a registered CPU (call hostcpu_register)");
}

unsigned cpu_count(void)
{
	return ncpus;
}

void hostcpu_set_count(unsigned n)
{
	KASSERT(n >= 1 && n <= NCPU_MAX, "hostcpu_set_count: %u", n);
	ncpus = n;
}

/* hostcpu_register_id: claim slot id for this thread; 0, -EINVAL or -EBUSY. */
int hostcpu_register_id(int id)
{
	if (id < 0 || (unsigned)id >= ncpus || hostcpu_self_id >= 0)
		return -EINVAL;
	if (!ck_pr_cas_8(&slot_used[id], 0, 1))
		return -EBUSY;
	hostcpu_self_id = id;
	rcu_register_thread();
	return 0;
}

/* hostcpu_register: claim the lowest free slot; its id or -EBUSY. */
int hostcpu_register(void)
{
	for (unsigned i = 0; i < ncpus; i++)
		if (hostcpu_register_id((int)i) == 0)
			return (int)i;
	return -EBUSY;
}

void hostcpu_unregister(void)
{
	KASSERT(hostcpu_self_id >= 0, "hostcpu_unregister: not registered");
	rcu_unregister_thread();
	ck_pr_store_8(&slot_used[hostcpu_self_id], 0);
	hostcpu_self_id = -1;
}
