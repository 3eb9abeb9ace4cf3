/*
 * tests/host/mm_race.c - regression tests for races between the lock-free
 * fault path and fork/mremap (found in review, 2026-11-22).
 *
 * fork_prealloc_race: a fast fault into a fresh 2 MiB region of the parent
 *   lands between fork's table preallocation scan and pt_copy; the copy then
 *   finds its destination table missing (KASSERT / NULL dereference).
 * fork_lost_write: a COW break in the parent during fork's window (PTE
 *   write-protected, flush not yet done) copies a page that another CPU
 *   still writes through a stale writable TLB entry: that write is lost.
 * mremap_prealloc_race: the same as the first, for mremap's move.
 * dontneed_nested_flush (helper-18's review of bb08855, 2026-12-03): with
 *   MADV_DONTNEED under the read lock, DONTNEED B of a page that DONTNEED A
 *   already cleared but not yet flushed gathered nothing and returned; B's
 *   caller then wrote a fresh page while CPU C still read the old frame
 *   through its TLB. Fix: mm->zapping, B flushes its range when another
 *   DONTNEED is between its zap and its flush (Linux's mm_tlb_flush_nested).
 *
 * dontneed_vma_lock (2026-12-03): a DONTNEED inside one vma no longer
 *   waits for mm->lock (the vma's read lock), and a writer of the vma
 *   waits for it.
 * dontneed_waits_for_section (helper-19's review of that change): the read
 *   lock of a vma a write section created or changed waits for the
 *   section's end (and its TLB flush).
 *
 * Fix: fork keeps every parent vma write-locked (seq odd) from before the
 * scan until after the flush, and scans under the table locks; mremap
 * preallocates destination tables for the whole moved range.
 * Iterations: RACE_ITERS scales every loop (default 1).
 */
#include "tests/host/mm_harness.h"
#include <pthread.h>

static int race_iters(void)
{
	const char *s = getenv("RACE_ITERS");

	return s ? atoi(s) : 1;
}

#define PG PAGE_SIZE
#define RW (PROT_READ | PROT_WRITE)
#define PA (MAP_PRIVATE | MAP_ANONYMOUS)

static struct mm *pm;
static bool stop;
static uint64_t bad, faults_done;

#define VBASE 0x100000000ull
#define VREGIONS 4096ull
static void *faulter(void *arg)
{
	(void)arg;
	host_cpu_start();
	for (uint64_t i = 0; i < VREGIONS && !ck_pr_load_8((uint8_t *)&stop);) {
		if (down_read_trylock(&pm->lock)) {	/* fault only while a fork runs */
			up_read(&pm->lock);
			host_cpu_poll();
			continue;
		}
		static uint64_t seed = 88172645463325252ull;
		seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
		for (uint64_t d = seed % 20000; d; d--)
			cpu_relax();
		mmh_write(pm, VBASE + i * (2ull << 20), 1);
		ck_pr_inc_64(&faults_done);
		i++;
		while (!down_read_trylock(&pm->lock))	/* one fault per fork */
			host_cpu_poll();
		up_read(&pm->lock);
	}
	host_cpu_stop();
	return NULL;
}

