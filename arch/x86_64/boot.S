/*
 * arch/x86_64/boot.S - multiboot entry and the 32-to-64-bit trampoline.
 *
 * QEMU's -kernel loads multiboot images but refuses ELF64, so the header
 * uses the "a.out kludge" (flag bit 16): the loader copies the flat image
 * (kernel.bin, objcopy -O binary of kernel.elf) to KERNEL_PHYS, zeroes the
 * bss up to bss_end_addr and jumps to entry_addr in 32-bit protected mode
 * with paging off, EAX = multiboot magic, EBX = physical multiboot info.
 *
 * We build boot page tables that map the first GiB three times with 2 MiB
 * pages (identity, DIRECT_MAP, KERNEL_BASE), enable PAE + long mode + NX,
 * jump to 64-bit code, move to the higher half and call kmain(magic, mbi).
 * The APs' real-mode trampoline reuses boot_pml4 (it must be below 4 GiB)
 * and this path; in the higher half each AP finds its stack by APIC id.
 */
#include "arch/mmu.h"

#define PHYS(x)	((x) - KERNEL_BASE)
#define MB_MAGIC	0x1badb002
#define MB_FLAGS	0x00010002	/* memory info; address fields valid */

	.section .text.boot, "ax"
	.code32
	.align 4
mb_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
	.long PHYS(mb_header)		/* header_addr */
	.long PHYS(_kernel_start)	/* load_addr */
	.long PHYS(_edata)		/* load_end_addr */
	.long PHYS(_end)		/* bss_end_addr */
	.long PHYS(_start32)		/* entry_addr */

	.globl _start32
_start32:
	cli
	cld
	movl %eax, PHYS(boot_mb_magic)
	movl %ebx, PHYS(boot_mb_info)
	movl $PHYS(boot_stack_top), %esp

	/* boot_pd: 512 x 2 MiB pages covering [0, 1 GiB) */
	movl $PHYS(boot_pd), %edi
	movl $(PTE_P | PTE_W | PTE_PS), %eax
	movl $512, %ecx
1:	movl %eax, (%edi)
	movl $0, 4(%edi)
	addl $0x200000, %eax
	addl $8, %edi
	loop 1b

	movl $(PHYS(boot_pd) + PTE_P + PTE_W), %eax
	movl %eax, PHYS(boot_pdpt)		/* pdpt[0]   -> pd (low and direct) */
	movl %eax, PHYS(boot_pdpt_hi) + 510 * 8	/* pdpt[510] -> pd (-2 GiB) */
	movl $(PHYS(boot_pdpt) + PTE_P + PTE_W), %eax
	movl %eax, PHYS(boot_pml4)		/* identity */
	movl %eax, PHYS(boot_pml4) + 256 * 8	/* DIRECT_MAP */
	movl $(PHYS(boot_pdpt_hi) + PTE_P + PTE_W), %eax
	movl %eax, PHYS(boot_pml4) + 511 * 8	/* KERNEL_BASE */

	.globl boot_enter_long
boot_enter_long:			/* shared with the AP trampoline */
	movl %cr4, %eax
	orl $(1 << 5), %eax		/* PAE */
	movl %eax, %cr4
	movl $PHYS(boot_pml4), %eax
	movl %eax, %cr3
	movl $0xc0000080, %ecx		/* EFER: long mode, no-execute */
	rdmsr
	orl $((1 << 8) | (1 << 11)), %eax
	wrmsr
	movl %cr0, %eax
	orl $((1 << 31) | (1 << 16) | 1), %eax	/* PG, WP, PE */
	movl %eax, %cr0
	lgdt PHYS(boot_gdtr)
	ljmp $0x08, $PHYS(long_entry)

	.code64
long_entry:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	xorw %ax, %ax
	movw %ax, %fs
	movw %ax, %gs
	movabsq $higher_half, %rax
	jmp *%rax

	.text
higher_half:
	lgdt boot_gdtr_hi
	cmpl $0, boot_aps_starting(%rip)	/* set while the BSP starts APs */
	jne ap_start64
	movabsq $boot_stack_top, %rsp
	xorl %ebp, %ebp
	movl boot_mb_magic(%rip), %edi
	movl boot_mb_info(%rip), %esi
	call kmain
2:	cli
	hlt
	jmp 2b

ap_start64:				/* APs start together: find our slot */
	movl $1, %eax
	cpuid				/* ebx[31:24]: initial local APIC id */
	shrl $24, %ebx
	leaq boot_ap_stacks(%rip), %rax
	movq (%rax,%rbx,8), %rsp	/* a guarded kernel stack, or 0 */
	testq %rsp, %rsp
	jz 2b				/* not asked to start (smp=): halt */
	leaq boot_ap_args(%rip), %rax
	movq (%rax,%rbx,8), %r12
	movq kernel_cr3(%rip), %rax	/* switch to the tables that map the stack */
	movq %rax, %cr3
	movq %cr4, %rax
	orq $0x80, %rax			/* PGE */
	movq %rax, %cr4
	xorl %ebp, %ebp
	movq %r12, %rdi
	call smp_ap_entry		/* never returns */
	jmp 2b

	.section .rodata
	.align 16
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: data */
boot_gdt_end:
boot_gdtr:
	.word boot_gdt_end - boot_gdt - 1
	.long PHYS(boot_gdt)
	.align 16
boot_gdtr_hi:
	.word boot_gdt_end - boot_gdt - 1
	.quad boot_gdt

	.data
	.globl boot_mb_magic, boot_mb_info, boot_aps_starting
boot_mb_magic:	.long 0
boot_mb_info:	.long 0
boot_aps_starting: .long 0	/* nonzero: whoever reaches higher_half is an AP */

	/* Per local APIC id (xAPIC ids < 256): the AP's stack top and its
	 * struct cpu, filled by smp_boot() before the SIPIs. */
	.section .bss
	.align 8
	.globl boot_ap_stacks, boot_ap_args
boot_ap_stacks:	.skip 256 * 8
boot_ap_args:	.skip 256 * 8

	.section .bss.pagetables, "aw", @nobits
	.align 4096
	.globl boot_pml4
boot_pml4:	.skip 4096
boot_pdpt:	.skip 4096
boot_pdpt_hi:	.skip 4096
boot_pd:	.skip 4096

	/* The boot stack sits above a guard page that paging.c leaves unmapped. */
	.section .bss.stack, "aw", @nobits
	.align 4096
	.globl boot_stack_guard, boot_stack_top
boot_stack_guard:	.skip 4096
boot_stack:		.skip 16384
boot_stack_top:
