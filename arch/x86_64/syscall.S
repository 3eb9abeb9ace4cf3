/*
 * arch/x86_64/syscall.S - SYSCALL entry and the return to user mode.
 *
 * SYSCALL (MSRs set by user_cpu_init, arch/x86_64/user.c) arrives with
 * interrupts off (FMASK clears IF, DF, TF, AC), RCX = user RIP, R11 = user
 * RFLAGS and the user's RSP and GS base still loaded. We swap in the kernel
 * GS base, park the user RSP in the per-CPU TSS.RSP2 slot (unused: rings 1
 * and 2 do not exist here), switch to this thread's kernel stack (TSS.RSP0,
 * set at every switch to a user thread) and build a struct trap_frame
 * (arch/cpu.h) exactly as an interrupt from user mode would, so signals,
 * fork and exec see one frame layout. syscall_dispatch(frame) runs the call.
 *
 * user_return(frame) leaves through SYSRET when the frame allows it (RCX
 * and R11 hold RIP and RFLAGS, RIP canonical: the common case after a
 * syscall), else through IRETQ (a new thread, exec, signal return).
 */
#define SYSCALL_VECTOR 0x100	/* not a hardware vector: marks syscall frames */
#define TF_R11 32
#define TF_RCX 96
#define TF_RIP 136
#define TF_RFLAGS 152

/* The general registers in struct trap_frame order (r15 lowest). */
.macro PUSH_GPRS
	pushq %rax; pushq %rbx; pushq %rcx; pushq %rdx; pushq %rsi; pushq %rdi; pushq %rbp
	pushq %r8; pushq %r9; pushq %r10; pushq %r11; pushq %r12; pushq %r13; pushq %r14; pushq %r15
.endm

.macro POP_GPRS
	popq %r15; popq %r14; popq %r13; popq %r12; popq %r11; popq %r10; popq %r9; popq %r8
	popq %rbp; popq %rdi; popq %rsi; popq %rdx; popq %rcx; popq %rbx; popq %rax
.endm

	.text
	.globl syscall_entry, user_return
syscall_entry:
	swapgs
	movq %rsp, %gs:CPU_OFF_RSP2
	movq %gs:CPU_OFF_RSP0, %rsp
	pushq $0x2b			/* ss: user data */
	pushq %gs:CPU_OFF_RSP2		/* rsp */
	pushq %r11			/* rflags */
	pushq $0x33			/* cs: user code */
	pushq %rcx			/* rip */
	pushq $0			/* error */
	pushq $SYSCALL_VECTOR
	PUSH_GPRS
	cld
	xorl %ebp, %ebp			/* backtraces stop here */
	movq %rsp, %rdi
	call syscall_dispatch
	movq %rsp, %rdi
	/* fall through */

/* void user_return(struct trap_frame *tf): tf on this thread's kernel stack;
 * interrupts may be on; never returns. */
user_return:
	cli
	movq %rdi, %rsp
	movq TF_RIP(%rsp), %rax
	cmpq %rax, TF_RCX(%rsp)
	jne 1f
	movq TF_RFLAGS(%rsp), %rax
	cmpq %rax, TF_R11(%rsp)
	jne 1f
	movq TF_RIP(%rsp), %rax
	shrq $47, %rax			/* canonical user RIP: SYSRET is safe */
	jnz 1f
	POP_GPRS
	movq 40(%rsp), %rsp		/* user rsp: past vector, error, rip, cs, rflags */
	swapgs
	sysretq
1:	POP_GPRS
	addq $16, %rsp			/* vector, error */
	swapgs
	iretq
