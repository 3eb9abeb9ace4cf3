/*
 * tests/user/vfork_borrows.c - vfork as Linux does it (CLONE_VM |
 * CLONE_VFORK): the child runs in the parent's memory, so its writes are
 * visible to the parent, and the parent is suspended until the child exits
 * (or execs). POSIX leaves a vfork child's writes undefined; Linux, and so
 * unmodified programs that rely on it (posix_spawn implementations, shells),
 * define them. Also: a vfork child's exit status reaches wait4, and a plain
 * fork child's write stays private. The parent is released exactly when
 * the child execs (not when the exec fails), exits or is killed; clone
 * with CLONE_VM | CLONE_VFORK on a new stack (what posix_spawn does) works
 * the same; only the vfork'ing thread waits, the parent's other threads
 * keep running (and may vfork at the same time: several children borrow
 * one address space).
 *
 * The program re-executes itself (argv[0], an absolute path) with
 * "mode=sleep" (sleep 300 ms, exit 3) for the exec case.
 *
 * Args: iters=100.
 */
#include "uktap.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

static const char *self_path;

static volatile uint64_t word;
static volatile int child_done;

static int test_child_writes_visible(void)
{
	long iters = ut_arg("iters", 100);

	for (long i = 0; i < iters && !ut_time_up(); i++) {
		int st = 0;
		pid_t pid;

		word = 1;
		child_done = 0;
		pid = vfork();
		if (pid == 0) {
			word = 0x7f0c0000 + (uint64_t)i;
			child_done = 1;
			_exit((int)(i & 0x7f));
		}
		UT_REQUIRE(pid > 0, "vfork: errno %d", errno);
		UT_REQUIRE(child_done == 1, "iteration %ld: parent ran before the vfork child exited", i);
		UT_REQUIRE(word == 0x7f0c0000 + (uint64_t)i, "iteration %ld: child's write not visible (%#lx)",
			   i, (unsigned long)word);
		UT_REQUIRE(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == (int)(i & 0x7f),
			   "iteration %ld: child status %#x", i, st);
	}
	return UT_PASS;
}

static int test_fork_stays_private(void)
{
	int st = 0;
	pid_t pid;

	word = 1;
	pid = fork();
	if (pid == 0) {
		word = 2;
		_exit(word == 2 ? 0 : 1);
	}
	UT_REQUIRE(pid > 0 && waitpid(pid, &st, 0) == pid, "fork/wait4: errno %d", errno);
	UT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "fork child status %#x", st);
	UT_CHECK(word == 1, "fork child's write reached the parent (%#lx)", (unsigned long)word);
	return UT_PASS;
}

/* test_exec_releases: the parent resumes at the child's exec, while the
 * new image still runs; a failed exec does not release it. */
static int test_exec_releases(void)
{
	char *argv[] = { (char *)self_path, "mode=sleep", NULL }, *envp[] = { NULL };
	int st = 0, nohang;
	pid_t pid;

	child_done = 0;
	pid = vfork();
	if (pid == 0) {
		syscall(SYS_execve, "/no/such/kestrel/program", argv, envp);
		child_done = 1;	/* still borrowing: the parent must not run yet */
		syscall(SYS_execve, self_path, argv, envp);
		_exit(127);
	}
	UT_REQUIRE(pid > 0, "vfork: errno %d", errno);
	UT_CHECK(child_done == 1, "released by the failed exec");
	nohang = waitpid(pid, &st, WNOHANG);
	UT_CHECK(nohang == 0, "the exec'd child already ended (waitpid %d): released late", nohang);
	if (nohang == 0)
		UT_CHECK(waitpid(pid, &st, 0) == pid, "wait: errno %d", errno);
	UT_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3, "child status %#x", st);
	return UT_PASS;
}

/* test_kill_releases: a vfork child killed by a signal (its own SIGKILL, a
 * SIGSEGV) releases the parent; wait4 reports the signal. */
static int *volatile bad_addr = (int *)8;	/* volatile: no compile-time warning */

static int test_kill_releases(void)
{
	static const int sigs[] = { SIGKILL, SIGSEGV };

	for (int i = 0; i < 2; i++) {
		int st = 0;
		pid_t pid;

		child_done = 0;
		pid = vfork();
		if (pid == 0) {
			child_done = 1;
			if (sigs[i] == SIGKILL)
				syscall(SYS_kill, syscall(SYS_getpid), SIGKILL);
			else
				*bad_addr = 1;
			_exit(1);
		}
		UT_REQUIRE(pid > 0 && waitpid(pid, &st, 0) == pid, "vfork/wait: errno %d", errno);
		UT_CHECK(child_done == 1 && WIFSIGNALED(st) && WTERMSIG(st) == sigs[i],
			 "signal %d: done %d status %#x", sigs[i], child_done, st);
	}
	return UT_PASS;
}

static char clone_stack[64 * 1024] __attribute__((aligned(16)));

static int clone_child(void *arg)
{
	word = (uint64_t)(uintptr_t)arg;
	child_done = 1;
	return 9;
}

