/*
 * tests/host/review_fault_free.c - a lock-free COW copier stopped just
 * before it takes the PTE table lock, while its source frame is unmapped,
 * freed and reallocated (review, 2026-11-22, of freeing data frames right
 * after the shootdown, without a grace period).
 *
 * The copier is stopped at its DEBUG_YIELD hook once it has allocated its
 * new frame (-Wl,--wrap=debug_yield_slow, review.cmake); while stopped it
 * still acknowledges shootdowns, as a CPU in a fault handler takes IPIs.
 *   source_freed_and_reused: the parent's and the child's mappings of the
 *     source are unmapped (the frame is freed at once) and a new mapping at
 *     the same address takes the same frame (LIFO cache). The copier must
 *     back out (the vma's seq) and its write must land in the new mapping,
 *     which holds none of the old page's bytes.
 *   source_unmapped_by_child: only the child unmaps the shared source; the
 *     parent's PTE still holds it, so the copy made under the lock is the
 *     old page's contents.
 * Both pass on the current code; they pin down the claim in mm/fault.c.
 */
#include "tests/host/mm_harness.h"
#include <pthread.h>

#define PG PAGE_SIZE
#define VA 0x200000000ull
#define RW (PROT_READ | PROT_WRITE)
#define PA (MAP_PRIVATE | MAP_ANONYMOUS)

void __real_debug_yield_slow(void);
void __wrap_debug_yield_slow(void);

static __thread bool is_copier;
static __thread uint64_t frames_before;
static int paused, resume;	/* (A) handshake */
static int hooked;		/* (A) the copier stopped inside its fault */
static struct mm *parent, *child;
static int copier_err;

/* __wrap_debug_yield_slow: stop the copier at the first hook after its
 * fault allocated a frame (fault_install, before pt_lock). */
void __wrap_debug_yield_slow(void)
{
	if (!is_copier || ck_pr_load_int(&paused) ||
	    host_frames_used() <= frames_before)
		return;
	ck_pr_store_int(&hooked, 1);
	ck_pr_store_int(&paused, 1);
	while (!ck_pr_load_int(&resume))
		pmap_cpu_relax();	/* take shootdowns meanwhile */
}

static void *copier(void *arg)
{
	(void)arg;
	host_cpu_start();
	is_copier = true;
	frames_before = host_frames_used();
	copier_err = mmh_write(parent, VA, 0x99);
	is_copier = false;
	if (!ck_pr_load_int(&paused))
		ck_pr_store_int(&paused, 1);
	host_cpu_stop();
	return NULL;
}

/* setup: one private page of 0x11 in the parent, shared with a child. */
static void setup(void)
{
	uint64_t a;

	parent = mm_create();
	mm_mmap(parent, VA, PG, RW, PA | MAP_FIXED, &a);
	for (uint64_t o = 0; o < 16; o++)
		mmh_write(parent, VA + o, 0x11);
	mm_fork(parent, &child);
	ck_pr_store_int(&paused, 0);
	ck_pr_store_int(&resume, 0);
	ck_pr_store_int(&hooked, 0);
	debug_yield_enable(1);
}

static void finish(pthread_t t)
{
	ck_pr_store_int(&resume, 1);
	pthread_join(t, NULL);
	debug_yield_enable(0);
}

KTEST(source_freed_and_reused)
{
	struct host_stats s0, s1;
	struct fault_stats f0, f1;
	struct mmh_mark m;
	pthread_t t;
	uint64_t a;

	mmh_init(3);
	m = mmh_mark_now();
	setup();
	host_stats_read(&s0);
	fault_stats_read(&f0);
	pthread_create(&t, NULL, copier, NULL);
	while (!ck_pr_load_int(&paused))
		host_cpu_poll();
	KT_CHECK(mm_munmap(child, VA, PG) == 0 && mm_munmap(parent, VA, PG) == 0, "unmap");
	KT_CHECK(mm_mmap(parent, VA, PG, RW, PA | MAP_FIXED, &a) == 0, "remap");
	KT_CHECK(mmh_write(parent, VA + 1, 0x77) == 0, "new page");
	host_cpu_switch(NULL);
	finish(t);
	host_stats_read(&s1);
	fault_stats_read(&f1);
	KT_CHECK(hooked, "the copier never stopped in its fault");
	KT_CHECK(f1.retries > f0.retries, "the copier did not back out");
	KT_CHECK(copier_err == 0, "copier's write failed (%d)", copier_err);
	KT_CHECK(mmh_read(parent, VA) == 0x99, "copier's write landed in the new page");
	KT_CHECK(mmh_read(parent, VA + 1) == 0x77 && mmh_read(parent, VA + 2) == 0,
		 "new page holds no old byte (%#x %#x)", mmh_read(parent, VA + 1),
		 mmh_read(parent, VA + 2));
	KT_CHECK(s1.freed_cached == s0.freed_cached, "freed while cached");
	host_cpu_switch(NULL);
	mm_destroy(child);
	mm_destroy(parent);
	mmh_check_leaks(m);
}

KTEST(source_unmapped_by_child)
{
	struct host_stats s0, s1;
	struct mmh_mark m;
	pthread_t t;

	m = mmh_mark_now();
	setup();
	host_stats_read(&s0);
	pthread_create(&t, NULL, copier, NULL);
	while (!ck_pr_load_int(&paused))
		host_cpu_poll();
	KT_CHECK(mm_munmap(child, VA, PG) == 0, "child unmaps the source");
	host_cpu_switch(NULL);
	finish(t);
	host_stats_read(&s1);
	KT_CHECK(hooked, "the copier never stopped in its fault");
	KT_CHECK(copier_err == 0, "copier's write failed (%d)", copier_err);
	KT_CHECK(mmh_read(parent, VA) == 0x99 && mmh_read(parent, VA + 1) == 0x11 &&
		 mmh_read(parent, VA + 15) == 0x11, "copy holds the source's bytes");
	KT_CHECK(s1.freed_cached == s0.freed_cached, "freed while cached");
	host_cpu_switch(NULL);
	mm_destroy(child);
	mm_destroy(parent);
	mmh_check_leaks(m);
}

int main(int argc, char **argv)
{
	return ktest_main(argc, argv);
}
