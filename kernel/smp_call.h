/*
 * kernel/smp_call.h - run a function on a set of CPUs and wait for it.
 *
 *   smp_call(mask, fn, arg)   run fn(arg) on every online CPU in mask (bit c
 *                             = CPU c), in interrupt context with IRQs off on
 *                             the remote CPUs and on the caller; return when
 *                             all have finished. The caller must have IRQs
 *                             enabled: two CPUs calling each other must be
 *                             able to serve each other's requests while they
 *                             wait. fn must not sleep.
 *   cpu_ipi_sent(c), cpu_ipi_received(c)   per-CPU IPI counters
 */
#ifndef KESTREL_KERNEL_SMP_CALL_H
#define KESTREL_KERNEL_SMP_CALL_H

#include "sync/env.h"

typedef uint64_t cpumask_t;
#define CPUMASK_ALL (~(cpumask_t)0)

void smp_call(cpumask_t mask, void (*fn)(void *), void *arg);
void smp_call_init(void);
uint64_t cpu_ipi_sent(unsigned cpu);
uint64_t cpu_ipi_received(unsigned cpu);

#endif
