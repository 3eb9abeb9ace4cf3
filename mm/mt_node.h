/*
 * mm/mt_node.h - node layout and helpers private to the range tree (mt*.c).
 *
 * Every node is 256 bytes, aligned to 256 (four cache lines), and starts with
 * an 8-byte header that is constant for the node's life except for `dead`:
 *
 *   range (leaf) node            internal node
 *   +--------------------+       +--------------------+
 *   | hdr: type nr dead  | 8     | hdr: type nr dead  | 8
 *   | pivot[15]          | 120   | pivot[9]           | 72
 *   | slot[16]           | 128   | child[10]          | 80
 *   +--------------------+       | gap[10]            | 80
 *        256                     | (unused)           | 16
 *                                +--------------------+
 *
 * A node covers [min, max], known from its parent (root: [0, UINT64_MAX]).
 * Slot i covers [pivot[i-1] + 1, pivot[i]], where pivot[-1] + 1 = min and the
 * pivot of the last used slot (nr - 1) is implicitly max. Leaves cover every
 * address: a NULL slot is part of a gap. A gap is a run of adjacent NULL
 * slots. Runs of more than one slot exist only where an erase was written in
 * place (mt_store.c: an exact erase of one slot leaves its NULL neighbours
 * unmerged, so that putting the range back is in place too); every store
 * that rebuilds a leaf merges them. Such an erase at a leaf edge may leave a
 * run *shared* by two leaves (the last slot of one and the first of the
 * next both NULL). Every leaf holds at least one entry, so a run spans two
 * leaves at most; no leaf shares runs at both edges, so a store that merges
 * shared runs takes at most two more leaves per side into its span, never a
 * longer chain (mt_write.c); and a non-root leaf holds at least MT_LEAF_MIN items
 * with each of its runs counted once (the fill it would have merged).
 * gap[i] of an internal node is the longest gap touching the leaves below
 * child[i], a shared run counted whole on both sides (so a subtree holds a
 * gap of that size, possibly reaching into a neighbour: the search follows
 * it, mt_gap.c), saturated at UINT64_MAX for the 2^64-byte gap of an empty
 * tree.
 *
 * Once retired, a node's body may be overlaid by the free-batch bookkeeping
 * (mt_recycle.c: up to 120 bytes), which a reader that got the node before
 * it died may still be reading. Hence the reader rule (mt_node_dead): read what you need
 * from the node, then check `dead`; if set, the values may be garbage and the
 * walk restarts from the root.
 *
 * In-place writes (mt_store.c, mt_write.c). Type, nr and pivots never change
 * while a node is reachable, so a node's shape (which slot covers which
 * addresses) is fixed from publication to death. Three kinds of word are
 * written in place, by the writer only, under its lock, and only after every
 * allocation of the store succeeded:
 *   - a leaf slot, when a store changes one slot's value and no pivot,
 *     including an erase to NULL (rcu_assign_pointer: the entry is
 *     initialised before it is seen);
 *   - a child pointer, to replace a child by a new node with the same bounds
 *     (rcu_assign_pointer: the new node is complete before it is seen);
 *   - a gap word of an internal node (relaxed atomic store, see mt_gap_set).
 * Each is one aligned 8-byte word, so a reader sees the old or the new value,
 * never a mix. A reader therefore sees, for each address, either the slot
 * value before or after the store: never a hole that neither version had.
 *
 * Field legend: (C) constant while the node is reachable (written before
 * publication); (R) written in place while reachable by the writer with
 * rcu_assign_pointer, read by readers with rcu_dereference; (G) written in
 * place by the writer with relaxed atomic stores: exact under the writer
 * lock, a hint for an RCU reader (mt_gap.c); (A) accessed atomically by
 * writer, readers and the RCU callback; (W) writer lock, and only while the
 * node is unreachable.
 */
#ifndef KESTREL_MM_MT_NODE_H
#define KESTREL_MM_MT_NODE_H

#include "mm/mt.h"
#include "sync/rcu.h"

