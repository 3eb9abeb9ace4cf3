/*
 * arch/x86_64/smp.c - bring the application processors up and stop them.
 *
 * APs are started together: the BSP publishes each AP's idle-thread stack
 * (guarded) and struct cpu in tables indexed by APIC id, sends INIT to all,
 * waits 10 ms once, sends SIPI to all (and a second SIPI to any that did not
 * take) and waits for every AP to mark itself online.
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
extern volatile int boot_aps_starting;
extern uint64_t boot_ap_stacks[256], boot_ap_args[256];

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

/* smp_wait_online: wait until CPUs [1, ncpus) are online or ns pass. */
static bool smp_wait_online(uint64_t ns)
{
	uint64_t deadline = time_ns() + ns;

	while (cpus_online() < ncpus - 1 && time_ns() < deadline)
		cpu_relax();
	return cpus_online() == ncpus - 1;
}

/* smp_start_aps: INIT every AP, one 10 ms wait, SIPI each; a second SIPI
 * for any AP not online after 200 ms. The APs come up in parallel: each
 * finds its stack and struct cpu by APIC id (boot.S). */
static void smp_start_aps(void)
{
	for (unsigned id = 1; id < ncpus; id++) {
		uint32_t apic = cpus[id].apic_id;

		KASSERT(apic < 256, "smp_start_aps: x2APIC id %u", apic);
		boot_ap_stacks[apic] = sched_idle_create(id)->stack_top;
		boot_ap_args[apic] = (uint64_t)&cpus[id];
	}
	boot_aps_starting = 1;
	ck_pr_fence_store();	/* slots and flag before the first INIT */
	for (unsigned id = 1; id < ncpus; id++)
		lapic_send_init(cpus[id].apic_id);
	delay_us(10000);
	for (unsigned id = 1; id < ncpus; id++)
		lapic_send_sipi(cpus[id].apic_id, TRAMPOLINE_PA >> 12);
	if (smp_wait_online(200000000ull))
		return;
	for (unsigned id = 1; id < ncpus; id++)
		if (!ck_pr_load_int(&cpus[id].online))
			lapic_send_sipi(cpus[id].apic_id, TRAMPOLINE_PA >> 12);
	if (smp_wait_online(2000000000ull))
		return;
	for (unsigned id = 1; id < ncpus; id++)
		if (!ck_pr_load_int(&cpus[id].online))
			panic("smp_start_aps: cpu %u (apic %u) did not come online", id,
			      cpus[id].apic_id);
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
	if (ncpus > 1)
		smp_start_aps();
	boot_aps_starting = 0;
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
