/*
 * tests/host/frame_test.c - the frame allocator (kernel/frame*.c) on fake
 * physical memory: layout and lazy metadata, buddy split/merge against a
 * reference model, per-CPU caches under concurrent host CPUs, racing chunk
 * initialisation, and misuse that must panic.
 */
#include "kernel/frame_internal.h"
#include "sync/host/hostcpu.h"
#include "tests/ktest.h"
#include "frame_arena.h"
#include <sys/wait.h>
#include <signal.h>
#include <unistd.h>

#define MiB (1ull << 20)
#define GiB (1ull << 30)

/* kmem_setup: a fresh allocator with no regions over a len-byte arena. */
static char *kmem_setup(size_t len, bool sparse, unsigned high, unsigned batch)
{
	char *a;

	frame_reset();
	a = arena_create(len, sparse);
	frame_pcpu_set_limits(high, batch);
	return a;
}

/* expect_meta: the metadata size in frames, computed independently. */
static uint64_t expect_meta(uint64_t start_pfn, uint64_t npages)
{
	uint64_t base = start_pfn & ~511ull, nchunks = (start_pfn + npages - base + 511) / 512;
	uint64_t bytes = nchunks * 512 * sizeof(struct page) + 2 * ((nchunks + 63) / 64) * 8;

	return (bytes + 4095) / 4096;
}

/* add_region: add one region and check the total grew as the layout says;
 * returns the first allocatable pa. */
static uint64_t add_region(uint64_t pa, uint64_t npages)
{
	uint64_t before = frame_total_count(), meta = expect_meta(pa >> 12, npages);

	frame_add_region(pa, npages);
	KT_CHECK(frame_total_count() - before == npages - meta, "total grew by %llu, want %llu",
		 (unsigned long long)(frame_total_count() - before), (unsigned long long)(npages - meta));
	return pa + meta * FRAME_SIZE;
}

KTEST(frame_layout_lazy)
{
	struct frame_stats st;
	uint64_t pa = ARENA_PA + 3 * FRAME_SIZE, n = (8 * MiB >> 12) - 8;
	uint64_t usable;

	kmem_setup(8 * MiB, false, 0, 1);
	usable = add_region(pa, n);
	frame_stats_get(&st);
	KT_CHECK(st.chunks == 4 && st.chunks_ready == 0, "chunks %llu ready %llu",
		 (unsigned long long)st.chunks, (unsigned long long)st.chunks_ready);
	KT_CHECK(frame_free_count() == frame_total_count() && st.untouched == st.total, "all untouched");
	KT_CHECK(frame_page(ARENA_PA) == NULL, "frame below the region has no page");
	KT_CHECK(frame_page(pa + n * FRAME_SIZE) == NULL, "frame above the region has no page");
	KT_CHECK(frame_page(pa)->flags & PG_RESERVED, "metadata frame reserved");
	KT_CHECK(frame_page_pa(frame_page(usable)) == usable, "page <-> pa round trip");
	KT_CHECK(!(frame_page(usable)->flags & PG_RESERVED), "first usable frame not reserved");
	frame_stats_get(&st);
	KT_CHECK(st.chunks_ready == 1, "frame_page readied exactly one chunk (%llu)",
		 (unsigned long long)st.chunks_ready);
	KT_CHECK(frame_free_count() == frame_total_count(), "readied frames still free");
	KT_CHECK(frame_va_to_pa(phys_to_virt(usable + 123)) == usable + 123, "va_to_pa");
	frame_add_region(pa + FRAME_SIZE, 4);	/* overlap: skipped */
	KT_CHECK(frame_total_count() == n - expect_meta(pa >> 12, n), "overlap ignored");
	KT_CHECK(frame_check() == 0, "buddy invariants");
}

/* Memory below an unaligned region is not the allocator's: the metadata of
 * the region's first (partial) chunk must live inside the region. */
