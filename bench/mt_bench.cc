// bench/mt_bench.cc - google-benchmark for the range tree (mm/mt*.c) against
// the baseline: a red-black tree under a pthread rwlock (bench/mt_rbtree.c).
//
//   Lookup/{Mt,Rb}/N        mt_find of random present addresses (RCU read
//                           section per lookup vs rdlock per lookup)
//   Churn/{Mt,Rb}/N         erase a random range and insert it back (two
//                           writes per iteration, writer lock held by each);
//                           Mt counters: share of stores in place, copying
//                           a leaf, copying a subtree
//   Gap/{Mt,Rb}/N           top-down search for a gap below a random limit
//   Readers/{Mt,Rb}/N/W     one reader thread doing lookups, with W = 0: no
//                           writer, 1: a writer thread churning flat out,
//                           2: a writer paced at kPacedWrites writes/s (the
//                           same write load for both structures, leaving CPU
//                           for the reader on a 2-core machine), 3: the
//                           control, a thread that only spins on registers
//                           (no tree, no memory): what any busy second vCPU
//                           costs the reader on this machine (Mt, 100000);
//                           4: the second control, the flat-out writer on a
//                           tree of its own (same size): the cores, caches,
//                           allocator and RCU are shared, the tree is not,
//                           so 1 against 4 is the cost of sharing the tree;
//                           5: the writer on the shared tree, but storing
//                           new values into existing ranges (in place: no
//                           node copied, no parent written), flat out;
//                           6: the writer on the shared tree, erasing a
//                           range and putting back a shorter one (half a
//                           page less), so that no store is exact and each
//                           copies a leaf and writes its parent (as every
//                           erase and insert did before exact erases were
//                           written in place), flat out
//   ReadersPaired/{Mt,Rb}/N the W = 1 writer switched on and off every 10 ms
//                           of the reader's CPU time; counter on_off: the
//                           reader's lookups/s with it over without, from
//                           neighbouring windows (the host's drift cancels)
//   EnvAllocNode/MallocRbNode  the allocator cost of one node of each
// at N = 16, 1000, 100000 ranges. Counters: bytes_per_range (Lookup).
// JSON: --benchmark_format=json. The ratios the issue asks for are computed
// from one run by scripts in docs/bench-tree.md.
#include <benchmark/benchmark.h>
#include "spin.h"
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <pthread.h>
#include <thread>
#include <vector>

extern "C" {
#include "mm/mt.h"
#include "sync/rcu.h"
#include "sync/host/hostcpu.h"
}
#include "mt_rbtree.h"

