/* bench/mm_bench.h - a C face of the mm core and host machine for the C++
 * benchmark (the mm headers are C11, not C++). */
#ifndef KESTREL_BENCH_MM_BENCH_H
#define KESTREL_BENCH_MM_BENCH_H

#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct mm;

void mmb_init(uint64_t frames);
bool mmb_cpu_start(void);		/* register this thread if needed */
void mmb_cpu_stop(void);
void mmb_idle_begin(void);
void mmb_idle_end(void);
struct mm *mmb_mm_create(void);
void mmb_mm_destroy(struct mm *mm);
uint64_t mmb_map(struct mm *mm, uint64_t addr, uint64_t len);	/* private RW */
void mmb_unmap(struct mm *mm, uint64_t addr, uint64_t len);
void mmb_dontneed(struct mm *mm, uint64_t addr, uint64_t len);
int mmb_write(struct mm *mm, uint64_t va, uint8_t v);
int mmb_read(struct mm *mm, uint64_t va);
void mmb_set_locked(bool on);
/* fast: resolved lock-free; locked: by the slow path (forced or fallback) */
void mmb_fault_stats(uint64_t *fast, uint64_t *retries, uint64_t *fallbacks,
		     uint64_t *locked);
uint64_t mmb_tlb_requests(void);
void *mmb_frame_alloc_zeroed(void);	/* a zeroed frame (struct page *) */
void mmb_frame_free(void *pg);	/* shootdown requests sent so far */

#ifdef __cplusplus
}
#endif

#endif
