/*
 * mm/mt_write.c - copy-on-write stores: insert, store (overwrite), erase.
 *
 * How a store works. Every store rebuilds, at every depth d of the tree, a
 * contiguous *span* of nodes [smin[d], smax[d]] (the nodes containing lo[d]
 * and hi[d], and all nodes between). Spans nest: each depth's span contains
 * the one below it. The items of depth d are
 *     the children of the span's nodes left of the span below
 *   + the new nodes built for the depth below
 *   + the children right of it,
 * and, at the leaves, the entries left of `first`, the new [first, last], and
 * the entries right of `last` (NULL neighbours merged: a rebuilt leaf has
 * single-slot gaps, whatever runs the old leaves had). The items are split evenly into ceil(n / fan-out) new nodes. Old
 * subtrees outside the spans are shared, not copied; old nodes inside the
 * spans are replaced and retired (reused or freed after a grace period).
 *
 * Phases, so that a failure changes nothing:
 *   1. plan (mt_plan): count items per depth; widen a span by one neighbour
 *      node where a new node would be underfull, or where a gap at the
 *      span's edge would be, or was, shared with the next leaf (so that the
 *      run is merged and the neighbour's gap is rebuilt with it); repeat
 *      until nothing changes;
 *   2. allocate every node the plan needs (reservation first), or return
 *      -ENOMEM having touched nothing;
 *   3. build the new nodes bottom-up (private, invisible to readers);
 *   4. publish with one rcu_assign_pointer: the new root if the root
 *      changes (root split or collapse, or the root's own children change);
 *      otherwise only the deepest node whose span is one old node rebuilt as
 *      one node (same bounds) and everything below it are new, and that node
 *      goes into its parent's child slot in place, whose gap words and those
 *      above are then updated in place (mt_plan_inplace, mt_publish_inplace);
 *   5. kill the replaced nodes (dead, then chained) and retire the chain
 *      (mt_recycle.c: call_rcu per batch of 16 or more, then reuse).
 * A depth that ends up with one item collapses (height shrinks); a root that
 * splits gets a new root above it (height grows).
 *
 * The common case (the store stays inside one leaf, which keeps a legal
 * fill) takes a shorter path in mt_store.c that produces the same tree.
 * While planning and building, the old tree is read through a small cache of
 * the nodes already visited per depth (mt_wdescend), since the same few
 * boundary nodes are looked up many times.
 *
 * Bounds: a span is at most two nodes either side of the span below. The
 * leaf span: the leaf, one sibling taken in by mt_plan_share, which only
 * happens while the span is that one leaf (then one more leaf beyond the
 * sibling, if it shares a run there), and for gaps at most two leaves per
 * side: a new gap at the span's edge takes in the neighbour L' if L' ends
 * with a gap, and L' may share a run with L'' at its far edge, which takes
 * in L''; L'' shares its near edge, so not its far one, and it stops there.
 * Such a chain starts only where the store begins at the leaf's edge, so
 * that side has no partial leaf: at most 16 + 16 items per side either way
 * (a shared pair from mt_plan_share splits into leaves of >= 8, so no
 * underfull widening follows), so a
 * depth has at most 2*16 + 1 + 2*16 leaf items or 2*10 + 5 + 2*10 children,
 * hence at most MT_SPLIT_MAX (5) new nodes per depth (mt_store_worst_case).
 * Items are counted with runs of gaps merged (mt_seq_push); leaves with
 * unmerged runs (mt_store.c) keep MT_LEAF_MIN merged items, so the
 * underfull widening above stops where it would if every leaf were merged.
 */
#include "mm/mt_node.h"

#define MT_PC_WAYS 4

struct mt_seq {
	unsigned n;
	struct mt_item it[MT_SEQ_MAX];
};

