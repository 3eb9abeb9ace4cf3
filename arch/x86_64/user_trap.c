/*
 * arch/x86_64/user_trap.c - exceptions that concern user memory or user mode.
 *
 * user_trap() is called by trap_dispatch() for every exception vector
 * before it treats the exception as a fatal kernel error:
 *   #PF from user mode         mm fault path (lock-free first, then the
 *                              locked fallback: fault_handle); on failure
 *                              SIGSEGV/SIGBUS to the thread
 *   #PF in usercopy.S          the same fault path; on failure resume at
 *                              uaccess_fixup, which returns -EFAULT
 *   other exceptions, user     the matching signal (SIGILL, SIGFPE, ...)
 * It returns false for everything else (a kernel bug: trap_fatal reports).
 *
 * The fault path may sleep (mm->lock) and sends shootdown IPIs, which need
 * interrupts on: they are re-enabled if the interrupted context had them.
 * A usercopy fault with preemption disabled (a caller inside a spinlock or
 * RCU section) is not resolved but turned into -EFAULT.
 */
#include "kernel/proc.h"
#include "mm/vma.h"
#include "kernel/sched.h"
#include "kernel/printk.h"
#include "kernel/signal.h"
#include "arch/x86.h"
#include "arch/cpu.h"

extern char uaccess_begin[], uaccess_end[], uaccess_fixup[];

#define PF_PRESENT	0x1
#define PF_WRITE	0x2
#define PF_USER		0x4
#define PF_RSVD		0x8
#define PF_INSTR	0x10

static bool in_uaccess(uint64_t rip)
{
	return rip >= (uint64_t)uaccess_begin && rip < (uint64_t)uaccess_end;
}

/* pf_resolve: run the mm fault path for va in the current thread's mm. */
static int pf_resolve(struct trap_frame *tf, uint64_t va)
{
	struct uthread *ut = thread_self()->user;
	unsigned access = (tf->error & PF_WRITE ? FAULT_WRITE : FAULT_READ) |
			  (tf->error & PF_INSTR ? FAULT_EXEC : 0);
	int err;

	if (!ut || !ut->mm || va >= USER_VA_END || (tf->error & PF_RSVD))
		return -EFAULT;
	if (tf->rflags & RFLAGS_IF)
		irq_enable();
	err = fault_handle(ut->mm, va, access);
	irq_disable();
	return err;
}

/* pf_segv_code: the fault failed: SEGV_ACCERR if a mapping covers va but
 * forbids the access, SEGV_MAPERR if none covers it (as Linux), or 0 if a
 * mapping now allows it: the address space changed after the fault path
 * looked (a racing mmap or mprotect), so the access is retried and takes
 * effect after that change. */
static int pf_segv_code(struct trap_frame *tf, uint64_t va)
{
	struct mm *mm = thread_self()->user->mm;
	int need = tf->error & PF_WRITE ? PROT_WRITE : tf->error & PF_INSTR ? PROT_EXEC : PROT_READ;
	struct vma *v;
	int code;

	irq_enable();
	mm_lock_read(mm);
	v = va < USER_VA_END ? vma_find(mm, va) : NULL;
	code = !v ? SEGV_MAPERR : (v->prot & need) ? 0 : SEGV_ACCERR;
	mm_unlock_read(mm);
	irq_disable();
	return code;
}

/* user_pf: a page fault; true if handled (resolved, fixed up or signalled). */
static bool user_pf(struct trap_frame *tf)
{
	uint64_t va = read_cr2();
	bool user = tf->cs & 3;
	int err;

	if (!user && !in_uaccess(tf->rip))
		return false;
	if (!user && preempt_count() != 0) {
		tf->rip = (uint64_t)uaccess_fixup;
		return true;
	}
	err = pf_resolve(tf, va);
	if (!err)
		return true;
	if (!user) {
		tf->rip = (uint64_t)uaccess_fixup;
		return true;
	}
	if (err == -EFAULT) {
		int code = pf_segv_code(tf, va);

		if (code)
			signal_fault(tf, SIGSEGV, code, va);
	} else {
		signal_fault(tf, SIGBUS, BUS_ADRERR, va);
	}
	return true;
}

/* user_trap_return: an interrupt or exception is about to return to user
 * mode: a thread of an exiting process leaves instead. */
void user_trap_return(struct trap_frame *tf)
{
	if ((tf->cs & 3) && thread_self()->user)
		proc_return_work(tf);
}

bool user_trap(struct trap_frame *tf)
{
	static const int sigs[32] = {
		[0] = SIGFPE, [1] = SIGTRAP, [3] = SIGTRAP, [4] = SIGSEGV, [5] = SIGSEGV,
		[6] = SIGILL, [7] = SIGFPE, [13] = SIGSEGV, [12] = SIGBUS, [16] = SIGFPE,
		[17] = SIGBUS, [19] = SIGFPE,
	};

	if (tf->vector == 14) {
		bool handled = user_pf(tf);

		if (handled)
			user_trap_return(tf);
		return handled;
	}
	if (!(tf->cs & 3) || tf->vector >= 32 || !sigs[tf->vector])
		return false;
	signal_fault(tf, sigs[tf->vector], 0, tf->vector == 13 ? 0 : tf->rip);
	return true;
}
