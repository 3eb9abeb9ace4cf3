/*
 * kernel/proc.c - processes: spawn from the initramfs, exit, wait.
 *
 * A process is one or more kernel threads that adopted the process's
 * address space (thread->user = &proc->ut for the first) and entered user
 * mode through user_return(). Exit runs on the last thread: it closes the
 * files, drops to the kernel page tables, drops its mm reference (the last
 * destroys the mm: every frame and table page returns, after the shootdowns
 * and a grace period), marks the process dead and wakes the waiter, who
 * joins the threads and frees the process. Also here: the exit of the
 * other threads when one execs (proc_zap_others) and the IPI kick that
 * makes threads running user code notice signals and exits at once.
 *
 * Synchronization: kernel/proc_internal.h (proc_tree_lock, proc_wq);
 * p->dead is set with a release store after everything the waiter reads.
 * Fork and vfork live in kernel/proc_fork.c, process groups and the
 * process list walk in kernel/proc_group.c.
 */
#include "kernel/proc_internal.h"
#include "kernel/file.h"
#include "kernel/elf.h"
#include "kernel/futex.h"
#include "kernel/signal.h"
#include "kernel/sched.h"
#include "kernel/printk.h"
#include "kernel/smp_call.h"
#include "arch/cpu.h"
#include "arch/x86.h"

void user_init(void);
__attribute__((noreturn)) void user_return(struct trap_frame *tf);

static int proc_next_pid = 1;	/* (A) */
struct waitq proc_wq;
static int proc_wq_ready;	/* (A) */
static int proc_reaper_started;	/* (A) */

static void proc_reaper_main(void *arg);

struct proc_start {
	struct proc *p;
	char path[64];
	struct exec_strs args;	/* argv; the environment is empty */
};

/* proc_strlcpy: copy at most n-1 bytes of src and terminate. */
static void proc_strlcpy(char *dst, const char *src, size_t n)
{
	size_t i = 0;

	for (; i + 1 < n && src[i]; i++)
		dst[i] = src[i];
	dst[i] = 0;
}

struct proc *proc_self(void)
{
	struct uthread *ut = thread_self()->user;

	return ut ? ut->proc : NULL;
}

/* proc_user_main: the new process's thread: build the image, enter user mode. */
static void proc_user_main(void *arg)
{
	struct proc_start *st = arg;
	struct proc *p = st->p;
	struct trap_frame tf;
	uint64_t entry, sp;
	int err;

	user_adopt(&p->ut);
	err = elf_exec(p->mm, st->path, &st->args, &entry, &sp);
	exec_strs_free(&st->args);
	env_free(st, sizeof(*st));
	if (err) {
		pr_err("proc %d: exec failed: %d\n", p->pid, err);
		proc_exit(127 << 8);
	}
	memset(&tf, 0, sizeof(tf));
	tf.rip = entry;
	tf.cs = GDT_UCODE | 3;
	tf.rflags = 0x202;		/* IF */
	tf.rsp = sp;
	tf.ss = GDT_UDATA | 3;
	user_return(&tf);
}

struct proc *proc_alloc(const char *name, struct mm_ref *ref)
{
	struct proc *p = env_alloc(sizeof(*p));

	if (!ref) {
		struct mm *mm = mm_create();

		ref = mm ? mm_ref_new(mm) : NULL;
	}
	if (!p || !ref)
		goto out_put;
	memset(p, 0, sizeof(*p));
	p->mmref = ref;
	p->mm = ref->mm;
	spin_init(&p->lock, "proc");
	p->rlimit_as_max = ~0ull;	/* RLIM_INFINITY */
	p->pid = ck_pr_faa_int(&proc_next_pid, 1);
	p->pgid = p->pid;
	p->ut.mm = p->mm;
	p->ut.proc = p;
	p->ut.tid = p->pid;
	proc_strlcpy(p->name, name, sizeof(p->name));
	if (file_console_open(p))
		goto out_put;
	return p;

out_put:
	if (ref)
		mm_ref_put(ref);
	env_free(p, sizeof(*p));
	return NULL;
}

