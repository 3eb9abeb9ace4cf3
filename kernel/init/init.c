/*
 * kernel/init/init.c - /init: run the programs named on the command line,
 * one after another, and report them in KTAP.
 *
 * Each argument is one program with its arguments separated by ':' (they
 * may contain commas), e.g. "/faultscale:threads=1,2,4:pages=1024". Each
 * runs in a forked child that execs it; "ok N - prog" means it exited 0.
 * The last line is "N passed, M failed" and the exit status is 1 if any
 * failed, so the kernel's user_run test (or a shell) sees the outcome.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_ARGS 16

/* run: fork, exec spec (split at ':'), wait; the wait status or -1. */
static int run(char *spec)
{
	char *args[MAX_ARGS + 1];
	int n = 0, st = 0;
	pid_t pid;

	for (char *s = spec; s && n < MAX_ARGS; n++) {
		args[n] = s;
		s = strchr(s, ':');
		if (s)
			*s++ = 0;
	}
	args[n] = NULL;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char *envp[] = { NULL };

		execve(args[0], args, envp);
		printf("# %s: execve failed: errno %d\n", args[0], errno);
		fflush(stdout);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return st;
}

int main(int argc, char **argv)
{
	int pass = 0, fail = 0;

	printf("KTAP version 1\n1..%d\n", argc - 1);
	for (int i = 1; i < argc; i++) {
		char name[128];
		int st;

		snprintf(name, sizeof(name), "%s", argv[i]);
		*strchrnul(name, ':') = 0;
		st = run(argv[i]);
		if (st == 0) {
			pass++;
			printf("ok %d - %s\n", i, name);
		} else {
			fail++;
			printf("# %s: wait status %#x\nnot ok %d - %s\n", name, st, i, name);
		}
		fflush(stdout);
	}
	printf("%d passed, %d failed\n", pass, fail);
	return fail != 0;
}