struct mt_wr {
	struct maple_tree *mt;
	struct mt_node *root;		/* the version being replaced */
	unsigned height;		/* its height */
	uint64_t first, last;
	void *entry;
	uint64_t lo[MT_MAX_HEIGHT], hi[MT_MAX_HEIGHT];	/* span ends, addresses */
	uint64_t smin[MT_MAX_HEIGHT], smax[MT_MAX_HEIGHT];	/* span bounds */
	unsigned cnt[MT_MAX_HEIGHT], k[MT_MAX_HEIGHT];	/* items, new nodes */
	unsigned top;			/* shallowest depth kept (above: collapsed) */
	unsigned pub;			/* >0: publish the new node of this depth in
					 * place of the old one (same bounds) */
	bool grow, empty;
	unsigned npool, used;
	struct mt_node *pool[MT_SPLIT_MAX * (MT_MAX_HEIGHT + 1) + 1];
	/* Nodes of the old tree seen so far, per depth, with their bounds: a
	 * store looks up the same few nodes many times (mt_wdescend). */
	struct mt_pcent {
		struct mt_node *n;
		uint64_t min, max;
	} pc[MT_MAX_HEIGHT][MT_PC_WAYS];
	uint8_t pcn[MT_MAX_HEIGHT];
};

static unsigned mt_fanout(const struct mt_wr *wr, unsigned d)
{
	return d + 1 == wr->height ? MT_LEAF_SLOTS : MT_INT_SLOTS;
}

static unsigned mt_min_fill(const struct mt_wr *wr, unsigned d)
{
	return d + 1 == wr->height ? MT_LEAF_MIN : MT_INT_MIN;
}

/* mt_base: the shallowest depth the store builds new nodes for. */
static unsigned mt_base(const struct mt_wr *wr)
{
	return wr->pub ? wr->pub : wr->top;
}

static void mt_pc_add(struct mt_wr *wr, unsigned d, struct mt_node *n, uint64_t min,
		      uint64_t max)
{
	unsigned w = wr->pcn[d] < MT_PC_WAYS ? wr->pcn[d]++ : (unsigned)(min & (MT_PC_WAYS - 1));

	wr->pc[d][w].n = n;
	wr->pc[d][w].min = min;
	wr->pc[d][w].max = max;
}

static const struct mt_pcent *mt_pc_find(const struct mt_wr *wr, unsigned d, uint64_t x)
{
	for (unsigned w = 0; w < wr->pcn[d]; w++)
		if (wr->pc[d][w].min <= x && x <= wr->pc[d][w].max)
			return &wr->pc[d][w];
	return NULL;
}

/* mt_wdescend: the node at depth `depth` on the path to x in the old tree,
 * and its [*min, *max]. Starts from the deepest cached node on that path and
 * caches what it passes. Writer only (no dead checks). */
static struct mt_node *mt_wdescend(struct mt_wr *wr, uint64_t x, unsigned depth,
				   uint64_t *min, uint64_t *max)
{
	const struct mt_pcent *pe = NULL;
	unsigned d = depth + 1;
	struct mt_node *n;
	uint64_t lo, hi;

	while (d-- > 0 && !(pe = mt_pc_find(wr, d, x)))
		;
	KASSERT(pe, "mt_wdescend: root not cached");
	n = pe->n;
	lo = pe->min;
	hi = pe->max;
	for (; d < depth; d++) {
		unsigned i = mt_slot_find(n, x);

		mt_slot_range(n, i, lo, hi, &lo, &hi);
		n = n->in.child[i];
		mt_pc_add(wr, d + 1, n, lo, hi);
	}
	*min = lo;
	*max = hi;
	return n;
}

/* mt_wentry: the entry (or NULL) at address x in the old tree. */
static void *mt_wentry(struct mt_wr *wr, uint64_t x)
{
	uint64_t min, max;
	struct mt_node *n = mt_wdescend(wr, x, wr->height - 1, &min, &max);

	return n->leaf.slot[mt_slot_find(n, x)];
}

