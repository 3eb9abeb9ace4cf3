/*
 * arch/x86_64/include/arch/paging.h - the kernel address space (see mmu.h for
 * the layout): built once by the boot CPU, shared by every CPU.
 */
#ifndef KESTREL_ARCH_PAGING_H
#define KESTREL_ARCH_PAGING_H

#include <stdint.h>
#include <stdbool.h>

extern uint64_t kernel_cr3;	/* (C) PA of the kernel PML4 */

void paging_init(void);
/* paging_map_4k: map one page in the kernel address space; intermediate
 * tables are allocated as needed. Serialized by the paging lock; only ever
 * maps unmapped VAs, so no TLB shootdown is needed. */
void paging_map_4k(uint64_t va, uint64_t pa, uint64_t flags);
/* paging_lookup: the PTE value mapping va (any level), 0 if unmapped. */
uint64_t paging_lookup(uint64_t va, unsigned *level);
void paging_use_page_alloc(void);

#endif