namespace {

// Every thread that enters an RCU read section must be a registered CPU;
// benchmark threads come and go, so register lazily and release on exit.
struct CpuSlot {
	bool on = false;
	void ensure() { if (!on) on = hostcpu_register() >= 0; }
	~CpuSlot() { if (on) hostcpu_unregister(); }
};
thread_local CpuSlot cpu_slot;

uint64_t xorshift(uint64_t &s)
{
	s ^= s << 13;
	s ^= s >> 7;
	s ^= s << 17;
	return s;
}

// The layout every structure is filled with: n ranges of 1-8 pages separated
// by gaps of 1-16 pages, one gap in 64 being 64 pages (gap search targets).
struct Layout {
	std::vector<uint64_t> first, last;
	explicit Layout(size_t n)
	{
		uint64_t s = 0x5eed + n, at = 0x10000;
		for (size_t i = 0; i < n; i++) {
			uint64_t gap = xorshift(s) % 64 == 0 ? 64 : 1 + xorshift(s) % 16;
			at += gap * 4096;
			first.push_back(at);
			at += (1 + xorshift(s) % 8) * 4096;
			last.push_back(at - 1);
		}
	}
	void *val(size_t i, int alt = 0) const { return (void *)(uintptr_t)(0x1000 + i * 16 + alt * 8); }
};

struct Mt {
	alignas(CACHELINE) maple_tree mt;	// as in struct mm (mm/mm.h)
	pthread_mutex_t wlock = PTHREAD_MUTEX_INITIALIZER;	// the mm lock
	Mt() { mt_init(&mt); }
	~Mt()
	{
		mt_destroy(&mt);
		rcu_barrier();
	}
	void *find(uint64_t a)
	{
		rcu_read_lock();
		void *e = mt_find(&mt, a, nullptr);
		rcu_read_unlock();
		return e;
	}
	int insert(uint64_t f, uint64_t l, void *v)
	{
		pthread_mutex_lock(&wlock);
		int r = mt_insert(&mt, f, l, v);
		pthread_mutex_unlock(&wlock);
		return r;
	}
	int erase(uint64_t f, uint64_t l)
	{
		pthread_mutex_lock(&wlock);
		int r = mt_erase(&mt, f, l);
		pthread_mutex_unlock(&wlock);
		return r;
	}
	// restore: a new value for an existing range (the in-place path: one
	// slot written, no node copied)
	int restore(uint64_t f, uint64_t l, void *v)
	{
		pthread_mutex_lock(&wlock);
		int r = mt_store(&mt, f, l, v);
		pthread_mutex_unlock(&wlock);
		return r;
	}
	int gap(uint64_t hi, uint64_t size, uint64_t *a)
	{
		rcu_read_lock();
		int r = mt_gap_find(&mt, 0, hi, size, 1, true, a);
		rcu_read_unlock();
		return r;
	}
	size_t bytes() { return mt_bytes(&mt); }
	// how the stores so far were published (mm/mt.h st_*): in place,
	// one new leaf, a new subtree, a new root
	void mix(unsigned long out[4])
	{
		out[0] = mt.st_value;
		out[1] = mt.st_leaf;
		out[2] = mt.st_inner;
		out[3] = mt.st_root;
	}
};

struct Rb {
	rbb *t = rbb_create();
	~Rb() { rbb_destroy(t); }
	void *find(uint64_t a) { return rbb_find(t, a); }
	int insert(uint64_t f, uint64_t l, void *v) { return rbb_insert(t, f, l, v); }
	int erase(uint64_t f, uint64_t) { return rbb_erase(t, f); }
	int restore(uint64_t f, uint64_t l, void *v) { return rbb_set_val(t, f, l, v); }
	int gap(uint64_t hi, uint64_t size, uint64_t *a) { return rbb_gap_topdown(t, hi, size, a); }
	size_t bytes() { return rbb_bytes(t); }
	void mix(unsigned long out[4]) { out[0] = out[1] = out[2] = out[3] = 0; }
};

template <class T> void fill(T &t, const Layout &l)
{
	// insert in a scrambled order, as an address space is built over time
	size_t n = l.first.size();
	uint64_t s = 77;
	std::vector<size_t> order(n);
	for (size_t i = 0; i < n; i++)
		order[i] = i;
	for (size_t i = n; i > 1; i--)
		std::swap(order[i - 1], order[xorshift(s) % i]);
	for (size_t i : order)
		if (t.insert(l.first[i], l.last[i], l.val(i)))
			std::abort();
}

// A structure of type T filled with the layout of n ranges, on a registered
// CPU (the calling benchmark thread).
template <class T> struct Filled {
	Layout l;
	T t;
	explicit Filled(size_t n) : l(n)
	{
		cpu_slot.ensure();
		fill(t, l);
	}
};

std::vector<uint64_t> present_addrs(const Layout &l, size_t count)
{
	std::vector<uint64_t> a(count);
	uint64_t s = 99;
	for (auto &x : a) {
		size_t i = xorshift(s) % l.first.size();
		x = l.first[i] + xorshift(s) % (l.last[i] - l.first[i] + 1);
	}
	return a;
}

template <class T> void BM_Lookup(benchmark::State &st)
{
	Filled<T> f(st.range(0));
	Layout &l = f.l;
	T &t = f.t;
	auto addrs = present_addrs(l, 1 << 16);
	size_t i = 0, miss = 0;
	for (auto _ : st) {
		void *e = t.find(addrs[i++ & 0xffff]);
		miss += !e;
		benchmark::DoNotOptimize(e);
	}
	if (miss)
		st.SkipWithError("lookup of a present address failed");
	st.counters["bytes_per_range"] = (double)t.bytes() / l.first.size();
	st.SetItemsProcessed(st.iterations());
}

template <class T> void BM_Churn(benchmark::State &st)
{
	Filled<T> f(st.range(0));
	Layout &l = f.l;
	T &t = f.t;
	uint64_t s = 1234;
	bool bad = false;
	unsigned long m0[4], m1[4];
	t.mix(m0);
	for (auto _ : st) {
		size_t i = xorshift(s) % l.first.size();
		bad |= t.erase(l.first[i], l.last[i]) != 0;
		bad |= t.insert(l.first[i], l.last[i], l.val(i)) != 0;
	}
	if (bad)
		st.SkipWithError("churn write failed");
	t.mix(m1);
	// Mt only (Rb reports zeros): the share of stores published in place
	// (one slot written) and by copying a leaf or a subtree
	st.counters["in_place"] = (double)(m1[0] - m0[0]) / (2.0 * st.iterations());
	st.counters["leaf_copy"] = (double)(m1[1] - m0[1]) / (2.0 * st.iterations());
	st.counters["subtree_copy"] = (double)(m1[2] + m1[3] - m0[2] - m0[3]) / (2.0 * st.iterations());
	st.SetItemsProcessed(st.iterations() * 2);
}

template <class T> void BM_Gap(benchmark::State &st)
{
	Filled<T> f(st.range(0));
	Layout &l = f.l;
	T &t = f.t;
	uint64_t s = 4321, a = 0, top = l.last.back(), size = 32 * 4096;
	size_t found = 0;
	for (auto _ : st) {
		uint64_t hi = l.first[0] + xorshift(s) % (top - l.first[0]);
		found += t.gap(hi, size, &a) == 0;
		benchmark::DoNotOptimize(a);
	}
	st.counters["found"] = benchmark::Counter((double)found / st.iterations());
	st.SetItemsProcessed(st.iterations());
}

// The paced writer's target rate (W = 2): an address space doing 100,000
// mmap+munmap pairs per second is far busier than real ones, yet far below
// what a flat-out writer does; at the same rate for both structures, the
// reader's slowdown measures interference per write, not writer speed.
constexpr double kPacedWrites = 200000;

// churn_pair: the benchmark writer's step: erase a random range of l from t
// and put it back (two stores).
template <class T> void churn_pair(T &t, const Layout &l, uint64_t &s)
{
	size_t i = xorshift(s) % l.first.size();

	t.erase(l.first[i], l.last[i]);
	t.insert(l.first[i], l.last[i], l.val(i));
}

// A reader benchmark's fixture: the filled structure and the present
// addresses its reader looks up (the i-th lookup takes the i-th, cyclically;
// the caller keeps i in a local: a counter in this object could share a line
// with the writer's lock, which cost readers up to 40 % in d9eb457).
template <class T> struct ReaderFixture : Filled<T> {
	std::vector<uint64_t> addrs;
	explicit ReaderFixture(size_t n) : Filled<T>(n), addrs(present_addrs(this->l, 1 << 16)) {}
	void lookup(size_t i)
	{
		void *e = this->t.find(addrs[i & 0xffff]);
		benchmark::DoNotOptimize(e);
	}
};

// One reader (the benchmark thread) and, if st.range(1), one writer thread
// churning erase/insert of random ranges for the whole measurement (flat out,
// or paced at kPacedWrites if st.range(1) == 2: batches of 64 writes, then
// sleep until the schedule catches up).
template <class T> void BM_Readers(benchmark::State &st)
{
	ReaderFixture<T> f(st.range(0));
	Layout &l = f.l;
	std::atomic<bool> stop{false};
	std::atomic<uint64_t> writes{0};
	std::thread writer;
	std::unique_ptr<Filled<T>> own;	// W = 4: the writer's own tree
	if (st.range(1) == 4)
		own = std::make_unique<Filled<T>>(st.range(0));
	T &wt = own ? own->t : f.t;
	if (st.range(1) == 3)
		writer = std::thread([&] { bench_spin(stop, nullptr); });
	else if (st.range(1))
		writer = std::thread([&] {
			cpu_slot.ensure();
			uint64_t s = 555, n = 0;
			bool paced = st.range(1) == 2;
			auto w0 = std::chrono::steady_clock::now();
			while (!stop.load(std::memory_order_relaxed)) {
				if (st.range(1) == 5) {	// Mt only: value-only stores
					size_t i = xorshift(s) % l.first.size();

					wt.restore(l.first[i], l.last[i], l.val(i, 1));
					wt.restore(l.first[i], l.last[i], l.val(i));
				} else if (st.range(1) == 6) {	// Mt only: copying stores
					size_t i = xorshift(s) % l.first.size();

					wt.erase(l.first[i], l.last[i]);
					wt.insert(l.first[i], l.last[i] - 0x800, l.val(i));
				} else {
					churn_pair(wt, l, s);
				}
				n += 2;
				if (paced && n % 64 == 0)
					std::this_thread::sleep_until(w0 + std::chrono::duration<double>(
						(double)n / kPacedWrites));
			}
			writes = n;
		});
	auto t0 = std::chrono::steady_clock::now();
	size_t i = 0;
	for (auto _ : st)
		f.lookup(i++);
	double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
	stop = true;
	if (writer.joinable())
		writer.join();
	// items_per_second: lookups per second of the reader's own CPU time (what
	// the writer's interference costs a reader that has its own CPU);
	// lookups_per_wall_sec: per elapsed second (also counts time the reader
	// lost to the writer on an oversubscribed machine, and rwlock waits).
	st.counters["writes_per_wall_sec"] = (double)writes / wall;
	st.counters["lookups_per_wall_sec"] = (double)st.iterations() / wall;
	st.SetItemsProcessed(st.iterations());
}

// thread_cpu: this thread's CPU time in seconds.
double thread_cpu()
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

// The paired measurement's window, in the reader's CPU time.
constexpr double kPairWindow = 0.01;

// BM_ReadersPaired: the reader-with-writer ratio with the host's drift
// cancelled. The writer of BM_Readers (W = 1, flat out) is switched on and
// off in alternate windows of kPairWindow of the reader's CPU time (off: it
// sleeps, polling every 100 us); the reader counts its lookups and CPU time
// per kind of window. On this shared machine the reader's speed alone drifts
// by up to 40 % between runs a few seconds apart (docs/bench-tree.md), far
// more than the effect measured; neighbouring windows 10 ms apart see the
// same host, so on_off = (lookups/s with the writer) / (lookups/s without)
// measures the writer's cost alone. Partial windows at the end are dropped.
template <class T> void BM_ReadersPaired(benchmark::State &st)
{
	ReaderFixture<T> f(st.range(0));
	std::atomic<bool> stop{false}, on{false};
	std::thread writer([&] {
		cpu_slot.ensure();
		uint64_t s = 555;
		while (!stop.load(std::memory_order_relaxed)) {
			if (!on.load(std::memory_order_relaxed)) {
				std::this_thread::sleep_for(std::chrono::microseconds(100));
				continue;
			}
			churn_pair(f.t, f.l, s);
		}
	});
	double cpu[2] = { 0, 0 }, w0 = thread_cpu();
	uint64_t n[2] = { 0, 0 }, cnt = 0;
	size_t i = 0;
	int phase = 0;
	for (auto _ : st) {
		f.lookup(i++);
		if ((++cnt & 1023) == 0) {
			double now = thread_cpu();
			if (now - w0 >= kPairWindow) {
				cpu[phase] += now - w0;
				n[phase] += cnt;
				cnt = 0;
				w0 = now;
				phase ^= 1;
				on.store(phase == 1, std::memory_order_relaxed);
			}
		}
	}
	stop = true;
	writer.join();
	// 0 when the run was too short for a window of each kind (google-
	// benchmark's first, calibrating runs; bench-smoke)
	st.counters["on_off"] = n[0] && n[1] ? (n[1] / cpu[1]) / (n[0] / cpu[0]) : 0;
	st.counters["windows"] = (cpu[0] + cpu[1]) / kPairWindow;
	st.SetItemsProcessed(st.iterations());
}

// What one tree node costs the host allocator (env_alloc(256) is an
// aligned_alloc; the kernel has a slab), against the baseline's node malloc.
void BM_EnvAllocNode(benchmark::State &st)
{
	for (auto _ : st) {
		void *p = env_alloc(256);
		benchmark::DoNotOptimize(p);
		env_free(p, 256);
	}
}

void BM_MallocRbNode(benchmark::State &st)
{
	for (auto _ : st) {
		void *p = malloc(72);
		benchmark::DoNotOptimize(p);
		free(p);
	}
}

// Cross-check before measuring: both structures must agree on gap answers
// after churn (guards the baseline's hand-maintained augmentation).
bool cross_check()
{
	Layout l(5000);
	Mt m;
	Rb r;
	fill(m, l);
	fill(r, l);
	uint64_t s = 8, a1 = 0, a2 = 0;
	for (int k = 0; k < 20000; k++) {
		size_t i = xorshift(s) % l.first.size();
		m.erase(l.first[i], l.last[i]);
		r.erase(l.first[i], l.last[i]);
		if (k % 3) {
			m.insert(l.first[i], l.last[i], l.val(i));
			r.insert(l.first[i], l.last[i], l.val(i));
		}
		size_t j = xorshift(s) % l.first.size();	// restore, where present
		if (m.find(l.first[j]) && (m.restore(l.first[j], l.last[j], l.val(j, k & 1)) ||
					   r.restore(l.first[j], l.last[j], l.val(j, k & 1)))) {
			fprintf(stderr, "restore failed at %#lx\n", (unsigned long)l.first[j]);
			return false;
		}
		uint64_t at = l.first[j] + xorshift(s) % (l.last[j] - l.first[j] + 1);
		if (m.find(at) != r.find(at)) {
			fprintf(stderr, "find mismatch at %#lx\n", (unsigned long)at);
			return false;
		}
		uint64_t hi = xorshift(s) % l.last.back(), size = 4096 * (1 + xorshift(s) % 80);
		int e1 = m.gap(hi, size, &a1), e2 = r.gap(hi, size, &a2);
		if (e1 != e2 || (!e1 && a1 != a2)) {
			fprintf(stderr, "gap mismatch: hi %#lx size %#lx: mt %d %#lx, rb %d %#lx\n",
				(unsigned long)hi, (unsigned long)size, e1, (unsigned long)a1, e2,
				(unsigned long)a2);
			return false;
		}
	}
	return true;
}

} // namespace

