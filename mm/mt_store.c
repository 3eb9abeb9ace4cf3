/*
 * mm/mt_store.c - the store entry points and their common-case fast path.
 *
 * Most stores (an insert into a gap, an erase or overwrite of one mapping)
 * change a single leaf, which keeps a legal fill and does not create a gap
 * that could continue into a neighbouring leaf. Such a store needs one walk:
 * the new leaf is built from the old one, every ancestor is copied with one
 * child pointer and one gap word changed, and the copy of the root is
 * published. Anything else goes to mt_store_general (mt_write.c), which
 * handles splits, merges, spans and height changes. Both obey the same
 * phases: plan without allocating, allocate everything, build, publish,
 * retire.
 */
#include "mm/mt_node.h"

struct mt_fast {
	struct mt_node *path[MT_MAX_HEIGHT];	/* old nodes, root first */
	unsigned off[MT_MAX_HEIGHT];		/* child taken at each depth */
	uint64_t min, max;			/* the leaf's bounds */
	struct mt_item it[MT_LEAF_SLOTS + 2];	/* the new leaf's items */
	unsigned n;
};

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

/* mt_fast_fits: is the new leaf legal without touching a neighbour? A gap
 * at an edge is fine only if the old leaf already had one there (the
 * neighbour then cannot end with a gap). */
static bool mt_fast_fits(const struct mt_fast *f, const struct mt_node *leaf, unsigned height)
{
	if (height > 1 && f->n < MT_LEAF_MIN)
		return false;
	if (height == 1 && f->n == 1 && !f->it[0].ptr)
		return false;	/* becomes the empty tree */
	if (!f->it[0].ptr && f->min > 0 && leaf->leaf.slot[0])
		return false;
	if (!f->it[f->n - 1].ptr && f->max < UINT64_MAX && leaf->leaf.slot[leaf->nr - 1])
		return false;
	return true;
}

/* mt_fast_walk: record the path to the leaf covering first. For an insert,
 * -EEXIST unless first lies in a gap that reaches last (gaps are never
 * adjacent, so a shorter gap ends at an entry). */
static int mt_fast_walk(struct maple_tree *mt, struct mt_fast *f, uint64_t first,
			uint64_t last, bool insert)
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
		f->min = lo;
		f->max = hi;
		n = n->in.child[i];
		mt_node_prefetch(n);
	}
	if (insert && (n->leaf.slot[i] || hi < last))
		return -EEXIST;
	return 0;
}

/* mt_fast_commit: build the new leaf and the copied path, publish, retire.
 * 0 or -ENOMEM (nothing changed). */
static int mt_fast_commit(struct maple_tree *mt, struct mt_fast *f)
{
	struct mt_node *fresh[MT_MAX_HEIGHT], *chain = NULL;
	unsigned h = mt->height;
	uint64_t gap;

	if (mt_nodes_get(mt, fresh, h))
		return -ENOMEM;
	gap = mt_fill_node(fresh[h - 1], MT_LEAF, f->it, f->n, f->min);
	for (unsigned d = h - 1; d-- > 0;) {
		struct mt_node *c = fresh[d];

		memcpy(c, f->path[d], sizeof(*c));
		c->in.child[f->off[d]] = fresh[d + 1];
		c->in.gap[f->off[d]] = gap;
		gap = 0;
		for (unsigned i = 0; i < c->nr; i++)
			gap = c->in.gap[i] > gap ? c->in.gap[i] : gap;
	}
	DEBUG_YIELD();
	rcu_assign_pointer(mt->root, fresh[0]);
	DEBUG_YIELD();
	for (unsigned d = h; d-- > 0;)
		mt_node_kill(f->path[d], &chain);
	mt_free_chain(mt, chain, h);
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
	struct mt_fast f;
	int err;

	if (first > last || (insert && !entry))
		return -EINVAL;
	if (!mt->root)
		return mt_store_empty(mt, first, last, entry);
	err = mt_fast_walk(mt, &f, first, last, insert);
	if (err)
		return err;
	if (last <= f.max && mt_fast_leaf(&f, f.path[mt->height - 1], first, last, entry) &&
	    mt_fast_fits(&f, f.path[mt->height - 1], mt->height))
		return mt_fast_commit(mt, &f);
	return mt_store_general(mt, first, last, entry);
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
