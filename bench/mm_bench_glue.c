/* bench/mm_bench_glue.c - see mm_bench.h. */
#include "mm_bench.h"
#include "arch/host/machine.h"
#include "sync/host/hostcpu.h"
#include "mm/tlb.h"

void mmb_init(uint64_t frames)
{
	hostcpu_set_count(8);
	if (host_machine_init(frames))
		panic("mmb_init: no memory");
	host_check_freed = false;	/* test-only poisoning and TLB scan per free */
}

bool mmb_cpu_start(void)
{
	if (hostcpu_self_id >= 0)
		return false;
	if (host_cpu_start() < 0)
		panic("mmb_cpu_start: out of CPUs");
	return true;
}

void mmb_cpu_stop(void)
{
	host_cpu_stop();
}

void mmb_idle_begin(void)
{
	host_cpu_idle_begin();
}

void mmb_idle_end(void)
{
	host_cpu_idle_end();
}

struct mm *mmb_mm_create(void)
{
	return mm_create();
}

void mmb_mm_destroy(struct mm *mm)
{
	host_cpu_switch(NULL);
	mm_destroy(mm);
}

uint64_t mmb_map(struct mm *mm, uint64_t addr, uint64_t len)
{
	uint64_t out = 0;

	if (mm_mmap(mm, addr, len, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | (addr ? MAP_FIXED : 0), &out))
		panic("mmb_map: mmap failed");
	return out;
}

void mmb_unmap(struct mm *mm, uint64_t addr, uint64_t len)
{
	mm_munmap(mm, addr, len);
}

void mmb_dontneed(struct mm *mm, uint64_t addr, uint64_t len)
{
	mm_madvise(mm, addr, len, MADV_DONTNEED);
}

int mmb_write(struct mm *mm, uint64_t va, uint8_t v)
{
	return host_access(mm, va, true, &v);
}

int mmb_read(struct mm *mm, uint64_t va)
{
	uint8_t v;

	return host_access(mm, va, false, &v);
}

void mmb_set_locked(bool on)
{
	fault_set_force_locked(on);
}

void mmb_fault_stats(uint64_t *fast, uint64_t *retries, uint64_t *fallbacks,
		     uint64_t *locked)
{
	struct fault_stats s;

	fault_stats_read(&s);
	*fast = s.fast;
	*retries = s.retries;
	*fallbacks = s.fallbacks;
	*locked = s.locked;
}

uint64_t mmb_tlb_requests(void)
{
	struct tlb_stats s;

	tlb_stats_read(&s);
	return s.requests;
}

void *mmb_frame_alloc_zeroed(void)
{
	return pmap_page_alloc(PG_ANON | PMAP_ZERO);
}

void mmb_frame_free(void *pg)
{
	((struct page *)pg)->refcount = 0;
	pmap_page_free(pg);
}