#define SIZES ->Arg(16)->Arg(1000)->Arg(100000)
BENCHMARK_TEMPLATE(BM_Lookup, Mt) SIZES;
BENCHMARK_TEMPLATE(BM_Lookup, Rb) SIZES;
BENCHMARK_TEMPLATE(BM_Churn, Mt) SIZES;
BENCHMARK_TEMPLATE(BM_Churn, Rb) SIZES;
BENCHMARK_TEMPLATE(BM_Gap, Mt) SIZES;
BENCHMARK_TEMPLATE(BM_Gap, Rb) SIZES;
BENCHMARK(BM_EnvAllocNode);
BENCHMARK(BM_MallocRbNode);
#define RSIZES ->Args({16, 0})->Args({16, 1})->Args({16, 2})->Args({1000, 0}) \
	->Args({1000, 1})->Args({1000, 2})->Args({100000, 0})->Args({100000, 1})     \
	->Args({100000, 2})
BENCHMARK_TEMPLATE(BM_Readers, Mt) RSIZES;
BENCHMARK_TEMPLATE(BM_Readers, Rb) RSIZES;
BENCHMARK_TEMPLATE(BM_Readers, Mt)->Args({100000, 3})->Args({100000, 4})->Args({100000, 5})->Args({100000, 6});
BENCHMARK_TEMPLATE(BM_ReadersPaired, Mt)->Arg(16)->Arg(1000)->Arg(100000);
BENCHMARK_TEMPLATE(BM_ReadersPaired, Rb)->Arg(100000);

int main(int argc, char **argv)
{
	cpu_slot.ensure();
	if (!cross_check())
		return 1;
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return 0;
}
