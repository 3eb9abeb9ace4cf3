/*
 * arch/x86_64/pmap.c - the x86_64 implementation of mm/pmap.h.
 *
 * Frames come from the buddy allocator (kernel/frame.h) and are reached
 * through the direct map. A user address space's PML4 shares the kernel
 * half (entries 256..511) with kernel_cr3 by copying them at pmap_init: the
 * kernel never adds a top-level entry after boot (the direct map, the stack
 * region and the image each have theirs before the first thread runs;
 * pmap_init asserts it), so the copies never go stale.
 *
 * CPU sets and lazy TLB. pmap_cur[c] is the pmap whose tables CPU c has
 * loaded in CR3, NULL for kernel_cr3. pmap_switch() (the context switch, or
 * a thread adopting an address space) sets the CPU's bit in the new pmap's
 * cpumask with a locked OR - a full fence - before loading CR3, so the bit
 * is visible before the MMU's first walk; it clears the bit in the old
 * pmap only after the CR3 load, which flushed every non-global (user)
 * translation. Kernel threads and idle run on kernel_cr3, so a CPU that is
 * not running a user thread is never in any cpumask and never interrupted
 * by a shootdown.
 *
 * Shootdowns. pmap_tlb_shootdown() is smp_call() to the targets: one VEC_CALL
 * IPI per target CPU, each running pmap_flush_ipi() with interrupts off,
 * which flushes only if that CPU still has the pmap loaded (otherwise its
 * CR3 switch already flushed). smp_call() returns after every target ran the
 * function, so mm/ frees frames only after every acknowledgement. Waiting
 * requires interrupts enabled: two CPUs shooting each other down serve each
 * other's IPIs while they spin. For the same reason pmap_cpu_relax() is a
 * plain pause with interrupts on, and pmap_cpu_sleep_begin/end have nothing
 * to do: a CPU whose thread blocks runs another thread or idles, still
 * taking interrupts.
 *
 * Synchronization table
 *   pmap_cur[c]         written by CPU c with interrupts off (switch);
 *                       read by CPU c (flush, IPI handler)
 *   pm->cpumask bit c   set/cleared by CPU c only, atomically; read by any
 *                       initiator after its PTE stores and a full fence
 *   pmap_zero           published once with CAS
 */
#include "mm/mm.h"
#include "kernel/percpu.h"
#include "kernel/smp_call.h"
#include "kernel/sched.h"
#include "arch/paging.h"
#include "arch/x86.h"

#define PMAP_KERNEL_HALF 256	/* first PML4 slot of the kernel half */
#define PMAP_POISON 0x6b

static struct pmap *pmap_cur[NCPU_MAX];	/* see the synchronization table */
static struct page *pmap_zero;		/* (A) the shared zero frame */
static uint64_t pmap_live;		/* (A) frames between alloc and free */

struct pmap_flush_req {
	struct pmap *pm;
	const struct tlb_range *r;
	unsigned n;
	bool full;
};

/* pmap_page_alloc: one frame from the buddy with refcount 1, mapcount 0 and
 * the mm/ kind bits of flags; zeroed if PMAP_ZERO. NULL when out of memory. */
struct page *pmap_page_alloc(unsigned flags)
{
	uint64_t pa = frame_alloc(0);
	struct page *pg;

	if (!pa)
		return NULL;
	ck_pr_inc_64(&pmap_live);
	pg = frame_page(pa);
	KASSERT(!(ck_pr_load_32(&pg->flags) & PG_MM_MASK), "pmap_page_alloc: stale kind bits");
	ck_pr_or_32(&pg->flags, flags & PG_MM_MASK);
	pg->mapcount = 0;
	pg->level = 0;
	pg->next = NULL;
	if (flags & PG_PT)
		spin_init(&pg->ptl, "ptl");
	if (flags & PMAP_ZERO)
		memset(pmap_pa_kva(pa), 0, PAGE_SIZE);
	return pg;
}

/* pmap_page_free: return a frame nothing references; poisoned in debug
 * builds so a use after free reads wrong data. */
void pmap_page_free(struct page *pg)
{
	KASSERT(!(pg->flags & PG_ZERO), "pmap_page_free: the zero page");
	KASSERT(pg->mapcount == 0, "pmap_page_free: frame still mapped (%d)", pg->mapcount);
#ifdef KESTREL_DEBUG
	memset(pmap_page_kva(pg), PMAP_POISON, PAGE_SIZE);
#endif
	ck_pr_and_32(&pg->flags, ~(uint32_t)PG_MM_MASK);
	frame_free(pmap_page_pa(pg), 0);
	ck_pr_dec_64(&pmap_live);
}

uint64_t pmap_frames_live(void)
{
	return ck_pr_load_64(&pmap_live);
}

/* pmap_zero_page: the shared zero frame, made on first use (never freed). */
struct page *pmap_zero_page(void)
{
	struct page *z = ck_pr_load_ptr(&pmap_zero), *pg;

	if (likely(z))
		return z;
	pg = pmap_page_alloc(PMAP_ZERO);
	if (!pg)
		panic("pmap_zero_page: out of memory");
	ck_pr_or_32(&pg->flags, PG_ZERO);
	ck_pr_fence_store();	/* contents and kind before the pointer */
	if (!ck_pr_cas_ptr(&pmap_zero, NULL, pg)) {
		ck_pr_and_32(&pg->flags, ~(uint32_t)PG_ZERO);
		pmap_page_free(pg);
	}
	return ck_pr_load_ptr(&pmap_zero);
}