KTEST(frame_region_unaligned_keeps_below)
{
	uint64_t pa = ARENA_PA + 40 * FRAME_SIZE, n = (6 * MiB >> 12) - 40;
	char *a = kmem_setup(8 * MiB, false, 0, 1);
	uint64_t got = 0;

	memset(a, 0xa5, 40 * FRAME_SIZE);	/* "the kernel image" below the region */
	add_region(pa, n);
	while (frame_alloc(0))			/* initialise every chunk */
		got++;
	bool intact = true;
	for (uint64_t i = 0; i < 40 * FRAME_SIZE; i++)
		intact &= (unsigned char)a[i] == 0xa5;
	KT_CHECK(intact, "frames below the region were overwritten");
	KT_CHECK(got == frame_total_count(), "allocated %llu of %llu",
		 (unsigned long long)got, (unsigned long long)frame_total_count());
}

/* The reference model: one byte per arena frame, 1 = allocated. */
struct model {
	unsigned char *owned;
	uint64_t *held_pa;
	unsigned *held_order;
	unsigned nheld, cap;
	uint64_t frames;	/* allocated frames */
};

static unsigned rnd_order(unsigned *seed)
{
	unsigned o = 0;

	while (o < FRAME_MAX_ORDER && rand_r(seed) % 3 == 0)
		o++;
	return o;
}

/* model_alloc: allocate one block and check it against the model. */
static void model_alloc(struct model *m, unsigned order, const uint64_t (*usable)[2], int nus)
{
	uint64_t pa = frame_alloc(order), n = 1ull << order, f;
	int inside = 0;

	if (!pa) {
		KT_CHECK(order > 0 || m->frames == frame_total_count(), "order-0 failure with %llu of %llu used",
			 (unsigned long long)m->frames, (unsigned long long)frame_total_count());
		return;
	}
	for (int i = 0; i < nus; i++)
		inside |= pa >= usable[i][0] && pa + n * FRAME_SIZE <= usable[i][1];
	KT_CHECK(inside && pa % (FRAME_SIZE << order) == 0, "block %#llx order %u misplaced",
		 (unsigned long long)pa, order);
	f = (pa - ARENA_PA) >> FRAME_SHIFT;
	for (uint64_t i = 0; i < n; i++) {
		KT_CHECK(!m->owned[f + i], "frame %#llx handed out twice", (unsigned long long)(pa + i * FRAME_SIZE));
		m->owned[f + i] = 1;
		*(uint64_t *)phys_to_virt(pa + i * FRAME_SIZE) = pa ^ i;
	}
	KT_CHECK(frame_page(pa)->refcount == 1 && frame_page(pa)->next == NULL &&
		 !spin_locked(&frame_page(pa)->ptl), "first page initialised by frame_alloc");
	m->held_pa[m->nheld] = pa;
	m->held_order[m->nheld++] = order;
	m->frames += n;
}

/* model_free: free held block i after checking nobody overwrote it. */
static void model_free(struct model *m, unsigned i)
{
	uint64_t pa = m->held_pa[i], n = 1ull << m->held_order[i], f = (pa - ARENA_PA) >> FRAME_SHIFT;

	for (uint64_t k = 0; k < n; k++) {
		KT_CHECK(*(uint64_t *)phys_to_virt(pa + k * FRAME_SIZE) == (pa ^ k), "frame %#llx overwritten",
			 (unsigned long long)(pa + k * FRAME_SIZE));
		m->owned[f + k] = 0;
	}
	frame_free(pa, m->held_order[i]);
	m->frames -= n;
	m->held_pa[i] = m->held_pa[--m->nheld];
	m->held_order[i] = m->held_order[m->nheld];
}

/* buddy_model_run: random alloc/free against the model, then drain it. */
static void buddy_model_run(struct model *m, const uint64_t (*usable)[2], int nus, unsigned ops)
{
	unsigned seed = (unsigned)ktest_seed;

	for (unsigned op = 0; op < ops; op++) {
		if (m->nheld < m->cap && (m->nheld == 0 || rand_r(&seed) % 100 < 55))
			model_alloc(m, rnd_order(&seed), usable, nus);
		else
			model_free(m, (unsigned)rand_r(&seed) % m->nheld);
		if (op % 5000 == 0) {
			KT_CHECK(frame_check() == 0, "buddy invariants at op %u", op);
			KT_CHECK(frame_free_count() == frame_total_count() - m->frames, "free count at op %u", op);
		}
	}
	while (m->nheld)
		model_free(m, m->nheld - 1);
}

