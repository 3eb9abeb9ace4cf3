/*
 * tests/user/kill_targets.c - kill(2) and tgkill(2) targets and errors as
 * Linux: a process that is not a child (a sibling), the caller's process
 * group (kill(0)), another group (kill(-pgrp)), kill(-1) as an existence
 * check, zombies, ESRCH for a pid that does not exist, EINVAL for a bad
 * signal number (after the target was found, so a missing target still
 * gives ESRCH), signal 0, and tgkill of a thread of another process.
 * setpgid/getpgid as far as these need them. A caught signal interrupts
 * nanosleep (EINTR, time left), an ignored one does not. waitpid(0) and
 * waitpid(-pgrp) select children by process group. The handler's siginfo
 * names the sender (SI_USER, SI_TKILL, si_pid); a child's exit sends
 * SIGCHLD (CLD_EXITED/CLD_KILLED, si_pid, si_status); ignored signals are
 * discarded when sent, and a pending one when SIG_IGN is set.
 *
 * The program first makes itself a process-group leader (setpgid(0, 0)),
 * so kill(0) natively reaches only it and its children, never the test
 * runner. kill(-1) is only ever sent signal 0.
 *
 * Args: none besides secs=.
 */
#include "uktap.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* EXITED: wait status st is a normal exit with code (st evaluated once). */
#define EXITED(st, code) ({ int s_ = (st); WIFEXITED(s_) && WEXITSTATUS(s_) == (code); })
#define NO_SUCH_PID 0x3ffffff0	/* above Linux's largest pid_max */

static volatile int *shared;	/* MAP_SHARED: readiness counters */
static volatile sig_atomic_t got;

static void on_signal(int sig)
{
	got = sig;
}

/* child_wait_signal: install on_signal for sig, count ourselves ready in
 * shared[slot], wait (bounded) for the signal, exit with code (or 1). */
static __attribute__((noreturn)) void child_wait_signal(int sig, int slot, int code)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(sig, &sa, NULL);
	__atomic_add_fetch(&shared[slot], 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < 2000 && got != sig; i++)
		nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
	_exit(got == sig ? code : 1);
}

/* wait_ready: until shared[slot] reaches n (bounded); whether it did. */
static int wait_ready(int slot, int n)
{
	for (int i = 0; i < 4000 && shared[slot] < n; i++)
		nanosleep(&(struct timespec){ 0, 2500000 }, NULL);
	return shared[slot] >= n;
}

static int reap(pid_t pid)
{
	int st = -1;

	return waitpid(pid, &st, 0) == pid ? st : -1;
}

static int test_errors(void)
{
	pid_t gone = fork();

	if (gone == 0)
		_exit(0);
	UT_REQUIRE(gone > 0 && reap(gone) == 0, "fork/wait");
	UT_CHECK(kill(getpid(), 0) == 0, "kill(self, 0): errno %d", errno);
	UT_CHECK(kill(gone, 0) == -1 && errno == ESRCH, "reaped pid: errno %d", errno);
	UT_CHECK(kill(NO_SUCH_PID, 0) == -1 && errno == ESRCH, "errno %d", errno);
	UT_CHECK(kill(NO_SUCH_PID, 100) == -1 && errno == ESRCH, "missing target first: %d", errno);
	UT_CHECK(kill(getpid(), 65) == -1 && errno == EINVAL, "signal 65: errno %d", errno);
	UT_CHECK(syscall(SYS_kill, getpid(), -1) == -1 && errno == EINVAL, "signal -1: %d", errno);
	UT_CHECK(kill(-NO_SUCH_PID, 0) == -1 && errno == ESRCH, "no such group: %d", errno);
	UT_CHECK(kill(0, 0) == 0, "kill(0, 0): errno %d", errno);
	UT_CHECK(kill(0, 65) == -1 && errno == EINVAL, "kill(0, 65): errno %d", errno);
	return UT_PASS;
}

/* test_sibling: B kills A, its sibling (not its child). */
static int test_sibling(void)
{
	pid_t a, b;

	shared[0] = 0;
	a = fork();
	if (a == 0)
		child_wait_signal(SIGTERM, 0, 42);
	b = fork();
	if (b == 0) {
		if (!wait_ready(0, 1))
			_exit(2);
		_exit(kill(a, SIGTERM) == 0 ? 0 : 3);
	}
	UT_REQUIRE(a > 0 && b > 0, "fork: errno %d", errno);
	UT_CHECK(EXITED(reap(b), 0), "the killer failed");
	UT_CHECK(EXITED(reap(a), 42), "the sibling did not get SIGTERM");
	return UT_PASS;
}

