/*
 * tests/host/mm_ops.c - named scenario tests of the address-space
 * operations on the simulated machine (one CPU unless stated): Linux
 * semantics and errno, merging, fork/COW, the zero page, RSS, teardown.
 */
#include "mm_harness.h"

#define KB 1024ull
#define MB (1024ull * KB)
#define PG PAGE_SIZE
#define RW (PROT_READ | PROT_WRITE)
#define PA (MAP_PRIVATE | MAP_ANONYMOUS)

static uint64_t frames0, live0;

static struct mm *new_mm(void)
{
	mmh_init(4);
	mmh_quiesce();
	frames0 = host_frames_used();
	live0 = alloc_inject_live();
	struct mm *mm = mm_create();

	if (!mm)
		exit(2);
	return mm;
}

/* end_mm: destroy and check that every frame and allocation came back. */
static void end_mm(struct mm *mm)
{
	KT_CHECK(mmh_rss_ok(mm), "rss");
	mm_destroy(mm);
	mmh_quiesce();
	KT_CHECK(host_frames_used() == frames0, "frames %llu != %llu",
		 (unsigned long long)host_frames_used(), (unsigned long long)frames0);
	KT_CHECK(alloc_inject_live() == live0, "allocations leaked: %llu",
		 (unsigned long long)(alloc_inject_live() - live0));
}

static uint64_t map(struct mm *mm, uint64_t addr, uint64_t len, int prot, int flags)
{
	uint64_t a = 0;
	int err = mm_mmap(mm, addr, len, prot, flags, &a);

	KT_CHECK(err == 0, "mmap %llx+%llx: %d", (unsigned long long)addr,
		 (unsigned long long)len, err);
	return a;
}

KTEST(mmap_rw_munmap)
{
	struct mm *mm = new_mm();
	uint64_t a = map(mm, 0, 3 * PG, RW, PA);

	KT_CHECK(mmh_read(mm, a + 5) == 0, "fresh memory reads 0");
	KT_CHECK(mm_rss(mm, MM_ANON) == 0, "zero page is not RSS");
	KT_CHECK(mmh_write(mm, a + PG + 7, 0x5a) == 0, "write");
	KT_CHECK(mmh_read(mm, a + PG + 7) == 0x5a, "read back");
	KT_CHECK(mm_rss(mm, MM_ANON) == 1, "rss %lld", (long long)mm_rss(mm, MM_ANON));
	KT_CHECK(mmh_write(mm, a + 5, 1) == 0, "write over the zero page");
	KT_CHECK(mmh_read(mm, a + 5) == 1 && mmh_read(mm, a + 6) == 0, "cow from zero page");
	KT_CHECK(mm_munmap(mm, a, 3 * PG) == 0, "munmap");
	KT_CHECK(mmh_read(mm, a + PG + 7) == -EFAULT, "unmapped reads fault");
	KT_CHECK(mm_rss(mm, MM_ANON) == 0, "rss after munmap");
	KT_CHECK(mm_munmap(mm, a + 1, PG) == -EINVAL, "unaligned munmap");
	KT_CHECK(mm_munmap(mm, a, 0) == -EINVAL, "zero-length munmap");
	end_mm(mm);
}

KTEST(mmap_errors_and_placement)
{
	struct mm *mm = new_mm();
	uint64_t a, b, out;

	KT_CHECK(mm_mmap(mm, 0, 0, RW, PA, &out) == -EINVAL, "len 0");
	KT_CHECK(mm_mmap(mm, 0, PG, 8, PA, &out) == -EINVAL, "bad prot");
	KT_CHECK(mm_mmap(mm, 0, PG, RW, MAP_ANONYMOUS, &out) == -EINVAL, "no type");
	KT_CHECK(mm_mmap(mm, 0x10001, PG, RW, PA | MAP_FIXED, &out) == -EINVAL, "unaligned fixed");
	a = map(mm, 0, PG, RW, PA);
	b = map(mm, 0, PG, RW, PA);
	KT_CHECK(a + PG <= MM_MMAP_BASE && b < a, "top-down: %llx then %llx",
		 (unsigned long long)a, (unsigned long long)b);
	KT_CHECK(mm_mmap(mm, a, PG, RW, PA | MAP_FIXED_NOREPLACE, &out) == -EEXIST, "noreplace");
	KT_CHECK(map(mm, 0x40000000, PG, RW, PA) == 0x40000000, "free hint honoured");
	KT_CHECK(map(mm, a, PG, RW, PA) != a, "busy hint moved");
	mmh_write(mm, a, 9);
	KT_CHECK(map(mm, a, PG, PROT_READ, PA | MAP_FIXED) == a, "fixed replaces");
	KT_CHECK(mmh_read(mm, a) == 0, "replaced mapping is fresh");
	KT_CHECK(mmh_write(mm, a, 1) == -EFAULT, "read-only mapping refuses writes");
	KT_CHECK(mm_mmap(mm, USER_VA_END - PG, 2 * PG, RW, PA | MAP_FIXED, &out) == -ENOMEM,
		 "fixed beyond the user range");
	mm->rlimit_as = (mm->total_vm + 4) * PG;
	KT_CHECK(mm_mmap(mm, 0, 5 * PG, RW, PA, &out) == -ENOMEM, "RLIMIT_AS");
	map(mm, 0, 4 * PG, RW, PA);
	end_mm(mm);
}

