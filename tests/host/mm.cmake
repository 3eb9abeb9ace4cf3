# The mm core on the simulated host machine: scenarios, differential model,
# allocation-failure injection, shootdowns and torture. Label "host"; every
# test is bounded well under a minute under ASan+UBSan.
if(TARGET kestrel_mm)
  foreach(t mm_ops mm_inject mm_smp mm_torture mm_model mm_merge mm_dontneed)
    kestrel_test(${t} LABELS host SOURCES ${CMAKE_CURRENT_LIST_DIR}/${t}.c
                 LIBS kestrel_mm TIMEOUT 60)
  endforeach()
  # fork_snapshot_is_stable waits for descheduled simulated CPUs' acks: its
  # rounds are time-bounded, this is the margin for a loaded machine.
  set_tests_properties(mm_smp PROPERTIES TIMEOUT 120)
  # The same torture, longer (label stress as well as host).
  add_test(NAME mm_torture_long COMMAND mm_torture)
  set_tests_properties(mm_torture_long PROPERTIES LABELS "host;stress" TIMEOUT 60
                       ENVIRONMENT MMT_SECONDS=20)
  # Races between the fault path and fork/mremap found in review.
  kestrel_test(mm_race LABELS host SOURCES ${CMAKE_CURRENT_LIST_DIR}/mm_race.c
               LIBS kestrel_mm TIMEOUT 120)
endif()
