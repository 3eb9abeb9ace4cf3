/*
 * kernel/syscall.h - the Linux x86_64 system call table.
 *
 * A handler gets the six argument registers and returns a value or a
 * negative errno, exactly what user space sees in RAX.
 */
#ifndef KESTREL_KERNEL_SYSCALL_H
#define KESTREL_KERNEL_SYSCALL_H

#include "kernel/proc.h"

typedef long (*syscall_fn)(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3,
			   uint64_t a4, uint64_t a5);

#define SYS_MAX 335

/* Handlers (kernel/sys_*.c). */
long sys_read(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_write(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_writev(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_readv(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_open(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_openat(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_close(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_lseek(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_ioctl(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_mmap(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_munmap(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_mprotect(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_mremap(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_madvise(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_msync(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_brk(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_exit(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_getpid(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_getppid(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_gettid(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_arch_prctl(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_set_tid_address(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_uname(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_clock_gettime(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_nanosleep(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_sched_yield(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_rt_sigprocmask(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_rt_sigaction(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_rt_sigreturn(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_clone(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_exit_thread(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_fork(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_vfork(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_sigaltstack(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_setpgid(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_getpgid(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_getpgrp(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_wait4(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_futex(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_prlimit64(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_kill(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_tgkill(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_tkill(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_execve(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_getcpu(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);
long sys_getrandom(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);

#endif
