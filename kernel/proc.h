/*
 * kernel/proc.h - user threads and processes.
 *
 * A user thread is a kernel thread (kernel/sched.h) whose struct thread has
 * a struct uthread attached (thread->user): the address space it runs in,
 * its TLS base, its process. The context switch (user_switch_to) loads the
 * address space, the kernel stack for entries from user mode and FS base.
 * A kernel thread may also adopt an address space (tests, exec) by setting
 * thread->user and calling user_adopt().
 *
 * Legend: (C) constant after creation; (O) only the thread itself.
 */
#ifndef KESTREL_KERNEL_PROC_H
#define KESTREL_KERNEL_PROC_H

#include "mm/mm.h"
#include "kernel/signal.h"

struct proc;
struct thread;

struct uthread {
	struct mm *mm;		/* (C) NULL: none (kernel tables) */
	struct proc *proc;	/* (C) NULL for a kernel thread borrowing an mm */
	uint64_t fsbase;	/* (O) user FS base (arch_prctl) */
	uint64_t clear_tid;	/* (O) set_tid_address: user address, 0 if none */
	int tid;		/* (C); exec's de_thread sets the pid (proc lock) */
	uint64_t sigmask;	/* (O) blocked signals, bit sig-1 */
	uint64_t pending;	/* (A) signals sent to this thread (tgkill, its
				 * faults), not yet taken; set and cleared
				 * under proc->lock; see also proc->shared_pending */
	struct ksiginfo siginfo[64];	/* (proc->lock) source of each pending signal */
	struct trap_frame *tf;	/* (O) user frame of the syscall in progress */
	bool restart_sys;	/* (O) the syscall returning now ended with
				 * -ERESTARTSYS (set and cleared by
				 * syscall_dispatch around its return work) */
	bool restart_block;	/* (O) ... with -ERESTART_RESTARTBLOCK (same) */
	uint64_t restart_end;	/* (O) the deadline a call rewound by
				 * -ERESTART_RESTARTBLOCK resumes with, 0 if none */
	bool fpu_saved;		/* (O) fpu holds its state (else: reset state) */
	int exited;		/* (A) 1 once the thread left for good */
	uint64_t sas_sp;	/* (O) sigaltstack base; 0 with sas_size 0: none */
	uint64_t sas_size;	/* (O) */
	uint32_t sas_flags;	/* (O) SS_AUTODISARM as set by the user */
	uint8_t fpu[512] __attribute__((aligned(16)));	/* (O) FXSAVE area while
						 * off CPU (the kernel never uses the FPU) */
};

#define PROC_NFILES 32
#define PROC_MAX_ARGS 16
#define PROC_TAP_LINE 120

struct file;
struct trap_frame;

/* A signal disposition, in Linux's struct kernel_sigaction layout. */
struct k_sigaction {
	uint64_t handler;	/* SIG_DFL 0, SIG_IGN 1, or a function */
	uint64_t flags;		/* SA_* */
	uint64_t restorer;	/* SA_RESTORER: the user's rt_sigreturn stub */
	uint64_t mask;		/* blocked while the handler runs */
};

/*
 * struct proc - a process and its threads. Legend as above plus
 * (L) proc->lock; (A) atomic; (T) proc_tree_lock (kernel/proc.c).
 */
struct proc_thread {
	struct thread *t;		/* (C) */
	struct uthread *ut;		/* (C) &proc->ut for the first thread */
	struct proc_thread *next;	/* (L) */
};

/*
 * struct mm_ref - an address space and how many processes use it: one,
 * except while a CLONE_VM child (vfork) borrows its parent's. The last
 * mm_ref_put destroys the mm; each user must have left it (user_adopt)
 * before its put (mm_destroy's contract: no CPU runs it).
 */
struct mm_ref {
	struct mm *mm;		/* (C) */
	int users;		/* (A) */
};

struct vfork_done;

/*
 * struct fork_delayed - one fork in progress in a process (Linux's
 * multiprocess_signals): the group signals (kill(0), kill(-pgrp), kill(-1))
 * the process received meanwhile, which the child gets too when it is
 * published, so a group signal reaches both or (if the fork fails) only the
 * parent. Lives on the forking thread's stack; all fields (T).
 */
struct fork_delayed {
	uint64_t sigs;			/* bit sig-1 */
	int sender;			/* pid of the first sender */
	struct fork_delayed *next;	/* p->forking list */
};

