/*
 * kernel/sys_misc.c - process identity, time and sleeping (nanosleep ends
 * early, at once, for a signal to handle or an exit), randomness, TLS,
 * resource limits.
 */
#include "kernel/syscall.h"
#include "kernel/proc_internal.h"
#include "kernel/signal.h"
#include "kernel/sched.h"
#include "kernel/machine.h"
#include "arch/x86.h"

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004
#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define GRND_NONBLOCK 1
#define GRND_RANDOM 2
#define GRND_INSECURE 4
#define ESRCH_ 3

static uint64_t rng_state;	/* (A) xorshift state, seeded from the TSC */

/* random_bytes: fill buf from a xorshift64* generator stirred with the TSC
 * (not cryptographic: AT_RANDOM and getrandom for tests and stack canaries). */
void random_bytes(void *buf, size_t n)
{
	uint8_t *b = buf;

	for (size_t i = 0; i < n; i += 8) {
		uint64_t x = ck_pr_load_64(&rng_state) ^ rdtsc(), r;

		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		ck_pr_store_64(&rng_state, x);
		r = x * 0x2545f4914f6cdd1dull;
		memcpy(b + i, &r, n - i < 8 ? n - i : 8);
	}
}

/* getcpu: the CPU and node the caller runs on (it may move right after). */
long sys_getcpu(uint64_t ucpu, uint64_t unode, uint64_t a2, uint64_t a3, uint64_t a4,
		uint64_t a5)
{
	uint32_t cpu = cpu_self(), node = 0;

	if (ucpu && copy_to_user(ucpu, &cpu, 4))
		return -EFAULT;
	if (unode && copy_to_user(unode, &node, 4))
		return -EFAULT;
	return 0;
}

long sys_getpid(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	return proc_self()->pid;
}

/* sys_getppid: the parent's pid; 1 for an orphan (Linux reparents it to
 * init; here the reaper thread stands in), 0 for a process the kernel
 * spawned. Read under the tree lock: an exiting parent unlinks its
 * children there before it can be freed. */
long sys_getppid(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	struct proc *p = proc_self();
	long r;

	spin_lock(&proc_tree_lock);
	r = p->parent ? p->parent->pid : p->orphan ? 1 : 0;
	spin_unlock(&proc_tree_lock);
	return r;
}

#define RLIMIT_AS	9
#define RLIM_INFINITY	(~0ull)

/* prlimit64: RLIMIT_AS of the calling process (pid 0 or its own), enforced
 * by the mm core; other resources read as unlimited and accept any value. */
long sys_prlimit64(uint64_t pid, uint64_t res, uint64_t unew, uint64_t uold, uint64_t a4,
		   uint64_t a5)
{
	struct proc *p = proc_self();
	uint64_t lim[2] = { RLIM_INFINITY, RLIM_INFINITY }, nl[2];

	if (pid && (int)pid != p->pid)
		return -ESRCH_;
	if (res >= 16)
		return -EINVAL;
	if (unew && copy_from_user(nl, unew, sizeof(nl)))
		return -EFAULT;
	if (unew && nl[0] > nl[1])
		return -EINVAL;
	mm_lock_write(p->mm);
	if (res == RLIMIT_AS) {
		uint64_t cur = p->mm->rlimit_as == MM_NO_LIMIT ? RLIM_INFINITY : p->mm->rlimit_as;

		lim[0] = cur;
		lim[1] = p->rlimit_as_max;
		if (unew && nl[1] > p->rlimit_as_max) {
			mm_unlock_write(p->mm);
			return -EPERM;
		}
		if (unew) {
			p->mm->rlimit_as = nl[0] == RLIM_INFINITY ? MM_NO_LIMIT : nl[0];
			p->rlimit_as_max = nl[1];
		}
	}
	mm_unlock_write(p->mm);
	if (uold && copy_to_user(uold, lim, sizeof(lim)))
		return -EFAULT;
	return 0;
}

long sys_gettid(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	return thread_self()->user->tid;
}

long sys_exit(uint64_t code, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	proc_exit((int)((code & 0xff) << 8));
}