#define MT_NODE_SIZE	256
#define MT_LEAF_SLOTS	16
#define MT_INT_SLOTS	10
#define MT_LEAF_MIN	6	/* fill of a non-root leaf */
#define MT_INT_MIN	3	/* fill of a non-root internal node */
#define MT_MAX_HEIGHT	16	/* height 17 needs > 2*3^14*3 = 28.7M ranges */
#define MT_SPLIT_MAX	5	/* new nodes per depth per store, at most */
#define MT_SEQ_MAX	72	/* items of one depth of a store (<= 65) */
#define MT_RETIRE_BATCH	16	/* retired nodes per call_rcu */
#define MT_BATCH_PF	8	/* nodes of a batch prefetched on reuse */

enum mt_type { MT_LEAF = 1, MT_INTERNAL = 2 };

struct mt_node {
	uint8_t type;		/* (C) enum mt_type */
	uint8_t nr;		/* (C) slots in use */
	uint8_t dead;		/* (A) 0 -> 1 once, by the writer, after unpublishing */
	uint8_t pad[5];
	union {
		struct {
			uint64_t pivot[MT_LEAF_SLOTS - 1];	/* (C) */
			void *slot[MT_LEAF_SLOTS];		/* (R) */
		} leaf;
		struct {
			uint64_t pivot[MT_INT_SLOTS - 1];	/* (C) */
			struct mt_node *child[MT_INT_SLOTS];	/* (R) */
			uint64_t gap[MT_INT_SLOTS];		/* (G) */
		} in;
		struct {			/* after death only (mt_recycle.c) */
			struct mt_node *next;		/* (W) next node of the batch:
							 * same word as reserve_next */
			struct rcu_head rcu;
			struct mt_node *tail;		/* (W) last node of the batch */
			struct mt_node *batch_next;	/* (W) next retired batch */
			unsigned long count;		/* (W) nodes in the batch */
			uint32_t state;			/* (A) enum mt_batch_state */
			struct mt_node *first[MT_BATCH_PF];	/* (W) its first
							 * nodes, to prefetch */
		} free;
		struct mt_node *reserve_next;	/* (W) while in mt->reserve */
	};
} __attribute__((aligned(MT_NODE_SIZE)));

_Static_assert(sizeof(struct mt_node) == MT_NODE_SIZE, "mt_node must be 256 bytes");
_Static_assert(offsetof(struct mt_node, free.first[MT_BATCH_PF]) <= MT_NODE_SIZE,
	       "the free overlay must fit the node body");
_Static_assert(offsetof(struct mt_node, free.next) == offsetof(struct mt_node, reserve_next),
	       "a cooled batch is spliced into the reservation as it is");
_Static_assert(MT_LEAF_MIN * 2 <= MT_LEAF_SLOTS + 1 && MT_INT_MIN * 2 <= MT_INT_SLOTS + 1,
	       "an even split of an overfull node must satisfy the minimum fill");

/* One element of the sequence a store rebuilds a depth from: a leaf range
 * ending at `last`, or a child subtree whose max is `last`. */
struct mt_item {
	uint64_t last;
	void *ptr;
	uint64_t gap;	/* children only: largest gap below */
};

/* mt_node_dead: after reading fields of n, may they be trusted? The acquire
 * fence orders those reads before the load of dead; it pairs with the release
 * in mt_node_kill (dead is set before the free overlay is written). */
static inline bool mt_node_dead(const struct mt_node *n)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&n->dead, __ATOMIC_ACQUIRE) != 0;
}

/* mt_gap_get / mt_gap_set: gap word i of an internal node. Relaxed atomics:
 * the writer updates gaps of reachable nodes in place while RCU readers may
 * read them; one aligned word, so a reader gets the old or the new value. No
 * ordering is needed: a gap is a hint to a lock-free reader (mt_gap.c). */
static inline uint64_t mt_gap_get(const struct mt_node *n, unsigned i)
{
	return __atomic_load_n(&n->in.gap[i], __ATOMIC_RELAXED);
}

static inline void mt_gap_set(struct mt_node *n, unsigned i, uint64_t gap)
{
	__atomic_store_n(&n->in.gap[i], gap, __ATOMIC_RELAXED);
}

