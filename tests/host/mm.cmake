# The mm core on the simulated host machine: scenarios, differential model,
# allocation-failure injection, shootdowns and torture. Label "host"; every
# test is bounded well under a minute under ASan+UBSan.
if(TARGET kestrel_mm)
  kestrel_test(mm_ops LABELS host SOURCES ${CMAKE_CURRENT_LIST_DIR}/mm_ops.c
               LIBS kestrel_mm TIMEOUT 60)
endif()
if(TARGET kestrel_mm)
  kestrel_test(mm_inject LABELS host SOURCES ${CMAKE_CURRENT_LIST_DIR}/mm_inject.c
               LIBS kestrel_mm TIMEOUT 60)
endif()
if(TARGET kestrel_mm)
  kestrel_test(mm_smp LABELS host SOURCES ${CMAKE_CURRENT_LIST_DIR}/mm_smp.c
               LIBS kestrel_mm TIMEOUT 60)
endif()
if(TARGET kestrel_mm)
  kestrel_test(mm_torture LABELS host SOURCES ${CMAKE_CURRENT_LIST_DIR}/mm_torture.c
               LIBS kestrel_mm TIMEOUT 60)
endif()
if(TARGET kestrel_mm)
  kestrel_test(mm_model LABELS host SOURCES ${CMAKE_CURRENT_LIST_DIR}/mm_model.c
               LIBS kestrel_mm TIMEOUT 60)
endif()
if(TARGET kestrel_mm)
  # The same torture, longer (label stress as well as host).
  add_test(NAME mm_torture_long COMMAND mm_torture)
  set_tests_properties(mm_torture_long PROPERTIES LABELS "host;stress" TIMEOUT 60
                       ENVIRONMENT MMT_SECONDS=20)
endif()
if(TARGET kestrel_mm)
  # Races between the fault path and fork/mremap found in review.
  kestrel_test(mm_race LABELS host SOURCES ${CMAKE_CURRENT_LIST_DIR}/mm_race.c
               LIBS kestrel_mm TIMEOUT 120)
endif()
