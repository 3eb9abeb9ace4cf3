# sync/ tests: unit tests and torture tests (label host).
kestrel_test(sync_unit LABELS host SOURCES ${CMAKE_CURRENT_LIST_DIR}/sync_unit.c
             LIBS kestrel_sync TIMEOUT 120)
kestrel_test(sync_torture LABELS host stress SOURCES ${CMAKE_CURRENT_LIST_DIR}/sync_torture.c
             LIBS kestrel_sync TIMEOUT 120)
kestrel_test(rwsem_test LABELS host SOURCES ${CMAKE_CURRENT_LIST_DIR}/rwsem_test.c
             LIBS kestrel_sync TIMEOUT 120)
