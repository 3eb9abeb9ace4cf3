/*
 * tests/host/mt_inplace.c - the in-place store paths of the range tree.
 *
 * Each test builds a tree of height >= 3 and drives one publication path:
 *   value  one slot's value changes, no pivot: stored in place, no allocation
 *   leaf   one leaf rebuilt with the same bounds: published into its parent
 *   inner  a leaf splits/merges under a non-root parent: the parent's new
 *          copy is published into the grandparent, the root stays
 * and checks, besides the answers and mt_validate (exact gap metadata), that
 * the root pointer did not move, which statistics counter moved, how many
 * nodes the store allocated, and that a failed allocation changes nothing
 * (the in-place write comes after the point of no return).
 */
#include "tests/ktest.h"
#include "mm/mt.h"
#include "sync/rcu.h"
#include "sync/host/hostcpu.h"
#include "sync/host/alloc_inject.h"
#include <inttypes.h>
#include <string.h>

#define NR	3000
#define STRIDE	0x3000ull

static void *val(uint64_t i) { return (void *)(uintptr_t)(0x1000 + i * 8); }
static uint64_t first_of(uint64_t i) { return 0x100000 + i * STRIDE; }
static uint64_t last_of(uint64_t i) { return first_of(i) + 0xfff; }

/* build: NR ranges of one page, two-page gaps between them; then make every
 * node of the next store come from env_alloc (no recycled, reserved ones). */
static int build(struct maple_tree *mt)
{
	mt_init(mt);
	for (uint64_t i = 0; i < NR; i++)
		if (mt_insert(mt, first_of(i), last_of(i), val(i)))
			return -1;
	return mt_validate(mt) ? -1 : 0;
}

static void drain(struct maple_tree *mt)
{
	rcu_barrier();
	mt_shrink(mt);
	mt_reserve_release(mt);
}

static void teardown(struct maple_tree *mt, uint64_t live0)
{
	mt_destroy(mt);
	rcu_barrier();
	KT_CHECK(alloc_inject_live() == live0, "leak: %" PRIu64 " live, was %" PRIu64,
		 alloc_inject_live(), live0);
}

KTEST(mt_inplace_value)
{
	uint64_t live0 = alloc_inject_live(), i = NR / 2, a, b;
	struct maple_tree mt;
	struct mt_node *root;
	struct mt_range r;
	unsigned long nodes, st;

	KT_REQUIRE(build(&mt) == 0 && mt.height >= 3, "build (height %u)", mt.height);
	drain(&mt);
	root = mt.root;
	nodes = mt_node_count(&mt);
	st = mt.st_value;
	/* Same range, other entry: no allocation may even be tried. */
	alloc_inject_fail_nth(0);
	KT_CHECK(mt_store(&mt, first_of(i), last_of(i), val(i + NR)) == 0, "overwrite");
	KT_CHECK(!alloc_inject_fired(), "overwrite allocated");
	alloc_inject_disarm();
	KT_CHECK(mt_find(&mt, first_of(i) + 5, &r) == val(i + NR) && r.first == first_of(i) &&
		 r.last == last_of(i), "overwritten entry");
	/* Fill one gap exactly (NULL -> entry), then erase it again (entry ->
	 * NULL between two entries): both in place, gap metadata updated. */
	a = last_of(i) + 1;
	b = first_of(i + 1) - 1;
	alloc_inject_fail_nth(0);
	KT_CHECK(mt_store(&mt, a, b, val(7)) == 0 && mt_validate(&mt) == 0, "fill gap");
	KT_CHECK(mt_store(&mt, first_of(i + 1), last_of(i + 1), val(8)) == 0, "overwrite next");
	KT_CHECK(mt_erase(&mt, a, b) == 0 && mt_validate(&mt) == 0, "erase between entries");
	KT_CHECK(!alloc_inject_fired(), "value stores allocated");
	alloc_inject_disarm();
	KT_CHECK(mt_find(&mt, a, NULL) == NULL && mt_find(&mt, b, NULL) == NULL &&
		 mt_seek(&mt, a, &r) == val(8) && r.first == b + 1, "gap back");
	KT_CHECK(mt.root == root && mt_node_count(&mt) == nodes, "root or node count moved");
	KT_CHECK(mt.st_value == st + 4, "st_value %lu, expected %lu", mt.st_value, st + 4);
	KT_CHECK(mt_validate(&mt) == 0, "valid");
	teardown(&mt, live0);
}

/* One page inserted into the middle of a gap: the leaf gains two slots. Its
 * leaf may be full (the sequential build fills leaves completely; then it
 * splits: another path), so try gaps until one store takes the one-leaf
 * path; every try first fails its first allocation, which must change
 * nothing. */
