/*
 * tests/user/vfork_borrows.c - vfork as Linux does it (CLONE_VM |
 * CLONE_VFORK): the child runs in the parent's memory, so its writes are
 * visible to the parent, and the parent is suspended until the child exits
 * (or execs). POSIX leaves a vfork child's writes undefined; Linux, and so
 * unmodified programs that rely on it (posix_spawn implementations, shells),
 * define them. Also: a vfork child's exit status reaches wait4, and a plain
 * fork child's write stays private.
 *
 * Args: iters=100.
 */
#include "uktap.h"

#include <sys/wait.h>

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

int main(int argc, char **argv)
{
	static const struct ut_case cases[] = {
		{ "vfork_child_writes_visible", test_child_writes_visible },
		{ "fork_stays_private", test_fork_stays_private },
	};

	ut_init(argc, argv, 20);
	return ut_run(cases, UT_NCASES(cases));
}
