/*
 * kernel/file.c - the console, initramfs files and descriptor tables.
 *
 * Console output goes to the serial console through printk_raw, in chunks
 * of at most 256 bytes; the last complete line written by a process is
 * kept in proc->tap (the test runner checks a program's KTAP summary).
 */
#include "kernel/file.h"
#include "kernel/initramfs.h"
#include "kernel/printk.h"
#include <stdarg.h>

static struct file *file_new(const struct file_ops *ops);

#define EBADF	9
#define EMFILE	24
#define CHUNK	256

static void file_tap(struct proc *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\n') {
			memcpy(p->tap, p->partial, p->npartial);
			p->tap[p->npartial] = 0;
			p->npartial = 0;
		} else if (p->npartial + 1 < PROC_TAP_LINE) {
			p->partial[p->npartial++] = s[i];
		}
	}
}

static long console_write(struct file *f, uint64_t ubuf, uint64_t n)
{
	char buf[CHUNK + 1];
	uint64_t done = 0;

	while (done < n) {
		size_t k = n - done < CHUNK ? n - done : CHUNK;

		if (copy_from_user(buf, ubuf + done, k))
			return done ? (long)done : -EFAULT;
		buf[k] = 0;
		for (size_t i = 0; i < k; i++)	/* printk_raw stops at a NUL */
			if (!buf[i])
				buf[i] = ' ';
		printk_raw(buf);
		if (f->proc && f->proc == proc_self())	/* not a fork child's write */
			file_tap(f->proc, buf, k);
		done += k;
	}
	return (long)done;
}

static long console_read(struct file *f, uint64_t ubuf, uint64_t n)
{
	return 0;	/* no input device: end of file */
}

static long ramfs_read(struct file *f, uint64_t ubuf, uint64_t n)
{
	uint64_t left = f->pos < f->size ? f->size - f->pos : 0;

	if (n > left)
		n = left;
	if (n && copy_to_user(ubuf, f->data + f->pos, n))
		return -EFAULT;
	f->pos += n;
	return (long)n;
}

static long ramfs_write(struct file *f, uint64_t ubuf, uint64_t n)
{
	return -EBADF;	/* opened read-only */
}

/* gen_read: like ramfs_read over the generated buffer; a read at offset 0
 * regenerates it (so a reader that seeks back sees fresh state). */
static long gen_read(struct file *f, uint64_t ubuf, uint64_t n)
{
	if (f->pos == 0) {
		long r;

		f->len = 0;
		r = f->gen(f);
		if (r < 0)
			return r;
	}
	if (f->pos >= f->len)
		return 0;
	if (n > f->len - f->pos)
		n = f->len - f->pos;
	if (copy_to_user(ubuf, f->buf + f->pos, n))
		return -EFAULT;
	f->pos += n;
	return (long)n;
}

static const struct file_ops gen_ops = { gen_read, ramfs_write, true };

int file_gen_printf(struct file *f, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		uint64_t room = f->cap - f->len;

		va_start(ap, fmt);
		n = vsnprintf(f->buf ? f->buf + f->len : NULL, f->buf ? room : 0, fmt, ap);
		va_end(ap);
		if (n >= 0 && f->buf && (uint64_t)n < room) {
			f->len += (uint64_t)n;
			return 0;
		}
		if (n < 0 || f->cap >= (1u << 20))
			return -ENOMEM;
		{
			uint64_t cap = f->cap ? f->cap * 2 : 4096;
			char *nb = env_alloc(cap);

			if (!nb)
				return -ENOMEM;
			if (f->buf)
				memcpy(nb, f->buf, f->len);
			env_free(f->buf, f->cap);
			f->buf = nb;
			f->cap = cap;
		}
	}
}

long file_open_gen(long (*gen)(struct file *f), struct proc *p, struct file **out)
{
	struct file *f = file_new(&gen_ops);

	if (!f)
		return -ENOMEM;
	f->gen = gen;
	*out = f;
	return 0;
}

static const struct file_ops console_ops = { console_read, console_write, false };
static const struct file_ops ramfs_ops = { ramfs_read, ramfs_write, true };

static struct file *file_new(const struct file_ops *ops);
static struct file *file_new(const struct file_ops *ops)
{
	struct file *f = env_alloc(sizeof(*f));

	if (f) {
		memset(f, 0, sizeof(*f));
		f->ops = ops;
		f->refs = 1;
	}
	return f;
}

void file_put(struct file *f)
{
	if (f && ck_pr_faa_32(&f->refs, (uint32_t)-1) == 1) {
		if (f->obj)
			vm_object_put(f->obj);
		env_free(f->buf, f->cap);
		env_free(f, sizeof(*f));
	}
}

struct vm_object *file_object(struct file *f, int *err)
{
	struct vm_object *obj = ck_pr_load_ptr(&f->obj);

	*err = -19;	/* ENODEV */
	if (f->ops != &ramfs_ops)
		return NULL;
	if (!obj) {
		obj = initramfs_object(&f->rf);
		*err = -ENOMEM;
		if (!obj)
			return NULL;
		if (!ck_pr_cas_ptr(&f->obj, NULL, obj)) {
			vm_object_put(obj);
			obj = ck_pr_load_ptr(&f->obj);
		}
	}
	vm_object_get(obj);
	return obj;
}

int file_console_open(struct proc *p)
{
	struct file *f = file_new(&console_ops);

	if (!f)
		return -ENOMEM;
	f->proc = p;
	for (int fd = 0; fd < 3; fd++) {
		ck_pr_inc_32(&f->refs);
		p->files[fd] = f;
	}
	file_put(f);
	return 0;
}

struct file *file_get(struct proc *p, int fd)
{
	struct file *f = NULL;

	if (fd < 0 || fd >= PROC_NFILES)
		return NULL;
	spin_lock(&p->lock);
	f = p->files[fd];
	if (f)
		ck_pr_inc_32(&f->refs);
	spin_unlock(&p->lock);
	return f;
}

int file_install(struct proc *p, struct file *f)
{
	int fd;

	spin_lock(&p->lock);
	for (fd = 0; fd < PROC_NFILES && p->files[fd]; fd++)
		;
	if (fd < PROC_NFILES)
		p->files[fd] = f;
	spin_unlock(&p->lock);
	return fd < PROC_NFILES ? fd : -EMFILE;
}

int file_close(struct proc *p, int fd)
{
	struct file *f;

	if (fd < 0 || fd >= PROC_NFILES)
		return -EBADF;
	spin_lock(&p->lock);
	f = p->files[fd];
	p->files[fd] = NULL;
	spin_unlock(&p->lock);
	if (!f)
		return -EBADF;
	file_put(f);
	return 0;
}

void file_close_all(struct proc *p)
{
	for (int fd = 0; fd < PROC_NFILES; fd++)
		(void)file_close(p, fd);
}

long file_open_initramfs(const char *path, struct file **out)
{
	struct initramfs_file rf;
	struct file *f;
	int err = initramfs_lookup(path, &rf);

	if (err)
		return err;
	f = file_new(&ramfs_ops);
	if (!f)
		return -ENOMEM;
	f->data = rf.data;
	f->size = rf.size;
	f->rf = rf;
	*out = f;
	return 0;
}
