/*
 * arch/x86_64/multiboot.c - copy what the multiboot loader left us (command
 * line, memory map, first module) into struct bootinfo, and compute the end
 * of everything the loader placed in memory so bootmem never reuses it.
 * Runs first thing on the boot CPU, through the boot page tables' low map.
 */
#include "kernel/bootinfo.h"
#include "kernel/printk.h"
#include "arch/mmu.h"

#define MB_BOOT_MAGIC 0x2badb002
#define MBI_MEM		(1u << 0)
#define MBI_CMDLINE	(1u << 2)
#define MBI_MODS	(1u << 3)
#define MBI_MMAP	(1u << 6)

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
} __attribute__((packed));

struct mb_mmap {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

struct mb_module {
	uint32_t start, end, string, reserved;
};

struct bootinfo bootinfo;
extern char _end[];

static void reserve(uint64_t end)
{
	if (end > bootinfo.reserved_end)
		bootinfo.reserved_end = end;
}

static void parse_mmap(const struct mb_info *mbi)
{
	uint64_t p = mbi->mmap_addr, end = p + mbi->mmap_length;

	reserve(end);
	while (p < end && bootinfo.nmmap < BOOT_MMAP_MAX) {
		const struct mb_mmap *e = pa_to_va(p);
		struct mem_region *r = &bootinfo.mmap[bootinfo.nmmap++];

		r->base = e->addr;
		r->len = e->len;
		r->type = e->type;
		if (r->type == MEM_USABLE && r->base + r->len > bootinfo.ram_top)
			bootinfo.ram_top = r->base + r->len;
		p += e->size + 4;
	}
}

/* bootinfo_parse: panics unless booted by a multiboot loader with a memory map. */
void bootinfo_parse(uint32_t magic, uint32_t mbi_pa)
{
	const struct mb_info *mbi = pa_to_va(mbi_pa);

	if (magic != MB_BOOT_MAGIC)
		panic("bootinfo_parse: bad multiboot magic %x", magic);
	bootinfo.reserved_end = va_to_pa(_end);
	reserve(mbi_pa + sizeof(*mbi));
	if (mbi->flags & MBI_CMDLINE) {
		const char *c = pa_to_va(mbi->cmdline);
		size_t n = strlen(c);

		reserve(mbi->cmdline + n + 1);
		memcpy(bootinfo.cmdline, c, n < CMDLINE_MAX ? n : CMDLINE_MAX - 1);
	}
	if ((mbi->flags & MBI_MODS) && mbi->mods_count) {
		const struct mb_module *m = pa_to_va(mbi->mods_addr);

		reserve(mbi->mods_addr + mbi->mods_count * sizeof(*m));
		bootinfo.initrd_pa = m->start;
		bootinfo.initrd_len = m->end - m->start;
		for (uint32_t i = 0; i < mbi->mods_count; i++)
			reserve(m[i].end);
	}
	if (!(mbi->flags & MBI_MMAP))
		panic("bootinfo_parse: no memory map from the loader");
	parse_mmap(mbi);
}

void bootinfo_print(void)
{
	static const char *const types[] = { "?", "usable", "reserved", "ACPI", "NVS", "bad" };

	printk("cmdline: \"%s\"\n", bootinfo.cmdline);
	for (unsigned i = 0; i < bootinfo.nmmap; i++) {
		const struct mem_region *r = &bootinfo.mmap[i];

		printk("mem: [%016llx-%016llx] %s\n", (unsigned long long)r->base,
		       (unsigned long long)(r->base + r->len - 1), types[r->type < 6 ? r->type : 0]);
	}
	printk("mem: ram top %llu MiB, loader data ends at %llx\n",
	       (unsigned long long)(bootinfo.ram_top >> 20),
	       (unsigned long long)bootinfo.reserved_end);
	if (bootinfo.initrd_len)
		printk("initrd: %llu bytes at %llx\n", (unsigned long long)bootinfo.initrd_len,
		       (unsigned long long)bootinfo.initrd_pa);
}