KTEST(mt_inplace_leaf)
{
	uint64_t live0 = alloc_inject_live();
	struct maple_tree mt;
	struct mt_range r;
	bool seen = false;

	KT_REQUIRE(build(&mt) == 0, "build");
	for (uint64_t i = NR / 3; i < NR / 3 + 64 && !seen && !ktest_cur_failed; i++) {
		uint64_t x = last_of(i) + 0x1000;
		struct mt_node *root;
		unsigned long nodes, st, sv;
		bool fired;
		int ret;

		drain(&mt);
		root = mt.root;
		nodes = mt_node_count(&mt);
		st = mt.st_leaf;
		alloc_inject_fail_nth(0);
		ret = mt_insert(&mt, x, x + 0xff, val(9));
		alloc_inject_disarm();
		KT_CHECK(ret == -ENOMEM && alloc_inject_fired(), "failed insert: %d", ret);
		KT_CHECK(!mt_find(&mt, x, NULL) && mt.root == root && mt.st_leaf == st &&
			 mt_node_count(&mt) == nodes && mt_validate(&mt) == 0,
			 "failure changed the tree");
		alloc_inject_fail_nth(1);	/* one-leaf: never asks for a second */
		ret = mt_insert(&mt, x, x + 0xff, val(9));
		fired = alloc_inject_fired();
		alloc_inject_disarm();
		if (mt.st_leaf == st) {	/* the leaf was full: split it, go on */
			KT_CHECK(ret == 0 || mt_insert(&mt, x, x + 0xff, val(9)) == 0, "split");
			continue;
		}
		seen = true;
		KT_CHECK(ret == 0 && !fired, "one-leaf insert: %d, allocated twice: %d", ret, fired);
		KT_CHECK(mt_find(&mt, x + 3, &r) == val(9) && r.first == x, "inserted");
		KT_CHECK(mt.root == root && mt.st_leaf == st + 1 && mt_node_count(&mt) == nodes,
			 "root moved, or st_leaf %lu / nodes %lu", mt.st_leaf, mt_node_count(&mt));
		/* Erasing it again is exact and leaves its neighbouring gaps
		 * unmerged inside the leaf: in place, no new leaf. */
		sv = mt.st_value;
		KT_CHECK(mt_erase(&mt, x, x + 0xff) == 0 && mt.st_leaf == st + 1 &&
			 mt.st_value == sv + 1 && mt_node_count(&mt) == nodes, "erase back");
		KT_CHECK(mt.root == root && mt_validate(&mt) == 0, "valid");
	}
	KT_CHECK(seen, "no insert took the one-leaf path");
	teardown(&mt, live0);
}

/* Many small ranges into one gap: the leaf overflows and splits, its parent
 * gets a child more; the parent is not the root (height >= 3), so the new
 * parent is published into the grandparent and the root stays. Erasing them
 * merges the leaves back, the same way. */
KTEST(mt_inplace_inner)
{
	uint64_t live0 = alloc_inject_live(), i = NR / 4, x = last_of(i) + 1;
	unsigned long st_inner, st_root;
	struct maple_tree mt;
	struct mt_node *root;
	int err = 0;

	KT_REQUIRE(build(&mt) == 0 && mt.height >= 3, "build (height %u)", mt.height);
	root = mt.root;
	st_inner = mt.st_inner;
	st_root = mt.st_root;
	for (uint64_t k = 0; k < 32 && !err; k++)
		err = mt_insert(&mt, x + k * 0x40, x + k * 0x40 + 0x1f, val(100 + k));
	KT_CHECK(!err && mt_validate(&mt) == 0, "inserts: %d", err);
	KT_CHECK(mt.st_inner > st_inner, "no split was published in place");
	err = mt_erase(&mt, x, x + 32 * 0x40);
	KT_CHECK(!err && mt_validate(&mt) == 0, "erase: %d", err);
	KT_CHECK(mt.root == root && mt.st_root == st_root,
		 "the root was replaced %lu times", mt.st_root - st_root);
	for (uint64_t k = 0; k < NR; k += 97)
		KT_CHECK(mt_find(&mt, first_of(k), NULL) == val(k), "range %" PRIu64, k);
	teardown(&mt, live0);
}

/* inject_insert: insert [f, l] with the k-th allocation failing for k = 0,
 * 1, ... until it succeeds; every failure must leave the tree as it was.
 * Returns the allocations the insert needed, or -1. */
