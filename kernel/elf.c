/*
 * kernel/elf.c - the static ELF64 loader.
 *
 * The file stays in the initramfs; a vm_object whose fill() copies file
 * pages backs every PT_LOAD segment, mapped MAP_PRIVATE|MAP_FIXED with the
 * segment's protection: text and rodata share the object's cached pages,
 * data pages are copied on first write (the mm core's COW). The bytes of the
 * last file page past p_filesz are zeroed through clear_user (breaking COW
 * on that page), and anonymous memory covers the rest of p_memsz (bss).
 *
 * The initial stack (System V x86_64 ABI, as Linux builds it):
 *   [argc][argv...][0][envp...][0][auxv pairs...][AT_NULL]  <- 16-aligned sp
 *   ... padding, 16 random bytes (AT_RANDOM), argv strings, envp strings,
 *   the exec'd path (AT_EXECFN), 8 zero bytes ... top
 */
#include "kernel/elf.h"
#include "kernel/initramfs.h"
#include "kernel/printk.h"

#define ENOEXEC 8
#define ET_EXEC 2
#define ET_DYN	3
#define EM_X86_64 62
#define PT_LOAD 1
#define PT_PHDR 6
#define PF_X 1
#define PF_W 2
#define PF_R 4

struct elf64_ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

enum { AT_NULL = 0, AT_PHDR = 3, AT_PHENT = 4, AT_PHNUM = 5, AT_PAGESZ = 6, AT_BASE = 7,
       AT_FLAGS = 8, AT_ENTRY = 9, AT_UID = 11, AT_EUID = 12, AT_GID = 13, AT_EGID = 14,
       AT_HWCAP = 16, AT_CLKTCK = 17, AT_SECURE = 23, AT_RANDOM = 25, AT_EXECFN = 31 };

#define ELF_AUX_WORDS 34	/* the 17 pairs elf_auxv writes */

struct elf_image {
	struct initramfs_file f;
	const struct elf64_ehdr *eh;
	const struct elf64_phdr *ph;
	uint64_t bias, phdr_va, brk;
};

void random_bytes(void *buf, size_t n);	/* kernel/sys_misc.c */

bool elf_probe(const char *path)
{
	struct initramfs_file f;

	return initramfs_lookup(path, &f) == 0;
}

/* elf_check: validate the headers of a static x86_64 executable. */
static int elf_check(struct elf_image *im)
{
	const struct elf64_ehdr *eh = (const void *)im->f.data;

	if (im->f.size < sizeof(*eh) || memcmp(eh->ident, "\177ELF\2\1", 6) ||
	    (eh->type != ET_EXEC && eh->type != ET_DYN) || eh->machine != EM_X86_64 ||
	    eh->phentsize != sizeof(struct elf64_phdr) || eh->phnum == 0 ||
	    eh->phoff > im->f.size || eh->phnum * sizeof(struct elf64_phdr) > im->f.size - eh->phoff)
		return -ENOEXEC;
	im->eh = eh;
	im->ph = (const void *)(im->f.data + eh->phoff);
	im->bias = eh->type == ET_DYN ? USER_PIE_BASE : 0;
	return 0;
}

/* elf_map_segment: one PT_LOAD (see the header comment). */
static int elf_map_segment(struct mm *mm, struct vm_object *obj, struct elf_image *im,
			   const struct elf64_phdr *ph)
{
	int prot = (ph->flags & PF_R ? PROT_READ : 0) | (ph->flags & PF_W ? PROT_WRITE : 0) |
		   (ph->flags & PF_X ? PROT_EXEC : 0);
	uint64_t va = ph->vaddr + im->bias, start = va & PAGE_MASK;
	uint64_t fend = (va + ph->filesz + PAGE_SIZE - 1) & PAGE_MASK;
	uint64_t mend = (va + ph->memsz + PAGE_SIZE - 1) & PAGE_MASK, out;
	int err;

	if ((ph->offset & ~PAGE_MASK) != (va & ~PAGE_MASK) || ph->filesz > ph->memsz ||
	    ph->offset + ph->filesz > im->f.size || va + ph->memsz >= USER_STACK_TOP - USER_STACK_SIZE)
		return -ENOEXEC;
	if (ph->filesz) {
		err = mm_mmap_object(mm, start, fend - start, prot | PROT_WRITE,
				     MAP_PRIVATE | MAP_FIXED, obj, ph->offset >> PAGE_SHIFT, &out);
		if (err)
			return err;
		if (fend > va + ph->filesz && ph->memsz > ph->filesz &&
		    clear_user(va + ph->filesz, fend - (va + ph->filesz)))
			return -EFAULT;
		if (!(prot & PROT_WRITE) && (err = mm_mprotect(mm, start, fend - start, prot)))
			return err;
	} else {
		fend = start;
	}
	if (mend > fend && (err = mm_mmap(mm, fend, mend - fend, prot,
					  MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, &out)))
		return err;
	if (ph->offset == 0 && !im->phdr_va)
		im->phdr_va = va + im->eh->phoff;
	if (va + ph->memsz > im->brk)
		im->brk = va + ph->memsz;
	return 0;
}