static inline const uint64_t *mt_pivots(const struct mt_node *n)
{
	return n->type == MT_LEAF ? n->leaf.pivot : n->in.pivot;
}

/* mt_slot_find: index of the slot of n covering addr (pivots are sorted):
 * the number of used pivots below addr. Counted over the whole fixed-size
 * pivot array without branches (the compiler vectorises it): a scan that
 * stops at the first pivot >= addr mispredicts its exit once per node on
 * random lookups. Pivots past nr - 1 are read but masked; they lie inside
 * the node either way. */
static inline unsigned mt_slot_find(const struct mt_node *n, uint64_t addr)
{
	unsigned i = 0, last = n->nr - 1u;

	if (n->type == MT_LEAF) {
		for (unsigned j = 0; j < MT_LEAF_SLOTS - 1; j++)
			i += (j < last) & (n->leaf.pivot[j] < addr);
	} else {
		for (unsigned j = 0; j < MT_INT_SLOTS - 1; j++)
			i += (j < last) & (n->in.pivot[j] < addr);
	}
	return i;
}

/* mt_slot_range: [*lo, *hi] covered by slot i of n, which covers [min, max]. */
static inline void mt_slot_range(const struct mt_node *n, unsigned i, uint64_t min,
				 uint64_t max, uint64_t *lo, uint64_t *hi)
{
	const uint64_t *piv = mt_pivots(n);

	*lo = i ? piv[i - 1] + 1 : min;
	*hi = i + 1u < n->nr ? piv[i] : max;
}

/* mt_leaf_run: the run of gaps of leaf n ([min, max]) that starts at gap
 * slot i, followed downward if down, else upward, inside n: its bounds in
 * *a, *b; returns the slot it ends at (a run shared with the neighbouring
 * leaf continues there: mt_run_beyond). Each slot is loaded once, with
 * rcu_dereference (RCU readers use it too). */
static inline unsigned mt_leaf_run(const struct mt_node *n, unsigned i, bool down, uint64_t min,
				   uint64_t max, uint64_t *a, uint64_t *b)
{
	uint64_t lo, hi;

	mt_slot_range(n, i, min, max, a, b);
	for (;;) {
		unsigned k = down ? i - 1 : i + 1;

		if ((down ? i == 0 : k >= n->nr) || rcu_dereference(n->leaf.slot[k]))
			return i;
		mt_slot_range(n, k, min, max, &lo, &hi);
		if (down)
			*a = lo;
		else
			*b = hi;
		i = k;
	}
}

/* mt_leaf_run_end: if slot i of leaf n ([min, max]) is a gap, where its
 * run ends inside n going down (toward min) if down, else up, in *end;
 * false (and *end untouched) if an entry is there. Readers check
 * mt_node_dead(n) before trusting *end. */
static inline bool mt_leaf_run_end(const struct mt_node *n, unsigned i, bool down, uint64_t min,
				   uint64_t max, uint64_t *end)
{
	uint64_t a, b;

	if (rcu_dereference(n->leaf.slot[i]))
		return false;
	mt_leaf_run(n, i, down, min, max, &a, &b);
	*end = down ? a : b;
	return true;
}

/* mt_node_prefetch: start loading all four lines of a node we are about to
 * search or write, so that they miss in parallel, not one by one. A hint:
 * harmless on any address. */
static inline void mt_node_prefetch(const struct mt_node *n)
{
	for (unsigned off = 0; off < MT_NODE_SIZE; off += CACHELINE)
		__builtin_prefetch((const char *)n + off);
}

/* mt_leaf_walk: the leaf covering addr, with its bounds in *min, *max; NULL
 * if the tree is empty. Inside rcu_read_lock or with the writer lock. The
 * internal nodes passed were live when their child was read (restarts from
 * the root otherwise); the leaf may die after it is returned, so a reader
 * checks mt_node_dead(leaf) after reading from it, and restarts if set. */