KTEST(frame_buddy_model)
{
	uint64_t end0 = ARENA_PA + 20 * MiB + 3 * FRAME_SIZE, start1 = ARENA_PA + 24 * MiB + FRAME_SIZE;
	uint64_t end1 = ARENA_PA + 64 * MiB - 2 * FRAME_SIZE, usable[2][2], n9 = 0, n0 = 0, pa;
	struct model m = { .cap = 4096 };

	kmem_setup(64 * MiB, false, 0, 1);
	usable[0][0] = add_region(ARENA_PA, (end0 - ARENA_PA) >> 12);
	usable[0][1] = end0;
	usable[1][0] = add_region(start1, (end1 - start1) >> 12);
	usable[1][1] = end1;
	m.owned = calloc(64 * MiB >> 12, 1);
	m.held_pa = calloc(m.cap, sizeof(*m.held_pa));
	m.held_order = calloc(m.cap, sizeof(*m.held_order));
	buddy_model_run(&m, (const uint64_t (*)[2])usable, 2, 200000);
	KT_CHECK(frame_check() == 0, "invariants after the run");
	KT_CHECK(frame_free_count() == frame_total_count(), "every frame returned");
	/* Fully merged: every chunk wholly inside usable space is one order-9
	 * block, and the rest comes out as order-0 frames. */
	while ((pa = frame_alloc(FRAME_MAX_ORDER)) != 0)
		n9++;
	while ((pa = frame_alloc(0)) != 0)
		n0++;
	for (int r = 0; r < 2; r++) {
		uint64_t lo = (usable[r][0] + 2 * MiB - 1) & ~(2 * MiB - 1), hi = usable[r][1] & ~(2 * MiB - 1);

		n9 -= hi > lo ? (hi - lo) / (2 * MiB) : 0;
	}
	KT_CHECK(n9 == 0, "order-9 blocks differ from whole usable chunks by %lld", (long long)n9);
	KT_CHECK(frame_free_count() == 0 && n0 > 0, "exhausted (%llu order-0 left over)",
		 (unsigned long long)n0);
	free(m.owned);
	free(m.held_pa);
	free(m.held_order);
}

/* Per-CPU caches: several host CPUs allocate and free concurrently. */
#define PCPU_THREADS 4
#define PCPU_OPS 60000
#define PCPU_HELD 128

static uint64_t pcpu_allocs[PCPU_THREADS];
static int pcpu_errors;

static void *pcpu_worker(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg, seed = id * 7919 + (unsigned)ktest_seed, n = 0;
	uint64_t held[PCPU_HELD], tag = (uint64_t)id << 56;
	unsigned ord[PCPU_HELD];

	if (hostcpu_register() < 0)
		return (void *)1;
	for (unsigned op = 0; op < PCPU_OPS; op++) {
		if (n < PCPU_HELD && (n == 0 || rand_r(&seed) % 2)) {
			unsigned o = rand_r(&seed) % 8 ? 0 : 1 + rand_r(&seed) % 3;
			uint64_t pa = frame_alloc(o);

			if (!pa)
				continue;
			pcpu_allocs[id]++;
			*(uint64_t *)phys_to_virt(pa) = tag | pa;
			held[n] = pa;
			ord[n++] = o;
		} else {
			unsigned i = (unsigned)rand_r(&seed) % n;

			if (*(uint64_t *)phys_to_virt(held[i]) != (tag | held[i]))
				ck_pr_inc_int(&pcpu_errors);
			frame_free(held[i], ord[i]);
			held[i] = held[--n];
			ord[i] = ord[n];
		}
	}
	while (n--)
		frame_free(held[n], ord[n]);
	frame_pcpu_drain();
	hostcpu_unregister();
	return NULL;
}

static void run_threads(void *(*fn)(void *), unsigned n)
{
	pthread_t t[16];

	for (unsigned i = 0; i < n; i++)
		pthread_create(&t[i], NULL, fn, (void *)(uintptr_t)i);
	for (unsigned i = 0; i < n; i++) {
		void *rc;

		pthread_join(t[i], &rc);
		KT_CHECK(rc == NULL, "thread %u failed to register", i);
	}
}

