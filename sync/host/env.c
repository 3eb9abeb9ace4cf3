/* sync/host/env.c - the host environment: panic, allocation, yields. */
#include "../env.h"
#include "hostcpu.h"
#include "alloc_inject.h"
#include <stdarg.h>
#include <time.h>
#include <ck_pr.h>

#define POISON_FREE 0x6b

/* host_panic: print where and why, then abort (ASan/gdb show the stack). */
void host_panic(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "panic at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}

/* (A) allocations not yet freed. Every env_alloc/env_free writes it, so it
 * gets a line of its own: beside the read-mostly words around it (the
 * fault path reads debug_yield_rate on every fault) it made each mmap/munmap
 * of one thread cost another thread's fault a cache miss. */
static struct {
	uint64_t n;
	char pad[CACHELINE - sizeof(uint64_t)];
} alloc_live __cacheline_aligned;
static int64_t alloc_fail_countdown = -1;	/* (A) <0: disarmed */
static bool alloc_fail_fired;			/* (A) the armed failure happened */

/* env_alloc_align: smallest power of two >= size, capped at 4096. */
static size_t env_alloc_align(size_t size)
{
	size_t a = sizeof(void *);

	while (a < size && a < 4096)
		a <<= 1;
	return a;
}

/* alloc_inject_should_fail: consume one allocation from the countdown;
 * true for exactly one call once armed with alloc_inject_fail_nth(). */
bool alloc_inject_should_fail(void)
{
	if ((int64_t)ck_pr_load_64((uint64_t *)&alloc_fail_countdown) < 0)
		return false;
	if ((int64_t)ck_pr_faa_64((uint64_t *)&alloc_fail_countdown, (uint64_t)-1) != 0)
		return false;
	ck_pr_store_8((uint8_t *)&alloc_fail_fired, 1);
	return true;
}

/* host_alloc: counted in alloc_live (the leak checks). */
static void *host_alloc(size_t size)
{
	size_t align = env_alloc_align(size);
	void *p = aligned_alloc(align, (size + align - 1) & ~(align - 1));

	if (p)
		ck_pr_inc_64(&alloc_live.n);
	return p;
}

/* env_alloc: aligned to the smallest power of two >= size (max 4096);
 * NULL when out of memory or when failure injection says so. */
void *env_alloc(size_t size)
{
	if (alloc_inject_should_fail())
		return NULL;
	return host_alloc(size);
}

static bool alloc_try_fail;	/* (A) every env_alloc_try fails */

/* env_alloc_try: env_alloc outside the exhaustive countdown (its failure
 * changes no result); fails while alloc_inject_try_fail(true) is set. */
void *env_alloc_try(size_t size)
{
	if (ck_pr_load_8((uint8_t *)&alloc_try_fail))
		return NULL;
	return host_alloc(size);
}

void alloc_inject_try_fail(bool on)
{
	ck_pr_store_8((uint8_t *)&alloc_try_fail, on);
}

/* env_free: poison and release p (size as allocated). NULL is ignored. */
void env_free(void *p, size_t size)
{
	if (!p)
		return;
	memset(p, POISON_FREE, size);
	ck_pr_dec_64(&alloc_live.n);
	free(p);
}

uint64_t alloc_inject_live(void)
{
	return ck_pr_load_64(&alloc_live.n);
}

void alloc_inject_fail_nth(int64_t n)
{
	ck_pr_store_8((uint8_t *)&alloc_fail_fired, 0);
	ck_pr_store_64((uint64_t *)&alloc_fail_countdown, (uint64_t)n);
}

void alloc_inject_disarm(void)
{
	ck_pr_store_64((uint64_t *)&alloc_fail_countdown, (uint64_t)-1);
}

bool alloc_inject_fired(void)
{
	return ck_pr_load_8((uint8_t *)&alloc_fail_fired) != 0;
}

int debug_yield_rate;
static __thread unsigned yield_seed;

void debug_yield_enable(int one_in_n)
{
	ck_pr_store_int(&debug_yield_rate, one_in_n);
}

/* debug_yield_slow: with probability 1/rate, yield; 1/16 of those sleep. */
void debug_yield_slow(void)
{
	if (!yield_seed)
		yield_seed = (unsigned)(uintptr_t)&yield_seed ^ (unsigned)time(NULL);
	/* One load: another thread may turn yields off (rate 0) meanwhile. */
	int rate = ck_pr_load_int(&debug_yield_rate);
	unsigned r = rand_r(&yield_seed);

	if (rate <= 0 || r % (unsigned)rate)
		return;
	if ((r >> 8) % 16 == 0) {
		struct timespec ts = { 0, 1000 * (long)((r >> 12) % 50) };
		nanosleep(&ts, NULL);
	} else {
		sched_yield();
	}
}
