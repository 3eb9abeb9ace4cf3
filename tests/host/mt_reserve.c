/*
 * tests/host/mt_reserve.c - mt_reserve is linear in the number of stores,
 * and still sufficient: after mt_reserve(n), n stores succeed even when
 * every allocation fails; and transactions reuse retired nodes once their
 * grace period is over, so reserve/store/release cycles use bounded memory.
 */
#include "mm/mt.h"
#include "sync/rcu.h"
#include "sync/host/hostcpu.h"
#include "sync/host/alloc_inject.h"
#include "tests/ktest.h"
#include "mm/mt_node.h"
#include <inttypes.h>

static const unsigned sizes[] = { 1, 10, 100, 1000, 4000 };

/* Reserve n on an empty tree: at most a constant number of nodes per store. */
KTEST(mt_reserve_linear)
{
	struct maple_tree mt;

	mt_init(&mt);
	for (unsigned k = 0; k < ARRAY_SIZE(sizes); k++) {
		KT_REQUIRE(mt_reserve(&mt, sizes[k]) == 0, "reserve %u", sizes[k]);
		unsigned long nodes = mt_node_count(&mt);
		printf("# mt_reserve(%u): %lu nodes (%.1f per store)\n", sizes[k], nodes,
		       (double)nodes / sizes[k]);
		KT_CHECK(nodes <= 200ul * sizes[k], "%lu nodes for %u stores", nodes, sizes[k]);
		mt_reserve_release(&mt);
	}
	mt_destroy(&mt);
}

/* After mt_reserve(n), n inserts into a growing tree need no allocation. */
static void reserve_then_store(unsigned n, uint64_t stride)
{
	struct maple_tree mt;
	int err = 0;

	mt_init(&mt);
	KT_REQUIRE(mt_reserve(&mt, n) == 0, "reserve");
	alloc_inject_fail_nth(0);	/* the very next allocation fails */
	for (uint64_t i = 0; i < n && !err; i++)
		err = mt_insert(&mt, i * stride, i * stride + 0xfff, (void *)(uintptr_t)(i * 16 + 16));
	bool fired = alloc_inject_fired();
	alloc_inject_disarm();
	KT_CHECK(err == 0 && !fired, "n %u: err %d, allocated despite reservation: %d",
		 n, err, fired);
	KT_CHECK(mt_validate(&mt) == 0, "valid");
	mt_reserve_release(&mt);
	mt_destroy(&mt);
}

KTEST(mt_reserve_sufficient)
{
	for (unsigned k = 0; k < ARRAY_SIZE(sizes); k++)
		reserve_then_store(sizes[k], 0x2000);
}

/* cycle_extra: cycles [c0, c1) of reserve, insert, erase, release, with a
 * grace period every 64; then *extra = the nodes allocated beyond live0
 * and the tree's own. */
enum { RECYCLE_NR = 100 };	/* ranges in mt_reserve_recycles' tree */

static void cycle_extra(struct maple_tree *mt, uint64_t c0, uint64_t c1, uint64_t live0,
			uint64_t *extra)
{
	for (uint64_t c = c0; c < c1; c++) {
		uint64_t a = (c % RECYCLE_NR) * 0x4000 + 0x2000;

		if (c % 64 == 0)
			rcu_barrier();	/* let the retired batches cool */
		KT_REQUIRE(mt_reserve(mt, 2) == 0, "reserve");
		KT_REQUIRE(mt_insert(mt, a, a + 0xfff, (void *)0x10) == 0, "insert");
		/* Wider than the range (an exact erase would stay in place and
		 * the next insert there too): every cycle retires leaves. */
		KT_REQUIRE(mt_erase(mt, a - 0x800, a + 0xfff) == 0, "erase");
		mt_reserve_release(mt);
	}
	rcu_barrier();
	*extra = alloc_inject_live() - live0 - mt_node_count(mt);
}

/* Each cycle reserves, inserts and erases one range and releases: the nodes
 * the stores retire must come back through the reservation after their
 * grace period (they once piled up behind fresh env_alloc nodes: ~90 MB/s
 * in mm_bench's churner). */
