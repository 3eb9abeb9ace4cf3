# kmem_bench: google-benchmark of the frame allocator and kmalloc (the same
# kernel/ sources as the kernel, over a fake arena); bench-smoke runs it
# briefly. Numbers: docs/kmem.md.
find_package(benchmark REQUIRED)
add_executable(kmem_bench ${CMAKE_CURRENT_LIST_DIR}/kmem_bench.cc
  ${KESTREL_ROOT}/kernel/frame.c ${KESTREL_ROOT}/kernel/frame_buddy.c ${KESTREL_ROOT}/kernel/frame_selftest.c
  ${KESTREL_ROOT}/kernel/slab.c ${KESTREL_ROOT}/tests/host/frame_arena.c)
kestrel_host_target(kmem_bench)
target_link_libraries(kmem_bench PRIVATE kestrel_sync benchmark::benchmark)
add_test(NAME kmem_bench_smoke COMMAND kmem_bench --benchmark_min_time=0.002)
set_tests_properties(kmem_bench_smoke PROPERTIES LABELS bench-smoke TIMEOUT 120)
