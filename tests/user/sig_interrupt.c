/*
 * tests/user/sig_interrupt.c - a caught signal interrupts a blocking system
 * call while it blocks, as Linux: wait4 and an untimed FUTEX_WAIT end with
 * EINTR after the handler ran when it was installed without SA_RESTART,
 * and go on waiting (restarted transparently) with SA_RESTART; nanosleep
 * ends with EINTR and the time left in rem either way. A nanosleep is
 * woken at once, not at the next timer tick: the median delay from a
 * tgkill (or from a sibling's exit_group) to the sleeper's return (to its
 * parent's wait4) may exceed that of an untimed FUTEX_WAIT sleeper (the
 * control, woken at once) by less than wake_us= (default 2500 us; a sleeper
 * polling once a 10 ms tick is ~5 ms later).
 *
 * Each blocking case first waits (delay_ms=, default 20) so the target is
 * asleep when the signal comes; a round in which the handler still ran
 * before the call began is inconclusive and repeated (at most 5 times).
 *
 * Args: rounds= (latency samples, default 21), delay_ms=, wake_us=, secs=.
 */
#include "uktap.h"

#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define EXITED(st, code) ({ int s_ = (st); WIFEXITED(s_) && WEXITSTATUS(s_) == (code); })
#define TRIES 5
#define FUTEX_WAIT_PRIVATE 128	/* FUTEX_WAIT | FUTEX_PRIVATE_FLAG */
#define FUTEX_WAKE_PRIVATE 129

static volatile int *shared;		/* MAP_SHARED: [0] handler ran, [1] ready,
					 * [2..3] a time in ns (child -> parent) */
static volatile int in_call;		/* 1 while the blocking call may run */
static volatile int handler_in_call;	/* in_call as the handler saw it */
static volatile int handled;

static void on_usr1(int sig)
{
	(void)sig;
	handler_in_call = in_call;
	handled = 1;
	shared[0] = 1;
}

static void set_handler(int flags)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = flags };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* wait_flag: until *f is nonzero, at most ms; whether it became so. */
static int wait_flag(volatile int *f, long ms)
{
	uint64_t end = ut_now_ns() + (uint64_t)ms * 1000000;

	while (!*f && ut_now_ns() < end)
		sleep_ms(1);
	return *f != 0;
}

static void round_reset(int flags)
{
	set_handler(flags);
	shared[0] = shared[1] = 0;
	handled = handler_in_call = 0;
}

/*
 * wait4_round: fork a child that signals us after delay_ms and then waits
 * (2 s at most) for our handler to have run, exiting 0 if it did; we block
 * in wait4 meanwhile. 1: conclusive (checks done), 0: the handler ran
 * before wait4 began.
 */
static int wait4_round(int restart)
{
	pid_t pid;
	int st = -1, r, e;

	round_reset(restart ? SA_RESTART : 0);
	pid = fork();
	if (pid == 0) {
		sleep_ms(ut_arg("delay_ms", 20));
		kill(getppid(), SIGUSR1);
		_exit(wait_flag(&shared[0], 2000) ? 0 : 1);
	}
	UT_REQUIRE(pid > 0, "fork: errno %d", errno);
	in_call = 1;
	r = wait4(pid, &st, 0, NULL);
	e = errno;
	in_call = 0;
	if (!handler_in_call) {	/* signalled before wait4: try again */
		if (r != pid)
			waitpid(pid, &st, 0);
		return 0;
	}
	if (restart) {
		UT_CHECK(r == pid, "SA_RESTART: wait4 restarts: %d errno %d", r, e);
	} else {
		UT_CHECK(r == -1 && e == EINTR, "wait4 returned %d errno %d, not EINTR", r, e);
		r = waitpid(pid, &st, 0);
	}
	UT_CHECK(handled, "the handler ran");
	UT_CHECK(r == pid && EXITED(st, 0),
		 "the handler ran while we blocked in wait4 (child status %#x)", st);
	return 1;
}

static int run_rounds(int (*fn)(int), int arg)
{
	for (int i = 0; i < TRIES; i++)
		if (fn(arg))
			return UT_PASS;	/* ut_run counts the failed checks */
	return ut_skip("the signal always came before the call blocked");
}

static int test_wait4_eintr(void)
{
	return run_rounds(wait4_round, 0);
}

static int test_wait4_restart(void)
{
	return run_rounds(wait4_round, 1);
}

static volatile int futex_word;
static volatile int futex_done;
static volatile long futex_ret;
static volatile int futex_errno;
static volatile pid_t thread_tid;	/* of the thread to signal */

