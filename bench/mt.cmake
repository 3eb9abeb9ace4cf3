# Range-tree benchmark (google-benchmark): mm/mt*.c against a libbsd
# red-black tree under a pthread rwlock. bench-smoke runs it briefly so it
# keeps building and running; real numbers come from a RelWithDebInfo build
# without sanitizers (docs/bench-tree.md).
find_library(BENCHMARK_LIB benchmark)
find_library(BSD_LIB bsd)
if(BENCHMARK_LIB AND BSD_LIB)
  add_executable(mt_bench ${CMAKE_CURRENT_LIST_DIR}/mt_bench.cc ${CMAKE_CURRENT_LIST_DIR}/mt_rbtree.c)
  kestrel_host_target(mt_bench)
  target_link_libraries(mt_bench PRIVATE kestrel_mt ${BENCHMARK_LIB} ${BSD_LIB} pthread)
  kestrel_bench_smoke(mt_bench ${CMAKE_CURRENT_LIST_DIR}/mt_ratios.py
                      --benchmark_min_time=0.002 --benchmark_filter=/16$|/16/|/1000$)
endif()
