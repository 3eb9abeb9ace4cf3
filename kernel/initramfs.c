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
#include "arch/mmu.h"

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
	const uint8_t *base = pa_to_va(bootinfo.initrd_pa);
	uint64_t len = bootinfo.initrd_len, off = 0;

	while (*path == '/')
		path++;
	while (bootinfo.initrd_len && off + CPIO_HDR <= len) {
		const uint8_t *h = base + off;
		int64_t mode = cpio_hex(h, 1), fsize = cpio_hex(h, 6), nsize = cpio_hex(h, 11);
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
			return 0;
		}
		off = align4(data + (uint64_t)fsize);
	}
	return -ENOENT;
}
