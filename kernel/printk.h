/*
 * kernel/printk.h - kernel log: leveled printk to the serial console.
 *
 * Every line starts with "[seconds.micros] cN " (time since power-on from
 * the TSC, the CPU id). The console lock is taken with interrupts off and
 * is bypassed by the CPU that panics, so a crash always reaches the log.
 * loglevel=N on the command line prints messages of level <= N.
 */
#ifndef KESTREL_KERNEL_PRINTK_H
#define KESTREL_KERNEL_PRINTK_H

#include <stdarg.h>
#include "sync/env.h"

enum { LOG_ERR = 3, LOG_WARN = 4, LOG_INFO = 6, LOG_DEBUG = 7 };

extern int printk_loglevel;

__attribute__((format(printf, 2, 3))) void klog(int level, const char *fmt, ...);
void vklog(int level, const char *fmt, va_list ap);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
__attribute__((format(printf, 3, 4))) int snprintf(char *buf, size_t size, const char *fmt, ...);

/* printk_raw: write s to the console with no prefix (test output, banners). */
void printk_raw(const char *s);

#define pr_err(...)   klog(LOG_ERR, __VA_ARGS__)
#define pr_warn(...)  klog(LOG_WARN, __VA_ARGS__)
#define pr_info(...)  klog(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) klog(LOG_DEBUG, __VA_ARGS__)

/* panic_begin: first caller wins and returns true; later callers halt. */
bool panic_begin(void);
extern volatile int panic_cpu;

#endif