/* pmap_init: a zeroed PML4 whose kernel half is kernel_cr3's. 0 or -ENOMEM. */
int pmap_init(struct pmap *pm)
{
	struct page *root = pmap_page_alloc(PG_PT | PMAP_ZERO);
	const pte_t *k = pmap_pa_kva(kernel_cr3);
	pte_t *u;

	if (!root)
		return -ENOMEM;
	root->level = PT_LEVELS - 1;
	u = pmap_page_kva(root);
	KASSERT(pte_present(k[256]) && pte_present(k[384]) && pte_present(k[511]),
		"pmap_init: kernel PML4 slots missing");
	for (unsigned i = PMAP_KERNEL_HALF; i < PT_ENTRIES; i++)
		u[i] = k[i];
	memset(&pm->cpumask, 0, sizeof(pm->cpumask));
	pm->root = pmap_page_pa(root);
	pm->nr_pt = 1;
	return 0;
}

/* pmap_fini: free the root. The calling CPU leaves pm first; no other CPU
 * may have it loaded (every thread of the mm has exited). */
void pmap_fini(struct pmap *pm)
{
	uint64_t f = irq_save();

	if (pmap_cur[cpu_self()] == pm)
		pmap_switch(NULL);
	irq_restore(f);
	for (unsigned i = 0; i < CPUSET_WORDS; i++)
		KASSERT(ck_pr_load_64(&pm->cpumask.w[i]) == 0, "pmap_fini: pmap still active");
	pmap_page_free(pmap_pa_page(pm->root));
	pm->root = 0;
}

/* pmap_switch: load pm's tables (NULL: kernel_cr3) on this CPU, keeping the
 * cpumasks exact (header comment). Interrupts must be off. */
void pmap_switch(struct pmap *pm)
{
	unsigned self = cpu_self();
	uint64_t bit = 1ull << (self % 64);
	struct pmap *prev = pmap_cur[self];

	KASSERT(!irqs_enabled(), "pmap_switch: interrupts on");
	if (prev == pm)
		return;
	if (pm)
		ck_pr_or_64(&pm->cpumask.w[self / 64], bit);	/* locked: full fence */
	write_cr3(pm ? pm->root : kernel_cr3);
	if (prev)	/* the CR3 load flushed prev's user translations */
		ck_pr_and_64(&prev->cpumask.w[self / 64], ~bit);
	pmap_cur[self] = pm;
}

/* pmap_current: the pmap loaded on this CPU (NULL: kernel tables). */
struct pmap *pmap_current(void)
{
	return pmap_cur[cpu_self()];
}

/* pmap_flush_ranges: invalidate r[0..n) (or everything) on this CPU. */
static void pmap_flush_ranges(const struct tlb_range *r, unsigned n, bool full)
{
	if (full) {
		write_cr3(read_cr3());	/* user PTEs are never global */
		return;
	}
	for (unsigned i = 0; i < n; i++)
		for (uint64_t va = r[i].start; va < r[i].end; va += PAGE_SIZE)
			invlpg(va);
}

void pmap_tlb_flush_local(struct pmap *pm, const struct tlb_range *r, unsigned n, bool full)
{
	uint64_t f = irq_save();	/* pmap_cur must not change under us */

	if (pmap_cur[cpu_self()] == pm)
		pmap_flush_ranges(r, n, full);
	irq_restore(f);
}

/* pmap_flush_ipi: a target's side of a shootdown (interrupts off). */
static void pmap_flush_ipi(void *arg)
{
	const struct pmap_flush_req *q = arg;

	if (pmap_cur[cpu_self()] == q->pm)
		pmap_flush_ranges(q->r, q->n, q->full);
}

void pmap_tlb_shootdown(struct pmap *pm, const cpuset_t *targets,
			const struct tlb_range *r, unsigned n, bool full)
{
	struct pmap_flush_req q = { pm, r, n, full };
	cpumask_t mask = 0;

	_Static_assert(NCPU_MAX <= 64, "pmap_tlb_shootdown: smp_call takes one word");
	KASSERT(!cpuset_test(targets, cpu_self()), "pmap_tlb_shootdown: self in targets");
	mask = targets->w[0];
	smp_call(mask, pmap_flush_ipi, &q);
}

/* pmap_cpu_relax: spin-wait body; shootdown IPIs arrive as interrupts, so
 * interrupts must be on (else two CPUs flushing each other deadlock). */
void pmap_cpu_relax(void)
{
	KASSERT(irqs_enabled(), "pmap_cpu_relax: interrupts off");
	cpu_relax();
}

/* pmap_cpu_yield: let another thread run; interrupts stay on throughout. */
void pmap_cpu_yield(void)
{
	KASSERT(irqs_enabled() && preempt_count() == 0, "pmap_cpu_yield: cannot sleep here");
	sched_yield();
}

void pmap_cpu_sleep_begin(void)
{
}

void pmap_cpu_sleep_end(void)
{
}

/* __popcountdi2: libgcc's out-of-line __builtin_popcountll (mm/tlb.c counts
 * cpumask bits; the kernel is built without -mpopcnt and without libgcc). */
int __popcountdi2(long long x);
int __popcountdi2(long long x)
{
	unsigned long long v = (unsigned long long)x;
	int n = 0;

	for (; v; v &= v - 1)
		n++;
	return n;
}
