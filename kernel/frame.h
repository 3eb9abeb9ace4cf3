/*
 * kernel/frame.h - the physical frame allocator: a buddy allocator with
 * per-CPU caches of order-0 frames and lazily initialised per-frame metadata.
 *
 * Portable C on sync/env.h: the same .c files build freestanding into the
 * kernel and into the host unit tests. Design notes: docs/kmem.md.
 *
 * Memory and metadata
 *   frame_add_region() registers usable RAM. It carves the region's own
 *   struct page array (64 bytes per frame) and two chunk bitmaps out of the
 *   region's first frames, but writes only the bitmaps (2 bits per 2 MiB
 *   chunk): boot time does not grow with RAM (the OpenVMM lesson). The 512
 *   struct pages of a chunk (32 KiB) are written on first use: when the
 *   buddy runs dry and claims a fresh chunk, or when frame_page() is asked
 *   about a frame in it. A lock-free "ready" bitmap answers "are this chunk's
 *   struct pages valid?" with one load on the fast path.
 *
 * Buddy and per-CPU caches
 *   Blocks of 2^order frames, order 0..FRAME_MAX_ORDER (one chunk, 2 MiB),
 *   sit on per-order free lists under one spinlock (the zone lock). Each CPU
 *   keeps a private stack of up to frame_pcpu_high order-0 frames, refilled
 *   from and drained to the buddy in batches of frame_pcpu_batch under one
 *   lock acquisition. Frames in per-CPU caches count as free.
 *
 * Environment hook (the kernel and each host test provide it)
 *   void *phys_to_virt(uint64_t pa)   linear over every registered region
 *
 * Context: every function may spin on the zone lock; none may be called from
 * an interrupt handler (the per-CPU caches are protected by preempt_disable
 * only, like sync/pcpu_counter.h). Host threads must be registered CPUs.
 *
 * Synchronization table
 *   alloc  || alloc/free (any CPUs)    yes: per-CPU cache, then zone lock
 *   alloc/free || frame_page           yes: ready bit read with acquire
 *   add_region || alloc/free/page      yes: region published by a release
 *                                      store of the region count
 *   add_region || add_region           yes: serialised by the region lock
 *   pcpu_drain                         this CPU's cache only
 *   frame_check                        any time (takes the zone lock; sees
 *                                      the buddy only, not per-CPU caches)
 *   frame_reset                        exclusive (tests and boot only)
 *
 * struct page fields. Legend: (A) atomic via ck_pr; (C) constant once the
 * chunk is ready; (Z) zone lock; (P) the owning CPU's per-CPU cache, with
 * preemption disabled; (O) the owner of the allocated block. frame_alloc
 * initialises the first struct page of a block: refcount 1, mapcount 0,
 * level 0, next NULL, ptl unlocked; mm/ kind bits start clear.
 */
#ifndef KESTREL_KERNEL_FRAME_H
#define KESTREL_KERNEL_FRAME_H

#include "sync/env.h"
#include "sync/spinlock.h"
#include "sync/rcu.h"

#define FRAME_SHIFT		12
#define FRAME_SIZE		(1ull << FRAME_SHIFT)
#define FRAME_CHUNK_ORDER	9	/* 2 MiB chunks: one large page */
#define FRAME_CHUNK_FRAMES	(1ull << FRAME_CHUNK_ORDER)
#define FRAME_MAX_ORDER		FRAME_CHUNK_ORDER	/* blocks never span chunks */
#define FRAME_NORDERS		(FRAME_MAX_ORDER + 1)
#define FRAME_MAX_REGIONS	64

/* page flags (struct page.flags): bits 0..7 belong to the allocators here,
 * bits 8..15 to mm/ (the PG_* kinds of mm/pmap.h), the rest are free. */
#define PG_FREE		(1u << 0)	/* head of a free buddy block; order valid (Z) */
#define PG_PCPU		(1u << 1)	/* order-0 frame in a per-CPU cache (P) */
#define PG_RESERVED	(1u << 2)	/* never allocatable: metadata, outside the region */
#define PG_SLAB		(1u << 3)	/* first frame of a slab (kernel/slab.c) */
#define PG_PORT_MASK	0xffu

struct page_link {
	struct page_link *next, *prev;
};

/*
 * One cache line per frame. The first half is the allocator's; the second
 * carries what mm/pmap.h requires of the port's struct page (next, ptl,
 * rcu, level). link and rcu share storage: link is used only while the
 * frame is free or cached, rcu only while it is allocated (a deferred free
 * ends in frame_free).
 */
struct page {
	uint32_t flags;		/* (A) PG_*; RMW only with ck_pr_or/and_32 */
	uint32_t refcount;	/* (A) 1 on return from frame_alloc, 0 when free */
	int32_t mapcount;	/* (A) page-table mappings; must be 0 to free */
	uint8_t order;		/* (Z) while PG_FREE; (O) allocation order */
	uint8_t region;		/* (C) index into the region table */
	uint16_t level;		/* (O) mm: page-table level of a PG_PT frame */
	union {
		struct page_link link;	/* (Z) buddy list while PG_FREE;
					 * (P) per-CPU stack while PG_PCPU */
		struct rcu_head rcu;	/* (O) mm: deferred free (call_rcu) */
	};
	struct page *next;	/* (O) mm: gather / free lists; NULL from frame_alloc */
	struct spinlock ptl;	/* mm: split page-table lock of a PG_PT frame;
				 * initialised (unlocked) by frame_alloc */
};

#ifdef __cplusplus
static_assert(sizeof(struct page) == 64, "struct page: one cache line");
#else
_Static_assert(sizeof(struct page) == 64, "struct page: one cache line");
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Provided by the environment: the direct-map address of physical pa. */
void *phys_to_virt(uint64_t pa);

void frame_add_region(uint64_t pa, uint64_t npages);
uint64_t frame_alloc(unsigned order);
void frame_free(uint64_t pa, unsigned order);
struct page *frame_page(uint64_t pa);
uint64_t frame_page_pa(const struct page *pg);
uint64_t frame_va_to_pa(const void *va);
uint64_t frame_free_count(void);
uint64_t frame_total_count(void);

void frame_pcpu_drain(void);
void frame_pcpu_set_limits(unsigned high, unsigned batch);

struct frame_stats {
	uint64_t total;			/* allocatable frames */
	uint64_t free_buddy;		/* frames on the buddy free lists */
	uint64_t free_pcpu;		/* frames in per-CPU caches */
	uint64_t untouched;		/* frames in chunks not yet initialised */
	uint64_t chunks;		/* chunks over all regions */
	uint64_t chunks_ready;		/* chunks whose struct pages are valid */
	uint64_t blocks[FRAME_NORDERS];	/* free blocks per order */
	uint64_t pcpu_refills;		/* batch refills, all CPUs */
	uint64_t pcpu_drains;		/* batch drains, all CPUs */
	unsigned regions;
};
void frame_stats_get(struct frame_stats *st);
int frame_check(void);
int frame_selftest(unsigned ops, uint64_t tag);
void frame_reset(void);

#ifdef __cplusplus
}
#endif

#endif /* KESTREL_KERNEL_FRAME_H */