KTEST(fork_prealloc_race)
{
	pthread_t t;
	uint64_t a;

	mmh_init(4);
	pm = mm_create();
	KT_REQUIRE(mm_mmap(pm, VBASE, VREGIONS << 21, RW, PA | MAP_FIXED, &a) == 0, "mmap V");
	for (int i = 0; i < 40; i++) {	/* other vmas, above V, 64 pages each */
		uint64_t va = 0x300000000000ull + (uint64_t)i * 128 * PG;
		KT_REQUIRE(mm_mmap(pm, va, 64 * PG, (i & 1) ? RW : (RW | PROT_EXEC), PA | MAP_FIXED, &a) == 0, "mmap");
		for (int j = 0; j < 64; j++)
			mmh_write(pm, va + j * PG, 7);
	}
	host_cpu_switch(NULL);
	pthread_create(&t, NULL, faulter, NULL);
	int it;
	for (it = 0; it < 600 * race_iters() && ck_pr_load_64(&faults_done) < VREGIONS; it++) {
		struct mm *c;
		uint64_t f0 = ck_pr_load_64(&faults_done);
		KT_REQUIRE(mm_fork(pm, &c) == 0, "fork");
		uint64_t f1 = ck_pr_load_64(&faults_done);
		(void)f0;
		(void)f1;
		mm_destroy(c);
	}
	printf("# forks %d\n", it);
	ck_pr_store_8((uint8_t *)&stop, 1);
	host_cpu_idle_begin();
	pthread_join(t, NULL);
	host_cpu_idle_end();
	mm_destroy(pm);
	printf("# faults during forks %llu\n", (unsigned long long)faults_done);
}

#define XVA 0x7f0000000000ull
static uint64_t a_iters;
static void *writer_a(void *arg)
{
	uint8_t c = 0;
	(void)arg;
	host_cpu_start();
	while (!ck_pr_load_8((uint8_t *)&stop)) {
		c++;
		mmh_write(pm, XVA, c);
		int r = mmh_read(pm, XVA);
		if (r != c) {
			ck_pr_inc_64(&bad);
			printf("# A wrote %u, read back %d\n", c, r);
			c = (uint8_t)r;
		}
		ck_pr_inc_64(&a_iters);
	}
	host_cpu_stop();
	return NULL;
}
static void *writer_b(void *arg)
{
	(void)arg;
	host_cpu_start();
	while (!ck_pr_load_8((uint8_t *)&stop)) {
		mmh_read(pm, XVA + 64 * PG);	/* evict X from B's direct-mapped TLB */
		mmh_write(pm, XVA + 1, 5);
	}
	host_cpu_stop();
	return NULL;
}

KTEST(fork_lost_write)
{
	pthread_t ta, tb;
	uint64_t a;

	mmh_init(4);
	pm = mm_create();
	stop = false;
	KT_REQUIRE(mm_mmap(pm, XVA, 128 * PG, RW, PA | MAP_FIXED, &a) == 0, "mmap X");
	for (int i = 0; i < 60; i++) {	/* copied after X's vma (reverse order) */
		uint64_t va = 0x200000000ull + (uint64_t)i * 2 * PG;
		KT_REQUIRE(mm_mmap(pm, va, PG, (i & 1) ? RW : (RW | PROT_EXEC), PA | MAP_FIXED, &a) == 0, "mmap");
		mmh_write(pm, va, 7);
	}
	mmh_write(pm, XVA + 64 * PG, 1);
	host_cpu_switch(NULL);
	pthread_create(&ta, NULL, writer_a, NULL);
	pthread_create(&tb, NULL, writer_b, NULL);
	for (int it = 0; it < 2000 * race_iters() && !ck_pr_load_64(&bad); it++) {
		struct mm *c;
		KT_REQUIRE(mm_fork(pm, &c) == 0, "fork");
		mm_destroy(c);
	}
	ck_pr_store_8((uint8_t *)&stop, 1);
	host_cpu_idle_begin();
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	host_cpu_idle_end();
	mm_destroy(pm);
	KT_CHECK(bad == 0, "A lost %llu of its own writes (%llu iterations)",
		 (unsigned long long)bad, (unsigned long long)a_iters);
}


#define MA 0x100000000ull
#define MB 0x200000000ull
#define MLEN (64ull << 21)
static void *mfaulter(void *arg)
{
	uint64_t seed = 88172645463325252ull;
	(void)arg;
	host_cpu_start();
	while (!ck_pr_load_8((uint8_t *)&stop)) {
		if (down_read_trylock(&pm->lock)) {
			up_read(&pm->lock);
			host_cpu_poll();
			continue;
		}
		seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17;
		for (uint64_t d = seed % 3000; d; d--)
			cpu_relax();
		if (seed & 1) sched_yield();
		mmh_write(pm, MA + (seed % 64) * (2ull << 20), 1);	/* may fail: moved */
		while (!down_read_trylock(&pm->lock))
			host_cpu_poll();
		up_read(&pm->lock);
	}
	host_cpu_stop();
	return NULL;
}

