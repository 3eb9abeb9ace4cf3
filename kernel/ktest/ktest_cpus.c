/*
 * kernel/ktest/ktest_cpus.c - CPUs and IPIs: every CPU online, per-CPU data
 * right on each of them, an IPI round trip to all CPUs with exact counters,
 * and (by name only) the crash path.
 */
#include "ktest_util.h"
#include "kernel/smp_call.h"
#include "kernel/bootinfo.h"
#include "kernel/machine.h"
#include "kernel/kstack.h"
#include "arch/apic.h"

static void record_cpu(void *arg)
{
	int *seen = arg;

	/* cpu_self() (GS) must agree with the hardware APIC id. */
	if (cpus[cpu_self()].apic_id == lapic_id())
		ck_pr_inc_int(&seen[cpu_self()]);
}

KTEST(cpus_all_online)
{
	unsigned want = acpi.ncpus;
	long lim = cmdline_int("smp", NCPU_MAX);
	int seen[NCPU_MAX] = { 0 };

	if ((long)want > lim)
		want = (unsigned)lim;
	sched_sleep_ticks(3);	/* every CPU's timer has fired by now */
	KT_CHECK(ncpus == want, "ncpus %u, MADT/smp= allow %u", ncpus, want);
	KT_CHECK(cpus_online() == ncpus, "%u of %u CPUs online", cpus_online(), ncpus);
	for (unsigned a = 0; a < ncpus; a++)
		for (unsigned b = a + 1; b < ncpus; b++)
			KT_CHECK(cpus[a].apic_id != cpus[b].apic_id, "cpus %u/%u share apic %u", a, b,
				 cpus[a].apic_id);
	smp_call(CPUMASK_ALL, record_cpu, seen);
	for (unsigned c = 0; c < ncpus; c++) {
		KT_CHECK(seen[c] == 1, "cpu %u answered %d times", c, seen[c]);
		KT_CHECK(cpus[c].ticks > 0, "cpu %u has taken no timer tick", c);
	}
}

static void count_hit(void *arg)
{
	ck_pr_inc_int(&((int *)arg)[cpu_self()]);
}

/* ipi_roundtrip_body: runs pinned on CPU 0, so the sender is fixed. */
static void ipi_roundtrip_body(void *arg)
{
	enum { ROUNDS = 200 };
	static int hits[NCPU_MAX];
	uint64_t sent0, recv0[NCPU_MAX], t0;
	unsigned me = 0;

	memset(hits, 0, sizeof(hits));
	KT_CHECK(cpu_self() == me, "pinned thread runs on cpu %u", cpu_self());
	sent0 = cpu_ipi_sent(me);
	for (unsigned c = 0; c < ncpus; c++)
		recv0[c] = cpu_ipi_received(c);
	t0 = time_ns();
	for (int r = 0; r < ROUNDS; r++)
		smp_call(CPUMASK_ALL, count_hit, hits);
	t0 = time_ns() - t0;
	for (unsigned c = 0; c < ncpus; c++) {
		KT_CHECK(hits[c] == ROUNDS, "cpu %u ran the function %d times", c, hits[c]);
		if (c != me)
			KT_CHECK(cpu_ipi_received(c) - recv0[c] >= ROUNDS,
				 "cpu %u received %llu IPIs", c,
				 (unsigned long long)(cpu_ipi_received(c) - recv0[c]));
	}
	KT_CHECK(cpu_ipi_sent(me) - sent0 >= (uint64_t)ROUNDS * (ncpus - 1), "sent %llu",
		 (unsigned long long)(cpu_ipi_sent(me) - sent0));
	printk("# ipi: %u CPUs, %llu us per round trip to all\n", ncpus,
	       (unsigned long long)(t0 / ROUNDS / 1000));
}

KTEST(ipi_roundtrip_all_cpus)
{
	struct thread *t = thread_create("ktest_ipi", ipi_roundtrip_body, NULL, 0);

	KT_REQUIRE(t != NULL, "thread_create");
	thread_join(t);
}

/* ktest_crash_deref: fault on purpose (crash_selftest). */
__attribute__((noinline)) static int ktest_crash_deref(volatile int *p)
{
	return p[2];
}

KTEST(crash_selftest)
{
	printk("# crash_selftest: reading address 0x8 on cpu %u\n", cpu_self());
	ktest_crash_deref(NULL);
	KT_CHECK(false, "survived a NULL dereference");
}

/* ktest_recurse: use 512 bytes of stack per level, forever. The addition
 * after the call keeps it from becoming a loop. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winfinite-recursion"
__attribute__((noinline)) static int ktest_recurse(volatile char *prev, int depth)
{
	volatile char buf[512];

	buf[0] = (char)depth;
	buf[1] = prev ? prev[0] : 0;
	return ktest_recurse(buf, depth + 1) + buf[0];
}
#pragma GCC diagnostic pop

static void overflow_thread(void *arg)
{
	printk("# crash_stack_overflow: recursing on a %u KiB stack, guard at %p\n",
	       KSTACK_SIZE >> 10, (void *)kstack_guard_of(thread_self()->stack_top));
	ktest_recurse(NULL, 0);
}

/* The guard page under a kernel stack: overflowing it must fault, the fault
 * cannot be delivered on the dead stack, and the double fault, on its IST
 * stack, reports it and exits QEMU with failure. */
KTEST(crash_stack_overflow)
{
	struct thread *t = thread_create("overflow", overflow_thread, NULL, -1);

	KT_REQUIRE(t != NULL, "thread_create");
	thread_join(t);
	KT_CHECK(false, "survived a kernel stack overflow");
}

static int concurrent_hits[NCPU_MAX];

static void concurrent_caller(void *arg)
{
	for (int i = 0; i < 50; i++)
		smp_call(CPUMASK_ALL, count_hit, concurrent_hits);
}

/* Every CPU calls every CPU at once (the shape of simultaneous TLB
 * shootdowns): callers wait with interrupts on, so they serve each other's
 * requests and nobody deadlocks; every request runs exactly once. */
KTEST(ipi_concurrent_callers)
{
	void *args[NCPU_MAX] = { 0 };

	memset(concurrent_hits, 0, sizeof(concurrent_hits));
	ktest_on_each_cpu(concurrent_caller, args);
	for (unsigned c = 0; c < ncpus; c++)
		KT_CHECK(concurrent_hits[c] == 50 * (int)ncpus, "cpu %u ran %d calls, expected %d",
			 c, concurrent_hits[c], 50 * (int)ncpus);
}
