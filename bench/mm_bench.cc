// bench/mm_bench.cc - page-fault cost on the simulated host machine,
// lock-free fast path vs the locked switch (every fault under mm->lock for
// reading, the pre-6.4 Linux design), in one run:
//   BM_ZeroPage                the floor: zeroing one 4 KiB page, cycling
//                              through a 32 MiB buffer (the region size)
//   BM_ZeroPageLocked          each zeroing followed by a locked RMW on another
//                              line, as a fault takes the PTE lock right after
//                              preparing its frame: the CPU must drain the
//                              page's 64 line-stores first, so this is the
//                              zeroing's latency, where BM_ZeroPage (stores
//                              draining behind the next page's) is its
//                              throughput
//   BM_ZeroPageLifo            the same pages zeroed in the order the frame
//                              allocator hands freed frames back (LIFO: the
//                              sweep direction alternates), like-for-like
//                              with BM_Fault's reuse of its own frames
//   BM_Fault/<mode>            one write fault per iteration (fresh page:
//                              walk, zeroed frame, PTE install); threads
//                              fault disjoint regions of one shared mm
//   BM_Fault/<mode>_read       one read fault per iteration: maps the zero
//                              page, so it is the fault's page-table work
//                              (lookup, walk, lock, install) without zeroing
//   BM_Fault/<mode>_churn      the same while another thread churns
//                              mmap/munmap of unrelated ranges of that mm
//   BM_Fault/<mode>_churn_othermm  the control: the same churner on an mm
//                              of its own. It competes for the cores, caches,
//                              allocator and RCU as much, but shares nothing
//                              with the faulters' mm, so _churn against it is
//                              the cost of sharing the mm
//   BM_Fault/<mode>_spin       the second control: the other thread spins
//                              on registers (three multiply chains), touching
//                              no memory at all. On the 2-vCPU build machine
//                              a busy second vCPU alone can slow the faulter
//                              (0.83-1.10x over runs; not SMT: a cache line
//                              round trip between them takes ~138 ns, as
//                              between cores); this is that share alone.
// Every 8192 faults a thread drops its region with MADV_DONTNEED (amortised
// in the figure: it is the cost of giving the memory back; the counter
// dontneed_ns says how much of each fault's time it is).
// cpu_faults_per_s: faults per second of the faulting threads' own CPU time
// (CLOCK_THREAD_CPUTIME_ID), summed over threads: with more runnable threads
// than cores, wall-clock throughput also measures the scheduler; this one
// measures what a fault costs the CPU that takes it.
// Real numbers: a non-sanitizer build, see docs/DESIGN.md "mm: measurements".
#include <benchmark/benchmark.h>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <cstring>
#include <thread>
#include "mm_bench.h"
#include "spin.h"

namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kRegionPages = 8192;
constexpr uint64_t kBase = 0x100000000ull;
constexpr uint64_t kChurnBase = 0x7000000000ull;

struct mm *g_mm;
struct mm *g_churn_mm;	// g_mm, or the control's private mm
enum Neighbour { kAlone, kChurn, kChurnOtherMm, kSpin };	// the other thread
std::atomic<int> g_done;
std::atomic<bool> g_stop;
std::atomic<uint64_t> g_churn_ops;	// the neighbour's count, published once it stops
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

void BM_ZeroPageLocked(benchmark::State &st)
{
	constexpr size_t n = kRegionPages;
	char *buf = static_cast<char *>(aligned_alloc(kPage, n * kPage));
	alignas(64) static std::atomic<uint64_t> lock_word;
	size_t i = 0;

	for (auto _ : st) {
		memset(buf + (i++ % n) * kPage, 0, kPage);
		benchmark::ClobberMemory();
		uint64_t v = lock_word.load(std::memory_order_relaxed);
		lock_word.compare_exchange_strong(v, v + 1);	// lock cmpxchg
	}
	st.SetItemsProcessed(st.iterations());
	free(buf);
}

// BM_ZeroPageLifo: sweep the buffer forward, then backward, and so on: a
// LIFO allocator given pages freed in address order returns them last-freed
// first, so a page's reuse distance ranges from 0 to twice the buffer.
void BM_ZeroPageLifo(benchmark::State &st)
{
	constexpr size_t n = kRegionPages;
	char *buf = static_cast<char *>(aligned_alloc(kPage, n * kPage));
	size_t i = 0;

	for (auto _ : st) {
		size_t k = i % (2 * n);

		memset(buf + (k < n ? k : 2 * n - 1 - k) * kPage, 0, kPage);
		benchmark::ClobberMemory();
		i++;
	}
	st.SetItemsProcessed(st.iterations());
	free(buf);
}

// BM_FrameZero: the host machine's share of a fault: take a zeroed frame
// from this CPU's cache; every 8192 frames give them back in allocation
// order (as MADV_DONTNEED does), amortised.
void BM_FrameZero(benchmark::State &st)
{
	bool registered = mmb_cpu_start();
	static void *pg[kRegionPages];
	uint64_t i = 0;

	for (auto _ : st) {
		if (i == kRegionPages) {
			for (uint64_t k = 0; k < kRegionPages; k++)
				mmb_frame_free(pg[k]);
			i = 0;
		}
		pg[i] = mmb_frame_alloc_zeroed();
		if (!pg[i++]) {
			st.SkipWithError("out of frames");
			break;
		}
	}
	for (uint64_t k = 0; k < i; k++)
		if (pg[k])
			mmb_frame_free(pg[k]);
	st.SetItemsProcessed(st.iterations());
	if (registered)
		mmb_cpu_stop();
}