KTEST(mprotect_split_and_merge)
{
	struct mm *mm = new_mm();
	uint64_t a = map(mm, 0, 8 * PG, RW, PA);

	for (int i = 0; i < 8; i++)
		mmh_write(mm, a + i * PG, (uint8_t)(i + 1));
	KT_CHECK(mm_mprotect(mm, a + 2 * PG, 2 * PG, PROT_READ) == 0, "mprotect middle");
	KT_CHECK(mmh_nr_vmas(mm) == 3, "split in three: %lu", mmh_nr_vmas(mm));
	KT_CHECK(mmh_write(mm, a + 2 * PG, 1) == -EFAULT, "now read-only");
	KT_CHECK(mmh_read(mm, a + 3 * PG) == 4, "contents kept");
	KT_CHECK(mm_mprotect(mm, a + 2 * PG, 2 * PG, RW) == 0, "back");
	KT_CHECK(mmh_nr_vmas(mm) == 1, "merged back: %lu", mmh_nr_vmas(mm));
	KT_CHECK(mmh_write(mm, a + 2 * PG, 7) == 0 && mmh_read(mm, a + 2 * PG) == 7, "writable");
	KT_CHECK(mm_mprotect(mm, a, 9 * PG, PROT_READ) == -ENOMEM, "hole in range");
	KT_CHECK(mm_mprotect(mm, a + 1, PG, PROT_READ) == -EINVAL, "unaligned");
	KT_CHECK(mm_mprotect(mm, a, PG, PROT_NONE) == 0, "PROT_NONE");
	KT_CHECK(mmh_read(mm, a) == -EFAULT, "PROT_NONE faults");
	KT_CHECK(mmh_rss_ok(mm), "PROT_NONE PTE still counted");
	KT_CHECK(mm_mprotect(mm, a, PG, RW) == 0 && mmh_read(mm, a) == 1, "restored");
	KT_CHECK(mmh_nr_vmas(mm) == 1, "merged again");
	end_mm(mm);
}

KTEST(brk_mprotect_back_and_forth)
{
	struct mm *mm = new_mm();
	uint64_t base = mm->brk;

	for (int i = 1; i <= 64; i++) {
		uint64_t top = mm_brk(mm, base + (uint64_t)i * PG);

		KT_REQUIRE(top == base + (uint64_t)i * PG, "brk grow %d", i);
		mmh_write(mm, top - 1, (uint8_t)i);
		KT_CHECK(mm_mprotect(mm, base + (uint64_t)(i / 2) * PG, PG, PROT_READ) == 0, "ro");
		KT_CHECK(mm_mprotect(mm, base + (uint64_t)(i / 2) * PG, PG, RW) == 0, "rw");
		KT_CHECK(mmh_nr_vmas(mm) == 1, "step %d: %lu mappings", i, mmh_nr_vmas(mm));
		if (i % 3 == 0)
			KT_CHECK(mm_brk(mm, base + (uint64_t)(i - 1) * PG) ==
				 base + (uint64_t)(i - 1) * PG, "shrink");
		mm_brk(mm, base + (uint64_t)i * PG);
	}
	KT_CHECK(mmh_read(mm, base + 10 * PG - 1) == 10, "heap contents");
	KT_CHECK(mm_brk(mm, base - PG) == base + 64 * PG, "below start refused");
	KT_CHECK(mm_brk(mm, base) == base && mmh_nr_vmas(mm) == 0, "heap released");
	end_mm(mm);
}

