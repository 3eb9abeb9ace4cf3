/*
 * mm/mt_debug.c - structural validation and dumps of the range tree.
 * Writer lock held (or no concurrent writer) for both.
 */
#include "mm/mt_node.h"

struct mt_vstate {
	struct maple_tree *mt;
	unsigned long nodes;
	uint64_t next;		/* first address the next leaf slot must cover */
	bool done;		/* a slot reached UINT64_MAX */
	bool prev_null;		/* the previous leaf slot was a gap */
	bool prev_cross;	/* the previous leaf shares a run on its left */
	int err;
};

#define MT_BAD(st, ...) do { printk("mt_validate: " __VA_ARGS__); printk("\n"); \
	(st)->err = -EINVAL; } while (0)

/* mt_validate_fill: node kind, slot count and pivot order for a node at
 * depth d covering [min, max]. */
static void mt_validate_fill(struct mt_vstate *st, const struct mt_node *n, unsigned d,
			     uint64_t min, uint64_t max)
{
	bool leaf = d + 1 == st->mt->height, root = d == 0;
	unsigned lo = leaf ? (root ? 1 : MT_LEAF_MIN) : (root ? 2 : MT_INT_MIN);
	unsigned hi = leaf ? MT_LEAF_SLOTS : MT_INT_SLOTS;
	const uint64_t *piv;

	if (n->dead)
		MT_BAD(st, "node %p at depth %u is dead", (void *)n, d);
	if (n->type != (leaf ? MT_LEAF : MT_INTERNAL))
		MT_BAD(st, "node %p at depth %u has type %u", (void *)n, d, n->type);
	if (n->nr < lo || n->nr > hi) {
		MT_BAD(st, "node %p at depth %u has %u slots, not %u..%u", (void *)n, d, n->nr, lo, hi);
		return;
	}
	piv = mt_pivots(n);
	for (unsigned i = 0; i + 1 < n->nr; i++)
		if (piv[i] < min || piv[i] >= max || (i && piv[i] <= piv[i - 1]))
			MT_BAD(st, "node %p pivot[%u] = %#lx out of order in [%#lx, %#lx]",
			       (void *)n, i, (unsigned long)piv[i], (unsigned long)min,
			       (unsigned long)max);
}

/* mt_validate_leaf: slots continue the address sequence; gaps may be
 * adjacent (unmerged runs), across two leaves too, but no leaf shares runs
 * at both edges; every leaf holds an entry, and a non-root leaf MT_LEAF_MIN
 * items with each run counted once. */
static void mt_validate_leaf(struct mt_vstate *st, const struct mt_node *n,
			     uint64_t min, uint64_t max, bool root)
{
	unsigned entries = 0, items = 0;
	uint64_t lo, hi;

	for (unsigned i = 0; i < n->nr; i++) {
		mt_slot_range(n, i, min, max, &lo, &hi);
		if (st->done || lo != st->next)
			MT_BAD(st, "leaf %p slot %u starts at %#lx, expected %#lx",
			       (void *)n, i, (unsigned long)lo, (unsigned long)st->next);
		if (i == 0) {
			bool cross = !n->leaf.slot[0] && st->prev_null;

			if (cross && st->prev_cross)
				MT_BAD(st, "the leaf before %p shares runs at both edges (%#lx)",
				       (void *)n, (unsigned long)lo);
			st->prev_cross = cross;
		}
		items += !(i && !n->leaf.slot[i] && st->prev_null);
		st->prev_null = !n->leaf.slot[i];
		entries += !st->prev_null;
		st->next = hi + 1;
		st->done = hi == UINT64_MAX;
	}
	if (!entries)
		MT_BAD(st, "leaf %p [%#lx, %#lx] holds no entry", (void *)n, (unsigned long)min,
		       (unsigned long)max);
	if (!root && items < MT_LEAF_MIN)
		MT_BAD(st, "leaf %p [%#lx, %#lx] has %u items with runs merged", (void *)n,
		       (unsigned long)min, (unsigned long)max, items);
}

/* mt_validate_node: check the subtree; returns its largest gap. */
static uint64_t mt_validate_node(struct mt_vstate *st, const struct mt_node *n, unsigned d,
				 uint64_t min, uint64_t max)
{
	uint64_t lo, hi, gap;

	st->nodes++;
	mt_validate_fill(st, n, d, min, max);
	if (st->err)
		return 0;
	if (n->type == MT_LEAF) {
		mt_validate_leaf(st, n, min, max, d == 0);
		return mt_node_gap(st->mt, n, min, max);
	}
	for (unsigned i = 0; i < n->nr && !st->err; i++) {
		mt_slot_range(n, i, min, max, &lo, &hi);
		gap = mt_validate_node(st, n->in.child[i], d + 1, lo, hi);
		if (!st->err && gap != n->in.gap[i])
			MT_BAD(st, "node %p gap[%u] = %#lx, subtree has %#lx", (void *)n, i,
			       (unsigned long)n->in.gap[i], (unsigned long)gap);
	}
	return mt_node_gap(st->mt, n, min, max);
}

int mt_validate(struct maple_tree *mt)
{
	struct mt_vstate st = { .mt = mt };
	struct mt_node *root = mt->root;

	if (!root) {
		if (mt->height)
			MT_BAD(&st, "empty tree with height %u", mt->height);
	} else if (mt->height == 0 || mt->height > MT_MAX_HEIGHT) {
		MT_BAD(&st, "height %u", mt->height);
	} else {
		mt_validate_node(&st, root, 0, 0, UINT64_MAX);
		if (!st.err && !st.done)
			MT_BAD(&st, "leaves stop at %#lx", (unsigned long)st.next);
		if (!st.err && mt->height == 1 && root->nr == 1 && !root->leaf.slot[0])
			MT_BAD(&st, "an empty tree must have no root node");
	}
	if (!st.err && st.nodes + mt->nr_reserve != mt->nr_nodes)
		MT_BAD(&st, "%lu nodes + %u reserved, counter says %lu", st.nodes,
		       mt->nr_reserve, mt->nr_nodes);
	return st.err;
}

static void mt_dump_node(const struct mt_node *n, unsigned d, uint64_t min, uint64_t max)
{
	uint64_t lo, hi;

	printk("%*s%s %p [%#lx, %#lx] nr %u\n", (int)d * 2, "",
	       n->type == MT_LEAF ? "leaf" : "node", (void *)n, (unsigned long)min,
	       (unsigned long)max, n->nr);
	for (unsigned i = 0; i < n->nr; i++) {
		mt_slot_range(n, i, min, max, &lo, &hi);
		if (n->type == MT_LEAF)
			printk("%*s[%#lx, %#lx] -> %p\n", (int)d * 2 + 2, "", (unsigned long)lo,
			       (unsigned long)hi, n->leaf.slot[i]);
		else
			mt_dump_node(n->in.child[i], d + 1, lo, hi);
	}
}

/* mt_dump: print the tree's nodes and entries with printk. */
void mt_dump(const struct maple_tree *mt)
{
	printk("maple tree %p height %u nodes %lu reserved %u\n", (const void *)mt,
	       mt->height, mt->nr_nodes, mt->nr_reserve);
	if (mt->root)
		mt_dump_node(mt->root, 0, 0, UINT64_MAX);
}
