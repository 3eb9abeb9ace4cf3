/*
 * kernel/bootinfo.h - what the boot loader told us, copied out of its
 * structures before any memory is reused (arch/x86_64/multiboot.c fills it).
 */
#ifndef KESTREL_KERNEL_BOOTINFO_H
#define KESTREL_KERNEL_BOOTINFO_H

#include "sync/env.h"

#define MEM_USABLE 1
#define BOOT_MMAP_MAX 64
#define CMDLINE_MAX 256

struct mem_region {
	uint64_t base;
	uint64_t len;
	uint32_t type;		/* multiboot/e820 type, MEM_USABLE = RAM */
};

struct bootinfo {
	char cmdline[CMDLINE_MAX];
	struct mem_region mmap[BOOT_MMAP_MAX];
	unsigned nmmap;
	uint64_t initrd_pa, initrd_len;	/* first module, 0 if none */
	uint64_t reserved_end;		/* first PA above kernel, modules, loader data */
	uint64_t ram_top;		/* end of the highest usable region */
};

extern struct bootinfo bootinfo;

void bootinfo_parse(uint32_t magic, uint32_t mbi_pa);
void bootinfo_print(void);

/* cmdline_str: value of key=value in the command line, copied to buf;
 * false if absent. cmdline_int: numeric value or def. */
bool cmdline_str(const char *key, char *buf, size_t n);
long cmdline_int(const char *key, long def);

/* bootmem: page-granular bump allocator over the memory map, used before
 * the frame allocator takes over. Returns zeroed memory's PA, panics if out. */
uint64_t bootmem_alloc_pages(size_t npages);
void bootmem_set_limit(uint64_t limit);
void bootmem_handover(void);

#endif