static inline struct mt_node *mt_leaf_walk(struct maple_tree *mt, uint64_t addr,
					   uint64_t *min, uint64_t *max)
{
	struct mt_node *n, *c;
	uint64_t lo, hi;
	unsigned i;

retry:
	n = rcu_dereference(mt->root);
	*min = 0;
	*max = UINT64_MAX;
	if (!n)
		return NULL;
	mt_node_prefetch(n);
	while (n->type != MT_LEAF) {
		i = mt_slot_find(n, addr);
		mt_slot_range(n, i, *min, *max, &lo, &hi);
		c = rcu_dereference(n->in.child[i]);
		DEBUG_YIELD();	/* torture: let the writer kill n right here */
		if (unlikely(mt_node_dead(n)))
			goto retry;
		mt_node_prefetch(c);
		n = c;
		*min = lo;
		*max = hi;
	}
	return n;
}

/* mt_gap_len: length of [first, last], saturated at UINT64_MAX. */
static inline uint64_t mt_gap_len(uint64_t first, uint64_t last)
{
	uint64_t len = last - first + 1;

	return len ? len : UINT64_MAX;
}

/* The in-place store path's state (mt_store.c, mt_shared.c): the path to
 * one leaf, and the new leaf's items when it is rebuilt. */
struct mt_fast {
	struct mt_node *path[MT_MAX_HEIGHT];	/* old nodes, root first */
	unsigned off[MT_MAX_HEIGHT];		/* child taken at each depth */
	uint64_t min, max;			/* the leaf's bounds */
	uint64_t pmin, pmax;			/* its parent's (height > 1) */
	uint64_t lo, hi;			/* its slot covering first */
	struct mt_item it[MT_LEAF_SLOTS + 2];	/* the new leaf's items */
	unsigned n;
};

int mt_fast_walk(struct maple_tree *mt, struct mt_fast *f, uint64_t first, uint64_t last,
		 bool insert);
uint64_t mt_fast_reach(struct maple_tree *mt, const struct mt_fast *f, bool right);
void mt_neighbour_gaps(struct maple_tree *mt, const struct mt_fast *f, unsigned i, bool right);
bool mt_fast_edge_ok(struct maple_tree *mt, const struct mt_fast *f, const struct mt_node *leaf,
		     unsigned i, bool right);

/* Stores (mt_write.c, mt_store.c). */
void mt_replace_child(struct maple_tree *mt, struct mt_node *const *path, const unsigned *off,
		      unsigned depth, struct mt_node *fresh, uint64_t gap);
void mt_gaps_update(struct mt_node *const *path, const unsigned *off, unsigned depth,
		    uint64_t gap);
uint64_t mt_fill_node(struct mt_node *n, enum mt_type type, const struct mt_item *items,
		      unsigned cnt, uint64_t start);
int mt_store_general(struct maple_tree *mt, uint64_t first, uint64_t last, void *entry);

/* Node allocation (mt.c) and retirement after a grace period (mt_recycle.c). */
int mt_nodes_get(struct maple_tree *mt, struct mt_node **pool, unsigned need);
struct mt_node *mt_node_get(struct maple_tree *mt);
void mt_node_put_unused(struct maple_tree *mt, struct mt_node *n);
void mt_node_kill(struct mt_node *n, struct mt_node **chain);
void mt_free_chain(struct maple_tree *mt, struct mt_node *chain, unsigned long n);
void mt_free_chain_now(struct maple_tree *mt, struct mt_node *chain, unsigned long n);
bool mt_cool_take(struct maple_tree *mt);
void mt_cool_return(struct maple_tree *mt, unsigned n);
void mt_recycle_orphan(struct maple_tree *mt);
/* Gaps (mt_gap.c). */
bool mt_run_beyond(struct maple_tree *mt, uint64_t x, bool down, uint64_t *end);
uint64_t mt_leaf_gap_in(const struct mt_node *n, uint64_t min, uint64_t max, uint64_t lo_end,
			uint64_t hi_end);
uint64_t mt_leaf_gap(struct maple_tree *mt, const struct mt_node *n, uint64_t min, uint64_t max);
uint64_t mt_node_gap(struct maple_tree *mt, const struct mt_node *n, uint64_t min, uint64_t max);
unsigned mt_store_worst_case(unsigned height);

#endif
