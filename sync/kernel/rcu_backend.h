/*
 * sync/kernel/rcu_backend.h - kernel RCU: quiescent-state based (QSBR).
 *
 * Readers: rcu_read_lock() is preempt_disable(), rcu_read_unlock() is
 * preempt_enable(): one increment of a per-CPU counter through %gs, no atomic
 * instruction, no fence, no shared cache line. That is why readers are cheap:
 * a reader never writes anything another CPU reads. The price is paid by
 * writers, who wait until every CPU has passed a quiescent state.
 *
 * Quiescent states (rcu_note_qs): a CPU that is in schedule(), in its idle
 * loop, or is interrupted by the tick with preempt_count() == 0 cannot be
 * inside a read-side section (sections never sleep and never get preempted),
 * so every pointer it loaded in an earlier section is dead.
 * Grace periods: see sync/kernel/rcu.c for the counter protocol and its
 * ordering argument. Callbacks queued with call_rcu() run in a per-CPU
 * kernel thread ("rcu/N") after a grace period, in queueing order per CPU.
 *
 * Rules: no sleeping inside a read-side section; synchronize_rcu() and
 * rcu_barrier() sleep and need preemption enabled.
 */
#ifndef KESTREL_KERNEL_RCU_BACKEND_H
#define KESTREL_KERNEL_RCU_BACKEND_H

struct rcu_head {
	struct rcu_head *next;
	void (*func)(struct rcu_head *head);
};

#define rcu_read_lock()		preempt_disable()
#define rcu_read_unlock()	preempt_enable()

/* x86 keeps dependent loads ordered; consume also stops the compiler from
 * re-reading or speculating the pointer. */
#define rcu_dereference(p)	__atomic_load_n(&(p), __ATOMIC_CONSUME)
/* Release: the pointee's initialisation is visible before the pointer. */
#define rcu_assign_pointer(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)

void call_rcu(struct rcu_head *head, void (*func)(struct rcu_head *head));
void synchronize_rcu(void);
void rcu_barrier(void);

#define rcu_register_thread()   do { } while (0)
#define rcu_unregister_thread() do { } while (0)

/* Kernel-internal hooks. */
void rcu_note_qs(void);		/* preemption or IRQs off */
void rcu_tick(void);		/* timer interrupt, every CPU */
void rcu_cpu_init(unsigned cpu);	/* before the CPU goes online */
void rcu_start_threads(void);	/* once the scheduler runs */
uint64_t rcu_gp_started(void);	/* grace periods started so far (tests) */

#endif
