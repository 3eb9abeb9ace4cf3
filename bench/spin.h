// bench/spin.h - the "busy neighbour" control shared by the benchmarks.
#ifndef BENCH_SPIN_H
#define BENCH_SPIN_H
#include <benchmark/benchmark.h>
#include <atomic>
#include <cstdint>

// bench_spin: spin on registers (three independent multiply chains) until
// stop, reading only stop; then add the blocks of 1,000 steps it ran to ops,
// if given (once, so no line is written while the measured thread runs).
// Beside a measured thread it shows what a busy second CPU costs by itself:
// nothing shared, no cache lines written, no allocator.
inline void bench_spin(const std::atomic<bool> &stop, std::atomic<uint64_t> *ops)
{
	uint64_t x = 1, y = 2, z = 3, blocks = 0;

	while (!stop.load(std::memory_order_relaxed)) {
		for (int k = 0; k < 1000; k++) {
			x = x * 3 + 1;
			y = y * 5 + 1;
			z = z * 7 + 1;
		}
		benchmark::DoNotOptimize(x + y + z);
		blocks++;
	}
	if (ops)
		ops->fetch_add(blocks);
}
#endif
