/*
 * tests/host/mm_inject.c - exhaustive allocation-failure injection.
 *
 * A scripted scenario runs every operation (mmap private/shared/fixed,
 * faults, COW, mprotect split/merge, mremap grow/move/fixed/dontunmap,
 * munmap, brk, madvise, fork). For each step and each k = 0, 1, ... the
 * k-th allocation (env_alloc, frames, page-table pages) fails: the step must
 * return -ENOMEM and the dump of mappings, PTEs and RSS must equal the
 * snapshot, with no leaked allocation and no leaked data frame (only empty
 * page-table pages may stay; they are freed at exit). The first k that does
 * not fire completes the step. At the end every frame comes back.
 */
#include "mm_harness.h"

#define PG PAGE_SIZE
#define RW (PROT_READ | PROT_WRITE)
#define PA (MAP_PRIVATE | MAP_ANONYMOUS)
#define A0 0x20000000ull

static struct mm *mm;
static uint64_t shared_at;

static int s_mmap(void) { uint64_t o; return mm_mmap(mm, A0, 16 * PG, RW, PA, &o); }
static int s_write0(void) { return mmh_write(mm, A0, 1); }
static int s_write1(void) { return mmh_write(mm, A0 + PG, 2); }
static int s_read_zero(void) { int r = mmh_read(mm, A0 + 5 * PG); return r < 0 ? r : 0; }
static int s_write_far(void) { return mmh_write(mm, A0 + 9 * PG, 3); }
static int s_shared(void) { return mm_mmap(mm, 0, 4 * PG, RW, MAP_SHARED | MAP_ANONYMOUS, &shared_at); }
static int s_shared_write(void) { return mmh_write(mm, shared_at + PG, 4); }
static int s_shared_dup(void)
{
	uint64_t o;

	return mm_mremap(mm, shared_at + PG, 0, 2 * PG, MREMAP_MAYMOVE, 0, &o);
}
static int s_prot_split(void) { return mm_mprotect(mm, A0 + 2 * PG, 4 * PG, PROT_READ); }
static int s_prot_merge(void) { return mm_mprotect(mm, A0 + 2 * PG, 4 * PG, RW); }
static int s_grow(void) { uint64_t o; return mm_mremap(mm, A0, 16 * PG, 20 * PG, 0, 0, &o); }
static int s_move(void)
{
	uint64_t o;

	return mm_mremap(mm, A0, 20 * PG, 24 * PG, MREMAP_MAYMOVE | MREMAP_FIXED,
			 A0 + 0x10000000, &o);
}
static int s_fixed_over(void) { uint64_t o; return mm_mmap(mm, A0 + 0x10000000 + 4 * PG, 2 * PG, RW, PA | MAP_FIXED, &o); }
static int s_back(void)
{
	uint64_t o;

	return mm_mremap(mm, A0 + 0x10000000, 8 * PG, 8 * PG, MREMAP_MAYMOVE | MREMAP_FIXED,
			 A0, &o);
}
static int s_dontunmap(void)
{
	uint64_t o;

	return mm_mremap(mm, A0, 4 * PG, 4 * PG, MREMAP_MAYMOVE | MREMAP_DONTUNMAP, 0, &o);
}
static int s_munmap_mid(void) { return mm_munmap(mm, A0 + 0x10000000 + 9 * PG, 2 * PG); }
static int s_brk_grow(void)
{
	uint64_t want = mm->brk + 3 * PG;

	return mm_brk(mm, want) == want ? 0 : -ENOMEM;
}
static int s_brk_shrink(void)
{
	uint64_t want = mm->brk_start + PG;

	return mm_brk(mm, want) == want ? 0 : -ENOMEM;
}
static int s_madvise(void) { return mm_madvise(mm, A0 + 0x10000000, 4 * PG, MADV_DONTNEED); }
static int s_fork_write(void)
{
	struct mm *child;
	int err = mm_fork(mm, &child);

	if (err)
		return err;
	mm_destroy(child);
	return 0;
}
static struct mm *child;

