/* kernel/ktest.c - the KTAP runner (see ktest.h). */
#include "kernel/ktest.h"
#include "kernel/machine.h"
#include <ck_pr.h>

int ktest_failed;
uint64_t ktest_deadline_ns = ~0ull;	/* (A) checked by ktest_watchdog() */
static const char *ktest_current;

/* ktest_watchdog: from the boot CPU's tick; a test running longer than
 * KTEST_TIMEOUT_S ends the run with a failure instead of a CTest timeout. */
void ktest_watchdog(void)
{
	if (time_ns() > ck_pr_load_64(&ktest_deadline_ns))
		panic("ktest: %s still running after %d s", ktest_current, KTEST_TIMEOUT_S);
}

extern const struct ktest __ktest_start[], __ktest_end[];

/* ktest_fail: print a "# " diagnostic and fail the running test. */
void ktest_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
	char msg[200], out[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(out, sizeof(out), "# %s:%d: check failed: %s: %s (cpu %u)\n", file, line, cond,
		 msg, cpu_self());
	printk_raw(out);
	__atomic_store_n(&ktest_failed, 1, __ATOMIC_RELAXED);
}

/* ktest_selected: is name in the comma-separated list sel (or sel "all")? */
static bool ktest_selected(const char *sel, const char *name)
{
	size_t n = strlen(name);

	if (!strcmp(sel, "all"))	/* crash_* tests end the machine: by name only */
		return strncmp(name, "crash_", 6) != 0;
	for (const char *p = sel; *p;) {
		if (!strncmp(p, name, n) && (p[n] == ',' || p[n] == 0))
			return true;
		p = strchr(p, ',');
		if (!p)
			break;
		p++;
	}
	return false;
}

void ktest_run(const char *sel)
{
	char line[160];
	int n = 0, pass = 0, fail = 0;

	for (const struct ktest *t = __ktest_start; t < __ktest_end; t++)
		n += ktest_selected(sel, t->name);
	snprintf(line, sizeof(line), "KTAP version 1\n1..%d\n", n);
	printk_raw(line);
	n = 0;
	for (const struct ktest *t = __ktest_start; t < __ktest_end; t++) {
		uint64_t t0 = time_ns();

		if (!ktest_selected(sel, t->name))
			continue;
		__atomic_store_n(&ktest_failed, 0, __ATOMIC_RELAXED);
		ktest_current = t->name;
		ck_pr_store_64(&ktest_deadline_ns, t0 + KTEST_TIMEOUT_S * 1000000000ull);
		t->fn();
		ck_pr_store_64(&ktest_deadline_ns, ~0ull);
		snprintf(line, sizeof(line), "# %s: %llu ms\n", t->name,
			 (unsigned long long)((time_ns() - t0) / 1000000));
		printk_raw(line);
		snprintf(line, sizeof(line), "%sok %d - %s\n", ktest_failed ? "not " : "", ++n,
			 t->name);
		printk_raw(line);
		ktest_failed ? fail++ : pass++;
	}
	snprintf(line, sizeof(line), "%d passed, %d failed\n", pass, fail);
	printk_raw(line);
	machine_exit(fail == 0 && n > 0);
}
