/*
 * kernel/proc_group.c - the list of all processes and process groups.
 *
 * proc_all holds every process from the moment it starts (proc_publish)
 * until it is reaped (proc_unpublish, just before it is freed), zombies
 * included, as Linux's pid hash does: kill(2) finds a zombie and succeeds
 * without effect. Process groups are Linux's: a spawned process leads its
 * own group, a forked child inherits its parent's, setpgid moves the caller
 * or a child that has not exec'd. There are no sessions (a session check
 * never fails) and no controlling terminal.
 *
 * Synchronization: proc_tree_lock (kernel/proc_internal.h) for the list,
 * the links and pgid; walkers run under it and must not sleep.
 */
#include "kernel/proc_internal.h"

#define ESRCH_	3
#define EACCES_	13
#define EPERM_	1

static struct proc *proc_all;	/* (T) started, not yet reaped */

/* proc_fork_unlink: take d off p->forking (tree lock held). */
static void proc_fork_unlink(struct proc *p, struct fork_delayed *d)
{
	for (struct fork_delayed **dd = &p->forking; *dd; dd = &(*dd)->next)
		if (*dd == d) {
			*dd = d->next;
			return;
		}
	panic("proc_fork_unlink: fork record not found");
}

int proc_fork_begin(struct proc *p, struct fork_delayed *d)
{
	int err = 0;

	spin_lock(&proc_tree_lock);
	if (proc_exiting(p) || signal_interrupts(thread_self()->user)) {
		err = -ERESTARTNOINTR;	/* taken before the fork, as Linux */
	} else {
		d->next = p->forking;
		p->forking = d;
	}
	spin_unlock(&proc_tree_lock);
	return err;
}

void proc_fork_abort(struct proc *p, struct fork_delayed *d)
{
	spin_lock(&proc_tree_lock);
	proc_fork_unlink(p, d);
	spin_unlock(&proc_tree_lock);
}

/*
 * Why forks are recorded: kill(0), kill(-pgrp) and kill(-1) walk proc_all
 * under the tree lock, and a child is on it only from here on. A group
 * signal whose walk came before this point was added to d (the parent was
 * already forking, the walk found it), and is made pending in the child
 * now; a later walk finds the child itself. A SIGKILLed parent (group_exit
 * is set under the same lock) or one whose thread is being zapped by an
 * exec does not publish at all. So a signalled
 * group cannot leave a freshly forked member behind, even when the parent
 * blocks the signal while forking (musl's fork blocks every signal).
 */
int proc_publish(struct proc *parent, struct proc *p, struct fork_delayed *d)
{
	spin_lock(&proc_tree_lock);
	if (parent) {
		proc_fork_unlink(parent, d);
		if (proc_exiting(parent)) {	/* the caller is its forking thread */
			spin_unlock(&proc_tree_lock);
			return -EINTR;
		}
		signal_fork_delayed(p, d);
	}
	p->all_next = proc_all;
	proc_all = p;
	if (parent) {
		p->parent = parent;
		p->sibling = parent->children;
		parent->children = p;
	}
	spin_unlock(&proc_tree_lock);
	return 0;
}

/* proc_unlink: remove p from the list at *head linked through the field
 * at byte offset off (tree lock held); absent is fine. */
static void proc_unlink(struct proc **head, struct proc *p, size_t off)
{
	for (struct proc **pp = head; *pp; pp = (struct proc **)((char *)*pp + off))
		if (*pp == p) {
			*pp = *(struct proc **)((char *)p + off);
			return;
		}
}

void proc_unparent(struct proc *p)
{
	KASSERT(spin_holding(&proc_tree_lock), "proc_unparent: tree lock not held");
	if (p->parent)
		proc_unlink(&p->parent->children, p, offsetof(struct proc, sibling));
	p->parent = NULL;
}

void __proc_unpublish(struct proc *p)
{
	KASSERT(spin_holding(&proc_tree_lock), "__proc_unpublish: tree lock not held");
	proc_unlink(&proc_all, p, offsetof(struct proc, all_next));
	proc_unparent(p);
}

/* proc_unpublish: p is about to be freed (reaped, or its start failed):
 * off proc_all and its parent's children. */
void proc_unpublish(struct proc *p)
{
	spin_lock(&proc_tree_lock);
	__proc_unpublish(p);
	spin_unlock(&proc_tree_lock);
}

int proc_for_each(proc_visit_fn fn, void *arg)
{
	int sum = 0;

	spin_lock(&proc_tree_lock);
	for (struct proc *p = proc_all; p; p = p->all_next)
		sum += fn(p, arg);
	spin_unlock(&proc_tree_lock);
	return sum;
}

/* proc_lookup: the process with pid on the list, or NULL (tree lock held). */
static struct proc *proc_lookup(int pid)
{
	struct proc *p;

	KASSERT(spin_holding(&proc_tree_lock), "proc_lookup: tree lock not held");
	for (p = proc_all; p && p->pid != pid; p = p->all_next)
		;
	return p;
}

/* pgid_exists: some process is in group pgid (tree lock held). */
static bool pgid_exists(int pgid)
{
	for (struct proc *p = proc_all; p; p = p->all_next)
		if (p->pgid == pgid && !ck_pr_load_int(&p->dead))
			return true;
	return false;
}

long proc_set_pgid(int pid, int pgid)
{
	struct proc *self = proc_self(), *t;
	long err = 0;

	if (pgid < 0)
		return -EINVAL;
	spin_lock(&proc_tree_lock);
	t = pid == 0 || pid == self->pid ? self : proc_lookup(pid);
	if (!t || (t != self && t->parent != self))
		err = -ESRCH_;
	else if (t != self && t->execed)
		err = -EACCES_;
	else if (pgid && pgid != t->pid && !pgid_exists(pgid))
		err = -EPERM_;
	else
		t->pgid = pgid ? pgid : t->pid;
	spin_unlock(&proc_tree_lock);
	return err;
}

long proc_get_pgid(int pid)
{
	struct proc *t;
	long r;

	if (pid < 0)
		return -ESRCH_;
	spin_lock(&proc_tree_lock);
	t = pid == 0 ? proc_self() : proc_lookup(pid);
	r = t ? t->pgid : -ESRCH_;
	spin_unlock(&proc_tree_lock);
	return r;
}