static void mt_seq_push(struct mt_seq *s, uint64_t last, void *ptr, uint64_t gap, bool leaf)
{
	if (leaf && !ptr && s->n && !s->it[s->n - 1].ptr) {
		s->it[s->n - 1].last = last;	/* extend the gap */
		return;
	}
	KASSERT(s->n < MT_SEQ_MAX, "mt_seq_push: more than %d items", MT_SEQ_MAX);
	s->it[s->n].last = last;
	s->it[s->n].ptr = ptr;
	s->it[s->n].gap = gap;
	s->n++;
}

/* mt_collect: append the old items of depth d that lie in [a, b] (leaf
 * entries clipped to b; children must lie wholly inside). */
static void mt_collect(struct mt_wr *wr, struct mt_seq *s, unsigned d,
		       uint64_t a, uint64_t b)
{
	bool leaf = d + 1 == wr->height;
	uint64_t x = a, min, max, lo, hi;

	for (;;) {
		struct mt_node *n = mt_wdescend(wr, x, d, &min, &max);

		for (unsigned i = mt_slot_find(n, x); i < n->nr; i++) {
			mt_slot_range(n, i, min, max, &lo, &hi);
			if (lo > b)
				break;
			if (leaf) {
				mt_seq_push(s, hi < b ? hi : b, n->leaf.slot[i], 0, true);
				continue;
			}
			KASSERT(lo >= a && hi <= b, "mt_collect: child [%lx, %lx] straddles [%lx, %lx]",
				(unsigned long)lo, (unsigned long)hi, (unsigned long)a, (unsigned long)b);
			mt_seq_push(s, hi, n->in.child[i], n->in.gap[i], false);
		}
		if (max >= b)
			return;
		x = max + 1;
	}
}

/* mt_level_seq: the items depth d is rebuilt from, given the nb new nodes
 * built for depth d + 1 (ignored at the leaves). */
static void mt_level_seq(struct mt_wr *wr, unsigned d, struct mt_seq *s,
			 const struct mt_item *below, unsigned nb)
{
	s->n = 0;
	if (d + 1 == wr->height) {
		if (wr->first > wr->smin[d])
			mt_collect(wr, s, d, wr->smin[d], wr->first - 1);
		mt_seq_push(s, wr->last, wr->entry, 0, true);
		if (wr->last < wr->smax[d])
			mt_collect(wr, s, d, wr->last + 1, wr->smax[d]);
		return;
	}
	if (wr->smin[d + 1] > wr->smin[d])
		mt_collect(wr, s, d, wr->smin[d], wr->smin[d + 1] - 1);
	for (unsigned i = 0; i < nb; i++)
		mt_seq_push(s, below[i].last, below[i].ptr, below[i].gap, false);
	if (wr->smax[d + 1] < wr->smax[d])
		mt_collect(wr, s, d, wr->smax[d + 1] + 1, wr->smax[d]);
}

/* mt_widen: grow the span of depth d by one neighbour node (left if there is
 * one), and the spans above it so that spans still nest. */
static void mt_widen(struct mt_wr *wr, unsigned d, bool left)
{
	if (left) {
		wr->lo[d] = wr->smin[d] - 1;
		for (unsigned e = 0; e < d; e++)
			if (wr->lo[e] > wr->lo[d])
				wr->lo[e] = wr->lo[d];
	} else {
		wr->hi[d] = wr->smax[d] + 1;
		for (unsigned e = 0; e < d; e++)
			if (wr->hi[e] < wr->hi[d])
				wr->hi[e] = wr->hi[d];
	}
}

/* mt_widen_for_gaps: if the leaf items start (end) with a gap that would
 * continue into the neighbouring leaf, or the old span did (a run shared by
 * two leaves, mt_node.h: the neighbour's gap counts it), take that leaf in,
 * so that the run is merged and rebuilt whole. A leaf shares runs at one
 * edge at most, so this takes at most two leaves per side (top of file).
 * True if it widened. */
