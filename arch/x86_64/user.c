/*
 * arch/x86_64/user.c - the machine side of user threads: the context-switch
 * hook and the checked user-memory copies.
 *
 * user_switch_to() runs in __schedule() with interrupts off, before the
 * stack switch: it loads next's address space (kernel threads and idle run
 * on the kernel tables: lazy TLB, mm/pmap.h), points TSS.RSP0 at next's
 * kernel stack (entries from user mode land there) and restores FS base.
 */
#include "kernel/proc.h"
#include "kernel/sched.h"
#include "kernel/percpu.h"
#include "kernel/smp_call.h"
#include "kernel/printk.h"
#include "arch/x86.h"

long __uaccess_copy(void *dst, const void *src, size_t n);
long __uaccess_clear(void *dst, size_t n);
long __uaccess_strncpy(char *dst, const char *src, size_t n);

/* user_fpu_load: next's user FPU/SSE state, or the reset state (FNINIT,
 * MXCSR 0x1f80: all exceptions masked) for a thread that never ran. */
static void user_fpu_load(struct uthread *ut)
{
	static const uint32_t mxcsr = 0x1f80;

	if (ut->fpu_saved)
		__asm__ volatile("fxrstor64 %0" : : "m"(*(uint8_t (*)[512])ut->fpu));
	else
		__asm__ volatile("fninit; ldmxcsr %0" : : "m"(mxcsr));
}

void user_switch_to(struct thread *prev, struct thread *next)
{
	struct uthread *pu = prev ? prev->user : NULL, *ut = next->user;

	if (pu && pu->proc) {
		__asm__ volatile("fxsave64 %0" : "=m"(*(uint8_t (*)[512])pu->fpu));
		pu->fpu_saved = true;
	}
	pmap_switch(ut && ut->mm ? &ut->mm->pmap : NULL);
	if (!ut || !ut->proc)
		return;
	this_cpu()->arch.tss.rsp[0] = next->stack_top;
	wrmsr(MSR_FS_BASE, ut->fsbase);
	user_fpu_load(ut);
}

void user_adopt(struct uthread *ut)
{
	uint64_t f = irq_save();

	thread_self()->user = ut;
	user_switch_to(NULL, thread_self());
	irq_restore(f);
}

/* user_range_ok: [u, u + n) lies in the user half (no wrap). */
static inline bool user_range_ok(uint64_t u, size_t n)
{
	return u + n >= u && u + n <= USER_VA_END;
}

int copy_from_user(void *dst, uint64_t usrc, size_t n)
{
	if (!user_range_ok(usrc, n))
		return -EFAULT;
	return (int)__uaccess_copy(dst, (const void *)usrc, n);
}

int copy_to_user(uint64_t udst, const void *src, size_t n)
{
	if (!user_range_ok(udst, n))
		return -EFAULT;
	return (int)__uaccess_copy((void *)udst, src, n);
}

int clear_user(uint64_t udst, size_t n)
{
	if (!user_range_ok(udst, n))
		return -EFAULT;
	return (int)__uaccess_clear((void *)udst, n);
}

long strncpy_from_user(char *dst, uint64_t usrc, size_t n)
{
	long len;

	if (usrc >= USER_VA_END)
		return -EFAULT;
	if (n > USER_VA_END - usrc)
		n = USER_VA_END - usrc;
	len = __uaccess_strncpy(dst, (const char *)usrc, n);
	if (len < 0)
		return len;
	if ((size_t)len == n)
		return -36;	/* ENAMETOOLONG */
	return len;
}

/* Per-CPU slots syscall.S reaches through %gs (struct cpu, kernel/percpu.h). */
void user_asm_offsets(void)
{
	__asm__ volatile(".globl CPU_OFF_RSP0\n.set CPU_OFF_RSP0, %c0\n"
			 ".globl CPU_OFF_RSP2\n.set CPU_OFF_RSP2, %c1\n"
			 : : "i"(offsetof(struct cpu, arch.tss.rsp[0])),
			     "i"(offsetof(struct cpu, arch.tss.rsp[2])));
}

#define MSR_STAR	0xc0000081
#define MSR_LSTAR	0xc0000082
#define MSR_FMASK	0xc0000084
#define EFER_SCE	(1u << 0)
#define CR4_OSFXSR	(1ul << 9)
#define CR4_OSXMMEXCPT	(1ul << 10)
#define CR4_SMEP	(1ul << 20)
#define CR4_SMAP	(1ul << 21)
#define RFLAGS_TF	(1ul << 8)
#define RFLAGS_DF	(1ul << 10)
#define RFLAGS_AC	(1ul << 18)

extern char syscall_entry[];
extern uint8_t uaccess_smap;
static int user_cpus_ready;	/* (A) user_cpu_init ran on every CPU */

/* user_cpu_init: this CPU's SYSCALL MSRs, and SMEP/SMAP when present. */
static void user_cpu_init(void *arg)
{
	uint32_t r[4];
	uint64_t cr4;

	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	/* SYSCALL: CS 0x08, SS 0x10; SYSRET: CS 0x20+16 (0x33), SS 0x20+8 (0x2b) */
	wrmsr(MSR_STAR, ((uint64_t)(GDT_UDATA - 8) << 48) | ((uint64_t)GDT_KCODE << 32));
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	wrmsr(MSR_FMASK, RFLAGS_IF | RFLAGS_TF | RFLAGS_DF | RFLAGS_AC);
	cpuid(7, 0, r);
	__asm__ volatile("mov %%cr0, %0; and $~4, %0; or $2, %0; mov %0, %%cr0"	/* FPU: EM off, MP on */
			 : "=&r"(cr4));
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;	/* SSE for user programs */
	if (r[1] & (1u << 7))
		cr4 |= CR4_SMEP;
	if (r[1] & (1u << 20))
		cr4 |= CR4_SMAP;
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");
}

/* user_init: enable user mode on every CPU (once). */
void user_init(void)
{
	uint32_t r[4];

	if (ck_pr_load_int(&user_cpus_ready))
		return;
	cpuid(7, 0, r);
	if (r[1] & (1u << 20))	/* STAC/CLAC exist; usercopy.S brackets with them */
		ck_pr_store_8(&uaccess_smap, 1);
	smp_call(CPUMASK_ALL, user_cpu_init, NULL);
	printk("user: SYSCALL on %u CPUs, SMEP %s, SMAP %s, NX on\n", ncpus,
	       r[1] & (1u << 7) ? "on" : "off", r[1] & (1u << 20) ? "on" : "off");
	ck_pr_store_int(&user_cpus_ready, 1);
}
