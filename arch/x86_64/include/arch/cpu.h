/*
 * arch/x86_64/include/arch/cpu.h - per-CPU descriptor tables: GDT, TSS with
 * IST stacks for double fault and NMI, and the IDT. Each CPU has its own copy
 * inside its struct cpu (kernel/percpu.h).
 */
#ifndef KESTREL_ARCH_CPU_H
#define KESTREL_ARCH_CPU_H

#include <stdint.h>

#define GDT_KCODE 0x08
#define GDT_KDATA 0x10
#define GDT_TSS   0x18
#define GDT_UDATA 0x28		/* user data (RPL 3: 0x2b); SYSRET needs */
#define GDT_UCODE 0x30		/* user code (0x33) 8 bytes above user data */
#define GDT_ENTRIES 7		/* null, kcode, kdata, tss (2 slots), udata, ucode */

#define IST_DF  1
#define IST_NMI 2
#define IST_STACK_SIZE 8192

/* Vectors: 0-31 exceptions, 32-47 the (masked) legacy PIC, then ours. */
#define VEC_IOAPIC_BASE 0x30
#define VEC_TIMER	0xe0
#define VEC_CALL	0xf0
#define VEC_RESCHED	0xf1
#define VEC_SPURIOUS	0xff

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((packed));

struct idt_entry {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t zero;
} __attribute__((packed));

_Static_assert(sizeof(struct tss) == 104, "tss: hardware layout");
_Static_assert(sizeof(struct idt_entry) == 16, "idt_entry: hardware layout");

struct arch_cpu {
	uint64_t gdt[GDT_ENTRIES];
	struct tss tss;
	struct idt_entry idt[256];
	uint8_t ist_df[IST_STACK_SIZE] __attribute__((aligned(16)));
	uint8_t ist_nmi[IST_STACK_SIZE] __attribute__((aligned(16)));
};

/* The saved state of an interrupted context (entry.S pushes it). */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;
};

struct cpu;
void cpu_tables_init(struct cpu *c);
void cpu_set_gs(struct cpu *c);

typedef void (*irq_handler_t)(struct trap_frame *tf);
void irq_register(unsigned vector, irq_handler_t h);
void trap_dispatch(struct trap_frame *tf);

#endif