KTEST(mremap_cases)
{
	struct mm *mm = new_mm();
	uint64_t a = map(mm, 0x20000000, 4 * PG, RW, PA), out;
	paddr_t pa;
	struct page *ptp;

	for (int i = 0; i < 4; i++)
		mmh_write(mm, a + i * PG, (uint8_t)(0x10 + i));
	pa = pte_pa(*pt_walk(&mm->pmap, a + PG, &ptp));
	KT_CHECK(mm_mremap(mm, a, 4 * PG, 2 * PG, 0, 0, &out) == 0 && out == a, "shrink");
	KT_CHECK(mmh_read(mm, a + 2 * PG) == -EFAULT, "tail gone");
	KT_CHECK(mm_mremap(mm, a, 2 * PG, 6 * PG, 0, 0, &out) == 0 && out == a, "grow in place");
	KT_CHECK(mmh_read(mm, a + 5 * PG) == 0 && mmh_read(mm, a + PG) == 0x11, "grown");
	map(mm, a + 6 * PG, PG, PROT_READ, PA | MAP_FIXED);
	KT_CHECK(mm_mremap(mm, a, 6 * PG, 8 * PG, 0, 0, &out) == -ENOMEM, "blocked, no MAYMOVE");
	KT_CHECK(mm_mremap(mm, a, 6 * PG, 8 * PG, MREMAP_MAYMOVE, 0, &out) == 0 && out != a,
		 "move");
	KT_CHECK(mmh_read(mm, out + PG) == 0x11 && mmh_read(mm, a) == -EFAULT, "moved contents");
	KT_CHECK(pte_pa(*pt_walk(&mm->pmap, out + PG, &ptp)) == pa, "PTE moved, page not copied");
	uint64_t f = 0x30000000, o2;

	KT_CHECK(mm_mremap(mm, out, 8 * PG, 8 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, f, &o2) == 0 &&
		 o2 == f, "fixed");
	KT_CHECK(mmh_read(mm, f + PG) == 0x11, "fixed contents");
	KT_CHECK(mm_mremap(mm, f, 8 * PG, 8 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0, &o2) == 0,
		 "dontunmap");
	KT_CHECK(mmh_read(mm, o2 + PG) == 0x11 && mmh_read(mm, f + PG) == 0, "old range empty");
	KT_CHECK(mm_mremap(mm, f, PG, 2 * PG, MREMAP_DONTUNMAP | MREMAP_MAYMOVE, 0, &o2) == -EINVAL,
		 "dontunmap needs equal sizes");
	KT_CHECK(mm_mremap(mm, f, PG, PG, MREMAP_FIXED, f + PG, &o2) == -EINVAL, "fixed w/o maymove");
	KT_CHECK(mm_mremap(mm, 0x50000000, PG, PG, 0, 0, &o2) == -EFAULT, "no mapping");
	KT_CHECK(mm_mremap(mm, f, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, f + PG, &o2) ==
		 -EINVAL, "overlap");
	end_mm(mm);
}

KTEST(mremap_merges_next_to_compatible)
{
	struct mm *mm = new_mm();
	uint64_t a = map(mm, 0x20000000, 2 * PG, RW, PA), b = 0x20010000, out;

	map(mm, b, 2 * PG, RW, PA | MAP_FIXED);
	KT_CHECK(mmh_nr_vmas(mm) == 2, "two");
	KT_CHECK(mm_mremap(mm, b, 2 * PG, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, a + 2 * PG,
			   &out) == 0, "move next to a");
	KT_CHECK(mmh_nr_vmas(mm) == 1, "merged after move: %lu", mmh_nr_vmas(mm));
	map(mm, a + 6 * PG, 2 * PG, RW, PA | MAP_FIXED);
	KT_CHECK(mm_mremap(mm, a, 4 * PG, 6 * PG, 0, 0, &out) == 0, "grow up to it");
	KT_CHECK(mmh_nr_vmas(mm) == 1, "merged after grow: %lu", mmh_nr_vmas(mm));
	end_mm(mm);
}

KTEST(madvise_dontneed)
{
	struct mm *mm = new_mm();
	uint64_t a = map(mm, 0, 2 * PG, RW, PA), s = map(mm, 0, 2 * PG, RW, MAP_SHARED | MAP_ANONYMOUS);

	mmh_write(mm, a, 3);
	mmh_write(mm, s, 4);
	KT_CHECK(mm_madvise(mm, a, 2 * PG, MADV_DONTNEED) == 0, "private");
	KT_CHECK(mm_madvise(mm, s, 2 * PG, MADV_DONTNEED) == 0, "shared");
	KT_CHECK(mmh_read(mm, a) == 0, "private reads zero");
	KT_CHECK(mmh_read(mm, s) == 4, "shared keeps its contents");
	KT_CHECK(mm_madvise(mm, a, PG, 99) == -EINVAL, "advice");
	end_mm(mm);
}

