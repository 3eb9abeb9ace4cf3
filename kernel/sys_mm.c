/*
 * kernel/sys_mm.c - memory system calls: thin wrappers over the mm core,
 * which implements Linux's semantics and errnos (mm/mmap.c, mm/mremap.c).
 * File mappings map an initramfs file's page cache (kernel/file.c).
 */
#include "kernel/syscall.h"
#include "mm/vma.h"
#include "kernel/file.h"

#define EBADF 9
#define EACCES 13

static struct mm *cur_mm(void)
{
	return proc_self()->mm;
}

/* sys_mmap_file: map an open initramfs file. Every descriptor is read-only,
 * so a shared writable mapping is -EACCES; a private one is copy-on-write. */
static long sys_mmap_file(uint64_t addr, uint64_t len, uint64_t prot, uint64_t flags, int fd,
			  uint64_t off)
{
	struct file *f = file_get(proc_self(), fd);
	struct vm_object *obj;
	uint64_t out;
	int err;

	if (!f)
		return -EBADF;
	err = -EINVAL;
	if (off & ~PAGE_MASK)
		goto out_put;
	err = -EACCES;
	if ((flags & MAP_SHARED) && (prot & PROT_WRITE))
		goto out_put;
	obj = file_object(f, &err);
	if (!obj)
		goto out_put;
	err = mm_mmap_object(cur_mm(), addr, len, (int)prot, (int)flags, obj, off >> PAGE_SHIFT,
			     &out);
	vm_object_put(obj);
out_put:
	file_put(f);
	return err ? err : (long)out;
}

long sys_mmap(uint64_t addr, uint64_t len, uint64_t prot, uint64_t flags, uint64_t fd,
	      uint64_t off)
{
	uint64_t out;
	int err;

	if (!(flags & MAP_ANONYMOUS))
		return sys_mmap_file(addr, len, prot, flags, (int)fd, off);
	if (off & ~PAGE_MASK)
		return -EINVAL;
	err = mm_mmap(cur_mm(), addr, len, (int)prot, (int)flags, &out);
	return err ? err : (long)out;
}

long sys_munmap(uint64_t addr, uint64_t len, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	return mm_munmap(cur_mm(), addr, len);
}

long sys_mprotect(uint64_t addr, uint64_t len, uint64_t prot, uint64_t a3, uint64_t a4,
		  uint64_t a5)
{
	return mm_mprotect(cur_mm(), addr, len, (int)prot);
}

long sys_mremap(uint64_t old, uint64_t old_len, uint64_t new_len, uint64_t flags,
		uint64_t new_addr, uint64_t a5)
{
	uint64_t out;
	int err = mm_mremap(cur_mm(), old, old_len, new_len, (int)flags, new_addr, &out);

	return err ? err : (long)out;
}

long sys_madvise(uint64_t addr, uint64_t len, uint64_t advice, uint64_t a3, uint64_t a4,
		 uint64_t a5)
{
	return mm_madvise(cur_mm(), addr, len, (int)advice);
}

/* msync: anonymous and private memory have nothing to write back; check
 * the arguments as Linux does. */
long sys_msync(uint64_t addr, uint64_t len, uint64_t flags, uint64_t a3, uint64_t a4,
	       uint64_t a5)
{
	uint64_t n, alen = (len + PAGE_SIZE - 1) & PAGE_MASK;

	if ((addr & ~PAGE_MASK) || (flags & ~7ull) || ((flags & 1) && (flags & 4)))
		return -EINVAL;
	if (alen < len || addr + alen < addr)
		return -ENOMEM;
	if (!alen)
		return 0;
	mm_lock_read(cur_mm());
	n = mm_range_mapped(cur_mm(), addr, addr + alen);
	mm_unlock_read(cur_mm());
	return n == alen ? 0 : -ENOMEM;
}

long sys_brk(uint64_t newbrk, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	return (long)mm_brk(cur_mm(), newbrk);
}
