/*
 * kernel/signal.c - signal dispositions, masks and synchronous delivery.
 *
 * Only synchronous signals exist so far (faults of the running thread), so
 * delivery happens on the way back from the trap: signal_fault() either
 * rewrites the user frame to enter the handler, or applies the default
 * action (kill the process, one-line log). A fault whose signal is blocked
 * or ignored kills too, as Linux's force_sig does.
 *
 * The handler's frame on the user stack is Linux's struct rt_sigframe:
 *   [pretcode = sa_restorer][ucontext (flags, link, stack, mcontext, mask)]
 *   [siginfo (128 bytes)][FXSAVE area (512, 16-aligned)]
 * below the interrupted RSP minus the 128-byte red zone, with RSP % 16 == 8
 * at the handler's entry (as after a call). rt_sigreturn restores the
 * registers, mask and FPU state from the ucontext.
 */
#include "kernel/signal.h"
#include "kernel/proc.h"
#include "kernel/printk.h"
#include "kernel/sched.h"
#include "kernel/syscall.h"
#include "kernel/futex.h"
#include "arch/cpu.h"
#include "arch/x86.h"

#define SA_SIGINFO	0x4
#define SA_RESTART	0x10000000
#define SA_NODEFER	0x40000000
#define SA_RESETHAND	0x80000000
#define SA_RESTORER	0x04000000
#define SIG_DFL		0
#define SIG_IGN		1
#define SIGSTOP		19
#define UNBLOCKABLE	((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)))

/* Linux x86_64 struct sigcontext, in order. */
struct sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2, fpstate;
	uint64_t reserved[8];
};

struct ucontext {
	uint64_t flags, link;
	struct user_stack stack;
	struct sigcontext mc;
	uint64_t sigmask;
};

/* Linux's siginfo: the fields after the header depend on the source. */
struct siginfo {
	int32_t signo, errno_, code, pad;
	union {
		uint64_t addr;					/* faults */
		struct { int32_t pid, uid, status; } src;	/* kill, SIGCHLD */
		uint8_t bytes[16];
	};
	uint8_t rest[128 - 32];
};
_Static_assert(sizeof(struct siginfo) == 128, "siginfo is 128 bytes");

struct rt_sigframe {
	uint64_t pretcode;
	struct ucontext uc;
	struct siginfo info;
	uint8_t fpu[512] __attribute__((aligned(16)));
};

static void signal_kill(struct trap_frame *tf, int sig, uint64_t addr)
{
	struct proc *p = proc_self();

	pr_err("%s[%d]: signal %d at %016lx, rip %016lx: killed\n", p->name, p->pid, sig,
	       addr, tf->rip);
	irq_enable();
	proc_exit_signal(sig);
}

/* signal_info: the siginfo of sig from source ki. */
static void signal_info(struct siginfo *info, int sig, const struct ksiginfo *ki)
{
	info->signo = sig;
	info->code = ki->code;
	if (ki->code <= 0 || sig == SIGCHLD) {
		info->src.pid = ki->pid;
		info->src.uid = ki->uid;
		info->src.status = ki->status;
	} else {
		info->addr = ki->addr;
	}
}

/* signal_frame: write the rt_sigframe for sig on the user stack or the
 * alternate one (kernel/signal_stack.c); the frame's address, or 0 if the
 * stack is not writable or too small (or no memory). Interrupts are on; the
 * FPU registers hold this thread's state (the switch code keeps them). */
