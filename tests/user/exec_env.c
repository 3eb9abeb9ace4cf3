/*
 * tests/user/exec_env.c - execve as Linux does it: argv and envp reach the
 * new image with Linux's stack layout, the copy-in limits and errors, and
 * execve from a process with running threads (de_thread: the others die,
 * the exec'ing thread takes over the process's pid).
 *
 * The program re-executes itself (argv[0], which must be an absolute path
 * both natively and under Kestrel) with "mode=..." in a forked child; the
 * child checks what it received and exits 0, or with the number of the
 * first failed check. The parent reports KTAP.
 *
 * Args: iters=5 (rounds of each threaded exec case), secs=30.
 */
#include "uktap.h"

#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

extern char **environ;

static const char *self_path;

/* ---- the re-executed side ----------------------------------------------- */

/* next_str: the string stored right after s (Linux packs them). */
static const char *next_str(const char *s)
{
	return s + strlen(s) + 1;
}

/* child_env: argv, envp, their layout and AT_EXECFN (mode=env). */
static int child_env(int argc, char **argv)
{
	static const char *want[] = { "KESTREL_A=1", "KESTREL_B=two words", "KESTREL_EMPTY=" };
	const char *execfn = (const char *)getauxval(AT_EXECFN);
	int n = 0;

	if (argc != 3 || strcmp(argv[2], "x y"))
		return 1;
	for (; environ[n]; n++)
		if (n >= 3 || strcmp(environ[n], want[n]))
			return 2;
	if (n != 3 || strcmp(getenv("KESTREL_B"), "two words"))
		return 3;
	for (int i = 0; i + 1 < argc; i++)	/* argv strings packed upwards */
		if (argv[i + 1] != next_str(argv[i]))
			return 4;
	if (environ[0] != next_str(argv[argc - 1]) || environ[1] != next_str(environ[0]) ||
	    environ[2] != next_str(environ[1]))
		return 5;	/* envp strings right above the argv strings */
	if (!execfn || execfn != next_str(environ[2]) || strcmp(execfn, argv[0]))
		return 6;	/* then the path exec'd (AT_EXECFN) */
	if (memcmp(next_str(execfn), "\0\0\0\0\0\0\0\0", 8))
		return 7;	/* and 8 zero bytes at the top of the stack */
	if ((uintptr_t)argv % 16 != 8)
		return 8;	/* argc was at a 16-aligned address */
	return 0;
}

/* child_threads: after an exec from a threaded process (mode=threads):
 * same pid, tid == pid, the old threads are gone (tgkill, and Threads: 1
 * in /proc/self/status). */
static int child_threads(void)
{
	const char *pid = getenv("EXEC_PID"), *tids = getenv("OLD_TIDS"), *line;
	static char status[4096];

	if (!pid || !tids || atoi(pid) != getpid())
		return 1;
	if (syscall(SYS_gettid) != getpid())
		return 2;
	for (const char *t = tids; *t; t = strchrnul(t, ',') + (*strchrnul(t, ',') != 0))
		if (syscall(SYS_tgkill, getpid(), atoi(t), 0) != -1 || errno != ESRCH)
			return 3;
	if (ut_read_file("/proc/self/status", status, sizeof(status)) > 0 &&
	    (line = strstr(status, "\nThreads:")) && atoi(line + 9) != 1)
		return 4;	/* the process still counts other threads */
	return 0;
}

/* child_main: the re-executed image: run the mode's checks. */
static int child_main(int argc, char **argv)
{
	const char *mode = argv[1] + 5;

	if (!strcmp(mode, "env"))
		return child_env(argc, argv);
	if (!strcmp(mode, "noenv"))
		return environ[0] ? 1 : 0;
	if (!strcmp(mode, "big"))
		return getenv("BIG") && strlen(getenv("BIG")) == 131071 - 4 ? 0 : 1;
	if (!strcmp(mode, "threads"))
		return child_threads();
	return 99;	/* an exec that should have failed */
}

/* ---- the parent side ----------------------------------------------------- */

/* run_exec: fork a child that execve()s path (NULL: self) with argv and
 * envp; the child's wait status, or exit code 100 + errno if execve failed. */