static bool mt_widen_for_gaps(struct mt_wr *wr, const struct mt_seq *s)
{
	unsigned d = wr->height - 1;

	if (wr->smin[d] > 0 && (!s->it[0].ptr || !mt_wentry(wr, wr->smin[d])) &&
	    !mt_wentry(wr, wr->smin[d] - 1)) {
		mt_widen(wr, d, true);
		return true;
	}
	if (wr->smax[d] < UINT64_MAX && (!s->it[s->n - 1].ptr || !mt_wentry(wr, wr->smax[d])) &&
	    !mt_wentry(wr, wr->smax[d] + 1)) {
		mt_widen(wr, d, false);
		return true;
	}
	return false;
}

static void mt_plan_spans(struct mt_wr *wr)
{
	uint64_t min, max;

	for (unsigned d = 0; d < wr->height; d++) {
		mt_wdescend(wr, wr->lo[d], d, &min, &max);
		wr->smin[d] = min;
		mt_wdescend(wr, wr->hi[d], d, &min, &max);
		wr->smax[d] = max;
	}
}

/* mt_plan_counts: items and new nodes per depth, bottom-up. False if the
 * leaf span had to widen (counts must be redone). */
static bool mt_plan_counts(struct mt_wr *wr, struct mt_seq *s)
{
	struct mt_item below[MT_SPLIT_MAX] = { { 0 } };
	unsigned nb = 0;

	for (unsigned d = wr->height; d-- > 0;) {
		mt_level_seq(wr, d, s, below, nb);
		if (d + 1 == wr->height && mt_widen_for_gaps(wr, s))
			return false;
		wr->cnt[d] = s->n;
		wr->k[d] = (s->n + mt_fanout(wr, d) - 1) / mt_fanout(wr, d);
		KASSERT(wr->k[d] <= MT_SPLIT_MAX, "mt_plan_counts: %u new nodes at depth %u",
			wr->k[d], d);
		nb = wr->k[d];
	}
	return true;
}

/* mt_plan_inplace: the deepest depth p >= 1 whose span, and every span
 * above it, is one old node, and which is rebuilt as one node: that node
 * keeps its bounds, so only it and what is below it are new; the parent just
 * gets a new child pointer and gap word, in place. 0 if there is none (the
 * root itself changes). */
static unsigned mt_plan_inplace(struct mt_wr *wr)
{
	uint64_t min, max;
	unsigned p = 0;

	for (unsigned d = 0; d < wr->height; d++) {
		mt_wdescend(wr, wr->smin[d], d, &min, &max);
		if (max != wr->smax[d])
			break;	/* this span and those below: several nodes */
		if (d && wr->k[d] == 1)
			p = d;
	}
	return p;
}

/* mt_plan_share: a single leaf overflows (two new leaves): if a sibling
 * under the same parent has room for the excess, take it into the span, so
 * that the two are rebalanced instead of a third leaf being added (B*-tree
 * style: leaves fill to ~80% instead of ~70% under random inserts, the tree
 * is smaller and lookups miss less). True if it widened. */
static bool mt_plan_share(struct mt_wr *wr)
{
	unsigned d = wr->height - 1;
	uint64_t pmin, pmax, min, max;
	struct mt_node *sib;
	bool left;

	if (!d || wr->k[d] != 2)
		return false;
	mt_wdescend(wr, wr->smin[d], d, &min, &max);
	if (max != wr->smax[d])
		return false;	/* the span is already several leaves */
	mt_wdescend(wr, wr->smin[d], d - 1, &pmin, &pmax);
	left = wr->smax[d] == pmax;
	if (left && wr->smin[d] == pmin)
		return false;	/* an only child: no sibling */
	sib = mt_wdescend(wr, left ? wr->smin[d] - 1 : wr->smax[d] + 1, d, &min, &max);
	if (wr->cnt[d] + sib->nr > 2 * MT_LEAF_SLOTS)
		return false;
	mt_widen(wr, d, left);
	return true;
}