struct proc {
	int pid;			/* (C) */
	int pgid;			/* (T) process group (inherited at fork) */
	struct mm *mm;			/* (C) until exec or the last thread exits;
					 * written by the only thread left */
	struct mm_ref *mmref;		/* (C) as mm; mmref->mm == mm */
	struct thread *thread;		/* (C) its first thread */
	struct uthread ut;		/* (C) the first thread's user state */
	struct spinlock lock;
	struct proc_thread *threads;	/* (L) every thread ever, joined by proc_wait */
	int nthreads;			/* (A) threads not yet exited */
	int group_exit;			/* (A) exit_group or a fatal signal: all leave */
	struct proc *parent;		/* (T) NULL: spawned by the kernel, or orphaned */
	struct proc *children;		/* (T) forked children not yet reaped */
	struct proc *sibling;		/* (T) */
	bool orphan;			/* (T) no one will wait: the reaper frees it */
	bool execed;			/* (T) ran execve (setpgid by the parent: EACCES) */
	struct proc *all_next;		/* (T) proc_all list: started, not yet freed */
	struct vfork_done *vfork_done;	/* (T) the parent sleeping in vfork, or NULL */
	struct fork_delayed *forking;	/* (T) its forks in progress */
	struct uthread *zap_except;	/* (A) execve of a threaded process: every
					 * other thread leaves (de_thread) */
	uint64_t rlimit_as_max;		/* (M of mm) RLIMIT_AS hard limit */
	struct file *files[PROC_NFILES];	/* (L) */
	int exit_status;		/* (A) wait status, valid once dead */
	int exit_signal;		/* (C) sent to the parent at exit (SIGCHLD
					 * for fork and vfork; clone's low byte) */
	int dead;			/* (A) exited; the thread is finishing */
	struct k_sigaction sigact[64];	/* (L) */
	uint64_t shared_pending;	/* (A) process-directed signals (kill,
					 * SIGCHLD) not yet taken by any thread,
					 * Linux's shared queue; set and cleared
					 * under p->lock, read by every thread on
					 * its way back to user mode */
	struct ksiginfo shared_siginfo[64];	/* (L) source of each */
	char name[32];			/* (C) */
	char tap[PROC_TAP_LINE];	/* (O) last complete console line */
	char partial[PROC_TAP_LINE];	/* (O) line being written */
	unsigned npartial;		/* (O) */
};

/* proc_spawn: a new process running the static ELF at path from the
 * initramfs with argv (NULL-terminated); 0 and *out, or negative errno. */
int proc_spawn(const char *path, char *const argv[], struct proc **out);
/* proc_wait: wait until p exited, free it; its wait status. tap (NULL or
 * PROC_TAP_LINE bytes) receives the last line it wrote to the console. */
int proc_wait(struct proc *p, char *tap);
/* proc_exit: end the calling process with wait status (exit code << 8, or
 * the signal number); never returns. */
__attribute__((noreturn)) void proc_exit(int status);
/* proc_thread_exit: end the calling thread only (exit(2)); the last one
 * ends the process with the status recorded so far. */
__attribute__((noreturn)) void proc_thread_exit(void);
/* proc_thread_new/link: record a thread (t running ut) in p for proc_wait;
 * the node is allocated before the thread is created, so linking it after
 * cannot fail. */
struct proc_thread *proc_thread_new(void);
void proc_thread_link(struct proc *p, struct proc_thread *pt, struct thread *t,
		      struct uthread *ut);
/* proc_exiting: the calling thread (of p) must leave: the process is
 * exiting, or another of its threads is exec'ing. */
bool proc_exiting(struct proc *p);
/* proc_running_cpus: the CPUs (bit c = CPU c) running a live thread of p
 * other than except right now (a racy snapshot). proc_thread_cpu: t's CPU
 * bit if it is on one. proc_kick: interrupt the CPUs in mask (except the
 * caller's), so threads running user code there take their return-to-user
 * work (signals, exit) now rather than at their next tick; no-op with
 * interrupts off. No lock may be held (smp_call waits). */
uint64_t proc_running_cpus(struct proc *p, struct uthread *except);
uint64_t proc_thread_cpu(struct thread *t);
void proc_kick(uint64_t mask);
/* proc_check_exit: on the way back to user mode: leave if proc_exiting. */
void proc_check_exit(void);
/* proc_kick_waiters: wake every wait4, vfork and nanosleep sleeper to
 * re-check for signals and exits (a kill, an exit_group, an exec's zap). */
void proc_kick_waiters(void);
/* proc_return_work: proc_check_exit, then pending signal delivery into tf
 * (interrupts off, returning to user mode). */
void proc_return_work(struct trap_frame *tf);
int proc_alloc_tid(void);
/* proc_fork: a copy of the calling process (the same open files,
 * dispositions, mask and alternate signal stack; flags' low byte is the
 * signal its parent gets when it exits, -EINVAL above 64) whose thread
 * returns to user mode from tf with RAX 0 (on newsp if nonzero). Its
 * address space is
 * a copy-on-write copy, or with CLONE_VM the caller's own (shared, mm_ref).
 * With CLONE_VFORK the caller sleeps until the child execs or exits (or the
 * caller's process is exiting). The child's pid or negative errno
 * (-ERESTARTNOINTR: a signal is taken first, see proc_fork_begin). */
long proc_fork(struct trap_frame *tf, uint64_t flags, uint64_t newsp);
/* proc_vfork_release: p (a vfork child) no longer uses its parent's
 * address space (exec, exit): wake the parent. Idempotent. */
void proc_vfork_release(struct proc *p);
/* proc_zap_others: execve's de_thread: make every other thread of the
 * caller's process leave and wait until they did; 0, or -EINTR if the
 * process is exiting (or another thread won the race to exec). */
