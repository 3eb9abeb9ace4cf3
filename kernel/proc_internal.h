/*
 * kernel/proc_internal.h - state shared by the kernel/proc*.c files only.
 *
 * proc_tree_lock (T) protects parent/children/sibling links, pgid, the
 * orphan list, proc_all, p->vfork_done and the transition to p->dead (set
 * under it, so a (T) holder sees a stable dead flag and a not-dead process
 * cannot be freed under it). proc_wq wakes everyone waiting for a process
 * event: an exit (wait4, proc_wait, the reaper), a vfork release, the end of
 * a thread while an exec zaps its siblings, a kill (waiters re-check).
 * Lock order: proc_tree_lock -> p->lock -> wait-queue locks.
 */
#ifndef KESTREL_KERNEL_PROC_INTERNAL_H
#define KESTREL_KERNEL_PROC_INTERNAL_H

#include "kernel/proc.h"
#include "kernel/sched.h"

extern struct spinlock proc_tree_lock;
extern struct waitq proc_wq;
/* proc_wq_init: initialise proc_wq once (first spawn). */
void proc_wq_init(void);
/* proc_unpublish: p is about to be freed: off proc_all (kernel/proc_group.c). */
void proc_unpublish(struct proc *p);
/* proc_unparent: off its parent's children, parent NULL (tree lock held).
 * __proc_unpublish: proc_unpublish with the tree lock held (idempotent). */
void proc_unparent(struct proc *p);
void __proc_unpublish(struct proc *p);

#endif