/* elf_map: every PT_LOAD of im into mm. */
static int elf_map(struct mm *mm, struct elf_image *im)
{
	struct vm_object *obj = initramfs_object(&im->f);
	int err = 0;

	if (!obj)
		return -ENOMEM;
	for (unsigned i = 0; i < im->eh->phnum && !err; i++) {
		if (im->ph[i].type == PT_PHDR)
			im->phdr_va = im->ph[i].vaddr + im->bias;
		if (im->ph[i].type == PT_LOAD)
			err = elf_map_segment(mm, obj, im, &im->ph[i]);
	}
	vm_object_put(obj);
	return err;
}

/* elf_auxv: the auxiliary vector into w; the number of words. */
static unsigned elf_auxv(uint64_t *w, const struct elf_image *im, uint64_t rnd, uint64_t execfn)
{
	unsigned n = 0;

#define AUX(t, v) do { w[n++] = (t); w[n++] = (v); } while (0)
	AUX(AT_PHDR, im->phdr_va);
	AUX(AT_PHENT, sizeof(struct elf64_phdr));
	AUX(AT_PHNUM, im->eh->phnum);
	AUX(AT_PAGESZ, PAGE_SIZE);
	AUX(AT_BASE, 0);
	AUX(AT_FLAGS, 0);
	AUX(AT_ENTRY, im->eh->entry + im->bias);
	AUX(AT_UID, 0);
	AUX(AT_EUID, 0);
	AUX(AT_GID, 0);
	AUX(AT_EGID, 0);
	AUX(AT_HWCAP, 0);
	AUX(AT_CLKTCK, 100);
	AUX(AT_SECURE, 0);
	AUX(AT_RANDOM, rnd);
	AUX(AT_EXECFN, execfn);
	AUX(AT_NULL, 0);
#undef AUX
	KASSERT(n == ELF_AUX_WORDS, "elf_auxv: %u words", n);
	return n;
}

/* elf_strings: copy the exec'd path and s's strings below the stack top;
 * their lowest address, or 0 if they do not fit in the stack. */
static uint64_t elf_strings(const char *path, const struct exec_strs *s, uint64_t *execfn)
{
	size_t plen = strlen(path) + 1;
	uint64_t p = USER_STACK_TOP - 8 - plen;	/* Linux leaves 8 zero bytes on top */

	if (s->len > USER_STACK_SIZE / 2 || copy_to_user(p, path, plen))
		return 0;
	*execfn = p;
	p -= s->len;
	if (s->len && copy_to_user(p, s->buf, s->len))
		return 0;
	return p;
}

/* elf_vectors: argc, argv, envp and auxv into w (pointers into the copy of
 * s's strings at ustr); the number of words. */
static unsigned elf_vectors(uint64_t *w, const struct exec_strs *s, uint64_t ustr)
{
	unsigned n = 0;
	size_t off = 0;

	w[n++] = s->argc;
	for (unsigned i = 0; i < s->argc + s->envc; i++) {
		if (i == s->argc)
			w[n++] = 0;	/* end of argv */
		w[n++] = ustr + off;
		off += strlen(s->buf + off) + 1;
	}
	if (!s->envc)
		w[n++] = 0;	/* end of argv */
	w[n++] = 0;		/* end of envp */
	return n;
}

/* elf_stack: map the stack and build it (header comment); *sp out. */
static int elf_stack(struct mm *mm, struct elf_image *im, const char *path,
		     const struct exec_strs *s, uint64_t *sp)
{
	size_t nw = 3 + s->argc + s->envc + ELF_AUX_WORDS;
	uint64_t *w, p, out, rnd, execfn, ustr;
	uint8_t bytes[16];
	unsigned n;
	int err;

	err = mm_mmap(mm, USER_STACK_TOP - USER_STACK_SIZE, USER_STACK_SIZE,
		      PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, &out);
	if (err)
		return err;
	if (!(ustr = elf_strings(path, s, &execfn)))
		return -EFAULT;
	random_bytes(bytes, sizeof(bytes));
	rnd = p = (ustr - 16) & ~15ull;
	if (copy_to_user(rnd, bytes, 16))
		return -EFAULT;
	w = env_alloc(nw * 8);
	if (!w)
		return -ENOMEM;
	n = elf_vectors(w, s, ustr);
	n += elf_auxv(w + n, im, rnd, execfn);
	KASSERT(n == nw, "elf_stack: %u words, %zu expected", n, nw);
	p = (p - n * 8) & ~15ull;
	err = copy_to_user(p, w, n * 8);
	env_free(w, nw * 8);
	*sp = p;
	return err;
}

int elf_exec(struct mm *mm, const char *path, const struct exec_strs *s, uint64_t *entry,
	     uint64_t *sp)
{
	struct elf_image im;
	int err;

	memset(&im, 0, sizeof(im));
	if ((err = initramfs_lookup(path, &im.f)) || (err = elf_check(&im)))
		return err;
	if ((err = elf_map(mm, &im)) || (err = elf_stack(mm, &im, path, s, sp)))
		return err;
	mm_lock_write(mm);
	mm->brk_start = mm->brk = (im.brk + PAGE_SIZE - 1) & PAGE_MASK;
	mm->mmap_base = USER_MMAP_BASE;
	mm_unlock_write(mm);
	*entry = im.eh->entry + im.bias;
	return 0;
}
