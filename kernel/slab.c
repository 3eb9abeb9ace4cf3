/*
 * kernel/slab.c - slab caches and kmalloc (contract in kernel/slab.h).
 *
 * Slab states: a slab with a free object is on cache->partial; a full slab
 * is on no list (found again by address masking when an object is freed).
 * When a slab becomes empty the cache keeps it if it has no other empty
 * slab, else returns its frames to the buddy; kmem_cache_shrink returns all.
 *
 * Free objects are linked through their first word. In debug mode the other
 * bytes hold KMEM_POISON_FREE from kfree until the next allocation of the
 * object, which checks them: a write through a stale pointer in between
 * shows up as a poison mismatch (or as a link that does not point at an
 * object of the same slab).
 */
#include "kernel/slab.h"
#include "kernel/frame.h"
#include <ck_pr.h>

#ifdef KESTREL_DEBUG
#define KMEM_DEFAULT_FLAGS KMEM_POISON
#else
#define KMEM_DEFAULT_FLAGS 0u
#endif

void (*kmem_corrupt_hook)(struct kmem_cache *c, void *obj, size_t off, const char *what);

/* kmalloc class sh: 2^sh-byte objects, slabs of >= 7 objects after the
 * header (order 0 up to 512 B, then 1 and 2). */
#define KMEM_CLASS_ORDER(sh)	((sh) <= 9 ? 0u : (sh) - 9u)
#define KMEM_CLASS_FIRST(sh)	((1u << (sh)) > 64u ? (1u << (sh)) : 64u)
#define KMEM_CLASS(sh, nm) { \
	.lock = SPINLOCK_INITIALIZER(nm), .size = 1u << (sh), .align = 1u << (sh), \
	.order = KMEM_CLASS_ORDER(sh), .first = KMEM_CLASS_FIRST(sh), \
	.per_slab = (uint32_t)(((FRAME_SIZE << KMEM_CLASS_ORDER(sh)) - KMEM_CLASS_FIRST(sh)) >> (sh)), \
	.flags = KMEM_DEFAULT_FLAGS, .name = nm }

static struct kmem_cache kmalloc_caches[KMEM_NCLASSES] = {
	KMEM_CLASS(4, "kmalloc-16"), KMEM_CLASS(5, "kmalloc-32"),
	KMEM_CLASS(6, "kmalloc-64"), KMEM_CLASS(7, "kmalloc-128"),
	KMEM_CLASS(8, "kmalloc-256"), KMEM_CLASS(9, "kmalloc-512"),
	KMEM_CLASS(10, "kmalloc-1024"), KMEM_CLASS(11, "kmalloc-2048"),
};

/* kmem_cache_init: a cache of size-byte objects aligned to align (a power
 * of two <= FRAME_SIZE; 0 means pointer alignment). Allocates nothing. */
void kmem_cache_init(struct kmem_cache *c, const char *name, size_t size,
		     size_t align, unsigned flags)
{
	unsigned order = 0;

	if (align < sizeof(void *))
		align = sizeof(void *);
	KASSERT(!(align & (align - 1)) && align <= FRAME_SIZE && size <= (FRAME_SIZE << FRAME_MAX_ORDER) / 2,
		"kmem_cache_init: %s: size %zu align %zu", name, size, align);
	memset(c, 0, sizeof(*c));
	spin_init(&c->lock, name);
	c->name = name;
	c->flags = flags;
	c->align = (uint32_t)align;
	c->size = (uint32_t)((size + align - 1) & ~(align - 1));
	if (c->size < sizeof(void *))
		c->size = sizeof(void *);
	c->first = (uint32_t)((sizeof(struct kmem_slab) + align - 1) & ~(align - 1));
	while (order < FRAME_MAX_ORDER && ((FRAME_SIZE << order) - c->first) / c->size < 7)
		order++;
	c->order = order;
	c->per_slab = (uint32_t)(((FRAME_SIZE << order) - c->first) / c->size);
}