long sys_arch_prctl(uint64_t code, uint64_t addr, uint64_t a2, uint64_t a3, uint64_t a4,
		    uint64_t a5)
{
	struct uthread *ut = thread_self()->user;

	switch (code) {
	case ARCH_SET_FS:
		if (addr >= USER_VA_END)
			return -EPERM;
		ut->fsbase = addr;
		wrmsr(MSR_FS_BASE, addr);
		return 0;
	case ARCH_GET_FS:
		return copy_to_user(addr, &ut->fsbase, 8);
	default:
		return -EINVAL;
	}
}

long sys_set_tid_address(uint64_t uaddr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
			 uint64_t a5)
{
	thread_self()->user->clear_tid = uaddr;
	return thread_self()->user->tid;
}

long sys_uname(uint64_t ubuf, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	static const char *const f[6] = { "Linux", "kestrel", "6.1.0-kestrel", "#1 SMP",
					  "x86_64", "(none)" };
	char buf[6 * 65];

	memset(buf, 0, sizeof(buf));
	for (unsigned i = 0; i < 6; i++)
		memcpy(buf + 65 * i, f[i], strlen(f[i]));
	return copy_to_user(ubuf, buf, sizeof(buf));
}

long sys_clock_gettime(uint64_t clk, uint64_t uts, uint64_t a2, uint64_t a3, uint64_t a4,
		       uint64_t a5)
{
	uint64_t ns = time_ns(), ts[2] = { ns / 1000000000, ns % 1000000000 };

	if (clk > 11)	/* every Linux clock reads the monotonic TSC here */
		return -EINVAL;
	return copy_to_user(uts, ts, sizeof(ts));
}

/* nanosleep_left: the time left, ns, written to urem (if any); then
 * -EINTR if the process is exiting, else -ERESTART_RESTARTBLOCK with end
 * saved: the call resumes if no handler runs, else returns -EINTR. */
static long nanosleep_left(struct uthread *ut, uint64_t urem, uint64_t ns, uint64_t end)
{
	int64_t ts[2] = { (int64_t)(ns / 1000000000), (int64_t)(ns % 1000000000) };

	if (urem && copy_to_user(urem, ts, sizeof(ts)))
		return -EFAULT;
	if (proc_exiting(ut->proc))
		return -EINTR;
	ut->restart_end = end;
	return -ERESTART_RESTARTBLOCK;
}

/* nanosleep_ticks: ticks that cover ns (at least one). */
static uint64_t nanosleep_ticks(uint64_t ns)
{
	return ns / (1000000000 / SCHED_HZ) + 1;
}

/* sys_nanosleep: sleep as a tick sleeper that a signal to handle, an exit or
 * an exec's zap wakes at once (proc_kick_waiters): -EINTR and the time left
 * in *urem if a handler runs, as Linux (an ignored or blocked signal does not
 * interrupt; one a sibling takes resumes the sleep, ERESTART_RESTARTBLOCK). */
long sys_nanosleep(uint64_t ureq, uint64_t urem, uint64_t a2, uint64_t a3, uint64_t a4,
		   uint64_t a5)
{
	struct uthread *ut = thread_self()->user;
	uint64_t ns, end, now;
	int64_t ts[2];

	if (copy_from_user(ts, ureq, sizeof(ts)))
		return -EFAULT;
	if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000)
		return -EINVAL;
	ns = ts[0] >= (1ll << 32) ? (1ull << 62) : (uint64_t)ts[0] * 1000000000 + (uint64_t)ts[1];
	end = restart_take_end(ut, time_ns() + ns);
	while ((now = time_ns()) < end) {
		if (proc_exiting(ut->proc) || signal_interrupts(ut))
			return nanosleep_left(ut, urem, end - now, end);
		wait_event_ticks(proc_exiting(ut->proc) || signal_interrupts(ut),
				 nanosleep_ticks(end - now));
	}
	return 0;
}

long sys_sched_yield(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
		     uint64_t a5)
{
	sched_yield();
	return 0;
}

long sys_getrandom(uint64_t ubuf, uint64_t len, uint64_t flags, uint64_t a3, uint64_t a4,
		   uint64_t a5)
{
	uint8_t buf[256];
	uint64_t done = 0;

	if (flags & ~(uint64_t)(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE))
		return -EINVAL;
	while (done < len) {
		size_t k = len - done < sizeof(buf) ? len - done : sizeof(buf);

		random_bytes(buf, k);
		if (copy_to_user(ubuf + done, buf, k))
			return done ? (long)done : -EFAULT;
		done += k;
	}
	return (long)done;
}
