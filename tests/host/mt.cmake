# The range tree (mm/mt*.c): unit/property, allocation-failure injection and
# RCU torture tests, all label "host". Time bounds hold under ASan+UBSan.
kestrel_test(mt_prop LABELS host SOURCES ${CMAKE_CURRENT_LIST_DIR}/mt_prop.c
             LIBS kestrel_mt TIMEOUT 120)
kestrel_test(mt_inject LABELS host SOURCES ${CMAKE_CURRENT_LIST_DIR}/mt_inject.c
             LIBS kestrel_mt TIMEOUT 120)
kestrel_test(mt_torture LABELS host SOURCES ${CMAKE_CURRENT_LIST_DIR}/mt_torture.c
             LIBS kestrel_mt TIMEOUT 60)
# mt_inplace: each in-place publication path (value, leaf, inner), with
# allocation failures.
kestrel_test(mt_inplace LABELS host SOURCES ${CMAKE_CURRENT_LIST_DIR}/mt_inplace.c
             LIBS kestrel_mt TIMEOUT 120)
