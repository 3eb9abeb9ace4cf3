/*
 * sync/host/hostcpu.h - simulated CPU identity for host tests and benchmarks.
 *
 * Test and benchmark threads register as CPUs 0..N-1 so that per-CPU code
 * (counters, TLB simulation, shootdown targets) runs for real. Registration
 * also registers the thread with liburcu, so a registered thread may enter
 * RCU read-side critical sections.
 *
 * hostcpu_register()        claim the lowest free slot; returns its id or -EBUSY
 * hostcpu_register_id(id)   claim a given slot; 0 or -EBUSY / -EINVAL
 * hostcpu_unregister()      release this thread's slot (and leave liburcu)
 * hostcpu_set_count(n)      how many CPUs cpu_count() reports (default NCPU_MAX)
 */
#ifndef KESTREL_HOSTCPU_H
#define KESTREL_HOSTCPU_H

int hostcpu_register(void);
int hostcpu_register_id(int id);
void hostcpu_unregister(void);
void hostcpu_set_count(unsigned n);

#endif
