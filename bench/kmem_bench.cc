// bench/kmem_bench.cc - google-benchmark of the kernel memory allocators
// (kernel/frame*.c, kernel/slab.c) on a fake physical arena:
//   BM_add_region/<GiB>          frame_add_region of 1 vs 16 GiB (sparse
//                                arena; the first iteration is cold)
//   BM_frame_pairs/<pcpu>        32 frame_alloc(0) then 32 frame_free, with
//                                the per-CPU cache on (1) or off (0); threads
//   BM_kmalloc_pairs/<size>      32 kmalloc then 32 kfree
//   BM_cache_pairs/<poison>      a 64-byte cache without / with KMEM_POISON
// items_per_second counts single operations (an alloc or a free).
#include <benchmark/benchmark.h>

extern "C" {
#include "kernel/frame.h"
#include "kernel/slab.h"
#include "sync/host/hostcpu.h"
#include "tests/host/frame_arena.h"
}

namespace {

constexpr uint64_t kGiB = 1ull << 30;
constexpr size_t kArena = 256ull << 20;
constexpr int kBatch = 32;

// Registers a benchmark thread as a host CPU for the scope, unless it
// already is one (the main thread, which may run thread 0).
struct CpuScope {
	bool mine;
	CpuScope() : mine(hostcpu_self_id < 0) { if (mine && hostcpu_register() < 0) abort(); }
	~CpuScope() { frame_pcpu_drain(); if (mine) hostcpu_unregister(); }
};

void BM_add_region(benchmark::State &state)
{
	uint64_t len = (uint64_t)state.range(0) * kGiB;

	arena_create(len, true);
	for (auto _ : state) {
		frame_reset();
		frame_add_region(ARENA_PA, len >> 12);
	}
	state.counters["frames"] = (double)frame_total_count();
	frame_reset();
}
BENCHMARK(BM_add_region)->Arg(1)->Arg(16)->Unit(benchmark::kNanosecond);

void fresh_machine(const benchmark::State &state)
{
	kmem_reset();
	frame_reset();
	arena_create(kArena, false);
	frame_add_region(ARENA_PA, kArena >> 12);
	if (state.range(0))
		frame_pcpu_set_limits(128, 32);
	else
		frame_pcpu_set_limits(0, 1);
}

void BM_frame_pairs(benchmark::State &state)
{
	CpuScope cpu;
	uint64_t pa[kBatch];

	for (auto _ : state) {
		for (int i = 0; i < kBatch; i++)
			pa[i] = frame_alloc(0);
		for (int i = kBatch - 1; i >= 0; i--)
			frame_free(pa[i], 0);
	}
	state.SetItemsProcessed(state.iterations() * 2 * kBatch);
}
BENCHMARK(BM_frame_pairs)->Setup(fresh_machine)->Arg(0)->Arg(1)->ThreadRange(1, 4)->UseRealTime();

void fresh_machine_pcpu(const benchmark::State &)
{
	kmem_reset();
	frame_reset();
	arena_create(kArena, false);
	frame_add_region(ARENA_PA, kArena >> 12);
	frame_pcpu_set_limits(128, 32);
}

void BM_kmalloc_pairs(benchmark::State &state)
{
	CpuScope cpu;
	size_t size = (size_t)state.range(0);
	void *p[kBatch];

	for (auto _ : state) {
		for (int i = 0; i < kBatch; i++)
			p[i] = kmalloc(size);
		for (int i = kBatch - 1; i >= 0; i--)
			kfree(p[i], size);
	}
	state.SetItemsProcessed(state.iterations() * 2 * kBatch);
}
BENCHMARK(BM_kmalloc_pairs)->Setup(fresh_machine_pcpu)->Arg(64)->Arg(1024)->Arg(4096)
	->ThreadRange(1, 4)->UseRealTime();

// The cost of debug poisoning: a 64-byte custom cache with and without
// KMEM_POISON, one CPU.
void BM_cache_pairs(benchmark::State &state)
{
	static struct kmem_cache c;
	void *p[kBatch];

	kmem_cache_init(&c, "bench-64", 64, 64, state.range(0) ? KMEM_POISON : 0);
	for (auto _ : state) {
		for (int i = 0; i < kBatch; i++)
			p[i] = kmem_cache_alloc(&c);
		for (int i = kBatch - 1; i >= 0; i--)
			kmem_cache_free(&c, p[i]);
	}
	kmem_cache_destroy(&c);
	state.SetItemsProcessed(state.iterations() * 2 * kBatch);
}
BENCHMARK(BM_cache_pairs)->Setup(fresh_machine_pcpu)->Arg(0)->Arg(1);

}  // namespace

int main(int argc, char **argv)
{
	if (hostcpu_register() < 0)
		return 2;
	benchmark::Initialize(&argc, argv);
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