static uint64_t signal_frame(struct trap_frame *tf, struct uthread *ut, int sig,
			     const struct ksiginfo *ki, const struct k_sigaction *ka)
{
	struct rt_sigframe *f;
	uint64_t sp = sas_frame_sp(ut, tf->rsp, ka->flags, sizeof(*f));
	int err;

	if (!sp || !(f = env_alloc(sizeof(*f))))
		return 0;
	memset(f, 0, sizeof(*f));
	f->pretcode = ka->restorer;
	f->uc.mc = (struct sigcontext){
		tf->r8, tf->r9, tf->r10, tf->r11, tf->r12, tf->r13, tf->r14, tf->r15,
		tf->rdi, tf->rsi, tf->rbp, tf->rbx, tf->rdx, tf->rax, tf->rcx, tf->rsp, tf->rip,
		tf->rflags, (uint16_t)tf->cs, 0, 0, (uint16_t)tf->ss, tf->error, tf->vector,
		ut->sigmask, ki->addr, sp + offsetof(struct rt_sigframe, fpu), { 0 } };
	f->uc.sigmask = ut->sigmask;
	sas_save(ut, &f->uc.stack);
	signal_info(&f->info, sig, ki);
	__asm__ volatile("fxsave64 %0" : "=m"(f->fpu));
	err = copy_to_user(sp, f, sizeof(*f));
	env_free(f, sizeof(*f));
	return err ? 0 : sp;
}

/* signal_enter: make tf enter ka's handler for sig (frame on the user
 * stack); kills with SIGSEGV if the stack cannot take the frame. A system
 * call that ended with -ERESTARTSYS (rewound to run again) returns -EINTR
 * instead unless the handler has SA_RESTART, one that ended with
 * -ERESTART_RESTARTBLOCK always does (Linux's handle_signal). */
static void signal_enter(struct trap_frame *tf, struct uthread *ut, int sig,
			 const struct ksiginfo *ki, const struct k_sigaction *ka)
{
	uint64_t sp, bit = 1ull << (sig - 1);

	if ((ut->restart_sys && !(ka->flags & SA_RESTART)) || ut->restart_block) {
		tf->rax = (uint64_t)-EINTR;
		tf->rip += 2;	/* past the SYSCALL instruction again */
		ut->restart_end = 0;	/* not resumed */
	}
	/* one frame: an inner handler must not undo */
	ut->restart_sys = ut->restart_block = false;
	irq_enable();
	sp = signal_frame(tf, ut, sig, ki, ka);
	irq_disable();
	if (!sp)
		signal_kill(tf, SIGSEGV, ki->addr);
	sas_entered(ut);
	ut->sigmask |= (ka->mask | (ka->flags & SA_NODEFER ? 0 : bit)) & ~UNBLOCKABLE;
	tf->rsp = sp;
	tf->rip = ka->handler;
	tf->rdi = (uint64_t)sig;
	tf->rsi = sp + offsetof(struct rt_sigframe, info);
	tf->rdx = sp + offsetof(struct rt_sigframe, uc);
	tf->rax = 0;
	tf->rflags &= ~(1ull << 10 | 1ull << 8);	/* DF, TF clear for the handler */
}

/* signal_action: sig's disposition, reset first if SA_RESETHAND. */
static struct k_sigaction signal_action(struct proc *p, int sig)
{
	struct k_sigaction ka;

	spin_lock(&p->lock);
	ka = p->sigact[sig - 1];
	if (ka.flags & SA_RESETHAND)
		p->sigact[sig - 1].handler = SIG_DFL;
	spin_unlock(&p->lock);
	return ka;
}

void signal_fault(struct trap_frame *tf, int sig, int code, uint64_t addr)
{
	struct uthread *ut = thread_self()->user;
	struct k_sigaction ka = signal_action(proc_self(), sig);

	struct ksiginfo ki = { .code = code, .addr = addr };

	if (ka.handler == SIG_DFL || ka.handler == SIG_IGN || (ut->sigmask & (1ull << (sig - 1))) ||
	    !(ka.flags & SA_RESTORER))
		signal_kill(tf, sig, addr);
	signal_enter(tf, ut, sig, &ki, &ka);
}

/* Signals whose default action is to do nothing (no job control here). */
#define DEFAULT_IGNORED ((1ull << (SIGCHLD - 1)) | (1ull << (18 - 1)) | (1ull << (19 - 1)) | \
			 (1ull << (20 - 1)) | (1ull << (21 - 1)) | (1ull << (22 - 1)) | \
			 (1ull << (23 - 1)) | (1ull << (28 - 1)))

