/*
 * tests/host/slab_test.c - the kernel heap (kernel/slab.c) on fake physical
 * memory: kmalloc alignment (the env_alloc contract), no overlap and no
 * leaks, debug poisoning catching use-after-free writes, corrupt links and
 * double frees, custom caches, and concurrent host CPUs.
 */
#include "kernel/slab.h"
#include "kernel/frame.h"
#include "sync/host/hostcpu.h"
#include "tests/ktest.h"
#include "frame_arena.h"
#include <ck_pr.h>
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#define MiB (1ull << 20)

/* slab_setup: a fresh 32 MiB machine; returns the free count to come back to. */
static uint64_t slab_setup(void)
{
	kmem_reset();
	frame_reset();
	arena_create(32 * MiB, false);
	frame_pcpu_set_limits(64, 16);
	frame_add_region(ARENA_PA, 32 * MiB >> 12);
	return frame_free_count();
}

/* no_leak: after shrinking the caches, every frame is free again. */
static bool no_leak(uint64_t base)
{
	kmem_shrink_all();
	frame_pcpu_drain();
	return frame_free_count() == base && frame_check() == 0;
}

static size_t env_align(size_t size)
{
	size_t a = sizeof(void *);

	while (a < size && a < 4096)
		a <<= 1;
	return a;
}

KTEST(kmalloc_env_contract)
{
	uint64_t base = slab_setup();

	for (size_t size = 0; size <= 3 * 4096; size += size < 300 ? 1 : 97) {
		unsigned char *p = kmalloc(size);

		KT_REQUIRE(p, "kmalloc(%zu)", size);
		KT_CHECK((uintptr_t)p % env_align(size) == 0, "kmalloc(%zu) = %p misaligned", size, p);
		memset(p, 0xa5, size);
		kfree(p, size);
	}
	KT_CHECK(kmalloc(4ull << 20) == NULL, "larger than a buddy block fails");
	kfree(NULL, 64);
	KT_CHECK(no_leak(base), "no frames leaked");
}

#define NOBJ 3000

KTEST(kmalloc_no_overlap)
{
	static unsigned char *p[NOBJ];
	static size_t sz[NOBJ];
	unsigned seed = (unsigned)ktest_seed;
	uint64_t base = slab_setup();
	int bad = 0;

	for (int i = 0; i < NOBJ; i++) {
		sz[i] = 1 + rand_r(&seed) % (rand_r(&seed) % 4 ? 300 : 6000);
		p[i] = kmalloc(sz[i]);
		KT_REQUIRE(p[i], "kmalloc %d", i);
		memset(p[i], i & 0xff, sz[i]);
	}
	for (int i = NOBJ - 1; i > 0; i--) {	/* shuffle the free order */
		int j = rand_r(&seed) % (i + 1);
		unsigned char *tp = p[i];
		size_t ts = sz[i];

		p[i] = p[j], sz[i] = sz[j], p[j] = tp, sz[j] = ts;
	}
	for (int i = 0; i < NOBJ; i++) {
		unsigned char want = p[i][0];

		for (size_t k = 1; k < sz[i]; k++)
			bad += p[i][k] != want;
		kfree(p[i], sz[i]);
	}
	KT_CHECK(bad == 0, "%d bytes overwritten by other objects", bad);
	KT_CHECK(no_leak(base), "no frames leaked");
}

/* The corruption hook records instead of panicking. */
static struct { int n; void *obj; size_t off; const char *what; } hit;

static void record_hit(struct kmem_cache *c, void *obj, size_t off, const char *what)
{
	hit.n++;
	hit.obj = obj;
	hit.off = off;
	hit.what = what;
}

