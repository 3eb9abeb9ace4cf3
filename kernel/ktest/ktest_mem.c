/*
 * kernel/ktest/ktest_mem.c - physical memory and the kernel address space:
 * the page allocator returns every frame after a stress loop; the heap
 * returns every object; kernel text is read-only, data non-executable, the
 * direct map uses large pages, and every kernel stack has an unmapped guard.
 */
#include "ktest_util.h"
#include "kernel/mem.h"
#include "kernel/kstack.h"
#include "arch/paging.h"
#include "arch/mmu.h"

enum { STRESS_BLOCKS = 2000 };

static uint64_t blocks[STRESS_BLOCKS];
static uint8_t orders[STRESS_BLOCKS];

KTEST(frames_all_returned_after_stress)
{
	uint64_t free0 = page_free_count(), seed = 12345;
	unsigned n = 0;

	for (int round = 0; round < 4; round++) {
		for (; n < STRESS_BLOCKS; n++) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			orders[n] = (seed >> 60) % 4;
			blocks[n] = page_alloc(orders[n]);
			KT_REQUIRE(blocks[n], "page_alloc(%u) failed", orders[n]);
			KT_REQUIRE(!(blocks[n] & ((PAGE_SIZE << orders[n]) - 1)), "misaligned block");
			*(uint64_t *)phys_to_virt(blocks[n]) = blocks[n];	/* touch it */
		}
		for (unsigned i = round & 1; i < n; i += 2) {	/* free half */
			KT_CHECK(*(uint64_t *)phys_to_virt(blocks[i]) == blocks[i], "block overwritten");
			page_free(blocks[i], orders[i]);
			blocks[i] = 0;
		}
		unsigned j = 0;

		for (unsigned i = 0; i < n; i++)		/* compact */
			if (blocks[i])
				blocks[j] = blocks[i], orders[j++] = orders[i];
		n = j;
	}
	for (unsigned i = 0; i < n; i++)
		page_free(blocks[i], orders[i]);
	KT_CHECK(page_free_count() == free0, "free frames %llu before, %llu after",
		 (unsigned long long)free0, (unsigned long long)page_free_count());
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
