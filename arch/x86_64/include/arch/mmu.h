/*
 * arch/x86_64/include/arch/mmu.h - the kernel's virtual address layout and
 * page-table entry bits.
 *
 *   0xffff800000000000  DIRECT_MAP   every physical byte (large pages)
 *   0xffffc00000000000  KSTACK_BASE  kernel stacks, each above an unmapped guard page
 *   0xffffffff80000000  KERNEL_BASE  the image (linked at KERNEL_BASE + 1 MiB)
 */
#ifndef KESTREL_ARCH_MMU_H
#define KESTREL_ARCH_MMU_H

#define KERNEL_BASE	0xffffffff80000000
#define KERNEL_PHYS	0x100000
#define DIRECT_MAP	0xffff800000000000
#define KSTACK_BASE	0xffffc00000000000
#define PAGE_SIZE	4096
#define PAGE_SHIFT	12
#define LARGE_PAGE	(2ul << 20)
#define HUGE_PAGE	(1ul << 30)
#define TRAMPOLINE_PA	0x8000

#define PTE_P		(1ul << 0)
#define PTE_W		(1ul << 1)
#define PTE_U		(1ul << 2)
#define PTE_PWT		(1ul << 3)
#define PTE_PCD		(1ul << 4)
#define PTE_PS		(1ul << 7)
#define PTE_G		(1ul << 8)
#define PTE_NX		(1ul << 63)
#define PTE_ADDR	0x000ffffffffff000ul

#ifndef __ASSEMBLER__
#include <stdint.h>

static inline void *pa_to_va(uint64_t pa)
{
	return (void *)(pa + DIRECT_MAP);
}

/* va_to_pa: physical address of a direct-map or kernel-image address. */
static inline uint64_t va_to_pa(const void *va)
{
	uint64_t v = (uint64_t)va;

	return v >= KERNEL_BASE ? v - KERNEL_BASE : v - DIRECT_MAP;
}
#endif

#endif
