/* tests/host/frame_arena.c - fake physical memory (see frame_arena.h). */
#include "frame_arena.h"
#include "kernel/frame.h"
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define ARENA_ALIGN (2ul << 20)

static char *arena_base;	/* 2 MiB-aligned start, fake pa ARENA_PA */
static size_t arena_len;
static void *arena_map;		/* what to unmap or free */
static size_t arena_map_len;
static bool arena_sparse;

/* phys_to_virt: the environment hook of kernel/frame.h. */
void *phys_to_virt(uint64_t pa)
{
	if (pa < ARENA_PA || pa - ARENA_PA >= arena_len)
		panic("phys_to_virt: %#llx outside the arena", (unsigned long long)pa);
	return arena_base + (pa - ARENA_PA);
}

/* arena_create: a fresh arena of len bytes (a multiple of 4 KiB). */
void *arena_create(size_t len, bool sparse)
{
	arena_destroy();
	arena_sparse = sparse;
	arena_len = len;
	if (sparse) {
		arena_map_len = len + ARENA_ALIGN;
		arena_map = mmap(NULL, arena_map_len, PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (arena_map == MAP_FAILED)
			panic("arena_create: mmap %zu bytes failed", arena_map_len);
		arena_base = (char *)(((uintptr_t)arena_map + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1));
	} else {
		arena_map = aligned_alloc(ARENA_ALIGN, len);
		if (!arena_map)
			panic("arena_create: aligned_alloc %zu bytes failed", len);
		arena_base = arena_map;
	}
	return arena_base;
}

void arena_destroy(void)
{
	if (!arena_map)
		return;
	if (arena_sparse)
		munmap(arena_map, arena_map_len);
	else
		free(arena_map);
	arena_map = NULL;
	arena_base = NULL;
	arena_len = 0;
}

/* arena_resident: pages of a sparse arena that are backed by RAM now. */
size_t arena_resident(void)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), n = arena_len / pg, chunk = 1ul << 20, res = 0;
	unsigned char *vec = malloc(chunk);

	for (size_t i = 0; i < n; i += chunk) {
		size_t m = n - i < chunk ? n - i : chunk;

		if (mincore(arena_base + i * pg, m * pg, vec))
			panic("arena_resident: mincore failed");
		for (size_t j = 0; j < m; j++)
			res += vec[j] & 1;
	}
	free(vec);
	return res;
}

uint64_t arena_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
