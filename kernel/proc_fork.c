/*
 * kernel/proc_fork.c - fork(2), vfork(2) and clone(2) without CLONE_THREAD.
 *
 * The child is a new process whose one thread returns to user mode on a
 * copy of the parent's syscall frame with RAX 0. Without CLONE_VM it gets a
 * copy-on-write copy of the address space (mm_fork); with CLONE_VM it runs
 * in the parent's own (a shared mm_ref, kernel/proc_mm.c).
 *
 * vfork (CLONE_VM | CLONE_VFORK, Linux's vfork_done completion): the
 * parent's thread sleeps on proc_wq until the child releases it, which
 * happens exactly once: at the child's successful execve, when the vfork'd
 * thread exits, or when the child process dies (kill included), whichever
 * comes first (proc_vfork_release takes c->vfork_done under proc_tree_lock
 * and clears it). The completion lives on the parent's kernel stack; a
 * parent that must leave early (its process is exiting) detaches it under
 * the same lock, so the child never writes a dead stack. Only a fatal exit
 * ends the wait early, as Linux's killable wait: other signals stay pending.
 *
 * Signals (as Linux's copy_process): one the caller has to take when the
 * fork starts is taken first (the fork restarts after it); group signals
 * that reach the parent while it forks reach the child too (struct
 * fork_delayed, proc_publish); a parent SIGKILLed meanwhile does not start
 * the child at all.
 *
 * Synchronization: kernel/proc_internal.h. A child cannot be freed while
 * its vfork_done is set: it is freed only after dead, and it releases
 * (clearing vfork_done) before it is marked dead.
 */
#include "kernel/proc_internal.h"
#include "kernel/file.h"
#include "arch/cpu.h"

#define CLONE_VM	0x00000100
#define CLONE_VFORK	0x00004000

__attribute__((noreturn)) void user_return(struct trap_frame *tf);

/* struct vfork_done - a vfork parent's completion (on its kernel stack). */
struct vfork_done {
	int done;	/* (T) the child released the parent */
};

struct fork_start {
	struct proc *p;
	struct proc_thread *pt;
	struct trap_frame tf;
};

/* proc_fork_main: the child's thread: record itself for proc_wait (before
 * it can exit, so a reaper always joins it), enter user mode on the copied
 * frame. */
static void proc_fork_main(void *arg)
{
	struct fork_start *fs = arg;
	struct trap_frame tf = fs->tf;

	fs->p->thread = thread_self();
	proc_thread_link(fs->p, fs->pt, thread_self(), &fs->p->ut);
	user_adopt(&fs->p->ut);
	env_free(fs, sizeof(*fs));
	proc_check_exit();	/* killed before it ever ran */
	user_return(&tf);
}

/* fork_inherit: what the child copies from the calling thread and p. */
static void fork_inherit(struct proc *p, struct proc *c)
{
	struct uthread *self = thread_self()->user;

	for (int fd = 0; fd < PROC_NFILES; fd++) {	/* share the open files */
		struct file *f = file_get(p, fd);

		file_close(c, fd);
		c->files[fd] = f;
	}
	spin_lock(&p->lock);
	memcpy(c->sigact, p->sigact, sizeof(c->sigact));
	spin_unlock(&p->lock);
	c->rlimit_as_max = p->rlimit_as_max;
	c->ut.fsbase = self->fsbase;
	c->ut.sigmask = self->sigmask;
	c->ut.sas_sp = self->sas_sp;
	c->ut.sas_size = self->sas_size;
	c->ut.sas_flags = self->sas_flags;
	__asm__ volatile("fxsave64 %0" : "=m"(c->ut.fpu));
	c->ut.fpu_saved = true;
	spin_lock(&proc_tree_lock);
	c->pgid = p->pgid;
	spin_unlock(&proc_tree_lock);
	c->nthreads = 1;
}

/* fork_child: the not yet started child of p (see the header); NULL on
 * ENOMEM with nothing left behind. */
static struct proc *fork_child(struct proc *p, uint64_t flags)
{
	struct mm_ref *ref;
	struct proc *c;
	struct mm *mm;

	if (flags & CLONE_VM) {
		mm_ref_get(p->mmref);
		ref = p->mmref;
	} else if (mm_fork(p->mm, &mm) || !(ref = mm_ref_new(mm))) {
		return NULL;
	}
	c = proc_alloc(p->name, ref);
	if (c) {
		fork_inherit(p, c);
		c->exit_signal = (int)(flags & 0xff);
	}
	return c;
}

/* proc_vfork_wait: sleep until c released us or our process is exiting;
 * then c no longer refers to vd (c may be freed as soon as it did). */
static void proc_vfork_wait(struct proc *p, struct proc *c, struct vfork_done *vd)
{
	wait_event(&proc_wq, ck_pr_load_int(&vd->done) || proc_exiting(p));
	spin_lock(&proc_tree_lock);
	if (!vd->done)
		c->vfork_done = NULL;	/* not released: c is alive, detach */
	spin_unlock(&proc_tree_lock);
}

void proc_vfork_release(struct proc *c)
{
	struct vfork_done *vd;

	spin_lock(&proc_tree_lock);
	vd = c->vfork_done;
	c->vfork_done = NULL;
	if (vd)
		ck_pr_store_int(&vd->done, 1);
	spin_unlock(&proc_tree_lock);
	if (vd)
		waitq_wake_all(&proc_wq);	/* vd may be gone: only the queue */
}

long proc_fork(struct trap_frame *tf, uint64_t flags, uint64_t newsp)
{
	struct proc *p = proc_self(), *c = NULL;
	struct fork_start *fs = env_alloc(sizeof(*fs));
	struct proc_thread *pt = proc_thread_new();
	struct vfork_done vd = { 0 };
	struct fork_delayed fd = { 0 };
	int pid, err;

	if ((flags & 0xff) > NSIG) {
		env_free(fs, sizeof(*fs));
		env_free(pt, sizeof(*pt));
		return -EINVAL;	/* not a valid exit signal */
	}
	if (!fs || !pt)
		goto out_nomem;
	if ((err = proc_fork_begin(p, &fd))) {	/* group signals from now on */
		env_free(fs, sizeof(*fs));	/* reach c too */
		env_free(pt, sizeof(*pt));
		return err;
	}
	if (!(c = fork_child(p, flags))) {
		proc_fork_abort(p, &fd);
		goto out_nomem;
	}
	fs->p = c;
	fs->pt = pt;
	fs->tf = *tf;
	fs->tf.rax = 0;
	if (newsp)
		fs->tf.rsp = newsp;
	if (flags & CLONE_VFORK)
		c->vfork_done = &vd;	/* unpublished: nobody else sees c yet */
	pid = c->pid;
	if ((err = proc_publish(p, c, &fd)))	/* before it runs: it may kill or */
		goto out_child;			/* wait for itself */
	err = -ENOMEM;
	if (!thread_create(c->name, proc_fork_main, fs, -1))
		goto out_unpublish;
	/* from here c may run, die and be reaped: do not touch it */
	if (flags & CLONE_VFORK)
		proc_vfork_wait(p, c, &vd);
	return pid;

out_unpublish:
	proc_unpublish(c);
out_child:
	file_close_all(c);
	mm_ref_put(c->mmref);
	env_free(c, sizeof(*c));
	env_free(fs, sizeof(*fs));
	env_free(pt, sizeof(*pt));
	return err;
out_nomem:
	env_free(fs, sizeof(*fs));
	env_free(pt, sizeof(*pt));
	return -ENOMEM;
}