KTEST(slab_poison_use_after_free)
{
	struct kmem_cache *c = kmalloc_cache(64);
	unsigned char *p, *q;

	slab_setup();
	memset(&hit, 0, sizeof(hit));
	kmem_corrupt_hook = record_hit;
	p = kmalloc(64);
	for (int i = 0; i < 64; i++)
		KT_CHECK(p[i] == KMEM_POISON_FREE, "fresh object byte %d not poison", i);
	kfree(p, 64);
	KT_CHECK(p[8] == KMEM_POISON_FREE && p[63] == KMEM_POISON_FREE, "freed object poisoned");
	p[10] = 0;	/* the use-after-free write */
	q = kmalloc(64);
	KT_CHECK(hit.n == 1 && hit.obj == p && hit.off == 10, "detected: %d hits, obj %p off %zu",
		 hit.n, hit.obj, hit.off);
	KT_CHECK(q && q != p, "the corrupt object is quarantined, not handed out");
	KT_CHECK(c->ncorrupt == 1, "ncorrupt %llu", (unsigned long long)c->ncorrupt);
	kfree(q, 64);
	kmem_corrupt_hook = NULL;
}

KTEST(slab_poison_corrupt_link)
{
	unsigned char *p, *q;

	slab_setup();
	memset(&hit, 0, sizeof(hit));
	kmem_corrupt_hook = record_hit;
	p = kmalloc(128);
	q = kmalloc(128);
	kfree(p, 128);
	*(void **)p = (void *)0x1234;	/* stale write over the free-list link */
	KT_CHECK(kmalloc(128) != p, "the corrupt object is not handed out");
	KT_CHECK(hit.n == 1 && hit.obj == p && hit.off == 0, "link corruption detected (%d hits)", hit.n);
	kfree(q, 128);
	kmem_corrupt_hook = NULL;
}

KTEST(slab_double_free)
{
	uint64_t base = slab_setup();
	void *p, *a, *b;

	memset(&hit, 0, sizeof(hit));
	kmem_corrupt_hook = record_hit;
	p = kmalloc(32);
	kfree(p, 32);
	kfree(p, 32);
	KT_CHECK(hit.n == 1 && hit.obj == p && !strcmp(hit.what, "double free"), "double free detected");
	a = kmalloc(32);
	b = kmalloc(32);
	KT_CHECK(a != b, "the free list stayed sane");
	kfree(a, 32);
	kfree(b, 32);
	KT_CHECK(hit.n == 1, "no further reports");
	KT_CHECK(no_leak(base), "no frames leaked");
	kmem_corrupt_hook = NULL;
}

static void uaf_without_hook(void)
{
	unsigned char *p = kmalloc(256);

	kfree(p, 256);
	p[100] = 1;
	kmalloc(256);
}

KTEST(slab_poison_panics_without_hook)
{
	slab_setup();
	kmem_corrupt_hook = NULL;
	KT_CHECK(ktest_dies_by_panic(uaf_without_hook), "panic on a use-after-free write");
}

KTEST(kmalloc_out_of_memory)
{
	static void *p[16384];
	void **q = calloc(1 << 18, sizeof(void *));
	uint64_t base = slab_setup();
	int n = 0, m = 0;

	while (n < 16384 && (p[n] = kmalloc(2048)) != NULL)
		n++;
	while (m < (1 << 18) && (q[m] = kmalloc(16)) != NULL)	/* the fragments */
		m++;
	KT_CHECK(n > 0 && n < 16384 && m < (1 << 18) && frame_free_count() == 0,
		 "RAM exhausted after %d + %d objects (%llu frames free)", n, m,
		 (unsigned long long)frame_free_count());
	KT_CHECK(!kmalloc(16) && !kmalloc(2048) && !kmalloc(8192), "every size fails when RAM is gone");
	kfree(p[--n], 2048);
	KT_CHECK((p[n] = kmalloc(2048)) != NULL, "a freed object is reusable at once");
	n++;
	while (n)
		kfree(p[--n], 2048);
	while (m)
		kfree(q[--m], 16);
	for (; m < 1000 && (q[m] = kmalloc(48)) != NULL; m++)
		;
	KT_CHECK(m == 1000, "the heap recovers after exhaustion");
	while (m)
		kfree(q[--m], 48);
	KT_CHECK(no_leak(base), "no frames leaked");
	free(q);
}

static void free_wrong_size(void)
{
	kfree(kmalloc(100), 200);
}

static void free_foreign_pointer(void)
{
	char *p = kmalloc(64);

	kfree(p + 8, 64);
}

