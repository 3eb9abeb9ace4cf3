/*
 * kernel/proc.c - processes: spawn from the initramfs, exit, wait.
 *
 * A process is one kernel thread that adopted the process's address space
 * (thread->user = &proc->ut) and entered user mode through user_return().
 * Exit runs on that thread: it closes the files, drops to the kernel page
 * tables, destroys the mm (every frame and table page returns, after the
 * shootdowns and a grace period), marks the process dead and wakes the
 * waiter, who joins the thread and frees the process.
 *
 * Synchronization: proc_wq wakes waiters of every exit; p->dead is set
 * with a release store after everything the waiter reads.
 */
#include "kernel/proc.h"
#include "kernel/file.h"
#include "kernel/elf.h"
#include "kernel/futex.h"
#include "kernel/sched.h"
#include "kernel/printk.h"
#include "arch/cpu.h"
#include "arch/x86.h"

void user_init(void);
__attribute__((noreturn)) void user_return(struct trap_frame *tf);

static int proc_next_pid = 1;	/* (A) */
static struct waitq proc_wq;
static int proc_wq_ready;	/* (A) */

struct proc_start {
	struct proc *p;
	char path[64];
	char *argv[PROC_MAX_ARGS + 1];
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
	err = elf_exec(p, st->path, st->argv, &entry, &sp);
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

/* proc_alloc: a process with a fresh mm and the console on fds 0-2. */
static struct proc *proc_alloc(const char *name)
{
	struct proc *p = env_alloc(sizeof(*p));

	if (!p)
		return NULL;
	memset(p, 0, sizeof(*p));
	p->mm = mm_create();
	if (!p->mm)
		goto out_free;
	spin_init(&p->lock, "proc");
	p->pid = ck_pr_faa_int(&proc_next_pid, 1);
	p->ut.mm = p->mm;
	p->ut.proc = p;
	p->ut.tid = p->pid;
	proc_strlcpy(p->name, name, sizeof(p->name));
	if (file_console_open(p))
		goto out_mm;
	return p;

out_mm:
	mm_destroy(p->mm);
out_free:
	env_free(p, sizeof(*p));
	return NULL;
}

int proc_spawn(const char *path, char *const argv[], struct proc **out)
{
	struct proc_start *st;
	struct proc_thread *pt;
	struct proc *p;
	unsigned n = 0;

	if (!ck_pr_load_int(&proc_wq_ready) && !ck_pr_fas_int(&proc_wq_ready, 1))
		waitq_init(&proc_wq, "proc_wq");
	user_init();
	if (!elf_probe(path))
		return -ENOENT;
	st = env_alloc(sizeof(*st));
	if (!st)
		return -ENOMEM;
	memset(st, 0, sizeof(*st));
	proc_strlcpy(st->path, path, sizeof(st->path));
	while (argv[n] && n < PROC_MAX_ARGS) {
		st->argv[n] = argv[n];
		n++;
	}
	p = proc_alloc(path);
	if (!p)
		goto out_st;
	st->p = p;
	p->nthreads = 1;
	pt = proc_thread_new();
	if (!pt)
		goto out_proc;
	p->thread = thread_create(p->name, proc_user_main, st, -1);
	if (!p->thread)
		goto out_pt;
	proc_thread_link(p, pt, p->thread, &p->ut);
	*out = p;
	return 0;

out_pt:
	env_free(pt, sizeof(*pt));
out_proc:
	file_close_all(p);
	mm_destroy(p->mm);
	env_free(p, sizeof(*p));
out_st:
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

/* proc_last_exit: the last thread tears the process down. */
static void proc_last_exit(struct proc *p)
{
	file_close_all(p);
	mm_destroy(p->mm);
	p->mm = NULL;
	ck_pr_fence_store();	/* everything above before dead */
	ck_pr_store_int(&p->dead, 1);
	waitq_wake_all(&proc_wq);
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
	if (ck_pr_faa_int(&p->nthreads, -1) == 1)
		proc_last_exit(p);
	thread_exit();
}

void proc_exit(int status)
{
	struct proc *p = proc_self();

	KASSERT(p, "proc_exit: not a process");
	if (ck_pr_cas_int(&p->group_exit, 0, 1))
		ck_pr_store_int(&p->exit_status, status);
	futex_wake_all(p->mm);	/* waiters see group_exit and leave */
	proc_thread_exit();
}

void proc_check_exit(void)
{
	struct proc *p = proc_self();

	if (p && ck_pr_load_int(&p->group_exit)) {
		irq_enable();
		proc_thread_exit();
	}
}

void proc_exit_signal(int sig)
{
	proc_exit(sig & 0x7f);
}

int proc_wait(struct proc *p, char *tap)
{
	int status;

	wait_event(&proc_wq, ck_pr_load_int(&p->dead));
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
