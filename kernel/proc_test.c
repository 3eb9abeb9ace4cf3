/*
 * kernel/proc_test.c - run a user program from the initramfs as a KTAP test.
 *
 * user_run: "user=/prog+arg1+arg2" on the command line names the program
 * and its arguments ('+' separates them: arguments may contain commas). The test passes if the program exits with status 0,
 * the last line it wrote is its own KTAP summary "N passed, 0 failed", and
 * every frame its address space used came back. Without "user=", it checks
 * that spawning a missing program fails cleanly with -ENOENT.
 */
#include "kernel/ktest.h"
#include "kernel/proc.h"
#include "kernel/bootinfo.h"
#include "kernel/mem.h"
#include "kernel/machine.h"

/* tap_ok: s is "<N> passed, 0 failed" with N >= 1 (a program that ran
 * nothing has not passed). */
static bool tap_ok(const char *s)
{
	const char *tail = " passed, 0 failed";
	bool nonzero = false;

	if (*s < '0' || *s > '9')
		return false;
	for (; *s >= '0' && *s <= '9'; s++)
		nonzero |= *s != '0';
	return nonzero && !strcmp(s, tail);
}

/* split_args: cut spec at '+' into argv (NULL-terminated); argc. */
static unsigned split_args(char *spec, char **argv)
{
	unsigned n = 0;

	while (n < PROC_MAX_ARGS) {
		argv[n++] = spec;
		spec = strchr(spec, '+');
		if (!spec)
			break;
		*spec++ = 0;
	}
	argv[n] = NULL;
	return n;
}

KTEST(user_run)
{
	static char spec[CMDLINE_MAX], tap[PROC_TAP_LINE];
	char *argv[PROC_MAX_ARGS + 1];
	uint64_t live0, t0;
	struct proc *p;
	int status;

	if (!cmdline_str("user", spec, sizeof(spec))) {
		char *none[] = { "/no/such/program", NULL };

		KT_CHECK(proc_spawn(none[0], none, &p) == -ENOENT, "spawn of a missing program");
		return;
	}
	split_args(spec, argv);
	(void)pmap_zero_page();		/* allocated once, kept */
	rcu_barrier();
	live0 = pmap_frames_live();
	t0 = time_ns();
	KT_REQUIRE(proc_spawn(argv[0], argv, &p) == 0, "spawn %s", argv[0]);
	status = proc_wait(p, tap);
	printk("# user_run: %s exited with status %#x after %llu ms\n", argv[0], status,
	       (unsigned long long)((time_ns() - t0) / 1000000));
	KT_CHECK(status == 0, "%s: wait status %#x", argv[0], status);
	KT_CHECK(tap_ok(tap), "%s: last line \"%s\"", argv[0], tap);
	rcu_barrier();
	KT_CHECK(pmap_frames_live() == live0, "frames live %llu after, %llu before",
		 (unsigned long long)pmap_frames_live(), (unsigned long long)live0);
}
