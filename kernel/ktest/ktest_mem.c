/*
 * kernel/ktest/ktest_mem.c - physical memory and the kernel address space:
 * the page allocator returns every frame after a stress loop; the heap
 * returns every object; kernel text is read-only, data non-executable, the
 * direct map uses large pages, and every kernel stack has an unmapped guard.
 */
#include "ktest_util.h"
#include "kernel/mem.h"
#include "kernel/frame.h"
#include "kernel/kstack.h"
#include "arch/paging.h"
#include "arch/mmu.h"

/* Blocks per CPU: 800 in all, so the zone lock's handoffs stay bounded
 * under TCG with more vCPUs than host cores (each contended handoff waits
 * for the next vCPU thread to be scheduled by the host). */
enum { STRESS_BLOCKS = 600, STRESS_TOTAL = 800 };

struct stress_state {
	uint64_t blocks[STRESS_BLOCKS];
	uint8_t orders[STRESS_BLOCKS];
	uint64_t seed;
};

static struct stress_state stress[NCPU_MAX];
extern char _end[];

/* stress_fill: allocate blocks of order 0..3 up to STRESS_BLOCKS, tag each
 * with its own address. Returns false on an allocation failure. */
static bool stress_fill(struct stress_state *st, unsigned *n)
{
	unsigned max = STRESS_TOTAL / ncpus < STRESS_BLOCKS ? STRESS_TOTAL / ncpus : STRESS_BLOCKS;

	for (; *n < max; (*n)++) {
		st->seed = st->seed * 6364136223846793005ull + 1442695040888963407ull;
		/* 3 in 4 blocks single frames (per-CPU caches), the rest order 1-3
		 * (buddy splits and merges under the zone lock) */
		st->orders[*n] = (st->seed >> 60) % 4 ? 0 : 1 + (st->seed >> 56) % 3;
		st->blocks[*n] = page_alloc(st->orders[*n]);
		if (!st->blocks[*n])
			return false;
		KT_CHECK(!(st->blocks[*n] & ((PAGE_SIZE << st->orders[*n]) - 1)), "misaligned block");
		KT_CHECK(st->blocks[*n] >= va_to_pa(_end), "page_alloc returned %llx in the image",
			 (unsigned long long)st->blocks[*n]);
		*(uint64_t *)phys_to_virt(st->blocks[*n]) = st->blocks[*n];
	}
	return true;
}

/* stress_worker: rounds of fill / free every other block, then free all. */
static void stress_worker(void *arg)
{
	struct stress_state *st = arg;
	unsigned n = 0;

	for (int round = 0; round < 6; round++) {
		unsigned j = 0;

		KT_CHECK(stress_fill(st, &n), "page_alloc failed");
		for (unsigned i = 0; i < n; i++) {
			KT_CHECK(*(uint64_t *)phys_to_virt(st->blocks[i]) == st->blocks[i],
				 "block %llx overwritten", (unsigned long long)st->blocks[i]);
			if ((i + round) % 2 == 0 || !st->blocks[i]) {
				if (st->blocks[i])
					page_free(st->blocks[i], st->orders[i]);
				continue;
			}
			st->blocks[j] = st->blocks[i];
			st->orders[j++] = st->orders[i];
		}
		n = j;
	}
	for (unsigned i = 0; i < n; i++)
		page_free(st->blocks[i], st->orders[i]);
}

static void stress_nop(void *arg)
{
}

KTEST(frames_all_returned_after_stress)
{
	uint64_t free0;
	void *args[NCPU_MAX] = { 0 };

	/* Warm up: thread stacks and thread structs come from the allocator too
	 * and stay cached (stack slots keep their frames), so let the worker
	 * threads' own memory be allocated before taking the baseline. */
	ktest_on_each_cpu(stress_nop, args);
	free0 = page_free_count();
	for (unsigned c = 0; c < ncpus; c++) {
		stress[c].seed = 12345 + c;
		args[c] = &stress[c];
	}
	ktest_on_each_cpu(stress_worker, args);
	KT_CHECK(page_free_count() == free0, "free frames %llu before, %llu after",
		 (unsigned long long)free0, (unsigned long long)page_free_count());
	KT_CHECK(frame_check() == 0, "frame_check found inconsistencies");
}

extern char _text_start[], _rodata_start[], _data_start[];

KTEST(kernel_address_space)
{
	unsigned level;
	uint64_t pte, top = kstack_alloc();

	pte = paging_lookup((uint64_t)_text_start, &level);
	KT_CHECK(pte && !(pte & PTE_W) && !(pte & PTE_NX), "text pte %llx", (unsigned long long)pte);
	pte = paging_lookup((uint64_t)_rodata_start, &level);
	KT_CHECK(pte && !(pte & PTE_W) && (pte & PTE_NX), "rodata pte %llx", (unsigned long long)pte);
	pte = paging_lookup((uint64_t)_data_start, &level);
	KT_CHECK(pte && (pte & PTE_W) && (pte & PTE_NX), "data pte %llx", (unsigned long long)pte);
	pte = paging_lookup(DIRECT_MAP + (64ul << 20), &level);
	KT_CHECK(pte && level >= 2 && (pte & PTE_NX), "direct map pte %llx level %u",
		 (unsigned long long)pte, level);
	KT_REQUIRE(top, "kstack_alloc");
	KT_CHECK(paging_lookup(top - PAGE_SIZE, &level), "stack top not mapped");
	KT_CHECK(paging_lookup(top - KSTACK_SIZE, &level), "stack bottom not mapped");
	KT_CHECK(!paging_lookup(top - KSTACK_SIZE - PAGE_SIZE, &level), "no guard below the stack");
	KT_CHECK(kstack_guard_of(top) == top - KSTACK_SIZE - PAGE_SIZE, "guard layout");
	kstack_free(top);
	pte = paging_lookup(thread_self()->stack_top - KSTACK_SIZE - PAGE_SIZE, &level);
	KT_CHECK(!pte, "running thread's stack has no guard");
}

KTEST(heap_objects_returned)
{
	enum { N = 500 };
	static void *p[N];
	uint64_t live0 = heap_live_objects();

	for (int i = 0; i < N; i++) {
		p[i] = env_alloc(8 + (i * 37) % 3000);
		KT_REQUIRE(p[i], "env_alloc");
		memset(p[i], 0xa5, 8 + (i * 37) % 3000);
	}
	for (int i = 0; i < N; i++)
		env_free(p[i], 8 + (i * 37) % 3000);
	KT_CHECK(heap_live_objects() == live0, "live objects %llu before, %llu after",
		 (unsigned long long)live0, (unsigned long long)heap_live_objects());
}
