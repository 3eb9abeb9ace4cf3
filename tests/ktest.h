/*
 * tests/ktest.h - a tiny KTAP test harness for host tests (header-only).
 *
 *   KTEST(name) { ... KT_CHECK(cond, fmt, ...); ... }
 *   int main(int argc, char **argv) { return ktest_main(argc, argv); }
 *
 * Prints "KTAP version 1", "1..N", one "ok i - name" / "not ok i - name" per
 * test, and a final line "N passed, N failed". A failed KT_CHECK prints its
 * location and message as a "# " diagnostic and fails the current test (the
 * test keeps running unless KT_REQUIRE is used). Exit status: 0 iff all pass.
 * Run one test by name: ./t name  (xv6 usertests style). KTEST_SEED in the
 * environment sets ktest_seed (default 1) for property tests.
 * ktest_dies_by_panic(fn) runs fn in a forked child and is true if it
 * panicked (aborted): for contracts that must stop loudly.
 */
#ifndef KESTREL_KTEST_H
#define KESTREL_KTEST_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

typedef void (*ktest_fn)(void);
struct ktest_case { const char *name; ktest_fn fn; };

#define KTEST_MAX 256
static struct ktest_case ktest_cases[KTEST_MAX];
static int ktest_ncases;
static int ktest_cur_failed;
static unsigned long ktest_seed = 1;

#define KTEST(fname) \
	static void fname(void); \
	__attribute__((constructor)) static void fname##_reg(void) \
	{ ktest_cases[ktest_ncases].name = #fname; ktest_cases[ktest_ncases++].fn = fname; } \
	static void fname(void)

#define KT_CHECK(cond, ...) do { if (!(cond)) { \
	printf("# %s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
	printf(__VA_ARGS__); printf("\n"); fflush(stdout); ktest_cur_failed = 1; } } while (0)

#define KT_REQUIRE(cond, ...) do { if (!(cond)) { KT_CHECK(cond, __VA_ARGS__); return; } } while (0)

/* ktest_dies_by_panic: run fn in a child (stderr silenced); true if it
 * died by abort, which is what panic() does on the host. */
static inline bool ktest_dies_by_panic(void (*fn)(void))
{
	pid_t pid = fork();
	int st = 0;

	if (pid == 0) {
		if (!freopen("/dev/null", "w", stderr))
			_exit(2);
		fn();
		_exit(0);
	}
	waitpid(pid, &st, 0);
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static inline int ktest_main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
	const char *seed = getenv("KTEST_SEED");
	int pass = 0, fail = 0, n = 0;

	if (seed)
		ktest_seed = strtoul(seed, NULL, 0);
	for (int i = 0; i < ktest_ncases; i++)
		if (!only || !strcmp(only, ktest_cases[i].name))
			n++;
	printf("KTAP version 1\n1..%d\n", n);
	n = 0;
	for (int i = 0; i < ktest_ncases; i++) {
		if (only && strcmp(only, ktest_cases[i].name))
			continue;
		ktest_cur_failed = 0;
		ktest_cases[i].fn();
		printf("%sok %d - %s\n", ktest_cur_failed ? "not " : "", ++n, ktest_cases[i].name);
		fflush(stdout);
		ktest_cur_failed ? fail++ : pass++;
	}
	printf("%d passed, %d failed\n", pass, fail);
	return fail ? 1 : 0;
}

#endif
