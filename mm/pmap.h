/*
 * mm/pmap.h - the machine-independent contract between mm/ and the machine.
 *
 * mm/ reaches the hardware only through this header (FreeBSD vm/pmap.h).
 * Every port (arch/x86_64, arch/host) supplies "pmap_backend.h" on its
 * include path and implements the functions declared below.
 *
 * What every port must provide
 * ----------------------------
 *  PTEs        the x86_64 4-level format, encoded/decoded by the inline
 *              helpers in this header (both ports are x86_64-shaped); the
 *              backend only maps a physical address to a kernel pointer:
 *                  void *pmap_pa_kva(paddr_t pa)
 *  Frames      struct page *pmap_page_alloc(unsigned flags)  NULL on failure
 *              void pmap_page_free(struct page *pg)          poison in debug
 *              paddr_t pmap_page_pa(struct page *pg)
 *              struct page *pmap_pa_page(paddr_t pa)
 *              struct page *pmap_zero_page(void)             the shared zero frame
 *              Per-frame metadata: the port defines struct page (one
 *              array for the whole machine, shared with its frame
 *              allocator) with at least these members, used by mm/:
 *                uint32_t refcount      (A) PTEs, objects, transient gets
 *                int32_t mapcount       (A) PTEs mapping this frame
 *                uint32_t flags         the PG_* kinds below live in bits
 *                                       8..15; bits 0..7 are the port's
 *                an integer level       (C) PG_PT: table level
 *                struct spinlock ptl    PG_PT: this table's entries
 *                struct page *next      (T) gather / free lists
 *                struct rcu_head rcu    deferred free of frames and tables
 *              All are valid (refcount 1, mapcount 0, next NULL) when
 *              pmap_page_alloc returns the frame.
 *  Page tables int  pmap_init(struct pmap *pm)   allocate the top level
 *              void pmap_fini(struct pmap *pm)   free the top level only
 *              paddr_t pmap_root(struct pmap *pm)
 *              Lower levels are allocated by mm/pgtable.c with
 *              pmap_page_alloc(PG_PT | PMAP_ZERO) and linked with CAS.
 *  CPUs        cpu_self() (sync/env.h); the set of CPUs that may cache an
 *              mm's translations: pm->cpumask (struct pmap, below), which the
 *              port's context switch maintains: a CPU sets its bit (then a
 *              full fence) before it walks an mm's tables, and clears it only
 *              after flushing every translation of that mm.
 *  Shootdowns  void pmap_tlb_flush_local(pm, ranges, n, full)
 *              void pmap_tlb_shootdown(pm, targets, ranges, n, full)
 *                  flush these ranges on these CPUs (never the caller) and
 *                  wait until every one acknowledged. One request per target.
 *              void pmap_cpu_relax(void)  spin-wait body: like a CPU spinning
 *                  with interrupts enabled, it serves pending shootdowns
 *              void pmap_cpu_yield(void)  a long spin-wait's body where the
 *                  caller could sleep (no spinlock held, outside
 *                  rcu_read_lock): serves pending shootdowns and lets another
 *                  thread run on this CPU (the one being waited for, maybe)
 *              void pmap_cpu_sleep_begin(void), pmap_cpu_sleep_end(void)
 *                  bracket a potentially blocking wait (a sleeping lock): the
 *                  CPU may be descheduled, so it must not hold back shootdowns
 *
 * Rules for callers: never wait for shootdown acknowledgements while holding
 * a spinlock that another CPU may be spinning on without pmap_cpu_relax();
 * mm/ spins on page-table locks only through pt_lock() (mm/pgtable.h).
 */
#ifndef KESTREL_MM_PMAP_H
#define KESTREL_MM_PMAP_H

#include "sync/env.h"
#include "sync/rcu.h"
#include "sync/spinlock.h"

typedef uint64_t paddr_t;
typedef uint64_t pte_t;

#define PAGE_SHIFT	12
#define PAGE_SIZE	(1ull << PAGE_SHIFT)
#define PAGE_MASK	(~(PAGE_SIZE - 1))
#define PT_ENTRIES	512
#define PT_LEVELS	4		/* level 0 = PTE table ... 3 = PML4 */
#define USER_VA_END	0x00007ffffffff000ull	/* Linux TASK_SIZE: the canonical lower
						 * half minus its last page */

