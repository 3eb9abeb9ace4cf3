/*
 * tests/user/mm_errno.c - bad arguments to the memory syscalls return
 * exactly Linux's errno (and the process, like the kernel, keeps running).
 *
 * Every memory syscall (mmap, munmap, mprotect, mremap, brk, madvise, msync)
 * is called raw (no libc argument checks in between) with unaligned,
 * overflowing, kernel-half, zero-length and unmapped arguments; a few other
 * syscalls get bad user pointers (-EFAULT, never a crash) and an unknown
 * syscall number (-ENOSYS). The expected values are written from Linux's
 * documented semantics (man 2 mmap/munmap/mprotect/mremap/madvise/msync and
 * the kernel's argument checks) and verified on Linux by running this
 * program natively. One case line per call: "# ok|BAD name: got X want Y".
 *
 * Args: strict=0 (1: a MAP_FIXED below mmap_min_addr must fail even though
 * the native run may be privileged), verbose=0.
 */
#include "uktap.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define P 4096L
#define OK 1000			/* expectation: any non-negative result */
#define KHALF 0xffff800000000000L	/* first kernel-half address */
#define TASK_TOP 0x7ffffffff000L	/* Linux x86_64 TASK_SIZE (47-bit) */
#define RW (PROT_READ | PROT_WRITE)
#define PA (MAP_PRIVATE | MAP_ANONYMOUS)

static long R;		/* 4 mapped RW pages */
static long H;		/* 3 pages with the middle one unmapped */
static long U;		/* 4 unmapped pages */
static long RO;		/* 1 read-only page */
static char *self_path;

/* rsys: the raw syscall instruction: returns the kernel's value, -errno on
 * failure, untouched by libc. */
