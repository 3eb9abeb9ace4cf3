/*
 * kernel/frame.c - memory regions and lazy initialisation of per-frame
 * metadata in 2 MiB chunks. The buddy and per-CPU caches are in
 * frame_buddy.c; the design is in docs/kmem.md.
 *
 * Chunk protocol (per region, bit c of two bitmaps; bits are set, never
 * cleared except by frame_reset):
 *   claimed[c]  set by an atomic test-and-set (ck_pr_bts_64); the one CPU
 *               that flips it 0->1 owns the chunk's initialisation.
 *   ready[c]    set by that owner after writing the chunk's 512 struct
 *               pages, behind a store fence; readers load it and then fence
 *               loads before reading any struct page of the chunk.
 * Why it is correct: struct pages of chunk c are written only between the
 * winning bts and the ready store, by one CPU (claimed is a mutex that is
 * never released). Anyone who sees ready[c] = 1 after its load fence sees
 * those writes (store fence before, load fence after: message passing).
 * Frames enter the buddy only after ready[c] is set, so a frame obtained
 * from frame_alloc always has valid metadata, and the buddy, which merges
 * only within a chunk, never reads an uninitialised struct page. A CPU that
 * finds claimed[c] set but ready[c] clear waits: initialisation is 32 KiB of
 * stores with preemption disabled, so the wait is short and bounded.
 */
#include "kernel/frame_internal.h"

struct frame_region frame_regions[FRAME_MAX_REGIONS];
unsigned frame_nregions;
uint64_t frame_untouched;
uint64_t frame_total;
static struct spinlock frame_region_lock = SPINLOCK_INITIALIZER("frame_regions");

/* frame_region_layout: fill r's geometry for frames [start, end).
 * Returns the metadata size in frames. */
static uint64_t frame_region_layout(struct frame_region *r, uint64_t start, uint64_t end)
{
	uint64_t map_bytes, meta_bytes;

	r->start_pfn = start;
	r->end_pfn = end;
	r->base_pfn = start & ~(FRAME_CHUNK_FRAMES - 1);
	r->nchunks = (end - r->base_pfn + FRAME_CHUNK_FRAMES - 1) >> FRAME_CHUNK_ORDER;
	r->nwords = (r->nchunks + 63) / 64;
	map_bytes = r->nchunks * FRAME_CHUNK_FRAMES * sizeof(struct page);
	meta_bytes = map_bytes + 2 * r->nwords * sizeof(uint64_t);
	return (meta_bytes + FRAME_SIZE - 1) >> FRAME_SHIFT;
}

/* frame_region_overlaps: does [start, end) intersect a registered region?
 * Called with frame_region_lock held. */
static bool frame_region_overlaps(uint64_t start, uint64_t end)
{
	for (unsigned i = 0; i < frame_nregions; i++)
		if (start < frame_regions[i].end_pfn && frame_regions[i].start_pfn < end)
			return true;
	return false;
}

/* frame_region_publish: point r at its metadata, clear the bitmaps, and make
 * it visible as region number idx. Called with frame_region_lock held. */
static void frame_region_publish(struct frame_region *r, unsigned idx, uint64_t meta)
{
	uint64_t tail = r->nwords * 64 - r->nchunks;

	r->meta_end_pfn = r->start_pfn + meta;
	r->first_chunk = (r->meta_end_pfn - r->base_pfn) >> FRAME_CHUNK_ORDER;
	/* The map covers whole chunks from base_pfn but lives at start_pfn:
	 * frames below the region (base_pfn..start_pfn) are not ours. */
	r->map = phys_to_virt(r->start_pfn << FRAME_SHIFT);
	r->ready = (uint64_t *)(r->map + r->nchunks * FRAME_CHUNK_FRAMES);
	r->claimed = r->ready + r->nwords;
	memset(r->ready, 0, 2 * r->nwords * sizeof(uint64_t));
	if (tail)	/* bits past the last chunk: never claimable */
		r->claimed[r->nwords - 1] = ~0ull << (64 - tail);
	r->claim_hint = r->first_chunk / 64;
	r->va_start = (uintptr_t)phys_to_virt(r->start_pfn << FRAME_SHIFT);
	r->va_end = r->va_start + ((r->end_pfn - r->start_pfn) << FRAME_SHIFT);
	ck_pr_add_64(&frame_total, r->end_pfn - r->meta_end_pfn);
	ck_pr_add_64(&frame_untouched, r->end_pfn - r->meta_end_pfn);
	ck_pr_fence_store();	/* release: descriptor and bitmaps before the count */
	ck_pr_store_uint(&frame_nregions, idx + 1);
}

