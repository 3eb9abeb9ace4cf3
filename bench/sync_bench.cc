// bench/sync_bench.cc - google-benchmark for the sync/ primitives.
//
// Read sides: RCU (liburcu memb) vs a pthread rwlock read lock vs the rwsem
// (sync/lock.h) read lock; seqcount read. rwsem write lock/unlock alone, and
// against a second thread doing the same (contended: sleeps and handoffs).
// Spinlock uncontended and contended; per-CPU counter add vs one shared
// atomic add, at 1 and 2 threads. Every benchmark thread registers as a
// simulated CPU for the duration of the run (HostCpu guard).
// JSON: sync_bench --benchmark_format=json
extern "C" {
#include "sync/env.h"
#include "sync/rcu.h"
#include "sync/seq.h"
#include "sync/spinlock.h"
#include "sync/lock.h"
#include "sync/pcpu_counter.h"
#include "sync/host/hostcpu.h"
}
#include <benchmark/benchmark.h>
#include <pthread.h>
#include <atomic>

namespace {

// HostCpu: register this thread as a CPU for the scope, if it is not one.
struct HostCpu {
	bool mine = false;
	HostCpu() { if (hostcpu_self_id < 0) mine = hostcpu_register() >= 0; }
	~HostCpu() { if (mine) hostcpu_unregister(); }
};

int shared_value = 42;
int *shared_ptr = &shared_value;

void BM_rcu_read(benchmark::State &st)
{
	HostCpu cpu;
	for (auto _ : st) {
		rcu_read_lock();
		benchmark::DoNotOptimize(*rcu_dereference(shared_ptr));
		rcu_read_unlock();
	}
}
BENCHMARK(BM_rcu_read)->Threads(1)->Threads(2);

pthread_rwlock_t rwl = PTHREAD_RWLOCK_INITIALIZER;

void BM_rwlock_read(benchmark::State &st)
{
	for (auto _ : st) {
		pthread_rwlock_rdlock(&rwl);
		benchmark::DoNotOptimize(*shared_ptr);
		pthread_rwlock_unlock(&rwl);
	}
}
BENCHMARK(BM_rwlock_read)->Threads(1)->Threads(2);

struct rwsem rws;	// rwsem_init in main

void BM_rwsem_read(benchmark::State &st)
{
	for (auto _ : st) {
		down_read(&rws);
		benchmark::DoNotOptimize(*shared_ptr);
		up_read(&rws);
	}
}
BENCHMARK(BM_rwsem_read)->Threads(1)->Threads(2);

void BM_rwsem_write(benchmark::State &st)
{
	for (auto _ : st) {
		down_write(&rws);
		benchmark::DoNotOptimize(++shared_value);
		up_write(&rws);
	}
}
BENCHMARK(BM_rwsem_write)->Threads(1)->Threads(2);

seqcount_t seq = SEQCOUNT_INITIALIZER;
uint64_t seq_words[2];

void BM_seq_read(benchmark::State &st)
{
	for (auto _ : st) {
		unsigned v;
		uint64_t a, b;
		do {
			v = seq_read_begin(&seq);
			a = seq_words[0];
			b = seq_words[1];
		} while (seq_read_retry(&seq, v));
		benchmark::DoNotOptimize(a + b);
	}
}
BENCHMARK(BM_seq_read)->Threads(1)->Threads(2);

struct spinlock lock_a = SPINLOCK_INITIALIZER("bench");
long guarded;

void BM_spin_lock_unlock(benchmark::State &st)
{
	HostCpu cpu;
	for (auto _ : st) {
		spin_lock(&lock_a);
		guarded++;
		spin_unlock(&lock_a);
	}
}
BENCHMARK(BM_spin_lock_unlock)->Threads(1)->Threads(2);

struct pcpu_counter ctr;
std::atomic<int64_t> shared_ctr;

void BM_pcpu_counter_add(benchmark::State &st)
{
	HostCpu cpu;
	for (auto _ : st)
		pcpu_counter_add(&ctr, 1);
	if (st.thread_index() == 0)
		st.counters["sum"] = (double)pcpu_counter_sum(&ctr);
}
BENCHMARK(BM_pcpu_counter_add)->Threads(1)->Threads(2);

void BM_shared_atomic_add(benchmark::State &st)
{
	for (auto _ : st)
		shared_ctr.fetch_add(1, std::memory_order_relaxed);
}
BENCHMARK(BM_shared_atomic_add)->Threads(1)->Threads(2);

}  // namespace

int main(int argc, char **argv)
{
	hostcpu_set_count(16);
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	if (pcpu_counter_init(&ctr, 64) != 0)
		return 1;
	rwsem_init(&rws, "bench");
	benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	pcpu_counter_destroy(&ctr);
	rwsem_destroy(&rws);
	return 0;
}
