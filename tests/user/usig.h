/*
 * tests/user/usig.h - catch SIGSEGV/SIGBUS in a user program and report the
 * faulting address and si_code, returning to the probe with siglongjmp.
 *
 * ut_fault_install() once per process; then, in any thread,
 * ut_try_load(p, &v) / ut_try_store(p, v) return 0 if the access completed
 * and 1 if it faulted, with the siginfo in ut_last_fault (thread-local).
 * A fault outside a probe restores the default action and re-faults, so the
 * process dies loudly instead of looping.
 */
#ifndef KESTREL_USIG_H
#define KESTREL_USIG_H

#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

struct ut_fault {
	void *addr;
	int code;
	int signo;
};

static __thread sigjmp_buf ut_jb;
static __thread volatile int ut_armed;
static __thread struct ut_fault ut_last_fault;

static void ut_fault_handler(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (!ut_armed) {
		signal(sig, SIG_DFL);
		return;
	}
	ut_armed = 0;
	ut_last_fault.addr = si->si_addr;
	ut_last_fault.code = si->si_code;
	ut_last_fault.signo = sig;
	siglongjmp(ut_jb, 1);
}

/* ut_fault_install: route SIGSEGV and SIGBUS to the probe handler. */
static inline void ut_fault_install(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = ut_fault_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/* ut_try_load: *v = *p; returns 1 (and fills ut_last_fault) if it faulted. */
static __attribute__((noinline, unused)) int ut_try_load(const volatile uint64_t *p, uint64_t *v)
{
	if (sigsetjmp(ut_jb, 1))
		return 1;
	ut_armed = 1;
	*v = *p;
	ut_armed = 0;
	return 0;
}

/* ut_try_store: *p = v; returns 1 (and fills ut_last_fault) if it faulted. */
static __attribute__((noinline, unused)) int ut_try_store(volatile uint64_t *p, uint64_t v)
{
	if (sigsetjmp(ut_jb, 1))
		return 1;
	ut_armed = 1;
	*p = v;
	ut_armed = 0;
	return 0;
}

#endif
