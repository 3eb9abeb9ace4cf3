# Concurrency-review tests (tests/host/review_*.c), label "host". They make
# interleavings deterministic by wrapping one function at link time
# (-Wl,--wrap): review_mt_pause stops an RCU reader inside mt_walk at the
# DEBUG_YIELD hook, review_fault_free a COW copier before its table lock;
# review_stale_tlb pauses a shootdown before it is posted.
if(EXISTS ${CMAKE_CURRENT_LIST_DIR}/review_mt_pause.c)
  kestrel_test(review_mt_pause LABELS host
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/review_mt_pause.c
               LIBS kestrel_mt TIMEOUT 60)
  target_link_options(review_mt_pause PRIVATE -Wl,--wrap=debug_yield_slow)
endif()
if(TARGET kestrel_mm AND EXISTS ${CMAKE_CURRENT_LIST_DIR}/review_fault_free.c)
  kestrel_test(review_fault_free LABELS host
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/review_fault_free.c
               LIBS kestrel_mm TIMEOUT 60)
  target_link_options(review_fault_free PRIVATE -Wl,--wrap=debug_yield_slow)
endif()
if(TARGET kestrel_mm AND EXISTS ${CMAKE_CURRENT_LIST_DIR}/review_stale_tlb.c)
  kestrel_test(review_stale_tlb LABELS host
               SOURCES ${CMAKE_CURRENT_LIST_DIR}/review_stale_tlb.c
               LIBS kestrel_mm TIMEOUT 60)
  target_link_options(review_stale_tlb PRIVATE -Wl,--wrap=pmap_tlb_shootdown)
endif()
