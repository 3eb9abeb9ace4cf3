/*
 * tests/user/sig_shared.c - a process-directed signal (kill to a pid) stays
 * pending for the whole process, as in Linux's shared pending set, until
 * some thread unblocks it, whichever threads exit meanwhile:
 *
 *   survives_thread_exit: every thread blocks SIGUSR1 (one that did not
 *     already exited); kill(getpid()); the other thread exits (it was alive
 *     when the signal was sent); the main
 *     thread unblocks it and must take it.
 *   reaches_unblocking_thread: main and a second thread block SIGUSR2;
 *     kill(getpid()); the second thread keeps it blocked, main unblocks it
 *     and must take it (no thread exits).
 *   pthread_kill_reaches_thread: pthread_kill (musl: tkill) to a thread
 *     runs the handler on that thread, not on main, which does not block
 *     the signal either (Kestrel had no tkill: ENOSYS).
 *
 * Kestrel parked a kill() on one thread (one that does not block it, else
 * the newest) before it had a shared set, and failed both. Args: secs=.
 */
#include "uktap.h"

#include <pthread.h>
#include <signal.h>

static volatile pthread_t handled_by;
static volatile int handled;

static void on_signal(int sig)
{
	(void)sig;
	handled_by = pthread_self();
	handled = 1;
}

static void set_handler(int sig)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
	handled = 0;
	handled_by = 0;
}

static void mask(int how, int sig)
{
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, sig);
	pthread_sigmask(how, &s, NULL);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* wait_handled: until the handler ran, at most ms; whether it did. */
static int wait_handled(long ms)
{
	uint64_t end = ut_now_ns() + (uint64_t)ms * 1000000;

	while (!handled && ut_now_ns() < end)
		sleep_ms(1);
	return handled;
}

static void *unblock_and_exit(void *arg)
{
	mask(SIG_UNBLOCK, (int)(long)arg);
	return NULL;
}

static volatile int go;

/* exit_on_go: wait for go, then exit. */
static void *exit_on_go(void *arg)
{
	(void)arg;
	while (!go)
		sleep_ms(1);
	return NULL;
}

static int test_survives_thread_exit(void)
{
	pthread_t u, w;

	set_handler(SIGUSR1);
	mask(SIG_BLOCK, SIGUSR1);	/* threads inherit it */
	UT_REQUIRE(pthread_create(&u, NULL, unblock_and_exit, (void *)(long)SIGUSR1) == 0, "u");
	pthread_join(u, NULL);	/* the one thread that did not block it is gone */
	go = 0;
	UT_REQUIRE(pthread_create(&w, NULL, exit_on_go, NULL) == 0, "w");
	UT_REQUIRE(kill(getpid(), SIGUSR1) == 0, "kill: errno %d", errno);
	go = 1;
	pthread_join(w, NULL);
	UT_CHECK(!handled, "taken while blocked everywhere");
	mask(SIG_UNBLOCK, SIGUSR1);
	UT_CHECK(wait_handled(2000), "the pending SIGUSR1 was lost with the thread that exited");
	return UT_PASS;	/* ut_run counts the failed checks */
}

static int test_reaches_unblocking_thread(void)
{
	pthread_t w;

	set_handler(SIGUSR2);
	go = 0;
	mask(SIG_BLOCK, SIGUSR2);
	UT_REQUIRE(pthread_create(&w, NULL, exit_on_go, NULL) == 0, "w");
	UT_REQUIRE(kill(getpid(), SIGUSR2) == 0, "kill: errno %d", errno);
	mask(SIG_UNBLOCK, SIGUSR2);
	UT_CHECK(wait_handled(2000), "the thread that unblocked SIGUSR2 did not take it");
	UT_CHECK(!handled || pthread_equal(handled_by, pthread_self()),
		 "taken by a thread that blocks it");
	go = 1;
	pthread_join(w, NULL);
	return UT_PASS;	/* ut_run counts the failed checks */
}

static int test_pthread_kill_reaches_thread(void)
{
	pthread_t w;
	int err;

	set_handler(SIGUSR1);
	mask(SIG_UNBLOCK, SIGUSR1);
	go = 0;
	UT_REQUIRE(pthread_create(&w, NULL, exit_on_go, NULL) == 0, "w");
	err = pthread_kill(w, SIGUSR1);
	UT_CHECK(err == 0, "pthread_kill: %d", err);
	UT_CHECK(!err && wait_handled(2000), "the handler did not run");
	UT_CHECK(!handled || pthread_equal(handled_by, w), "handled by another thread");
	UT_CHECK(pthread_kill(w, 65) == EINVAL, "signal 65 not EINVAL");
	go = 1;
	pthread_join(w, NULL);
	return UT_PASS;	/* ut_run counts the failed checks */
}

static const struct ut_case cases[] = {
	{ "survives_thread_exit", test_survives_thread_exit },
	{ "reaches_unblocking_thread", test_reaches_unblocking_thread },
	{ "pthread_kill_reaches_thread", test_pthread_kill_reaches_thread },
};

int main(int argc, char **argv)
{
	ut_init(argc, argv, 30);
	return ut_run(cases, UT_NCASES(cases));
}
