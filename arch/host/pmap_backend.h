/*
 * arch/host/pmap_backend.h - the simulated machine's side of mm/pmap.h.
 *
 * Physical memory is one host arena of frames starting at HOST_PA_BASE;
 * frame i has physical address HOST_PA_BASE + i * PAGE_SIZE, kernel pointer
 * host_mem + i * PAGE_SIZE and metadata host_pages[i]. The arena is sized
 * once by host_machine_init() (arch/host/machine.h) and never moves.
 */
#ifndef KESTREL_HOST_PMAP_BACKEND_H
#define KESTREL_HOST_PMAP_BACKEND_H

#define HOST_PA_BASE 0x100000ull	/* frame 0 is not physical address 0 */

/* struct page - per-frame metadata: exactly the members mm/pmap.h requires
 * (legend there); the simulated machine has no allocator state of its own. */
struct page {
	uint32_t refcount;	/* (A) references: PTEs, objects, transient gets */
	int32_t mapcount;	/* (A) PTEs mapping this frame */
	uint32_t flags;		/* (C) PG_* kind */
	uint32_t level;		/* (C) PG_PT: table level */
	struct spinlock ptl;	/* PG_PT: protects this table's entries */
	struct page *next;	/* (T) gather / free lists */
	struct rcu_head rcu;	/* deferred free of table pages */
};

extern unsigned char *host_mem;		/* (C) the frame arena */
extern struct page *host_pages;		/* (C) metadata, one per frame */
extern uint64_t host_nframes;		/* (C) */

__attribute__((noreturn)) void host_bad_pa(paddr_t pa);

/* pmap_pa_kva: the arena pointer of physical address pa; a pa outside the
 * arena is a machine check (a corrupt PTE) and panics. */
static inline void *pmap_pa_kva(paddr_t pa)
{
	if (unlikely(pa < HOST_PA_BASE || pa - HOST_PA_BASE >= host_nframes * PAGE_SIZE))
		host_bad_pa(pa);
	return host_mem + (pa - HOST_PA_BASE);
}

static inline paddr_t pmap_page_pa(struct page *pg)
{
	return HOST_PA_BASE + (paddr_t)(pg - host_pages) * PAGE_SIZE;
}

static inline struct page *pmap_pa_page(paddr_t pa)
{
	if (unlikely(pa < HOST_PA_BASE || pa - HOST_PA_BASE >= host_nframes * PAGE_SIZE))
		host_bad_pa(pa);
	return &host_pages[(pa - HOST_PA_BASE) >> PAGE_SHIFT];
}

#endif
