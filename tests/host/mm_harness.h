/*
 * tests/host/mm_harness.h - shared helpers for the mm tests on the host
 * machine: set-up, byte access, a canonical dump of an address space
 * (mappings, every mapped PTE, RSS) and the RSS / leak invariants.
 */
#ifndef KESTREL_TESTS_MM_HARNESS_H
#define KESTREL_TESTS_MM_HARNESS_H

#include "tests/ktest.h"
#include "arch/host/machine.h"
#include "mm/vma.h"
#include "mm/pgtable.h"
#include "mm/tlb.h"
#include "sync/host/hostcpu.h"
#include "sync/host/alloc_inject.h"
#include <stdarg.h>
#include <inttypes.h>

#define MMH_FRAMES (1u << 16)	/* 256 MiB of simulated memory */

static inline void mmh_init(unsigned ncpus)
{
	static bool done;

	if (done)
		return;
	done = true;
	hostcpu_set_count(ncpus);
	if (host_machine_init(MMH_FRAMES) || host_cpu_start() != 0) {
		fprintf(stderr, "mmh_init: cannot start the machine\n");
		exit(2);
	}
}

/* mmh_read: the byte at va, or a negative errno. */
static inline int mmh_read(struct mm *mm, uint64_t va)
{
	uint8_t b = 0;
	int err = host_access(mm, va, false, &b);

	return err ? err : b;
}

static inline int mmh_write(struct mm *mm, uint64_t va, uint8_t b)
{
	return host_access(mm, va, true, &b);
}

struct mmh_buf {
	char *s;
	size_t len, cap;
};

static inline void mmh_printf(struct mmh_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
		va_end(ap);
		if (b->s && b->len + (size_t)n < b->cap)
			break;
		b->cap = (b->cap + (size_t)n + 1) * 2;
		b->s = realloc(b->s, b->cap);
	}
	b->len += (size_t)n;
}

struct mmh_counts {
	uint64_t mapped, zero, rss[MM_NR_RSS];
};

/* mmh_walk: append every mapped leaf PTE below table pa to b (if b) and
 * count them by frame kind. */
static inline void mmh_walk(struct mmh_buf *b, paddr_t pa, int level, uint64_t base,
			    struct mmh_counts *c)
{
	pte_t *t = pmap_pa_kva(pa);

	for (unsigned i = 0; i < PT_ENTRIES; i++) {
		pte_t p = t[i];
		uint64_t va = base + i * pt_span(level);

		if (level == PT_LEVELS - 1 && i >= PT_ENTRIES / 2)
			break;
		if (level > 0) {
			if (pte_present(p))
				mmh_walk(b, pte_pa(p), level - 1, va, c);
			continue;
		}
		if (!pte_mapped(p))
			continue;
		struct page *pg = pmap_pa_page(pte_pa(p));

		c->mapped++;
		if (pg->flags & PG_ZERO)
			c->zero++;
		else
			c->rss[rss_type_of(pg)]++;
		if (b)
			mmh_printf(b, "pte %" PRIx64 " %" PRIx64 "\n", va, (uint64_t)p);
	}
}

/* mmh_dump: mappings, PTEs and RSS as text (free() the result). */
static inline char *mmh_dump(struct mm *mm)
{
	struct mmh_buf b = { 0 };
	struct mmh_counts c = { 0 };
	struct mt_range r;
	struct vma *v;

	rcu_read_lock();
	mt_for_each(&mm->mt, v, 0, UINT64_MAX, r)
		mmh_printf(&b, "vma %" PRIx64 "-%" PRIx64 " p%u f%u o%p g%" PRIx64 "\n",
			   v->start, v->end, v->prot, v->flags, (void *)v->obj, v->pgoff);
	rcu_read_unlock();
	mmh_walk(&b, mm->pmap.root, PT_LEVELS - 1, 0, &c);
	mmh_printf(&b, "rss %" PRId64 " %" PRId64 " %" PRId64 " vm %" PRIu64 " n %lu\n",
		   mm_rss(mm, MM_ANON), mm_rss(mm, MM_FILE), mm_rss(mm, MM_SHMEM),
		   mm->total_vm, mm->nr_vmas);
	return b.s;
}

/* mmh_rss_ok: exact RSS per type equals the mapped PTEs of that type
 * (the zero page is not counted, as in Linux). */
static inline bool mmh_rss_ok(struct mm *mm)
{
	struct mmh_counts c = { 0 };

	mmh_walk(NULL, mm->pmap.root, PT_LEVELS - 1, 0, &c);
	for (int t = 0; t < MM_NR_RSS; t++)
		if ((int64_t)c.rss[t] != mm_rss(mm, (enum mm_rss)t)) {
			printf("# rss[%d] = %" PRId64 " but %" PRIu64 " PTEs\n", t,
			       mm_rss(mm, (enum mm_rss)t), c.rss[t]);
			return false;
		}
	return true;
}

/* mmh_ptes_in: every mapped PTE in [lo, hi) lies in a mapping whose
 * protection allows what the PTE allows; returns the offenders. */
static inline unsigned long mmh_ptes_in(struct mm *mm, uint64_t lo, uint64_t hi, bool verbose)
{
	unsigned long bad = 0;

	for (uint64_t va = lo; va < hi; va += PAGE_SIZE) {
		struct page *ptp;
		pte_t *e = pt_walk(&mm->pmap, va, &ptp), p;
		struct vma *v;

		if (!e) {
			va = (va | (pt_span(1) - 1));	/* skip the absent table */
			continue;
		}
		p = pte_load(e);
		if (!pte_mapped(p))
			continue;
		rcu_read_lock();
		v = mt_find(&mm->mt, va, NULL);
		if (!v || ((p & PTE_W) && !(v->prot & PROT_WRITE)) ||
		    (pte_present(p) && v->prot == PROT_NONE)) {
			if (verbose)
				printf("# pte %llx=%llx outside its mapping's rights (vma %p prot %u)\n",
				       (unsigned long long)va, (unsigned long long)p, (void *)v,
				       v ? v->prot : 0);
			bad++;
		}
		rcu_read_unlock();
	}
	return bad;
}

static inline unsigned long mmh_nr_vmas(struct mm *mm)
{
	struct mt_range r;
	struct vma *v;
	unsigned long n = 0;

	rcu_read_lock();
	mt_for_each(&mm->mt, v, 0, UINT64_MAX, r)
		n++;
	rcu_read_unlock();
	return n;
}

/* mmh_quiesce: let every deferred free run (frames, tables, vmas). */
static inline void mmh_quiesce(void)
{
	rcu_barrier();
}

/* mmh_mark: what the machine had allocated at the start of a test. */
struct mmh_mark {
	uint64_t frames;	/* host frames in use */
	uint64_t live;		/* env_alloc allocations */
};

static inline struct mmh_mark mmh_mark_now(void)
{
	return (struct mmh_mark){ host_frames_used(), alloc_inject_live() };
}

/* mmh_check_leaks: after every deferred free ran, frames and allocations
 * are back to mark m. */
static inline void mmh_check_leaks(struct mmh_mark m)
{
	mmh_quiesce();
	KT_CHECK(host_frames_used() == m.frames, "frames back (%" PRIu64 " != %" PRIu64 ")",
		 host_frames_used(), m.frames);
	KT_CHECK(alloc_inject_live() == m.live, "allocations back (%" PRIu64 " != %" PRIu64 ")",
		 alloc_inject_live(), m.live);
}

#endif
