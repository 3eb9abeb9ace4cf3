/*
 * kernel/ktest/ktest_sched.c - the scheduler: 2 x ncpus CPU-bound threads
 * created unpinned must spread over every CPU and get comparable CPU time
 * (preemption on the tick, round robin, load balancing); sleeping threads
 * wake up on time.
 */
#include "ktest_util.h"
#include "kernel/machine.h"

static int spin_stop;		/* (A) */
static uint64_t runtime[2 * NCPU_MAX];
static uint64_t seen[2 * NCPU_MAX];

static void spinner(void *arg)
{
	uint64_t i = (uint64_t)arg;
	struct thread *me = thread_self();

	while (!ck_pr_load_int(&spin_stop))
		cpu_relax();
	preempt_disable();
	runtime[i] = me->runtime_ns + (time_ns() - me->switched_in_ns);
	seen[i] = me->cpus_seen;
	preempt_enable();
}

KTEST(sched_fairness_across_cpus)
{
	unsigned n = 2 * ncpus;
	struct thread *t[2 * NCPU_MAX];
	uint64_t lo = ~0ull, hi = 0, all = 0;

	spin_stop = 0;
	for (unsigned i = 0; i < n; i++)
		t[i] = thread_create("spinner", spinner, (void *)(uint64_t)i, -1);
	sched_sleep_ticks(SCHED_HZ);	/* 1 s of contention */
	ck_pr_store_int(&spin_stop, 1);
	for (unsigned i = 0; i < n; i++) {
		KT_REQUIRE(t[i] != NULL, "thread_create");
		thread_join(t[i]);
		lo = runtime[i] < lo ? runtime[i] : lo;
		hi = runtime[i] > hi ? runtime[i] : hi;
		all |= seen[i];
	}
	printk("# sched: %u threads on %u CPUs, runtime min %llu ms max %llu ms\n", n, ncpus,
	       (unsigned long long)(lo / 1000000), (unsigned long long)(hi / 1000000));
	KT_CHECK(all == (ncpus == 64 ? ~0ull : (1ull << ncpus) - 1), "threads ran on cpus %llx",
		 (unsigned long long)all);
	KT_CHECK(lo * 3 >= hi, "unfair: min %llu ns, max %llu ns", (unsigned long long)lo,
		 (unsigned long long)hi);
}

KTEST(sched_sleep_wakes_on_time)
{
	uint64_t j0 = jiffies, t0 = time_ns(), ms;

	sched_sleep_ticks(10);
	ms = (time_ns() - t0) / 1000000;
	KT_CHECK(jiffies - j0 >= 10, "woke after %llu ticks", (unsigned long long)(jiffies - j0));
	/* The first of the 10 ticks may come at once, and the APIC timer is
	 * calibrated against the PIT under TCG jitter: allow 9 ticks at half
	 * speed-error margin; the upper bound only catches a lost wakeup. */
	KT_CHECK(ms >= 45 && ms < 10000, "10 ticks took %llu ms", (unsigned long long)ms);
}
