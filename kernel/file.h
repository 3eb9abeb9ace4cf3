/*
 * kernel/file.h - open files and the per-process descriptor table.
 *
 * A struct file is an open instance of the console or of an initramfs file
 * (read-only). Descriptors index proc->files under proc->lock; a file is
 * referenced by each descriptor that holds it (refs, atomic) and by a
 * syscall using it (file_get/file_put), so close() racing read() is safe.
 */
#ifndef KESTREL_KERNEL_FILE_H
#define KESTREL_KERNEL_FILE_H

#include "kernel/proc.h"

struct file;

struct file_ops {
	/* read/write: move up to n bytes between the file and user memory;
	 * bytes moved or negative errno. */
	long (*read)(struct file *f, uint64_t ubuf, uint64_t n);
	long (*write)(struct file *f, uint64_t ubuf, uint64_t n);
	bool seekable;
};

struct file {
	const struct file_ops *ops;	/* (C) */
	uint32_t refs;			/* (A) */
	uint64_t pos;			/* (O) the syscall holding it; not shared */
	const uint8_t *data;		/* (C) initramfs contents */
	uint64_t size;			/* (C) */
	struct proc *proc;		/* (C) console: whose output line to tap */
	struct vm_object *obj;		/* (A) page cache for mmap, made on first use */
};

int file_console_open(struct proc *p);
void file_close_all(struct proc *p);
/* file_get: the file at fd with a reference, or NULL (EBADF). */
struct file *file_get(struct proc *p, int fd);
void file_put(struct file *f);
/* file_install: the lowest free descriptor for f (which it then holds), or
 * -EMFILE. */
int file_install(struct proc *p, struct file *f);
int file_close(struct proc *p, int fd);
/* file_object: the vm_object mmap maps for f (an initramfs file), with a
 * reference for the caller; NULL if f cannot be mapped (-ENODEV) or no
 * memory (*err). */
struct vm_object *file_object(struct file *f, int *err);
/* file_open_initramfs: open path read-only; a new file or negative errno. */
long file_open_initramfs(const char *path, struct file **out);

#endif
