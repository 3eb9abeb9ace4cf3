/*
 * kernel/frame_internal.h - what frame.c (regions, lazy chunks) and
 * frame_buddy.c (buddy, per-CPU caches) share. Not for other callers.
 *
 * Region layout (physical, from the region's first frame):
 *   [struct page map[nchunks * 512]] [ready bitmap] [claimed bitmap] | usable
 *   ^start_pfn                                           meta_end_pfn^
 * map[0] describes base_pfn = start_pfn rounded down to a chunk, so that
 * chunk c's struct pages are map[c*512 .. c*512+511] and a buddy never
 * leaves its chunk. Frames of an edge chunk outside [start, end) and the
 * metadata frames themselves are PG_RESERVED once their chunk is ready.
 *
 * Lock order (kernel/ allocators; all are leaves of everything else):
 *   kmem_cache.lock  -- never held across frame_alloc/frame_free
 *   frame_region_lock -> (nothing)
 *   frame_zone.lock   -> (nothing)
 */
#ifndef KESTREL_KERNEL_FRAME_INTERNAL_H
#define KESTREL_KERNEL_FRAME_INTERNAL_H

#include "kernel/frame.h"
#include "sync/spinlock.h"
#include <ck_pr.h>

/* Fields (C) once published by frame_nregions, except where tagged. */
struct frame_region {
	uint64_t start_pfn, end_pfn;	/* usable span [start, end) incl. metadata */
	uint64_t base_pfn;		/* start_pfn rounded down to a chunk */
	uint64_t meta_end_pfn;		/* frames [start, meta_end) hold metadata */
	uint64_t nchunks;
	uint64_t first_chunk;		/* first chunk with allocatable frames */
	uint64_t nwords;		/* 64-bit words per bitmap */
	struct page *map;		/* direct-map address of map[0] */
	uint64_t *ready;		/* (A) set once, after the chunk's pages */
	uint64_t *claimed;		/* (A) set once, by the chunk's initialiser */
	uint64_t claim_hint;		/* (A) advisory: words below are full */
	uintptr_t va_start, va_end;	/* direct-map span of [start, end) */
};

struct frame_zone {
	struct spinlock lock;
	struct page_link free[FRAME_NORDERS];	/* (Z) NULL-terminated lists */
	uint64_t nblocks[FRAME_NORDERS];	/* (Z) */
	uint64_t nr_free;			/* (Z) written, (A) read by stats */
};

struct frame_pcpu {
	struct page *head;	/* (P) stack linked through link.next */
	uint32_t count;		/* (P) written by the owner, (A) read by stats */
	uint32_t pad;
	uint64_t refills;	/* (P) written by the owner, (A) read by stats */
	uint64_t drains;	/* (P) written by the owner, (A) read by stats */
} __cacheline_aligned;

extern struct frame_region frame_regions[FRAME_MAX_REGIONS];
extern unsigned frame_nregions;		/* (A) release-published count */
extern uint64_t frame_untouched;	/* (A) frames in unclaimed chunks */
extern uint64_t frame_total;		/* (A) allocatable frames */
extern struct frame_zone frame_zone;
extern struct frame_pcpu frame_pcpu[NCPU_MAX];

/* frame_nregions_get: how many region descriptors are valid to read. */
static inline unsigned frame_nregions_get(void)
{
	unsigned n = ck_pr_load_uint(&frame_nregions);

	ck_pr_fence_load();	/* acquire: descriptors below n are complete */
	return n;
}

/* frame_chunk_ready: are chunk c's struct pages initialised? */
static inline bool frame_chunk_ready(const struct frame_region *r, uint64_t c)
{
	bool ready = (ck_pr_load_64(&r->ready[c / 64]) >> (c % 64)) & 1;

	ck_pr_fence_load();	/* acquire: pairs with the initialiser's store fence */
	return ready;
}

/* frame_region_pfn: the region holding usable-span frame pfn, or NULL. */
static inline struct frame_region *frame_region_pfn(uint64_t pfn)
{
	unsigned n = frame_nregions_get();

	for (unsigned i = 0; i < n; i++) {
		struct frame_region *r = &frame_regions[i];

		if (pfn >= r->start_pfn && pfn < r->end_pfn)
			return r;
	}
	return NULL;
}

static inline struct page *frame_region_page(const struct frame_region *r, uint64_t pfn)
{
	return &r->map[pfn - r->base_pfn];
}

static inline uint64_t frame_pfn_of(const struct page *pg)
{
	const struct frame_region *r = &frame_regions[pg->region];

	return r->base_pfn + (uint64_t)(pg - r->map);
}

bool frame_chunk_grow(void);
void frame_buddy_add_range(struct frame_region *r, uint64_t pfn, uint64_t end);
void frame_buddy_reset(void);

#endif /* KESTREL_KERNEL_FRAME_INTERNAL_H */