/* test_own_group: kill(0) reaches both children and not us (SIG_IGN). */
static int test_own_group(void)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	pid_t c[2];

	shared[1] = 0;
	sigaction(SIGUSR2, &ign, &old);
	for (int i = 0; i < 2; i++)
		if ((c[i] = fork()) == 0)
			child_wait_signal(SIGUSR2, 1, 7);
	UT_REQUIRE(c[0] > 0 && c[1] > 0 && wait_ready(1, 2), "children not ready");
	UT_CHECK(getpgid(c[0]) == getpgrp() && getpgid(c[1]) == getpgrp(), "group not inherited");
	UT_CHECK(kill(0, SIGUSR2) == 0, "kill(0): errno %d", errno);
	UT_CHECK(EXITED(reap(c[0]), 7) && EXITED(reap(c[1]), 7), "a child missed kill(0)");
	sigaction(SIGUSR2, &old, NULL);
	return UT_PASS;
}

/* test_other_group: a child leads a new group with its own child;
 * kill(-pgrp) reaches both; setpgid's errors. */
static int test_other_group(void)
{
	pid_t c;

	shared[2] = 0;
	c = fork();
	if (c == 0) {
		pid_t d;

		setpgid(0, 0);
		if ((d = fork()) == 0)
			child_wait_signal(SIGUSR1, 2, 5);
		if (d < 0)
			_exit(2);
		got = 0;
		{
			struct sigaction sa = { .sa_handler = on_signal };

			sigaction(SIGUSR1, &sa, NULL);
		}
		__atomic_add_fetch(&shared[2], 1, __ATOMIC_SEQ_CST);
		for (int i = 0; i < 2000 && got != SIGUSR1; i++)
			nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
		_exit(got == SIGUSR1 && EXITED(reap(d), 5) ? 6 : 1);
	}
	UT_REQUIRE(c > 0 && wait_ready(2, 2), "children not ready");
	UT_CHECK(getpgid(c) == c, "getpgid(child) %d, want %d", (int)getpgid(c), (int)c);
	UT_CHECK(kill(-c, SIGUSR1) == 0, "kill(-pgrp): errno %d", errno);
	UT_CHECK(EXITED(reap(c), 6), "the group did not get SIGUSR1");
	UT_CHECK(setpgid(0, -1) == -1 && errno == EINVAL, "negative pgid: errno %d", errno);
	UT_CHECK(setpgid(NO_SUCH_PID, 0) == -1 && errno == ESRCH, "missing pid: %d", errno);
	UT_CHECK(setpgid(0, NO_SUCH_PID) == -1 && errno == EPERM, "missing group: %d", errno);
	UT_CHECK(getpgid(NO_SUCH_PID) == -1 && errno == ESRCH, "getpgid: errno %d", errno);
	return UT_PASS;
}

/* test_zombie_and_all: a zombie is found (kill succeeds) until reaped;
 * kill(-1, 0) finds our child. */
static int test_zombie_and_all(void)
{
	pid_t c = fork();

	if (c == 0) {	/* a signal that arrives before the exit stays pending */
		sigset_t s;

		sigemptyset(&s);
		sigaddset(&s, SIGUSR1);
		sigprocmask(SIG_BLOCK, &s, NULL);
		_exit(0);
	}
	UT_REQUIRE(c > 0, "fork: errno %d", errno);
	nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
	UT_CHECK(kill(c, 0) == 0, "zombie: errno %d", errno);
	UT_CHECK(kill(c, SIGUSR1) == 0, "zombie, real signal: errno %d", errno);
	UT_CHECK(kill(-1, 0) == 0, "kill(-1, 0): errno %d", errno);
	UT_CHECK(EXITED(reap(c), 0), "zombie's status changed");
	UT_CHECK(kill(c, 0) == -1 && errno == ESRCH, "reaped: errno %d", errno);
	return UT_PASS;
}

/* test_tgkill: signal 0 checks, a thread id of another process, and a
 * real signal to another process's thread. */
static int test_tgkill(void)
{
	int me = getpid(), tid = (int)syscall(SYS_gettid);
	pid_t c;

	shared[3] = 0;
	c = fork();
	if (c == 0)
		child_wait_signal(SIGUSR1, 3, 9);
	UT_REQUIRE(c > 0 && wait_ready(3, 1), "child not ready");
	UT_CHECK(syscall(SYS_tgkill, me, tid, 0) == 0, "self: errno %d", errno);
	UT_CHECK(syscall(SYS_tgkill, c, tid, 0) == -1 && errno == ESRCH, "foreign tid: %d", errno);
	UT_CHECK(syscall(SYS_tgkill, me, NO_SUCH_PID, 0) == -1 && errno == ESRCH, "%d", errno);
	UT_CHECK(syscall(SYS_tgkill, 0, tid, 0) == -1 && errno == EINVAL, "tgid 0: %d", errno);
	UT_CHECK(syscall(SYS_tgkill, me, 0, 0) == -1 && errno == EINVAL, "tid 0: %d", errno);
	UT_CHECK(syscall(SYS_tgkill, me, tid, 65) == -1 && errno == EINVAL, "sig 65: %d", errno);
	UT_CHECK(syscall(SYS_tgkill, c, c, SIGUSR1) == 0, "other process: errno %d", errno);
	UT_CHECK(EXITED(reap(c), 9), "the child did not get SIGUSR1");
	return UT_PASS;
}

