/*
 * mm/mt_shared.c - runs of gaps shared by two neighbouring leaves, for the
 * in-place store path (mt_store.c).
 *
 * An exact erase at a leaf edge beside a gap in the next leaf is written in
 * place and leaves a run shared by the two leaves (mt_node.h). Both leaves'
 * gap words count the whole run, so an in-place store whose run reaches an
 * edge changes the neighbour's gap too; these helpers find the neighbour
 * (through the parent when it is a sibling, else by a walk), measure how
 * far a run continues into it, update the neighbour's path, and decide
 * whether an erase may create a shared run (no leaf may share runs at both
 * edges: mt_write.c bounds its spans on that). Writer lock held throughout.
 */
#include "mm/mt_node.h"

/* mt_leaf_crosses: does leaf n ([min, max]) share a run with its neighbour
 * on the right (right) or on the left? Writer lock held. */
static bool mt_leaf_crosses(struct maple_tree *mt, const struct mt_node *n, uint64_t min,
			    uint64_t max, bool right)
{
	if (right)
		return !n->leaf.slot[n->nr - 1] && max < UINT64_MAX && !mt_find(mt, max + 1, NULL);
	return !n->leaf.slot[0] && min > 0 && !mt_find(mt, min - 1, NULL);
}

/* mt_fast_beside: the path to the leaf beside the one on path f, on the
 * right (right) or left, in g (path, off, min, max); false at the edge of
 * the address space. A sibling under the same parent is found without a
 * walk. Writer lock held. */
static bool mt_fast_beside(struct maple_tree *mt, const struct mt_fast *f, bool right,
			   struct mt_fast *g)
{
	unsigned h = mt->height, o;
	const struct mt_node *p;

	if (right ? f->max == UINT64_MAX : f->min == 0)
		return false;
	p = f->path[h - 2];	/* h > 1: a root leaf covers everything */
	o = f->off[h - 2];
	if (right ? o + 1u == p->nr : o == 0) {
		uint64_t x = right ? f->max + 1 : f->min - 1;

		mt_fast_walk(mt, g, x, x, false);
		return true;
	}
	for (unsigned d = 0; d + 1 < h; d++) {
		g->path[d] = f->path[d];
		g->off[d] = f->off[d];
	}
	g->pmin = f->pmin;
	g->pmax = f->pmax;
	g->off[h - 2] = o = right ? o + 1 : o - 1;
	g->path[h - 1] = p->in.child[o];
	mt_slot_range(p, o, f->pmin, f->pmax, &g->min, &g->max);
	g->off[h - 1] = right ? 0 : g->path[h - 1]->nr - 1u;
	return true;
}

/* mt_fast_side: the leaf beside the one on path f (right or left) in g, if
 * its slot next to f's leaf is a gap; then *end is where that slot's run
 * ends in it (going away from f's leaf). False if there is no such leaf or
 * an entry is next to f's leaf. Writer lock held. */
static bool mt_fast_side(struct maple_tree *mt, const struct mt_fast *f, bool right,
			 struct mt_fast *g, uint64_t *end)
{
	unsigned h = mt->height;

	return mt_fast_beside(mt, f, right, g) &&
	       mt_leaf_run_end(g->path[h - 1], g->off[h - 1], !right, g->min, g->max, end);
}

/* mt_fast_reach: where the gap at the right (right) or left edge of the
 * leaf on path f ends, followed into the neighbouring leaf; the edge itself
 * if an entry is there or the run does not continue. */
uint64_t mt_fast_reach(struct maple_tree *mt, const struct mt_fast *f, bool right)
{
	const struct mt_node *leaf = f->path[mt->height - 1];
	uint64_t end = right ? f->max : f->min;
	struct mt_fast g;

	if (!leaf->leaf.slot[right ? leaf->nr - 1u : 0])
		mt_fast_side(mt, f, right, &g, &end);
	return end;
}

/* mt_neighbour_gaps: slot i of the leaf on path f turned from or into a
 * gap. If its run (before or after) reaches the edge on the right (right)
 * or left and the neighbouring leaf's adjacent slot is a gap, that run is
 * shared and the neighbour's gap changed too: update the gaps above the
 * neighbour. Writer lock held; past the point of no return. */
void mt_neighbour_gaps(struct maple_tree *mt, const struct mt_fast *f, unsigned i,
			      bool right)
{
	const struct mt_node *leaf = f->path[mt->height - 1];
	uint64_t near, far, a, b, x;
	struct mt_fast g;

	for (unsigned j = right ? i + 1 : 0; j < (right ? leaf->nr : i); j++)
		if (leaf->leaf.slot[j])
			return;	/* an entry between slot i and the edge */
	if (!mt_fast_side(mt, f, right, &g, &x))
		return;
	near = right ? g.min : g.max;	/* the neighbour's edge next to us */
	if (!leaf->leaf.slot[right ? leaf->nr - 1u : 0]) {
		mt_leaf_run(leaf, right ? leaf->nr - 1u : 0, right, f->min, f->max, &a, &b);
		near = right ? a : b;	/* the shared run's end in our leaf */
	}
	far = mt_fast_reach(mt, &g, right);
	mt_gaps_update(g.path, g.off, mt->height - 1,
		       mt_leaf_gap_in(g.path[mt->height - 1], g.min, g.max,
				      right ? near : far, right ? far : near));
}

/* mt_fast_edge_ok: may erasing slot i in place make a run shared with the
 * neighbouring leaf on the right (right) or left? Only if neither leaf then
 * shares a run at its other edge: a store that merges a shared run takes the
 * neighbour into its span (mt_write.c), and this keeps that chain at two
 * leaves per side. True if no shared run is made at that edge. */
bool mt_fast_edge_ok(struct maple_tree *mt, const struct mt_fast *f,
			    const struct mt_node *leaf, unsigned i, bool right)
{
	const struct mt_node *nb;
	struct mt_fast g;

	if (i != (right ? leaf->nr - 1u : 0) || !mt_fast_beside(mt, f, right, &g))
		return true;
	nb = g.path[mt->height - 1];
	if (nb->leaf.slot[g.off[mt->height - 1]])
		return true;
	return !mt_leaf_crosses(mt, leaf, f->min, f->max, !right) &&
	       !mt_leaf_crosses(mt, nb, g.min, g.max, right);
}
