/*
 * mm/mt_store.c - the store entry points and their common-case fast paths.
 *
 * Most stores (an insert into a gap, an erase or overwrite of one mapping)
 * change a single leaf, which keeps a legal fill. Such a store needs one
 * walk and changes nothing above the leaf but one child pointer and some gap
 * words, so it writes those in place (as Linux's maple tree does) instead of
 * copying the path:
 *   - value only: the store replaces exactly one slot's value and no pivot
 *     (same range, other entry; a gap slot filled exactly; an entry erased
 *     exactly, leaving its NULL neighbours unmerged, mt_fast_exact): one
 *     rcu_assign_pointer into the slot. Allocates nothing. Without the
 *     unmerged runs, an erase beside a gap would copy the leaf and write the
 *     parent's child pointer, a line every lookup through that parent reads,
 *     and putting the range back would do it again (docs/bench-tree.md,
 *     2026-12-03 07:00). At a leaf edge beside a gap in the next leaf, the
 *     erase leaves a run shared by the two leaves (mt_node.h), unless one of
 *     them would then share runs at both edges (mt_fast_edge_ok); both
 *     leaves' gaps change, so both paths' gap words are updated
 *     (mt_neighbour_gaps). Before shared runs, those erases copied a leaf
 *     or a subtree: 16 % of the benchmark writer's stores (2026-12-03 09:00).
 *   - one leaf: anything else inside the leaf, if neither the old nor the
 *     new leaf shares a run with a neighbour (mt_fast_fits): a new leaf with
 *     the same bounds is built privately and published with one
 *     rcu_assign_pointer into the parent's child slot (or the root); the old
 *     leaf is killed and retired (one node per store, batched for call_rcu).
 * Then the ancestors' gap words are updated in place, bottom-up, stopping at
 * the first that does not change (mt_gaps_update). Anything else goes to
 * mt_store_general (mt_write.c), which handles splits, merges, spans and
 * height changes and copies upward only the nodes whose contents change.
 * Both obey the same phases: plan without allocating, allocate everything,
 * then (past the point of no return) build, publish, retire: an in-place
 * write never happens before every allocation of the store succeeded.
 *
 * Why a reader stays correct: pivots never change in place, so the slot a
 * reader picks in a reachable node covers the same addresses before and after
 * the store; the word it then loads is the old or the new value; a replaced
 * leaf has the same bounds as its replacement, so either answers for every
 * address it covers, and a reader that reaches it after it died restarts.
 */
#include "mm/mt_node.h"

/* mt_fast_push: append a leaf item, merging gaps; false if over capacity. */
static bool mt_fast_push(struct mt_fast *f, uint64_t last, void *ptr)
{
	if (!ptr && f->n && !f->it[f->n - 1].ptr) {
		f->it[f->n - 1].last = last;
		return true;
	}
	if (f->n == ARRAY_SIZE(f->it))
		return false;
	f->it[f->n].last = last;
	f->it[f->n].ptr = ptr;
	f->it[f->n].gap = 0;
	f->n++;
	return true;
}

/* mt_fast_leaf: the old leaf's items with [first, last] -> entry spliced in.
 * False if the result cannot be a single leaf of the fast path. */
static bool mt_fast_leaf(struct mt_fast *f, const struct mt_node *leaf, uint64_t first,
			 uint64_t last, void *entry)
{
	bool placed = false, ok = true;
	uint64_t lo, hi;

	f->n = 0;
	for (unsigned i = 0; i < leaf->nr && ok; i++) {
		void *p = leaf->leaf.slot[i];

		mt_slot_range(leaf, i, f->min, f->max, &lo, &hi);
		if (hi < first) {
			ok = mt_fast_push(f, hi, p);
			continue;
		}
		if (lo < first)
			ok = mt_fast_push(f, first - 1, p);
		if (!placed)
			ok = ok && mt_fast_push(f, last, entry);
		placed = true;
		if (hi > last)
			ok = ok && mt_fast_push(f, hi, p);
	}
	return ok && f->n <= MT_LEAF_SLOTS;
}

/* mt_fast_fits: is the new leaf legal without touching a neighbour? Where
 * the old or the new leaf has a gap at an edge, the neighbour's adjacent
 * slot must hold an entry: a run shared with the neighbour would change the
 * neighbour's gap too (the general path merges it instead). */
static bool mt_fast_fits(struct maple_tree *mt, const struct mt_fast *f,
			 const struct mt_node *leaf)
{
	unsigned height = mt->height;

	if (height > 1 && f->n < MT_LEAF_MIN)
		return false;
	if (height == 1 && f->n == 1 && !f->it[0].ptr)
		return false;	/* becomes the empty tree */
	if ((!f->it[0].ptr || !leaf->leaf.slot[0]) && f->min > 0 &&
	    !mt_find(mt, f->min - 1, NULL))
		return false;
	if ((!f->it[f->n - 1].ptr || !leaf->leaf.slot[leaf->nr - 1]) && f->max < UINT64_MAX &&
	    !mt_find(mt, f->max + 1, NULL))
		return false;
	return true;
}