static long rsys(long n, long a, long b, long c, long d, long e, long f)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;

	__asm__ volatile("syscall" : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

static const char *ename(long e)
{
	switch (e) {
	case OK: return "success";
	case 0: return "0";
	case -EINVAL: return "-EINVAL";
	case -ENOMEM: return "-ENOMEM";
	case -EFAULT: return "-EFAULT";
	case -EEXIST: return "-EEXIST";
	case -EBADF: return "-EBADF";
	case -EACCES: return "-EACCES";
	case -EPERM: return "-EPERM";
	case -ENOSYS: return "-ENOSYS";
	default: return e < 0 && e > -4096 ? "-E?" : "a value";
	}
}

/* expect_sys: run one raw call and compare with want (a -errno, 0, or OK);
 * returns the raw result so the caller can clean up a mapping. */
static long expect_sys(const char *name, long want, long n, long a, long b, long c,
		       long d, long e, long f)
{
	long got = rsys(n, a, b, c, d, e, f);
	int good = want == OK ? got >= 0 || got < -4095 : got == want;

	if (!good || ut_arg("verbose", 0))
		ut_diag("%s %s: got %#lx (%s), want %s", good ? "ok " : "BAD", name, got,
			got < 0 && got > -4096 ? ename(got) : "success", ename(want));
	UT_CHECK(good, "%s", name);
	return got;
}

#define E(name, want, nr, ...) expect_sys(name, want, nr, __VA_ARGS__)
#define E6(name, want, nr, a, b, c, d, e, f) expect_sys(name, want, nr, a, b, c, d, e, f)

static int test_mmap(void)
{
	long r;

	E6("mmap len 0", -EINVAL, SYS_mmap, 0, 0, RW, PA, -1, 0);
	E6("mmap unaligned offset", -EINVAL, SYS_mmap, 0, P, RW, PA, -1, 100);
	E6("mmap neither private nor shared", -EINVAL, SYS_mmap, 0, P, RW, MAP_ANONYMOUS, -1, 0);
	E6("mmap fixed unaligned addr", -EINVAL, SYS_mmap, U + 100, P, RW, PA | MAP_FIXED, -1, 0);
	E6("mmap noreplace unaligned addr", -EINVAL, SYS_mmap, U + 100, P, RW, PA | MAP_FIXED_NOREPLACE, -1, 0);
	E6("mmap len ~0 (rounds to 0)", -ENOMEM, SYS_mmap, 0, -1L, RW, PA, -1, 0);
	E6("mmap len 2^47", -ENOMEM, SYS_mmap, 0, 1L << 47, RW, PA, -1, 0);
	E6("mmap fixed kernel half", -ENOMEM, SYS_mmap, KHALF, P, RW, PA | MAP_FIXED, -1, 0);
	E6("mmap fixed last user page", -ENOMEM, SYS_mmap, TASK_TOP, P, RW, PA | MAP_FIXED, -1, 0);
	E6("mmap fixed range past the top", -ENOMEM, SYS_mmap, TASK_TOP - 4 * P, 8 * P, RW, PA | MAP_FIXED, -1, 0);
	E6("mmap file without fd", -EBADF, SYS_mmap, 0, P, RW, MAP_PRIVATE, -1, 0);
	E6("mmap noreplace on a mapping", -EEXIST, SYS_mmap, R, P, RW, PA | MAP_FIXED_NOREPLACE, -1, 0);
	r = E6("mmap kernel-half hint (ignored)", OK, SYS_mmap, KHALF, P, RW, PA, -1, 0);
	if (r >= 0) {
		UT_CHECK(r < TASK_TOP, "hint placed the mapping at %#lx", r);
		rsys(SYS_munmap, r, P, 0, 0, 0, 0);
	}
	return UT_PASS;
}

static int test_mmap_file(void)
{
	int fd = open(self_path, O_RDONLY);
	long r;

	if (fd < 0)
		return ut_skip("cannot open argv[0]");
	E6("mmap shared writable of an O_RDONLY fd", -EACCES, SYS_mmap, 0, P, RW, MAP_SHARED, fd, 0);
	E6("mmap file unaligned offset", -EINVAL, SYS_mmap, 0, P, PROT_READ, MAP_PRIVATE, fd, 1);
	r = E6("mmap private writable of an O_RDONLY fd", OK, SYS_mmap, 0, P, RW, MAP_PRIVATE, fd, 0);
	if (r >= 0) {
		UT_CHECK(!memcmp((char *)r, "\177ELF", 4), "file mapping does not start with ELF");
		((char *)r)[0] = 'x';	/* copy-on-write: the file is untouched */
		rsys(SYS_munmap, r, P, 0, 0, 0, 0);
	}
	close(fd);
	return UT_PASS;
}

static int test_mmap_min_addr(void)
{
	char buf[64];
	long min, r;

	if (ut_read_file("/proc/sys/vm/mmap_min_addr", buf, sizeof(buf)) <= 0)
		return ut_skip("no /proc/sys/vm/mmap_min_addr");
	min = strtol(buf, NULL, 10);
	if (min < P)
		return ut_skip("mmap_min_addr below one page");
	r = rsys(SYS_mmap, min - P, P, RW, PA | MAP_FIXED_NOREPLACE, -1, 0);
	if (r >= 0) {
		rsys(SYS_munmap, r, P, 0, 0, 0, 0);
		UT_CHECK(!ut_arg("strict", 0), "mapped %#lx below mmap_min_addr %ld", r, min);
		return ut_skip("privileged (CAP_SYS_RAWIO): mapping below mmap_min_addr allowed");
	}
	UT_CHECK(r == -EPERM, "mmap below mmap_min_addr %ld: %ld, want -EPERM", min, r);
	return UT_PASS;
}

static int test_munmap(void)
{
	E("munmap unaligned", -EINVAL, SYS_munmap, R + 8, P, 0, 0, 0, 0);
	E("munmap len 0", -EINVAL, SYS_munmap, U, 0, 0, 0, 0, 0);
	E("munmap kernel half", -EINVAL, SYS_munmap, KHALF, P, 0, 0, 0, 0);
	E("munmap at the user top", -EINVAL, SYS_munmap, TASK_TOP, P, 0, 0, 0, 0);
	E("munmap wrapping length", -EINVAL, SYS_munmap, R, -R, 0, 0, 0, 0);
	E("munmap len ~0", -EINVAL, SYS_munmap, R, -1L, 0, 0, 0, 0);
	E("munmap unmapped range", 0, SYS_munmap, U, 4 * P, 0, 0, 0, 0);
	E("munmap unaligned length", 0, SYS_munmap, U, 100, 0, 0, 0, 0);
	return UT_PASS;
}

static int test_mprotect(void)
{
	E("mprotect unaligned", -EINVAL, SYS_mprotect, R + 8, P, PROT_READ, 0, 0, 0);
	E("mprotect len 0", 0, SYS_mprotect, R, 0, PROT_READ, 0, 0, 0);
	E("mprotect len 0 unmapped", 0, SYS_mprotect, U, 0, PROT_READ, 0, 0, 0);
	E("mprotect unknown prot bit", -EINVAL, SYS_mprotect, R, P, 0x40, 0, 0, 0);
	E("mprotect growsdown|growsup", -EINVAL, SYS_mprotect, R, P,
	  PROT_READ | PROT_GROWSDOWN | PROT_GROWSUP, 0, 0, 0);
	E("mprotect wrapping length", -ENOMEM, SYS_mprotect, R, -R + P, PROT_READ, 0, 0, 0);
	E("mprotect len ~0", -ENOMEM, SYS_mprotect, R, -1L, PROT_READ, 0, 0, 0);
	E("mprotect unmapped", -ENOMEM, SYS_mprotect, U, P, PROT_READ, 0, 0, 0);
	E("mprotect kernel half", -ENOMEM, SYS_mprotect, KHALF, P, PROT_READ, 0, 0, 0);
	E("mprotect range with a hole", -ENOMEM, SYS_mprotect, H, 3 * P, RW, 0, 0, 0);
	E("mprotect valid", 0, SYS_mprotect, R, 4 * P, RW, 0, 0, 0);
	return UT_PASS;
}

static int test_mremap(void)
{
	long mm = MREMAP_MAYMOVE;

	E("mremap unaligned old", -EINVAL, SYS_mremap, R + 8, P, P, 0, 0, 0);
	E("mremap unknown flag", -EINVAL, SYS_mremap, R, P, P, 8, 0, 0);
	E("mremap fixed without maymove", -EINVAL, SYS_mremap, R, P, P, MREMAP_FIXED, U, 0);
	E("mremap dontunmap without maymove", -EINVAL, SYS_mremap, R, P, P, MREMAP_DONTUNMAP, 0, 0);
	E("mremap dontunmap resizing", -EINVAL, SYS_mremap, R, P, 2 * P, mm | MREMAP_DONTUNMAP, 0, 0);
	E("mremap new_len 0", -EINVAL, SYS_mremap, R, P, 0, mm, 0, 0);
	E("mremap new_len ~0", -EINVAL, SYS_mremap, R, P, -1L, mm, 0, 0);
	E("mremap old_len 0 of a private mapping", -EINVAL, SYS_mremap, R, 0, P, mm, 0, 0);
	E("mremap fixed unaligned new", -EINVAL, SYS_mremap, R, P, P, mm | MREMAP_FIXED, U + 8, 0);
	E("mremap fixed overlapping", -EINVAL, SYS_mremap, R, 2 * P, 2 * P, mm | MREMAP_FIXED, R + P, 0);
	E("mremap fixed to kernel half", -EINVAL, SYS_mremap, R, P, P, mm | MREMAP_FIXED, KHALF, 0);
	E("mremap unmapped old", -EFAULT, SYS_mremap, U, P, 2 * P, mm, 0, 0);
	E("mremap kernel-half old", -EFAULT, SYS_mremap, KHALF, P, 2 * P, mm, 0, 0);
	E("mremap old_len past the mapping", -EFAULT, SYS_mremap, R, 8 * P, 16 * P, mm, 0, 0);
	E("mremap grow into a neighbour, no maymove", -ENOMEM, SYS_mremap, H, P, 3 * P, 0, 0, 0);
	E("mremap grow past a neighbour, no maymove", -ENOMEM, SYS_mremap, R, 2 * P, 3 * P, 0, 0, 0);
	E("mremap shrink in place", R, SYS_mremap, R, 4 * P, 4 * P, 0, 0, 0);
	return UT_PASS;
}

/* test_mremap_dup: old_len 0 duplicates a shared mapping: the same pages
 * at a second address (private: -EINVAL, checked above). */
static int test_mremap_dup(void)
{
	char *s = mmap(NULL, 2 * P, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0), *d;

	UT_REQUIRE(s != MAP_FAILED, "mmap shared");
	s[0] = 7;
	E("mremap dup without maymove", -ENOMEM, SYS_mremap, (long)s, 0, 2 * P, 0, 0, 0);
	d = (char *)rsys(SYS_mremap, (long)s, 0, 2 * P, MREMAP_MAYMOVE, 0, 0);
	UT_REQUIRE((long)d > 0, "mremap dup: %ld", (long)d);
	d[P] = 8;
	UT_CHECK(d[0] == 7 && s[P] == 8 && s[0] == 7, "same pages both ways");
	munmap(d, 2 * P);
	munmap(s, 2 * P);
	return UT_PASS;
}

static int test_brk(void)
{
	long cur = rsys(SYS_brk, 0, 0, 0, 0, 0, 0);

	UT_REQUIRE(cur > 0, "brk(0) = %ld", cur);
	E("brk kernel half returns the break", cur, SYS_brk, KHALF, 0, 0, 0, 0, 0);
	E("brk -1 returns the break", cur, SYS_brk, -1L, 0, 0, 0, 0, 0);
	E("brk below its start returns the break", cur, SYS_brk, P, 0, 0, 0, 0, 0);
	E("brk over a mapping returns the break", cur, SYS_brk, R + P, 0, 0, 0, 0, 0);
	return UT_PASS;
}

static int test_madvise(void)
{
	E("madvise unaligned", -EINVAL, SYS_madvise, R + 8, P, MADV_DONTNEED, 0, 0, 0);
	E("madvise len 0", 0, SYS_madvise, R, 0, MADV_DONTNEED, 0, 0, 0);
	E("madvise len 0 unmapped", 0, SYS_madvise, U, 0, MADV_DONTNEED, 0, 0, 0);
	E("madvise unknown advice", -EINVAL, SYS_madvise, R, P, 12345, 0, 0, 0);
	E("madvise len ~0", -EINVAL, SYS_madvise, R, -1L, MADV_DONTNEED, 0, 0, 0);
	E("madvise wrapping length", -EINVAL, SYS_madvise, R, -R + P, MADV_DONTNEED, 0, 0, 0);
	E("madvise unmapped", -ENOMEM, SYS_madvise, U, P, MADV_DONTNEED, 0, 0, 0);
	E("madvise kernel half", -ENOMEM, SYS_madvise, KHALF, P, MADV_DONTNEED, 0, 0, 0);
	E("madvise range with a hole", -ENOMEM, SYS_madvise, H, 3 * P, MADV_DONTNEED, 0, 0, 0);
	E("madvise normal", 0, SYS_madvise, R, 4 * P, MADV_NORMAL, 0, 0, 0);
	return UT_PASS;
}

static int test_msync(void)
{
	E("msync unaligned", -EINVAL, SYS_msync, R + 8, P, MS_SYNC, 0, 0, 0);
	E("msync unknown flag", -EINVAL, SYS_msync, R, P, 0x10, 0, 0, 0);
	E("msync async|sync", -EINVAL, SYS_msync, R, P, MS_ASYNC | MS_SYNC, 0, 0, 0);
	E("msync len 0", 0, SYS_msync, R, 0, MS_SYNC, 0, 0, 0);
	E("msync unmapped", -ENOMEM, SYS_msync, U, P, MS_SYNC, 0, 0, 0);
	E("msync wrapping length", -ENOMEM, SYS_msync, R, -R + P, MS_SYNC, 0, 0, 0);
	E("msync kernel half", -ENOMEM, SYS_msync, KHALF, P, MS_SYNC, 0, 0, 0);
	E("msync range with a hole", -ENOMEM, SYS_msync, H, 3 * P, MS_SYNC, 0, 0, 0);
	E("msync anonymous", 0, SYS_msync, R, 4 * P, MS_SYNC, 0, 0, 0);
	return UT_PASS;
}

static int test_uaccess(void)
{
	int fd = open(self_path, O_RDONLY);
	long ts[2];

	/* not write(1, bad, n): if stdout is /dev/null Linux never reads the
	 * buffer; writev must copy the iovec array whatever the file is */
	E("writev iovec unmapped", -EFAULT, SYS_writev, 1, U, 1, 0, 0, 0);
	E("writev iovec in kernel half", -EFAULT, SYS_writev, 1, KHALF, 1, 0, 0, 0);
	E("uname to kernel half", -EFAULT, SYS_uname, KHALF, 0, 0, 0, 0, 0);
	E("uname to read-only page", -EFAULT, SYS_uname, RO, 0, 0, 0, 0, 0);
	E("clock_gettime to unmapped", -EFAULT, SYS_clock_gettime, CLOCK_MONOTONIC, U, 0, 0, 0, 0);
	E("clock_gettime ok", 0, SYS_clock_gettime, CLOCK_MONOTONIC, (long)ts, 0, 0, 0, 0);
	E("getrandom to unmapped", -EFAULT, SYS_getrandom, U, 16, 0, 0, 0, 0);
	E("nanosleep from unmapped", -EFAULT, SYS_nanosleep, U, 0, 0, 0, 0, 0);
	E("rt_sigaction from kernel half", -EFAULT, SYS_rt_sigaction, SIGUSR1, KHALF, 0, 8, 0, 0);
	E("openat path unmapped", -EFAULT, SYS_openat, AT_FDCWD, U, O_RDONLY, 0, 0, 0);
	if (fd >= 0) {
		E("read into read-only page", -EFAULT, SYS_read, fd, RO, 16, 0, 0, 0);
		E("read into kernel half", -EFAULT, SYS_read, fd, KHALF, 16, 0, 0, 0);
		close(fd);
	}
	E("unknown syscall 1000", -ENOSYS, 1000, 0, 0, 0, 0, 0, 0);
	return UT_PASS;
}

/* setup: R (4 RW pages), H (3 pages, middle unmapped), U (4 free pages), RO. */
static int setup(void)
{
	char *r = mmap(NULL, 16 * P, RW, PA, -1, 0);

	if (r == MAP_FAILED)
		return -1;
	R = (long)r;
	H = R + 5 * P;
	U = R + 10 * P;
	RO = R + 15 * P;
	munmap((char *)R + 4 * P, P);		/* R: pages 0..3, free page 4 */
	munmap((char *)H + P, P);		/* H: pages 5, 7 */
	munmap((char *)H + 3 * P, 2 * P);	/* pages 8, 9 free */
	munmap((char *)U, 4 * P);		/* U: pages 10..13 */
	munmap((char *)U + 4 * P, P);		/* page 14 free */
	mprotect((char *)RO, P, PROT_READ);
	mprotect((char *)H + 2 * P, P, PROT_READ);	/* H's last page: another VMA */
	return 0;
}

int main(int argc, char **argv)
{
	static const struct ut_case cases[] = {
		{ "mmap", test_mmap },
		{ "mmap_file", test_mmap_file },
		{ "mmap_min_addr", test_mmap_min_addr },
		{ "munmap", test_munmap },
		{ "mprotect", test_mprotect },
		{ "mremap", test_mremap },
		{ "mremap_dup_shared", test_mremap_dup },
		{ "brk", test_brk },
		{ "madvise", test_madvise },
		{ "msync", test_msync },
		{ "uaccess_efault", test_uaccess },
	};

	ut_init(argc, argv, 20);
	self_path = argv[0];
	if (setup()) {
		ut_printf("mm_errno: setup mmap failed\n");
		return 2;
	}
	return ut_run(cases, UT_NCASES(cases));
}
