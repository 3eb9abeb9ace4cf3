/*
 * kernel/signal_stack.c - sigaltstack(2) and the choice of the stack a
 * signal handler runs on (Linux's do_sigaltstack and get_sigframe).
 *
 * Each thread has at most one alternate stack [sas_sp, sas_sp + sas_size)
 * (kernel/proc.h, (O): only the thread itself reads or writes it). A
 * handler installed with SA_ONSTACK runs at the top of it unless the
 * thread is already on it (nested signals stay there); a frame that would
 * overflow it kills with SIGSEGV. "On it" means sp in (base, base + size],
 * as Linux, and never with SS_AUTODISARM (the stack is disarmed while a
 * handler runs on it, and rt_sigreturn restores the setting the frame
 * saved). A new thread (clone without CLONE_VFORK) and a new image (execve)
 * start without one; fork and vfork children inherit it.
 */
#include "kernel/signal.h"
#include "kernel/proc.h"
#include "kernel/sched.h"
#include "kernel/syscall.h"
#include "arch/cpu.h"

#define SS_ONSTACK	1
#define SS_DISABLE	2
#define SS_AUTODISARM	(1u << 31)
#define MINSIGSTKSZ	2048
#define SA_ONSTACK	0x08000000
#define EPERM_		1

static bool sas_in_range(const struct uthread *ut, uint64_t sp);

bool sas_on_stack(const struct uthread *ut, uint64_t sp)
{
	return !(ut->sas_flags & SS_AUTODISARM) && sas_in_range(ut, sp);
}

/* sas_mode: SS_DISABLE without a stack, SS_ONSTACK while on it, else 0. */
static uint32_t sas_mode(const struct uthread *ut, uint64_t sp)
{
	if (!ut->sas_size)
		return SS_DISABLE;
	return sas_on_stack(ut, sp) ? SS_ONSTACK : 0;
}

/* sas_in_range: sp in (base, base + size] regardless of SS_AUTODISARM. */
static bool sas_in_range(const struct uthread *ut, uint64_t sp)
{
	return sp > ut->sas_sp && sp - ut->sas_sp <= ut->sas_size;
}

uint64_t sas_frame_sp(struct uthread *ut, uint64_t sp, uint64_t sa_flags, size_t size)
{
	bool alt;

	sp -= 128;	/* the interrupted code's red zone */
	alt = sas_on_stack(ut, sp);	/* nested: already on it */
	if ((sa_flags & SA_ONSTACK) && sas_mode(ut, sp) == 0) {
		sp = ut->sas_sp + ut->sas_size;
		alt = true;
	}
	sp = ((sp - size) & ~15ull) - 8;	/* as after a call: RSP % 16 == 8 */
	if (alt && !sas_in_range(ut, sp))
		return 0;	/* it would overflow the alternate stack */
	return sp;
}

void sas_save(const struct uthread *ut, struct user_stack *ss)
{
	memset(ss, 0, sizeof(*ss));
	ss->ss_sp = ut->sas_sp;
	ss->ss_flags = (int32_t)ut->sas_flags;
	ss->ss_size = ut->sas_size;
}

void sas_entered(struct uthread *ut)
{
	if (ut->sas_flags & SS_AUTODISARM) {
		ut->sas_sp = ut->sas_size = 0;
		ut->sas_flags = SS_DISABLE;
	}
}

int sas_set(struct uthread *ut, uint64_t sp, const struct user_stack *ss)
{
	uint32_t mode = (uint32_t)ss->ss_flags & ~SS_AUTODISARM;

	if (sas_on_stack(ut, sp))
		return -EPERM_;
	if (mode != SS_DISABLE && mode != SS_ONSTACK && mode != 0)
		return -EINVAL;
	if (mode != SS_DISABLE && ss->ss_size < MINSIGSTKSZ)
		return -ENOMEM;
	ut->sas_sp = mode == SS_DISABLE ? 0 : ss->ss_sp;
	ut->sas_size = mode == SS_DISABLE ? 0 : ss->ss_size;
	ut->sas_flags = (uint32_t)ss->ss_flags;
	return 0;
}

/* sys_sigaltstack: report the old setting (taken before any change) and
 * install a new one; Linux's order of checks and errnos. */
long sys_sigaltstack(uint64_t uss, uint64_t uoss, uint64_t a2, uint64_t a3, uint64_t a4,
		     uint64_t a5)
{
	struct uthread *ut = thread_self()->user;
	uint64_t sp = ut->tf->rsp;
	struct user_stack ss, old;
	int err;

	if (uss && copy_from_user(&ss, uss, sizeof(ss)))
		return -EFAULT;
	sas_save(ut, &old);
	old.ss_flags = (int32_t)(sas_mode(ut, sp) | (ut->sas_flags & SS_AUTODISARM));
	if (uss && (err = sas_set(ut, sp, &ss)))
		return err;
	if (uoss && copy_to_user(uoss, &old, sizeof(old)))
		return -EFAULT;
	return 0;
}
