/*
 * kernel/machine.h - what the architecture (arch/x86_64/) provides to kernel/.
 *
 *   serial_init(), serial_write(s, n)  16550 console on COM1
 *   time_ns()                          ns since power-on (TSC); 0 before calibration
 *   tsc_hz                             calibrated TSC frequency
 *   machine_exit(ok)                   leave QEMU through isa-debug-exit
 *   smp_stop_others()                  NMI every other CPU into a halt loop
 *   backtrace_print(rbp)               symbolized frame-pointer backtrace
 */
#ifndef KESTREL_KERNEL_MACHINE_H
#define KESTREL_KERNEL_MACHINE_H

#include "sync/env.h"

void serial_init(void);
void serial_write(const char *s, size_t n);

extern uint64_t tsc_hz;
uint64_t time_ns(void);
void tsc_calibrate(void);
#define TSC_CAL_TOTAL_MS 25	/* PIT time tsc_calibrate() spends */
void delay_us(uint64_t us);

/* Exit codes seen by the host: QEMU exits with (code << 1) | 1. */
#define QEMU_EXIT_PASS 0x10	/* -> 33 */
#define QEMU_EXIT_FAIL 0x11	/* -> 35 */
__attribute__((noreturn)) void machine_exit(bool ok);

void smp_stop_others(void);
void backtrace_print(uint64_t rbp);
const char *ksym_lookup(uint64_t addr, uint64_t *off);

#endif
