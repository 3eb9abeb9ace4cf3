/*
 * sync/host/alloc_inject.h - deterministic allocation-failure injection and
 * leak accounting for host tests (STYLE.md item 17).
 *
 * Every host allocation that portable code makes (env_alloc, and the host
 * machine's frame and page-table allocations) consults one countdown:
 *
 *   alloc_inject_fail_nth(k)  the k-th allocation from now (0-based) fails,
 *                             once; the injection then disarms itself
 *   alloc_inject_fired()      did the armed failure happen?
 *   alloc_inject_disarm()     cancel
 *   alloc_inject_live()       env_alloc allocations not yet freed
 *   alloc_inject_try_fail(on) every env_alloc_try fails while on (those are
 *                             outside the countdown: their failure changes
 *                             no result, only how the caller gets there)
 *
 * Exhaustive pattern: for k = 0, 1, ...: snapshot; arm k; run the operation;
 * if it fired, assert -ENOMEM and snapshot unchanged; stop at the first k
 * that did not fire (the operation completed).
 */
#ifndef KESTREL_ALLOC_INJECT_H
#define KESTREL_ALLOC_INJECT_H

#include <stdbool.h>
#include <stdint.h>

bool alloc_inject_should_fail(void);
void alloc_inject_fail_nth(int64_t n);
void alloc_inject_disarm(void);
bool alloc_inject_fired(void);
uint64_t alloc_inject_live(void);
void alloc_inject_try_fail(bool on);

#endif
