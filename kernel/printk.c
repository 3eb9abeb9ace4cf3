/* kernel/printk.c - console output, log levels and panic. */
#include <ck_pr.h>
#include "kernel/printk.h"
#include "kernel/machine.h"
#include "arch/x86.h"

int printk_loglevel = LOG_INFO;
volatile int panic_cpu = -1;

/* Console lock: (A) holder's CPU id + 1, 0 when free. Not a struct
 * spinlock: printk must work before per-CPU data and inside panic. */
static int console_owner;

/* console_lock: take the console with IRQs off; returns the saved flags.
 * A panicking CPU takes the console from whoever holds it. */
static uint64_t console_lock(bool *taken)
{
	uint64_t f = irq_save();
	int me = (int)cpu_self() + 1;

	*taken = false;
	if (ck_pr_load_int(&console_owner) == me)
		return f;		/* nested (a fault inside printk) */
	while (!ck_pr_cas_int(&console_owner, 0, me)) {
		if (panic_cpu == me - 1)
			return f;
		cpu_relax();
	}
	*taken = true;
	return f;
}

static void console_unlock(uint64_t f, bool taken)
{
	if (taken)
		ck_pr_store_int(&console_owner, 0);	/* ck: x86 store is a release */
	irq_restore(f);
}

void printk_raw(const char *s)
{
	bool taken;
	uint64_t f = console_lock(&taken);

	serial_write(s, strlen(s));
	console_unlock(f, taken);
}

void vklog(int level, const char *fmt, va_list ap)
{
	char buf[320];
	uint64_t us = time_ns() / 1000;
	int n;

	if (level > printk_loglevel)
		return;
	n = snprintf(buf, sizeof(buf), "[%5llu.%06llu] c%u ",
		     (unsigned long long)(us / 1000000), (unsigned long long)(us % 1000000),
		     cpu_self());
	vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	printk_raw(buf);
}

void klog(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vklog(level, fmt, ap);
	va_end(ap);
}

void printk(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vklog(LOG_INFO, fmt, ap);
	va_end(ap);
}

bool panic_begin(void)
{
	irq_disable();
	if (!ck_pr_cas_int((int *)&panic_cpu, -1, (int)cpu_self())) {
		if (panic_cpu != (int)cpu_self())
			halt_forever();
		return false;	/* recursive panic on the panicking CPU */
	}
	return true;
}

/* panic: stop the other CPUs, print the message and a backtrace, exit QEMU
 * with a failure status. Never returns. */
void panic(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (!panic_begin())
		machine_exit(false);
	smp_stop_others();
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	pr_err("PANIC: %s\n", buf);
	backtrace_print((uint64_t)__builtin_frame_address(0));
	machine_exit(false);
}
