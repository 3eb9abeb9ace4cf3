# The simulated host machine's own parts (arch/host/): the frame allocator.
# Label "host"; bounded well under a minute under ASan+UBSan.
if(TARGET kestrel_mm)
  kestrel_test(host_frames LABELS host SOURCES ${CMAKE_CURRENT_LIST_DIR}/host_frames.c
               LIBS kestrel_mm TIMEOUT 60)
endif()
