/*
 * kernel/initramfs.h - the read-only initial file system: a cpio archive
 * (newc format) loaded by the boot loader as the first multiboot module
 * (QEMU -initrd). Files are looked up in place: the archive stays where the
 * loader put it (that memory is never given to the frame allocator), so a
 * file's data is a direct-map pointer valid forever.
 */
#ifndef KESTREL_KERNEL_INITRAMFS_H
#define KESTREL_KERNEL_INITRAMFS_H

#include "sync/env.h"

struct initramfs_file {
	const char *name;	/* without the leading "/" */
	const uint8_t *data;
	uint64_t size;
	uint32_t mode;
	uint32_t ino;		/* the archive's inode number */
};

/* initramfs_lookup: the file at path ("/a/b" or "a/b"); 0 or -ENOENT. */
int initramfs_lookup(const char *path, struct initramfs_file *out);

struct vm_object;
/* initramfs_object: a page-cache object over f's bytes (one reference),
 * for mmap and the ELF loader; NULL on ENOMEM. */
struct vm_object *initramfs_object(const struct initramfs_file *f);
/* initramfs_object_file: the file an object made by initramfs_object maps,
 * or NULL for any other object. */
const struct initramfs_file *initramfs_object_file(const struct vm_object *obj);

#endif