static int inject_insert(struct maple_tree *mt, uint64_t f, uint64_t l, void *e)
{
	struct mt_node *root = mt->root;

	for (int k = 0; k < 64; k++) {
		unsigned long nodes;
		int ret;

		drain(mt);
		nodes = mt_node_count(mt);
		alloc_inject_fail_nth(k);
		ret = mt_insert(mt, f, l, e);
		alloc_inject_disarm();
		if (!alloc_inject_fired())
			return ret ? -1 : k;
		KT_CHECK(ret == -ENOMEM && !mt_find(mt, f, NULL) && mt->root == root &&
			 mt_node_count(mt) == nodes && mt_validate(mt) == 0,
			 "k=%d: failure changed the tree (%d)", k, ret);
		if (ktest_cur_failed)
			return -1;
	}
	return -1;
}

/* The general path under failure injection: small ranges go into one gap
 * until its leaf splits in place (st_inner moves); every allocation of every
 * insert fails once, cleanly. */
KTEST(mt_inplace_inner_inject)
{
	uint64_t live0 = alloc_inject_live(), x = last_of(NR / 5) + 1;
	struct maple_tree mt;
	unsigned long st;
	int split = 0, ret = 0;

	KT_REQUIRE(build(&mt) == 0 && mt.height >= 3, "build");
	for (uint64_t j = 0; j < 32 && ret >= 0 && !split; j++) {
		st = mt.st_inner;
		ret = inject_insert(&mt, x + j * 0x40, x + j * 0x40 + 0x1f, val(200 + j));
		if (mt.st_inner > st)
			split = ret;
	}
	KT_CHECK(ret >= 0, "an insert failed");
	KT_CHECK(split >= 2, "no in-place split seen (or it took %d nodes)", split);
	KT_CHECK(mt_validate(&mt) == 0, "valid");
	teardown(&mt, live0);
}

/* Adjacent ranges (no gaps, as contiguous mappings are): erasing every
 * third one leaves gaps between entries, also at leaf edges, whose
 * neighbour across the edge is an entry: each erase, and putting each back,
 * is one slot written in place, with every allocation failing. */
KTEST(mt_inplace_erase_adjacent)
{
	uint64_t live0 = alloc_inject_live(), sv, n = 0;
	struct maple_tree mt;
	int err = 0;

	mt_init(&mt);
	for (uint64_t i = 0; i < NR && !err; i++)
		err = mt_insert(&mt, first_of(0) + i * 0x1000, first_of(0) + i * 0x1000 + 0xfff,
				val(i));
	KT_REQUIRE(!err && mt.height >= 2, "build: %d, height %u", err, mt.height);
	drain(&mt);
	sv = mt.st_value;
	alloc_inject_fail_nth(0);
	for (uint64_t i = 1; i < NR && !err; i += 3, n++)
		err = mt_erase(&mt, first_of(0) + i * 0x1000, first_of(0) + i * 0x1000 + 0xfff);
	KT_CHECK(!err && !alloc_inject_fired() && mt.st_value == sv + n,
		 "erase: %d, allocated %d, %" PRIu64 " of %" PRIu64 " in place", err,
		 alloc_inject_fired(), (uint64_t)(mt.st_value - sv), n);
	KT_CHECK(mt_validate(&mt) == 0, "valid after the erases");
	for (uint64_t i = 1; i < NR && !err; i += 3)
		err = mt_insert(&mt, first_of(0) + i * 0x1000, first_of(0) + i * 0x1000 + 0xfff,
				val(i));
	KT_CHECK(!err && !alloc_inject_fired() && mt.st_value == sv + 2 * n,
		 "put back: %d, allocated %d", err, alloc_inject_fired());
	alloc_inject_disarm();
	KT_CHECK(mt_validate(&mt) == 0, "valid after putting back");
	for (uint64_t i = 0; i < NR; i += 7)
		KT_CHECK(mt_find(&mt, first_of(0) + i * 0x1000 + 5, NULL) == val(i), "range %" PRIu64, i);
	teardown(&mt, live0);
}

/* A gap may be shared by two leaves (mt_node.h): erasing any one range of
 * the build layout, and putting it back, is one slot written in place with
 * every allocation failing, also at a leaf edge beside a gap in the next
 * leaf. The gap it leaves (two pages, the range, two pages) is found whole
 * by the gap search in both directions, though at a leaf edge neither leaf
 * holds all of it, and a range filling all of it can be inserted. */
