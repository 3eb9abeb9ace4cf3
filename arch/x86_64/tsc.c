/*
 * arch/x86_64/tsc.c - the TSC as the kernel clock, calibrated against PIT
 * channel 2 (gated through port 0x61, no interrupt needed).
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

/* tsc_calibrate: measure TSC ticks over PIT_CAL_MS of PIT time. */
void tsc_calibrate(void)
{
	uint64_t t0, t1;

	pit_oneshot_start(PIT_HZ * PIT_CAL_MS / 1000);
	t0 = rdtsc();
	while (!pit_oneshot_done())
		cpu_relax();
	t1 = rdtsc();
	tsc_hz = (t1 - t0) * (1000 / PIT_CAL_MS);
	tsc_ns_mult = (1000000000ull << 32) / tsc_hz;	/* 4.3e18 fits in 64 bits */
}

void delay_us(uint64_t us)
{
	uint64_t end = rdtsc() + tsc_hz / 1000000 * us;

	while (rdtsc() < end)
		cpu_relax();
}