double thread_cpu_ns()
{
	timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

// spin_main: the kSpin neighbour (bench/spin.h).
void spin_main()
{
	bench_spin(g_stop, &g_churn_ops);
}

void churn_main()
{
	uint64_t k;

	mmb_cpu_start();
	for (k = 0; !g_stop.load(std::memory_order_relaxed); k++) {
		uint64_t a = kChurnBase + (k % 64) * 32 * kPage;

		mmb_map(g_churn_mm, a, 16 * kPage);
		mmb_unmap(g_churn_mm, a, 16 * kPage);
	}
	g_churn_ops.store(k);	// once: no line shared with the faulter while it runs
	mmb_cpu_stop();
}

void BM_Fault(benchmark::State &st, bool locked, Neighbour nb, bool write = true)
{
	bool churn = nb != kAlone;	// a neighbour thread runs
	bool registered = mmb_cpu_start();
	int tid = st.thread_index();
	uint64_t base = kBase + uint64_t(tid) * 2 * kRegionPages * kPage, i = 0;
	uint64_t f0, r0, b0, l0, f1, r1, b1, l1, q0 = 0;

	if (tid == 0) {
		mmb_set_locked(locked);
		g_mm = mmb_mm_create();
		for (int t = 0; t < st.threads(); t++)
			mmb_map(g_mm, kBase + uint64_t(t) * 2 * kRegionPages * kPage,
				kRegionPages * kPage);
		g_done = 0;
		g_stop = false;
		g_churn_ops = 0;
		g_churn_mm = nb == kChurnOtherMm ? mmb_mm_create() : g_mm;
		if (churn)
			g_churner = std::thread(nb == kSpin ? spin_main : churn_main);
		mmb_fault_stats(&f0, &r0, &b0, &l0);
		q0 = mmb_tlb_requests();
	}
	int64_t n = 0;
	double dontneed_ns = 0, cpu0 = thread_cpu_ns();

	for (auto _ : st) {
		if (i == kRegionPages) {
			auto t0 = std::chrono::steady_clock::now();

			mmb_dontneed(g_mm, base, kRegionPages * kPage);
			dontneed_ns += std::chrono::duration<double, std::nano>(
				std::chrono::steady_clock::now() - t0).count();
			i = 0;
		}
		if (write ? mmb_write(g_mm, base + i++ * kPage, 1)
			  : mmb_read(g_mm, base + i++ * kPage)) {
			st.SkipWithError("access failed (out of frames?)");
			break;
		}
		// A simulated CPU must not block while it may be a shootdown
		// target: go idle before the benchmark's end-of-run barrier.
		if (++n == st.max_iterations)
			mmb_idle_begin();
	}
	double cpu_ns = thread_cpu_ns() - cpu0;

	st.SetItemsProcessed(st.iterations());
	st.counters["dontneed_ns"] = benchmark::Counter(dontneed_ns / double(st.iterations()),
							benchmark::Counter::kAvgThreads);
	st.counters["cpu_faults_per_s"] = double(st.iterations()) / (cpu_ns * 1e-9);
	if (n != st.max_iterations)
		mmb_idle_begin();
	g_done++;
	if (tid == 0) {
		while (g_done.load() != st.threads())
			std::this_thread::yield();
		g_stop = true;
		if (churn)
			g_churner.join();
		mmb_fault_stats(&f1, &r1, &b1, &l1);
		double n = double(st.iterations()) * st.threads();
		st.counters["fallback_per_fault"] = double(b1 - b0) / n;
		st.counters["retry_per_fault"] = double(r1 - r0) / n;
		// sanity: every iteration must be one fault (1.0)
		st.counters["faults_per_iter"] = double((f1 - f0) + (l1 - l0)) / n;
		// shootdown requests to other CPUs per fault: the faulters' own
		// MADV_DONTNEED (their CPUs are in the mm); the churner's ranges
		// were never touched, so its munmaps must add none
		st.counters["requests_per_fault"] = double(mmb_tlb_requests() - q0) / n;
		if (churn)	// the neighbour's progress: mmap+munmap pairs (the
				// spinner: blocks of 1,000 steps) per second
			st.counters["churn_ops"] = benchmark::Counter(double(g_churn_ops.load()),
								     benchmark::Counter::kIsRate);
		if (g_churn_mm != g_mm)
			mmb_mm_destroy(g_churn_mm);
		mmb_mm_destroy(g_mm);
		mmb_set_locked(false);
	}
	mmb_idle_end();
	if (registered)
		mmb_cpu_stop();
}

}  // namespace

BENCHMARK(BM_ZeroPage);
BENCHMARK(BM_ZeroPageLocked);
BENCHMARK(BM_ZeroPageLifo);
BENCHMARK(BM_FrameZero);
BENCHMARK_CAPTURE(BM_Fault, lockfree, false, kAlone)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_Fault, locked, true, kAlone)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_Fault, lockfree_read, false, kAlone, false)->Threads(1)->UseRealTime();
BENCHMARK_CAPTURE(BM_Fault, locked_read, true, kAlone, false)->Threads(1)->UseRealTime();
BENCHMARK_CAPTURE(BM_Fault, lockfree_churn, false, kChurn)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_Fault, locked_churn, true, kChurn)->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_Fault, lockfree_churn_othermm, false, kChurnOtherMm)
	->Threads(1)->Threads(2)->UseRealTime();
BENCHMARK_CAPTURE(BM_Fault, lockfree_spin, false, kSpin)->Threads(1)->UseRealTime();

int main(int argc, char **argv)
{
	mmb_init(1u << 16);
	benchmark::Initialize(&argc, argv);
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