/* frame_add_region: register npages frames of RAM at pa (frame-aligned).
 * Costs O(chunks / 64) word stores; no struct page is written. A region
 * too small to hold its own metadata, or overlapping another, is skipped
 * with a message. */
void frame_add_region(uint64_t pa, uint64_t npages)
{
	struct frame_region *r;
	uint64_t start = pa >> FRAME_SHIFT, meta;

	KASSERT(pa % FRAME_SIZE == 0, "frame_add_region: pa %#llx unaligned",
		(unsigned long long)pa);
	spin_lock(&frame_region_lock);
	if (frame_nregions == FRAME_MAX_REGIONS || !npages ||
	    frame_region_overlaps(start, start + npages)) {
		printk("frame_add_region: skipping %#llx+%llu frames (full or overlap)\n",
		       (unsigned long long)pa, (unsigned long long)npages);
		goto out_unlock;
	}
	r = &frame_regions[frame_nregions];
	meta = frame_region_layout(r, start, start + npages);
	if (meta >= npages) {
		printk("frame_add_region: %#llx+%llu frames too small for its metadata\n",
		       (unsigned long long)pa, (unsigned long long)npages);
		goto out_unlock;
	}
	frame_region_publish(r, frame_nregions, meta);
out_unlock:
	spin_unlock(&frame_region_lock);
}

/* frame_chunk_init: write chunk c's struct pages, publish it ready, then
 * give its allocatable frames to the buddy. Caller won claimed[c]. */
static void frame_chunk_init(struct frame_region *r, uint64_t c)
{
	uint64_t pfn0 = r->base_pfn + (c << FRAME_CHUNK_ORDER);
	uint64_t lo = pfn0 > r->meta_end_pfn ? pfn0 : r->meta_end_pfn;
	uint64_t hi = pfn0 + FRAME_CHUNK_FRAMES < r->end_pfn ? pfn0 + FRAME_CHUNK_FRAMES : r->end_pfn;
	struct page *pg = frame_region_page(r, pfn0);
	uint8_t idx = (uint8_t)(r - frame_regions);

	preempt_disable();	/* bounded wait for CPUs spinning on ready[c] */
	memset(pg, 0, FRAME_CHUNK_FRAMES * sizeof(*pg));
	for (uint64_t i = 0; i < FRAME_CHUNK_FRAMES; i++) {
		pg[i].region = idx;
		if (pfn0 + i < lo || pfn0 + i >= hi)
			pg[i].flags = PG_RESERVED;
	}
	DEBUG_YIELD();		/* host torture: widen the claimed-not-ready window */
	ck_pr_fence_store();	/* release: struct pages before ready[c] */
	ck_pr_or_64(&r->ready[c / 64], 1ull << (c % 64));
	preempt_enable();
	if (lo < hi) {
		ck_pr_sub_64(&frame_untouched, hi - lo);
		frame_buddy_add_range(r, lo, hi);
	}
}

/* frame_chunk_ensure: return once chunk c's struct pages are valid,
 * initialising the chunk if no other CPU has claimed it. */
static void frame_chunk_ensure(struct frame_region *r, uint64_t c)
{
	if (!ck_pr_bts_64(&r->claimed[c / 64], c % 64)) {
		frame_chunk_init(r, c);
		return;
	}
	while (!frame_chunk_ready(r, c))
		cpu_relax();
}

/* frame_region_grow: claim and initialise r's first unclaimed allocatable
 * chunk. False if every such chunk is claimed. */
