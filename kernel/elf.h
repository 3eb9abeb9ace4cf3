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

/*
 * struct exec_strs - the argument and environment strings of a new image,
 * packed in one kernel buffer: argc argv strings, then envc envp strings,
 * each NUL-terminated (kernel/proc_args.c).
 */
struct exec_strs {
	char *buf;		/* env_alloc'd, cap bytes (NULL while empty) */
	size_t len, cap;
	unsigned argc, envc;
};

#define EXEC_STR_MAX	(32 * 4096ull)	/* one string with its NUL (MAX_ARG_STRLEN) */
#define EXEC_STRS_MAX	(2ull << 20)	/* strings + pointers: RLIMIT_STACK / 4 */

/* exec_strs_add: append kernel string str to argv (env false) or envp
 * (argv strings must all come first); 0, -E2BIG (Linux's limits), -ENOMEM. */
int exec_strs_add(struct exec_strs *s, const char *str, bool env);
/* exec_strs_copy_user: append the strings of the NULL-terminated user
 * vector uvec (0: none); 0, -EFAULT, -E2BIG or -ENOMEM. */
int exec_strs_copy_user(struct exec_strs *s, uint64_t uvec, bool env);
void exec_strs_free(struct exec_strs *s);

/* elf_probe: is there a file at path (in the initramfs)? */
bool elf_probe(const char *path);
/* elf_exec: build mm (empty, and the calling thread's adopted address
 * space) from the ELF at path: PT_LOAD segments mapped privately from the
 * file's pages, bss, brk after it, a stack with the strings of s, argc,
 * argv, envp and the auxiliary vector, laid out as Linux does. Entry point
 * and initial stack pointer out; 0 or negative errno (-ENOEXEC for a bad
 * image). */
int elf_exec(struct mm *mm, const char *path, const struct exec_strs *s, uint64_t *entry,
	     uint64_t *sp);

#endif
