/*
 * sync/rcu.h - read-copy-update, one API for the host and the kernel.
 *
 *   rcu_read_lock(), rcu_read_unlock()   delimit a read-side critical section;
 *                                        cheap, never block, may nest
 *   rcu_dereference(p)                   load an RCU-protected pointer
 *   rcu_assign_pointer(p, v)             publish v (release: initialisation
 *                                        of *v is visible before the pointer)
 *   call_rcu(head, fn)                   run fn(head) after a grace period
 *   synchronize_rcu()                    wait for a grace period (may sleep)
 *   rcu_barrier()                        wait for all queued callbacks
 *   rcu_register_thread()                host: register the calling thread
 *   rcu_unregister_thread()              (hostcpu_register does it); kernel: no-op
 *
 * Host: liburcu's "memb" flavour. Its read side is a per-thread nesting
 * counter and a compiler barrier, with no fence: the writer pays instead, via
 * the membarrier(2) system call (falling back to fences where the kernel lacks
 * it). The fault path enters a read-side section on every fault, so it must be
 * this cheap; QSBR would be cheaper still but obliges every thread to announce
 * quiescent states, which arbitrary test threads that block cannot promise.
 *
 * Kernel: quiescent-state-based RCU in sync/kernel/rcu.c (see its header
 * comment): the read side only disables preemption.
 */
#ifndef KESTREL_SYNC_RCU_H
#define KESTREL_SYNC_RCU_H

#include "env.h"
#include "rcu_backend.h"

#endif
