/*
 * arch/x86_64/tsc.c - the TSC as the kernel clock, calibrated against PIT
 * channel 2 (gated through port 0x61, read by latching, no interrupt).
 *
 * QEMU starts the TSC at 0 at power-on, so time_ns() is time since power-on;
 * under TCG the guest TSC follows the host clock.
 */
#include "kernel/machine.h"
#include "arch/x86.h"
#include "arch/pit.h"

uint64_t tsc_hz;
static uint64_t tsc_ns_mult;	/* (C after calibration) ns = tsc * mult >> 32 */

uint64_t time_ns(void)
{
	return (uint64_t)(((unsigned __int128)rdtsc() * tsc_ns_mult) >> 32);
}

/* pit_oneshot_start/done: one-shot countdown of `ticks` PIT ticks on channel 2. */
void pit_oneshot_start(unsigned ticks)
{
	outb(0x61, (inb(0x61) & ~0x02) | 0x01);	/* gate on, speaker off */
	outb(0x43, 0xb0);				/* ch2, lo/hi, mode 0 */
	outb(0x42, ticks & 0xff);
	outb(0x42, ticks >> 8);
	outb(0x61, inb(0x61) & ~0x01);		/* restart the count: */
	outb(0x61, inb(0x61) | 0x01);		/* gate low -> high */
}

bool pit_oneshot_done(void)
{
	return inb(0x61) & 0x20;	/* OUT2 goes high at terminal count */
}

/* PIT channel 2 counts down from 0xffff at PIT_HZ during calibration. */
static uint16_t pit_count2(void)
{
	uint8_t lo, hi;

	outb(0x43, 0x80);	/* latch channel 2 */
	lo = inb(0x42);
	hi = inb(0x42);
	return (uint16_t)(lo | hi << 8);
}

/* tsc_sample: a PIT count and the TSC at the moment it was read, retried
 * until the read took under 100k TSC ticks (a vCPU descheduled by the
 * host in between would otherwise pair the count with a much later TSC). */
static void tsc_sample(uint16_t *count, uint64_t *tsc)
{
	for (int tries = 0;; tries++) {
		uint64_t a = rdtsc(), b;

		*count = pit_count2();
		b = rdtsc();
		if (b - a < 100000 || tries > 1000) {
			*tsc = a + (b - a) / 2;
			return;
		}
	}
}

/* tsc_calibrate: TSC ticks against TSC_CAL_TOTAL_MS of PIT ticks, each end
 * of the interval taken by a tight (count, TSC) sample. */
void tsc_calibrate(void)
{
	uint16_t c0, c1;
	uint64_t t0, t1;

	pit_oneshot_start(0xffff);
	tsc_sample(&c0, &t0);
	do
		tsc_sample(&c1, &t1);
	while ((uint16_t)(c0 - c1) < PIT_HZ * TSC_CAL_TOTAL_MS / 1000);
	tsc_hz = (t1 - t0) * PIT_HZ / (uint16_t)(c0 - c1);
	tsc_ns_mult = (1000000000ull << 32) / tsc_hz;	/* 4.3e18 fits in 64 bits */
}

void delay_us(uint64_t us)
{
	uint64_t end = rdtsc() + tsc_hz / 1000000 * us;

	while (rdtsc() < end)
		cpu_relax();
}
