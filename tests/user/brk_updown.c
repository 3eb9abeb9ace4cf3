/*
 * tests/user/brk_updown.c - the program break moved up and down.
 *
 * brk is called raw (musl's brk() always fails and its malloc caches the
 * break, so this program never calls malloc). Linux semantics checked:
 * brk(0) returns the current break, which starts page-aligned after the bss
 * (at most 1 GiB after it: Linux's randomization range); a successful
 * brk returns the requested (possibly unaligned) value; a failed one (below
 * the start, into another mapping, past the user half) returns the current
 * break unchanged; grown pages read zero, even where an earlier, larger break
 * had written; kept pages keep their data; the page after the rounded-up
 * break is unmapped (SIGSEGV, SEGV_MAPERR, exact si_addr).
 *
 * Args: iters=500 secs=20.
 */
#include "uktap.h"
#include "usig.h"

#include <sys/mman.h>
#include <sys/syscall.h>

#define SPAN (4ul << 20)	/* the up/down loop moves within b0 .. b0 + SPAN */
#define PA(x) (((x) + UT_PAGE - 1) & ~(UT_PAGE - 1))

extern char _end[];
static uintptr_t b0;		/* the break at start-up */
static uint64_t expect[SPAN / UT_PAGE];	/* word 0 of each page below the break */

static uintptr_t sys_brk(uintptr_t to)
{
	return (uintptr_t)syscall(SYS_brk, to);
}

static uint64_t pat(long page, long epoch)
{
	return ((uint64_t)epoch << 32) ^ (uint64_t)page ^ 0x3c6ef372fe94f82bull;
}

/* beyond_faults: the page at PA(cur) must be unmapped. */
static int beyond_faults(uintptr_t cur)
{
	uint64_t *p = (uint64_t *)(PA(cur) + 8 * (cur % 61)), v;

	if (!ut_try_load(p, &v)) {
		UT_CHECK(0, "page after the break %#lx is readable", (unsigned long)cur);
		return -1;
	}
	UT_CHECK(ut_last_fault.addr == (void *)p && ut_last_fault.code == SEGV_MAPERR,
		 "si_addr %p (want %p) si_code %d", ut_last_fault.addr, (void *)p, ut_last_fault.code);
	return 0;
}

static int test_initial(void)
{
	UT_CHECK(b0 >= (uintptr_t)_end, "break %#lx below the end of bss %p", (unsigned long)b0, (void *)_end);
	/* x86_64 Linux randomizes the break within 1 GiB after the bss */
	UT_CHECK(b0 - (uintptr_t)_end <= (1ul << 30) + 2 * UT_PAGE, "break %#lx far from bss end %p",
		 (unsigned long)b0, (void *)_end);
	UT_CHECK(b0 % UT_PAGE == 0, "initial break %#lx not page-aligned", (unsigned long)b0);
	UT_CHECK(sys_brk(0) == b0, "brk(0) moved");
	ut_diag("end of bss %p, initial break %#lx", (void *)_end, (unsigned long)b0);
	return UT_PASS;
}

static int test_grow_shrink_regrow(void)
{
	uintptr_t mb = b0 + (1ul << 20), nb = b0 + UT_PAGE + 100;

	UT_REQUIRE(sys_brk(mb) == mb, "grow to %#lx", (unsigned long)mb);
	for (uintptr_t a = PA(b0); a < mb; a += UT_PAGE) {
		UT_CHECK(*(uint64_t *)a == 0, "grown page %#lx not zero", (unsigned long)a);
		*(uint64_t *)a = pat((long)(a >> 12), 1);
	}
	beyond_faults(mb);
	UT_REQUIRE(sys_brk(nb) == nb, "shrink to unaligned %#lx", (unsigned long)nb);
	beyond_faults(nb);
	UT_REQUIRE(sys_brk(mb) == mb, "regrow to %#lx", (unsigned long)mb);
	for (uintptr_t a = PA(b0); a < mb; a += UT_PAGE) {
		uint64_t want = a < PA(nb) ? pat((long)(a >> 12), 1) : 0;
		UT_CHECK(*(uint64_t *)a == want, "page %#lx holds %#lx, want %#lx", (unsigned long)a,
			 (unsigned long)*(uint64_t *)a, (unsigned long)want);
		if (*(uint64_t *)a != want)
			break;
	}
	UT_CHECK(sys_brk(b0) == b0, "back to the start");
	beyond_faults(b0);
	return UT_PASS;
}

