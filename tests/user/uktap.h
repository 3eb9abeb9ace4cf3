/*
 * tests/user/uktap.h - KTAP output, arguments and time bounds for the static
 * musl user programs (stress/ and tests/user/), header-only.
 *
 * The same binaries run natively on Linux and, later, on Kestrel from an
 * initramfs, so this header only relies on write, clock_gettime and the
 * environment: no stdio FILEs (their buffers would be duplicated by fork and
 * interleaved by threads), no sysconf, no /proc.
 *
 *   static const struct ut_case cases[] = { { "name", fn }, ... };
 *   int main(int argc, char **argv) { ut_init(argc, argv, 20); ...
 *                                     return ut_run(cases, UT_NCASES(cases)); }
 *
 * A case returns UT_PASS, UT_FAIL or ut_skip("why"); UT_CHECK (usable from any
 * thread or forked child) prints a "# " diagnostic and marks the running case
 * failed. Output: "KTAP version 1", "1..N", "ok i - name" / "not ok i - name" /
 * "ok i - name # SKIP why", then "N passed, N failed" (skips count as passed
 * and are also reported as "# N skipped"). Exit status 0 iff nothing failed.
 *
 * Arguments are "key=value" words (ut_arg("iters", 100) reads iters=...; the
 * environment variable UT_ITERS is the fallback); other words select cases by
 * name. "secs=" bounds the wall-clock time of the whole program (ut_time_up).
 */
#ifndef KESTREL_UKTAP_H
#define KESTREL_UKTAP_H

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define UT_PASS 0
#define UT_FAIL 1
#define UT_SKIP 2
#define UT_NCASES(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define UT_PAGE 4096UL

struct ut_case {
	const char *name;
	int (*fn)(void);
};

static int ut_argc;
static char **ut_argv;
static int ut_failed_checks;	/* atomic: failed UT_CHECKs in this process */
static const char *ut_skip_why;
static uint64_t ut_deadline_ns;
static uint64_t ut_last_progress_ns;

/* ut_write_all: write the whole buffer to fd, retrying short writes. */
static inline void ut_write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

/* ut_printf: format one message into a stack buffer and write it with one
 * write(2), so lines from threads and children do not interleave. */
__attribute__((format(printf, 1, 2)))
static inline void ut_printf(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(buf))
		n = sizeof(buf) - 1;
	ut_write_all(1, buf, (size_t)n);
}

#define ut_diag(fmt, ...) ut_printf("# " fmt "\n", ##__VA_ARGS__)

#define UT_CHECK(cond, fmt, ...) do { if (!(cond)) { \
	ut_printf("# %s:%d: check failed: %s: " fmt "\n", __FILE__, __LINE__, \
		  #cond, ##__VA_ARGS__); \
	__atomic_add_fetch(&ut_failed_checks, 1, __ATOMIC_RELAXED); } } while (0)

