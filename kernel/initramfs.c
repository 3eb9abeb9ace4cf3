/*
 * kernel/initramfs.c - lookups in the cpio newc archive (see initramfs.h).
 *
 * newc: each entry is a 110-byte ASCII header ("070701", then 13 fields of
 * 8 hex digits), the name (namesize bytes with its NUL), padding to 4
 * bytes, the data (filesize bytes), padding to 4 bytes; "TRAILER!!!" ends
 * the archive. A lookup walks the headers: archives here hold tens of files.
 * Malformed archives end the walk (the lookup fails), they never fault.
 */
#include "kernel/initramfs.h"
#include "kernel/bootinfo.h"
#include "mm/mm.h"

#define CPIO_HDR 110

/* cpio_hex: the 8-hex-digit field number i of header h; -1 if malformed. */
static int64_t cpio_hex(const uint8_t *h, unsigned i)
{
	int64_t v = 0;

	for (unsigned k = 0; k < 8; k++) {
		uint8_t c = h[6 + 8 * i + k];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

static uint64_t align4(uint64_t x)
{
	return (x + 3) & ~3ull;
}

int initramfs_lookup(const char *path, struct initramfs_file *out)
{
	const uint8_t *base = pmap_pa_kva(bootinfo.initrd_pa);
	uint64_t len = bootinfo.initrd_len, off = 0;

	while (*path == '/')
		path++;
	while (bootinfo.initrd_len && off + CPIO_HDR <= len) {
		const uint8_t *h = base + off;
		int64_t ino = cpio_hex(h, 0), mode = cpio_hex(h, 1), fsize = cpio_hex(h, 6), nsize = cpio_hex(h, 11);
		const char *name = (const char *)h + CPIO_HDR;
		uint64_t data;

		if (memcmp(h, "070701", 6) || mode < 0 || fsize < 0 || nsize < 1 ||
		    off + CPIO_HDR + (uint64_t)nsize > len || name[nsize - 1])
			return -ENOENT;
		data = align4(off + CPIO_HDR + (uint64_t)nsize);
		if (data + (uint64_t)fsize > len || !strcmp(name, "TRAILER!!!"))
			return -ENOENT;
		while (*name == '/' || (name[0] == '.' && name[1] == '/'))
			name += name[0] == '.' ? 2 : 1;
		if (!strcmp(name, path)) {
			out->name = name;
			out->data = base + data;
			out->size = (uint64_t)fsize;
			out->mode = (uint32_t)mode;
			out->ino = (uint32_t)ino;
			return 0;
		}
		off = align4(data + (uint64_t)fsize);
	}
	return -ENOENT;
}

/* The object's fill copies from the archive, which is never freed, so a
 * mapping may outlive every descriptor of the file. */
static int initramfs_fill(struct vm_object *obj, uint64_t pgoff, void *kva)
{
	const struct initramfs_file *f = obj->priv;
	uint64_t off = pgoff * PAGE_SIZE, n = 0;

	if (off < f->size)
		n = f->size - off < PAGE_SIZE ? f->size - off : PAGE_SIZE;
	memcpy(kva, f->data + off, n);
	memset((uint8_t *)kva + n, 0, PAGE_SIZE - n);
	return 0;
}

static void initramfs_release(struct vm_object *obj)
{
	env_free(obj->priv, sizeof(struct initramfs_file));
}

static const struct vm_object_ops initramfs_obj_ops = {
	.name = "initramfs", .page_flags = PG_FILE, .fill = initramfs_fill,
	.release = initramfs_release,
};

struct vm_object *initramfs_object(const struct initramfs_file *f)
{
	struct initramfs_file *copy = env_alloc(sizeof(*copy));
	struct vm_object *obj;

	if (!copy)
		return NULL;
	*copy = *f;
	obj = vm_object_create(&initramfs_obj_ops, (f->size + PAGE_SIZE - 1) >> PAGE_SHIFT, copy);
	if (!obj)
		env_free(copy, sizeof(*copy));
	return obj;
}

const struct initramfs_file *initramfs_object_file(const struct vm_object *obj)
{
	return obj && obj->ops == &initramfs_obj_ops ? obj->priv : NULL;
}