/* mt_fast_walk: record the path to the leaf covering first, and the slot
 * covering it. For an insert, -EEXIST unless first lies in a gap that
 * reaches last. */
int mt_fast_walk(struct maple_tree *mt, struct mt_fast *f, uint64_t first, uint64_t last,
		 bool insert)
{
	struct mt_node *n = mt->root;
	uint64_t lo, hi;
	unsigned i;

	f->min = 0;
	f->max = UINT64_MAX;
	for (unsigned d = 0;; d++) {
		f->path[d] = n;
		f->off[d] = i = mt_slot_find(n, first);
		mt_slot_range(n, i, f->min, f->max, &lo, &hi);
		if (n->type == MT_LEAF)
			break;
		f->pmin = f->min;
		f->pmax = f->max;
		f->min = lo;
		f->max = hi;
		n = n->in.child[i];
		mt_node_prefetch(n);
	}
	f->lo = lo;
	f->hi = hi;
	if (!insert)
		return 0;
	if (n->leaf.slot[i])
		return -EEXIST;
	mt_leaf_run(n, i, false, f->min, f->max, &lo, &hi);
	if (hi == f->max && hi < last)	/* the run may go on in the next leaf */
		mt_run_beyond(mt, hi + 1, false, &hi);
	return hi < last ? -EEXIST : 0;
}

/* mt_gaps_update: the node at `depth` on path (child off[d] of path[d] for
 * d < depth) now has largest gap `gap`: update the ancestors' gap words in
 * place, bottom-up, stopping at the first unchanged one (nothing above it
 * changes either). Writer lock held; past the point of no return. */
void mt_gaps_update(struct mt_node *const *path, const unsigned *off, unsigned depth,
		    uint64_t gap)
{
	while (depth-- > 0) {
		struct mt_node *p = path[depth];

		if (p->in.gap[off[depth]] == gap)
			return;
		mt_gap_set(p, off[depth], gap);
		DEBUG_YIELD();	/* torture: readers see half-updated gaps */
		gap = 0;
		for (unsigned i = 0; i < p->nr; i++)
			gap = p->in.gap[i] > gap ? p->in.gap[i] : gap;
	}
}

/* mt_replace_child: publish fresh, a complete node with the same bounds as
 * the node at `depth` on path, in its place (the root if depth is 0), then
 * update the gaps above it. The caller retires the old node. */
void mt_replace_child(struct maple_tree *mt, struct mt_node *const *path, const unsigned *off,
		      unsigned depth, struct mt_node *fresh, uint64_t gap)
{
	DEBUG_YIELD();
	if (!depth)
		rcu_assign_pointer(mt->root, fresh);
	else
		rcu_assign_pointer(path[depth - 1]->in.child[off[depth - 1]], fresh);
	DEBUG_YIELD();
	mt_gaps_update(path, off, depth, gap);
}

/* mt_fast_unchanged: is the new leaf the old one (a store that changes
 * nothing, such as an erase inside a single-slot gap)? A store of exactly
 * one slot's range never gets here (mt_fast_exact writes it in place, or it
 * changes the leaf's shape or is refused by mt_fast_fits). */
static bool mt_fast_unchanged(const struct mt_fast *f, const struct mt_node *leaf)
{
	if (f->n != leaf->nr)
		return false;
	for (unsigned i = 0; i < f->n; i++) {
		if (i + 1u < f->n && f->it[i].last != leaf->leaf.pivot[i])
			return false;
		KASSERT(f->it[i].ptr == leaf->leaf.slot[i],
			"mt_fast_unchanged: slot %u changes, no pivot does", i);
	}
	return true;
}

/* mt_fast_value: store entry into slot i of the leaf in place, then fix the
 * gaps above it, and above a neighbour sharing a run with it, if the slot
 * turned from or into a gap. Cannot fail. */
static void mt_fast_value(struct maple_tree *mt, struct mt_fast *f, unsigned i, void *entry)
{
	unsigned h = mt->height;
	struct mt_node *leaf = f->path[h - 1];
	bool was_gap = !leaf->leaf.slot[i];

	DEBUG_YIELD();
	rcu_assign_pointer(leaf->leaf.slot[i], entry);
	DEBUG_YIELD();
	mt->st_value++;
	if (was_gap == !entry)
		return;
	mt_gaps_update(f->path, f->off, h - 1,
		       mt_leaf_gap_in(leaf, f->min, f->max, mt_fast_reach(mt, f, false),
				      mt_fast_reach(mt, f, true)));
	mt_neighbour_gaps(mt, f, i, true);
	mt_neighbour_gaps(mt, f, i, false);
}

