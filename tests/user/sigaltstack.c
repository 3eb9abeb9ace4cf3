/*
 * tests/user/sigaltstack.c - sigaltstack(2) and SA_ONSTACK as Linux: a
 * thread that overflows its stack takes its SIGSEGV on the alternate stack
 * (and without one dies of SIGSEGV); the reported ss_flags (SS_DISABLE,
 * SS_ONSTACK, SS_AUTODISARM), EPERM while on the stack, EINVAL for bad
 * flags, ENOMEM below MINSIGSTKSZ, EFAULT both ways (the new setting is
 * kept when only writing the old one back fails), SA_ONSTACK ignored for a
 * handler without it, and SS_AUTODISARM (disarmed in the handler, restored
 * by rt_sigreturn), and the same for the main thread's 8 MiB stack. The
 * raw syscall is used: musl checks sizes itself.
 *
 * Args: none besides secs=.
 */
#include "uktap.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define ALT_SIZE (64 * 1024)

static char *alt;	/* ALT_SIZE bytes */

/* sas: the raw sigaltstack system call; 0 or -errno. */
static long sas(const stack_t *ss, stack_t *old)
{
	return syscall(SYS_sigaltstack, ss, old) ? -errno : 0;
}

static int on_alt(const void *p)
{
	return (const char *)p >= alt && (const char *)p < alt + ALT_SIZE;
}

static int test_errors(void)
{
	stack_t ss = { .ss_sp = alt, .ss_size = ALT_SIZE }, old;

	UT_CHECK(sas(NULL, &old) == 0 && old.ss_flags == SS_DISABLE && old.ss_size == 0 &&
		 old.ss_sp == NULL, "initial: flags %#x size %zu", old.ss_flags, old.ss_size);
	ss.ss_size = MINSIGSTKSZ - 1;
	UT_CHECK(sas(&ss, NULL) == -ENOMEM, "size below MINSIGSTKSZ");
	ss.ss_size = ALT_SIZE;
	ss.ss_flags = 0x10;
	UT_CHECK(sas(&ss, NULL) == -EINVAL, "bad flags");
	ss.ss_flags = SS_ONSTACK;	/* accepted by the kernel as "enable" */
	UT_CHECK(sas(&ss, NULL) == 0, "SS_ONSTACK");
	UT_CHECK(sas(NULL, &old) == 0 && old.ss_flags == 0 && old.ss_sp == alt &&
		 old.ss_size == ALT_SIZE, "set: flags %#x", old.ss_flags);
	UT_CHECK(sas((stack_t *)8, NULL) == -EFAULT, "bad new");
	ss.ss_flags = SS_DISABLE;
	UT_CHECK(sas(&ss, (stack_t *)8) == -EFAULT, "bad old");
	UT_CHECK(sas(NULL, &old) == 0 && old.ss_flags == SS_DISABLE && old.ss_size == 0,
		 "the new setting was not kept: flags %#x", old.ss_flags);
	ss.ss_size = 0;	/* size does not matter when disabling */
	UT_CHECK(sas(&ss, NULL) == 0, "disable with size 0");
	return UT_PASS;
}

static volatile int h_alt, h_flags, h_eperm, h_try_set;

/* on_usr1: record where we run and what sigaltstack reports there; try
 * to install the alternate stack (flags 0) if h_try_set. */
static void on_usr1(int sig)
{
	stack_t cur, ss = { .ss_sp = alt, .ss_size = ALT_SIZE };
	int local;

	(void)sig;
	h_alt = on_alt(&local);
	h_flags = sas(NULL, &cur) ? -1 : (int)cur.ss_flags;
	h_eperm = h_try_set ? sas(&ss, NULL) == -EPERM : -1;
}

/* deliver: run on_usr1 with sa_flags for SIGUSR1 once (tgkill to self). */
static void deliver(int sa_flags, int try_set)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = sa_flags };

	sigaction(SIGUSR1, &sa, NULL);
	h_alt = h_flags = h_eperm = -1;
	h_try_set = try_set;
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1);
}