KTEST(mremap_prealloc_race)
{
	pthread_t t;
	uint64_t a;

	mmh_init(4);
	pm = mm_create();
	stop = false;
	host_cpu_switch(NULL);
	pthread_create(&t, NULL, mfaulter, NULL);
	for (int it = 0; it < 100 * race_iters(); it++) {
		KT_REQUIRE(mm_mmap(pm, MA, MLEN, RW, PA | MAP_FIXED, &a) == 0, "mmap");
		mmh_write(pm, MA + MLEN - PG, 1);	/* one mapped page, last region */
		KT_REQUIRE(mm_mmap(pm, MB, PG, RW, PA | MAP_FIXED, &a) == 0, "mmap dst");
		host_cpu_switch(NULL);
		debug_yield_enable(1);
		KT_REQUIRE(mm_mremap(pm, MA, MLEN, MLEN, MREMAP_MAYMOVE | MREMAP_FIXED, MB, &a) == 0, "mremap");
		debug_yield_enable(0);
		KT_REQUIRE(mm_munmap(pm, MB, MLEN) == 0, "munmap");
		mm_munmap(pm, MA, MLEN);
	}
	ck_pr_store_8((uint8_t *)&stop, 1);
	host_cpu_idle_begin();
	pthread_join(t, NULL);
	host_cpu_idle_end();
	mm_destroy(pm);
}

/* dontneed_nested_flush: A is held (the test holds the PTE lock of the
 * table after X's) between clearing X and its flush; B drops X again,
 * writes it; then C, whose TLB cached X, must read B's value. */
#define DN_BASE 0x100000000ull			/* 2 MiB aligned */
#define DN_X (DN_BASE + (2ull << 20) - PG)	/* last page of the first table */
#define DN_Y (DN_BASE + (2ull << 20))		/* first page of the second */
static int dn_primed, dn_go, dn_c = -1, dn_a_done, dn_b_done, dn_b_ret = -1;	/* (A) */

static void *dn_cpu_c(void *arg)
{
	(void)arg;
	host_cpu_start();
	KT_CHECK(mmh_read(pm, DN_X) == 0x11, "C primes its TLB");
	ck_pr_store_int(&dn_primed, 1);
	while (!ck_pr_load_int(&dn_go))
		host_cpu_poll();	/* serves the shootdowns sent to it */
	ck_pr_store_int(&dn_c, mmh_read(pm, DN_X));
	host_cpu_stop();
	return NULL;
}

static void *dn_drop_a(void *arg)
{
	(void)arg;
	host_cpu_start();
	KT_CHECK(mm_madvise(pm, DN_X, 2 * PG, MADV_DONTNEED) == 0, "A");
	ck_pr_store_int(&dn_a_done, 1);
	host_cpu_stop();
	return NULL;
}

static void *dn_drop_b(void *arg)
{
	(void)arg;
	host_cpu_start();
	ck_pr_store_int(&dn_b_ret, mm_madvise(pm, DN_X, PG, MADV_DONTNEED));
	KT_CHECK(mmh_write(pm, DN_X, 0x22) == 0, "B writes X");
	ck_pr_store_int(&dn_b_done, 1);
	host_cpu_stop();
	return NULL;
}

static pte_t dn_pte(uint64_t va)
{
	struct page *ptp;
	pte_t *p = pt_walk(&pm->pmap, va, &ptp);

	return p ? pte_load(p) : 0;
}