/* test_sleep_interrupted: a caught signal from another process ends a
 * 5 s nanosleep early with EINTR and the time left; an ignored one does
 * not interrupt it (the sleeper's 0.3 s sleep completes). */
static int test_sleep_interrupted(void)
{
	pid_t c;
	int st = -1;

	shared[4] = 0;
	c = fork();
	if (c == 0) {
		struct sigaction sa = { .sa_handler = on_signal };
		struct timespec rem = { 0, 0 };
		uint64_t t0;
		int r;

		signal(SIGUSR2, SIG_IGN);
		sigaction(SIGUSR1, &sa, NULL);
		__atomic_add_fetch(&shared[4], 1, __ATOMIC_SEQ_CST);
		t0 = ut_now_ns();
		r = nanosleep(&(struct timespec){ 0, 300000000 }, NULL);	/* SIGUSR2 lands here */
		if (r != 0 || ut_now_ns() - t0 < 290000000)
			_exit(2);
		__atomic_add_fetch(&shared[4], 1, __ATOMIC_SEQ_CST);
		r = nanosleep(&(struct timespec){ 5, 0 }, &rem);
		if (r != -1 || errno != EINTR || got != SIGUSR1)
			_exit(3);
		_exit(rem.tv_sec >= 2 && rem.tv_sec < 5 ? 0 : 4);
	}
	UT_REQUIRE(c > 0 && wait_ready(4, 1), "child not ready");
	nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
	UT_CHECK(kill(c, SIGUSR2) == 0, "kill SIGUSR2: errno %d", errno);
	UT_REQUIRE(wait_ready(4, 2), "the ignored signal's sleep did not end");
	nanosleep(&(struct timespec){ 0, 200000000 }, NULL);
	UT_CHECK(kill(c, SIGUSR1) == 0, "kill SIGUSR1: errno %d", errno);
	st = reap(c);
	UT_CHECK(EXITED(st, 0), "child status %#x (2: ignored signal interrupted, 3: not "
		 "interrupted, 4: bad time left)", st);
	return UT_PASS;
}

/* test_wait_by_group: waitpid(0) waits only for children in our group
 * (B left it and died first, A is still ours), waitpid(-pgrp) for B. */
static int test_wait_by_group(void)
{
	pid_t a, b, r;
	int st = 0;

	b = fork();
	if (b == 0) {
		setpgid(0, 0);
		_exit(11);
	}
	a = fork();
	if (a == 0) {
		nanosleep(&(struct timespec){ 0, 200000000 }, NULL);
		_exit(12);
	}
	UT_REQUIRE(a > 0 && b > 0, "fork: errno %d", errno);
	r = waitpid(0, &st, 0);
	UT_CHECK(r == a && EXITED(st, 12), "waitpid(0): %d (a %d, b %d) status %#x", (int)r,
		 (int)a, (int)b, st);
	r = waitpid(-b, &st, 0);
	UT_CHECK(r == b && EXITED(st, 11), "waitpid(-pgrp): %d status %#x", (int)r, st);
	UT_CHECK(waitpid(0, &st, WNOHANG) == -1 && errno == ECHILD, "a child is left");
	return UT_PASS;
}

static volatile int got_count, got_code, got_pid, got_status, got_signo;

static void on_info(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got_signo = sig;
	got_code = si->si_code;
	got_pid = si->si_pid;
	got_status = sig == SIGCHLD ? si->si_status : 0;
	got_count++;
}

