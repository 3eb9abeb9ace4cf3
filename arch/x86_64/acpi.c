/*
 * arch/x86_64/acpi.c - find the RSDP, walk the RSDT/XSDT to the MADT, and
 * record local APIC ids, the I/O APIC and the ISA interrupt overrides.
 * Tables are read through the direct map; every table's checksum is checked.
 */
#include "arch/apic.h"
#include "arch/mmu.h"
#include "kernel/printk.h"

struct acpi_info acpi;

struct rsdp {
	char sig[8];
	uint8_t checksum;
	char oem[6];
	uint8_t rev;
	uint32_t rsdt;
	uint32_t length;
	uint64_t xsdt;
	uint8_t xchecksum;
	uint8_t reserved[3];
} __attribute__((packed));

struct sdt {
	char sig[4];
	uint32_t length;
	uint8_t rev, checksum;
	char oem[6], oem_table[8];
	uint32_t oem_rev, creator, creator_rev;
} __attribute__((packed));

struct madt {
	struct sdt h;
	uint32_t lapic_addr;
	uint32_t flags;
	uint8_t entries[];
} __attribute__((packed));

static bool acpi_sum_ok(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t s = 0;

	for (size_t i = 0; i < n; i++)
		s += b[i];
	return s == 0;
}

/* rsdp_scan: search [pa, pa + len) on 16-byte boundaries. */
static const struct rsdp *rsdp_scan(uint64_t pa, uint64_t len)
{
	for (uint64_t p = pa; p < pa + len; p += 16) {
		const struct rsdp *r = pa_to_va(p);

		if (!memcmp(r->sig, "RSD PTR ", 8) && acpi_sum_ok(r, 20))
			return r;
	}
	return NULL;
}

static const struct sdt *acpi_find(const struct rsdp *rp, const char *sig)
{
	bool x = rp->rev >= 2 && rp->xsdt;
	const struct sdt *root = pa_to_va(x ? rp->xsdt : rp->rsdt);
	unsigned n = (root->length - sizeof(*root)) / (x ? 8 : 4);
	const uint8_t *ents = (const uint8_t *)(root + 1);

	if (!acpi_sum_ok(root, root->length))
		panic("acpi_find: bad root table checksum");
	for (unsigned i = 0; i < n; i++) {
		uint64_t pa = x ? *(const uint64_t *)(ents + 8 * i) : *(const uint32_t *)(ents + 4 * i);
		const struct sdt *t = pa_to_va(pa);

		if (!memcmp(t->sig, sig, 4) && acpi_sum_ok(t, t->length))
			return t;
	}
	return NULL;
}

static void madt_entry(const uint8_t *e)
{
	switch (e[0]) {
	case 0:		/* processor local APIC: uid, apic id, flags */
		if ((*(const uint32_t *)(e + 4) & 1) && acpi.ncpus < MADT_MAX_CPUS)
			acpi.apic_ids[acpi.ncpus++] = e[3];
		break;
	case 1:		/* I/O APIC: id, reserved, address, GSI base */
		if (acpi.nioapic++ == 0) {
			acpi.ioapic_pa = *(const uint32_t *)(e + 4);
			acpi.ioapic_gsi_base = *(const uint32_t *)(e + 8);
		}
		break;
	case 2:		/* interrupt source override: bus, source, GSI, flags */
		if (e[3] < 16)
			acpi.isa_irq_gsi[e[3]] = *(const uint32_t *)(e + 4);
		break;
	}
}

/* acpi_init: panics without a valid RSDP and MADT (there is no fallback). */
void acpi_init(void)
{
	uint16_t ebda_seg = *(const uint16_t *)pa_to_va(0x40e);
	const struct rsdp *rp = rsdp_scan((uint64_t)ebda_seg << 4, 1024);
	const struct madt *m;

	if (!rp)
		rp = rsdp_scan(0xe0000, 0x20000);
	if (!rp)
		panic("acpi_init: no RSDP");
	m = (const struct madt *)acpi_find(rp, "APIC");
	if (!m)
		panic("acpi_init: no MADT");
	for (unsigned i = 0; i < 16; i++)
		acpi.isa_irq_gsi[i] = i;
	acpi.lapic_pa = m->lapic_addr;
	for (uint32_t off = sizeof(*m); off < m->h.length;) {
		const uint8_t *e = (const uint8_t *)m + off;

		madt_entry(e);
		off += e[1] ? e[1] : 2;
	}
	printk("acpi: rev %u, %u CPUs, lapic %llx, %u ioapic (%llx, gsi %u), pit irq0 -> gsi %u\n",
	       rp->rev, acpi.ncpus, (unsigned long long)acpi.lapic_pa, acpi.nioapic,
	       (unsigned long long)acpi.ioapic_pa, acpi.ioapic_gsi_base, acpi.isa_irq_gsi[0]);
}
