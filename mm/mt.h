/*
 * mm/mt.h - the maple-style RCU range tree that holds every mapping.
 *
 * API CONTRACT (shared by the tree and the mm core; extend, do not change
 * these signatures). Implementation notes, node layout and the
 * synchronization table are documented below by the tree's implementation.
 *
 * Keys are inclusive ranges [first, last] of 64-bit addresses, values are
 * non-NULL pointers. Ranges never overlap. A NULL value means "empty".
 *
 * Readers call the lookup functions inside rcu_read_lock(); they take no lock.
 * Writers (insert/store/erase/reserve/destroy) are serialised by the caller
 * (the owning address space's lock held for writing).
 *
 * Errors are negative errno: -EINVAL (first > last, NULL entry where one is
 * required), -EEXIST (insert overlaps), -ENOMEM (allocation failed: the tree
 * is left exactly as it was), -ENOENT / -ENOMEM (gap search found nothing,
 * see mt_gap_find).
 *
 * IMPLEMENTATION NOTES (mm/mt.c, mt_write.c, mt_gap.c, mt_debug.c; node
 * layout in mm/mt_node.h)
 *
 * Shape. A B-tree over the whole space [0, UINT64_MAX] in the style of
 * Linux's maple tree: leaves ("range nodes") hold up to 16 slots and 15
 * pivots; a slot is an entry or NULL, so every address is covered by exactly
 * one leaf slot. A gap is a run of NULL slots, longer than one slot only
 * where an exact erase was written in place (below), and then possibly
 * shared by two neighbouring leaves (mt_node.h). Internal nodes hold up
 * to 10 children, 9 pivots and, per child, the largest gap below it. All
 * nodes are 256 bytes and 256-aligned (four cache lines).
 *
 * Fan-out 10 for internal nodes: 10 children + 9 pivots + 10 gap words + an
 * 8-byte header is 240 bytes, the most that fits 256 bytes with exact 64-bit
 * per-child gaps (11 would need 264). Gap metadata in every internal node is
 * what makes top-down/bottom-up gap search O(log n) (no separate gap index,
 * no second node type to maintain). Leaves keep the maple tree's 16 slots:
 * with gaps as slots, a leaf holds 3-16 mappings, and 100,000 mappings need
 * height 5-6; a lookup touches one node per level, a linear scan of at most
 * 15 pivots in 2 cache lines each (counted branch-free). Minimum fill
 * (non-root): leaves 6, internal nodes 3, i.e. below half so that an
 * insert/erase pair at a boundary does not split and merge the same node
 * each time. A leaf that overflows first shares with a sibling under the
 * same parent if the two fit in two leaves (B*-tree style), so leaves run
 * fuller than a plain split leaves them (47 bytes per range at 100,000
 * random inserts instead of 54).
 *
 * Copy-on-write, but only where contents change. A store never changes a
 * node's shape (type, nr, pivots) while a reader can reach it; what it
 * changes in place, after every allocation it needs has succeeded, are
 * single aligned words: a leaf slot whose value changes while no pivot does
 * (rcu_assign_pointer; this includes an erase of exactly one slot's range,
 * whose NULL neighbours are then left unmerged, also across a leaf edge, so
 * that an erase and the insert that puts the same range back copy nothing;
 * merging is deferred to the next store that rebuilds the leaf), a child
 * pointer to a new node with the same bounds
 * as the one it replaces (rcu_assign_pointer, after the new node is
 * complete), and the gap words of ancestors (relaxed atomic stores). The
 * nodes whose shape changes (a leaf that gains or loses a range, nodes that
 * split, merge or rebalance) are built as new private nodes; the topmost
 * node that changes is published with one rcu_assign_pointer into its
 * parent's child slot (or the root if the root itself changes or the height
 * does), and the replaced nodes are marked dead and freed after a grace
 * period (batched: one call_rcu per 16 retired nodes). The common stores
 * (insert into a gap, erase or overwrite one mapping) therefore allocate one
 * leaf or nothing and touch one or two words above it, instead of copying
 * the 5-6 nodes of the path; an erase of one mapping, and putting it back,
 * allocate nothing and write one slot (and gap words, of both leaves' paths
 * where the gap is shared by two leaves), unless the erase would leave a
 * leaf below its minimum fill or sharing runs at both edges (then it copies).
 *
 * What a reader may observe: every node it reaches has a fixed shape, so the
 * slot it picks covers the same addresses before and after the store; every
 * word it loads is the old or the new one; a replaced node's replacement has
 * the same bounds, so either answers for every address it covers. Hence a
 * lookup of any address returns its entry from before or from after the
 * store, never a hole it did not have; a reader that reaches a dead node
 * (it got the pointer before the replacement) restarts from the root
 * (mt_node_dead; see mt_node.h). Different addresses may be answered from
 * different versions (a reader is not a snapshot of the whole tree, and
 * mt_seek/next/prev are several lookups anyway). Gap metadata seen by an RCU
 * reader may mix old and new words of one store: exact under the writer
 * lock, a hint otherwise (mt_gap.c says exactly what a reader may see).
 *
 * Transactions and failure. A store plans everything first (no allocation),
 * then allocates every node it needs, and only then builds and publishes:
 * -ENOMEM therefore leaves the tree untouched and frees what it got.
 * mt_reserve(n) sets aside n worst cases of 5 * (height + 1) + 1 nodes each
 * (at most 5 new nodes per depth), so that n stores cannot fail. (The one
 * other -ENOMEM: a store that would grow the tree past height 16, which
 * takes more than 28 million ranges, is refused with the tree intact.)
 *
 * Cost and recycling. A store allocates no node (value only), one (a leaf)
 * or, when nodes split or merge, the nodes of the changed levels; it
 * retires as many. Retired nodes go to call_rcu in batches of at least 16;
 * when its grace period ends, a batch is not freed but handed back to the
 * tree (mt_recycle.c), and later stores and mt_reserve take their nodes from
 * it before calling env_alloc (mt_reserve once did not, and a tree used only
 * through reservations kept every node it ever retired). In steady state a
 * store therefore allocates and frees nothing; the tree keeps at most what
 * it retired during one grace period, plus up to 15 retired nodes not yet
 * submitted (mt_shrink and mt_destroy give them back). A lookup allocates nothing and writes nothing shared.
 *
 * SYNCHRONIZATION TABLE ("yes": may run concurrently on one tree)
 *
 *                        find/seek/next/   gap_find   insert/store/erase/
 *                        prev/for_each                reserve/destroy
 *   find/seek/next/prev  yes (RCU)         yes        yes (reader under RCU)
 *   gap_find             yes               yes        yes (under RCU; the
 *                                                     answer is a hint then,
 *                                                     see mt_gap.c)
 *   insert/store/erase/  yes               yes        NO: writer lock
 *   reserve/release/
 *   destroy/validate
 *   node_count/bytes     (W) exact under the writer lock, a hint otherwise
 *
 * A reader result is a snapshot: the entry may be replaced the moment
 * rcu_read_unlock runs; the entry's own lifetime is the caller's business
 * (free it after a grace period). mt_destroy frees nodes after a grace period
 * too, so readers still inside rcu_read_lock stay safe, but the caller must
 * not start new readers on a destroyed tree.
 */