static bool frame_region_grow(struct frame_region *r)
{
	for (uint64_t w = ck_pr_load_64(&r->claim_hint); w < r->nwords; w++) {
		uint64_t below = 0, v;

		if (w == r->first_chunk / 64)	/* metadata-only chunks: frame_page's */
			below = (1ull << (r->first_chunk % 64)) - 1;
		while ((v = ck_pr_load_64(&r->claimed[w]) | below) != ~0ull) {
			unsigned b = (unsigned)__builtin_ctzll(~v);

			if (!ck_pr_bts_64(&r->claimed[w], b)) {
				frame_chunk_init(r, w * 64 + b);
				return true;
			}
		}
		if (ck_pr_load_64(&r->claim_hint) == w)	/* advisory, races harmless */
			ck_pr_cas_64(&r->claim_hint, w, w + 1);
	}
	return false;
}

/* frame_chunk_grow: bring one more chunk into the buddy; false if RAM has
 * no unclaimed chunk left. Called without locks. */
bool frame_chunk_grow(void)
{
	unsigned n = frame_nregions_get();

	for (unsigned i = 0; i < n; i++)
		if (frame_region_grow(&frame_regions[i]))
			return true;
	return false;
}

/* frame_page: the struct page of frame pa, initialising its chunk on first
 * use; NULL if pa is not in a registered region. */
struct page *frame_page(uint64_t pa)
{
	uint64_t pfn = pa >> FRAME_SHIFT;
	struct frame_region *r = frame_region_pfn(pfn);
	uint64_t c;

	if (!r)
		return NULL;
	c = (pfn - r->base_pfn) >> FRAME_CHUNK_ORDER;
	if (unlikely(!frame_chunk_ready(r, c)))
		frame_chunk_ensure(r, c);
	return frame_region_page(r, pfn);
}

/* frame_page_pa: the physical address pg describes. */
uint64_t frame_page_pa(const struct page *pg)
{
	return frame_pfn_of(pg) << FRAME_SHIFT;
}

/* frame_va_to_pa: physical address of direct-map address va inside a
 * registered region, or 0. */
uint64_t frame_va_to_pa(const void *va)
{
	unsigned n = frame_nregions_get();
	uintptr_t v = (uintptr_t)va;

	for (unsigned i = 0; i < n; i++) {
		const struct frame_region *r = &frame_regions[i];

		if (v >= r->va_start && v < r->va_end)
			return (r->start_pfn << FRAME_SHIFT) + (v - r->va_start);
	}
	return 0;
}

uint64_t frame_total_count(void)
{
	return ck_pr_load_64(&frame_total);
}

/* frame_popcount: set bits of w (no libgcc in the kernel, no popcnt
 * without SSE4.2 guarantees). */
static unsigned frame_popcount(uint64_t w)
{
	unsigned n = 0;

	for (; w; w &= w - 1)
		n++;
	return n;
}

/* frame_stats_get: a snapshot; exact only while no CPU allocates or frees. */
void frame_stats_get(struct frame_stats *st)
{
	unsigned n = frame_nregions_get();

	memset(st, 0, sizeof(*st));
	st->regions = n;
	st->total = frame_total_count();
	st->untouched = ck_pr_load_64(&frame_untouched);
	for (unsigned i = 0; i < n; i++) {
		const struct frame_region *r = &frame_regions[i];

		st->chunks += r->nchunks;
		for (uint64_t w = 0; w < r->nwords; w++)
			st->chunks_ready += frame_popcount(ck_pr_load_64(&r->ready[w]));
	}
	spin_lock(&frame_zone.lock);
	st->free_buddy = frame_zone.nr_free;
	for (unsigned o = 0; o < FRAME_NORDERS; o++)
		st->blocks[o] = frame_zone.nblocks[o];
	spin_unlock(&frame_zone.lock);
	for (unsigned c = 0; c < NCPU_MAX; c++) {
		st->free_pcpu += ck_pr_load_32(&frame_pcpu[c].count);
		st->pcpu_refills += ck_pr_load_64(&frame_pcpu[c].refills);
		st->pcpu_drains += ck_pr_load_64(&frame_pcpu[c].drains);
	}
}

/* frame_reset: forget every region and free frame (boot and tests only:
 * no CPU may be using the allocator, no frame may still be in use). */
void frame_reset(void)
{
	spin_lock(&frame_region_lock);
	ck_pr_store_uint(&frame_nregions, 0);
	memset(frame_regions, 0, sizeof(frame_regions));
	ck_pr_store_64(&frame_total, 0);
	ck_pr_store_64(&frame_untouched, 0);
	frame_buddy_reset();
	spin_unlock(&frame_region_lock);
}
