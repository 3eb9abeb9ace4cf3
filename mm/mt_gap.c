/*
 * mm/mt_gap.c - free-gap search over the per-subtree largest-gap metadata.
 *
 * A gap is a run of NULL slots (mt_node.h: more than one slot where an erase
 * was written in place, and then possibly shared by two neighbouring
 * leaves), and every internal node records, per child, the largest gap
 * touching the leaves below it, a shared run counted whole on both sides.
 * A run at a leaf edge is followed into the neighbouring leaf where the part
 * in this leaf is too small (mt_gap_run). The search
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
	struct maple_tree *mt;
	uint64_t lo, hi, size, mask;
	bool topdown;
	uint64_t addr;		/* result */
	/* The leaf searched next, if it is the current leaf's sibling (set by
	 * the parent before each child is searched): its bounds. */
	struct mt_node *next;
	uint64_t nmin, nmax;
};

/* mt_run_beyond: x lies in the leaf beside the caller's. If the slot
 * covering x is a gap, set *end to the far end of its run in that leaf
 * (followed down if down, else up) and return true; false if an entry
 * covers x. The run ends inside that leaf, which holds an entry. RCU
 * reader or writer lock; restarts if the leaf died under it. */
bool mt_run_beyond(struct maple_tree *mt, uint64_t x, bool down, uint64_t *end)
{
	uint64_t min, max, e = 0;
	struct mt_node *n;
	bool gap;

	do {
		n = mt_leaf_walk(mt, x, &min, &max);
		if (!n)
			return false;
		gap = mt_leaf_run_end(n, mt_slot_find(n, x), down, min, max, &e);
	} while (mt_node_dead(n));
	if (gap)
		*end = e;
	return gap;
}

/* mt_leaf_gap_in: the largest gap touching leaf n, which covers [min, max],
 * given where the runs at its edges end: the run at min continues down to
 * lo_end and the one at max up to hi_end in the neighbouring leaves (min and
 * max where nothing continues). A shared run counts whole (mt_node.h). */
uint64_t mt_leaf_gap_in(const struct mt_node *n, uint64_t min, uint64_t max, uint64_t lo_end,
			uint64_t hi_end)
{
	uint64_t best = 0, lo, hi;

	for (unsigned i = 0; i < n->nr; i++) {
		if (n->leaf.slot[i])
			continue;
		i = mt_leaf_run(n, i, false, min, max, &lo, &hi);
		lo = lo == min ? lo_end : lo;
		hi = hi == max ? hi_end : hi;
		if (mt_gap_len(lo, hi) > best)
			best = mt_gap_len(lo, hi);
	}
	return best;
}

/* mt_leaf_gap: the largest gap touching leaf n, which covers [min, max],
 * its edge runs followed into the neighbouring leaves. Writer lock held. */
uint64_t mt_leaf_gap(struct maple_tree *mt, const struct mt_node *n, uint64_t min, uint64_t max)
{
	uint64_t lo_end = min, hi_end = max;

	if (!n->leaf.slot[0] && min > 0)
		mt_run_beyond(mt, min - 1, true, &lo_end);
	if (!n->leaf.slot[n->nr - 1] && max < UINT64_MAX)
		mt_run_beyond(mt, max + 1, false, &hi_end);
	return mt_leaf_gap_in(n, min, max, lo_end, hi_end);
}

/* mt_node_gap: largest gap touching the subtree n, which covers [min, max]. */
uint64_t mt_node_gap(struct maple_tree *mt, const struct mt_node *n, uint64_t min, uint64_t max)
{
	uint64_t best = 0;

	if (n->type == MT_LEAF)
		return mt_leaf_gap(mt, n, min, max);
	for (unsigned i = 0; i < n->nr; i++)
		if (n->in.gap[i] > best)
			best = n->in.gap[i];
	return best;
}

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
/* mt_gap_beyond: mt_run_beyond(x) in the search's direction, for the leaf
 * searched next: read from q->next without a walk when it is a sibling
 * (its slot may hold an entry, the common case), else by a walk. */
static bool mt_gap_beyond(struct mt_gapq *q, uint64_t x, uint64_t *end)
{
	const struct mt_node *n = q->next;
	uint64_t e = 0;
	bool gap;

	if (!n)
		return mt_run_beyond(q->mt, x, q->topdown, end);
	gap = mt_leaf_run_end(n, q->topdown ? n->nr - 1u : 0, q->topdown, q->nmin, q->nmax, &e);
	if (unlikely(mt_node_dead(n)))
		return mt_run_beyond(q->mt, x, q->topdown, end);
	if (gap)
		*end = e;
	return gap;
}

/* mt_gap_run: place the request in the run [a, b] of a leaf covering [min,
 * max]; true if placed. A run that reaches the edge the search moves
 * towards (min when top-down, max when bottom-up) may be shared with the
 * leaf searched next; it is followed into that leaf when the part in this
 * one does not fit (one walk, only then). The other way is not needed: the
 * leaf beyond the other edge was searched first, with the whole run (or it
 * was skipped, because the run is too small or lies beyond [lo, hi]). */
static bool mt_gap_run(struct mt_gapq *q, uint64_t min, uint64_t max, uint64_t a, uint64_t b)
{
	bool down = q->topdown;

	if (b < q->lo || a > q->hi)
		return false;
	if (mt_gap_len(a, b) >= q->size && mt_gap_fit(q, a, b))
		return true;
	if (down ? a != min || min == 0 : b != max || max == UINT64_MAX)
		return false;
	if (!mt_gap_beyond(q, down ? min - 1 : max + 1, down ? &a : &b))
		return false;
	return mt_gap_len(a, b) >= q->size && mt_gap_fit(q, a, b);
}

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
		if (mt_gap_run(q, min, max, a, b))
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
		q->next = NULL;
		if (q->topdown ? i > 0 : i + 1u < nr) {
			unsigned k = q->topdown ? i - 1 : i + 1;

			q->next = rcu_dereference(n->in.child[k]);
			mt_slot_range(n, k, min, max, &q->nmin, &q->nmax);
		}
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
	struct mt_gapq q = { mt, lo, hi, size, align - 1, topdown, 0, NULL, 0, 0 };
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