KTEST(dontneed_nested_flush)
{
	pthread_t a, b, c;
	struct page *ptp2;
	bool held = true;
	uint64_t o;

	mmh_init(4);
	pm = mm_create();
	KT_REQUIRE(mm_mmap(pm, DN_BASE, 4ull << 20, RW, PA | MAP_FIXED, &o) == 0, "mmap");
	KT_REQUIRE(mmh_write(pm, DN_X, 0x11) == 0 && mmh_write(pm, DN_Y, 0x33) == 0, "fill");
	KT_REQUIRE(pt_walk(&pm->pmap, DN_Y, &ptp2), "table 2");
	pthread_create(&c, NULL, dn_cpu_c, NULL);
	while (!ck_pr_load_int(&dn_primed))
		host_cpu_poll();
	pt_lock(ptp2);		/* A stops here, X cleared and not flushed */
	pthread_create(&a, NULL, dn_drop_a, NULL);
	while (dn_pte(DN_X) != 0)
		host_cpu_poll();
	pthread_create(&b, NULL, dn_drop_b, NULL);
	for (int i = 0; i < 20000 && !ck_pr_load_int(&dn_b_done); i++) {
		host_cpu_poll();	/* B's flush may target this CPU */
		usleep(10);
	}
	if (!ck_pr_load_int(&dn_b_done)) {	/* B waits for A: no race to test */
		pt_unlock(ptp2);
		held = false;
		while (!ck_pr_load_int(&dn_b_done))
			host_cpu_poll();
	}
	printf("# B returned while A was %s\n", held ? "held before its flush" : "released");
	ck_pr_store_int(&dn_go, 1);
	while (ck_pr_load_int(&dn_c) < 0)
		host_cpu_poll();
	if (held)
		pt_unlock(ptp2);
	host_cpu_idle_begin();
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	pthread_join(c, NULL);
	host_cpu_idle_end();
	KT_CHECK(dn_b_ret == 0 && dn_a_done, "both DONTNEEDs succeeded");
	KT_CHECK(dn_c == 0x22, "C read X after B's DONTNEED and write: %#x, want 0x22 (a stale "
		 "TLB entry to the frame A dropped)", dn_c);
	mm_destroy(pm);
}

/* dontneed_vma_lock: a DONTNEED inside one vma holds only that vma's read
 * lock: it completes while another thread holds mm->lock for writing; and
 * a writer of that vma (mprotect) waits until the read lock is dropped. */
#define VL_BASE 0x200000000ull
static int vl_done, vl_ret = -1;	/* (A) */

static void *vl_dontneed(void *arg)
{
	(void)arg;
	host_cpu_start();
	ck_pr_store_int(&vl_ret, mm_madvise(pm, VL_BASE + PG, 2 * PG, MADV_DONTNEED));
	ck_pr_store_int(&vl_done, 1);
	host_cpu_stop();
	return NULL;
}

static void *vl_mprotect(void *arg)
{
	(void)arg;
	host_cpu_start();
	ck_pr_store_int(&vl_ret, mm_mprotect(pm, VL_BASE, PG, PROT_READ));
	ck_pr_store_int(&vl_done, 1);
	host_cpu_stop();
	return NULL;
}

/* poll_until: serve shootdowns until *flag is set or about ms ms passed;
 * whether it was set. */
static bool poll_until(int *flag, int ms)
{
	for (int i = 0; i < ms * 10 && !ck_pr_load_int(flag); i++) {
		host_cpu_poll();
		usleep(100);
	}
	return ck_pr_load_int(flag);
}