static int s_fork_keep(void)
{
	return mm_fork(mm, &child);
}

/* s_cow: the child maps the page, so the parent's write must copy. */
static int s_cow(void)
{
	return mmh_write(mm, A0 + 0x10000000 + 12 * PG, 7);
}

static int s_child_exit(void)
{
	mm_destroy(child);
	return 0;
}

static const struct step {
	const char *name;
	int (*fn)(void);
} steps[] = {
	{ "mmap", s_mmap }, { "write0", s_write0 }, { "write1", s_write1 },
	{ "read_zero", s_read_zero }, { "write_far", s_write_far },
	{ "shared", s_shared }, { "shared_write", s_shared_write },
	{ "shared_dup", s_shared_dup },
	{ "prot_split", s_prot_split }, { "prot_merge", s_prot_merge },
	{ "grow", s_grow }, { "move", s_move }, { "fixed_over", s_fixed_over },
	{ "munmap_mid", s_munmap_mid }, { "madvise", s_madvise },
	{ "brk_grow", s_brk_grow }, { "brk_shrink", s_brk_shrink },
	{ "fork", s_fork_write }, { "fork_keep", s_fork_keep }, { "cow", s_cow },
	{ "child_exit", s_child_exit },
	{ "back", s_back }, { "dontunmap", s_dontunmap },
};

/* data_frames: frames in use that are not page-table pages of mm. */
static uint64_t data_frames(void)
{
	return host_frames_used() - ck_pr_load_64(&mm->pmap.nr_pt);
}

KTEST(inject_every_allocation)
{
	mmh_init(2);
	mmh_quiesce();
	struct mmh_mark mark = mmh_mark_now();
	unsigned fired_total = 0;

	mm = mm_create();
	KT_REQUIRE(mm, "mm_create");
	for (size_t i = 0; i < ARRAY_SIZE(steps); i++) {
		/* Failed steps defer no frees, so one barrier per step makes the
		 * counters stable for all of its k. */
		mmh_quiesce();
		for (int64_t k = 0;; k++) {
			char *before = mmh_dump(mm);
			uint64_t live = alloc_inject_live(), frames = data_frames();
			int r;

			alloc_inject_fail_nth(k);
			r = steps[i].fn();
			alloc_inject_disarm();
			if (!alloc_inject_fired()) {
				KT_CHECK(r == 0, "%s: %d without injection", steps[i].name, r);
				free(before);
				break;
			}
			fired_total++;
			char *after = mmh_dump(mm);

			KT_CHECK(r == -ENOMEM, "%s k=%lld: returned %d", steps[i].name, (long long)k, r);
			KT_CHECK(!strcmp(before, after), "%s k=%lld: state changed\n--- before\n%s--- after\n%s",
				 steps[i].name, (long long)k, before, after);
			if (alloc_inject_live() != live || data_frames() != frames)
				mmh_quiesce();	/* a failed fork frees its child's tables late */
			KT_CHECK(alloc_inject_live() == live, "%s k=%lld: %lld allocations leaked",
				 steps[i].name, (long long)k, (long long)(alloc_inject_live() - live));
			KT_CHECK(data_frames() == frames, "%s k=%lld: frames leaked", steps[i].name,
				 (long long)k);
			free(before);
			free(after);
			KT_REQUIRE(k < 10000, "%s: never completes", steps[i].name);
		}
		KT_CHECK(mmh_rss_ok(mm), "%s: rss", steps[i].name);
	}
	printf("# %u injected failures, all clean\n", fired_total);
	KT_CHECK(fired_total > ARRAY_SIZE(steps), "injection reached the operations");
	mm_destroy(mm);
	mmh_check_leaks(mark);
}

int main(int argc, char **argv)
{
	return ktest_main(argc, argv);
}
