/*
 * kernel/ktest/ktest_util.h - helpers shared by the in-kernel tests: run a
 * function in one pinned thread per online CPU and wait for all of them.
 */
#ifndef KESTREL_KTEST_UTIL_H
#define KESTREL_KTEST_UTIL_H

#include "kernel/ktest.h"
#include "kernel/sched.h"
#include "kernel/percpu.h"

/* ktest_on_each_cpu: run fn(arg, cpu) in a thread pinned on every online
 * CPU, concurrently; returns once all have finished. */
static inline void ktest_on_each_cpu(void (*fn)(void *), void *const args[])
{
	struct thread *t[NCPU_MAX];

	for (unsigned c = 0; c < ncpus; c++)
		t[c] = thread_create("ktest", fn, args[c], (int)c);
	for (unsigned c = 0; c < ncpus; c++) {
		KT_CHECK(t[c] != NULL, "thread_create on cpu %u", c);
		if (t[c])
			thread_join(t[c]);
	}
}

#endif