/* signal_thread: SIGUSR1 to thread_tid (tgkill: musl's pthread_kill uses
 * tkill, which Kestrel lacks). */
static void signal_thread(void)
{
	syscall(SYS_tgkill, getpid(), thread_tid, SIGUSR1);
}

static void *futex_waiter(void *arg)
{
	(void)arg;
	thread_tid = (pid_t)syscall(SYS_gettid);
	shared[1] = 1;
	in_call = 1;
	futex_ret = syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	futex_errno = errno;
	in_call = 0;
	futex_done = 1;
	return NULL;
}

/* futex_round: a thread blocks in FUTEX_WAIT on futex_word; we signal it
 * after delay_ms. Without SA_RESTART it returns EINTR; with it, it is still
 * waiting after its handler ran and returns 0 once we wake it. */
static int futex_round(int restart)
{
	pthread_t t;

	round_reset(restart ? SA_RESTART : 0);
	futex_word = 0;
	futex_done = 0;
	UT_REQUIRE(pthread_create(&t, NULL, futex_waiter, NULL) == 0, "pthread_create");
	wait_flag(&shared[1], 5000);
	sleep_ms(ut_arg("delay_ms", 20));
	signal_thread();
	wait_flag(&handled, 2000);
	if (restart)
		sleep_ms(ut_arg("delay_ms", 20));	/* time to return, if it wrongly does */
	else
		wait_flag(&futex_done, 2000);
	int done_early = futex_done;

	futex_word = 1;
	while (!futex_done) {
		syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
		sleep_ms(1);
	}
	pthread_join(t, NULL);
	if (!handler_in_call)
		return 0;	/* signalled before the wait began: try again */
	UT_CHECK(handled, "the handler ran");
	if (restart) {
		UT_CHECK(!done_early, "SA_RESTART: FUTEX_WAIT still waits after the handler "
			 "(it returned %ld errno %d)", futex_ret, futex_errno);
		UT_CHECK(futex_ret == 0, "woken: %ld errno %d", futex_ret, futex_errno);
	} else {
		UT_CHECK(done_early && futex_ret == -1 && futex_errno == EINTR,
			 "FUTEX_WAIT returned %ld errno %d, not EINTR", futex_ret, futex_errno);
	}
	return 1;
}

static int test_futex_eintr(void)
{
	return run_rounds(futex_round, 0);
}

