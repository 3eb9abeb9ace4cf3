# mm_bench: page-fault cost on the host machine, lock-free vs the locked
# switch, 1 and 2 threads, with and without an mmap/munmap churner.
# bench-smoke runs it briefly (JSON out); numbers: docs/DESIGN.md.
find_package(benchmark REQUIRED)
if(TARGET kestrel_mm)
  add_executable(mm_bench ${CMAKE_CURRENT_LIST_DIR}/mm_bench.cc
                 ${CMAKE_CURRENT_LIST_DIR}/mm_bench_glue.c)
  kestrel_host_target(mm_bench)
  target_link_libraries(mm_bench PRIVATE kestrel_mm benchmark::benchmark pthread)
  add_test(NAME mm_bench_smoke COMMAND mm_bench --benchmark_min_time=0.01
           --benchmark_format=json --benchmark_out=mm_bench.json)
  set_tests_properties(mm_bench_smoke PROPERTIES LABELS bench-smoke TIMEOUT 120
                       FIXTURES_SETUP mm_bench_json)
  # The ratio script reads the smoke run's JSON, so it keeps matching the
  # benchmark names it needs.
  find_package(Python3 COMPONENTS Interpreter)
  if(Python3_Interpreter_FOUND)
    add_test(NAME mm_ratios_smoke COMMAND ${Python3_EXECUTABLE}
             ${CMAKE_CURRENT_LIST_DIR}/mm_ratios.py mm_bench.json)
    set_tests_properties(mm_ratios_smoke PROPERTIES LABELS bench-smoke TIMEOUT 30
                         FIXTURES_REQUIRED mm_bench_json)
  endif()
endif()
