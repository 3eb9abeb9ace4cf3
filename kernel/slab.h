/*
 * kernel/slab.h - the kernel heap: slab caches of small objects on top of
 * the frame allocator, and kmalloc/kfree.
 *
 *   kmalloc(size)        size <= 2048: the power-of-two class >= size
 *                        (16 B .. 2 KiB), aligned to the class size;
 *                        larger: whole frames from the buddy (page-aligned).
 *                        NULL when out of memory. Never sleeps.
 *   kfree(p, size)       size as passed to kmalloc; NULL is ignored.
 * So env_alloc/env_free (sync/env.h: aligned to the smallest power of two
 * >= size, capped at 4096) are kmalloc/kfree directly.
 *
 * A slab is 2^order frames (order chosen so a slab holds >= 7 objects)
 * with a struct kmem_slab header at its start; slabs are aligned to their
 * size, so kmem_cache_free finds the header by masking the address.
 *
 * Debug mode (KMEM_POISON, on for kmalloc caches in KESTREL_DEBUG builds):
 * freed objects are filled with KMEM_POISON_FREE (0x6b) except the free-list
 * link word; allocation checks the poison and the link, and frees check for
 * double frees. A violation calls kmem_corrupt_hook if set (tests), which
 * quarantines the object, else panics naming the cache.
 *
 * Synchronization table (per cache)
 *   alloc || alloc/free   yes: serialised by cache->lock (held for O(1),
 *                         or O(objects per slab) in debug checks)
 *   alloc/free || shrink  yes
 *   init / destroy        exclusive; destroy needs every object freed
 * cache->lock is never held across frame_alloc/frame_free (lock order in
 * kernel/frame_internal.h).
 *
 * Fields. Legend: (C) constant after kmem_cache_init; (L) cache->lock.
 */
#ifndef KESTREL_KERNEL_SLAB_H
#define KESTREL_KERNEL_SLAB_H

#include "sync/env.h"
#include "sync/spinlock.h"

#define KMEM_MIN_SHIFT		4	/* 16 B */
#define KMEM_MAX_SHIFT		11	/* 2 KiB */
#define KMEM_NCLASSES		(KMEM_MAX_SHIFT - KMEM_MIN_SHIFT + 1)
#define KMEM_POISON_FREE	0x6b
#define KMEM_SLAB_MAGIC		0x51ab51abu

/* kmem_cache flags */
#define KMEM_POISON	(1u << 0)

struct kmem_slab {
	struct kmem_slab *next, *prev;	/* (L) on cache->partial */
	struct kmem_cache *cache;	/* (C) */
	void *free;			/* (L) free objects, linked through word 0 */
	uint32_t inuse;			/* (L) objects handed out or quarantined */
	uint32_t magic;			/* (C) KMEM_SLAB_MAGIC */
	uint64_t pad[3];
};

#ifdef __cplusplus
static_assert(sizeof(struct kmem_slab) == 64, "kmem_slab: one cache line");
#else
_Static_assert(sizeof(struct kmem_slab) == 64, "kmem_slab: one cache line");
#endif

struct kmem_cache {
	struct spinlock lock;
	struct kmem_slab *partial;	/* (L) slabs with a free object, doubly linked */
	uint32_t size;			/* (C) object stride (multiple of align) */
	uint32_t align;			/* (C) */
	uint32_t order;			/* (C) slab = 2^order frames */
	uint32_t first;			/* (C) offset of object 0 in a slab */
	uint32_t per_slab;		/* (C) objects per slab */
	uint32_t flags;			/* (C) KMEM_* */
	const char *name;		/* (C) */
	uint64_t nslabs;		/* (L) slabs owned */
	uint64_t nempty;		/* (L) slabs with inuse == 0 (kept: at most 1) */
	uint64_t ninuse;		/* (L) objects handed out */
	uint64_t ncorrupt;		/* (L) objects quarantined after a poison hit */
};

#ifdef __cplusplus
extern "C" {
#endif

/* Tests set this to observe corruption instead of panicking. what is
 * "use-after-free write", "corrupt free link" or "double free". */
extern void (*kmem_corrupt_hook)(struct kmem_cache *c, void *obj, size_t off,
				 const char *what);

void kmem_cache_init(struct kmem_cache *c, const char *name, size_t size,
		     size_t align, unsigned flags);
void kmem_cache_destroy(struct kmem_cache *c);
void *kmem_cache_alloc(struct kmem_cache *c);
void kmem_cache_free(struct kmem_cache *c, void *obj);
void kmem_cache_shrink(struct kmem_cache *c);

void *kmalloc(size_t size);
void kfree(void *p, size_t size);
void kmem_shrink_all(void);
void kmem_reset(void);
struct kmem_cache *kmalloc_cache(size_t size);

#ifdef __cplusplus
}
#endif

#endif /* KESTREL_KERNEL_SLAB_H */