KTEST(dontneed_vma_lock)
{
	struct madvise_stats m0, m1;
	struct vma *v;
	pthread_t t;
	unsigned seq;
	uint64_t o;
	bool got;

	mmh_init(4);
	pm = mm_create();
	KT_REQUIRE(mm_mmap(pm, VL_BASE, 4 * PG, RW, PA | MAP_FIXED, &o) == 0, "mmap");
	KT_REQUIRE(mmh_write(pm, VL_BASE + PG, 0x44) == 0, "fill");
	madvise_stats_read(&m0);
	mm_lock_write(pm);	/* an mmap elsewhere in the mm, say */
	vl_done = 0;
	pthread_create(&t, NULL, vl_dontneed, NULL);
	KT_CHECK(poll_until(&vl_done, 5000),
		 "DONTNEED returned while mm->lock was held for writing");
	mm_unlock_write(pm);
	poll_until(&vl_done, 60000);	/* its flush may target this CPU */
	pthread_join(t, NULL);
	madvise_stats_read(&m1);
	KT_CHECK(vl_ret == 0 && mmh_read(pm, VL_BASE + PG) == 0, "the page was dropped");
	KT_CHECK(m1.vma_locked == m0.vma_locked + 1, "it took the vma read lock");

	rcu_read_lock();
	v = mt_find(&pm->mt, VL_BASE, NULL);
	got = v && seq_read_try_begin(&v->seq, &seq) && vma_read_trylock(v, seq);
	rcu_read_unlock();
	KT_REQUIRE(got, "read-lock the vma");
	vl_done = 0;
	madvise_stats_read(&m0);
	pthread_create(&t, NULL, vl_mprotect, NULL);
	KT_CHECK(!poll_until(&vl_done, 200), "mprotect of the vma waits for its read lock");
	vma_read_unlock(v);
	KT_CHECK(poll_until(&vl_done, 5000) && vl_ret == 0, "and completes once it is dropped");
	pthread_join(t, NULL);
	madvise_stats_read(&m1);
	KT_CHECK(m1.writer_waits == m0.writer_waits + 1 && m1.writer_yields == m0.writer_yields + 1,
		 "it waited once, long enough to yield (%llu, %llu)",
		 (unsigned long long)(m1.writer_waits - m0.writer_waits),
		 (unsigned long long)(m1.writer_yields - m0.writer_yields));
	KT_CHECK(mmh_write(pm, VL_BASE, 1) != 0, "the new protection holds");
	mm_destroy(pm);
}

/* dontneed_waits_for_section (helper-19's review of 1330f9e): mremap and
 * mmap(MAP_FIXED) put the new vma in the tree (seq even) before their TLB
 * flush of the old PTEs. A DONTNEED under only the new vma's read lock then
 * ran inside the writer's section: after mremap it freed the moved frames
 * while a CPU still reached them through its stale source translations;
 * after MAP_FIXED it returned while the old mapping still read back. Fix:
 * a vma created or changed by a write section cannot be read-locked before
 * mm_unlock_write (vma->lseq, mm->wseq; Linux's vm_lock_seq). The test
 * holds the read lock of P, just below the destination, so that the writer
 * parks in vma_absorb(P, new) -> vma_write_begin(P), inside the window,
 * and a third CPU runs the DONTNEED there. */
#define WS_OLD 0x300000000ull
#define WS_DST 0x340000000ull
enum ws_writer { WS_MREMAP, WS_DONTUNMAP, WS_MAP_FIXED };
static int ws_w_done, ws_w_ret, ws_d_done, ws_d_ret;	/* (A) */
static enum ws_writer ws_mode;	/* move S to the destination, or map over S there */

static void *ws_writer(void *arg)
{
	uint64_t o;
	int r;

	(void)arg;
	host_cpu_start();
	if (ws_mode == WS_MAP_FIXED)
		r = mm_mmap(pm, WS_DST, 4 * PG, RW, PA | MAP_FIXED, &o);
	else
		r = mm_mremap(pm, WS_OLD, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_FIXED |
			      (ws_mode == WS_DONTUNMAP ? MREMAP_DONTUNMAP : 0), WS_DST, &o);
	ck_pr_store_int(&ws_w_ret, r);
	ck_pr_store_int(&ws_w_done, 1);
	host_cpu_stop();
	return NULL;
}

