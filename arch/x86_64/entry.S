/*
 * arch/x86_64/entry.S - interrupt/exception entry and the context switch.
 *
 * Every vector has a stub that makes the stack look the same (an error code,
 * real or 0, then the vector number) and jumps to trap_common, which saves
 * the general registers as a struct trap_frame (arch/cpu.h) and calls
 * trap_dispatch(frame). Entries from user mode (CS RPL 3) swap in the
 * kernel's GS base first and swap it back out on the way back (the syscall
 * path, arch/x86_64/syscall.S, does the same).
 */
	.text
	.altmacro

.macro TRAP_STUB v
	.align 16
trap_stub_\v:
	.if (\v == 8) || (\v == 10) || (\v == 11) || (\v == 12) || (\v == 13) || (\v == 14) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30)
	.else
	pushq $0
	.endif
	pushq $\v
	jmp trap_common
.endm

.set i, 0
.rept 256
	TRAP_STUB %i
	.set i, i + 1
.endr

trap_common:
	testb $3, 24(%rsp)	/* CS of the interrupted context: from user mode? */
	jz 1f
	swapgs			/* kernel GS base for cpu_self() and friends */
	testb $1, uaccess_smap(%rip)	/* user code may have set RFLAGS.AC: */
	jz 1f
	clac			/* SMAP must hold in the kernel (IRETQ restores AC) */
1:	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	cld
	movq %rsp, %rdi
	call trap_dispatch
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	addq $16, %rsp		/* vector, error code */
	testb $3, 8(%rsp)	/* returning to user mode? */
	jz 2f
	swapgs
2:	iretq

.macro STUB_ADDR v
	.quad trap_stub_\v
.endm

	.section .rodata
	.align 8
	.globl trap_stubs
trap_stubs:
.set i, 0
.rept 256
	STUB_ADDR %i
	.set i, i + 1
.endr

/*
 * void switch_to(uint64_t *prev_rsp, uint64_t next_rsp)
 * Save the callee-saved registers on the current stack, store the stack
 * pointer in *prev_rsp, load next_rsp and restore the next thread's
 * registers. A new thread's stack is prepared by thread_create so that the
 * first switch "returns" into thread_start.
 */
	.text
	.globl switch_to
switch_to:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, (%rdi)
	movq %rsi, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret

/* thread_start: first code of a new thread; r12 = fn, r13 = arg (set up by
 * thread_create). thread_boot finishes the switch, runs fn(arg) and exits. */
	.globl thread_start
thread_start:
	xorl %ebp, %ebp
	movq %r12, %rdi
	movq %r13, %rsi
	call thread_boot
	ud2