/* test_clone_vm_vfork: clone(CLONE_VM | CLONE_VFORK) on a new stack. */
static int test_clone_vm_vfork(void)
{
	int st = 0;
	pid_t pid;

	word = 1;
	child_done = 0;
	pid = clone(clone_child, clone_stack + sizeof(clone_stack),
		    CLONE_VM | CLONE_VFORK | SIGCHLD, (void *)0x5a5a);
	UT_REQUIRE(pid > 0, "clone: errno %d", errno);
	UT_CHECK(child_done == 1 && word == 0x5a5a, "done %d word %#lx", child_done,
		 (unsigned long)word);
	UT_CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 9,
		 "status %#x", st);
	return UT_PASS;
}

/* test_parent_killed: a vfork child SIGKILLs its waiting parent and keeps
 * running in the borrowed memory after the parent died (the address space
 * outlives its first owner), then reports through a shared page. */
static int test_parent_killed(void)
{
	volatile int *flag = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
				  -1, 0);
	int st = 0;
	pid_t p;

	UT_REQUIRE(flag != MAP_FAILED, "mmap: errno %d", errno);
	p = fork();
	if (p == 0) {
		word = 0;
		if (vfork() == 0) {
			pid_t parent = (pid_t)syscall(SYS_getppid);

			syscall(SYS_kill, parent, SIGKILL);
			while (syscall(SYS_kill, parent, 0) == 0)	/* until it is reaped */
				syscall(SYS_nanosleep, &(struct timespec){ 0, 1000000 }, NULL);
			word = 0x77;	/* the parent's memory, still mapped for us */
			*flag = word == 0x77 ? 1 : 2;
			_exit(0);
		}
		_exit(5);	/* the parent must not get here */
	}
	UT_REQUIRE(p > 0 && waitpid(p, &st, 0) == p, "fork/wait: errno %d", errno);
	UT_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "parent status %#x", st);
	for (int i = 0; i < 5000 && !*flag; i++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	UT_CHECK(*flag == 1, "the orphaned vfork child did not finish (flag %d)", *flag);
	munmap((void *)flag, 4096);
	return UT_PASS;
}

static volatile uint64_t slots[4];

/* vforker: iters/4 rounds of vfork in this thread; the child writes its
 * thread's slot in the shared memory and exits with the round number. */
static void *vforker(void *arg)
{
	int me = (int)(intptr_t)arg;
	long n = ut_arg("iters", 100) / 4;

	for (long i = 0; i < n && !ut_time_up(); i++) {
		int st = 0;
		pid_t pid = vfork();

		if (pid == 0) {
			slots[me] = (uint64_t)i + 1;
			_exit((int)(i & 0x7f));
		}
		UT_CHECK(pid > 0 && slots[me] == (uint64_t)i + 1, "thread %d round %ld: slot %lu",
			 me, i, (unsigned long)slots[me]);
		UT_CHECK(pid > 0 && waitpid(pid, &st, 0) == pid && WIFEXITED(st) &&
			 WEXITSTATUS(st) == (int)(i & 0x7f), "thread %d round %ld: status %#x", me,
			 i, st);
		if (ut_failures())
			break;
	}
	return NULL;
}

/* test_concurrent_vforks: four threads vfork at once, so several children
 * borrow one address space at the same time. */
static int test_concurrent_vforks(void)
{
	pthread_t t[4];

	for (int i = 0; i < 4; i++)
		UT_REQUIRE(pthread_create(&t[i], NULL, vforker, (void *)(intptr_t)i) == 0,
			   "pthread_create");
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	return UT_PASS;
}

static volatile int ticker_stop;
static volatile unsigned long ticks;

static void *ticker(void *arg)
{
	while (!ticker_stop) {
		ticks++;
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	}
	return arg;
}

/* test_other_threads_run: while one thread waits in vfork, another of the
 * parent's threads keeps running (the child sees its ticks advance). */
static int test_other_threads_run(void)
{
	volatile unsigned long seen = 0;
	pthread_t t;
	int st = 0;
	pid_t pid;

	UT_REQUIRE(pthread_create(&t, NULL, ticker, NULL) == 0, "pthread_create");
	while (!ticks)
		sched_yield();
	pid = vfork();
	if (pid == 0) {
		unsigned long t0 = ticks;

		for (int i = 0; i < 2000 && ticks < t0 + 3; i++)
			syscall(SYS_nanosleep, &(struct timespec){ 0, 1000000 }, NULL);
		seen = ticks - t0;
		_exit(0);
	}
	ticker_stop = 1;
	pthread_join(t, NULL);
	UT_REQUIRE(pid > 0 && waitpid(pid, &st, 0) == pid, "vfork/wait: errno %d", errno);
	UT_CHECK(seen >= 3, "the other thread ran %lu times during the vfork", seen);
	return UT_PASS;
}

int main(int argc, char **argv)
{
	static const struct ut_case cases[] = {
		{ "vfork_child_writes_visible", test_child_writes_visible },
		{ "fork_stays_private", test_fork_stays_private },
		{ "exec_releases", test_exec_releases },
		{ "kill_releases", test_kill_releases },
		{ "clone_vm_vfork", test_clone_vm_vfork },
		{ "other_threads_run", test_other_threads_run },
		{ "parent_killed", test_parent_killed },
		{ "concurrent_vforks", test_concurrent_vforks },
	};

	if (argc > 1 && !strcmp(argv[1], "mode=sleep")) {
		nanosleep(&(struct timespec){ 0, 300000000 }, NULL);
		return 3;
	}
	self_path = argv[0];
	ut_init(argc, argv, 20);
	return ut_run(cases, UT_NCASES(cases));
}
