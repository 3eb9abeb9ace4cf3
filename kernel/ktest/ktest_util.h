/*
 * kernel/ktest/ktest_util.h - helpers shared by the in-kernel tests: run a
 * function in one pinned thread per online CPU, all released together.
 */
#ifndef KESTREL_KTEST_UTIL_H
#define KESTREL_KTEST_UTIL_H

#include "kernel/ktest.h"
#include "kernel/sched.h"
#include "kernel/percpu.h"

struct ktest_each {
	void (*fn)(void *);
	void *arg;
	int *ready;
};

static int ktest_each_ready;	/* (A) workers waiting at the start line */

/* ktest_each_body: wait until every CPU's worker exists, then run. Without
 * the start line, workers created one after another might never overlap. */
static inline void ktest_each_body(void *p)
{
	struct ktest_each *e = p;

	ck_pr_inc_int(e->ready);
	while (ck_pr_load_int(e->ready) < (int)ncpus)
		cpu_relax();
	e->fn(e->arg);
}

/* ktest_on_each_cpu: run fn(args[c]) in a thread pinned on every CPU c,
 * concurrently; returns once all have finished. */
static inline void ktest_on_each_cpu(void (*fn)(void *), void *const args[])
{
	struct thread *t[NCPU_MAX];
	static struct ktest_each each[NCPU_MAX];

	ck_pr_store_int(&ktest_each_ready, 0);
	for (unsigned c = 0; c < ncpus; c++) {
		each[c] = (struct ktest_each){ fn, args[c], &ktest_each_ready };
		t[c] = thread_create("ktest", ktest_each_body, &each[c], (int)c);
		if (!t[c])
			ck_pr_inc_int(&ktest_each_ready);	/* do not block the others */
	}
	for (unsigned c = 0; c < ncpus; c++) {
		KT_CHECK(t[c] != NULL, "thread_create on cpu %u", c);
		if (t[c])
			thread_join(t[c]);
	}
}

#endif
