/*
 * arch/x86_64/trap.c - exception and interrupt dispatch, register dumps and
 * the symbolized backtrace.
 *
 * An exception in the kernel is always fatal: print the registers and a
 * backtrace through the frame-pointer chain (the kernel is built with
 * -fno-omit-frame-pointer), stop the other CPUs and exit QEMU with failure.
 * An NMI while a panic is in progress is the stop request: halt for good.
 */
#include "kernel/percpu.h"
#include "kernel/printk.h"
#include "kernel/machine.h"
#include "kernel/sched.h"
#include "arch/x86.h"
#include "arch/mmu.h"
#include "arch/apic.h"

bool user_trap(struct trap_frame *tf);	/* arch/x86_64/user_trap.c */
void user_trap_return(struct trap_frame *tf);

int cpus_stopped;	/* (A) CPUs that reported and halted after a panic NMI */
static irq_handler_t irq_handlers[256];	/* (C) set before interrupts are enabled */

extern const uint64_t ksyms_count;
extern const uint64_t ksyms_addrs[];
extern const uint32_t ksyms_offs[];
extern const char ksyms_names[];
extern char _text_start[], _text_end[];

static const char *const exc_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound", "#UD invalid opcode", "#NM no FPU", "#DF double fault", "coproc",
	"#TS invalid TSS", "#NP not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved", "#MF x87", "#AC alignment", "#MC machine check",
	"#XM SIMD", "#VE virtualization", "#CP control protection",
};

void irq_register(unsigned vector, irq_handler_t h)
{
	KASSERT(vector >= 32 && vector < 256, "irq_register: vector %u", vector);
	irq_handlers[vector] = h;
}

/* ksym_lookup: name of the function containing addr (binary search over the
 * table embedded at link time), its offset in *off; NULL if unknown. */
const char *ksym_lookup(uint64_t addr, uint64_t *off)
{
	uint64_t lo = 0, hi = ksyms_count;

	if (!hi || addr < ksyms_addrs[0] || addr >= (uint64_t)_text_end)
		return NULL;
	while (hi - lo > 1) {
		uint64_t mid = (lo + hi) / 2;

		if (ksyms_addrs[mid] <= addr)
			lo = mid;
		else
			hi = mid;
	}
	*off = addr - ksyms_addrs[lo];
	return ksyms_names + ksyms_offs[lo];
}

static void print_addr(const char *what, uint64_t a)
{
	uint64_t off;
	const char *s = ksym_lookup(a, &off);

	if (s)
		pr_err("%s %016lx %s+0x%lx\n", what, a, s, off);
	else
		pr_err("%s %016lx\n", what, a);
}

/* backtrace_print: follow saved rbp links while they stay in kernel memory. */
void backtrace_print(uint64_t rbp)
{
	pr_err("backtrace:\n");
	for (int depth = 0; depth < 24 && rbp >= DIRECT_MAP && !(rbp & 7); depth++) {
		uint64_t *fp = (uint64_t *)rbp;
		uint64_t ret = fp[1];

		if (ret < (uint64_t)_text_start || ret >= (uint64_t)_text_end)
			break;
		print_addr("  ", ret);
		if (fp[0] <= rbp)
			break;		/* frames grow upwards; stop on a loop */
		rbp = fp[0];
	}
}

static void trap_dump(const struct trap_frame *tf)
{
	pr_err("rax %016lx rbx %016lx rcx %016lx rdx %016lx\n", tf->rax, tf->rbx, tf->rcx, tf->rdx);
	pr_err("rsi %016lx rdi %016lx rbp %016lx rsp %016lx\n", tf->rsi, tf->rdi, tf->rbp, tf->rsp);
	pr_err("r8  %016lx r9  %016lx r10 %016lx r11 %016lx\n", tf->r8, tf->r9, tf->r10, tf->r11);
	pr_err("r12 %016lx r13 %016lx r14 %016lx r15 %016lx\n", tf->r12, tf->r13, tf->r14, tf->r15);
	pr_err("rflags %016lx cs %lx ss %lx cr2 %016lx cr3 %016lx\n", tf->rflags, tf->cs,
	       tf->ss, read_cr2(), read_cr3());
	print_addr("rip", tf->rip);
}

/* trap_fatal: report an exception and end the machine. */
static __attribute__((noreturn)) void trap_fatal(struct trap_frame *tf)
{
	const char *name = tf->vector < 32 && exc_names[tf->vector] ? exc_names[tf->vector] : "?";

	if (panic_begin())
		smp_stop_others();
	pr_err("EXCEPTION %lu (%s) error %lx on cpu %u\n", tf->vector, name, tf->error, cpu_self());
	if (tf->vector == 14)
		pr_err("page fault at %016lx: %s %s%s\n", read_cr2(),
		       tf->error & 1 ? "protection" : "not-present",
		       tf->error & 2 ? "write" : "read", tf->error & 16 ? " (exec)" : "");
	trap_dump(tf);
	if (tf->vector == 8)
		pr_err("double fault: kernel stack overflow into a guard page?\n");
	backtrace_print(tf->rbp);
	machine_exit(false);
}

void trap_dispatch(struct trap_frame *tf)
{
	unsigned v = (unsigned)tf->vector;

	if (v == 2 && panic_cpu >= 0 && panic_cpu != (int)cpu_self()) {
		/* smp_stop_others(): say where this CPU was, then stop. */
		print_addr("stopped at", tf->rip);
		backtrace_print(tf->rbp);
		ck_pr_inc_int(&cpus_stopped);
		halt_forever();
	}
	if (v < 32 && user_trap(tf))	/* user faults, usercopy fixups */
		return;
	if (v < 32)
		trap_fatal(tf);
	if (v == VEC_SPURIOUS)
		return;
	if (!irq_handlers[v])
		panic("trap_dispatch: unexpected vector %u", v);
	irq_handlers[v](tf);
	/* Preempt on the way out when the interrupted code allowed it. */
	if ((tf->rflags & RFLAGS_IF) && preempt_count() == 0 &&
	    ck_pr_load_int(&this_cpu()->hot.need_resched))
		sched_preempt_irq();
	user_trap_return(tf);	/* a thread of an exiting process leaves */
}