KTEST(fork_cow_shared_and_reuse)
{
	struct mm *mm = new_mm(), *child;
	uint64_t a = map(mm, 0, 2 * PG, RW, PA), s = map(mm, 0, PG, RW, MAP_SHARED | MAP_ANONYMOUS);
	struct page *ptp;

	mmh_write(mm, a, 1);
	mmh_write(mm, s, 2);
	KT_REQUIRE(mm_fork(mm, &child) == 0, "fork");
	KT_CHECK(!pte_writable(*pt_walk(&mm->pmap, a, &ptp)), "parent write-protected");
	KT_CHECK(mmh_rss_ok(child) && mm_rss(child, MM_ANON) == 1, "child rss");
	mmh_write(mm, a, 10);
	KT_CHECK(mmh_read(child, a) == 1, "child keeps the old value");
	KT_CHECK(mmh_read(mm, a) == 10, "parent sees its write");
	mmh_write(child, s, 20);
	KT_CHECK(mmh_read(mm, s) == 20, "MAP_SHARED stays shared");
	KT_CHECK(mmh_read(child, a + PG) == 0, "zero page in the child");
	paddr_t before = pte_pa(*pt_walk(&child->pmap, a, &ptp));

	mmh_write(child, a, 11);	/* the parent already copied: sole mapper */
	KT_CHECK(pte_pa(*pt_walk(&child->pmap, a, &ptp)) == before, "COW reuse of a sole mapping");
	KT_CHECK(mmh_rss_ok(child) && mmh_rss_ok(mm), "rss after COW");
	host_cpu_switch(NULL);
	mm_destroy(child);
	end_mm(mm);
}

KTEST(object_seam_file_mapping)
{
	static const struct vm_object_ops file_ops = {
		.name = "testfile", .page_flags = PG_FILE,
		.fill = NULL,
	};
	struct mm *mm = new_mm();
	struct vm_object *obj = vm_object_create(&file_ops, 2, NULL);
	uint64_t a, b;

	KT_REQUIRE(obj, "object");
	KT_CHECK(mm_mmap_object(mm, 0, 2 * PG, RW, MAP_SHARED, obj, 0, &a) == 0, "shared map");
	KT_CHECK(mm_mmap_object(mm, 0, 3 * PG, RW, MAP_PRIVATE, obj, 0, &b) == 0, "private map");
	vm_object_put(obj);
	mmh_write(mm, a + PG, 5);
	KT_CHECK(mmh_read(mm, b + PG) == 5, "private sees the file");
	KT_CHECK(mm_rss(mm, MM_FILE) == 2, "file rss (two PTEs) %lld", (long long)mm_rss(mm, MM_FILE));
	mmh_write(mm, b + PG, 6);
	KT_CHECK(mmh_read(mm, a + PG) == 5 && mmh_read(mm, b + PG) == 6, "private copy");
	KT_CHECK(mmh_read(mm, b + 2 * PG) == -EFAULT, "beyond the object: SIGBUS");
	end_mm(mm);
}

/* map_two_tables: 1,024 touched pages at 1 GiB, so the tables are the
 * root, a PDPT, a PD and 2 PTE tables. */
static uint64_t map_two_tables(struct mm *mm)
{
	uint64_t a = map(mm, 0x40000000, 1024 * PG, RW, PA);

	for (int i = 0; i < 1024; i += 7)
		mmh_write(mm, a + i * PG, 1);
	KT_CHECK(mm->pmap.nr_pt == 5, "root, PDPT, PD, 2 PTE tables: %llu",
		 (unsigned long long)mm->pmap.nr_pt);
	return a;
}

KTEST(munmap_frees_page_tables)
{
	struct mm *mm = new_mm();
	uint64_t a = map_two_tables(mm), b;

	b = map(mm, a + 2048 * PG, PG, RW, PA | MAP_FIXED);	/* shares the PD */
	mmh_write(mm, b, 2);
	KT_CHECK(mm_munmap(mm, a, 1024 * PG) == 0, "munmap");
	KT_CHECK(mm->pmap.nr_pt == 4, "the 2 PTE tables go, the PD stays for b: %llu",
		 (unsigned long long)mm->pmap.nr_pt);
	KT_CHECK(mmh_read(mm, b) == 2 && mmh_read(mm, a) == -EFAULT, "b intact");
	KT_CHECK(mm_munmap(mm, b, PG) == 0 && mm->pmap.nr_pt == 1, "all gone: %llu",
		 (unsigned long long)mm->pmap.nr_pt);
	end_mm(mm);
}

