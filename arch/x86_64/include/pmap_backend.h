/*
 * arch/x86_64/include/pmap_backend.h - the kernel's side of mm/pmap.h.
 *
 * struct page is kernel/frame.h's: one array of per-frame metadata for the
 * frame allocator and mm/ alike. Physical memory is reached through the
 * direct map (arch/x86_64/paging.c maps all of RAM at PMAP_DIRECT_MAP), so
 * pa -> kva is one add; pa <-> struct page goes through the frame
 * allocator's region table (frame_page initialises a chunk's metadata on
 * first touch, which never happens for a frame mm/ got from the allocator).
 *
 * This header is seen by portable code: it must not include arch headers
 * (arch/mmu.h defines PAGE_SIZE and PTE bits differently typed).
 */
#ifndef KESTREL_X86_PMAP_BACKEND_H
#define KESTREL_X86_PMAP_BACKEND_H

#include "kernel/frame.h"

#define PMAP_DIRECT_MAP 0xffff800000000000ull	/* == DIRECT_MAP in arch/mmu.h */

static inline void *pmap_pa_kva(paddr_t pa)
{
	return (void *)(uintptr_t)(pa + PMAP_DIRECT_MAP);
}

static inline paddr_t pmap_page_pa(struct page *pg)
{
	return frame_page_pa(pg);
}

static inline struct page *pmap_pa_page(paddr_t pa)
{
	return frame_page(pa);
}

/* Kernel-only extras of the x86_64 port (arch/x86_64/pmap.c). */
struct pmap;
/* pmap_switch: load pm's tables on this CPU (NULL: the kernel's), keeping
 * cpumasks exact; interrupts off. */
void pmap_switch(struct pmap *pm);
struct pmap *pmap_current(void);
/* pmap_frames_live: frames (and table pages) mm/ holds right now. */
uint64_t pmap_frames_live(void);

#endif