KTEST(frame_pcpu_threads)
{
	struct frame_stats st;
	uint64_t allocs = 0;

	kmem_setup(32 * MiB, false, 64, 16);
	add_region(ARENA_PA, 32 * MiB >> 12);
	pcpu_errors = 0;
	run_threads(pcpu_worker, PCPU_THREADS);
	for (int i = 0; i < PCPU_THREADS; i++)
		allocs += pcpu_allocs[i];
	frame_stats_get(&st);
	KT_CHECK(pcpu_errors == 0, "%d frames overwritten while held", pcpu_errors);
	KT_CHECK(frame_check() == 0, "buddy invariants");
	KT_CHECK(st.free_pcpu == 0 && st.free_buddy + st.untouched == st.total,
		 "every frame back in the buddy (buddy %llu untouched %llu total %llu)",
		 (unsigned long long)st.free_buddy, (unsigned long long)st.untouched,
		 (unsigned long long)st.total);
	KT_CHECK(st.pcpu_refills > 0 && st.pcpu_refills * 8 < allocs,
		 "caches served most order-0 allocations (%llu refills, %llu allocs)",
		 (unsigned long long)st.pcpu_refills, (unsigned long long)allocs);
	printf("# %llu allocations, %llu refills, %llu drains\n", (unsigned long long)allocs,
	       (unsigned long long)st.pcpu_refills, (unsigned long long)st.pcpu_drains);
}

/* Racing first touches: every thread calls frame_page on every frame,
 * starting together from a barrier, half of them walking backwards. */
#define RACE_THREADS 4
static uint64_t race_npages;
static pthread_barrier_t race_barrier;

static void *race_worker(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;

	if (hostcpu_register() < 0)
		return (void *)1;
	pthread_barrier_wait(&race_barrier);
	for (uint64_t i = 0; i < race_npages; i += 1 + (i & 7)) {
		uint64_t k = id & 1 ? race_npages - 1 - i : i;
		struct page *pg = frame_page(ARENA_PA + k * FRAME_SIZE);

		if (!pg || frame_page_pa(pg) != ARENA_PA + k * FRAME_SIZE)
			ck_pr_inc_int(&pcpu_errors);
	}
	if (id == 0)	/* one allocator among the readers */
		for (int i = 0; i < 1000; i++)
			frame_free(frame_alloc(0), 0);
	frame_pcpu_drain();
	hostcpu_unregister();
	return NULL;
}

KTEST(frame_chunk_race)
{
	struct frame_stats st;
	int bad = 0;

	pthread_barrier_init(&race_barrier, NULL, RACE_THREADS);
	debug_yield_enable(64);
	for (int round = 0; round < 20; round++) {
		kmem_setup(128 * MiB, true, 64, 16);
		race_npages = 128 * MiB >> 12;
		frame_add_region(ARENA_PA, race_npages);
		pcpu_errors = 0;
		run_threads(race_worker, RACE_THREADS);
		frame_stats_get(&st);
		bad += pcpu_errors != 0 || st.chunks_ready != st.chunks || st.untouched != 0 ||
		       st.free_buddy != st.total || frame_check() != 0;
	}
	debug_yield_enable(0);
	pthread_barrier_destroy(&race_barrier);
	KT_CHECK(bad == 0, "%d of 20 rounds: wrong pages, chunks not ready once, or frames "
		 "given to the buddy twice (last: buddy %llu, total %llu)", bad,
		 (unsigned long long)st.free_buddy, (unsigned long long)st.total);
}

/* add_region_cold: time a cold frame_add_region of len bytes at the arena
 * start; returns ns, and the pages it made resident in *touched. */
static uint64_t add_region_cold(uint64_t len, size_t *touched)
{
	uint64_t t0, t1;
	size_t r0;

	kmem_setup(len, true, 128, 32);
	r0 = arena_resident();
	t0 = arena_now_ns();
	frame_add_region(ARENA_PA, len >> 12);
	t1 = arena_now_ns();
	*touched = arena_resident() - r0;
	return t1 - t0;
}

