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
		if (f->proc)
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

static const struct file_ops console_ops = { console_read, console_write, false };
static const struct file_ops ramfs_ops = { ramfs_read, ramfs_write, true };

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
		env_free(f, sizeof(*f));
	}
}

/* The object's view of a file: the initramfs bytes are permanent, so a
 * mapping may outlive every descriptor of the file. */
struct ramfs_span {
	const uint8_t *data;
	uint64_t size;
};

/* ramfs_fill: a page of an initramfs file (zeros past its end). */
static int ramfs_fill(struct vm_object *obj, uint64_t pgoff, void *kva)
{
	const struct ramfs_span *f = obj->priv;
	uint64_t off = pgoff * PAGE_SIZE, n = 0;

	if (off < f->size)
		n = f->size - off < PAGE_SIZE ? f->size - off : PAGE_SIZE;
	memcpy(kva, f->data + off, n);
	memset((uint8_t *)kva + n, 0, PAGE_SIZE - n);
	return 0;
}

static void ramfs_release(struct vm_object *obj)
{
	env_free(obj->priv, sizeof(struct ramfs_span));
}

static const struct vm_object_ops ramfs_obj_ops = {
	.name = "initramfs", .page_flags = PG_FILE, .fill = ramfs_fill, .release = ramfs_release,
};

struct vm_object *file_object(struct file *f, int *err)
{
	struct vm_object *obj = ck_pr_load_ptr(&f->obj);

	*err = -19;	/* ENODEV */
	if (f->ops != &ramfs_ops)
		return NULL;
	if (!obj) {
		struct ramfs_span *span = env_alloc(sizeof(*span));

		*err = -ENOMEM;
		if (!span)
			return NULL;
		span->data = f->data;
		span->size = f->size;
		obj = vm_object_create(&ramfs_obj_ops, (f->size + PAGE_SIZE - 1) >> PAGE_SHIFT, span);
		if (!obj) {
			env_free(span, sizeof(*span));
			return NULL;
		}
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
	*out = f;
	return 0;
}
