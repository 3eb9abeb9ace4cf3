/*
 * kernel/signal.h - signals: Linux x86_64 numbers and the fault entry point.
 */
#ifndef KESTREL_KERNEL_SIGNAL_H
#define KESTREL_KERNEL_SIGNAL_H

#include "sync/env.h"

#define SIGHUP		1
#define SIGINT		2
#define SIGQUIT		3
#define SIGILL		4
#define SIGTRAP		5
#define SIGABRT		6
#define SIGBUS		7
#define SIGFPE		8
#define SIGKILL		9
#define SIGUSR1		10
#define SIGSEGV		11
#define SIGUSR2		12
#define SIGPIPE		13
#define SIGALRM		14
#define SIGTERM		15
#define SIGCHLD		17
#define NSIG		64

#define SI_USER		0	/* kill */
#define SI_TKILL	(-6)	/* tgkill */
#define CLD_EXITED	1
#define CLD_KILLED	2
#define SEGV_MAPERR	1
#define SEGV_ACCERR	2
#define BUS_ADRERR	2

struct trap_frame;
struct uthread;
struct proc;

/* struct ksiginfo - the source of a signal, as the handler's siginfo
 * reports it: a fault (code SEGV_x or BUS_x, addr), a sender (SI_USER,
 * SI_TKILL: pid, uid) or a child (SIGCHLD, CLD_*: pid, uid, status). */
struct ksiginfo {
	int32_t code;
	int32_t pid, uid, status;
	uint64_t addr;
};

/* Linux's stack_t (sigaltstack, ucontext's uc_stack). */
struct user_stack {
	uint64_t ss_sp;
	int32_t ss_flags, pad;
	uint64_t ss_size;
};

/* The alternate signal stack (kernel/signal_stack.c), all on the calling
 * thread's own ut. sas_on_stack: sp is on it. sas_frame_sp: the address
 * of a size-byte handler frame for a handler with sa_flags interrupting sp
 * (below the red zone, or at the top of the alternate stack), 0 if it would
 * overflow the alternate stack. sas_save: the setting as uc_stack records it.
 * sas_entered: a handler frame is on the alternate stack (SS_AUTODISARM
 * disarms it). sas_set: install ss (do_sigaltstack); 0, -EPERM while on
 * the stack, -EINVAL bad flags, -ENOMEM too small. */
bool sas_on_stack(const struct uthread *ut, uint64_t sp);
uint64_t sas_frame_sp(struct uthread *ut, uint64_t sp, uint64_t sa_flags, size_t size);
void sas_save(const struct uthread *ut, struct user_stack *ss);
void sas_entered(struct uthread *ut);
int sas_set(struct uthread *ut, uint64_t sp, const struct user_stack *ss);

/* signal_fault: a synchronous fault of the current user thread (tf is its
 * user frame): deliver sig to its handler, or apply the default action
 * (kill the process with a one-line log). Interrupts off on entry. */
void signal_fault(struct trap_frame *tf, int sig, int code, uint64_t addr);

/* signal_ignored: sig would be discarded by p (SIG_IGN, or SIG_DFL whose
 * default is to ignore); p->lock held. */
bool signal_ignored(struct proc *p, int sig);

/* signal_interrupts: a signal is pending for ut (its own thread) or for its
 * whole process, not blocked, and not ignored: an interruptible sleep should
 * end (-EINTR, or -ERESTARTSYS). */
bool signal_interrupts(struct uthread *ut);

/* signal_deliver: on the way back to user mode: run the handler of (or
 * apply the default action to) the lowest pending unblocked signal. */
void signal_deliver(struct trap_frame *tf);

/* signal_child_exit: child c is dead: send its exit signal (SIGCHLD for
 * fork) to its parent, with CLD_EXITED/CLD_KILLED, its pid and status
 * (kernel/signal_kill.c; proc_tree_lock held). The CPUs to proc_kick. */
uint64_t signal_child_exit(struct proc *c);
/* signal_fork_delayed: c, being published by a fork, gets the group
 * signals its parent received during the fork (d, kernel/proc.h), as if
 * sent to it (SI_USER from the first sender); tree lock held, c not started. */
struct fork_delayed;
void signal_fork_delayed(struct proc *c, const struct fork_delayed *d);
/* signal_retarget: the calling thread of p leaves, or blocks signals: if
 * process-directed signals are pending, wake p's sleeping threads and
 * interrupt its running ones, so one that does not block them takes them
 * (Linux's retarget_shared_pending; kernel/signal_kill.c). No lock held. */
void signal_retarget(struct proc *p);

#endif
