/*
 * arch/x86_64/pmap_test.c - the mm core on real page faults and real IPIs.
 *
 * pmap_smp_fault: one thread per CPU adopts one mm and writes, then reads
 * back, its own pages and its neighbour's through copy_to/from_user, i.e.
 * through hardware #PF -> fault_handle (no page is touched in advance). While
 * every worker keeps the mm loaded and its translations hot, CPU 0 unmaps
 * the whole range: exactly one shootdown request per other CPU in the mm's
 * set, at least as many IPIs sent, and afterwards every worker gets -EFAULT
 * (a missed shootdown would let it read the old data through a stale TLB
 * entry). Then the mm is destroyed and every frame and table page returns.
 */
#include "kernel/ktest.h"
#include "kernel/ktest/ktest_util.h"
#include "kernel/proc.h"
#include "kernel/smp_call.h"
#include "kernel/mem.h"
#include "mm/tlb.h"

#define PT_PAGES_PER_CPU 8

static struct {
	struct mm *mm;
	uint64_t base;
	int touched;		/* (A) workers done writing and checking */
	int unmapped;		/* (A) CPU 0 finished munmap */
	int left;		/* (A) workers that dropped the mm */
	uint64_t requests, ipis, others;
	int checked;		/* (A) workers done reading the neighbour */
	int bad_reads;		/* (A) reads during munmap that saw wrong data */
} pt;

static uint64_t pt_addr(unsigned cpu, unsigned i)
{
	return pt.base + ((uint64_t)cpu * PT_PAGES_PER_CPU + i) * PAGE_SIZE;
}

/* pt_touch: write a pattern in this CPU's pages, then check them and the
 * next CPU's (once that one has written). */
static void pt_touch(unsigned me)
{
	for (unsigned i = 0; i < PT_PAGES_PER_CPU; i++) {
		uint64_t v = ((uint64_t)me << 32) | i;

		KT_CHECK(copy_to_user(pt_addr(me, i) + 8 * i, &v, sizeof(v)) == 0,
			 "write fault cpu %u page %u", me, i);
	}
	for (unsigned i = 0; i < PT_PAGES_PER_CPU; i++) {
		uint64_t v = 0, z = 1;

		KT_CHECK(copy_from_user(&v, pt_addr(me, i) + 8 * i, sizeof(v)) == 0 &&
			 v == (((uint64_t)me << 32) | i), "read back cpu %u page %u: %llx", me, i,
			 (unsigned long long)v);
		KT_CHECK(copy_from_user(&z, pt_addr(me, i) + PAGE_SIZE - 8, 8) == 0 && z == 0,
			 "fresh page not zero");
	}
}

static void pt_worker(void *arg)
{
	unsigned me = cpu_self(), next = (me + 1) % ncpus;
	struct uthread ut = { .mm = pt.mm };
	uint64_t v;

	user_adopt(&ut);
	pt_touch(me);
	ck_pr_inc_int(&pt.touched);
	while (ck_pr_load_int(&pt.touched) < (int)ncpus)
		cpu_relax();
	KT_CHECK(copy_from_user(&v, pt_addr(next, 1) + 8, 8) == 0 && v == (((uint64_t)next << 32) | 1),
		 "cpu %u reads cpu %u's page: %llx", me, next, (unsigned long long)v);
	ck_pr_inc_int(&pt.checked);
	if (me == 0) {
		struct tlb_stats a, b;
		uint64_t ipi0 = cpu_ipi_sent(0);

		while (ck_pr_load_int(&pt.checked) < (int)ncpus)
			cpu_relax();
		tlb_stats_read(&a);
		KT_CHECK(mm_munmap(pt.mm, pt.base, (uint64_t)ncpus * PT_PAGES_PER_CPU * PAGE_SIZE) == 0,
			 "munmap");
		tlb_stats_read(&b);
		pt.requests = b.requests - a.requests;
		pt.ipis = cpu_ipi_sent(0) - ipi0;
		ck_pr_store_int(&pt.unmapped, 1);
	} else {
		/* keep translations hot (the TLB) until the unmap is done; a read
		 * racing with munmap sees the data or faults, never anything else */
		while (!ck_pr_load_int(&pt.unmapped)) {
			v = (uint64_t)me << 32;
			if (copy_from_user(&v, pt_addr(me, 0), 8) == 0 && v != (uint64_t)me << 32) {
				ck_pr_inc_int(&pt.bad_reads);
				break;
			}
		}
	}
	KT_CHECK(copy_from_user(&v, pt_addr(me, 0), 8) == -EFAULT, "cpu %u: read after munmap", me);
	KT_CHECK(copy_to_user(pt_addr(next, 2), &v, 8) == -EFAULT, "cpu %u: write after munmap", me);
	user_adopt(NULL);
	ck_pr_inc_int(&pt.left);
}

KTEST(pmap_smp_fault)
{
	void *args[NCPU_MAX] = { 0 };
	uint64_t live0, heap0;

	(void)pmap_zero_page();		/* allocated once, kept */
	rcu_barrier();
	live0 = pmap_frames_live();
	heap0 = heap_live_objects();
	memset(&pt, 0, sizeof(pt));
	pt.mm = mm_create();
	KT_REQUIRE(pt.mm, "mm_create");
	KT_REQUIRE(mm_mmap(pt.mm, 0, (uint64_t)ncpus * PT_PAGES_PER_CPU * PAGE_SIZE,
			   PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, &pt.base) == 0, "mmap");
	ktest_on_each_cpu(pt_worker, args);
	KT_CHECK(pt.left == (int)ncpus, "%d workers left", pt.left);
	KT_CHECK(pt.bad_reads == 0, "%d reads racing munmap saw wrong data", pt.bad_reads);
	printk("# pmap_smp_fault: %u CPUs, munmap sent %llu requests, %llu IPIs from cpu 0\n",
	       ncpus, (unsigned long long)pt.requests, (unsigned long long)pt.ipis);
	KT_CHECK(pt.requests <= ncpus - 1, "%llu requests for %u CPUs",
		 (unsigned long long)pt.requests, ncpus);
	KT_CHECK(ncpus == 1 || pt.requests >= 1, "no shootdown request with %u CPUs", ncpus);
	KT_CHECK(pt.ipis >= pt.requests, "%llu IPIs for %llu requests",
		 (unsigned long long)pt.ipis, (unsigned long long)pt.requests);
	mm_destroy(pt.mm);
	rcu_barrier();
	KT_CHECK(pmap_frames_live() == live0, "frames live %llu, before %llu",
		 (unsigned long long)pmap_frames_live(), (unsigned long long)live0);
	KT_CHECK(heap_live_objects() == heap0, "heap objects %llu, before %llu",
		 (unsigned long long)heap_live_objects(), (unsigned long long)heap0);
}
