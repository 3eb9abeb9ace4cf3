/*
 * kernel/signal_kill.c - kill(2), tgkill(2), tkill(2): signals sent by processes.
 *
 * kill(pid > 0) reaches the process with that pid, or the process of the
 * thread with that tid (Linux looks both up the same way); kill(0) every
 * process of the caller's process group, kill(-pgrp) every process of
 * pgrp, kill(-1) every process except pid 1 and the caller. Zombies count
 * as found (the call succeeds) but get nothing. sig 0 only checks that a
 * target exists. A bad signal number is EINVAL once a target is found, and
 * ESRCH otherwise, in Linux's order. Everyone is root: no EPERM.
 *
 * A signal sent to a process (kill, SIGCHLD) is pending in the process's
 * shared set (p->shared_pending, Linux's shared queue), which every thread
 * checks on its way back to user mode and which does not depend on any one
 * thread staying alive; tgkill's is pending on its thread only. Either is
 * noticed at once by a thread that does not block it (for a shared one,
 * the one signal_target chose): a futex, wait4, vfork or nanosleep sleeper
 * re-checks at once, and a thread running user code is interrupted (proc_kick: an IPI to its CPU once the tree lock is released;
 * SIGKILL interrupts every thread of the process). A thread that exits, or
 * blocks a shared pending signal, wakes the others (signal_retarget).
 *
 * Synchronization: targets are found and signalled under proc_tree_lock
 * (proc_for_each), so none is freed meanwhile and p->dead is stable.
 */
#include "kernel/proc_internal.h"
#include "kernel/signal.h"
#include "kernel/syscall.h"
#include "kernel/futex.h"

#define ESRCH_	3

/* signal_wake_sleepers: p's threads sleeping in futex, wait4, vfork or
 * nanosleep re-check for signals and exits. */
static void signal_wake_sleepers(struct proc *p)
{
	futex_wake_all(p->mm);
	proc_kick_waiters();
}

/* signal_send: make sig pending, with source ki, for p's thread ut alone
 * (shared false: tgkill) or for the whole process (shared: ut is the
 * thread signal_target chose to notice it), and get it noticed (see the
 * header); SIGKILL ends the whole process. A signal the process ignores
 * and ut does not block is discarded now, and one already pending keeps
 * its first source (standard signals do not queue), as in Linux. */
static void signal_send(struct uthread *ut, bool shared, int sig, const struct ksiginfo *ki)
{
	struct proc *p = ut->proc;
	uint64_t bit = 1ull << (sig - 1);
	uint64_t *pending = shared ? &p->shared_pending : &ut->pending;
	struct ksiginfo *info = shared ? p->shared_siginfo : ut->siginfo;

	if (sig == SIGKILL) {
		if (ck_pr_cas_int(&p->group_exit, 0, 1))
			ck_pr_store_int(&p->exit_status, SIGKILL);
	} else {
		spin_lock(&p->lock);
		if (!(ck_pr_load_64(pending) & bit) &&
		    ((ut->sigmask & bit) || !signal_ignored(p, sig))) {
			info[sig - 1] = *ki;
			ck_pr_or_64(pending, bit);
		}
		spin_unlock(&p->lock);
	}
	signal_wake_sleepers(p);
}

void signal_retarget(struct proc *p)
{
	if (!ck_pr_load_64(&p->shared_pending) || ck_pr_load_int(&p->group_exit))
		return;
	signal_wake_sleepers(p);
	proc_kick(proc_running_cpus(p, thread_self()->user));
}

/* signal_target: a live thread of p that does not block sig, else the
 * first live one, and its kernel thread in *t; the first thread's state
 * and *t NULL if p has not started one yet (it takes what is pending when
 * it runs); NULL if none is left. */
static struct uthread *signal_target(struct proc *p, int sig, struct thread **t)
{
	struct proc_thread *found = NULL;

	*t = NULL;
	spin_lock(&p->lock);
	for (struct proc_thread *pt = p->threads; pt; pt = pt->next) {
		if (ck_pr_load_int(&pt->ut->exited))
			continue;
		if (!found)
			found = pt;
		if (!(pt->ut->sigmask & (1ull << (sig - 1)))) {
			found = pt;
			break;
		}
	}
	spin_unlock(&p->lock);
	if (found)
		*t = found->t;
	return found ? found->ut : p->threads ? NULL : &p->ut;
}

/* signal_send_kick: signal_send, and the CPUs to interrupt so that it
 * takes effect now: every thread of the process for SIGKILL, else t's. */
static uint64_t signal_send_kick(struct uthread *ut, struct thread *t, bool shared, int sig,
				 const struct ksiginfo *ki)
{
	signal_send(ut, shared, sig, ki);
	if (sig == SIGKILL)
		return proc_running_cpus(ut->proc, NULL);
	return t ? proc_thread_cpu(t) : 0;
}

/* proc_has_tid: a live thread of p has tid (p->lock taken). */
static bool proc_has_tid(struct proc *p, int tid)
{
	bool found = false;

	spin_lock(&p->lock);
	for (struct proc_thread *pt = p->threads; pt && !found; pt = pt->next)
		found = pt->ut->tid == tid && !ck_pr_load_int(&pt->ut->exited);
	spin_unlock(&p->lock);
	return found;
}

struct kill_req {
	int pid;	/* kill's pid argument */
	int sig;
	int self;	/* the caller's pid */
	int pgid;	/* the group kill(0) / kill(-pgrp) targets */
	uint64_t kick;	/* CPUs to interrupt afterwards (proc_kick) */
};

