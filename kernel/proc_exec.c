/*
 * kernel/proc_exec.c - execve(2): replace the calling process's image.
 *
 * Order (Linux's): copy the path, argv and envp in (kernel/proc_args.c:
 * -EFAULT, -E2BIG); build the new image in a fresh address space that only
 * the calling thread adopts (the loader writes the stack through
 * copy_to_user; the process's other threads keep running in the old one),
 * so a failure (missing file, bad ELF, no memory) switches back and
 * returns the error with the old image intact. Then de_thread: every other
 * thread leaves (proc_zap_others) and the caller takes over the
 * thread-group leader's id (tid == pid). Only then is the new mm published
 * as the process's and the old reference dropped (a vfork parent may still
 * hold it); a vfork parent is released.
 * Kept: pid, open files, ignored signals, the signal mask, pending
 * signals. Reset: handlers (to SIG_DFL), TLS, FPU state, clear_tid, the
 * alternate signal stack.
 */
#include "kernel/proc_internal.h"
#include "kernel/elf.h"
#include "arch/cpu.h"

#define EXEC_PATH_MAX 256

/* exec_copy_in: path, argv and envp from user memory; 0 or negative errno. */
static long exec_copy_in(char *path, struct exec_strs *s, uint64_t upath, uint64_t uargv,
			 uint64_t uenvp)
{
	long r = strncpy_from_user(path, upath, EXEC_PATH_MAX);

	if (r < 0)
		return r;
	if ((r = exec_strs_copy_user(s, uargv, false)))
		return r;
	if (!s->argc && (r = exec_strs_add(s, "", false)))
		return r;	/* Linux: an empty argv gets "" as argv[0] */
	return exec_strs_copy_user(s, uenvp, true);
}

/* exec_build: a new address space holding path's image with s's strings,
 * adopted by the calling thread; 0 and *out, or negative errno with the
 * thread back on the process's mm. */
static long exec_build(struct proc *p, struct uthread *ut, const char *path,
		       const struct exec_strs *s, struct mm_ref **out, uint64_t *entry,
		       uint64_t *sp)
{
	struct mm *mm = mm_create();
	struct mm_ref *ref = mm ? mm_ref_new(mm) : NULL;
	long err;

	if (!ref)
		return -ENOMEM;
	mm->rlimit_as = p->mm->rlimit_as;
	ut->mm = mm;
	user_adopt(ut);
	err = elf_exec(mm, path, s, entry, sp);
	if (err) {
		ut->mm = p->mm;
		user_adopt(ut);
		mm_ref_put(ref);	/* we left it: nobody runs it */
		return err;
	}
	*out = ref;
	return 0;
}

/* exec_reset: what a new image starts without (see the header). */
static void exec_reset(struct proc *p, struct uthread *ut, const char *path)
{
	spin_lock(&p->lock);
	for (unsigned i = 0; i < 64; i++)
		if (p->sigact[i].handler != 1)	/* SIG_IGN stays */
			memset(&p->sigact[i], 0, sizeof(p->sigact[i]));
	ut->tid = p->pid;	/* de_thread: the survivor is the leader now */
	spin_unlock(&p->lock);
	ut->fsbase = 0;
	ut->clear_tid = 0;
	ut->sas_sp = ut->sas_size = 0;
	ut->sas_flags = 0;
	ut->fpu_saved = false;
	__asm__ volatile("fninit");
	for (unsigned i = 0; i + 1 < sizeof(p->name) && (p->name[i] = path[i]); i++)
		p->name[i + 1] = 0;
}

/* exec_commit: the caller is p's only thread and runs in ref's mm: make
 * it the process's, drop the old one, release a vfork parent. */
static void exec_commit(struct proc *p, struct uthread *ut, struct mm_ref *ref,
			const char *path)
{
	struct mm_ref *old = p->mmref;

	p->mm = ref->mm;
	p->mmref = ref;
	mm_ref_put(old);	/* we left it; a vfork parent may still use it */
	spin_lock(&proc_tree_lock);
	p->execed = true;
	spin_unlock(&proc_tree_lock);
	proc_vfork_release(p);
	exec_reset(p, ut, path);
}

long sys_execve(uint64_t upath, uint64_t uargv, uint64_t uenvp, uint64_t a3, uint64_t a4,
		uint64_t a5)
{
	struct uthread *ut = thread_self()->user;
	struct proc *p = ut->proc;
	struct exec_strs s = { 0 };
	char *path = env_alloc(EXEC_PATH_MAX);
	struct mm_ref *ref;
	uint64_t entry, sp;
	long err;

	if (!path)
		return -ENOMEM;
	err = exec_copy_in(path, &s, upath, uargv, uenvp);
	if (!err && !elf_probe(path))
		err = -ENOENT;
	if (err || (err = exec_build(p, ut, path, &s, &ref, &entry, &sp)))
		goto out_free;
	if ((err = proc_zap_others(p, ut))) {	/* the process is exiting */
		ut->mm = p->mm;
		user_adopt(ut);
		mm_ref_put(ref);
		goto out_free;
	}
	exec_commit(p, ut, ref, path);
	memset(ut->tf, 0, offsetof(struct trap_frame, rip));	/* all registers 0 */
	ut->tf->rip = entry;
	ut->tf->rsp = sp;
	ut->tf->rflags = 0x202;
	ut->tf->rcx = 0;	/* != rip: leave through IRETQ, every register as set */
out_free:
	exec_strs_free(&s);
	env_free(path, EXEC_PATH_MAX);
	return err;
}