/* x86_64 PTE bits (Intel SDM vol. 3, 4.5). */
#define PTE_P		(1ull << 0)
#define PTE_W		(1ull << 1)
#define PTE_U		(1ull << 2)
#define PTE_A		(1ull << 5)
#define PTE_D		(1ull << 6)
#define PTE_PROTNONE	(1ull << 8)	/* G bit, unused for user pages: a
					 * PROT_NONE mapping, not present to the
					 * MMU but mapped for mm/ (as Linux x86) */
#define PTE_NX		(1ull << 63)
#define PTE_ADDR	0x000ffffffffff000ull

_Static_assert(PT_ENTRIES * sizeof(pte_t) == PAGE_SIZE, "pmap: one table per frame");

static inline unsigned pt_index(uint64_t va, int level)
{
	return (unsigned)(va >> (PAGE_SHIFT + 9 * level)) & (PT_ENTRIES - 1);
}

/* pt_span: bytes mapped by one entry of a table at level. */
static inline uint64_t pt_span(int level)
{
	return 1ull << (PAGE_SHIFT + 9 * level);
}

static inline bool pte_present(pte_t p) { return p & PTE_P; }
/* pte_mapped: the entry maps a frame (present, or PROT_NONE). */
static inline bool pte_mapped(pte_t p) { return p & (PTE_P | PTE_PROTNONE); }
static inline bool pte_writable(pte_t p) { return p & PTE_W; }
static inline paddr_t pte_pa(pte_t p) { return p & PTE_ADDR; }

/* pte_make: a present user PTE for frame pa; write/exec as given. */
static inline pte_t pte_make(paddr_t pa, bool write, bool exec)
{
	return (pa & PTE_ADDR) | PTE_P | PTE_U | (write ? PTE_W : 0) | (exec ? 0 : PTE_NX);
}

/* pte_table: an intermediate entry pointing at the next-level table. */
static inline pte_t pte_table(paddr_t pa)
{
	return (pa & PTE_ADDR) | PTE_P | PTE_W | PTE_U;
}

/*
 * Kinds of frame (struct page.flags, bits 8..15; the port owns bits 0..7 for
 * its allocator's own state). Legend of the required fields above:
 * (A) atomic, (C) constant while allocated, (T) owned by the tlb_gather
 * holding it.
 */
#define PG_ANON		0x0100	/* private anonymous data */
#define PG_SHMEM	0x0200	/* belongs to a shared-memory object */
#define PG_FILE		0x0400	/* belongs to a file object */
#define PG_PT		0x0800	/* a page-table page */
#define PG_ZERO		0x1000	/* the shared zero frame */
#define PG_MM_MASK	0xff00	/* every kind bit mm/ may set */
#define PMAP_ZERO	0x80000000u	/* pmap_page_alloc: zero the contents
					 * (a request, never stored) */

/* The backend defines struct page, and the hot translations pmap_pa_kva(),
 * pmap_page_pa() and pmap_pa_page() inline. */
#include "pmap_backend.h"

/* The set of CPUs that may hold translations of one address space. */
#define CPUSET_WORDS (NCPU_MAX / 64)
typedef struct { uint64_t w[CPUSET_WORDS]; } cpuset_t;

struct pmap {
	paddr_t root;		/* (C) top-level table */
	cpuset_t cpumask;	/* (A) see "CPUs" above */
	uint64_t nr_pt;		/* (A) table pages, including the root */
};

/* A virtual range to flush: [start, end). */
struct tlb_range {
	uint64_t start, end;
};

/* pmap_pa_kva, pmap_page_pa, pmap_pa_page: inline in pmap_backend.h. */
struct page *pmap_page_alloc(unsigned flags);
void pmap_page_free(struct page *pg);
struct page *pmap_zero_page(void);
int pmap_init(struct pmap *pm);
void pmap_fini(struct pmap *pm);
void pmap_tlb_flush_local(struct pmap *pm, const struct tlb_range *r, unsigned n, bool full);
void pmap_tlb_shootdown(struct pmap *pm, const cpuset_t *targets,
			const struct tlb_range *r, unsigned n, bool full);
void pmap_cpu_relax(void);
void pmap_cpu_yield(void);
void pmap_cpu_sleep_begin(void);
void pmap_cpu_sleep_end(void);

static inline void *pmap_page_kva(struct page *pg)
{
	return pmap_pa_kva(pmap_page_pa(pg));
}

static inline paddr_t pmap_root(struct pmap *pm)
{
	return pm->root;
}

static inline bool cpuset_test(const cpuset_t *s, unsigned cpu)
{
	return (ck_pr_load_64(&s->w[cpu / 64]) >> (cpu % 64)) & 1;
}

#endif
