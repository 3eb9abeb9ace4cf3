/*
 * arch/host/machine.h - the simulated multi-CPU machine under mm/ on the host.
 *
 * A simulated CPU is a host thread registered with hostcpu_register(). Each
 * has a small direct-mapped software TLB and a shootdown mailbox. User
 * accesses go through host_access(): TLB, then a walk of the real x86_64
 * tables, then fault_handle() on a miss, then retry, as the MMU would.
 * Shootdown requests wait in a target's mailbox until that CPU's next access
 * or poll (its "interrupt"); the initiator spins for the acknowledgements.
 * A CPU that blocks (pmap_cpu_sleep_begin) flushes its TLB and marks its
 * mailbox idle, so requests to it are acknowledged at once.
 *
 * A missing or late shootdown therefore shows up as a stale read; freed
 * frames are poisoned (HOST_POISON) so a use after free reads wrong data.
 */
#ifndef KESTREL_HOST_MACHINE_H
#define KESTREL_HOST_MACHINE_H

#include "mm/mm.h"

#define HOST_TLB_ENTRIES 64
/* Free frames a CPU's frame cache may hold: the most any one CPU keeps out
 * of the others' reach (tests/host/host_frames.c). */
#define HOST_FRAME_CACHE_HIGH 256
#define HOST_POISON 0x6b

struct host_stats {
	uint64_t tlb_hits, tlb_misses, walks, faults;
	uint64_t requests_served;	/* shootdown requests acknowledged */
	uint64_t frames_used;		/* allocated frames right now */
	uint64_t freed_cached;		/* frames freed while some TLB held them: must be 0 */
};

/* host_machine_init: create the frame arena (once per process). */
int host_machine_init(uint64_t nframes);
/* host_access: read (write=false: *val out) or write (*val in) the byte at va
 * of mm on the calling CPU. 0, or -EFAULT (SIGSEGV/SIGBUS), -ENOMEM (OOM). */
int host_access(struct mm *mm, uint64_t va, bool write, uint8_t *val);
/* host_cpu_switch: load mm (NULL: none) on the calling CPU. */
void host_cpu_switch(struct mm *mm);
/* host_cpu_poll: serve pending shootdowns (an interrupt window). */
void host_cpu_poll(void);
/* host_cpu_idle_begin/end: bracket any blocking wait of a test thread that
 * has touched an mm (barriers, joins, sleeps). */
void host_cpu_idle_begin(void);
void host_cpu_idle_end(void);
/* host_cpu_start: hostcpu_register() + online; host_cpu_stop: the reverse. */
int host_cpu_start(void);
void host_cpu_stop(void);
/* Poison freed frames and scan every TLB for them (default on; benchmarks
 * turn it off: a production kernel does neither). */
extern bool host_check_freed;
/* Test-only: drop every remote shootdown (proves the tests see the bug). */
extern bool host_debug_skip_shootdowns;
void host_stats_read(struct host_stats *out);
uint64_t host_frames_used(void);

#endif
