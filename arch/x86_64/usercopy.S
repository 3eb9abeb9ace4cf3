/*
 * arch/x86_64/usercopy.S - the only instructions that touch user memory.
 *
 * Every access lies between uaccess_begin and uaccess_end. A page fault
 * there goes to the mm fault path (arch/x86_64/user_trap.c); if that fails
 * (no mapping, no permission) the trap handler resumes at uaccess_fixup,
 * which returns -EFAULT. This works because none of these functions pushes
 * anything: at any faulting instruction the stack holds only the return
 * address, so the fixup can simply return. With SMAP on, user pages are
 * reachable only between STAC and CLAC, i.e. only here.
 *
 * The C wrappers (arch/x86_64/user.c) check that the range lies in the user
 * half before calling in.
 */
#define EFAULT 14

.macro UACCESS_ON
	testb $1, uaccess_smap(%rip)
	jz 91f
	stac
91:
.endm

.macro UACCESS_OFF
	testb $1, uaccess_smap(%rip)
	jz 92f
	clac
92:
.endm

	.text
	.globl uaccess_begin, uaccess_end, uaccess_fixup
	.globl __uaccess_copy, __uaccess_clear, __uaccess_strncpy

uaccess_begin:
/* long __uaccess_copy(void *dst, const void *src, size_t n): 0 or -EFAULT */
__uaccess_copy:
	UACCESS_ON
	movq %rdx, %rcx
	rep movsb
	UACCESS_OFF
	xorl %eax, %eax
	ret

/* long __uaccess_clear(void *dst, size_t n): 0 or -EFAULT */
__uaccess_clear:
	UACCESS_ON
	movq %rsi, %rcx
	xorl %eax, %eax
	rep stosb
	UACCESS_OFF
	ret

/* long __uaccess_strncpy(char *dst, const char *src, size_t n): the length
 * of the string copied with its NUL, n if no NUL in the first n bytes, or
 * -EFAULT. */
__uaccess_strncpy:
	UACCESS_ON
	xorl %eax, %eax
1:	cmpq %rdx, %rax
	je 2f
	movb (%rsi,%rax), %cl
	movb %cl, (%rdi,%rax)
	testb %cl, %cl
	jz 2f
	incq %rax
	jmp 1b
2:	UACCESS_OFF
	ret
uaccess_end:

uaccess_fixup:
	UACCESS_OFF
	movq $-EFAULT, %rax
	ret

	.data
	.globl uaccess_smap
uaccess_smap:
	.byte 0
