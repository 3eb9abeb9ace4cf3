/* arch/x86_64/include/arch/pit.h - the 8254 PIT as a calibration reference. */
#ifndef KESTREL_ARCH_PIT_H
#define KESTREL_ARCH_PIT_H
#include <stdbool.h>

#define PIT_HZ 1193182
#define PIT_CAL_MS 20

void pit_oneshot_start(unsigned ticks);
bool pit_oneshot_done(void);
#endif