/* kmem_report: a corruption found in c at obj+off: the test hook, or panic. */
static void kmem_report(struct kmem_cache *c, void *obj, size_t off, const char *what)
{
	if (kmem_corrupt_hook)
		kmem_corrupt_hook(c, obj, off, what);
	else
		panic("kmem: %s: %s at %p+%zu", c->name, what, obj, off);
}

static size_t kmem_slab_bytes(const struct kmem_cache *c)
{
	return (size_t)(FRAME_SIZE << c->order);
}

/* kmem_slab_obj_ok: is p the address of an object slot of slab s? */
static bool kmem_slab_obj_ok(const struct kmem_cache *c, const struct kmem_slab *s, const void *p)
{
	uintptr_t off = (uintptr_t)p - (uintptr_t)s;

	return off >= c->first && off < kmem_slab_bytes(c) && (off - c->first) % c->size == 0 &&
	       (off - c->first) / c->size < c->per_slab;
}

/* kmem_slab_new: a fresh slab of c, every object free (and poisoned in
 * debug mode); NULL if the frame allocator is out of memory. */
static struct kmem_slab *kmem_slab_new(struct kmem_cache *c)
{
	uint64_t pa = frame_alloc(c->order);
	struct kmem_slab *s;
	void **link;

	if (!pa)
		return NULL;
	ck_pr_or_32(&frame_page(pa)->flags, PG_SLAB);
	s = phys_to_virt(pa);
	memset(s, 0, sizeof(*s));
	s->cache = c;
	s->magic = KMEM_SLAB_MAGIC;
	if (c->flags & KMEM_POISON)
		memset((char *)s + c->first, KMEM_POISON_FREE, (size_t)c->per_slab * c->size);
	link = &s->free;
	for (uint32_t i = 0; i < c->per_slab; i++) {
		void *obj = (char *)s + c->first + (size_t)i * c->size;

		*link = obj;
		link = obj;
	}
	*link = NULL;
	return s;
}

/* kmem_slab_release: give an empty slab's frames back (no lock held). */
static void kmem_slab_release(struct kmem_cache *c, struct kmem_slab *s)
{
	s->magic = 0;	/* a late kfree into it now fails the magic check */
	frame_free(frame_va_to_pa(s), c->order);
}

/* __kmem_partial_add / __kmem_partial_del: cache->partial list ops. */
static void __kmem_partial_add(struct kmem_cache *c, struct kmem_slab *s)
{
	s->prev = NULL;
	s->next = c->partial;
	if (c->partial)
		c->partial->prev = s;
	c->partial = s;
}

static void __kmem_partial_del(struct kmem_cache *c, struct kmem_slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		c->partial = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->next = s->prev = NULL;
}

typedef uint64_t __attribute__((may_alias)) kmem_word;

/* __kmem_poison_bad: offset of the first non-poison byte of free object obj
 * (the link word excluded), or 0 if intact. Sizes are multiples of 8. */
static size_t __kmem_poison_bad(const struct kmem_cache *c, const void *obj)
{
	const uint64_t poison = 0x0101010101010101ull * KMEM_POISON_FREE;
	const unsigned char *b = obj;

	for (size_t i = sizeof(void *); i < c->size; i += sizeof(uint64_t)) {
		if (*(const kmem_word *)(b + i) == poison)	/* objects are 8-aligned */
			continue;
		while (b[i] == KMEM_POISON_FREE)
			i++;
		return i;
	}
	return 0;
}

/* __kmem_quarantine: take free object obj (head of s->free) out of
 * circulation for good, together with the rest of the list if its link is
 * corrupt. Cache lock held. */
