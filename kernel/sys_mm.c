/*
 * kernel/sys_mm.c - memory system calls: thin wrappers over the mm core,
 * which implements Linux's semantics and errnos (mm/mmap.c, mm/mremap.c).
 * File mappings are not supported yet (-ENODEV): the ELF loader maps
 * initramfs files through its own object.
 */
#include "kernel/syscall.h"
#include "mm/vma.h"

#define ENODEV 19

static struct mm *cur_mm(void)
{
	return proc_self()->mm;
}

long sys_mmap(uint64_t addr, uint64_t len, uint64_t prot, uint64_t flags, uint64_t fd,
	      uint64_t off)
{
	uint64_t out;
	int err;

	if (!(flags & MAP_ANONYMOUS))
		return -ENODEV;
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