#define UT_REQUIRE(cond, fmt, ...) do { if (!(cond)) { \
	UT_CHECK(cond, fmt, ##__VA_ARGS__); return UT_FAIL; } } while (0)

/* ut_failures: failed checks so far (threads may call it to stop early). */
static inline int ut_failures(void)
{
	return __atomic_load_n(&ut_failed_checks, __ATOMIC_RELAXED);
}

static inline int ut_skip(const char *why)
{
	ut_skip_why = why;
	return UT_SKIP;
}

static inline uint64_t ut_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ut_arg: the value of "key=value" on the command line, else of the
 * environment variable UT_<KEY>, else def. Accepts 0x.. and k/m suffixes. */
static inline long ut_arg(const char *key, long def)
{
	size_t kl = strlen(key);
	const char *v = NULL;
	char env[64] = "UT_";
	char *end;
	long x;

	for (int i = 1; i < ut_argc; i++)
		if (!strncmp(ut_argv[i], key, kl) && ut_argv[i][kl] == '=')
			v = ut_argv[i] + kl + 1;
	if (!v && kl + 4 < sizeof(env)) {
		for (size_t i = 0; i < kl; i++)
			env[3 + i] = (char)(key[i] >= 'a' && key[i] <= 'z' ? key[i] - 32 : key[i]);
		env[3 + kl] = 0;
		v = getenv(env);
	}
	if (!v || !*v)
		return def;
	x = strtol(v, &end, 0);
	if (*end == 'k' || *end == 'K')
		x <<= 10;
	else if (*end == 'm' || *end == 'M')
		x <<= 20;
	return x;
}

/* ut_arg_str: like ut_arg for a string value (e.g. "threads=1,2,4"). */
static inline const char *ut_arg_str(const char *key, const char *def)
{
	size_t kl = strlen(key);

	for (int i = 1; i < ut_argc; i++)
		if (!strncmp(ut_argv[i], key, kl) && ut_argv[i][kl] == '=')
			return ut_argv[i] + kl + 1;
	return def;
}

/* ut_time_up: true once the secs= wall-clock budget is spent. */
static inline int ut_time_up(void)
{
	return ut_deadline_ns && ut_now_ns() >= ut_deadline_ns;
}

/* ut_progress_due: true at most once per second (for "# progress" lines). */
static inline int ut_progress_due(void)
{
	uint64_t now = ut_now_ns();

	if (now - ut_last_progress_ns < 1000000000ull)
		return 0;
	ut_last_progress_ns = now;
	return 1;
}

/* ut_rand: xorshift64*; state must be nonzero. */
static inline uint64_t ut_rand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* ut_init: remember argv and start the wall-clock budget (secs=, default
 * def_secs; 0 means unbounded). */
static inline void ut_init(int argc, char **argv, long def_secs)
{
	long secs;

	ut_argc = argc;
	ut_argv = argv;
	secs = ut_arg("secs", def_secs);
	ut_last_progress_ns = ut_now_ns();
	ut_deadline_ns = secs > 0 ? ut_last_progress_ns + (uint64_t)secs * 1000000000ull : 0;
}

/* ut_selected: a case runs if no bare word was given or its name was. */
static inline int ut_selected(const char *name)
{
	int any = 0;

	for (int i = 1; i < ut_argc; i++) {
		if (strchr(ut_argv[i], '='))
			continue;
		any = 1;
		if (!strcmp(ut_argv[i], name))
			return 1;
	}
	return !any;
}

/* ut_run: run the selected cases in order and print the KTAP report.
 * Returns the process exit status: 0 iff no case failed. */
static inline int ut_run(const struct ut_case *cases, int n)
{
	int pass = 0, fail = 0, skip = 0, plan = 0, k = 0;

	for (int i = 0; i < n; i++)
		plan += ut_selected(cases[i].name);
	ut_printf("KTAP version 1\n1..%d\n", plan);
	for (int i = 0; i < n; i++) {
		int before, r;

		if (!ut_selected(cases[i].name))
			continue;
		before = ut_failures();
		ut_skip_why = NULL;
		r = cases[i].fn();
		k++;
		if (r == UT_SKIP && ut_failures() == before) {
			ut_printf("ok %d - %s # SKIP %s\n", k, cases[i].name,
				  ut_skip_why ? ut_skip_why : "");
			skip++;
			pass++;
		} else if (r == UT_PASS && ut_failures() == before) {
			ut_printf("ok %d - %s\n", k, cases[i].name);
			pass++;
		} else {
			ut_printf("not ok %d - %s\n", k, cases[i].name);
			fail++;
		}
	}
	if (skip)
		ut_diag("%d skipped", skip);
	ut_printf("%d passed, %d failed\n", pass, fail);
	return fail ? 1 : 0;
}

/* ut_read_file: read a whole (small, e.g. /proc) file into buf with
 * open/read/close; returns its length or -errno. buf is NUL-terminated. */
#include <fcntl.h>
static inline long ut_read_file(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	size_t n = 0;

	if (fd < 0)
		return -errno;
	while (n + 1 < cap) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	buf[n] = 0;
	close(fd);
	return (long)n;
}

/* ut_field_kb: the number after "name:" in a /proc/meminfo or status text,
 * or -1 if the field is absent. */
static inline long ut_field_kb(const char *text, const char *name)
{
	size_t nl = strlen(name);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, name, nl) && p[nl] == ':')
			return strtol(p + nl + 1, NULL, 10);
	return -1;
}

#endif
