/*
 * kernel/sys_file.c - file system calls over kernel/file.h: the console on
 * fds 0-2 and read-only initramfs files.
 */
#include "kernel/syscall.h"
#include "kernel/file.h"

#define EBADF	9
#define EACCES	13
#define ENOTTY	25
#define ESPIPE	29
#define EROFS	30
#define O_ACCMODE 3
#define O_CREAT	0100
#define AT_FDCWD (-100)
#define IOV_MAX	1024
#define PATH_MAX 256

long sys_read(uint64_t fd, uint64_t buf, uint64_t n, uint64_t a3, uint64_t a4, uint64_t a5)
{
	struct file *f = file_get(proc_self(), (int)fd);
	long r;

	if (!f)
		return -EBADF;
	r = f->ops->read(f, buf, n);
	file_put(f);
	return r;
}

long sys_write(uint64_t fd, uint64_t buf, uint64_t n, uint64_t a3, uint64_t a4, uint64_t a5)
{
	struct file *f = file_get(proc_self(), (int)fd);
	long r;

	if (!f)
		return -EBADF;
	r = f->ops->write(f, buf, n);
	file_put(f);
	return r;
}

/* sys_rwv: readv/writev: each iovec in turn; stops at a short transfer. */
static long sys_rwv(uint64_t fd, uint64_t iov, uint64_t cnt, bool write)
{
	struct file *f;
	long total = 0;

	if (cnt > IOV_MAX)
		return -EINVAL;
	f = file_get(proc_self(), (int)fd);
	if (!f)
		return -EBADF;
	for (uint64_t i = 0; i < cnt; i++) {
		uint64_t v[2];
		long r;

		if (copy_from_user(v, iov + 16 * i, sizeof(v))) {
			total = total ? total : -EFAULT;
			break;
		}
		r = write ? f->ops->write(f, v[0], v[1]) : f->ops->read(f, v[0], v[1]);
		if (r < 0) {
			total = total ? total : r;
			break;
		}
		total += r;
		if ((uint64_t)r < v[1])
			break;
	}
	file_put(f);
	return total;
}

long sys_writev(uint64_t fd, uint64_t iov, uint64_t cnt, uint64_t a3, uint64_t a4, uint64_t a5)
{
	return sys_rwv(fd, iov, cnt, true);
}

long sys_readv(uint64_t fd, uint64_t iov, uint64_t cnt, uint64_t a3, uint64_t a4, uint64_t a5)
{
	return sys_rwv(fd, iov, cnt, false);
}

long sys_openat(uint64_t dirfd, uint64_t upath, uint64_t flags, uint64_t mode, uint64_t a4,
		uint64_t a5)
{
	char path[PATH_MAX];
	struct file *f;
	long r = strncpy_from_user(path, upath, sizeof(path));
	int fd;

	if (r < 0)
		return r;
	if (path[0] != '/' && (int)dirfd != AT_FDCWD)
		return -EBADF;
	if ((flags & O_ACCMODE) != 0 || (flags & O_CREAT))
		return -EROFS;	/* the initramfs is read-only */
	r = strncmp(path, "/proc/", 6) ? file_open_initramfs(path, &f) : procfs_open(path, &f);
	if (r)
		return r;
	fd = file_install(proc_self(), f);
	if (fd < 0)
		file_put(f);
	return fd;
}

long sys_open(uint64_t upath, uint64_t flags, uint64_t mode, uint64_t a3, uint64_t a4, uint64_t a5)
{
	return sys_openat((uint64_t)AT_FDCWD, upath, flags, mode, 0, 0);
}

long sys_close(uint64_t fd, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	return file_close(proc_self(), (int)fd);
}

long sys_lseek(uint64_t fd, uint64_t off, uint64_t whence, uint64_t a3, uint64_t a4,
	       uint64_t a5)
{
	struct file *f = file_get(proc_self(), (int)fd);
	int64_t base, pos;
	long r;

	if (!f)
		return -EBADF;
	base = whence == 0 ? 0 : whence == 1 ? (int64_t)f->pos : (int64_t)f->size;
	pos = base + (int64_t)off;
	if (!f->ops->seekable)
		r = -ESPIPE;
	else if (whence > 2 || pos < 0)
		r = -EINVAL;
	else
		r = (long)(f->pos = (uint64_t)pos);
	file_put(f);
	return r;
}

long sys_ioctl(uint64_t fd, uint64_t cmd, uint64_t arg, uint64_t a3, uint64_t a4, uint64_t a5)
{
	struct file *f = file_get(proc_self(), (int)fd);

	if (!f)
		return -EBADF;
	file_put(f);
	return -ENOTTY;
}