static void *ws_dontneed(void *arg)
{
	(void)arg;
	host_cpu_start();
	ck_pr_store_int(&ws_d_ret, mm_madvise(pm, WS_DST, 4 * PG, MADV_DONTNEED));
	ck_pr_store_int(&ws_d_done, 1);
	host_cpu_stop();
	return NULL;
}

/* ws_bad_reads: pages of [va, va + 4 pages) this CPU reads as anything but
 * zero (a fresh or dropped page) or, if old is set, 0x5a (the moved data). */
static int ws_bad_reads(uint64_t va, bool old)
{
	int bad = 0, r;

	for (int i = 0; i < 4; i++) {
		r = mmh_read(pm, va + i * PG);
		bad += r != 0 && !(old && r == 0x5a);
	}
	return bad;
}

static void ws_case(enum ws_writer mode)
{
	bool mremap = mode != WS_MAP_FIXED;
	uint64_t src = mremap ? WS_OLD : WS_DST, o;
	struct host_stats h0, h1;
	pthread_t w, d;
	struct vma *p;
	unsigned seq;
	int bad = 0;
	bool got;

	ws_mode = mode;
	ws_w_done = ws_d_done = 0;
	mmh_init(4);
	pm = mm_create();
	/* S: RWX, so that it does not merge with P; the new vma (RW) does */
	KT_REQUIRE(mm_mmap(pm, src, 4 * PG, RW | PROT_EXEC, PA | MAP_FIXED, &o) == 0, "S");
	KT_REQUIRE(mm_mmap(pm, WS_DST - PG, PG, RW, PA | MAP_FIXED, &o) == 0, "P");
	if (mremap)
		KT_REQUIRE(mm_mprotect(pm, src, 4 * PG, RW) == 0, "S: RW");
	for (int i = 0; i < 4; i++)	/* this CPU's TLB now caches S */
		KT_REQUIRE(mmh_write(pm, src + i * PG, 0x5a) == 0, "fill");
	rcu_read_lock();
	p = mt_find(&pm->mt, WS_DST - PG, NULL);
	got = p && seq_read_try_begin(&p->seq, &seq) && vma_read_trylock(p, seq);
	rcu_read_unlock();
	KT_REQUIRE(got, "read-lock P");
	host_stats_read(&h0);
	pthread_create(&w, NULL, ws_writer, NULL);
	while (!(seq_raw(&p->seq) & 1))	/* the writer waits in vma_absorb(P, new) */
		host_cpu_poll();
	pthread_create(&d, NULL, ws_dontneed, NULL);
	poll_until(&ws_d_done, 300);
	KT_CHECK(!ck_pr_load_int(&ws_d_done), "the DONTNEED waits for the writer's section");
	if (ck_pr_load_int(&ws_d_done))
		bad += ws_bad_reads(WS_DST, false);	/* it returned: the range is dropped */
	bad += ws_bad_reads(src, true);	/* stale entries: the old, live frames */
	host_stats_read(&h1);
	vma_read_unlock(p);
	poll_until(&ws_w_done, 60000);
	poll_until(&ws_d_done, 60000);
	pthread_join(w, NULL);
	pthread_join(d, NULL);
	bad += ws_bad_reads(WS_DST, false);
	KT_CHECK(ws_w_ret == 0 && ws_d_ret == 0, "both calls succeeded (%d, %d)", ws_w_ret,
		 ws_d_ret);
	KT_CHECK(h1.freed_cached == h0.freed_cached, "no frame freed while a TLB held it");
	KT_CHECK(bad == 0, "%d reads of freed or stale data", bad);
	mm_destroy(pm);
}

KTEST(dontneed_waits_for_section)
{
	ws_case(WS_MREMAP);
	ws_case(WS_DONTUNMAP);
	ws_case(WS_MAP_FIXED);
}

int main(int argc, char **argv) { return ktest_main(argc, argv); }