/* mt_fast_exact: may [first, last] -> entry, a store of exactly the range
 * of leaf slot i, be written into that slot in place? Any entry may (an
 * overwrite, or a gap filled exactly: runs of gaps around it only shrink).
 * An erase may, leaving a run of gaps unmerged, if the leaf keeps an entry
 * (a leaf of gaps only is never left behind, nor an empty tree with a
 * root), a non-root leaf keeps MT_LEAF_MIN items counting each run once
 * (so the general path's span bounds, which count merged items, hold as if
 * every leaf were merged), and a run it makes shared with a neighbouring
 * leaf is allowed (mt_fast_edge_ok). */
static bool mt_fast_exact(struct maple_tree *mt, const struct mt_fast *f,
			  const struct mt_node *leaf, unsigned i, void *entry)
{
	unsigned entries = 0, items = 0;
	bool prev_gap = false;

	if (entry)
		return true;
	for (unsigned j = 0; j < leaf->nr; j++) {	/* the leaf after the erase */
		bool gap = j == i || !leaf->leaf.slot[j];

		entries += !gap;
		items += !(gap && prev_gap);
		prev_gap = gap;
	}
	if (!entries || (mt->height > 1 && items < MT_LEAF_MIN))
		return false;
	return mt_fast_edge_ok(mt, f, leaf, i, true) && mt_fast_edge_ok(mt, f, leaf, i, false);
}

/* mt_fast_commit: build the new leaf, publish it in place of the old one,
 * retire the old one. 0 or -ENOMEM (nothing changed). */
static int mt_fast_commit(struct maple_tree *mt, struct mt_fast *f)
{
	struct mt_node *fresh, *chain = NULL;
	unsigned h = mt->height;
	uint64_t gap;

	if (mt_nodes_get(mt, &fresh, 1))
		return -ENOMEM;
	/* Point of no return: everything below only writes. */
	gap = mt_fill_node(fresh, MT_LEAF, f->it, f->n, f->min);
	mt_replace_child(mt, f->path, f->off, h - 1, fresh, gap);
	mt->st_leaf++;
	mt_node_kill(f->path[h - 1], &chain);
	mt_free_chain(mt, chain, 1);
	return 0;
}

/* mt_store_empty: the first store into an empty tree: one leaf. */
static int mt_store_empty(struct maple_tree *mt, uint64_t first, uint64_t last, void *entry)
{
	struct mt_item it[3];
	unsigned n = 0;
	struct mt_node *leaf;

	if (!entry)
		return 0;
	if (mt_nodes_get(mt, &leaf, 1))
		return -ENOMEM;
	if (first > 0)
		it[n++] = (struct mt_item){ first - 1, NULL, 0 };
	it[n++] = (struct mt_item){ last, entry, 0 };
	if (last < UINT64_MAX)
		it[n++] = (struct mt_item){ UINT64_MAX, NULL, 0 };
	mt_fill_node(leaf, MT_LEAF, it, n, 0);
	mt->height = 1;
	rcu_assign_pointer(mt->root, leaf);
	return 0;
}

/* mt_store_common: mt_store, or mt_insert when insert is set. */
static int mt_store_common(struct maple_tree *mt, uint64_t first, uint64_t last, void *entry,
			   bool insert)
{
	struct mt_node *leaf;
	struct mt_fast f;
	unsigned slot;
	int err;

	if (first > last || (insert && !entry))
		return -EINVAL;
	if (mt->txn_stores != MT_NO_TXN) {
		KASSERT(mt->txn_stores > 0, "mt_store: more stores than mt_reserve covered");
		mt->txn_stores--;
	}
	if (!mt->root)
		return mt_store_empty(mt, first, last, entry);
	err = mt_fast_walk(mt, &f, first, last, insert);
	if (err)
		return err;
	leaf = f.path[mt->height - 1];
	slot = f.off[mt->height - 1];
	if (f.lo == first && f.hi == last && mt_fast_exact(mt, &f, leaf, slot, entry)) {
		if (leaf->leaf.slot[slot] != entry)
			mt_fast_value(mt, &f, slot, entry);
		return 0;
	}
	if (last > f.max || !mt_fast_leaf(&f, leaf, first, last, entry) ||
	    !mt_fast_fits(mt, &f, leaf))
		return mt_store_general(mt, first, last, entry);
	if (mt_fast_unchanged(&f, leaf))
		return 0;
	return mt_fast_commit(mt, &f);
}

/* mt_store: make [first, last] map to entry (NULL: erase), trimming or
 * splitting whatever overlapped. 0, -EINVAL, or -ENOMEM with the tree (and
 * any reservation) unchanged. Writer lock held. */
int mt_store(struct maple_tree *mt, uint64_t first, uint64_t last, void *entry)
{
	return mt_store_common(mt, first, last, entry, false);
}

/* mt_insert: as mt_store, but -EEXIST if anything overlaps [first, last]. */
int mt_insert(struct maple_tree *mt, uint64_t first, uint64_t last, void *entry)
{
	return mt_store_common(mt, first, last, entry, true);
}

int mt_erase(struct maple_tree *mt, uint64_t first, uint64_t last)
{
	return mt_store_common(mt, first, last, NULL, false);
}
