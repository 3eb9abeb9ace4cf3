/*
 * arch/host/machine.c - the simulated machine: frames, CPUs, TLBs, the MMU
 * walk, user accesses and shootdown mailboxes (see arch/host/machine.h).
 *
 * Shootdown protocol (why a late flush is impossible and a missing one shows):
 *  - a CPU sets its bit in pm->cpumask, then a full fence, before its first
 *    walk of pm's tables (host_cpu_switch); it clears the bit only after
 *    flushing its whole TLB;
 *  - the initiator stores PTEs, fences, then reads the cpumask (mm/tlb.c) and
 *    pushes one node per target onto the target's mailbox (a CAS stack);
 *  - a CPU serves its mailbox only between accesses (host_cpu_poll), so a
 *    walk, the TLB fill and the data access form one step, like an
 *    instruction with interrupts in between; the initiator spins, serving its
 *    own mailbox, until every target acknowledged;
 *  - a blocking CPU flushes its TLB and swaps its mailbox to MBOX_IDLE with
 *    one atomic exchange (serving what was queued); a post that meets
 *    MBOX_IDLE is acknowledged by the poster, as the idle CPU holds nothing.
 *
 * Synchronization table
 *   tlb[], cur, st     owner CPU only (others read tlb[] atomically, racy,
 *                      for the freed-while-cached check)
 *   mbox               any CPU pushes (CAS); owner takes all (exchange)
 *   frame pool         frame_free, quar_*: frame_lock (a leaf lock);
 *                      cpus[].frames, nframes: owner only
 *   frames_delta       owner only (others sum it, racy unless quiescent);
 *                      frames_delta_other: atomic (unregistered threads)
 *
 * Frame caches (Linux's per-CPU page lists): a registered CPU frees into its
 * own LIFO cache, so the next allocation gets the most recently used,
 * cache-hot frame with no lock and no atomic. Above FRAME_CACHE_HIGH it
 * returns the colder half to the pool, and an empty cache takes
 * FRAME_BATCH frames from it: one frame_lock round trip per batch. At most
 * FRAME_CACHE_HIGH frames per CPU are out of the others' reach (an
 * allocation fails only when its cache and the pool are empty). Unregistered
 * threads (liburcu's callback thread freeing page tables) free to the pool.
 *
 * Quarantine (while host_check_freed): a LIFO cache hands a freed frame
 * straight back, so a use after free would mostly read the new owner's data
 * instead of poison. Checked frees bypass the caches and wait, poisoned, in
 * a FIFO of up to quar_max frames (ASan's quarantine) before the pool; an
 * allocation takes from it only when the pool is empty.
 */
#include "arch/host/machine.h"
#include "alloc_inject.h"
#include "hostcpu.h"
#include <sys/mman.h>

unsigned char *host_mem;
struct page *host_pages;
uint64_t host_nframes;

#define FRAME_CACHE_HIGH HOST_FRAME_CACHE_HIGH
#define FRAME_BATCH 64		/* frames a refill takes from frame_free */

static pthread_mutex_t frame_lock = PTHREAD_MUTEX_INITIALIZER;
static struct page *frame_free;		/* (frame_lock) ->next list */
static struct page *quar_head, *quar_tail;	/* (frame_lock) FIFO, oldest first */
static uint64_t quar_n, quar_max;	/* (frame_lock) length; (C) capacity */
static int64_t frames_delta_other __cacheline_aligned;	/* (A) frees by others */
bool host_check_freed = true;		/* (A) poison + freed-while-cached scan */
static uint64_t freed_cached;		/* (A) */
static struct page *zero_frame;		/* (C) */

struct host_tlbe {
	uint64_t tag;		/* vpn + 1; 0 = invalid */
	pte_t pte;
};

struct host_req {
	struct pmap *pm;
	const struct tlb_range *r;
	unsigned n;
	bool full;
	uint32_t pending;	/* (A) targets yet to acknowledge */
};

struct host_node {
	struct host_node *next;
	struct host_req *req;
};

#define MBOX_IDLE ((struct host_node *)1)