bool signal_ignored(struct proc *p, int sig)
{
	uint64_t h = p->sigact[sig - 1].handler;

	KASSERT(spin_holding(&p->lock), "signal_ignored: proc lock not held");
	return h == SIG_IGN || (h == SIG_DFL && (DEFAULT_IGNORED & (1ull << (sig - 1))));
}

/* signal_ready: the signals ut could take now: pending for it or for its
 * process, not blocked (a racy snapshot; signal_take decides). */
static uint64_t signal_ready(struct uthread *ut)
{
	return (ck_pr_load_64(&ut->pending) | ck_pr_load_64(&ut->proc->shared_pending)) &
	       ~ut->sigmask;
}

bool signal_interrupts(struct uthread *ut)
{
	uint64_t ready = signal_ready(ut);
	struct proc *p = ut->proc;
	bool wake = false;

	spin_lock(&p->lock);
	for (; ready && !wake; ready &= ready - 1)
		wake = !signal_ignored(p, __builtin_ctzll(ready) + 1);
	spin_unlock(&p->lock);
	return wake;
}

/* signal_take: take pending sig off ut, or else off its process's shared
 * set (Linux's dequeue_signal order): its source into *ki and its
 * disposition (reset first if SA_RESETHAND); false if it was ignored, or if
 * another thread took the shared one first. */
static bool signal_take(struct uthread *ut, int sig, struct ksiginfo *ki,
			struct k_sigaction *ka)
{
	struct proc *p = ut->proc;
	uint64_t bit = 1ull << (sig - 1);
	bool ignored;

	spin_lock(&p->lock);
	if (ck_pr_load_64(&ut->pending) & bit) {
		ck_pr_and_64(&ut->pending, ~bit);
		*ki = ut->siginfo[sig - 1];
	} else if (ck_pr_load_64(&p->shared_pending) & bit) {
		ck_pr_and_64(&p->shared_pending, ~bit);
		*ki = p->shared_siginfo[sig - 1];
	} else {
		spin_unlock(&p->lock);
		return false;
	}
	ignored = signal_ignored(p, sig);
	*ka = p->sigact[sig - 1];
	if (!ignored && (ka->flags & SA_RESETHAND))
		p->sigact[sig - 1].handler = SIG_DFL;
	spin_unlock(&p->lock);
	return !ignored;
}

void signal_deliver(struct trap_frame *tf)
{
	struct uthread *ut = thread_self()->user;
	uint64_t ready;

	while ((ready = signal_ready(ut))) {
		int sig = __builtin_ctzll(ready) + 1;
		struct k_sigaction ka;
		struct ksiginfo ki;

		if (!signal_take(ut, sig, &ki, &ka))
			continue;
		if (ka.handler == SIG_DFL || !(ka.flags & SA_RESTORER))
			signal_kill(tf, sig, 0);
		signal_enter(tf, ut, sig, &ki, &ka);
		return;	/* one handler frame per return to user mode */
	}
}

/* signal_discard_locked: drop pending sig from p and every thread of p
 * (POSIX: setting SIG_IGN, or SIG_DFL that ignores, discards a pending
 * signal, even a blocked one); p->lock held. */
static void signal_discard_locked(struct proc *p, int sig)
{
	ck_pr_and_64(&p->shared_pending, ~(1ull << (sig - 1)));
	for (struct proc_thread *pt = p->threads; pt; pt = pt->next)
		ck_pr_and_64(&pt->ut->pending, ~(1ull << (sig - 1)));
}