/* kill_match: does kill(req->pid) target p? (tree lock held) */
static bool kill_match(struct proc *p, const struct kill_req *req)
{
	if (req->pid > 0)
		return p->pid == req->pid || proc_has_tid(p, req->pid);
	if (req->pid == -1)
		return p->pid != 1 && p->pid != req->self;
	return p->pgid == req->pgid;
}

/* kill_visit: signal p if kill targets it; 1 if it did (0 otherwise). */
static int kill_visit(struct proc *p, void *arg)
{
	struct kill_req *req = arg;
	struct uthread *ut;
	struct thread *t;
	struct ksiginfo ki = { .code = SI_USER, .pid = req->self };

	if (!kill_match(p, req))
		return 0;
	if (req->sig <= 0 || req->sig > NSIG || ck_pr_load_int(&p->dead))
		return 1;
	if ((ut = signal_target(p, req->sig, &t)))
		req->kick |= signal_send_kick(ut, t, true, req->sig, &ki);
	if (req->pid <= 0)	/* a group signal: children being forked get it too */
		for (struct fork_delayed *d = p->forking; d; d = d->next) {
			if (!d->sigs)
				d->sender = req->self;
			d->sigs |= 1ull << (req->sig - 1);
		}
	return 1;
}

void signal_fork_delayed(struct proc *c, const struct fork_delayed *d)
{
	struct ksiginfo ki = { .code = SI_USER, .pid = d->sender };

	KASSERT(spin_holding(&proc_tree_lock), "signal_fork_delayed: tree lock not held");
	for (uint64_t s = d->sigs; s; s &= s - 1)
		signal_send(&c->ut, true, __builtin_ctzll(s) + 1, &ki);
}

long sys_kill(uint64_t pid, uint64_t sig, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	struct kill_req req = { (int)pid, (int)sig, proc_self()->pid, 0, 0 };
	int found;

	if ((int)pid == INT32_MIN)
		return -ESRCH_;	/* -pid overflows (Linux) */
	req.pgid = (int)pid < -1 ? -(int)pid : (int)proc_get_pgid(0);
	found = proc_for_each(kill_visit, &req);
	proc_kick(req.kick);
	if (!found)
		return -ESRCH_;
	return (unsigned)req.sig > NSIG ? -EINVAL : 0;
}

struct tgkill_req {
	int tgid, tid, sig;
	int self;	/* the caller's pid */
	uint64_t kick;	/* CPUs to interrupt afterwards (proc_kick) */
};

/* tgkill_visit: signal thread tid of process tgid, of any process if
 * tgid is 0 (tkill) (tree lock held). */
static int tgkill_visit(struct proc *p, void *arg)
{
	struct tgkill_req *req = arg;
	struct proc_thread *found = NULL;

	if ((req->tgid && p->pid != req->tgid) || ck_pr_load_int(&p->dead))
		return 0;
	spin_lock(&p->lock);
	for (struct proc_thread *pt = p->threads; pt && !found; pt = pt->next)
		if (pt->ut->tid == req->tid && !ck_pr_load_int(&pt->ut->exited))
			found = pt;
	spin_unlock(&p->lock);
	if (!found)
		return 0;
	if (req->sig > 0 && req->sig <= NSIG) {
		struct ksiginfo ki = { .code = SI_TKILL, .pid = req->self };

		req->kick |= signal_send_kick(found->ut, found->t, false, req->sig, &ki);
	}
	return 1;
}

/* thread_kill: signal thread tid (of process tgid, any if 0): 0, -ESRCH
 * if no such live thread, else -EINVAL for a bad signal number. */
static long thread_kill(int tgid, int tid, int sig)
{
	struct tgkill_req req = { tgid, tid, sig, proc_self()->pid, 0 };
	int found = proc_for_each(tgkill_visit, &req);

	proc_kick(req.kick);
	if (!found)
		return -ESRCH_;
	return (unsigned)req.sig > NSIG ? -EINVAL : 0;
}

long sys_tgkill(uint64_t tgid, uint64_t tid, uint64_t sig, uint64_t a3, uint64_t a4, uint64_t a5)
{
	if ((int)tgid <= 0 || (int)tid <= 0)
		return -EINVAL;
	return thread_kill((int)tgid, (int)tid, (int)sig);
}

/* sys_tkill: tgkill without the process check (musl's pthread_kill). */
long sys_tkill(uint64_t tid, uint64_t sig, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	if ((int)tid <= 0)
		return -EINVAL;
	return thread_kill(0, (int)tid, (int)sig);
}

uint64_t signal_child_exit(struct proc *c)
{
	struct proc *parent = c->parent;
	int st = ck_pr_load_int(&c->exit_status), sig = c->exit_signal;
	struct ksiginfo ki = { .pid = c->pid };
	struct uthread *ut;
	struct thread *t;

	KASSERT(spin_holding(&proc_tree_lock), "signal_child_exit: tree lock not held");
	if (!parent || !sig || ck_pr_load_int(&parent->dead))
		return 0;
	ki.code = st & 0x7f ? CLD_KILLED : CLD_EXITED;
	ki.status = st & 0x7f ? st & 0x7f : (st >> 8) & 0xff;
	if (!(ut = signal_target(parent, sig, &t)))
		return 0;
	return signal_send_kick(ut, t, true, sig, &ki);
}

long sys_setpgid(uint64_t pid, uint64_t pgid, uint64_t a2, uint64_t a3, uint64_t a4,
		 uint64_t a5)
{
	return proc_set_pgid((int)pid, (int)pgid);
}

long sys_getpgid(uint64_t pid, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
		 uint64_t a5)
{
	return proc_get_pgid((int)pid);
}

long sys_getpgrp(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
		 uint64_t a5)
{
	return proc_get_pgid(0);
}
