# sync_bench: google-benchmark of the sync/ primitives; bench-smoke runs it briefly.
find_package(benchmark REQUIRED)
add_executable(sync_bench ${CMAKE_CURRENT_LIST_DIR}/sync_bench.cc)
kestrel_host_target(sync_bench)
target_link_libraries(sync_bench PRIVATE kestrel_sync benchmark::benchmark)
add_test(NAME sync_bench_smoke COMMAND sync_bench --benchmark_min_time=0.01
         --benchmark_format=json --benchmark_out=sync_bench.json)
set_tests_properties(sync_bench_smoke PROPERTIES LABELS bench-smoke TIMEOUT 120)
