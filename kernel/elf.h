/*
 * kernel/elf.h - loading static ELF64 x86_64 executables into a process.
 */
#ifndef KESTREL_KERNEL_ELF_H
#define KESTREL_KERNEL_ELF_H

#include "kernel/proc.h"

#define USER_STACK_TOP	0x00007ffffffff000ull	/* Linux x86_64, no randomization */
#define USER_STACK_SIZE	(8ull << 20)		/* RLIMIT_STACK's default */
#define USER_MMAP_BASE	0x00007ffff7fff000ull	/* below the stack and its gap */
#define USER_PIE_BASE	0x0000555555554000ull	/* ET_DYN load bias (ELF_ET_DYN_BASE) */

/* elf_probe: is there a file at path (in the initramfs)? */
bool elf_probe(const char *path);
/* elf_exec: build p's address space (which must be empty and adopted by the
 * caller) from the ELF at path: PT_LOAD segments mapped privately from the
 * file's pages, bss, brk after it, a stack with argv, an empty envp and the
 * auxiliary vector. Entry point and initial stack pointer out; 0 or
 * negative errno (-ENOEXEC for a bad image). */
int elf_exec(struct proc *p, const char *path, char *const argv[], uint64_t *entry,
	     uint64_t *sp);

#endif