static int test_futex_restart(void)
{
	return run_rounds(futex_round, 1);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* median_us: the median of n samples in ns, in us (sorts them). */
static uint64_t median_us(uint64_t *ns, int n)
{
	qsort(ns, (size_t)n, sizeof(*ns), cmp_u64);
	return ns[n / 2] / 1000;
}

enum { IN_FUTEX, IN_NANOSLEEP };	/* where a sleeper blocks */

static volatile uint64_t woke_ns;
static volatile int sleeper_ret, sleeper_errno, sleeper_done;
static struct timespec sleeper_rem;

/* sleeper: block (arg: IN_FUTEX, untimed, or IN_NANOSLEEP, 5 s) until
 * interrupted; record the result and when it came. */
static void *sleeper(void *arg)
{
	struct timespec ts = { 5, 0 };

	thread_tid = (pid_t)syscall(SYS_gettid);
	futex_word = 0;
	shared[1] = 1;
	if ((long)arg == IN_NANOSLEEP)
		sleeper_ret = nanosleep(&ts, &sleeper_rem);
	else
		sleeper_ret = (int)syscall(SYS_futex, &futex_word, FUTEX_WAIT_PRIVATE, 0, NULL,
					   NULL, 0);
	sleeper_errno = errno;
	woke_ns = ut_now_ns();
	sleeper_done = 1;
	return NULL;
}

static uint64_t rand_state = 0x9e3779b97f4a7c15ull;

/* spin_random: busy-wait 0-10 ms at random, so that what follows falls
 * anywhere between two 10 ms timer ticks (a sleeper polling once a tick
 * then notices it 5 ms later on average, not just after the tick that
 * ended our own sleep). */
static void spin_random(void)
{
	uint64_t end = ut_now_ns() + ut_rand(&rand_state) % 10000000;

	while (ut_now_ns() < end)
		;
}

/* start_sleeper: a thread blocking in mode, given delay_ms to block and
 * a random phase against the tick; when that ended, in ns. */
static uint64_t start_sleeper(pthread_t *t, long mode)
{
	shared[1] = 0;
	sleeper_done = 0;
	if (pthread_create(t, NULL, sleeper, (void *)mode))
		return 0;
	wait_flag(&shared[1], 5000);
	sleep_ms(ut_arg("delay_ms", 20));
	spin_random();
	return ut_now_ns();
}

/* signal_round: signal a thread blocked in mode; it returns EINTR (a
 * nanosleep with 2-5 s left); the delay from the signal in *ns. */
static int signal_round(long mode, uint64_t *ns)
{
	pthread_t t;
	uint64_t t0;

	round_reset(0);
	UT_REQUIRE((t0 = start_sleeper(&t, mode)), "pthread_create");
	signal_thread();
	if (!wait_flag(&sleeper_done, 2000)) {	/* not blocked yet when signalled? */
		futex_word = 1;
		syscall(SYS_futex, &futex_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	}
	pthread_join(t, NULL);
	*ns = woke_ns - t0;
	UT_REQUIRE(sleeper_ret == -1 && sleeper_errno == EINTR, "mode %ld: %d errno %d", mode,
		   sleeper_ret, sleeper_errno);
	UT_REQUIRE(mode != IN_NANOSLEEP ||
		   (sleeper_rem.tv_sec >= 2 && sleeper_rem.tv_sec < 5), "rem %lld.%09ld",
		   (long long)sleeper_rem.tv_sec, sleeper_rem.tv_nsec);
	return UT_PASS;
}

/* exit_round: a child whose second thread blocks in mode calls exit_group;
 * the delay from that call to our wait4's return in *ns. */
static int exit_round(long mode, uint64_t *ns)
{
	uint64_t t0;
	pid_t pid;
	int st = -1;

	pid = fork();
	if (pid == 0) {
		pthread_t t;

		if (!(t0 = start_sleeper(&t, mode)))
			_exit(2);
		memcpy((void *)&shared[2], &t0, sizeof(t0));
		syscall(SYS_exit_group, 0);
	}
	UT_REQUIRE(pid > 0, "fork: errno %d", errno);
	UT_REQUIRE(waitpid(pid, &st, 0) == pid && EXITED(st, 0), "child status %#x", st);
	memcpy(&t0, (void *)&shared[2], sizeof(t0));
	*ns = ut_now_ns() - t0;
	return UT_PASS;
}

/*
 * wakeup_case: rounds= samples of round_fn for a nanosleep sleeper and for
 * an untimed FUTEX_WAIT one (the control: woken at once), interleaved; the
 * nanosleep's median delay must exceed the control's by less than wake_us=
 * (a sleeper that polls once a 10 ms tick is ~5 ms later).
 */
static int wakeup_case(int (*round_fn)(long, uint64_t *), const char *what)
{
	int n = (int)ut_arg("rounds", 21);
	uint64_t ns[2][128], med[2];

	if (n < 1 || n > 128)
		n = 21;
	for (int i = 0; i < n; i++)
		for (long mode = IN_FUTEX; mode <= IN_NANOSLEEP; mode++)
			if (round_fn(mode, &ns[mode][i]) != UT_PASS)
				return UT_FAIL;
	med[IN_FUTEX] = median_us(ns[IN_FUTEX], n);
	med[IN_NANOSLEEP] = median_us(ns[IN_NANOSLEEP], n);
	ut_diag("%s: median %llu us in nanosleep, %llu us in FUTEX_WAIT, over %d", what,
		(unsigned long long)med[IN_NANOSLEEP], (unsigned long long)med[IN_FUTEX], n);
	UT_CHECK(ns[IN_NANOSLEEP][n - 1] < 2000000000ull, "max %llu ms",
		 (unsigned long long)(ns[IN_NANOSLEEP][n - 1] / 1000000));
	UT_CHECK(med[IN_NANOSLEEP] < med[IN_FUTEX] + (uint64_t)ut_arg("wake_us", 2500),
		 "a nanosleep is woken late");
	return UT_PASS;
}

static int test_nanosleep_signal_wakes(void)
{
	return wakeup_case(signal_round, "signal to the sleeper's return");
}

static int test_nanosleep_exit_wakes(void)
{
	return wakeup_case(exit_round, "exit_group to the parent's wait4 return");
}

static const struct ut_case cases[] = {
	{ "wait4_eintr", test_wait4_eintr },
	{ "wait4_restart", test_wait4_restart },
	{ "futex_eintr", test_futex_eintr },
	{ "futex_restart", test_futex_restart },
	{ "nanosleep_signal_wakes", test_nanosleep_signal_wakes },
	{ "nanosleep_exit_wakes", test_nanosleep_exit_wakes },
};

int main(int argc, char **argv)
{
	ut_init(argc, argv, 60);
	shared = mmap(NULL, UT_PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED)
		return 1;
	return ut_run(cases, UT_NCASES(cases));
}