#ifndef KESTREL_MM_MT_H
#define KESTREL_MM_MT_H

#include "sync/env.h"

struct mt_node;

struct mt_range {
	uint64_t first;
	uint64_t last;
};

struct maple_tree {
	struct mt_node *root;		/* (R) published with rcu_assign_pointer */
	/* Every lookup loads root; every store writes the fields below. Keep
	 * them off root's cache line, or each store costs every reader a
	 * coherence miss (measured: docs/bench-tree.md). */
	uint8_t root_line[CACHELINE - sizeof(struct mt_node *)];
	/* Writer-only state (W: the caller's writer lock). */
	unsigned height;		/* (W) */
	unsigned long nr_nodes;		/* (W) live nodes, including reserved */
	struct mt_node *reserve;	/* (W) nodes set aside by mt_reserve */
	unsigned nr_reserve;		/* (W) */
	unsigned nr_recycled;		/* (W) of those, taken from cooled batches
					 * since the last mt_reserve_release */
	unsigned txn_stores;		/* (W) stores the open reservation still
					 * covers; MT_NO_TXN when none is open */
	struct mt_node *cool_head;	/* (W) retired node batches, oldest */
	struct mt_node *cool_tail;	/* (W)   first (mm/mt_recycle.c) */
	struct mt_node *open;		/* (W) retired nodes not yet handed */
	struct mt_node *open_tail;	/* (W)   to call_rcu, and how many */
	unsigned nr_open;		/* (W) */
	/* (W) statistics, how stores were published (tests, benchmarks). */
	unsigned long st_value;		/* (W) one slot's value, in place */
	unsigned long st_leaf;		/* (W) one new leaf, in place */
	unsigned long st_inner;		/* (W) a new subtree below the root */
	unsigned long st_root;		/* (W) a new root */
};