int proc_zap_others(struct proc *p, struct uthread *self);
/* proc_find_get / proc iteration for kill: see kernel/proc.c. */
typedef int (*proc_visit_fn)(struct proc *p, void *arg);
/* proc_for_each: call fn on every started, not yet reaped process (under
 * the process tree lock: fn must not sleep); the sum of fn's results. */
int proc_for_each(proc_visit_fn fn, void *arg);
/* proc_set_pgid: setpgid(2) semantics; 0 or negative errno. */
long proc_set_pgid(int pid, int pgid);
/* proc_get_pgid: getpgid(2): pgid of pid (0: caller) or -ESRCH. */
long proc_get_pgid(int pid);

/* mm_ref (kernel/proc_mm.c): a new reference of one user to mm (NULL on
 * ENOMEM: mm is destroyed then), get, put (the last destroys the mm). */
struct mm_ref *mm_ref_new(struct mm *mm);
void mm_ref_get(struct mm_ref *r);
void mm_ref_put(struct mm_ref *r);
/* proc_wait4: wait for a child selected by pid as wait4(2) does (a pid,
 * -1 any, 0 the caller's group, < -1 group -pid) to exit and reap it; its pid (0
 * with nohang and none ready), status out; -ECHILD, -ERESTARTSYS (a
 * signal to handle), -EINTR (the process is exiting). */
long proc_wait4(int pid, int *status, bool nohang);
/* proc_alloc: a process using ref's mm (NULL: a fresh one), consuming the
 * reference (also on failure: NULL on ENOMEM). */
struct proc *proc_alloc(const char *name, struct mm_ref *ref);
/* ERESTARTNOINTR: a system call's "run me again once the pending signal
 * was taken" (Linux's internal errno, never seen by user space):
 * syscall_dispatch points RIP back at the SYSCALL instruction and restores
 * RAX, so the call restarts after the handler returns. */
#define ERESTARTNOINTR 513
/* ERESTARTSYS: "interrupted by a signal to handle" (Linux's; wait4, an
 * untimed FUTEX_WAIT): rewound as ERESTARTNOINTR, so the call restarts after
 * a handler with SA_RESTART (or when no handler runs), but a handler
 * without SA_RESTART makes it return -EINTR instead (signal_enter). */
#define ERESTARTSYS 512
/* ERESTART_RESTARTBLOCK: "interrupted; resume with the deadline I saved"
 * (Linux's; nanosleep, a timed FUTEX_WAIT, after setting ut->restart_end):
 * rewound like ERESTARTNOINTR and re-run with that absolute deadline when
 * no handler runs on the thread (e.g. a sibling took the process-directed
 * signal that woke it); any handler makes it return -EINTR, SA_RESTART or
 * not (signal_enter). */
#define ERESTART_RESTARTBLOCK 516

/* restart_take_end: the deadline saved by a call rewound with
 * -ERESTART_RESTARTBLOCK (now forgotten), else fresh. */
static inline uint64_t restart_take_end(struct uthread *ut, uint64_t fresh)
{
	uint64_t end = ut->restart_end;

	ut->restart_end = 0;
	return end ? end : fresh;
}

/* proc_fork_begin: record d (zeroed) as a fork in progress of p from now
 * on: group signals p receives are added to it (kernel/proc_group.c). 0,
 * or -ERESTARTNOINTR (d not recorded) if the calling thread has a signal
 * to take or must leave: signals sent before the fork are handled first. */
int proc_fork_begin(struct proc *p, struct fork_delayed *d);
/* proc_fork_abort: the fork d of p failed before publishing: forget d. */
void proc_fork_abort(struct proc *p, struct fork_delayed *d);
/* proc_publish: p is started: visible to kill and the process tree, a
 * child of parent (NULL: spawned by the kernel, d NULL). With a parent, d
 * is the fork in progress (forgotten here in any case); p receives the
 * group signals d collected. -EINTR without publishing if the calling
 * thread must leave (proc_exiting: a SIGKILL came first, the child must not
 * outlive it), else 0. */
int proc_publish(struct proc *parent, struct proc *p, struct fork_delayed *d);
void proc_free(struct proc *p);
__attribute__((noreturn)) void proc_exit_signal(int sig);
struct proc *proc_self(void);

/* user_switch_to: the context-switch hook (interrupts off): save prev's
 * FPU state; load next's address space (or the kernel's), RSP0, FS base and
 * FPU state. */
void user_switch_to(struct thread *prev, struct thread *next);
/* user_adopt: make the calling thread run in ut's address space now (ut
 * NULL: drop back to the kernel tables). */
void user_adopt(struct uthread *ut);

/* User memory access (arch/x86_64/usercopy.S): 0 or -EFAULT, never a
 * kernel fault. Callable with preemption enabled only (a fault may sleep). */
int copy_from_user(void *dst, uint64_t usrc, size_t n);
int copy_to_user(uint64_t udst, const void *src, size_t n);
int clear_user(uint64_t udst, size_t n);
/* strncpy_from_user: copy a NUL-terminated string of at most n-1 bytes;
 * its length, -EFAULT, or -ENAMETOOLONG (36) when it does not fit. */
long strncpy_from_user(char *dst, uint64_t usrc, size_t n);

#endif