KTEST(kfree_misuse_panics)
{
	slab_setup();
	KT_CHECK(ktest_dies_by_panic(free_wrong_size), "kfree with another size class panics");
	KT_CHECK(ktest_dies_by_panic(free_foreign_pointer), "kfree inside an object panics");
}

KTEST(slab_custom_cache)
{
	static void *o[2000];
	struct kmem_cache c, nopoison;
	uint64_t base = slab_setup();
	int bad = 0;
	unsigned char *p;

	kmem_cache_init(&c, "test-24", 24, 8, KMEM_POISON);
	KT_CHECK(c.size == 24 && c.per_slab >= 7, "geometry size %u per_slab %u", c.size, c.per_slab);
	for (int i = 0; i < 2000; i++) {
		o[i] = kmem_cache_alloc(&c);
		KT_REQUIRE(o[i] && (uintptr_t)o[i] % 8 == 0, "object %d", i);
		memset(o[i], i & 0xff, 24);
	}
	for (int i = 0; i < 2000; i++) {
		bad += ((unsigned char *)o[i])[23] != (i & 0xff);
		kmem_cache_free(&c, o[i]);
	}
	KT_CHECK(bad == 0 && c.ninuse == 0, "objects distinct, all freed");
	kmem_cache_destroy(&c);
	KT_CHECK(c.nslabs == 0, "destroy released every slab");
	/* Without KMEM_POISON nothing is checked: the same write goes unseen. */
	kmem_cache_init(&nopoison, "test-nopoison", 64, 64, 0);
	memset(&hit, 0, sizeof(hit));
	kmem_corrupt_hook = record_hit;
	p = kmem_cache_alloc(&nopoison);
	kmem_cache_free(&nopoison, p);
	p[10] = 0;
	kmem_cache_free(&nopoison, kmem_cache_alloc(&nopoison));
	KT_CHECK(hit.n == 0, "no checks without KMEM_POISON");
	kmem_cache_destroy(&nopoison);
	kmem_corrupt_hook = NULL;
	KT_CHECK(no_leak(base), "no frames leaked");
}

#define SLAB_THREADS 4
static int slab_errors;

static void *slab_worker(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg, seed = id * 31 + 7, n = 0;
	unsigned char *held[64];
	size_t sz[64];

	if (hostcpu_register() < 0)
		return (void *)1;
	for (int op = 0; op < 40000; op++) {
		if (n < 64 && (n == 0 || rand_r(&seed) % 2)) {
			size_t s = 1 + rand_r(&seed) % (rand_r(&seed) % 8 ? 256 : 4096);
			unsigned char *p = kmalloc(s);

			if (!p)
				continue;
			memset(p, (int)id, s);
			held[n] = p;
			sz[n++] = s;
		} else {
			unsigned i = (unsigned)rand_r(&seed) % n;

			for (size_t k = 0; k < sz[i]; k++)
				if (held[i][k] != id) {
					ck_pr_inc_int(&slab_errors);
					break;
				}
			kfree(held[i], sz[i]);
			held[i] = held[--n];
			sz[i] = sz[n];
		}
	}
	while (n--)
		kfree(held[n], sz[n]);
	frame_pcpu_drain();
	hostcpu_unregister();
	return NULL;
}

KTEST(slab_threads)
{
	pthread_t t[SLAB_THREADS];
	uint64_t base = slab_setup();

	slab_errors = 0;
	for (uintptr_t i = 0; i < SLAB_THREADS; i++)
		pthread_create(&t[i], NULL, slab_worker, (void *)i);
	for (int i = 0; i < SLAB_THREADS; i++) {
		void *rc;

		pthread_join(t[i], &rc);
		KT_CHECK(rc == NULL, "thread %d", i);
	}
	KT_CHECK(slab_errors == 0, "%d objects overwritten while held", slab_errors);
	KT_CHECK(no_leak(base), "no frames leaked");
}

int main(int argc, char **argv)
{
	if (hostcpu_register() < 0)
		return 2;
	return ktest_main(argc, argv);
}
