/*
 * arch/x86_64/trampoline.S - the application processors' real-mode entry.
 *
 * smp.c copies [trampoline_start, trampoline_end) to TRAMPOLINE_PA (below
 * 1 MiB, page aligned) and sends INIT-SIPI-SIPI with vector TRAMPOLINE_PA >> 12.
 * The AP starts here in 16-bit real mode with CS = TRAMPOLINE_PA >> 4, IP = 0.
 * It loads a flat 32-bit GDT, enters protected mode and jumps to
 * boot_enter_long (boot.S), which continues exactly as the BSP did and, seeing
 * boot_ap_stack set, calls smp_ap_entry() on that stack.
 */
#include "arch/mmu.h"

#define T(x)	((x) - trampoline_start + TRAMPOLINE_PA)

	.section .rodata
	.code16
	.align 16
	.globl trampoline_start, trampoline_end
trampoline_start:
	cli
	cld
	xorw %ax, %ax
	movw %ax, %ds
	lgdtl T(tramp_gdtr)
	movl %cr0, %eax
	orl $1, %eax
	movl %eax, %cr0
	ljmpl $0x08, $T(tramp32)

	.code32
tramp32:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movl $(boot_enter_long - KERNEL_BASE), %eax
	jmp *%eax

	.align 8
tramp_gdt:
	.quad 0
	.quad 0x00cf9a000000ffff	/* 0x08: flat 32-bit code */
	.quad 0x00cf92000000ffff	/* 0x10: flat data */
tramp_gdt_end:
tramp_gdtr:
	.word tramp_gdt_end - tramp_gdt - 1
	.long T(tramp_gdt)
trampoline_end:
	.code64