static void __kmem_quarantine(struct kmem_cache *c, struct kmem_slab *s, bool whole_list)
{
	uint32_t n = 1;

	if (whole_list) {
		n = c->per_slab - s->inuse;
		s->free = NULL;
	} else {
		s->free = *(void **)s->free;
	}
	if (s->inuse == 0)
		c->nempty--;
	s->inuse += n;
	c->ncorrupt += n;
	if (!s->free)
		__kmem_partial_del(c, s);
}

/* __kmem_slab_take: pop a free object of partial slab s; NULL if debug
 * checks quarantined it instead (the caller retries). Cache lock held. */
static void *__kmem_slab_take(struct kmem_cache *c, struct kmem_slab *s)
{
	void *obj = s->free, *next = *(void **)obj;
	size_t off;

	if (c->flags & KMEM_POISON) {
		if (next && !kmem_slab_obj_ok(c, s, next)) {
			kmem_report(c, obj, 0, "corrupt free link (use-after-free write)");
			__kmem_quarantine(c, s, true);
			return NULL;
		}
		if ((off = __kmem_poison_bad(c, obj)) != 0) {
			kmem_report(c, obj, off, "use-after-free write");
			__kmem_quarantine(c, s, false);
			return NULL;
		}
		memset(obj, KMEM_POISON_FREE, sizeof(void *));	/* all of it reads as poison */
	}
	s->free = next;
	if (s->inuse++ == 0)
		c->nempty--;
	c->ninuse++;
	if (!next)
		__kmem_partial_del(c, s);
	return obj;
}

/* kmem_cache_alloc: one object of c, NULL if out of memory. */
void *kmem_cache_alloc(struct kmem_cache *c)
{
	struct kmem_slab *s;
	void *obj;

	for (;;) {
		spin_lock(&c->lock);
		if ((s = c->partial) != NULL) {
			obj = __kmem_slab_take(c, s);
			spin_unlock(&c->lock);
			if (obj)
				return obj;
			continue;
		}
		spin_unlock(&c->lock);
		if (!(s = kmem_slab_new(c)))	/* no lock across frame_alloc */
			return NULL;
		spin_lock(&c->lock);
		__kmem_partial_add(c, s);
		c->nslabs++;
		c->nempty++;
		spin_unlock(&c->lock);
	}
}

/* kmem_slab_of: the slab holding obj, which must be an object of c. */
static struct kmem_slab *kmem_slab_of(struct kmem_cache *c, void *obj)
{
	struct kmem_slab *s = (void *)((uintptr_t)obj & ~(uintptr_t)(kmem_slab_bytes(c) - 1));

	KASSERT(s->magic == KMEM_SLAB_MAGIC && s->cache == c && kmem_slab_obj_ok(c, s, obj),
		"kmem_cache_free: %p is not an object of %s", obj, c->name);
	return s;
}

/* __kmem_slab_has_free: is obj already on s's free list? Cache lock held. */
static bool __kmem_slab_has_free(const struct kmem_slab *s, const void *obj)
{
	for (void *p = s->free; p; p = *(void **)p)
		if (p == obj)
			return true;
	return false;
}

/* kmem_cache_free: return obj to c. Double frees are reported in debug
 * mode (and ignored if the test hook returns). */
void kmem_cache_free(struct kmem_cache *c, void *obj)
{
	struct kmem_slab *s = kmem_slab_of(c, obj), *release = NULL;

	spin_lock(&c->lock);
	if ((c->flags & KMEM_POISON) && __kmem_slab_has_free(s, obj)) {
		spin_unlock(&c->lock);
		kmem_report(c, obj, 0, "double free");
		return;
	}
	if (c->flags & KMEM_POISON)
		memset(obj, KMEM_POISON_FREE, c->size);
	if (!s->free)
		__kmem_partial_add(c, s);
	*(void **)obj = s->free;
	s->free = obj;
	c->ninuse--;
	if (--s->inuse == 0) {
		if (c->nempty) {
			__kmem_partial_del(c, s);
			c->nslabs--;
			release = s;
		} else {
			c->nempty++;
		}
	}
	spin_unlock(&c->lock);
	if (release)
		kmem_slab_release(c, release);
}

/* kmem_cache_shrink: give every empty slab of c back to the buddy. */
void kmem_cache_shrink(struct kmem_cache *c)
{
	struct kmem_slab *s, *next, *empty = NULL;

	spin_lock(&c->lock);
	for (s = c->partial; s; s = next) {
		next = s->next;
		if (s->inuse)
			continue;
		__kmem_partial_del(c, s);
		c->nslabs--;
		c->nempty--;
		s->next = empty;
		empty = s;
	}
	spin_unlock(&c->lock);
	for (; empty; empty = next) {
		next = empty->next;
		kmem_slab_release(c, empty);
	}
}

/* kmem_cache_destroy: release c's slabs; every object must be freed.
 * Slabs pinned by quarantined objects are leaked on purpose. */
void kmem_cache_destroy(struct kmem_cache *c)
{
	kmem_cache_shrink(c);
	KASSERT(c->ninuse == 0, "kmem_cache_destroy: %s has %llu objects in use", c->name,
		(unsigned long long)c->ninuse);
	if (c->nslabs)
		printk("kmem_cache_destroy: %s: %llu slabs pinned by %llu corrupt objects\n", c->name,
		       (unsigned long long)c->nslabs, (unsigned long long)c->ncorrupt);
}

/* kmalloc_cache: the cache kmalloc uses for size, NULL above 2 KiB. */
struct kmem_cache *kmalloc_cache(size_t size)
{
	unsigned sh = KMEM_MIN_SHIFT;

	if (size > (1u << KMEM_MAX_SHIFT))
		return NULL;
	while ((1ul << sh) < size)
		sh++;
	return &kmalloc_caches[sh - KMEM_MIN_SHIFT];
}

/* kmem_frame_order: buddy order of a kmalloc above 2 KiB. */
static unsigned kmem_frame_order(size_t size)
{
	unsigned o = 0;

	while ((FRAME_SIZE << o) < size)
		o++;
	return o;
}

/* kmalloc: size bytes aligned to min(2^ceil(log2 size), 4096) at least;
 * NULL if out of memory or larger than one buddy block (2 MiB). */
void *kmalloc(size_t size)
{
	struct kmem_cache *c = kmalloc_cache(size);
	unsigned o;
	uint64_t pa;

	if (c)
		return kmem_cache_alloc(c);
	o = kmem_frame_order(size);
	if (o > FRAME_MAX_ORDER || !(pa = frame_alloc(o)))
		return NULL;
	return phys_to_virt(pa);
}

/* kfree: free p from kmalloc(size). NULL is ignored. */
void kfree(void *p, size_t size)
{
	struct kmem_cache *c = kmalloc_cache(size);
	uint64_t pa;

	if (!p)
		return;
	if (c) {
		kmem_cache_free(c, p);
		return;
	}
	pa = frame_va_to_pa(p);
	KASSERT(pa, "kfree: %p (size %zu) is not in RAM", p, size);
	if (KMEM_DEFAULT_FLAGS & KMEM_POISON)
		memset(p, KMEM_POISON_FREE, size);
	frame_free(pa, kmem_frame_order(size));
}

/* kmem_shrink_all: release the empty slabs every kmalloc cache keeps. */
void kmem_shrink_all(void)
{
	for (unsigned i = 0; i < KMEM_NCLASSES; i++)
		kmem_cache_shrink(&kmalloc_caches[i]);
}

/* kmem_reset: forget every kmalloc slab without touching it (boot and
 * tests only, together with frame_reset: no object may be in use). */
void kmem_reset(void)
{
	for (unsigned i = 0; i < KMEM_NCLASSES; i++) {
		struct kmem_cache *c = &kmalloc_caches[i];

		kmem_cache_init(c, c->name, c->size, c->align, c->flags);
	}
}