KTEST(mt_reserve_recycles)
{
	enum { CYCLES = 4096 };	/* two halves, each a multiple of 64 */
	struct maple_tree mt;
	uint64_t live0;

	rcu_barrier();	/* the earlier tests' trees are freed */
	live0 = alloc_inject_live();
	mt_init(&mt);
	for (uint64_t i = 0; i < RECYCLE_NR; i++)
		KT_REQUIRE(mt_insert(&mt, i * 0x4000, i * 0x4000 + 0xfff, (void *)(i * 16 + 16)) == 0,
			   "fill");
	uint64_t half = 0, full = 0;

	cycle_extra(&mt, 0, CYCLES / 2, live0, &half);
	cycle_extra(&mt, CYCLES / 2, CYCLES, live0, &full);
	printf("# nodes outside the tree: %" PRIu64 " after %u cycles, %" PRIu64 " after %u\n",
	       half, CYCLES / 2, full, (unsigned)CYCLES);
	KT_CHECK(full <= half + MT_RETIRE_BATCH, "retired nodes pile up: %" PRIu64
		 " outside the tree after %u cycles, %" PRIu64 " after %u",
		 half, CYCLES / 2, full, (unsigned)CYCLES);
	KT_CHECK(mt_validate(&mt) == 0, "valid");
	mt_destroy(&mt);
}

/* A reservation that took recycled nodes and is released unused gives
 * them back to the tree's cache, not to env_free: a failed transaction
 * leaves the live allocations as it found them, and the next store still
 * finds its nodes recycled. */
KTEST(mt_reserve_release_keeps_cache)
{
	struct maple_tree mt;
	uint64_t live, st;

	mt_init(&mt);
	for (uint64_t i = 0; i < 200; i++)
		KT_REQUIRE(mt_insert(&mt, i * 0x4000, i * 0x4000 + 0xfff, (void *)(i * 16 + 16)) == 0,
			   "fill");
	/* Rounds of stores outside any transaction, each retiring a leaf and
	 * taking recycled nodes as the earlier rounds' batches cool: the
	 * reservation below then finds a count of recycled nodes built up by
	 * stores that used them (it once returned fresh nodes for those). */
	for (uint64_t round = 0; round < 4; round++) {
		for (uint64_t i = 0; i < 200; i++) {	/* not exact: a leaf each */
			uint64_t a = i * 0x4000 + 0x2000 + round * 0x100;

			KT_REQUIRE(mt_insert(&mt, a, a + 0xff, (void *)0x20) == 0 &&
				   mt_erase(&mt, a - 0x10, a + 0xff) == 0, "churn");
		}
		rcu_barrier();	/* the retired batches cool */
	}
	live = alloc_inject_live();
	KT_REQUIRE(mt_reserve(&mt, 50) == 0, "reserve");
	KT_CHECK(mt.nr_recycled > 0, "the reservation took no recycled node");
	mt_reserve_release(&mt);
	KT_CHECK(alloc_inject_live() == live, "release changed live allocations by %" PRId64,
		 (int64_t)(alloc_inject_live() - live));
	st = mt.st_value;
	alloc_inject_fail_nth(0);
	KT_CHECK(mt_insert(&mt, 0x2000, 0x2fff, (void *)0x10) == 0 && mt.st_value == st,
		 "a store that needs a node, after the release");
	KT_CHECK(!alloc_inject_fired(), "the store did not find the recycled nodes");
	KT_CHECK(mt.nr_reserve < MT_RETIRE_BATCH, "the store pulled %u nodes back into the "
		 "reservation", mt.nr_reserve);
	alloc_inject_disarm();
	mt_shrink(&mt);
	KT_CHECK(alloc_inject_live() < live, "mt_shrink freed nothing");
	KT_CHECK(mt_validate(&mt) == 0, "valid");
	mt_destroy(&mt);
}

int main(int argc, char **argv)
{
	int r;

	hostcpu_set_count(4);
	hostcpu_register();
	r = ktest_main(argc, argv);
	rcu_barrier();
	return r;
}
