/* sync/host/env.c - the host environment: panic, allocation, yields. */
#include "../env.h"
#include "hostcpu.h"
#include "alloc_inject.h"
#include <stdarg.h>
#include <time.h>
#include <pthread.h>
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

/*
 * Per-thread magazines of freed objects, one per size class (the powers of
 * two env_alloc_align gives, 8 .. 4096), as a kernel slab's per-CPU arrays.
 * glibc's aligned_alloc bypasses glibc's own per-thread cache, and a tree
 * reservation allocates and gives back dozens of 256-byte nodes per mmap
 * or munmap: through memalign/free that was ~90 % of a host mmap+munmap
 * (~40 us a pair, when mmap reserved 6 worst-case stores). Objects are poisoned before they enter a magazine, as
 * before free(). Under AddressSanitizer there are none, so that a use after
 * free is still reported. A thread's magazines are drained when it exits.
 */
#if defined(__SANITIZE_ADDRESS__)
#define ENV_MAGAZINES 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ENV_MAGAZINES 0
#endif
#endif
#ifndef ENV_MAGAZINES
#define ENV_MAGAZINES 1
#endif
#define MAG_CLASSES	10	/* 8 << 0 .. 8 << 9 = 4096 bytes */
#define MAG_DEPTH	256	/* objects per class: one mmap's reservation */

struct magazine {
	unsigned n;
	void *obj[MAG_DEPTH];
};

static __thread struct magazine *mags;	/* MAG_CLASSES of them, or NULL */
static __thread bool mags_gone;		/* drained: malloc alone from now */
static pthread_key_t mag_key;
static pthread_once_t mag_once = PTHREAD_ONCE_INIT;

/* mag_drain: thread exit: give every cached object back to malloc. Key
 * destructors run in turn, so a later one may still allocate or free:
 * mags_gone sends those calls straight to malloc (found in review). */
static void mag_drain(void *arg)
{
	struct magazine *m = arg;

	mags = NULL;
	mags_gone = true;
	for (unsigned c = 0; c < MAG_CLASSES; c++)
		while (m[c].n)
			free(m[c].obj[--m[c].n]);
	free(m);
}

static void mag_key_init(void)
{
	if (pthread_key_create(&mag_key, mag_drain))
		panic("env: pthread_key_create");
}

/* mag_of: this thread's magazine for objects of size (their class is
 * align = env_alloc_align(size), each object exactly align bytes), or NULL:
 * magazines off, an object larger than 4096, or no memory for them. */
static struct magazine *mag_of(size_t size, size_t align)
{
	unsigned c = 0;

	if (!ENV_MAGAZINES || size > align || mags_gone)
		return NULL;
	if (!mags) {
		pthread_once(&mag_once, mag_key_init);
		mags = calloc(MAG_CLASSES, sizeof(*mags));
		if (mags && pthread_setspecific(mag_key, mags)) {
			free(mags);	/* never drained: do without */
			mags = NULL;
		}
		if (!mags)
			return NULL;
	}
	while ((8ul << c) < align)
		c++;
	return &mags[c];
}

/* host_alloc: from this thread's magazine, else malloc; counted in
 * alloc_live (the leak checks) either way. */
static void *host_alloc(size_t size)
{
	size_t align = env_alloc_align(size);
	struct magazine *m = mag_of(size, align);
	void *p;

	if (m && m->n)
		p = m->obj[--m->n];
	else
		p = aligned_alloc(align, (size + align - 1) & ~(align - 1));
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
	struct magazine *m = mag_of(size, env_alloc_align(size));

	memset(p, POISON_FREE, size);
	ck_pr_dec_64(&alloc_live.n);
	if (m && m->n < MAG_DEPTH)
		m->obj[m->n++] = p;
	else
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
