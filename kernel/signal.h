/*
 * kernel/signal.h - signals: Linux x86_64 numbers and the fault entry point.
 */
#ifndef KESTREL_KERNEL_SIGNAL_H
#define KESTREL_KERNEL_SIGNAL_H

#include "sync/env.h"

#define SIGHUP		1
#define SIGINT		2
#define SIGQUIT		3
#define SIGILL		4
#define SIGTRAP		5
#define SIGABRT		6
#define SIGBUS		7
#define SIGFPE		8
#define SIGKILL		9
#define SIGUSR1		10
#define SIGSEGV		11
#define SIGUSR2		12
#define SIGPIPE		13
#define SIGALRM		14
#define SIGTERM		15
#define SIGCHLD		17
#define NSIG		64

#define SEGV_MAPERR	1
#define SEGV_ACCERR	2
#define BUS_ADRERR	2

struct trap_frame;

/* signal_fault: a synchronous fault of the current user thread (tf is its
 * user frame): deliver sig to its handler, or apply the default action
 * (kill the process with a one-line log). Interrupts off on entry. */
void signal_fault(struct trap_frame *tf, int sig, int code, uint64_t addr);

/* signal_deliver: on the way back to user mode: run the handler of (or
 * apply the default action to) the lowest pending unblocked signal. */
void signal_deliver(struct trap_frame *tf);

#endif