void proc_wq_init(void)
{
	if (!ck_pr_load_int(&proc_wq_ready) && !ck_pr_fas_int(&proc_wq_ready, 1))
		waitq_init(&proc_wq, "proc_wq");
}

int proc_spawn(const char *path, char *const argv[], struct proc **out)
{
	struct proc_start *st;
	struct proc_thread *pt;
	struct proc *p;
	unsigned n = 0;

	proc_wq_init();
	if (!ck_pr_fas_int(&proc_reaper_started, 1) &&
	    !thread_create("reaper", proc_reaper_main, NULL, -1))
		ck_pr_store_int(&proc_reaper_started, 0);	/* retried at the next spawn */
	user_init();
	if (!elf_probe(path))
		return -ENOENT;
	st = env_alloc(sizeof(*st));
	if (!st)
		return -ENOMEM;
	memset(st, 0, sizeof(*st));
	proc_strlcpy(st->path, path, sizeof(st->path));
	for (; argv[n] && n < PROC_MAX_ARGS; n++)
		if (exec_strs_add(&st->args, argv[n], false))
			goto out_st;
	p = proc_alloc(path, NULL);
	if (!p)
		goto out_st;
	st->p = p;
	p->nthreads = 1;
	pt = proc_thread_new();
	if (!pt)
		goto out_proc;
	(void)proc_publish(NULL, p, NULL);	/* no parent: cannot fail */
	p->thread = thread_create(p->name, proc_user_main, st, -1);
	if (!p->thread)
		goto out_pt;
	proc_thread_link(p, pt, p->thread, &p->ut);
	*out = p;
	return 0;

out_pt:
	proc_unpublish(p);
	env_free(pt, sizeof(*pt));
out_proc:
	file_close_all(p);
	mm_ref_put(p->mmref);
	env_free(p, sizeof(*p));
out_st:
	exec_strs_free(&st->args);
	env_free(st, sizeof(*st));
	return -ENOMEM;
}

int proc_alloc_tid(void)
{
	return ck_pr_faa_int(&proc_next_pid, 1);
}

struct proc_thread *proc_thread_new(void)
{
	return env_alloc(sizeof(struct proc_thread));
}

void proc_thread_link(struct proc *p, struct proc_thread *pt, struct thread *t,
		      struct uthread *ut)
{
	pt->t = t;
	pt->ut = ut;
	spin_lock(&p->lock);
	pt->next = p->threads;
	p->threads = pt;
	spin_unlock(&p->lock);
}

/* The process tree: parent/children links and the orphans the reaper
 * frees (their parent exited without waiting). */
struct spinlock proc_tree_lock = SPINLOCK_INITIALIZER("proc_tree");
static struct proc *proc_orphans;	/* (T) dead orphans, linked by sibling */

/* proc_reaper_main: free dead orphans, forever. */
static void proc_reaper_main(void *arg)
{
	for (;;) {
		struct proc *p;

		wait_event(&proc_wq, ck_pr_load_ptr(&proc_orphans) != NULL);
		spin_lock(&proc_tree_lock);
		p = proc_orphans;
		if (p)
			proc_orphans = p->sibling;
		spin_unlock(&proc_tree_lock);
		if (p)
			(void)proc_wait(p, NULL);
	}
}

/* proc_orphan_children: p is exiting: dead children go to the reaper,
 * live ones become orphans (reaped when they die). */
static void proc_orphan_children(struct proc *p)
{
	spin_lock(&proc_tree_lock);
	while (p->children) {
		struct proc *c = p->children;

		p->children = c->sibling;
		c->parent = NULL;
		c->orphan = true;
		if (ck_pr_load_int(&c->dead)) {
			c->sibling = proc_orphans;
			proc_orphans = c;
		}
	}
	spin_unlock(&proc_tree_lock);
}

#define SA_NOCLDWAIT	2

/* proc_parent_nowait: p's parent set SIGCHLD to SIG_IGN (explicitly) or
 * SA_NOCLDWAIT: p is reaped at once instead of becoming a zombie, and the
 * parent's wait4 ends with ECHILD when no child is left (tree lock held). */
