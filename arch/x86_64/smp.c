/*
 * arch/x86_64/smp.c - bring the application processors up and stop them.
 *
 * APs are started one at a time: the BSP gives the AP its idle thread's
 * (guarded) stack and struct cpu through boot_ap_stack/boot_ap_arg, sends
 * INIT, SIPI, SIPI (the second only if the first did not take), and waits for
 * the AP to mark itself online before starting the next.
 */
#include "kernel/percpu.h"
#include "kernel/printk.h"
#include "kernel/machine.h"
#include "kernel/sched.h"
#include "sync/rcu.h"
#include "arch/apic.h"
#include "arch/paging.h"
#include "arch/mmu.h"
#include "arch/x86.h"

struct cpu cpus[NCPU_MAX];
unsigned ncpus = 1;
static bool smp_started;

extern char trampoline_start[], trampoline_end[];
extern volatile uint64_t boot_ap_stack, boot_ap_arg;

unsigned cpu_count(void)
{
	return ncpus;
}

unsigned cpus_online(void)
{
	unsigned n = 0;

	for (unsigned c = 0; c < ncpus; c++)
		n += ck_pr_load_int(&cpus[c].online) != 0;
	return n;
}

/* smp_ap_entry: first C code of an AP, on its idle thread's stack with the
 * kernel page tables loaded (boot.S). */
void smp_ap_entry(struct cpu *c)
{
	cpu_set_gs(c);
	cpu_tables_init(c);
	lapic_init();
	lapic_timer_start(SCHED_HZ);
	printk("cpu%u: apic %u online\n", c->hot.id, lapic_id());
	sched_cpu_start();
}

/* smp_start_ap: start CPU id; false if it did not come online in time. */
static bool smp_start_ap(unsigned id)
{
	struct cpu *c = &cpus[id];
	struct thread *idle = sched_idle_create(id);
	uint64_t deadline;

	boot_ap_stack = idle->stack_top;
	boot_ap_arg = (uint64_t)c;
	ck_pr_fence_store();	/* the AP reads these after it starts */
	lapic_send_init(c->apic_id);
	delay_us(10000);
	for (int sipi = 0; sipi < 2 && !ck_pr_load_int(&c->online); sipi++) {
		lapic_send_sipi(c->apic_id, TRAMPOLINE_PA >> 12);
		deadline = time_ns() + (sipi ? 2000000000ull : 200000000ull);
		while (!ck_pr_load_int(&c->online) && time_ns() < deadline)
			cpu_relax();
	}
	return ck_pr_load_int(&c->online);
}

/* smp_boot: assign CPU ids from the MADT (the BSP is 0), honour smp=N and
 * start every AP. */
void smp_boot(unsigned max)
{
	uint32_t bsp = lapic_id();

	cpus[0].apic_id = bsp;
	for (unsigned i = 0; i < acpi.ncpus && ncpus < max && ncpus < NCPU_MAX; i++) {
		if (acpi.apic_ids[i] == bsp)
			continue;
		cpus[ncpus].hot.id = ncpus;
		cpus[ncpus].apic_id = acpi.apic_ids[i];
		ncpus++;
	}
	for (unsigned c = 0; c < ncpus; c++)
		rcu_cpu_init(c);
	memcpy(pa_to_va(TRAMPOLINE_PA), trampoline_start, trampoline_end - trampoline_start);
	smp_started = true;
	for (unsigned id = 1; id < ncpus; id++)
		if (!smp_start_ap(id))
			panic("smp_boot: cpu %u (apic %u) did not come online", id, cpus[id].apic_id);
	boot_ap_stack = 0;
}

extern int cpus_stopped;	/* trap.c */

/* smp_stop_others: NMI every other CPU; each prints where it was and halts.
 * Waits up to 200 ms for their reports so they reach the log before exit. */
void smp_stop_others(void)
{
	uint64_t deadline;

	if (!smp_started)
		return;
	lapic_send_nmi_others();
	deadline = time_ns() + 200000000ull;
	while (ck_pr_load_int(&cpus_stopped) < (int)cpus_online() - 1 && time_ns() < deadline)
		cpu_relax();
}