/* mt_plan: decide spans, counts and the new shape; allocates nothing. */
static void mt_plan(struct mt_wr *wr)
{
	bool shared = false;
	struct mt_seq s;
	unsigned d;

again:
	mt_plan_spans(wr);
	if (!mt_plan_counts(wr, &s))
		goto again;
	if (!shared && mt_plan_share(wr)) {
		shared = true;
		goto again;
	}
	for (wr->top = 0; wr->top + 1 < wr->height && wr->cnt[wr->top] == 1; wr->top++)
		;
	for (d = wr->top + 1; d < wr->height; d++) {
		if (wr->k[d] > 1 || wr->cnt[d] >= mt_min_fill(wr, d))
			continue;
		KASSERT(wr->smin[d] > 0 || wr->smax[d] < UINT64_MAX,
			"mt_plan: underfull depth %u spans everything", d);
		mt_widen(wr, d, wr->smin[d] > 0);
		goto again;
	}
	wr->grow = wr->top == 0 && wr->k[0] > 1;
	/* One leaf item with everything above collapsed: the whole space. */
	wr->empty = wr->top + 1 == wr->height && wr->cnt[wr->top] == 1 && !wr->entry;
	wr->pub = wr->grow || wr->empty || wr->top ? 0 : mt_plan_inplace(wr);
}

/* mt_pool_fill: get every node the plan needs; -ENOMEM (nothing taken). */
static int mt_pool_fill(struct mt_wr *wr)
{
	unsigned need = wr->grow;

	if (!wr->empty)
		for (unsigned d = mt_base(wr); d < wr->height; d++)
			need += wr->k[d];
	KASSERT(need <= ARRAY_SIZE(wr->pool), "mt_pool_fill: %u nodes", need);
	wr->npool = need;
	wr->used = 0;
	return mt_nodes_get(wr->mt, wr->pool, need);
}

/* mt_fill_node: make n hold items[0..cnt) of the given type; start is the
 * first address of items[0]. Returns the largest gap below n. */
uint64_t mt_fill_node(struct mt_node *n, enum mt_type type, const struct mt_item *items,
		      unsigned cnt, uint64_t start)
{
	uint64_t gap = 0;

	n->type = type;
	n->nr = (uint8_t)cnt;
	for (unsigned i = 0; i < cnt; i++) {
		uint64_t g = items[i].gap;

		if (type == MT_LEAF) {
			uint64_t lo = i ? items[i - 1].last + 1 : start;

			n->leaf.slot[i] = items[i].ptr;
			g = items[i].ptr ? 0 : mt_gap_len(lo, items[i].last);
		} else {
			n->in.child[i] = items[i].ptr;
			n->in.gap[i] = g;
		}
		if (i + 1 < cnt && type == MT_LEAF)
			n->leaf.pivot[i] = items[i].last;
		else if (i + 1 < cnt)
			n->in.pivot[i] = items[i].last;
		if (g > gap)
			gap = g;
	}
	return gap;
}

/* mt_split: build the k[d] new nodes of depth d from s; their items in out. */
static unsigned mt_split(struct mt_wr *wr, unsigned d, const struct mt_seq *s,
			 struct mt_item *out)
{
	enum mt_type type = d + 1 == wr->height ? MT_LEAF : MT_INTERNAL;
	unsigned k = wr->k[d];

	KASSERT(s->n == wr->cnt[d], "mt_split: depth %u has %u items, planned %u",
		d, s->n, wr->cnt[d]);
	for (unsigned j = 0; j < k; j++) {
		unsigned a = j * s->n / k, b = (j + 1) * s->n / k;
		uint64_t start = a ? s->it[a - 1].last + 1 : wr->smin[d];
		struct mt_node *n = wr->pool[wr->used++];

		out[j].gap = mt_fill_node(n, type, &s->it[a], b - a, start);
		out[j].ptr = n;
		out[j].last = s->it[b - 1].last;
	}
	return k;
}

/* mt_build: build the new nodes bottom-up; returns the new root, or with
 * wr->pub the new node of that depth (its largest gap in *gap). */
static struct mt_node *mt_build(struct mt_wr *wr, uint64_t *gap)
{
	struct mt_item below[MT_SPLIT_MAX];
	struct mt_seq s;
	unsigned nb = 0;
	struct mt_node *root;