KTEST(mt_inplace_shared_gap)
{
	uint64_t live0 = alloc_inject_live(), sv, addr[2] = { 0, 0 };
	struct maple_tree mt;
	int err = 0, gerr[2] = { 0, 0 }, bad = 0;
	uint64_t filled = 0, nfilled = 0;

	KT_REQUIRE(build(&mt) == 0 && mt.height >= 3, "build, height %u", mt.height);
	drain(&mt);
	sv = mt.st_value;
	for (uint64_t i = 1; i + 1 < NR && !err && !bad; i++) {
		uint64_t a = last_of(i - 1) + 1, b = first_of(i + 1) - 1;

		alloc_inject_fail_nth(0);
		err = mt_erase(&mt, first_of(i), last_of(i));
		alloc_inject_disarm();
		for (int td = 0; td < 2; td++)
			gerr[td] = mt_gap_find(&mt, first_of(i - 1), last_of(i + 1), b - a + 1, 0x1000,
					       td, &addr[td]);
		bad = gerr[0] || gerr[1] || addr[0] != a || addr[1] != a;
		filled = !err && !bad && i % 5 == 0;
		if (filled) {	/* fill the whole gap, then undo (allocates) */
			err = mt_insert(&mt, a, b, val(i));
			err = err ? err : mt_erase(&mt, a, b);
			bad = mt_validate(&mt) != 0;
		} else {
			alloc_inject_fail_nth(0);
		}
		err = err ? err : mt_insert(&mt, first_of(i), last_of(i), val(i));
		alloc_inject_disarm();
		nfilled += filled;
		KT_CHECK(!err && !bad, "range %" PRIu64 ": %d, gap found %d/%d at %#" PRIx64
			 "/%#" PRIx64 ", expected %#" PRIx64, i, err, gerr[0], gerr[1], addr[0],
			 addr[1], a);
	}
	KT_CHECK(mt.st_value - sv >= 2 * (NR - 2) - nfilled,
		 "%" PRIu64 " stores in place, expected %" PRIu64, (uint64_t)(mt.st_value - sv),
		 2 * (NR - 2) - nfilled);
	KT_CHECK(mt_validate(&mt) == 0, "valid at the end");
	teardown(&mt, live0);
}

/* Runs shared across leaf edges, then stores whose span must take in two
 * leaves on a side to merge them (helper-22's case, 2026-12-03): one-address
 * ranges two apart fill leaves [0x1e, 0x2d], [0x2e, 0x3d], ...; erasing a
 * leaf's first range leaves a run shared with the previous leaf, and an
 * erase at the next leaf's edge then joins a gap that leads to it; an
 * entry stored over a shared edge must rebuild the other leaf's gap too.
 * After each store the tree is valid and answers every address as a model
 * does. */
#define CH_NR	200
static void *ch_model[0x10 + 2 * CH_NR];

static int ch_store(struct maple_tree *mt, uint64_t a, uint64_t b, void *e)
{
	int err = mt_store(mt, a, b, e);

	for (uint64_t x = a; !err && x <= b; x++)
		ch_model[x] = e;
	if (err || mt_validate(mt))
		return err ? err : -EINVAL;
	for (uint64_t x = 0; x < ARRAY_SIZE(ch_model); x++)
		if (mt_find(mt, x, NULL) != ch_model[x])
			return -EIO;
	return 0;
}

KTEST(mt_shared_chain)
{
	static const uint64_t ops[][3] = {	/* first, last, entry? */
		{ 0x2e, 0x2e, 0 }, { 0x3e, 0x3e, 0 }, { 0x3e, 0x3e, 1 },
		{ 0x5d, 0x5d, 1 }, { 0x5e, 0x5e, 0 }, { 0x6e, 0x6e, 0 }, { 0x3e, 0x5d, 0 },
		{ 0x20, 0x7f, 1 }, { 0x4e, 0x4e, 0 }, { 0x30, 0x6f, 0 },
		{ 0x9e, 0x9e, 0 }, { 0x9e, 0xa0, 1 },	/* overwrite a shared edge */
	};
	uint64_t live0 = alloc_inject_live();
	struct maple_tree mt;
	int err = 0;

	mt_init(&mt);
	memset(ch_model, 0, sizeof(ch_model));
	for (uint64_t i = 0; i < CH_NR && !err; i++)
		err = ch_store(&mt, 0x10 + 2 * i, 0x10 + 2 * i, val(i));
	KT_REQUIRE(!err && mt.height >= 2, "build: %d, height %u", err, mt.height);
	for (unsigned k = 0; k < ARRAY_SIZE(ops); k++) {
		err = ch_store(&mt, ops[k][0], ops[k][1], ops[k][2] ? val(1000 + k) : NULL);
		KT_CHECK(!err, "op %u [%#" PRIx64 ", %#" PRIx64 "]: %d", k, ops[k][0], ops[k][1],
			 err);
	}
	teardown(&mt, live0);
}

int main(int argc, char **argv)
{
	hostcpu_register();
	return ktest_main(argc, argv);
}
