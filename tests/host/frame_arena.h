/*
 * tests/host/frame_arena.h - fake physical memory for the frame allocator
 * and slab host tests and benchmarks (tests/host/frame_arena.c).
 *
 * The arena maps fake physical addresses [ARENA_PA, ARENA_PA + len) onto one
 * host allocation aligned to 2 MiB, and provides phys_to_virt() over it.
 * A sparse arena is mmap(MAP_NORESERVE): only the pages the allocator
 * touches ever become resident, which arena_resident() counts (mincore).
 */
#ifndef KESTREL_TESTS_FRAME_ARENA_H
#define KESTREL_TESTS_FRAME_ARENA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARENA_PA 0x100000000ull	/* 4 GiB: far from 0, which means failure */

#ifdef __cplusplus
extern "C" {
#endif

void *arena_create(size_t len, bool sparse);
void arena_destroy(void);
size_t arena_resident(void);
uint64_t arena_now_ns(void);

#ifdef __cplusplus
}
#endif

#endif
