/* arch/x86_64/serial.c - 16550 UART on COM1 (0x3f8), polled output, and the
 * isa-debug-exit port used to end QEMU runs. */
#include "kernel/machine.h"
#include "arch/x86.h"

#define COM1 0x3f8
#define DEBUG_EXIT_PORT 0xf4

void serial_init(void)
{
	outb(COM1 + 1, 0x00);	/* no interrupts */
	outb(COM1 + 3, 0x80);	/* DLAB */
	outb(COM1 + 0, 0x01);	/* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);	/* 8N1 */
	outb(COM1 + 2, 0xc7);	/* FIFO on, cleared */
	outb(COM1 + 4, 0x03);	/* DTR, RTS */
}

static void serial_putc(char c)
{
	for (int spins = 0; !(inb(COM1 + 5) & 0x20) && spins < 100000; spins++)
		cpu_relax();
	outb(COM1, (uint8_t)c);
}

/* serial_write: caller holds the console lock. */
void serial_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n')
			serial_putc('\r');
		serial_putc(s[i]);
	}
}

/* machine_exit: QEMU exits with (code << 1) | 1; without the isa-debug-exit
 * device (a plain qemu-run) the write is ignored and the CPU halts. */
void machine_exit(bool ok)
{
	outb(DEBUG_EXIT_PORT, ok ? QEMU_EXIT_PASS : QEMU_EXIT_FAIL);
	halt_forever();
}
