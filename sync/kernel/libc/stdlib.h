/* sync/kernel/libc/stdlib.h - freestanding shim: ck's headers include
 * <stdlib.h> for NULL/size_t only; the kernel has no libc. */
#ifndef KESTREL_KLIBC_STDLIB_H
#define KESTREL_KLIBC_STDLIB_H
#include <stddef.h>
#endif
