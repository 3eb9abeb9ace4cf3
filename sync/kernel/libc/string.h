/* sync/kernel/libc/string.h - freestanding shim: the few string functions
 * the kernel and ck's headers use, implemented in kernel/string.c. */
#ifndef KESTREL_KLIBC_STRING_H
#define KESTREL_KLIBC_STRING_H
#include <stddef.h>

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
#endif