KTEST(frame_lazy_16g)
{
	struct frame_stats st;
	size_t touched1, touched16, r0;
	uint64_t t1 = add_region_cold(1 * GiB, &touched1), t16 = add_region_cold(16 * GiB, &touched16);
	static uint64_t held[10000];

	printf("# frame_add_region cold: 1 GiB %llu ns (%zu pages touched), 16 GiB %llu ns (%zu pages touched)\n",
	       (unsigned long long)t1, touched1, (unsigned long long)t16, touched16);
	KT_CHECK(touched1 <= 2 && touched16 <= 2, "add_region touched %zu / %zu pages", touched1, touched16);
	KT_CHECK(frame_total_count() == (16 * GiB >> 12) - expect_meta(ARENA_PA >> 12, 16 * GiB >> 12),
		 "total of 16 GiB");
	r0 = arena_resident();
	for (int i = 0; i < 10000; i++)
		KT_CHECK((held[i] = frame_alloc(0)) != 0, "alloc %d", i);
	frame_stats_get(&st);
	KT_CHECK(st.chunks_ready <= 22, "10000 frames readied %llu chunks", (unsigned long long)st.chunks_ready);
	KT_CHECK(arena_resident() - r0 <= st.chunks_ready * (512 * sizeof(struct page) / 4096) + 1, "%zu pages resident for %llu chunks",
		 arena_resident() - r0, (unsigned long long)st.chunks_ready);
	for (int i = 0; i < 10000; i++)
		frame_free(held[i], 0);
	KT_CHECK(frame_page(ARENA_PA + 16 * GiB - FRAME_SIZE) != NULL, "last frame has a page");
	frame_stats_get(&st);
	KT_CHECK(st.chunks_ready <= 23 && st.chunks == 8192, "frame_page readied one more chunk");
	KT_CHECK(frame_free_count() == frame_total_count(), "every frame free");
	KT_CHECK(frame_check() == 0, "buddy invariants");
	frame_reset();
	arena_destroy();
}

KTEST(frame_pcpu_drain_on_failure)
{
	static uint64_t pa[1024];
	uint64_t n = 0, n9 = 0;

	kmem_setup(4 * MiB, false, 64, 16);
	add_region(ARENA_PA, 4 * MiB >> 12);
	while (n < 1024 && (pa[n] = frame_alloc(0)) != 0)
		n++;
	KT_CHECK(n == frame_total_count(), "%llu order-0 frames", (unsigned long long)n);
	while (n)
		frame_free(pa[--n], 0);	/* the last 48..64 stay in this CPU's cache */
	while (frame_alloc(FRAME_MAX_ORDER))
		n9++;
	KT_CHECK(n9 == 1, "the whole usable chunk came back as one block (%llu)", (unsigned long long)n9);
}

/* frame_selftest, the in-kernel stress loop, on several host CPUs. */
static int selftest_rc[4];

static void *selftest_worker(void *arg)
{
	unsigned id = (unsigned)(uintptr_t)arg;

	if (hostcpu_register() < 0)
		return (void *)1;
	selftest_rc[id] = frame_selftest(20000, 0x5e1f0000ull + id);
	hostcpu_unregister();
	return NULL;
}

KTEST(frame_selftest_threads)
{
	kmem_setup(16 * MiB, false, 64, 16);
	add_region(ARENA_PA, 16 * MiB >> 12);
	run_threads(selftest_worker, 4);
	for (int i = 0; i < 4; i++)
		KT_CHECK(selftest_rc[i] == 0, "cpu %d: selftest %d", i, selftest_rc[i]);
	KT_CHECK(frame_free_count() == frame_total_count(), "every frame returned");
	KT_CHECK(frame_check() == 0, "buddy invariants");
}

static void double_free(void)
{
	uint64_t pa = frame_alloc(2);

	frame_free(pa, 2);
	frame_free(pa, 2);
}

static void wrong_order(void)
{
	frame_free(frame_alloc(1), 0);
}

static void pcpu_double_free(void)
{
	uint64_t pa = frame_alloc(0);

	frame_free(pa, 0);
	frame_free(pa, 0);
}

KTEST(frame_misuse_panics)
{
	kmem_setup(8 * MiB, false, 64, 16);
	add_region(ARENA_PA, 8 * MiB >> 12);
	KT_CHECK(ktest_dies_by_panic(double_free), "double free panics");
	KT_CHECK(ktest_dies_by_panic(wrong_order), "free with the wrong order panics");
	KT_CHECK(ktest_dies_by_panic(pcpu_double_free), "double free into the per-CPU cache panics");
	KT_CHECK(frame_free_count() == frame_total_count(), "parent unaffected");
}

int main(int argc, char **argv)
{
	if (hostcpu_register() < 0)
		return 2;
	return ktest_main(argc, argv);
}
