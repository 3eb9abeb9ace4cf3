#!/usr/bin/env bash
# The host microbenchmarks behind the mm issues' targets, with the ratios:
# a RelWithDebInfo build without sanitizers (build/host), then mm_bench (fault
# path) and mt_bench at 100,000 ranges (range tree), repetitions interleaved
# so that the machine's drift spreads over every benchmark. JSON goes to
# build/host/bench/{mm,mt}_bench.json. Needs a quiet machine: read the ratios,
# and run it more than once (docs/DESIGN.md "mm: measurements",
# docs/bench-tree.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
cmake --preset host >/dev/null
cmake --build --preset host -j "$(nproc)" --target mm_bench mt_bench
out=build/host/bench
flags=(--benchmark_min_time=0.2 --benchmark_repetitions=9
       --benchmark_enable_random_interleaving=true --benchmark_report_aggregates_only=true
       --benchmark_out_format=json)
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
"$out/mm_bench" "${flags[@]}" --benchmark_out="$out/mm_bench.json" >/dev/null 2>&1
python3 bench/mm_ratios.py "$out/mm_bench.json"
"$out/mt_bench" --benchmark_filter='/100000' "${flags[@]}" \
	--benchmark_out="$out/mt_bench.json" >/dev/null 2>&1
python3 bench/mt_ratios.py "$out/mt_bench.json"
