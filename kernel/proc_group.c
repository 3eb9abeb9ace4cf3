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

void proc_publish(struct proc *parent, struct proc *p)
{
	spin_lock(&proc_tree_lock);
	p->all_next = proc_all;
	proc_all = p;
	if (parent) {
		p->parent = parent;
		p->sibling = parent->children;
		parent->children = p;
	}
	spin_unlock(&proc_tree_lock);
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
