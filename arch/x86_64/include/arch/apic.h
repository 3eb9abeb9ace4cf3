/*
 * arch/x86_64/include/arch/apic.h - ACPI MADT results, local APIC (xAPIC MMIO)
 * and I/O APIC.
 */
#ifndef KESTREL_ARCH_APIC_H
#define KESTREL_ARCH_APIC_H

#include <stdint.h>
#include <stdbool.h>

#define MADT_MAX_CPUS 64

struct acpi_info {
	unsigned ncpus;				/* enabled processors in the MADT */
	uint32_t apic_ids[MADT_MAX_CPUS];	/* in MADT order */
	uint64_t lapic_pa;
	uint64_t ioapic_pa;
	uint32_t ioapic_gsi_base;
	unsigned nioapic;
	uint32_t isa_irq_gsi[16];		/* after interrupt source overrides */
};

extern struct acpi_info acpi;

void acpi_init(void);

void lapic_init(void);
uint32_t lapic_id(void);
void lapic_eoi(void);
void lapic_send_ipi(uint32_t apic_id, uint8_t vector);
void lapic_send_nmi_others(void);
void lapic_send_init(uint32_t apic_id);
void lapic_send_sipi(uint32_t apic_id, uint8_t page);
void lapic_timer_calibrate(void);
void lapic_timer_start(unsigned hz);
extern uint32_t lapic_timer_hz;	/* (C) timer input clock after the divider */

void ioapic_init(void);
void ioapic_route(unsigned isa_irq, uint8_t vector, uint32_t apic_id);
void pic_disable(void);

#endif