KTEST(mremap_frees_page_tables)
{
	struct mm *mm = new_mm();
	uint64_t a = map_two_tables(mm), out;

	KT_CHECK(mm_mremap(mm, a, 1024 * PG, 512 * PG, 0, 0, &out) == 0, "shrink");
	KT_CHECK(mm->pmap.nr_pt == 4, "the cut-off PTE table goes: %llu",
		 (unsigned long long)mm->pmap.nr_pt);
	KT_CHECK(mm_mremap(mm, a, 512 * PG, 512 * PG, MREMAP_MAYMOVE | MREMAP_FIXED,
			   0x80000000, &out) == 0 && out == 0x80000000, "move");
	KT_CHECK(mmh_read(mm, out + 511 * PG) == 1 && mmh_read(mm, a) == -EFAULT, "moved");
	KT_CHECK(mm->pmap.nr_pt == 4, "source tables go, destination has PD+PT: %llu",
		 (unsigned long long)mm->pmap.nr_pt);
	end_mm(mm);
}

KTEST(mremap_duplicates_shared)
{
	struct mm *mm = new_mm();
	uint64_t s = map(mm, 0, 4 * PG, RW, MAP_SHARED | MAP_ANONYMOUS);
	uint64_t p = map(mm, 0, 4 * PG, RW, PA), d = 0, out;

	mmh_write(mm, s + PG, 7);
	KT_CHECK(mm_mremap(mm, p, 0, PG, MREMAP_MAYMOVE, 0, &out) == -EINVAL, "private");
	KT_CHECK(mm_mremap(mm, s + PG, 0, 2 * PG, 0, 0, &out) == -ENOMEM, "needs MAYMOVE");
	KT_CHECK(mm_mremap(mm, s + PG, 0, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, s, &out) ==
		 -EINVAL, "destination overlaps the source");
	KT_CHECK(mm_mremap(mm, s + PG, 0, 2 * PG, MREMAP_MAYMOVE | MREMAP_FIXED, s + PG, &out) ==
		 -EFAULT, "destination starts at the source");
	KT_CHECK(mm_mremap(mm, s + PG, 0, 4 * PG, MREMAP_MAYMOVE, 0, &d) == 0, "duplicate");
	KT_CHECK(mmh_read(mm, d) == 7 && mmh_read(mm, s + PG) == 7, "same page, source kept");
	mmh_write(mm, d + PG, 8);
	KT_CHECK(mmh_read(mm, s + 2 * PG) == 8, "writes shared both ways");
	KT_CHECK(mmh_read(mm, d + 3 * PG) == -EFAULT, "beyond the object: SIGBUS");
	KT_CHECK(mmh_nr_vmas(mm) == 3, "three mappings: %lu", mmh_nr_vmas(mm));
	end_mm(mm);
}

KTEST(fault_switch_and_counters)
{
	struct mm *mm = new_mm();
	uint64_t a = map(mm, 0, 4 * PG, RW, PA);
	struct fault_stats s0, s1, s2;

	fault_stats_read(&s0);
	mmh_write(mm, a, 1);
	mmh_read(mm, a + PG);
	fault_stats_read(&s1);
	KT_CHECK(s1.fast - s0.fast == 2 && s1.locked == s0.locked, "two lock-free faults");
	fault_set_force_locked(true);
	mmh_write(mm, a + 2 * PG, 1);
	mmh_read(mm, a + 3 * PG);
	fault_set_force_locked(false);
	fault_stats_read(&s2);
	KT_CHECK(s2.locked - s1.locked == 2 && s2.fast == s1.fast, "switch: two locked faults");
	KT_CHECK(mmh_read(mm, a + 2 * PG) == 1, "locked fault installed the page");
	KT_CHECK(mmh_read(mm, 0x1000) == -EFAULT, "no mapping: SIGSEGV from the slow path");
	fault_stats_read(&s1);
	KT_CHECK(s1.fallbacks - s2.fallbacks == 1, "the miss fell back once");
	end_mm(mm);
}

int main(int argc, char **argv)
{
	return ktest_main(argc, argv);
}
