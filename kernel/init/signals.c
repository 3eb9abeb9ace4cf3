/*
 * kernel/init/signals.c - asynchronous signals and resource limits as Linux
 * delivers them, checked natively (the oracle) and under Kestrel.
 *
 * A signal sent to the caller itself (kill, tgkill) runs its handler before
 * the call returns; a blocked one stays pending and runs when unblocked
 * (before sigprocmask returns); SIG_IGN discards; tgkill reaches exactly the
 * named thread; a child killed by a default action reports WIFSIGNALED with
 * that signal; prlimit64(RLIMIT_AS) makes a too large mmap fail with ENOMEM.
 *
 * Args: secs=20.
 */
#include "uktap.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static volatile int hits[65];	/* atomic */
static volatile long hit_tid;	/* written before hits[] (release) */

static void on_sig(int sig)
{
	hit_tid = syscall(SYS_gettid);	/* before the count others wait for */
	__atomic_add_fetch(&hits[sig], 1, __ATOMIC_RELEASE);
}

static void handle(int sig)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sig;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

static int test_kill_self(void)
{
	handle(SIGUSR1);
	hits[SIGUSR1] = 0;
	UT_REQUIRE(kill(getpid(), SIGUSR1) == 0, "kill: errno %d", errno);
	UT_CHECK(hits[SIGUSR1] == 1, "handler ran %d times before kill returned", hits[SIGUSR1]);
	UT_CHECK(syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1) == 0, "tgkill");
	UT_CHECK(hits[SIGUSR1] == 2, "handler ran %d times after tgkill", hits[SIGUSR1]);
	UT_CHECK(kill(getpid(), 0) == 0, "kill(self, 0)");
	UT_CHECK(kill(getpid(), 65) == -1 && errno == EINVAL, "kill with signal 65: errno %d", errno);
	return UT_PASS;
}

static int test_blocked_pending(void)
{
	sigset_t s, old;

	handle(SIGUSR2);
	hits[SIGUSR2] = 0;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR2);
	sigprocmask(SIG_BLOCK, &s, &old);
	kill(getpid(), SIGUSR2);
	kill(getpid(), SIGUSR2);
	UT_CHECK(hits[SIGUSR2] == 0, "blocked signal delivered");
	sigprocmask(SIG_SETMASK, &old, NULL);
	UT_CHECK(hits[SIGUSR2] == 1, "pending signal ran %d times after unblocking (want 1)",
		 hits[SIGUSR2]);
	signal(SIGUSR2, SIG_IGN);
	kill(getpid(), SIGUSR2);
	UT_CHECK(hits[SIGUSR2] == 1, "ignored signal ran the old handler");
	signal(SIGUSR2, SIG_DFL);
	return UT_PASS;
}

static volatile int thread_ready, thread_stop;
static volatile long thread_tid;

static void *spinner(void *arg)
{
	(void)arg;
	thread_tid = syscall(SYS_gettid);
	__atomic_store_n(&thread_ready, 1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&thread_stop, __ATOMIC_ACQUIRE))
		sched_yield();
	return NULL;
}

static int test_tgkill_thread(void)
{
	pthread_t t;
	uint64_t t0 = ut_now_ns();

	handle(SIGUSR1);
	hits[SIGUSR1] = 0;
	hit_tid = 0;
	UT_REQUIRE(pthread_create(&t, NULL, spinner, NULL) == 0, "pthread_create");
	while (!__atomic_load_n(&thread_ready, __ATOMIC_ACQUIRE))
		sched_yield();
	UT_CHECK(syscall(SYS_tgkill, getpid(), thread_tid, SIGUSR1) == 0, "tgkill: errno %d", errno);
	while (!__atomic_load_n(&hits[SIGUSR1], __ATOMIC_ACQUIRE) && ut_now_ns() - t0 < 5000000000ull)
		sched_yield();
	UT_CHECK(hits[SIGUSR1] == 1 && hit_tid == thread_tid, "handler ran %d times in tid %ld "
		 "(want once in %ld)", hits[SIGUSR1], (long)hit_tid, (long)thread_tid);
	UT_CHECK(syscall(SYS_tgkill, getpid(), 999999, SIGUSR1) == -1 && errno == ESRCH,
		 "tgkill of a missing tid: errno %d", errno);
	__atomic_store_n(&thread_stop, 1, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	return UT_PASS;
}

static int test_kill_child(void)
{
	int st = 0;
	pid_t pid = fork();

	if (pid == 0) {
		for (;;)
			sched_yield();
	}
	UT_REQUIRE(pid > 0, "fork: errno %d", errno);
	UT_CHECK(kill(pid, SIGTERM) == 0, "kill child: errno %d", errno);
	UT_REQUIRE(waitpid(pid, &st, 0) == pid, "waitpid: errno %d", errno);
	UT_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "child status %#x", st);
	return UT_PASS;
}

static int test_rlimit_as(void)
{
	struct rlimit old, lim;
	void *p;

	UT_REQUIRE(getrlimit(RLIMIT_AS, &old) == 0, "getrlimit: errno %d", errno);
	lim = old;
	lim.rlim_cur = 256ul << 20;
	UT_REQUIRE(setrlimit(RLIMIT_AS, &lim) == 0, "setrlimit: errno %d", errno);
	p = mmap(NULL, 512ul << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	UT_CHECK(p == MAP_FAILED && errno == ENOMEM, "512 MiB mmap under a 256 MiB RLIMIT_AS");
	p = mmap(NULL, 1ul << 20, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	UT_CHECK(p != MAP_FAILED, "1 MiB mmap under the limit: errno %d", errno);
	if (p != MAP_FAILED)
		munmap(p, 1ul << 20);
	UT_CHECK(setrlimit(RLIMIT_AS, &old) == 0, "restoring the limit: errno %d", errno);
	return UT_PASS;
}

int main(int argc, char **argv)
{
	static const struct ut_case cases[] = {
		{ "kill_self", test_kill_self },
		{ "blocked_pending", test_blocked_pending },
		{ "tgkill_thread", test_tgkill_thread },
		{ "kill_child", test_kill_child },
		{ "rlimit_as", test_rlimit_as },
	};

	ut_init(argc, argv, 20);
	return ut_run(cases, UT_NCASES(cases));
}