static int test_onstack_handler(void)
{
	stack_t ss = { .ss_sp = alt, .ss_size = ALT_SIZE }, cur;

	UT_REQUIRE(sas(&ss, NULL) == 0, "sigaltstack");
	deliver(SA_ONSTACK, 1);
	UT_CHECK(h_alt == 1, "SA_ONSTACK handler not on the alternate stack");
	UT_CHECK(h_flags == SS_ONSTACK, "flags in the handler %#x", h_flags);
	UT_CHECK(h_eperm == 1, "changing it on the stack was not EPERM");
	deliver(0, 1);
	UT_CHECK(h_alt == 0, "a handler without SA_ONSTACK ran on the alternate stack");
	UT_CHECK(h_flags == 0 && h_eperm == 0, "flags %#x, eperm %d", h_flags, h_eperm);
	UT_CHECK(sas(NULL, &cur) == 0 && cur.ss_flags == 0, "after: flags %#x", cur.ss_flags);
	ss.ss_flags = SS_DISABLE;
	sas(&ss, NULL);
	deliver(SA_ONSTACK, 0);
	UT_CHECK(h_alt == 0 && h_flags == SS_DISABLE, "disabled: alt %d flags %#x", h_alt, h_flags);
	return UT_PASS;
}

/* test_autodisarm: disarmed while the handler runs; rt_sigreturn restores
 * the saved setting, unless the handler installed one (flags 0) itself:
 * then the restore is refused (EPERM: the check uses the handler's stack
 * pointer, on the stack the handler armed), as Linux 6.18 does. */
static int test_autodisarm(void)
{
	stack_t ss = { .ss_sp = alt, .ss_size = ALT_SIZE, .ss_flags = SS_AUTODISARM }, cur;

	UT_REQUIRE(sas(&ss, NULL) == 0, "SS_AUTODISARM: errno %d", errno);
	UT_CHECK(sas(NULL, &cur) == 0 && cur.ss_flags == (int)SS_AUTODISARM, "flags %#x",
		 cur.ss_flags);
	deliver(SA_ONSTACK, 0);
	UT_CHECK(h_alt == 1, "not on the alternate stack");
	UT_CHECK(h_flags == SS_DISABLE, "in the handler: flags %#x", h_flags);
	UT_CHECK(sas(NULL, &cur) == 0 && cur.ss_flags == (int)SS_AUTODISARM && cur.ss_sp == alt &&
		 cur.ss_size == ALT_SIZE, "not restored by sigreturn: flags %#x", cur.ss_flags);
	deliver(SA_ONSTACK, 1);
	UT_CHECK(h_alt == 1 && h_flags == SS_DISABLE && h_eperm == 0, "alt %d flags %#x eperm %d",
		 h_alt, h_flags, h_eperm);
	UT_CHECK(sas(NULL, &cur) == 0 && cur.ss_flags == 0 && cur.ss_sp == alt,
		 "the handler's setting was replaced: flags %#x", cur.ss_flags);
	ss.ss_flags = SS_DISABLE;
	UT_CHECK(sas(&ss, NULL) == 0, "disable: errno %d", errno);
	return UT_PASS;
}

/* ---- stack overflow in a thread ----------------------------------------- */

static __thread sigjmp_buf overflow_jb;
static volatile int segv_alt, segv_sig, segv_flags;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	stack_t cur;
	int local;

	(void)si;
	(void)uc;
	segv_sig = sig;
	segv_alt = on_alt(&local);
	segv_flags = sas(NULL, &cur) ? -1 : cur.ss_flags;
	siglongjmp(overflow_jb, 1);
}

#pragma GCC diagnostic ignored "-Winfinite-recursion"
/* recurse: use stack until it runs out. */
static __attribute__((noinline)) int recurse(volatile char *prev, int depth)
{
	volatile char pad[1024];

	pad[0] = (char)depth;
	pad[1023] = prev ? prev[0] : 0;
	return recurse(pad, depth + 1) + pad[512];
}

