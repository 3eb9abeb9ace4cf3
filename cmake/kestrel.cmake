# Helpers shared by every CMakeLists.txt in the tree.

set(KESTREL_ROOT ${CMAKE_SOURCE_DIR})
set(KESTREL_WARNINGS -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare)

# kestrel_host_target(t): a host (userspace) target that sees the host
# environment backend, with sanitizers/coverage when enabled.
function(kestrel_host_target t)
  target_include_directories(${t} PRIVATE ${KESTREL_ROOT} ${KESTREL_ROOT}/sync/host)
  target_compile_definitions(${t} PRIVATE KESTREL_DEBUG=1 _GNU_SOURCE)
  target_compile_options(${t} PRIVATE ${KESTREL_WARNINGS})
  if(KESTREL_SANITIZE)
    target_compile_options(${t} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                                        -fno-sanitize-recover=undefined)
    target_link_options(${t} PRIVATE -fsanitize=address,undefined)
  endif()
  if(KESTREL_COVERAGE)
    target_compile_options(${t} PRIVATE --coverage -fprofile-update=atomic -O0)
    target_link_options(${t} PRIVATE --coverage)
  endif()
endfunction()

# kestrel_bench_smoke(bench script): a bench-smoke test running bench with
# args (ARGN) into <bench>.json, and <script> reading that JSON, so the ratio
# script keeps matching the benchmark names it needs.
function(kestrel_bench_smoke bench script)
  add_test(NAME ${bench}_smoke COMMAND ${bench} ${ARGN} --benchmark_out=${bench}.json)
  set_tests_properties(${bench}_smoke PROPERTIES LABELS bench-smoke TIMEOUT 120
                       FIXTURES_SETUP ${bench}_json)
  find_package(Python3 COMPONENTS Interpreter)
  if(Python3_Interpreter_FOUND)
    get_filename_component(name ${script} NAME_WE)
    add_test(NAME ${name}_smoke COMMAND ${Python3_EXECUTABLE} ${script} ${bench}.json)
    set_tests_properties(${name}_smoke PROPERTIES LABELS bench-smoke TIMEOUT 30
                         FIXTURES_REQUIRED ${bench}_json)
  endif()
endfunction()

# Freestanding flags for every object that goes into the kernel image.
set(KESTREL_KERNEL_CFLAGS
  -ffreestanding -fno-builtin -nostdinc -fno-stack-protector -fno-pic -fno-pie
  -mno-red-zone -mcmodel=kernel -mgeneral-regs-only -mno-mmx -mno-sse -mno-sse2
  -fno-omit-frame-pointer -fno-asynchronous-unwind-tables ${KESTREL_WARNINGS})

# kestrel_kernel_target(t): a kernel object/executable target: freestanding,
# the kernel environment backend first on the include path, ck's installed
# headers after it (the backend supplies ck_md.h, stdlib.h, string.h shims).
function(kestrel_kernel_target t)
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=include
                  OUTPUT_VARIABLE gcc_inc OUTPUT_STRIP_TRAILING_WHITESPACE)
  target_include_directories(${t} BEFORE PRIVATE
    ${KESTREL_ROOT}/sync/kernel ${KESTREL_ROOT}/sync/kernel/libc ${KESTREL_ROOT}
    ${KESTREL_ROOT}/arch/x86_64/include)
  # As options, not include directories: CMake drops directories it knows to
  # be the compiler's implicit ones, but -nostdinc removed them.
  target_compile_options(${t} PRIVATE -isystem ${gcc_inc} -idirafter /usr/include)
  target_compile_definitions(${t} PRIVATE KESTREL_KERNEL=1 KESTREL_DEBUG=1)
  target_compile_options(${t} PRIVATE $<$<COMPILE_LANGUAGE:C,ASM>:${KESTREL_KERNEL_CFLAGS}>)
endfunction()

# kestrel_test(name LABELS l... SOURCES s... [TIMEOUT n] [ARGS a...]):
# a host test executable registered with CTest.
function(kestrel_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "LABELS;SOURCES;LIBS;ARGS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  kestrel_host_target(${name})
  target_link_libraries(${name} PRIVATE ${T_LIBS})
  add_test(NAME ${name} COMMAND ${name} ${T_ARGS})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT})
endfunction()
