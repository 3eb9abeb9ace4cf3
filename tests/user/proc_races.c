/*
 * tests/user/proc_races.c - process lifetime races that Linux closes:
 *
 * killpg_vs_fork: kill(-pgrp, SIGKILL) while members of pgrp are inside
 * fork(2). Linux's copy_process takes a signal pending at its start first
 * (the fork restarts), collects group signals that arrive during the fork
 * for the child (multiprocess_signals) and drops the child of a parent
 * SIGKILLed meanwhile: a signalled group empties, whatever it was forking. Each member of the
 * test's group forks one child and exits (a chain), three chains at once,
 * so at any moment most members are in fork; after the kill the group must
 * be empty (kill(-pgrp, 0) == ESRCH) within a bound. A child published
 * after the kill walk would carry the chain on forever (under Kestrel
 * before this test: 10 of 13 rounds).
 *
 * killpg_term_vs_fork: the same with SIGTERM (fatal at delivery).
 * fork_restarts: a fork a caught signal interrupts restarts after the
 * handler, invisibly (no EINTR).
 * pending_kept_across_exec: a signal sent to a threaded process that
 * blocks it everywhere stays pending through an execve (Linux's shared
 * queue), even when kill() had parked it on a thread the exec ends
 * (under Kestrel before this test it was lost with that thread).
 *
 * Natively the test becomes a child subreaper (prctl) so the chain's
 * orphans are its children and it reaps them; under Kestrel prctl fails
 * (ENOSYS) and the kernel's reaper frees orphans.
 *
 * Args: rounds= (killpg rounds per case, default 20), forks= (100), secs=.
 */
#include "uktap.h"

#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* raw_fork: fork(2) itself. musl's fork() blocks every signal around the
 * call, which hides the signals that arrive before the kernel's fork
 * starts (Linux takes those first, then restarts the fork); the children
 * only call raw system calls and _exit. */
static pid_t raw_fork(void)
{
	return (pid_t)syscall(SYS_fork);
}

#define CHAINS 3

/* chain_member: fork a child that carries on, then exit; forever. */
static __attribute__((noreturn)) void chain_member(void)
{
	for (;;) {
		pid_t c = raw_fork();

		if (c != 0)	/* the parent (or a failed fork): end this link */
			_exit(0);
	}
}

/* reap_all: reap every child that has exited (none blocks). */
static void reap_all(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* group_gone: wait (bounded by ms) until no process of pgrp exists,
 * reaping as we go; whether it emptied. */
static int group_gone(pid_t pgrp, int ms)
{
	uint64_t end = ut_now_ns() + (uint64_t)ms * 1000000;

	do {
		reap_all();
		if (kill(-pgrp, 0) == -1 && errno == ESRCH)
			return 1;
		nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
	} while (ut_now_ns() < end);
	return 0;
}

/* killpg_round: start CHAINS chains in a new group led by a child that
 * waits, let them run for run_ms, send sig to the group; 1 if it emptied. */
static int killpg_round(int run_ms, int sig)
{
	pid_t leader = fork();

	if (leader == 0) {
		setpgid(0, 0);
		for (int i = 0; i < CHAINS; i++)
			if (raw_fork() == 0)
				chain_member();
		for (;;)	/* until the kill (no pause(2) under Kestrel) */
			nanosleep(&(struct timespec){ 1, 0 }, NULL);
	}
	if (leader < 0)
		return 0;
	setpgid(leader, leader);	/* either of us may run first */
	nanosleep(&(struct timespec){ 0, run_ms * 1000000L }, NULL);
	if (kill(-leader, sig)) {
		UT_CHECK(0, "kill(-%d, %d): errno %d", leader, sig, errno);
		return 0;
	}
	/* an escaped chain forks forever: a long bound costs nothing when the
	 * kernel is right, and TCG on a busy host may take seconds to reap */
	if (group_gone(leader, 10000))
		return 1;
	ut_printf("# group %d survived kill(-%d, %d) for 10 s\n", leader, leader, sig);
	/* an escaped chain: stop it for the next rounds (each kill may miss) */
	for (int i = 0; i < 200 && !group_gone(leader, 20); i++)
		kill(-leader, SIGKILL);
	return 0;
}

/* killpg_rounds: rounds= rounds of killpg_round with sig. */
static int killpg_rounds(int sig)
{
	long rounds = ut_arg("rounds", 20);
	int escaped = 0, done = 0;

	for (long r = 0; r < rounds && !ut_time_up(); r++, done++)
		escaped += !killpg_round(20 + (int)(r % 7) * 15, sig);
	UT_CHECK(escaped == 0, "%d of %d rounds: a member survived kill(-pgrp, %d)",
		 escaped, done, sig);
	ut_printf("# signal %d: %d rounds\n", sig, done);
	return UT_PASS;
}

static int test_killpg_vs_fork(void)
{
	return killpg_rounds(SIGKILL);
}

/* SIGTERM's default action kills at delivery, not at send: a fork that
 * sees it pending must not publish its child either. */
static int test_killpg_term_vs_fork(void)
{
	return killpg_rounds(SIGTERM);
}

static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

/* fork_restarts: a fork interrupted by a caught signal restarts after the
 * handler (Linux's ERESTARTNOINTR): while a child keeps sending SIGUSR1,
 * every fork succeeds and every child is reaped with its status. */
static int test_fork_restarts(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };	/* no SA_RESTART */
	long forks = ut_arg("forks", 100);
	pid_t self = getpid(), pest;
	int bad = 0, n = 0;

	UT_REQUIRE(sigaction(SIGUSR1, &sa, NULL) == 0, "sigaction");
	pest = fork();
	if (pest == 0)
		for (;;) {
			if (kill(self, SIGUSR1))
				_exit(0);
			nanosleep(&(struct timespec){ 0, 200000 }, NULL);
		}
	UT_REQUIRE(pest > 0, "fork: errno %d", errno);
	for (; n < forks && !ut_time_up(); n++) {
		int st = -1;
		pid_t c = raw_fork(), w;

		if (c == 0)
			_exit(n & 0x7f);
		while ((w = waitpid(c, &st, 0)) < 0 && errno == EINTR)
			;	/* the wait is interrupted (no SA_RESTART), not the fork */
		if (c < 0 || w != c || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != (n & 0x7f)) {
			bad++;
			ut_printf("# fork %d: %d errno %d status %#x\n", n, c, errno, st);
		}
	}
	kill(pest, SIGKILL);
	while (waitpid(pest, NULL, 0) < 0 && errno == EINTR)
		;
	signal(SIGUSR1, SIG_DFL);
	UT_CHECK(bad == 0, "%d of %d forks failed", bad, n);
	ut_printf("# fork_restarts: %d forks, %d signals handled\n", n, (int)handled);
	return UT_PASS;
}