	*gap = 0;
	if (wr->empty)
		return NULL;
	for (unsigned d = wr->height; d-- > mt_base(wr);) {
		mt_level_seq(wr, d, &s, below, nb);
		nb = mt_split(wr, d, &s, below);
	}
	*gap = below[0].gap;
	if (!wr->grow)
		return below[0].ptr;
	root = wr->pool[wr->used++];
	mt_fill_node(root, MT_INTERNAL, below, nb, 0);
	return root;
}

/* mt_retire: after the new root (or node of depth pub) is published, kill
 * every node of the old spans from depth pub down, deepest first (a walk to
 * depth d only reads depths < d, which are not yet overlaid), and free them
 * all after one grace period. */
static void mt_retire(struct mt_wr *wr)
{
	struct mt_node *chain = NULL, *n;
	unsigned long count = 0;
	uint64_t min, max;

	for (unsigned d = wr->height; d-- > wr->pub;) {
		uint64_t x = wr->smin[d];

		for (;;) {
			n = mt_wdescend(wr, x, d, &min, &max);
			mt_node_kill(n, &chain);
			count++;
			if (max >= wr->smax[d])
				break;
			x = max + 1;
		}
	}
	mt_free_chain(wr->mt, chain, count);
}

/* mt_publish_inplace: replace the old node of depth wr->pub by fresh (same
 * bounds) in its parent, fix the gaps above, and leave the old node as the
 * only way mt_retire finds the old nodes below it (the cached ancestors now
 * lead to the new ones). */
static void mt_publish_inplace(struct mt_wr *wr, struct mt_node *fresh, uint64_t gap)
{
	struct mt_node *path[MT_MAX_HEIGHT], *old;
	unsigned off[MT_MAX_HEIGHT], p = wr->pub;
	uint64_t x = wr->smin[p], min, max;

	for (unsigned d = 0; d < p; d++) {
		path[d] = mt_wdescend(wr, x, d, &min, &max);
		off[d] = mt_slot_find(path[d], x);
	}
	old = mt_wdescend(wr, x, p, &min, &max);
	mt_replace_child(wr->mt, path, off, p, fresh, gap);
	for (unsigned d = 0; d < p; d++)
		wr->pcn[d] = 0;
	mt_pc_add(wr, p, old, min, max);
}

/* mt_store_general: any store into a non-empty tree (see the top of this
 * file). 0 or -ENOMEM with the tree and the reservation unchanged. */
int mt_store_general(struct maple_tree *mt, uint64_t first, uint64_t last, void *entry)
{
	struct mt_wr wr;	/* ~3 KiB; plan and build add ~1.7 KiB each */
	struct mt_node *root;
	uint64_t gap;
	int err;

	wr.mt = mt;
	wr.root = mt->root;
	wr.height = mt->height;
	wr.first = first;
	wr.last = last;
	wr.entry = entry;
	for (unsigned d = 0; d < wr.height; d++) {
		wr.lo[d] = first;
		wr.hi[d] = last;
		wr.pcn[d] = 0;
	}
	mt_pc_add(&wr, 0, wr.root, 0, UINT64_MAX);
	mt_plan(&wr);
	if (wr.grow && wr.height == MT_MAX_HEIGHT)
		return -ENOMEM;	/* tens of millions of ranges: refuse, intact */
	err = mt_pool_fill(&wr);
	if (err)
		return err;
	/* Point of no return: from here on the store only writes. */
	root = mt_build(&wr, &gap);
	KASSERT(wr.used == wr.npool, "mt_store_general: used %u of %u nodes", wr.used, wr.npool);
	if (wr.pub) {
		mt_publish_inplace(&wr, root, gap);
		mt->st_inner++;
	} else {
		DEBUG_YIELD();
		mt->height = wr.empty ? 0 : wr.grow ? wr.height + 1 : wr.height - wr.top;
		rcu_assign_pointer(mt->root, root);
		DEBUG_YIELD();
		mt->st_root++;
	}
	mt_retire(&wr);
	return 0;
}