static int test_bad_requests(void)
{
	uintptr_t cur = sys_brk(b0 + 3 * UT_PAGE);
	uintptr_t m = PA(cur) + 16 * UT_PAGE;
	void *r;

	UT_REQUIRE(cur == b0 + 3 * UT_PAGE, "grow");
	UT_CHECK(sys_brk(b0 - UT_PAGE) == cur, "brk below its start succeeded");
	UT_CHECK(sys_brk(0xffff800000000000ul) == cur, "brk into the kernel half succeeded");
	UT_CHECK(sys_brk(0x800000000000ul) == cur, "brk past the user half succeeded");
	UT_CHECK(sys_brk((uintptr_t)&cur) == cur, "brk over the stack succeeded");
	r = mmap((void *)m, UT_PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (r == (void *)m) {
		UT_CHECK(sys_brk(m) == cur, "brk up to a mapping succeeded");
		UT_CHECK(sys_brk(m + 2 * UT_PAGE) == cur, "brk over a mapping succeeded");
		UT_CHECK(sys_brk(m - 2 * UT_PAGE) == m - 2 * UT_PAGE, "brk close below a mapping failed");
		munmap(r, UT_PAGE);
	} else {
		ut_diag("could not place a mapping after the break (errno %d): part skipped", errno);
	}
	UT_CHECK(sys_brk(b0) == b0, "back to the start");
	return UT_PASS;
}

/* brk_move: move the break from cur to to, checking and updating pages. */
static int brk_move(uintptr_t cur, uintptr_t to, long epoch)
{
	UT_REQUIRE(sys_brk(to) == to, "brk %#lx -> %#lx", (unsigned long)cur, (unsigned long)to);
	for (uintptr_t a = PA(b0); a < PA(to); a += UT_PAGE) {
		long i = (long)((a - PA(b0)) / UT_PAGE);
		uint64_t *w = (uint64_t *)a;

		if (a >= PA(cur)) {	/* newly grown */
			UT_REQUIRE(*w == 0, "grown page %#lx holds %#lx", (unsigned long)a, (unsigned long)*w);
			expect[i] = *w = pat(i, epoch);
		} else {
			UT_REQUIRE(*w == expect[i], "kept page %#lx holds %#lx, want %#lx",
				   (unsigned long)a, (unsigned long)*w, (unsigned long)expect[i]);
		}
	}
	return beyond_faults(to) ? UT_FAIL : UT_PASS;
}

static int test_up_down_loop(void)
{
	long iters = ut_arg("iters", 500), i;
	uint64_t seed = 0xb4c0ffee;
	uintptr_t cur = b0;

	for (i = 0; i < iters && !ut_time_up(); i++) {
		uintptr_t to = b0 + (ut_rand(&seed) % (SPAN - UT_PAGE));

		if (brk_move(cur, to, i + 2) != UT_PASS)
			break;
		cur = to;
	}
	ut_diag("%ld brk moves within %lu KiB", i, SPAN >> 10);
	UT_CHECK(sys_brk(b0) == b0, "back to the start");
	return UT_PASS;
}

int main(int argc, char **argv)
{
	static const struct ut_case cases[] = {
		{ "initial_break", test_initial },
		{ "grow_shrink_regrow", test_grow_shrink_regrow },
		{ "bad_requests", test_bad_requests },
		{ "up_down_loop", test_up_down_loop },
	};

	b0 = sys_brk(0);
	ut_init(argc, argv, 20);
	ut_fault_install();
	return ut_run(cases, UT_NCASES(cases));
}
