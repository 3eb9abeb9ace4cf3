/*
 * kernel/main.c - boot sequence of the boot CPU, and the first kernel thread.
 *
 * Order matters: per-CPU GS before anything that logs; TSC calibration
 * before the first timestamp; the loader's data copied out before any page
 * is allocated; the full direct map before ACPI (its tables may sit anywhere
 * below 4 GiB); the heap before the APs (their idle threads are allocated).
 * Interrupts stay off on the boot CPU until it enters its idle loop.
 */
#include "kernel/printk.h"
#include "kernel/machine.h"
#include "kernel/bootinfo.h"
#include "kernel/percpu.h"
#include "kernel/sched.h"
#include "kernel/mem.h"
#include "kernel/smp_call.h"
#include "kernel/ktest.h"
#include "sync/rcu.h"
#include "arch/apic.h"
#include "arch/paging.h"
#include "arch/x86.h"

void smp_boot(unsigned max);
void demo_run(void);

static uint64_t t_online_ns;

static void timer_irq(struct trap_frame *tf)
{
	lapic_eoi();
	rcu_tick();		/* first: it samples the interrupted preempt_count */
	sched_tick();
	if (cpu_self() == 0)
		ktest_watchdog();
}

static void print_ms(const char *what, uint64_t ns)
{
	printk("boot: %s at %llu.%03llu ms after power-on\n", what,
	       (unsigned long long)(ns / 1000000), (unsigned long long)(ns / 1000 % 1000));
}

/* kmain_thread: the first scheduled thread: run tests or the demo. */
static void kmain_thread(void *arg)
{
	char sel[CMDLINE_MAX];

	print_ms("scheduler running (first thread)", time_ns());
	printk("boot: %u CPUs online at %llu ms, %llu free pages, tsc %llu MHz\n",
	       cpus_online(), (unsigned long long)(t_online_ns / 1000000),
	       (unsigned long long)page_free_count(), (unsigned long long)(tsc_hz / 1000000));
	if (cmdline_str("ktest", sel, sizeof(sel)))
		ktest_run(sel);
	demo_run();
}

static void memory_init(void)
{
	paging_init();
	bootmem_handover();
	paging_use_page_alloc();
}

static void interrupts_init(void)
{
	acpi_init();
	pic_disable();
	lapic_init();
	ioapic_init();
	lapic_timer_calibrate();
	irq_register(VEC_TIMER, timer_irq);
	smp_call_init();
}

void kmain(uint32_t magic, uint32_t mbi_pa)
{
	uint64_t t_entry;

	cpu_set_gs(&cpus[0]);
	serial_init();
	tsc_calibrate();
	t_entry = time_ns() - TSC_CAL_TOTAL_MS * 1000000ull;	/* before the calibration */
	bootinfo_parse(magic, mbi_pa);
	printk_loglevel = (int)cmdline_int("loglevel", LOG_INFO);
	printk("Kestrel x86_64: booting, tsc %llu kHz\n", (unsigned long long)(tsc_hz / 1000));
	print_ms("kernel entry (kmain)", t_entry);
	bootinfo_print();
	cpu_tables_init(&cpus[0]);
	sched_init();
	memory_init();
	interrupts_init();
	smp_boot((unsigned)cmdline_int("smp", NCPU_MAX));
	ck_pr_store_int(&cpus[0].online, 1);
	t_online_ns = time_ns();
	print_ms("all CPUs online", t_online_ns);
	rcu_start_threads();
	if (!thread_create("main", kmain_thread, NULL, -1))
		panic("kmain: cannot create the main thread");
	lapic_timer_start(SCHED_HZ);
	sched_cpu_start();
}