long sys_rt_sigaction(uint64_t sig, uint64_t uact, uint64_t uold, uint64_t size, uint64_t a4,
		      uint64_t a5)
{
	struct proc *p = proc_self();
	struct k_sigaction ka, old;

	if (sig < 1 || sig > NSIG || size != 8)
		return -EINVAL;
	if (uact && copy_from_user(&ka, uact, sizeof(ka)))
		return -EFAULT;
	if (uact && (sig == SIGKILL || sig == SIGSTOP))
		return -EINVAL;
	spin_lock(&p->lock);
	old = p->sigact[sig - 1];
	if (uact) {
		ka.mask &= ~UNBLOCKABLE;
		p->sigact[sig - 1] = ka;
		if (signal_ignored(p, (int)sig))
			signal_discard_locked(p, (int)sig);
	}
	spin_unlock(&p->lock);
	if (uold && copy_to_user(uold, &old, sizeof(old)))
		return -EFAULT;
	return 0;
}

long sys_rt_sigprocmask(uint64_t how, uint64_t uset, uint64_t uold, uint64_t size,
			uint64_t a4, uint64_t a5)
{
	struct uthread *ut = thread_self()->user;
	uint64_t set, old = ut->sigmask;

	if (size != 8 || (uset && how > 2))
		return -EINVAL;
	if (uset && copy_from_user(&set, uset, 8))
		return -EFAULT;
	if (uold && copy_to_user(uold, &old, 8))
		return -EFAULT;
	if (uset) {
		set &= ~UNBLOCKABLE;
		ut->sigmask = how == 0 ? old | set : how == 1 ? old & ~set : set;
		if (ut->sigmask & ~old & ck_pr_load_64(&ut->proc->shared_pending))
			signal_retarget(ut->proc);	/* now blocked here: another takes it */
	}
	return 0;
}

/* sys_rt_sigreturn: restore the context saved by signal_frame (and the
 * alternate stack setting of uc_stack, which SS_AUTODISARM relies on); returns
 * the interrupted RAX (syscall_dispatch stores it back into the frame). */
long sys_rt_sigreturn(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
		      uint64_t a5)
{
	struct uthread *ut = thread_self()->user;
	struct trap_frame *tf = ut->tf;
	uint64_t uc = tf->rsp;	/* the handler's ret popped pretcode */
	struct ucontext *u = env_alloc(sizeof(*u));
	uint8_t *fpu = env_alloc(512);
	struct sigcontext *m;

	if (!u || !fpu || copy_from_user(u, uc, sizeof(*u)) ||
	    copy_from_user(fpu, u->mc.fpstate, 512)) {
		env_free(u, sizeof(*u));
		env_free(fpu, 512);
		signal_kill(tf, SIGSEGV, uc);
	}
	m = &u->mc;
	tf->r8 = m->r8, tf->r9 = m->r9, tf->r10 = m->r10, tf->r11 = m->r11;
	tf->r12 = m->r12, tf->r13 = m->r13, tf->r14 = m->r14, tf->r15 = m->r15;
	tf->rdi = m->rdi, tf->rsi = m->rsi, tf->rbp = m->rbp, tf->rbx = m->rbx;
	tf->rdx = m->rdx, tf->rcx = m->rcx, tf->rsp = m->rsp, tf->rip = m->rip;
	/* user-changeable flags only: CF PF AF ZF SF TF DF OF AC */
	tf->rflags = (tf->rflags & ~0x40dd5ull) | (m->eflags & 0x40dd5ull);
	ut->sigmask = u->sigmask & ~UNBLOCKABLE;
	/* Linux ignores all but EFAULT here, and (6.18, measured) checks
	 * "on the stack" against the handler's stack pointer, not the
	 * restored one: a handler that armed the stack it runs on keeps it. */
	(void)sas_set(ut, uc, &u->stack);
	irq_disable();	/* the FPU registers are this thread's until we switch */
	fpu[24] &= 0xff;	/* MXCSR reserved bits must be clear, else #GP */
	*(uint32_t *)(fpu + 24) &= 0xffff;
	__asm__ volatile("fxrstor64 %0" : : "m"(*(uint8_t (*)[512])fpu));
	irq_enable();
	{
		long rax = (long)m->rax;

		env_free(u, sizeof(*u));
		env_free(fpu, 512);
		return rax;
	}
}
