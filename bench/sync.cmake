# bench_sync: google-benchmark of the sync/ primitives; bench-smoke runs it briefly.
find_package(benchmark REQUIRED)
add_executable(bench_sync ${CMAKE_CURRENT_LIST_DIR}/sync_bench.cc)
kestrel_host_target(bench_sync)
target_link_libraries(bench_sync PRIVATE kestrel_sync benchmark::benchmark)
add_test(NAME bench_sync_smoke COMMAND bench_sync --benchmark_min_time=0.01
         --benchmark_format=json --benchmark_out=bench_sync.json)
set_tests_properties(bench_sync_smoke PROPERTIES LABELS bench-smoke TIMEOUT 120)