/* wait_info: until the handler ran n times in all (bounded); whether it did. */
static int wait_info(int n)
{
	for (int i = 0; i < 4000 && got_count < n; i++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	return got_count >= n;
}

/* test_siginfo_sources: si_code and si_pid of kill (SI_USER) from a child
 * and of tgkill (SI_TKILL) to ourselves. */
static int test_siginfo_sources(void)
{
	struct sigaction sa = { .sa_sigaction = on_info, .sa_flags = SA_SIGINFO }, old;
	pid_t c;

	got_count = 0;
	sigaction(SIGUSR1, &sa, &old);
	c = fork();
	if (c == 0)
		_exit(kill(getppid(), SIGUSR1) ? 1 : 0);
	UT_REQUIRE(c > 0 && wait_info(1), "no SIGUSR1 from the child");
	UT_CHECK(got_code == SI_USER && got_pid == c, "kill: code %d pid %d (child %d)", got_code,
		 got_pid, (int)c);
	UT_CHECK(EXITED(reap(c), 0), "the child's kill failed");
	syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1);
	UT_CHECK(got_count == 2 && got_code == SI_TKILL && got_pid == getpid(),
		 "tgkill: count %d code %d pid %d", got_count, got_code, got_pid);
	sigaction(SIGUSR1, &old, NULL);
	return UT_PASS;
}

/* test_sigchld: a child's exit sends SIGCHLD (CLD_EXITED, its pid and
 * code; CLD_KILLED and the signal when killed); with SIGCHLD at SIG_DFL
 * it is discarded, not left pending for a later handler; SIG_IGN discards
 * a blocked pending signal. */
static int test_sigchld(void)
{
	struct sigaction sa = { .sa_sigaction = on_info, .sa_flags = SA_SIGINFO }, dfl = { 0 };
	sigset_t set;
	pid_t c;

	got_count = 0;
	sigaction(SIGCHLD, &sa, NULL);
	if ((c = fork()) == 0)
		_exit(3);
	UT_REQUIRE(c > 0 && wait_info(1), "no SIGCHLD");
	UT_CHECK(got_signo == SIGCHLD && got_code == CLD_EXITED && got_pid == c && got_status == 3,
		 "exit: signo %d code %d pid %d status %d", got_signo, got_code, got_pid, got_status);
	UT_CHECK(EXITED(reap(c), 3), "status");
	if ((c = fork()) == 0)
		for (;;)
			pause();
	UT_REQUIRE(c > 0, "fork");
	kill(c, SIGKILL);
	UT_REQUIRE(wait_info(2), "no SIGCHLD for the killed child");
	UT_CHECK(got_code == CLD_KILLED && got_pid == c && got_status == SIGKILL,
		 "killed: code %d pid %d status %d", got_code, got_pid, got_status);
	reap(c);
	sigaction(SIGCHLD, &dfl, NULL);
	if ((c = fork()) == 0)
		_exit(0);
	reap(c);
	sigaction(SIGCHLD, &sa, NULL);
	nanosleep(&(struct timespec){ 0, 20000000 }, NULL);
	UT_CHECK(got_count == 2, "a SIGCHLD sent while SIG_DFL was delivered later");
	sigaction(SIGCHLD, &dfl, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	kill(getpid(), SIGUSR2);
	signal(SIGUSR2, SIG_IGN);
	sigaction(SIGUSR2, &sa, NULL);
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	UT_CHECK(got_count == 2, "SIG_IGN did not discard the pending SIGUSR2");
	signal(SIGUSR2, SIG_DFL);
	return UT_PASS;
}

/* test_sigchld_ignored: with SIGCHLD at SIG_IGN children are reaped at
 * exit: waitpid waits for them and then fails with ECHILD. */
static int test_sigchld_ignored(void)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, old;
	pid_t c;
	int st, r;

	sigaction(SIGCHLD, &ign, &old);
	if ((c = fork()) == 0) {
		nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
		_exit(0);
	}
	UT_REQUIRE(c > 0, "fork: errno %d", errno);
	r = waitpid(c, &st, 0);
	UT_CHECK(r == -1 && errno == ECHILD, "waitpid %d errno %d: not reaped at exit", r, errno);
	UT_CHECK(kill(c, 0) == -1 && errno == ESRCH, "the child is still there");
	sigaction(SIGCHLD, &old, NULL);
	return UT_PASS;
}

int main(int argc, char **argv)
{
	static const struct ut_case cases[] = {
		{ "errors", test_errors },
		{ "sibling", test_sibling },
		{ "own_group", test_own_group },
		{ "other_group", test_other_group },
		{ "zombie_and_all", test_zombie_and_all },
		{ "tgkill", test_tgkill },
		{ "sleep_interrupted", test_sleep_interrupted },
		{ "wait_by_group", test_wait_by_group },
		{ "siginfo_sources", test_siginfo_sources },
		{ "sigchld", test_sigchld },
		{ "sigchld_ignored", test_sigchld_ignored },
	};

	ut_init(argc, argv, 30);
	shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED || setpgid(0, 0))
		return ut_printf("# setup: errno %d\n0 passed, 1 failed\n", errno), 1;
	return ut_run(cases, UT_NCASES(cases));
}
