/*
 * mm/mt_gap.c - free-gap search over the per-subtree largest-gap metadata.
 *
 * A gap is a run of NULL slots inside one leaf (mt_node.h: never across two
 * leaves; more than one slot where an erase was written in place), and every
 * internal node records, per child, the largest gap below it. The search
 * visits children in address order (descending when topdown), skips any whose
 * largest gap is smaller than the request or which lies outside [lo, hi], and
 * places the request exactly (clipped to [lo, hi], aligned) in the first gap
 * that fits. A subtree is entered only if it holds a gap of the size asked
 * for, so the walk is O(log n) except where clipping or alignment make such a
 * gap unusable, which can only happen at the two edges of [lo, hi] or when
 * alignment is coarse; then it backtracks to the next candidate.
 *
 * Under the writer lock (how mmap uses it) the metadata is exact and so is
 * the answer. An RCU reader may run while the writer updates nodes in place
 * (mt_node.h): a leaf slot, a child pointer, then the gap words of the
 * ancestors, bottom-up and one word at a time. What it may observe:
 *   - a gap word is the old or the new value of that word (one aligned
 *     word), but words of different nodes may be from before and after the
 *     same store: an ancestor's word may still be the old one while the leaf
 *     below is already new, or the reverse;
 *   - every leaf it places the request in is a version of that leaf that was
 *     reachable at some moment of the search (old copy before it died, or the
 *     current one), and the dead check rejects a leaf overlaid after death;
 *     but the slots of one run are loaded one by one, and a slot written in
 *     place meanwhile (filled, or erased) may be seen old while its
 *     neighbour is seen new.
 * Hence each slot of the answer was free at some moment during the search
 * (the answer never covers space a stable mapping occupies), but with a store running
 * concurrently it may be stale, and a gap created or enlarged by that store
 * may be missed (a stale ancestor word skips the subtree). A gap that exists
 * before and after the store is below words whose old and new values both
 * cover it, so it is not skipped for stale metadata. Placement decisions made
 * on such an answer need the writer lock anyway, which makes them exact.
 */
#include "mm/mt_node.h"

struct mt_gapq {
	uint64_t lo, hi, size, mask;
	bool topdown;
	uint64_t addr;		/* result */
};

/* mt_gap_fit: place the request in the gap [a, b]; true and q->addr set if
 * it fits inside [lo, hi] at the requested alignment. */
static bool mt_gap_fit(struct mt_gapq *q, uint64_t a, uint64_t b)
{
	uint64_t x;

	if (a < q->lo)
		a = q->lo;
	if (b > q->hi)
		b = q->hi;
	if (a > b || b - a < q->size - 1)
		return false;
	if (q->topdown) {
		x = (b - (q->size - 1)) & ~q->mask;
		if (x < a)
			return false;
	} else {
		x = (a + q->mask) & ~q->mask;
		if (x < a || x > b || b - x < q->size - 1)
			return false;
	}
	q->addr = x;
	return true;
}

/* mt_gap_leaf: place the request in the first gap of leaf n ([min, max])
 * that fits, in search order. A gap is a run of NULL slots (mt_node.h). 1,
 * 0, or -EAGAIN as mt_gap_node. */
static int mt_gap_leaf(struct mt_gapq *q, struct mt_node *n, uint64_t min, uint64_t max)
{
	unsigned nr = n->nr;
	uint64_t a, b;

	for (unsigned j = 0; j < nr; j++) {
		unsigned i = q->topdown ? nr - 1 - j : j, end;

		if (rcu_dereference(n->leaf.slot[i]))
			continue;
		end = mt_leaf_run(n, i, q->topdown, min, max, &a, &b);
		j += q->topdown ? i - end : end - i;
		if (b < q->lo || a > q->hi)
			continue;
		if (mt_gap_len(a, b) >= q->size && mt_gap_fit(q, a, b))
			return mt_node_dead(n) ? -EAGAIN : 1;
	}
	return mt_node_dead(n) ? -EAGAIN : 0;
}

/* mt_gap_node: search the subtree n covering [min, max]. 1 found, 0 not
 * found, -EAGAIN if n died under an RCU reader (restart). What was read from
 * n is trusted only after a dead check: before entering a child, before
 * returning a placement, and before reporting "nothing here". */
static int mt_gap_node(struct mt_gapq *q, struct mt_node *n, uint64_t min, uint64_t max)
{
	unsigned nr = n->nr;
	uint64_t lo, hi;
	int ret;

	if (n->type == MT_LEAF)
		return mt_gap_leaf(q, n, min, max);
	for (unsigned j = 0; j < nr; j++) {
		unsigned i = q->topdown ? nr - 1 - j : j;
		struct mt_node *child;

		mt_slot_range(n, i, min, max, &lo, &hi);
		if (hi < q->lo || lo > q->hi)
			continue;
		if (mt_gap_get(n, i) < q->size)
			continue;
		child = rcu_dereference(n->in.child[i]);
		if (unlikely(mt_node_dead(n)))
			return -EAGAIN;
		ret = mt_gap_node(q, child, lo, hi);
		if (ret)
			return ret;
	}
	return mt_node_dead(n) ? -EAGAIN : 0;
}

int mt_gap_find(struct maple_tree *mt, uint64_t lo, uint64_t hi, uint64_t size,
		uint64_t align, bool topdown, uint64_t *addr)
{
	struct mt_gapq q = { lo, hi, size, align - 1, topdown, 0 };
	struct mt_node *root;
	int ret;

	if (!size || !align || (align & (align - 1)) || lo > hi)
		return -EINVAL;
	do {
		root = rcu_dereference(mt->root);
		if (!root)
			ret = mt_gap_fit(&q, 0, UINT64_MAX);
		else
			ret = mt_gap_node(&q, root, 0, UINT64_MAX);
	} while (ret == -EAGAIN);
	if (!ret)
		return -ENOMEM;
	*addr = q.addr;
	return 0;
}