static char *self_path;
static volatile sig_atomic_t usr1_seen;

static void on_usr1_seen(int sig)
{
	(void)sig;
	usr1_seen = 1;
}

/* exec_child_main: the image exec'd by pending_kept_across_exec: SIGUSR1
 * must still be pending (blocked): catch it by unblocking; exit 0 if so. */
static int exec_child_main(void)
{
	struct sigaction sa = { .sa_handler = on_usr1_seen };
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaction(SIGUSR1, &sa, NULL);
	sigprocmask(SIG_UNBLOCK, &s, NULL);	/* delivered here if pending */
	return usr1_seen ? 0 : 3;
}

static void *idle_thread(void *arg)
{
	(void)arg;
	for (;;)
		nanosleep(&(struct timespec){ 1, 0 }, NULL);
	return NULL;
}

static int test_pending_kept_across_exec(void)
{
	int st = -1;
	pid_t c = fork();

	if (c == 0) {
		sigset_t s;
		pthread_t t;
		char *argv[] = { self_path, "exec_child", NULL };

		sigemptyset(&s);
		sigaddset(&s, SIGUSR1);
		sigprocmask(SIG_BLOCK, &s, NULL);	/* the thread inherits it */
		if (pthread_create(&t, NULL, idle_thread, NULL))
			_exit(4);
		nanosleep(&(struct timespec){ 0, 20000000 }, NULL);
		kill(getpid(), SIGUSR1);
		syscall(SYS_execve, self_path, argv, (char *[]){ NULL });
		_exit(5);
	}
	UT_REQUIRE(c > 0, "fork: errno %d", errno);
	UT_CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		 "exec'd image: status %#x (exit 3: SIGUSR1 no longer pending)", st);
	return UT_PASS;
}

static const struct ut_case cases[] = {
	{ "killpg_vs_fork", test_killpg_vs_fork },
	{ "killpg_term_vs_fork", test_killpg_term_vs_fork },
	{ "fork_restarts", test_fork_restarts },
	{ "pending_kept_across_exec", test_pending_kept_across_exec },
};

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "exec_child"))
		return exec_child_main();
	self_path = argv[0];	/* absolute natively (CTest) and under Kestrel */
	ut_init(argc, argv, 60);
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);	/* natively: orphans are ours */
	return ut_run(cases, UT_NCASES(cases));
}
