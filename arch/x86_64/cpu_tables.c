/*
 * arch/x86_64/cpu_tables.c - build and load a CPU's GDT, TSS and IDT, and
 * point GS at its struct cpu. Called by each CPU for itself.
 */
#include "kernel/percpu.h"
#include "kernel/printk.h"
#include "arch/x86.h"

extern const uint64_t trap_stubs[256];	/* entry.S */

struct desc_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

/* tss_desc: the two GDT slots of a 64-bit available TSS descriptor. */
static void tss_desc(uint64_t *slot, const struct tss *t)
{
	uint64_t base = (uint64_t)t, limit = sizeof(*t) - 1;

	slot[0] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ul << 40) |
		  (((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
	slot[1] = base >> 32;
}

static void idt_set(struct idt_entry *e, uint64_t handler, uint8_t ist)
{
	e->off_lo = handler & 0xffff;
	e->sel = GDT_KCODE;
	e->ist = ist;
	e->type = 0x8e;		/* present, DPL 0, 64-bit interrupt gate */
	e->off_mid = (handler >> 16) & 0xffff;
	e->off_hi = handler >> 32;
	e->zero = 0;
}

void cpu_set_gs(struct cpu *c)
{
	c->hot.self = &c->hot;
	wrmsr(MSR_GS_BASE, (uint64_t)c);
}

void cpu_tables_init(struct cpu *c)
{
	struct arch_cpu *a = &c->arch;
	struct desc_ptr gdtr = { sizeof(a->gdt) - 1, (uint64_t)a->gdt };
	struct desc_ptr idtr = { sizeof(a->idt) - 1, (uint64_t)a->idt };

	a->gdt[0] = 0;
	a->gdt[1] = 0x00af9a000000ffff;	/* kernel code, 64-bit */
	a->gdt[2] = 0x00cf92000000ffff;	/* kernel data */
	memset(&a->tss, 0, sizeof(a->tss));
	a->tss.ist[IST_DF - 1] = (uint64_t)(a->ist_df + IST_STACK_SIZE);
	a->tss.ist[IST_NMI - 1] = (uint64_t)(a->ist_nmi + IST_STACK_SIZE);
	a->tss.iomap_base = sizeof(a->tss);
	tss_desc(&a->gdt[3], &a->tss);
	a->gdt[GDT_UDATA / 8] = 0x00cff2000000ffff;	/* user data, DPL 3 */
	a->gdt[GDT_UCODE / 8] = 0x00affa000000ffff;	/* user code, 64-bit, DPL 3 */
	for (int v = 0; v < 256; v++)
		idt_set(&a->idt[v], trap_stubs[v], v == 8 ? IST_DF : v == 2 ? IST_NMI : 0);

	__asm__ volatile("lgdt %0" : : "m"(gdtr));
	/* Reload CS through a far return, then the data segments and TR.
	 * GS base survives: loading %gs with 0 would clear it, so it is left. */
	__asm__ volatile("pushq %0; leaq 1f(%%rip), %%rax; pushq %%rax; lretq; 1:"
			 : : "i"(GDT_KCODE) : "rax", "memory");
	__asm__ volatile("movw %w0, %%ds; movw %w0, %%es; movw %w0, %%ss"
			 : : "r"(GDT_KDATA));
	__asm__ volatile("ltr %w0" : : "r"(GDT_TSS));
	__asm__ volatile("lidt %0" : : "m"(idtr));
}
