/*
 * kernel/syscall.c - system call dispatch (entered from arch/x86_64/syscall.S).
 *
 * Linux x86_64 convention: number in RAX, arguments in RDI, RSI, RDX, R10,
 * R8, R9, result (or -errno) in RAX. Handlers run with interrupts on and
 * may sleep. An unknown number returns -ENOSYS and is logged once.
 */
#include "kernel/syscall.h"
#include "kernel/printk.h"
#include "kernel/sched.h"
#include "kernel/percpu.h"
#include "arch/cpu.h"
#include "arch/x86.h"

#define SYSCALL(nr, fn) [nr] = fn

static const syscall_fn syscall_table[SYS_MAX] = {
	SYSCALL(0, sys_read), SYSCALL(1, sys_write), SYSCALL(2, sys_open),
	SYSCALL(3, sys_close), SYSCALL(8, sys_lseek), SYSCALL(9, sys_mmap),
	SYSCALL(10, sys_mprotect), SYSCALL(11, sys_munmap), SYSCALL(12, sys_brk), SYSCALL(13, sys_rt_sigaction), SYSCALL(15, sys_rt_sigreturn),
	SYSCALL(14, sys_rt_sigprocmask), SYSCALL(16, sys_ioctl), SYSCALL(19, sys_readv),
	SYSCALL(20, sys_writev), SYSCALL(24, sys_sched_yield), SYSCALL(25, sys_mremap),
	SYSCALL(26, sys_msync), SYSCALL(28, sys_madvise), SYSCALL(35, sys_nanosleep),
	SYSCALL(39, sys_getpid), SYSCALL(56, sys_clone), SYSCALL(57, sys_fork), SYSCALL(58, sys_vfork), SYSCALL(59, sys_execve), SYSCALL(61, sys_wait4), SYSCALL(62, sys_kill), SYSCALL(60, sys_exit_thread), SYSCALL(63, sys_uname),
	SYSCALL(109, sys_setpgid), SYSCALL(110, sys_getppid), SYSCALL(111, sys_getpgrp),
	SYSCALL(121, sys_getpgid), SYSCALL(131, sys_sigaltstack), SYSCALL(158, sys_arch_prctl), SYSCALL(186, sys_gettid), SYSCALL(200, sys_tkill), SYSCALL(202, sys_futex),
	SYSCALL(218, sys_set_tid_address), SYSCALL(228, sys_clock_gettime),
	SYSCALL(231, sys_exit), SYSCALL(234, sys_tgkill), SYSCALL(257, sys_openat), SYSCALL(302, sys_prlimit64), SYSCALL(309, sys_getcpu), SYSCALL(318, sys_getrandom),
};

static uint64_t syscall_logged[(SYS_MAX + 63) / 64 + 1];	/* (A) -ENOSYS logged once */

/* syscall_dispatch: run the call in tf (a frame from syscall_entry). */
void syscall_dispatch(struct trap_frame *tf)
{
	uint64_t nr = tf->rax;
	syscall_fn fn = nr < SYS_MAX ? syscall_table[nr] : NULL;
	struct uthread *ut = thread_self()->user;

	ut->tf = tf;
	irq_enable();
	if (fn) {
		tf->rax = (uint64_t)fn(tf->rdi, tf->rsi, tf->rdx, tf->r10, tf->r8, tf->r9);
	} else {
		uint64_t slot = nr < SYS_MAX ? nr : SYS_MAX;

		if (!(ck_pr_load_64(&syscall_logged[slot / 64]) & (1ull << (slot % 64)))) {
			ck_pr_or_64(&syscall_logged[slot / 64], 1ull << (slot % 64));
			pr_warn("syscall %llu not implemented (-ENOSYS)\n", (unsigned long long)nr);
		}
		tf->rax = (uint64_t)-ENOSYS;
	}
	if (tf->rax != (uint64_t)-ERESTART_RESTARTBLOCK)
		ut->restart_end = 0;	/* lives only across its own rewind */
	/* again after the signal; rt_sigreturn's RAX is the user's own */
	if ((tf->rax == (uint64_t)-ERESTARTNOINTR || tf->rax == (uint64_t)-ERESTARTSYS ||
	     tf->rax == (uint64_t)-ERESTART_RESTARTBLOCK) && fn != sys_rt_sigreturn) {
		ut->restart_sys = tf->rax == (uint64_t)-ERESTARTSYS;
		ut->restart_block = tf->rax == (uint64_t)-ERESTART_RESTARTBLOCK;
		tf->rax = nr;
		tf->rip -= 2;	/* SYSCALL is 0f 05 */
	}
	if (ck_pr_load_int(&this_cpu()->hot.need_resched))
		schedule();	/* preemption point on the way back to user mode */
	irq_disable();
	proc_return_work(tf);
	ut->restart_sys = ut->restart_block = false;
}
