# mt_reserve: linear and sufficient reservations (label host).
kestrel_test(mt_reserve LABELS host SOURCES ${CMAKE_CURRENT_LIST_DIR}/mt_reserve.c
             LIBS kestrel_mt TIMEOUT 60)
