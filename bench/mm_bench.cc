// bench/mm_bench.cc - page-fault cost on the simulated host machine,
// lock-free fast path vs the locked switch (every fault under mm->lock for
// reading, the pre-6.4 Linux design), in one run:
//   BM_ZeroPage                the floor: zeroing one 4 KiB page
//   BM_Fault/<mode>            one write fault per iteration (fresh page:
//                              walk, zeroed frame, PTE install); threads
//                              fault disjoint regions of one shared mm
//   BM_Fault/<mode>_churn      the same while another thread churns
//                              mmap/munmap of unrelated ranges of that mm
// Every 8192 faults a thread drops its region with MADV_DONTNEED (amortised
// in the figure: it is the cost of giving the memory back).
// Real numbers: a non-sanitizer build, see docs/DESIGN.md "mm: measurements".
#include <benchmark/benchmark.h>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <thread>
#include "mm_bench.h"

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kRegionPages = 8192;
constexpr uint64_t kBase = 0x100000000ull;
constexpr uint64_t kChurnBase = 0x7000000000ull;

struct mm *g_mm;
std::atomic<int> g_done;
std::atomic<bool> g_stop;
std::atomic<uint64_t> g_churn_ops;
std::thread g_churner;

void BM_ZeroPage(benchmark::State &st)
{
	constexpr size_t n = kRegionPages;	// the same 32 MiB working set as BM_Fault
	char *buf = static_cast<char *>(aligned_alloc(kPage, n * kPage));
	size_t i = 0;

	for (auto _ : st) {
		memset(buf + (i++ % n) * kPage, 0, kPage);
		benchmark::ClobberMemory();
	}
	st.SetItemsProcessed(st.iterations());
	free(buf);
}

void churn_main()
{
	mmb_cpu_start();
	for (uint64_t k = 0; !g_stop.load(std::memory_order_relaxed); k++) {
		uint64_t a = kChurnBase + (k % 64) * 32 * kPage;

		mmb_map(g_mm, a, 16 * kPage);
		mmb_unmap(g_mm, a, 16 * kPage);
		g_churn_ops.fetch_add(1, std::memory_order_relaxed);
	}
	mmb_cpu_stop();
}

void BM_Fault(benchmark::State &st, bool locked, bool churn)
{
	bool registered = mmb_cpu_start();
	int tid = st.thread_index();
	uint64_t base = kBase + uint64_t(tid) * 2 * kRegionPages * kPage, i = 0;
	uint64_t f0, r0, b0, f1, r1, b1;

	if (tid == 0) {
		mmb_set_locked(locked);
		g_mm = mmb_mm_create();
		for (int t = 0; t < st.threads(); t++)
			mmb_map(g_mm, kBase + uint64_t(t) * 2 * kRegionPages * kPage,
				kRegionPages * kPage);
		g_done = 0;
		g_stop = false;
		g_churn_ops = 0;
		if (churn)
			g_churner = std::thread(churn_main);
		mmb_fault_stats(&f0, &r0, &b0);
	}
	int64_t n = 0;

	for (auto _ : st) {
		if (i == kRegionPages) {
			mmb_dontneed(g_mm, base, kRegionPages * kPage);
			i = 0;
		}
		mmb_write(g_mm, base + i++ * kPage, 1);
		// A simulated CPU must not block while it may be a shootdown
		// target: go idle before the benchmark's end-of-run barrier.
		if (++n == st.max_iterations)
			mmb_idle_begin();
	}
	st.SetItemsProcessed(st.iterations());
	if (n != st.max_iterations)
		mmb_idle_begin();
	g_done++;
	if (tid == 0) {
		while (g_done.load() != st.threads())
			std::this_thread::yield();
		g_stop = true;
		if (churn)
			g_churner.join();
		mmb_fault_stats(&f1, &r1, &b1);
		double n = double(st.iterations()) * st.threads();
		st.counters["fallback_per_fault"] = double(b1 - b0) / n;
		st.counters["retry_per_fault"] = double(r1 - r0) / n;
		if (churn)	// the writer's progress: mmap+munmap pairs per second
			st.counters["churn_ops"] = benchmark::Counter(double(g_churn_ops.load()),
								     benchmark::Counter::kIsRate);
		mmb_mm_destroy(g_mm);
		mmb_set_locked(false);
	}
	mmb_idle_end();
	if (registered)
		mmb_cpu_stop();
}

}  // namespace

BENCHMARK(BM_ZeroPage);
BENCHMARK_CAPTURE(BM_Fault, lockfree, false, false)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_Fault, locked, true, false)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_Fault, lockfree_churn, false, true)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_Fault, locked_churn, true, true)->Threads(1)->Threads(2)->UseRealTime();

int main(int argc, char **argv)
{
	mmb_init(1u << 16);
	benchmark::Initialize(&argc, argv);
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
