# Static musl stress loops (issue 6), built and registered by kestrel_userprog
# (tests/user/userprog.cmake): CTest native-<prog>, label native.
include(${CMAKE_SOURCE_DIR}/tests/user/userprog.cmake)

kestrel_userprog(forkloop SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/forkloop.c
                 ARGS iters=10 secs=30)
kestrel_userprog(mremaploop SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/mremaploop.c
                 ARGS threads=2 iters=2000 secs=30)
kestrel_userprog(faultscale SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/faultscale.c
                 ARGS threads=1,2,4 pages=1024 rounds=3 secs=30)