struct host_cpu {
	struct host_tlbe tlb[HOST_TLB_ENTRIES];
	struct page *frames;	/* owner: LIFO cache of free frames */
	unsigned nframes;	/* owner: length of frames */
	int64_t frames_delta;	/* owner: allocated minus freed here */
	struct pmap *cur;
	struct host_node *mbox;
	unsigned idle_depth;
	struct host_stats st;
} __cacheline_aligned;

static struct host_cpu cpus[NCPU_MAX];

#define ST_INC(c, f) ck_pr_store_64(&(c)->st.f, ck_pr_load_64(&(c)->st.f) + 1)

void host_bad_pa(paddr_t pa)
{
	panic("machine check: physical address %llx outside memory", (unsigned long long)pa);
}

/* host_machine_init: map the arena, build the free list, make the zero page;
 * every CPU starts offline (idle). 0 or -ENOMEM. Idempotent. */
int host_machine_init(uint64_t nframes)
{
	if (host_mem)
		return 0;
	host_mem = mmap(NULL, nframes * PAGE_SIZE, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	host_pages = calloc(nframes, sizeof(struct page));
	if (host_mem == MAP_FAILED || !host_pages)
		return -ENOMEM;
	host_nframes = nframes;
	quar_max = nframes / 4 < 1024 ? nframes / 4 : 1024;
	memset(host_mem, HOST_POISON, nframes * PAGE_SIZE);	/* free = poisoned */
	for (uint64_t i = nframes; i-- > 0;) {
		host_pages[i].next = frame_free;
		frame_free = &host_pages[i];
	}
	for (unsigned i = 0; i < NCPU_MAX; i++) {
		cpus[i].mbox = MBOX_IDLE;
		cpus[i].idle_depth = 1;
	}
	zero_frame = frame_free;
	frame_free = zero_frame->next;
	memset(pmap_page_kva(zero_frame), 0, PAGE_SIZE);
	zero_frame->flags = PG_ZERO;
	zero_frame->refcount = 1;
	frames_delta_other = 1;
	return 0;
}

struct page *pmap_zero_page(void)
{
	return zero_frame;
}

/* host_clear_page: zero one frame. On x86_64 with `rep stosb`, as Linux's
 * clear_page_erms: the compiler inlines memset(p, 0, 4096) as `rep stosq`,
 * which measured ~5% slower per fault (interleaved A/B runs of mm_bench). */
static inline void host_clear_page(void *p)
{
#if defined(__x86_64__)
	unsigned long n = PAGE_SIZE;

	__asm__ volatile("rep stosb" : "+D"(p), "+c"(n) : "a"(0) : "memory");
#else
	memset(p, 0, PAGE_SIZE);
#endif
}

/* quar_take: the oldest quarantined frame, or NULL. frame_lock held. */
static struct page *quar_take(void)
{
	struct page *pg = quar_head;

	if (pg) {
		quar_head = pg->next;
		if (!quar_head)
			quar_tail = NULL;
		quar_n--;
	}
	return pg;
}

/* quar_put: quarantine a poisoned frame; past quar_max the oldest goes to
 * the pool. */
static void quar_put(struct page *pg)
{
	pthread_mutex_lock(&frame_lock);
	pg->next = NULL;
	if (quar_tail)
		quar_tail->next = pg;
	else
		quar_head = pg;
	quar_tail = pg;
	if (++quar_n > quar_max) {
		struct page *old = quar_take();

		old->next = frame_free;
		frame_free = old;
	}
	pthread_mutex_unlock(&frame_lock);
}

/* frame_refill: give this CPU's empty cache a batch from the pool (from
 * the quarantine when the pool is empty). */
static void frame_refill(struct host_cpu *c)
{
	unsigned n = 0;

	pthread_mutex_lock(&frame_lock);
	for (; n < FRAME_BATCH; n++) {
		struct page *pg = frame_free ? frame_free : quar_take();

		if (!pg)
			break;
		if (pg == frame_free)
			frame_free = pg->next;
		pg->next = c->frames;
		c->frames = pg;
	}
	pthread_mutex_unlock(&frame_lock);
	c->nframes = n;
}

/* frame_pool_put: put the list first..last back into the pool. */
static void frame_pool_put(struct page *first, struct page *last)
{
	pthread_mutex_lock(&frame_lock);
	last->next = frame_free;
	frame_free = first;
	pthread_mutex_unlock(&frame_lock);
}

/* frame_cache_trim: keep the FRAME_CACHE_HIGH / 2 most recently freed
 * frames of c's cache (nframes > FRAME_CACHE_HIGH), return the rest. */
static void frame_cache_trim(struct host_cpu *c)
{
	struct page *keep_last = c->frames, *first, *last;

	for (unsigned i = 1; i < FRAME_CACHE_HIGH / 2; i++)
		keep_last = keep_last->next;
	first = last = keep_last->next;
	KASSERT(first, "frame_cache_trim: cache shorter than its count");
	while (last->next)
		last = last->next;
	keep_last->next = NULL;
	c->nframes = FRAME_CACHE_HIGH / 2;
	frame_pool_put(first, last);
}

/* frame_warm: start loading the frame the next allocation on this CPU will
 * hand out (the head of its LIFO cache) into L2. A read prefetch suffices:
 * no other cache holds a free frame, so its lines arrive Exclusive and the
 * next clearing's stores need no ownership request. Without it those 64
 * requests are paid at the PTE lock right after the clearing (the locked
 * instruction waits for the stores to drain): ~40-60 ns per write fault,
 * interleaved A/B runs of mm_bench (docs/DESIGN.md "mm: measurements").
 * Issued after this allocation's own clearing, not before, so the two do
 * not compete; a frame that is not reused soon costs a wasted 4 KiB read. */
static inline void frame_warm(struct page *next)
{
	const char *kva = pmap_page_kva(next);

	for (unsigned off = 0; off < PAGE_SIZE; off += CACHELINE)
		__builtin_prefetch(kva + off, 0, 2);
}

/* pmap_page_alloc: a frame with refcount 1, mapcount 0 and kind flags;
 * zeroed if PMAP_ZERO (else poisoned). NULL when out of frames or when
 * failure injection says so. Registered CPUs only. */
struct page *pmap_page_alloc(unsigned flags)
{
	struct host_cpu *c = &cpus[cpu_self()];
	struct page *pg;

	if (alloc_inject_should_fail())
		return NULL;
	if (!c->frames)
		frame_refill(c);
	pg = c->frames;
	if (!pg)
		return NULL;
	c->frames = pg->next;
	c->nframes--;
	__builtin_prefetch(c->frames, 1);	/* the next fault's frame: a miss off the path */
	ck_pr_store_64((uint64_t *)&c->frames_delta, (uint64_t)(c->frames_delta + 1));
	pg->refcount = 1;
	pg->mapcount = 0;
	pg->flags = flags & ~PMAP_ZERO;
	pg->level = 0;
	pg->next = NULL;
	if (flags & PG_PT)
		spin_init(&pg->ptl, "ptl");
	if (flags & PMAP_ZERO)
		host_clear_page(pmap_page_kva(pg));
	if (c->frames)
		frame_warm(c->frames);
	return pg;
}

/* host_check_uncached: count pa if any CPU's TLB still translates to it
 * (racy by design; every hit is a shootdown bug). */
static void host_check_uncached(paddr_t pa)
{
	for (unsigned i = 0; i < cpu_count(); i++)
		for (unsigned j = 0; j < HOST_TLB_ENTRIES; j++) {
			struct host_tlbe *e = &cpus[i].tlb[j];

			if (ck_pr_load_64(&e->tag) && pte_pa(ck_pr_load_64(&e->pte)) == pa)
				ck_pr_inc_64(&freed_cached);
		}
}

/* pmap_page_free: poison and return a frame (no references may remain). */
void pmap_page_free(struct page *pg)
{
	KASSERT(!(pg->flags & PG_ZERO), "pmap_page_free: the zero page");
	KASSERT(pg->mapcount == 0, "pmap_page_free: frame still mapped (%d)", pg->mapcount);
	bool checked = ck_pr_load_8((uint8_t *)&host_check_freed);

	if (checked) {
		host_check_uncached(pmap_page_pa(pg));
		memset(pmap_page_kva(pg), HOST_POISON, PAGE_SIZE);
	}
	pg->flags = 0;
	pg->refcount = 0;
	if (hostcpu_self_id < 0) {	/* e.g. liburcu's callback thread */
		if (checked)
			quar_put(pg);
		else
			frame_pool_put(pg, pg);
		ck_pr_dec_64((uint64_t *)&frames_delta_other);
		return;
	}
	struct host_cpu *c = &cpus[cpu_self()];

	ck_pr_store_64((uint64_t *)&c->frames_delta, (uint64_t)(c->frames_delta - 1));
	if (checked) {
		quar_put(pg);
		return;
	}
	pg->next = c->frames;
	c->frames = pg;
	if (++c->nframes > FRAME_CACHE_HIGH)
		frame_cache_trim(c);
}

int pmap_init(struct pmap *pm)
{
	struct page *root = pmap_page_alloc(PG_PT | PMAP_ZERO);

	if (!root)
		return -ENOMEM;
	root->level = PT_LEVELS - 1;
	memset(&pm->cpumask, 0, sizeof(pm->cpumask));
	pm->root = pmap_page_pa(root);
	pm->nr_pt = 1;
	return 0;
}

/* pmap_fini: free the root; the caller's CPU leaves pm, no other may use it. */
void pmap_fini(struct pmap *pm)
{
	if (cpus[cpu_self()].cur == pm)
		host_cpu_switch(NULL);
	for (unsigned i = 0; i < CPUSET_WORDS; i++)
		KASSERT(ck_pr_load_64(&pm->cpumask.w[i]) == 0, "pmap_fini: pmap still active");
	pmap_page_free(pmap_pa_page(pm->root));
	pm->root = 0;
}

static void host_tlb_flush_all(struct host_cpu *c)
{
	for (unsigned i = 0; i < HOST_TLB_ENTRIES; i++)
		ck_pr_store_64(&c->tlb[i].tag, 0);
}

static void host_tlb_flush_ranges(struct host_cpu *c, const struct tlb_range *r,
				  unsigned n, bool full)
{
	if (full) {
		host_tlb_flush_all(c);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		for (uint64_t va = r[i].start; va < r[i].end; va += PAGE_SIZE) {
			struct host_tlbe *e = &c->tlb[(va >> PAGE_SHIFT) % HOST_TLB_ENTRIES];

			if (e->tag == (va >> PAGE_SHIFT) + 1)
				ck_pr_store_64(&e->tag, 0);
		}
}

void pmap_tlb_flush_local(struct pmap *pm, const struct tlb_range *r, unsigned n, bool full)
{
	struct host_cpu *c = &cpus[cpu_self()];

	if (c->cur == pm)
		host_tlb_flush_ranges(c, r, n, full);
}

/* host_serve: handle a taken list of requests; acknowledging is the last
 * touch of a node (the initiator's stack frame may vanish right after). */
static void host_serve(struct host_cpu *c, struct host_node *h)
{
	while (h && h != MBOX_IDLE) {
		struct host_node *next = h->next;
		struct host_req *q = h->req;

		if (q->pm == c->cur)
			host_tlb_flush_ranges(c, q->r, q->n, q->full);
		ST_INC(c, requests_served);
		ck_pr_dec_32(&q->pending);	/* ck: atomic RMW, full barrier */
		h = next;
	}
}

void host_cpu_poll(void)
{
	struct host_cpu *c = &cpus[cpu_self()];
	struct host_node *h = ck_pr_load_ptr(&c->mbox);

	if (h == NULL || h == MBOX_IDLE)
		return;
	host_serve(c, ck_pr_fas_ptr(&c->mbox, NULL));
}

/* host_post: queue node on cpu's mailbox, or acknowledge for an idle CPU. */
static void host_post(unsigned cpu, struct host_node *node)
{
	struct host_cpu *c = &cpus[cpu];

	for (;;) {
		struct host_node *h = ck_pr_load_ptr(&c->mbox);

		if (h == MBOX_IDLE) {
			ck_pr_dec_32(&node->req->pending);
			return;
		}
		node->next = h;
		if (ck_pr_cas_ptr(&c->mbox, h, node))
			return;
	}
}

bool host_debug_skip_shootdowns;

void pmap_tlb_shootdown(struct pmap *pm, const cpuset_t *targets,
			const struct tlb_range *r, unsigned n, bool full)
{
	struct host_node nodes[NCPU_MAX];
	struct host_req q = { pm, r, n, full, 0 };
	unsigned cnt = 0;

	if (ck_pr_load_8((uint8_t *)&host_debug_skip_shootdowns))
		return;	/* a deliberately broken machine, for the tests' own test */
	for (unsigned w = 0; w < CPUSET_WORDS; w++)
		cnt += __builtin_popcountll(targets->w[w]);
	q.pending = cnt;
	for (unsigned cpu = 0; cpu < NCPU_MAX; cpu++) {
		if (!cpuset_test(targets, cpu))
			continue;
		KASSERT(cpu != cpu_self(), "pmap_tlb_shootdown: self in targets");
		nodes[cpu].req = &q;
		host_post(cpu, &nodes[cpu]);
	}
	while (ck_pr_load_32(&q.pending))
		pmap_cpu_relax();
}

/* pmap_cpu_relax: serve shootdowns while spinning. The CPU we wait for may
 * be a host thread that is not running (more simulated CPUs than cores), so
 * give up the core now and then. */
void pmap_cpu_relax(void)
{
	static __thread unsigned spins;

	host_cpu_poll();
	cpu_relax();
	if (++spins % 64 == 0)
		sched_yield();
}

/* pmap_cpu_yield: serve the mailbox, then give the host core away (a
 * simulated CPU keeps no state across the yield). */
void pmap_cpu_yield(void)
{
	host_cpu_poll();
	sched_yield();
}

void host_cpu_idle_begin(void)
{
	struct host_cpu *c = &cpus[cpu_self()];

	if (c->idle_depth++)
		return;
	host_cpu_switch(NULL);	/* a blocked CPU caches nothing */
	host_serve(c, ck_pr_fas_ptr(&c->mbox, MBOX_IDLE));
}

void host_cpu_idle_end(void)
{
	struct host_cpu *c = &cpus[cpu_self()];
	struct host_node *h;

	KASSERT(c->idle_depth > 0, "host_cpu_idle_end: not idle");
	if (--c->idle_depth)
		return;
	h = ck_pr_fas_ptr(&c->mbox, NULL);	/* full barrier before any walk */
	KASSERT(h == MBOX_IDLE, "host_cpu_idle_end: mailbox not idle");
}

void pmap_cpu_sleep_begin(void)
{
	host_cpu_idle_begin();
}

void pmap_cpu_sleep_end(void)
{
	host_cpu_idle_end();
}

/* host_cpu_switch: leave the current pmap (flush, then clear our bit) and
 * join mm's (set the bit, then a full fence before any walk). */
void host_cpu_switch(struct mm *mm)
{
	struct host_cpu *c = &cpus[cpu_self()];
	struct pmap *pm = mm ? &mm->pmap : NULL;
	unsigned self = cpu_self();

	if (c->cur == pm)
		return;
	host_tlb_flush_all(c);
	if (c->cur)
		ck_pr_and_64(&c->cur->cpumask.w[self / 64], ~(1ull << (self % 64)));
	c->cur = pm;
	if (pm)
		ck_pr_or_64(&pm->cpumask.w[self / 64], 1ull << (self % 64));
	ck_pr_fence_memory();	/* the bit is visible before our first walk */
}

/* host_tlb_lookup: a TLB hit that permits the access. A write hit on a
 * read-only entry drops the entry (x86 re-walks after such a fault). */
static bool host_tlb_lookup(struct host_cpu *c, uint64_t va, bool write, pte_t *p)
{
	struct host_tlbe *e = &c->tlb[(va >> PAGE_SHIFT) % HOST_TLB_ENTRIES];

	if (e->tag != (va >> PAGE_SHIFT) + 1)
		return false;
	if (write && !(e->pte & PTE_W)) {
		ck_pr_store_64(&e->tag, 0);
		return false;
	}
	*p = e->pte;
	return true;
}

/* host_walk: the MMU's walk of the current tables; fills the TLB on success. */
static bool host_walk(struct host_cpu *c, uint64_t va, bool write, pte_t *out)
{
	paddr_t table = c->cur->root;
	pte_t p = 0;

	ST_INC(c, walks);
	rcu_read_lock();	/* tables are freed after a grace period */
	for (int level = PT_LEVELS - 1; level >= 0; level--) {
		p = ck_pr_load_64((uint64_t *)pmap_pa_kva(table) + pt_index(va, level));
		if (!(p & PTE_P) || !(p & PTE_U) || (write && !(p & PTE_W))) {
			rcu_read_unlock();
			return false;
		}
		table = pte_pa(p);
	}
	rcu_read_unlock();
	struct host_tlbe *e = &c->tlb[(va >> PAGE_SHIFT) % HOST_TLB_ENTRIES];

	ck_pr_store_64(&e->pte, p);
	ck_pr_store_64(&e->tag, (va >> PAGE_SHIFT) + 1);
	*out = p;
	return true;
}

int host_access(struct mm *mm, uint64_t va, bool write, uint8_t *val)
{
	struct host_cpu *c = &cpus[cpu_self()];

	KASSERT(c->idle_depth == 0, "host_access: cpu %u is offline/idle", cpu_self());
	if (va >= USER_VA_END)
		return -EFAULT;
	for (unsigned tries = 0;; tries++) {
		pte_t p;

		host_cpu_switch(mm);	/* again after a fault that slept */
		host_cpu_poll();

		if (host_tlb_lookup(c, va, write, &p)) {
			ST_INC(c, tlb_hits);
		} else if (ST_INC(c, tlb_misses), !host_walk(c, va, write, &p)) {
			int err;

			ST_INC(c, faults);
			err = fault_handle(mm, va, write ? FAULT_WRITE : FAULT_READ);
			if (err)
				return err;
			KASSERT(tries < 1000000, "host_access: no progress at %llx",
				(unsigned long long)va);
			continue;
		}
		uint8_t *b = (uint8_t *)pmap_pa_kva(pte_pa(p)) + (va & ~PAGE_MASK);

		if (write)
			ck_pr_store_8(b, *val);
		else
			*val = ck_pr_load_8(b);
		return 0;
	}
}

void host_stats_read(struct host_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < NCPU_MAX; i++) {
		struct host_stats *s = &cpus[i].st;

		out->tlb_hits += ck_pr_load_64(&s->tlb_hits);
		out->tlb_misses += ck_pr_load_64(&s->tlb_misses);
		out->walks += ck_pr_load_64(&s->walks);
		out->faults += ck_pr_load_64(&s->faults);
		out->requests_served += ck_pr_load_64(&s->requests_served);
	}
	out->frames_used = host_frames_used();
	out->freed_cached = ck_pr_load_64(&freed_cached);
}

/* host_cpu_start: register the calling thread as a CPU and bring it online;
 * its id, or a negative errno. */
int host_cpu_start(void)
{
	int id = hostcpu_register();

	if (id >= 0)
		host_cpu_idle_end();
	return id;
}

void host_cpu_stop(void)
{
	host_cpu_idle_begin();
	hostcpu_unregister();
}

/* host_frames_used: allocated frames (exact when no CPU allocates or
 * frees concurrently). */
uint64_t host_frames_used(void)
{
	int64_t n = (int64_t)ck_pr_load_64((uint64_t *)&frames_delta_other);

	for (unsigned i = 0; i < NCPU_MAX; i++)
		n += (int64_t)ck_pr_load_64((uint64_t *)&cpus[i].frames_delta);
	return (uint64_t)n;
}
