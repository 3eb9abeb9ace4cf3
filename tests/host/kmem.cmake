# Kernel memory allocators (kernel/frame*.c, kernel/slab.c) on the host:
# the very same sources as the kernel, over a fake physical arena.
set(KMEM_HOST_SRCS
  ${KESTREL_ROOT}/kernel/frame.c
  ${KESTREL_ROOT}/kernel/frame_buddy.c
  ${KESTREL_ROOT}/kernel/frame_selftest.c
  ${KESTREL_ROOT}/kernel/slab.c
  ${KESTREL_ROOT}/tests/host/frame_arena.c)
kestrel_test(frame_test LABELS host SOURCES frame_test.c ${KMEM_HOST_SRCS}
             LIBS kestrel_sync TIMEOUT 300)
kestrel_test(slab_test LABELS host SOURCES slab_test.c ${KMEM_HOST_SRCS}
             LIBS kestrel_sync TIMEOUT 300)
