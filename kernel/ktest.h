/*
 * kernel/ktest.h - the in-kernel KTAP test runner.
 *
 *   KTEST(name) { ... KT_CHECK(cond, fmt, ...); ... }
 *
 * Tests live in kernel/ktest/ (one file per area) and register themselves in the .ktest
 * section. ktest=all (or ktest=a,b,c) on the command line runs them in a
 * kernel thread, printing "KTAP version 1", "1..N", "ok i - name" or
 * "not ok i - name", and "N passed, N failed"; then QEMU exits through
 * isa-debug-exit with QEMU_EXIT_PASS or QEMU_EXIT_FAIL. KT_CHECK may be
 * used from any thread or CPU while the test runs.
 */
#ifndef KESTREL_KERNEL_KTEST_H
#define KESTREL_KERNEL_KTEST_H

#include "sync/env.h"
#include "kernel/printk.h"

struct ktest {
	const char *name;
	void (*fn)(void);
};

#define KTEST(fname)							\
	static void fname(void);					\
	static const struct ktest __ktest_##fname			\
		__attribute__((used, section(".ktest"), aligned(8))) = { #fname, fname }; \
	static void fname(void)

extern int ktest_failed;	/* (A) the current test has failed */

__attribute__((format(printf, 4, 5)))
void ktest_fail(const char *file, int line, const char *cond, const char *fmt, ...);

#define KT_CHECK(cond, ...) do { if (!(cond))				\
		ktest_fail(__FILE__, __LINE__, #cond, __VA_ARGS__); } while (0)

#define KT_REQUIRE(cond, ...) do { if (!(cond)) { KT_CHECK(cond, __VA_ARGS__); return; } } while (0)

#define KTEST_TIMEOUT_S 60
void ktest_watchdog(void);

/* ktest_run: run the selected tests ("all" or a comma list) and exit QEMU. */
__attribute__((noreturn)) void ktest_run(const char *sel);

#endif