static bool proc_parent_nowait(struct proc *p)
{
	struct proc *parent = p->parent;
	struct k_sigaction ka;

	if (!parent)
		return false;
	spin_lock(&parent->lock);
	ka = parent->sigact[SIGCHLD - 1];
	spin_unlock(&parent->lock);
	return ka.handler == 1 /* SIG_IGN */ || (ka.flags & SA_NOCLDWAIT);
}

/* proc_last_exit: the last thread tears the process down. */
static void proc_last_exit(struct proc *p)
{
	uint64_t kick;
	bool reap;

	file_close_all(p);
	proc_vfork_release(p);	/* a vfork child whose threads all exited */
	mm_ref_put(p->mmref);
	p->mm = NULL;
	p->mmref = NULL;
	proc_orphan_children(p);
	spin_lock(&proc_tree_lock);
	ck_pr_fence_store();	/* everything above before dead */
	ck_pr_store_int(&p->dead, 1);
	kick = signal_child_exit(p);	/* SIGCHLD, once it is a zombie */
	if (proc_parent_nowait(p)) {
		__proc_unpublish(p);	/* gone at once, as Linux's release_task */
		p->orphan = true;
	}
	reap = p->orphan;
	if (reap) {
		p->sibling = proc_orphans;
		proc_orphans = p;
	}
	spin_unlock(&proc_tree_lock);
	waitq_wake_all(&proc_wq);
	proc_kick(kick);
}

/* proc_wait4_match: does wait4's pid select child c of p? pid > 0 that
 * child, -1 any, 0 those in p's group, < -1 those in group -pid (tree
 * lock held: pgid). */
static bool proc_wait4_match(struct proc *p, struct proc *c, int pid)
{
	if (pid > 0)
		return c->pid == pid;
	if (pid == -1)
		return true;
	return c->pgid == (pid == 0 ? p->pgid : -pid);
}

/* proc_wait4_find: a dead child matching pid, unlinked; NULL if none is
 * dead yet; *any: some child matches. */
static struct proc *proc_wait4_find(struct proc *p, int pid, bool *any)
{
	struct proc *found = NULL;

	*any = false;
	spin_lock(&proc_tree_lock);
	for (struct proc **pp = &p->children; *pp; pp = &(*pp)->sibling) {
		struct proc *c = *pp;

		if (!proc_wait4_match(p, c, pid))
			continue;
		*any = true;
		if (ck_pr_load_int(&c->dead)) {
			*pp = c->sibling;
			found = c;
			break;
		}
	}
	spin_unlock(&proc_tree_lock);
	return found;
}

long proc_wait4(int pid, int *status, bool nohang)
{
	struct proc *p = proc_self(), *c = NULL;
	bool any;
	int cpid;

	for (;;) {
		c = proc_wait4_find(p, pid, &any);
		if (c || !any || nohang)
			break;
		wait_event(&proc_wq, (c = proc_wait4_find(p, pid, &any)) != NULL || !any ||
				     proc_exiting(p) || signal_interrupts(thread_self()->user));
		if (c || !any)
			break;
		return proc_exiting(p) ? -EINTR : -ERESTARTSYS;
	}
	if (!c)
		return any ? 0 : -10;	/* ECHILD */
	cpid = c->pid;
	*status = proc_wait(c, NULL);
	return cpid;
}

void proc_thread_exit(void)
{
	struct uthread *ut = thread_self()->user;
	struct proc *p = ut->proc;

	if (ut->clear_tid) {	/* CLONE_CHILD_CLEARTID: pthread_join waits on it */
		uint32_t zero = 0;

		if (!copy_to_user(ut->clear_tid, &zero, sizeof(zero)))
			futex_wake(p->mm, ut->clear_tid, 1);
	}
	user_adopt(NULL);	/* off the mm before it can be destroyed */
	ck_pr_store_int(&ut->exited, 1);
	/* After exited is set, so that a kill() racing with us no longer
	 * chooses this thread: what is already pending reaches the others. */
	signal_retarget(p);
	if (ut == &p->ut)
		proc_vfork_release(p);	/* the vfork'd thread itself ended */
	if (ck_pr_faa_int(&p->nthreads, -1) == 1)
		proc_last_exit(p);
	else if (ck_pr_load_ptr(&p->zap_except))
		waitq_wake_all(&proc_wq);	/* an exec waits for us */
	thread_exit();
}