static int run_exec(const char *path, char *const argv[], char *const envp[])
{
	int st = 0;
	pid_t pid = fork();

	if (pid == 0) {
		syscall(SYS_execve, path ? path : self_path, argv, envp);
		_exit(100 + errno);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

#define EXITED(st, code) (WIFEXITED(st) && WEXITSTATUS(st) == (code))

static int test_env_passed(void)
{
	char *argv[] = { (char *)self_path, "mode=env", "x y", NULL };
	char *envp[] = { "KESTREL_A=1", "KESTREL_B=two words", "KESTREL_EMPTY=", NULL };
	int st = run_exec(NULL, argv, envp);

	UT_CHECK(EXITED(st, 0), "child status %#x (exit code = failed check)", st);
	return UT_PASS;
}

static int test_env_empty(void)
{
	char *argv[] = { (char *)self_path, "mode=noenv", NULL };
	char *none[] = { NULL };
	int st;

	st = run_exec(NULL, argv, NULL);
	UT_CHECK(EXITED(st, 0), "envp NULL: child status %#x", st);
	st = run_exec(NULL, argv, none);
	UT_CHECK(EXITED(st, 0), "envp {NULL}: child status %#x", st);
	st = run_exec(NULL, none, (char *[]){ "KESTREL_NOARGV=1", NULL });
	UT_CHECK(EXITED(st, 0), "argv {NULL} (Linux adds \"\"): child status %#x", st);
	return UT_PASS;
}

/* test_e2big: one string of MAX_ARG_STRLEN (with its NUL) passes, one
 * byte more is E2BIG; 8 MiB of strings is E2BIG with any stack rlimit. */
static int test_e2big(void)
{
	char *argv[] = { (char *)self_path, "mode=big", NULL };
	size_t big = 64 * 131072;
	char *buf = mmap(NULL, big + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *envp[65] = { buf, NULL };
	int st;

	UT_REQUIRE(buf != MAP_FAILED, "mmap: errno %d", errno);
	memset(buf, 'x', big);
	memcpy(buf, "BIG=", 4);
	buf[131071] = 0;
	st = run_exec(NULL, argv, envp);
	UT_CHECK(EXITED(st, 0), "131072-byte string: status %#x", st);
	buf[131071] = 'x';
	buf[131072] = 0;
	st = run_exec(NULL, argv, envp);
	UT_CHECK(EXITED(st, 100 + E2BIG), "131073-byte string: status %#x", st);
	for (int i = 0; i < 64; i++) {
		envp[i] = buf + (size_t)i * 131072;
		envp[i][131071] = 0;
	}
	envp[64] = NULL;
	st = run_exec(NULL, argv, envp);
	UT_CHECK(EXITED(st, 100 + E2BIG), "8 MiB of strings: status %#x", st);
	munmap(buf, big + 4096);
	return UT_PASS;
}

static int test_efault_enoent(void)
{
	char *badarg[] = { (char *)self_path, (char *)1, NULL };
	char *argv[] = { (char *)self_path, "mode=unexpected", NULL };
	char *badenv[] = { (char *)8, NULL };
	char **volatile badvec = (char **)1;	/* volatile: no compile-time deref warning */
	const char *volatile badpath = (const char *)1;
	int st;

	st = run_exec(NULL, badarg, NULL);
	UT_CHECK(EXITED(st, 100 + EFAULT), "bad argv string: status %#x", st);
	st = run_exec(NULL, badvec, NULL);
	UT_CHECK(EXITED(st, 100 + EFAULT), "bad argv array: status %#x", st);
	st = run_exec(NULL, argv, badenv);
	UT_CHECK(EXITED(st, 100 + EFAULT), "bad envp string: status %#x", st);
	st = run_exec(NULL, argv, badvec);
	UT_CHECK(EXITED(st, 100 + EFAULT), "bad envp array: status %#x", st);
	st = run_exec(badpath, argv, NULL);
	UT_CHECK(EXITED(st, 100 + EFAULT), "bad path: status %#x", st);
	st = run_exec("/no/such/kestrel/program", argv, NULL);
	UT_CHECK(EXITED(st, 100 + ENOENT), "missing file: status %#x", st);
	return UT_PASS;
}

/* ---- exec from a threaded process --------------------------------------- */

static volatile int tids[4];	/* gettid of each helper thread */
static volatile int stop_word;	/* never set: futex sleepers stay asleep */

/* helper: publish the tid, then spin (0), sleep in a futex (1), sleep in
 * short nanosleeps (2), or exec (3, when exec_from says so). */
static void *helper(void *arg)
{
	int i = (int)(intptr_t)arg;

	tids[i] = (int)syscall(SYS_gettid);
	if (i == 0)
		for (;;)
			__asm__ volatile("pause");
	if (i == 1)
		for (;;)
			syscall(SYS_futex, &stop_word, 128 /* WAIT_PRIVATE */, 0, NULL);
	if (i == 2)
		for (;;)
			nanosleep(&(struct timespec){ 0, 5000000 }, NULL);
	return NULL;
}

/* exec_self_threads: in the forked child: exec mode=threads naming the
 * other threads' tids, which must be gone afterwards. */
static __attribute__((noreturn)) void exec_self_threads(int except)
{
	char pid[32], old[128] = "", *argv[] = { (char *)self_path, "mode=threads", NULL };
	char *envp[] = { pid, old, NULL };
	size_t o = strlen(strcpy(old, "OLD_TIDS="));

	snprintf(pid, sizeof(pid), "EXEC_PID=%d", getpid());
	for (int i = 0; i < 4; i++)
		if (tids[i] && i != except)
			o += (size_t)snprintf(old + o, sizeof(old) - o, "%s%d", o > 9 ? "," : "", tids[i]);
	syscall(SYS_execve, self_path, argv, envp);
	_exit(100 + errno);
}

static void *exec_helper(void *arg)
{
	tids[3] = (int)syscall(SYS_gettid);
	while (!tids[0] || !tids[1] || !tids[2])
		sched_yield();
	nanosleep(&(struct timespec){ 0, 20000000 }, NULL);	/* let them block */
	exec_self_threads(-1);	/* also names its own old tid */
	return arg;
}

/* threaded_child: start the helpers; main execs, or a helper does while
 * main waits in pthread_join. Never returns. */
static void threaded_child(bool from_helper)
{
	pthread_t t[4];

	for (int i = 0; i < 3; i++)
		if (pthread_create(&t[i], NULL, helper, (void *)(intptr_t)i))
			_exit(90);
	if (from_helper) {
		if (pthread_create(&t[3], NULL, exec_helper, NULL))
			_exit(91);
		pthread_join(t[3], NULL);
		_exit(92);
	}
	while (!tids[0] || !tids[1] || !tids[2])
		sched_yield();
	nanosleep(&(struct timespec){ 0, 20000000 }, NULL);
	exec_self_threads(-1);
}

/* run_threaded: iters= times (default 5), a child that execs with threads
 * running must pass child_threads' checks. */
static int run_threaded(bool from_helper)
{
	long iters = ut_arg("iters", 5);

	for (long i = 0; i < iters && !ut_time_up(); i++) {
		int st = 0;
		pid_t pid = fork();

		if (pid == 0)
			threaded_child(from_helper);
		UT_REQUIRE(pid > 0 && waitpid(pid, &st, 0) == pid, "fork/wait: errno %d", errno);
		UT_REQUIRE(EXITED(st, 0), "iteration %ld: child status %#x (exit code = failed check)",
			   i, st);
	}
	return UT_PASS;
}

static int test_exec_main_with_threads(void)
{
	return run_threaded(false);
}

static int test_exec_from_thread(void)
{
	return run_threaded(true);
}

int main(int argc, char **argv)
{
	static const struct ut_case cases[] = {
		{ "env_passed", test_env_passed },
		{ "env_empty", test_env_empty },
		{ "e2big", test_e2big },
		{ "efault_enoent", test_efault_enoent },
		{ "exec_main_with_threads", test_exec_main_with_threads },
		{ "exec_from_thread", test_exec_from_thread },
	};

	if (argc > 1 && !strncmp(argv[1], "mode=", 5))
		return child_main(argc, argv);
	if (argc == 1 && !argv[0][0])	/* exec'd with an empty argv */
		return environ[0] && !strcmp(environ[0], "KESTREL_NOARGV=1") && !environ[1] ? 0 : 1;
	self_path = argv[0];
	ut_init(argc, argv, 30);
	if (self_path[0] != '/')
		return ut_printf("# argv[0] must be an absolute path\n0 passed, 1 failed\n"), 1;
	return ut_run(cases, UT_NCASES(cases));
}
