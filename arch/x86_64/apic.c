/*
 * arch/x86_64/apic.c - local APIC (xAPIC, MMIO through the uncached direct
 * map), its timer calibrated against the TSC (itself calibrated against the
 * PIT), IPIs, the I/O APIC, and the legacy 8259 PICs (masked: all
 * interrupts come through the APICs).
 */
#include "arch/apic.h"
#include "arch/pit.h"
#include "arch/mmu.h"
#include "arch/x86.h"
#include "arch/cpu.h"
#include "kernel/printk.h"
#include "kernel/machine.h"

#define LAPIC_ID	0x020
#define LAPIC_TPR	0x080
#define LAPIC_EOI	0x0b0
#define LAPIC_SVR	0x0f0
#define LAPIC_ICR_LO	0x300
#define LAPIC_ICR_HI	0x310
#define LAPIC_LVT_TIMER	0x320
#define LAPIC_LVT_LINT0	0x350
#define LAPIC_LVT_LINT1	0x360
#define LAPIC_LVT_ERR	0x370
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR	0x390
#define LAPIC_TIMER_DIV	0x3e0
#define LVT_MASKED	(1u << 16)
#define LVT_PERIODIC	(1u << 17)
#define ICR_PENDING	(1u << 12)

uint32_t lapic_timer_hz;

static volatile uint32_t *lapic_reg(uint32_t off)
{
	return (volatile uint32_t *)pa_to_va(acpi.lapic_pa + off);
}

static uint32_t lapic_read(uint32_t off)
{
	return *lapic_reg(off);
}

static void lapic_write(uint32_t off, uint32_t v)
{
	*lapic_reg(off) = v;
}

/* lapic_init: software-enable this CPU's local APIC, accept all priorities. */
void lapic_init(void)
{
	wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | (1u << 11));
	lapic_write(LAPIC_SVR, 0x100 | VEC_SPURIOUS);
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, 0x400);	/* NMI delivery */
	lapic_write(LAPIC_LVT_ERR, LVT_MASKED);
	lapic_write(LAPIC_EOI, 0);
}

uint32_t lapic_id(void)
{
	return lapic_read(LAPIC_ID) >> 24;
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

/* lapic_icr: send one IPI; IRQs off so an interrupt handler on this CPU
 * cannot send between our ICR_HI and ICR_LO writes. */
static void lapic_icr(uint32_t apic_id, uint32_t lo)
{
	uint64_t f = irq_save();

	while (lapic_read(LAPIC_ICR_LO) & ICR_PENDING)
		cpu_relax();
	lapic_write(LAPIC_ICR_HI, apic_id << 24);
	lapic_write(LAPIC_ICR_LO, lo);
	while (lapic_read(LAPIC_ICR_LO) & ICR_PENDING)
		cpu_relax();
	irq_restore(f);
}

void lapic_send_ipi(uint32_t apic_id, uint8_t vector)
{
	lapic_icr(apic_id, vector);
}

void lapic_send_nmi_others(void)
{
	lapic_icr(0, (3u << 18) | (4u << 8) | (1u << 14));	/* all-but-self, NMI */
}

void lapic_send_init(uint32_t apic_id)
{
	lapic_icr(apic_id, (5u << 8) | (1u << 14));	/* INIT, assert */
}

void lapic_send_sipi(uint32_t apic_id, uint8_t page)
{
	lapic_icr(apic_id, (6u << 8) | page);		/* STARTUP */
}

/* lapic_sample: the timer's current count and the TSC when it was read,
 * retried until the read was quick (not split by a host deschedule). */
static void lapic_sample(uint32_t *count, uint64_t *tsc)
{
	for (int tries = 0;; tries++) {
		uint64_t a = rdtsc(), b;

		*count = lapic_read(LAPIC_TIMER_CUR);
		b = rdtsc();
		if (b - a < 100000 || tries > 1000) {
			*tsc = a + (b - a) / 2;
			return;
		}
	}
}

/* lapic_timer_calibrate: the timer's input clock (divide by 16) against the
 * calibrated TSC over PIT_CAL_MS (tsc_calibrate must have run). */
void lapic_timer_calibrate(void)
{
	uint32_t c0, c1;
	uint64_t t0, t1;

	lapic_write(LAPIC_TIMER_DIV, 0x3);
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED);
	lapic_write(LAPIC_TIMER_INIT, 0xffffffff);
	lapic_sample(&c0, &t0);
	delay_us(PIT_CAL_MS * 1000);
	lapic_sample(&c1, &t1);
	lapic_write(LAPIC_TIMER_INIT, 0);
	lapic_timer_hz = (uint32_t)((uint64_t)(c0 - c1) * tsc_hz / (t1 - t0));
	printk("apic: timer clock %u kHz (divide 16)\n", lapic_timer_hz / 1000);
}

/* lapic_timer_start: periodic VEC_TIMER interrupts at hz on this CPU. */
void lapic_timer_start(unsigned hz)
{
	lapic_write(LAPIC_TIMER_DIV, 0x3);
	lapic_write(LAPIC_LVT_TIMER, VEC_TIMER | LVT_PERIODIC);
	lapic_write(LAPIC_TIMER_INIT, lapic_timer_hz / hz);
}

static volatile uint32_t *ioapic_reg(uint32_t off)
{
	return (volatile uint32_t *)pa_to_va(acpi.ioapic_pa + off);
}

static uint32_t ioapic_read(uint32_t reg)
{
	*ioapic_reg(0) = reg;
	return *ioapic_reg(0x10);
}

static void ioapic_write(uint32_t reg, uint32_t v)
{
	*ioapic_reg(0) = reg;
	*ioapic_reg(0x10) = v;
}

/* ioapic_init: mask every redirection entry (boot CPU, before SMP). */
void ioapic_init(void)
{
	unsigned n;

	if (!acpi.nioapic) {
		printk("ioapic: none in the MADT\n");
		return;
	}
	n = ((ioapic_read(1) >> 16) & 0xff) + 1;

	for (unsigned i = 0; i < n; i++) {
		ioapic_write(0x10 + 2 * i, LVT_MASKED | (VEC_IOAPIC_BASE + i));
		ioapic_write(0x11 + 2 * i, 0);
	}
	printk("ioapic: id %u, version %x, %u pins masked\n", ioapic_read(0) >> 24,
	       ioapic_read(1) & 0xff, n);
}

/* ioapic_route: deliver ISA irq (after MADT overrides) as vector to apic_id,
 * edge-triggered, active high. */
void ioapic_route(unsigned isa_irq, uint8_t vector, uint32_t apic_id)
{
	unsigned pin = acpi.isa_irq_gsi[isa_irq] - acpi.ioapic_gsi_base;

	ioapic_write(0x11 + 2 * pin, apic_id << 24);
	ioapic_write(0x10 + 2 * pin, vector);
}

void pic_disable(void)
{
	outb(0x21, 0xff);
	outb(0xa1, 0xff);
}