/* Set-up and tear-down. mt_destroy frees every node (after a grace period if
 * readers may still be walking); values are not touched. */
void mt_init(struct maple_tree *mt);
void mt_destroy(struct maple_tree *mt);

/* Readers (inside rcu_read_lock). Each returns the entry or NULL and, when r is
 * non-NULL and an entry was found, its range.
 *   mt_find   the entry covering addr
 *   mt_seek   the lowest entry with last >= addr (covering or after addr)
 *   mt_next   the lowest entry with first > addr
 *   mt_prev   the highest entry with last < addr                           */
void *mt_find(struct maple_tree *mt, uint64_t addr, struct mt_range *r);
void *mt_seek(struct maple_tree *mt, uint64_t addr, struct mt_range *r);
void *mt_next(struct maple_tree *mt, uint64_t addr, struct mt_range *r);
void *mt_prev(struct maple_tree *mt, uint64_t addr, struct mt_range *r);

/* Writers. mt_insert fails with -EEXIST if any address of [first, last] is
 * occupied. mt_store overwrites whatever overlaps [first, last], trimming
 * neighbours that stick out; entry NULL erases. mt_erase == mt_store(NULL). */
int mt_insert(struct maple_tree *mt, uint64_t first, uint64_t last, void *entry);
int mt_store(struct maple_tree *mt, uint64_t first, uint64_t last, void *entry);
int mt_erase(struct maple_tree *mt, uint64_t first, uint64_t last);

/* Gap search: a free, aligned range of size bytes inside [lo, hi] (inclusive
 * bounds), highest such address if topdown, else lowest. 0 and *addr set, or
 * -ENOMEM if none. align is a power of two >= 1. O(log n) via per-subtree
 * largest-gap metadata. Writer lock or rcu_read_lock. */
int mt_gap_find(struct maple_tree *mt, uint64_t lo, uint64_t hi, uint64_t size,
		uint64_t align, bool topdown, uint64_t *addr);

/* Transactions. mt_reserve sets aside enough nodes for nstores subsequent
 * insert/store/erase calls, so that those cannot fail with -ENOMEM; 0 or
 * -ENOMEM (nothing reserved). Until mt_reserve_release, which frees what was
 * not used, a store beyond the nstores reserved is a bug and panics: the
 * worst-case bound would no longer hold, though the nodes left usually
 * hide it. */
#define MT_NO_TXN	(~0u)
int mt_reserve(struct maple_tree *mt, unsigned nstores);
void mt_reserve_release(struct maple_tree *mt);

/* mt_shrink: give back to env_free the retired nodes whose grace period has
 * ended and that the tree kept for reuse, and, unless a reservation is open,
 * the reserved nodes (memory pressure, tests that want every allocation to
 * reach env_alloc). Writer lock held. */
void mt_shrink(struct maple_tree *mt);

/* Accounting: live nodes and bytes (node size * nodes). Retired nodes
 * waiting for their grace period or for reuse are not counted. */
unsigned long mt_node_count(const struct maple_tree *mt);
size_t mt_bytes(const struct maple_tree *mt);

/* Debug: check every structural invariant; 0 or a negative code after
 * printing what is wrong (writer lock held). */
int mt_validate(struct maple_tree *mt);
void mt_dump(const struct maple_tree *mt);

/* Iterate entries overlapping [first, last] in address order (RCU, or the
 * writer lock, or anything else that excludes writers). */
#define mt_for_each(mt, entry, from, to, rng)                                \
	for ((entry) = mt_seek((mt), (from), &(rng));                           \
	     (entry) && (rng).first <= (to);                                    \
	     (entry) = ((rng).last == UINT64_MAX) ? NULL :                      \
		       mt_seek((mt), (rng).last + 1, &(rng)))

#endif
