/*
 * kernel/percpu.h - struct cpu, one per CPU, reached through GS.
 *
 * CPU ids are dense (0 = boot CPU, then APs in MADT order). cpus[] is static
 * so per-CPU data exists before any allocator. Legend: (C) constant after the
 * CPU comes online; (O) written only by the owning CPU; (A) atomic.
 */
#ifndef KESTREL_KERNEL_PERCPU_H
#define KESTREL_KERNEL_PERCPU_H

#include "sync/env.h"
#include "arch/cpu.h"

struct thread;

struct cpu {
	struct cpu_hot hot;		/* must be first: %gs:0 */
	uint32_t apic_id;		/* (C) local APIC id from the MADT */
	int online;			/* (A) set once the CPU runs its idle loop */
	struct thread *idle;		/* (C) */
	uint64_t ticks;			/* (O) timer interrupts taken */
	uint64_t ipi_sent;		/* (A) IPIs this CPU sent */
	uint64_t ipi_received;		/* (A) IPIs this CPU handled */
	struct arch_cpu arch;		/* (C) descriptor tables, IST stacks */
} __cacheline_aligned;

extern struct cpu cpus[NCPU_MAX];
extern unsigned ncpus;		/* (C) CPUs that will be started */

static inline struct cpu *this_cpu(void)
{
	return (struct cpu *)cpu_hot_self();
}

static inline struct cpu *cpu_get(unsigned id)
{
	return &cpus[id];
}

unsigned cpus_online(void);

#endif