/* overflow_thread: with an alternate stack (arg != NULL), overflow and
 * come back through siglongjmp; the flags after must be 0 again. */
static void *overflow_thread(void *arg)
{
	stack_t ss = { .ss_sp = alt, .ss_size = ALT_SIZE }, cur;

	if (arg && sas(&ss, NULL))
		return (void *)1;
	if (!sigsetjmp(overflow_jb, 1))
		recurse(NULL, 0);
	if (sas(NULL, &cur) || cur.ss_flags != 0)
		return (void *)2;
	return NULL;
}

static int run_overflow(void *with_alt)
{
	pthread_attr_t a;
	pthread_t t;
	void *r = (void *)3;

	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 128 * 1024);
	if (pthread_create(&t, &a, overflow_thread, with_alt) || pthread_join(t, &r))
		return 4;
	return (int)(intptr_t)r;
}

static int test_overflow_handled(void)
{
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_ONSTACK };
	int r;

	sigaction(SIGSEGV, &sa, NULL);
	r = run_overflow(alt);
	UT_CHECK(r == 0, "thread result %d", r);
	UT_CHECK(segv_sig == SIGSEGV && segv_alt == 1, "sig %d, on the alternate stack %d",
		 segv_sig, segv_alt);
	UT_CHECK(segv_flags == SS_ONSTACK, "flags in the handler %#x", segv_flags);
	signal(SIGSEGV, SIG_DFL);
	return UT_PASS;
}

/* test_overflow_kills: the same handler without an alternate stack cannot
 * run (no room for its frame): the process dies of SIGSEGV. */
static int test_overflow_kills(void)
{
	int st = 0;
	pid_t pid = fork();

	if (pid == 0) {
		struct sigaction sa = { .sa_sigaction = on_segv,
					.sa_flags = SA_SIGINFO | SA_ONSTACK };

		sigaction(SIGSEGV, &sa, NULL);
		_exit(run_overflow(NULL) + 50);
	}
	UT_REQUIRE(pid > 0 && waitpid(pid, &st, 0) == pid, "fork/wait: errno %d", errno);
	UT_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "status %#x", st);
	return UT_PASS;
}

/* test_main_overflow: the main thread's stack (RLIMIT_STACK 8 MiB) overflows
 * in a child; its SIGSEGV handler runs on the alternate stack. */
static int test_main_overflow(void)
{
	int st = 0;
	pid_t pid = fork();

	if (pid == 0) {
		struct sigaction sa = { .sa_sigaction = on_segv,
					.sa_flags = SA_SIGINFO | SA_ONSTACK };
		struct rlimit rl = { 8 << 20, 8 << 20 };
		stack_t ss = { .ss_sp = alt, .ss_size = ALT_SIZE };

		if (setrlimit(RLIMIT_STACK, &rl) || sas(&ss, NULL))
			_exit(2);
		sigaction(SIGSEGV, &sa, NULL);
		if (!sigsetjmp(overflow_jb, 1))
			recurse(NULL, 0);
		_exit(segv_sig == SIGSEGV && segv_alt == 1 && segv_flags == SS_ONSTACK ? 0 : 3);
	}
	UT_REQUIRE(pid > 0 && waitpid(pid, &st, 0) == pid, "fork/wait: errno %d", errno);
	UT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
	return UT_PASS;
}

int main(int argc, char **argv)
{
	static const struct ut_case cases[] = {
		{ "errors", test_errors },
		{ "onstack_handler", test_onstack_handler },
		{ "autodisarm", test_autodisarm },
		{ "overflow_handled", test_overflow_handled },
		{ "overflow_kills", test_overflow_kills },
		{ "main_overflow", test_main_overflow },
	};

	ut_init(argc, argv, 30);
	alt = mmap(NULL, ALT_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (alt == MAP_FAILED)
		return ut_printf("# mmap: errno %d\n0 passed, 1 failed\n", errno), 1;
	return ut_run(cases, UT_NCASES(cases));
}
