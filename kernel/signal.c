/*
 * kernel/signal.c - signal delivery.
 *
 * Synchronous faults take the default action: the process is killed with a
 * one-line log naming the signal, the address and the instruction.
 */
#include "kernel/signal.h"
#include "kernel/proc.h"
#include "kernel/printk.h"
#include "kernel/sched.h"
#include "arch/cpu.h"
#include "arch/x86.h"

void signal_fault(struct trap_frame *tf, int sig, int code, uint64_t addr)
{
	pr_err("signal %d (code %d) at %016lx, rip %016lx: killing thread %s\n", sig, code,
	       addr, tf->rip, thread_self()->name);
	irq_enable();
	proc_exit_signal(sig);
}
