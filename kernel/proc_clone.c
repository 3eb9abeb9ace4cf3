/*
 * kernel/proc_clone.c - clone(2) for threads (what musl's pthread_create
 * asks for): a new kernel thread in the same process and address space,
 * starting in user mode on the caller's syscall frame with RAX 0 and the
 * new stack, TLS and tid bookkeeping that the flags request; a clone that
 * shares nothing is fork, and one with CLONE_VM and/or CLONE_VFORK but no
 * CLONE_THREAD is a process sharing or borrowing the address space
 * (kernel/proc_fork.c). Also fork, vfork and wait4.
 */
#include "kernel/syscall.h"
#include "kernel/signal.h"
#include "kernel/sched.h"
#include "kernel/printk.h"
#include "arch/cpu.h"

#define CLONE_VM		0x00000100
#define CLONE_FS		0x00000200
#define CLONE_FILES		0x00000400
#define CLONE_SIGHAND		0x00000800
#define CLONE_VFORK		0x00004000
#define CLONE_THREAD		0x00010000
#define CLONE_SYSVSEM		0x00040000
#define CLONE_SETTLS		0x00080000
#define CLONE_PARENT_SETTID	0x00100000
#define CLONE_CHILD_CLEARTID	0x00200000
#define CLONE_DETACHED		0x00400000
#define CLONE_CHILD_SETTID	0x01000000
#define CLONE_THREAD_FLAGS	(CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD)
#define CLONE_KNOWN		(CLONE_THREAD_FLAGS | CLONE_SYSVSEM | CLONE_SETTLS | \
				 CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | \
				 CLONE_DETACHED | CLONE_CHILD_SETTID | 0xff)

__attribute__((noreturn)) void user_return(struct trap_frame *tf);

struct clone_start {
	struct uthread *ut;
	struct trap_frame tf;
};

static void clone_main(void *arg)
{
	struct clone_start *cs = arg;
	struct trap_frame tf = cs->tf;

	user_adopt(cs->ut);
	env_free(cs, sizeof(*cs));
	proc_check_exit();	/* the process may have exited meanwhile */
	user_return(&tf);
}

/* clone_uthread: the new thread's user state, inheriting mask and TLS. */
static struct uthread *clone_uthread(struct uthread *parent, uint64_t flags, uint64_t tls,
				     uint64_t child_tid)
{
	struct uthread *ut = env_alloc(sizeof(*ut));

	if (!ut)
		return NULL;
	memset(ut, 0, sizeof(*ut));
	ut->mm = parent->mm;
	ut->proc = parent->proc;
	ut->tid = proc_alloc_tid();
	ut->sigmask = parent->sigmask;
	ut->fsbase = flags & CLONE_SETTLS ? tls : parent->fsbase;
	ut->clear_tid = flags & CLONE_CHILD_CLEARTID ? child_tid : 0;
	return ut;
}

long sys_clone(uint64_t flags, uint64_t newsp, uint64_t parent_tid, uint64_t child_tid,
	       uint64_t tls, uint64_t a5)
{
	struct uthread *self = thread_self()->user, *ut;
	struct proc *p = self->proc;
	struct proc_thread *pt;
	struct clone_start *cs;
	struct thread *t;
	int tid;

	if (!(flags & ~(uint64_t)(CLONE_VM | CLONE_VFORK | 0xff)))	/* a process */
		return proc_fork(self->tf, flags, newsp);
	if ((flags & CLONE_THREAD_FLAGS) != CLONE_THREAD_FLAGS)
		return -EINVAL;	/* partial sharing is not supported */
	if ((flags & ~(uint64_t)CLONE_KNOWN) || (flags & 0xff) || (tls >= USER_VA_END))
		return -EINVAL;
	ut = clone_uthread(self, flags, tls, child_tid);
	cs = env_alloc(sizeof(*cs));
	pt = proc_thread_new();
	if (!ut || !cs || !pt)
		goto out_nomem;
	tid = ut->tid;
	cs->ut = ut;
	cs->tf = *self->tf;
	cs->tf.rax = 0;
	if (newsp)
		cs->tf.rsp = newsp;
	if ((flags & CLONE_PARENT_SETTID) && copy_to_user(parent_tid, &tid, 4))
		goto out_fault;
	if ((flags & CLONE_CHILD_SETTID) && copy_to_user(child_tid, &tid, 4))
		goto out_fault;
	ck_pr_inc_int(&p->nthreads);
	t = thread_create(p->name, clone_main, cs, -1);
	if (!t) {
		ck_pr_dec_int(&p->nthreads);
		goto out_nomem;
	}
	proc_thread_link(p, pt, t, ut);
	return tid;

out_fault:
	env_free(ut, sizeof(*ut));
	env_free(cs, sizeof(*cs));
	env_free(pt, sizeof(struct proc_thread));
	return -EFAULT;
out_nomem:
	env_free(ut, sizeof(*ut));
	env_free(cs, sizeof(*cs));
	env_free(pt, sizeof(struct proc_thread));
	return -ENOMEM;
}

long sys_exit_thread(uint64_t code, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
		     uint64_t a5)
{
	struct proc *p = proc_self();

	ck_pr_store_int(&p->exit_status, (int)((code & 0xff) << 8));	/* if it is the last */
	proc_thread_exit();
}

long sys_fork(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	return proc_fork(thread_self()->user->tf, SIGCHLD, 0);
}

/* sys_vfork: clone(CLONE_VM | CLONE_VFORK | SIGCHLD) on the same stack. */
long sys_vfork(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	return proc_fork(thread_self()->user->tf, CLONE_VM | CLONE_VFORK | SIGCHLD, 0);
}

long sys_wait4(uint64_t pid, uint64_t ustatus, uint64_t options, uint64_t urusage,
	       uint64_t a4, uint64_t a5)
{
	static const uint8_t zero[144];
	int status = 0;
	long r;

	if (options & ~(uint64_t)(1 | 2 | 8 | 0x40000000 | 0x80000000 | 0x20000000))
		return -EINVAL;
	if ((int)pid == INT32_MIN)
		return -3;	/* ESRCH: -pid overflows (Linux) */
	r = proc_wait4((int)pid, &status, options & 1);
	if (r > 0 && ustatus && copy_to_user(ustatus, &status, sizeof(status)))
		return -EFAULT;
	if (r > 0 && urusage && copy_to_user(urusage, zero, sizeof(zero)))
		return -EFAULT;
	return r;
}
