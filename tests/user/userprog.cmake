# Static musl user programs (tests/user/, stress/): the oracle binaries that
# run natively on Linux now and unchanged on Kestrel from an initramfs.
#
# kestrel_userprog(name SOURCES s... [ARGS a...] [TIMEOUT n]) builds
# ${CMAKE_BINARY_DIR}/userprogs/<name> with musl-gcc (a custom command: the
# project compiler is glibc gcc), registers CTest "native-<name>" (label
# native), and appends the binary to the global property KESTREL_USERPROGS.
# At the end of configure the list is written to
# ${CMAKE_BINARY_DIR}/userprogs.txt (one absolute path per line) for the
# initramfs; the target "userprogs" builds them all.
include_guard(GLOBAL)

find_program(KESTREL_MUSL_GCC musl-gcc)
if(NOT KESTREL_MUSL_GCC)
  message(STATUS "musl-gcc not found: static user programs are not built")
endif()

if(KESTREL_MUSL_GCC AND NOT TARGET userprogs)
  add_custom_target(userprogs ALL)
endif()

function(kestrel_userprog name)
  cmake_parse_arguments(U "" "TIMEOUT" "SOURCES;ARGS" ${ARGN})
  if(NOT KESTREL_MUSL_GCC)
    return()
  endif()
  # Variables, unlike functions, are per directory: compute them here.
  set(dir ${CMAKE_BINARY_DIR}/userprogs)
  set(out ${dir}/${name})
  set(cflags -O2 -g -static -Wall -Wextra -pthread -std=gnu11 -D_GNU_SOURCE
      -I${CMAKE_SOURCE_DIR}/tests/user)
  add_custom_command(OUTPUT ${out}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${dir}
    COMMAND ${KESTREL_MUSL_GCC} ${cflags} -o ${out} ${U_SOURCES}
    DEPENDS ${U_SOURCES} ${CMAKE_SOURCE_DIR}/tests/user/uktap.h
            ${CMAKE_SOURCE_DIR}/tests/user/usig.h
    COMMENT "musl-gcc -static ${name}"
    VERBATIM)
  add_custom_target(userprog-${name} DEPENDS ${out})
  add_dependencies(userprogs userprog-${name})
  if(NOT U_TIMEOUT)
    set(U_TIMEOUT 60)
  endif()
  add_test(NAME native-${name} COMMAND ${out} ${U_ARGS})
  set_tests_properties(native-${name} PROPERTIES LABELS native TIMEOUT ${U_TIMEOUT})
  set_property(GLOBAL APPEND PROPERTY KESTREL_USERPROGS ${out})
endfunction()

# Written once, after every directory has registered its programs.
function(kestrel_userprog_write_list)
  get_property(progs GLOBAL PROPERTY KESTREL_USERPROGS)
  list(JOIN progs "\n" text)
  file(WRITE ${CMAKE_BINARY_DIR}/userprogs.txt "${text}\n")
endfunction()
if(KESTREL_MUSL_GCC)
  cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL kestrel_userprog_write_list)
endif()
