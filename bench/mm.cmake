# mm_bench: page-fault cost on the host machine, lock-free vs the locked
# switch, 1 and 2 threads, with and without an mmap/munmap churner.
# bench-smoke runs it briefly (JSON out); numbers: docs/DESIGN.md.
find_package(benchmark REQUIRED)
if(TARGET kestrel_mm)
  add_executable(mm_bench ${CMAKE_CURRENT_LIST_DIR}/mm_bench.cc
                 ${CMAKE_CURRENT_LIST_DIR}/mm_bench_glue.c)
  kestrel_host_target(mm_bench)
  target_link_libraries(mm_bench PRIVATE kestrel_mm benchmark::benchmark pthread)
  kestrel_bench_smoke(mm_bench ${CMAKE_CURRENT_LIST_DIR}/mm_ratios.py
                      --benchmark_min_time=0.01)
endif()
