/*
 * kernel/demo.c - what `scripts/qemu-run.sh` shows when no tests are
 * selected: a banner, one worker thread per CPU reporting where it runs, an
 * IPI round trip to every CPU, then the per-CPU statistics every few seconds.
 */
#include "kernel/printk.h"
#include "kernel/percpu.h"
#include "kernel/sched.h"
#include "kernel/smp_call.h"
#include "kernel/mem.h"
#include "kernel/machine.h"

static void demo_worker(void *arg)
{
	uint64_t id = (uint64_t)arg;

	printk("demo: worker %llu running on cpu %u\n", (unsigned long long)id, cpu_self());
	sched_sleep_ticks(5);
}

static void demo_ping(void *arg)
{
	ck_pr_inc_int((int *)arg);
}

void demo_run(void)
{
	struct thread *t[NCPU_MAX];
	int pings = 0;

	printk_raw("\n  _  __        _            _\n | |/ /___ ___| |_ _ __ ___| |\n"
		   " | ' </ -_|_-<  _| '_/ -_) |\n |_|\\_\\___/__/\\__|_| \\___|_|   x86_64 SMP\n\n");
	for (unsigned i = 0; i < ncpus; i++)
		t[i] = thread_create("demo", demo_worker, (void *)(uint64_t)i, -1);
	for (unsigned i = 0; i < ncpus; i++)
		if (t[i])
			thread_join(t[i]);
	smp_call(CPUMASK_ALL, demo_ping, &pings);
	printk("demo: IPI round trip reached %d of %u CPUs\n", pings, ncpus);
	for (;;) {
		for (unsigned c = 0; c < ncpus; c++)
			printk("demo: cpu%u ticks %llu ipi sent %llu received %llu\n", c,
			       (unsigned long long)cpus[c].ticks,
			       (unsigned long long)cpu_ipi_sent(c),
			       (unsigned long long)cpu_ipi_received(c));
		printk("demo: %llu free pages; idle (quit QEMU with Ctrl-A X)\n",
		       (unsigned long long)page_free_count());
		sched_sleep_ticks(10 * SCHED_HZ);
	}
}
