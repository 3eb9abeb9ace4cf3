# Concurrency-review tests (tests/host/review_*.c), label "host". They make
# interleavings deterministic by wrapping one function at link time
# (-Wl,--wrap): review_mt_pause stops an RCU reader inside mt_walk at the
# DEBUG_YIELD hook, review_fault_free a COW copier before its table lock;
# review_stale_tlb pauses a shootdown before it is posted.
function(kestrel_review_test name lib wrapped)
  if(TARGET ${lib})
    kestrel_test(${name} LABELS host SOURCES ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/${name}.c
                 LIBS ${lib} TIMEOUT 60)
    target_link_options(${name} PRIVATE -Wl,--wrap=${wrapped})
  endif()
endfunction()

kestrel_review_test(review_mt_pause kestrel_mt debug_yield_slow)
kestrel_review_test(review_fault_free kestrel_mm debug_yield_slow)
kestrel_review_test(review_stale_tlb kestrel_mm pmap_tlb_shootdown)