void proc_exit(int status)
{
	struct proc *p = proc_self();

	KASSERT(p, "proc_exit: not a process");
	if (ck_pr_cas_int(&p->group_exit, 0, 1))
		ck_pr_store_int(&p->exit_status, status);
	futex_wake_all(p->mm);	/* waiters see group_exit and leave */
	proc_kick_waiters();	/* so do our wait4, vfork and nanosleep sleepers */
	proc_kick(proc_running_cpus(p, thread_self()->user));	/* and runners */
	proc_thread_exit();
}

void proc_kick_waiters(void)
{
	waitq_wake_all(&proc_wq);
	sched_tick_wake_all();	/* nanosleep */
}

uint64_t proc_running_cpus(struct proc *p, struct uthread *except)
{
	uint64_t mask = 0;

	spin_lock(&p->lock);
	for (struct proc_thread *pt = p->threads; pt; pt = pt->next)
		if (pt->ut != except && !ck_pr_load_int(&pt->ut->exited))
			mask |= proc_thread_cpu(pt->t);
	spin_unlock(&p->lock);
	return mask;
}

uint64_t proc_thread_cpu(struct thread *t)
{
	/* racy snapshot: a stale bit costs one needless interrupt */
	return ck_pr_load_int(&t->on_cpu) ? 1ull << ck_pr_load_uint(&t->cpu) : 0;
}

/* proc_kick_fn: nothing: the interrupt's return to user mode does the work. */
static void proc_kick_fn(void *arg)
{
}

void proc_kick(uint64_t mask)
{
	if (!irqs_enabled())
		return;
	mask &= ~(1ull << cpu_self());	/* our own return work runs anyway */
	if (mask)
		smp_call(mask, proc_kick_fn, NULL);
}

bool proc_exiting(struct proc *p)
{
	struct uthread *z = ck_pr_load_ptr(&p->zap_except);

	return ck_pr_load_int(&p->group_exit) || (z && z != thread_self()->user);
}

/* proc_zap_others: see kernel/proc.h. The other threads notice at their
 * next return to user mode (a tick at the latest), in futex and wait4
 * sleeps, and in a vfork wait; each one's exit wakes proc_wq. */
int proc_zap_others(struct proc *p, struct uthread *self)
{
	if (ck_pr_load_int(&p->nthreads) == 1)
		return 0;
	if (!ck_pr_cas_ptr(&p->zap_except, NULL, self))
		return -EINTR;	/* another thread is exec'ing: we leave */
	futex_wake_all(p->mm);
	proc_kick_waiters();
	proc_kick(proc_running_cpus(p, self));	/* threads running user code */
	wait_event(&proc_wq, ck_pr_load_int(&p->nthreads) == 1 ||
			     ck_pr_load_int(&p->group_exit));
	ck_pr_store_ptr(&p->zap_except, NULL);
	if (ck_pr_load_int(&p->nthreads) != 1 || ck_pr_load_int(&p->group_exit))
		return -EINTR;
	return 0;
}

void proc_check_exit(void)
{
	struct proc *p = proc_self();

	if (p && proc_exiting(p)) {
		irq_enable();
		proc_thread_exit();
	}
}

void proc_return_work(struct trap_frame *tf)
{
	proc_check_exit();
	signal_deliver(tf);
}

void proc_exit_signal(int sig)
{
	proc_exit(sig & 0x7f);
}

int proc_wait(struct proc *p, char *tap)
{
	int status;

	wait_event(&proc_wq, ck_pr_load_int(&p->dead));
	proc_unpublish(p);
	while (p->threads) {
		struct proc_thread *pt = p->threads;

		p->threads = pt->next;
		thread_join(pt->t);
		if (pt->ut != &p->ut)
			env_free(pt->ut, sizeof(*pt->ut));
		env_free(pt, sizeof(*pt));
	}
	status = p->exit_status;
	if (tap)
		memcpy(tap, p->tap, PROC_TAP_LINE);
	env_free(p, sizeof(*p));
	return status;
}
