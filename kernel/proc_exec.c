/*
 * kernel/proc_exec.c - execve(2): replace the calling process's image.
 *
 * The new image is built in a fresh address space that the thread adopts
 * first (the loader writes the stack through copy_to_user), so a failure
 * (missing file, bad ELF, no memory) switches back and returns the error
 * with the old image intact; only after success is the old mm destroyed.
 * Kept: pid, open files, ignored signals, the signal mask. Reset: handlers
 * (to SIG_DFL), TLS, FPU state, clear_tid. Only a single-threaded process
 * may exec (-EBUSY otherwise; Linux would kill the other threads first).
 * The environment is not passed (the new image gets an empty envp).
 */
#include "kernel/syscall.h"
#include "kernel/elf.h"
#include "kernel/sched.h"
#include "arch/cpu.h"

#define EXEC_ARG_MAX 256
#define ENAMETOOLONG_ 36
#define E2BIG_ 7

struct exec_args {
	char path[EXEC_ARG_MAX];
	char strs[PROC_MAX_ARGS][EXEC_ARG_MAX];
	char *argv[PROC_MAX_ARGS + 1];
};

/* exec_copy_args: path and argv from user memory; 0 or negative errno. */
static long exec_copy_args(struct exec_args *a, uint64_t upath, uint64_t uargv)
{
	long r = strncpy_from_user(a->path, upath, sizeof(a->path));
	unsigned n = 0;

	if (r < 0)
		return r;
	for (; uargv; n++) {
		uint64_t up;

		if (copy_from_user(&up, uargv + 8 * n, 8))
			return -EFAULT;
		if (!up)
			break;
		if (n == PROC_MAX_ARGS)
			return -E2BIG_;
		r = strncpy_from_user(a->strs[n], up, EXEC_ARG_MAX);
		if (r < 0)
			return r == -ENAMETOOLONG_ ? -E2BIG_ : r;
		a->argv[n] = a->strs[n];
	}
	a->argv[n] = NULL;
	return 0;
}

/* exec_switch: make p (and the calling thread) use mm. */
static void exec_switch(struct proc *p, struct uthread *ut, struct mm *mm)
{
	p->mm = mm;
	ut->mm = mm;
	user_adopt(ut);
}

/* exec_reset: what a new image starts without (see the header). */
static void exec_reset(struct proc *p, struct uthread *ut, const char *path)
{
	spin_lock(&p->lock);
	for (unsigned i = 0; i < 64; i++)
		if (p->sigact[i].handler != 1)	/* SIG_IGN stays */
			memset(&p->sigact[i], 0, sizeof(p->sigact[i]));
	spin_unlock(&p->lock);
	ut->fsbase = 0;
	ut->clear_tid = 0;
	ut->fpu_saved = false;
	__asm__ volatile("fninit");
	for (unsigned i = 0; i + 1 < sizeof(p->name) && (p->name[i] = path[i]); i++)
		p->name[i + 1] = 0;
}

long sys_execve(uint64_t upath, uint64_t uargv, uint64_t uenvp, uint64_t a3, uint64_t a4,
		uint64_t a5)
{
	struct uthread *ut = thread_self()->user;
	struct proc *p = ut->proc;
	struct exec_args *a = env_alloc(sizeof(*a));
	struct mm *old = p->mm, *mm;
	uint64_t entry, sp;
	long err;

	if (!a)
		return -ENOMEM;
	err = exec_copy_args(a, upath, uargv);
	if (!err && ck_pr_load_int(&p->nthreads) != 1)
		err = -EBUSY;
	if (!err && !elf_probe(a->path))
		err = -ENOENT;
	if (err)
		goto out_free;
	mm = mm_create();
	err = -ENOMEM;
	if (!mm)
		goto out_free;
	mm->rlimit_as = old->rlimit_as;
	exec_switch(p, ut, mm);
	err = elf_exec(p, a->path, a->argv, &entry, &sp);
	if (err) {
		exec_switch(p, ut, old);
		mm_destroy(mm);
		goto out_free;
	}
	mm_destroy(old);	/* no CPU runs it: we left it, and we are its only thread */
	exec_reset(p, ut, a->path);
	memset(ut->tf, 0, offsetof(struct trap_frame, rip));	/* all registers 0 */
	ut->tf->rip = entry;
	ut->tf->rsp = sp;
	ut->tf->rflags = 0x202;
	ut->tf->rcx = 0;	/* != rip: leave through IRETQ, every register as set */
out_free:
	env_free(a, sizeof(*a));
	return err;
}
