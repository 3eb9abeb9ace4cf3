/*
 * mm/mt.c - the range tree: node allocation, reservations, accounting and
 * the lock-free readers (retired nodes: mt_recycle.c). Writers are in mt_write.c, gap search
 * in mt_gap.c, validation in mt_debug.c; the design is in mt.h and mt_node.h.
 *
 * Reader correctness: a reader loads mt->root with rcu_dereference and walks
 * child pointers and loads leaf slots with rcu_dereference; the writer
 * publishes every new node and entry with a release store (rcu_assign_pointer)
 * after it is fully written, either as the root or, in place, into a child
 * or leaf slot (mt.h, mt_node.h). A reachable node's type, nr and pivots
 * never change, so the slot a reader picks is the right one in any version,
 * and the word it loads is the old or the new one. The only other write to
 * an unreachable-but-not-yet-freed node is the free overlay, which comes
 * after `dead` is set; readers check `dead` after their reads (mt_node_dead)
 * and restart from the root if it is set.
 */
#include "mm/mt_node.h"

void mt_init(struct maple_tree *mt)
{
	mt->root = NULL;
	mt->height = 0;
	mt->nr_nodes = 0;
	mt->reserve = NULL;
	mt->nr_reserve = 0;
	mt->nr_recycled = 0;
	mt->txn_stores = MT_NO_TXN;
	mt->cool_head = NULL;
	mt->cool_tail = NULL;
	mt->open = NULL;
	mt->open_tail = NULL;
	mt->nr_open = 0;
	mt->st_value = 0;
	mt->st_leaf = 0;
	mt->st_inner = 0;
	mt->st_root = 0;
}

/* mt_node_get: a zeroed node from the reservation, else from env_alloc;
 * NULL when env_alloc fails. Writer lock held. Recycled nodes sit behind
 * the fresh ones in the reservation (mt_reserve takes them first and puts
 * fresh ones in front), so the ones used first are fresh: the recycled
 * count only drops when fewer nodes than that are left. */
struct mt_node *mt_node_get(struct maple_tree *mt)
{
	struct mt_node *n = mt->reserve;

	if (n) {
		mt->reserve = n->reserve_next;
		mt->nr_reserve--;
		if (mt->nr_recycled > mt->nr_reserve)
			mt->nr_recycled = mt->nr_reserve;
		if (mt->reserve)	/* recycled nodes are cold: overlap */
			__builtin_prefetch(mt->reserve, 1);
	} else {
		n = env_alloc(sizeof(*n));
		if (!n)
			return NULL;
		mt->nr_nodes++;
	}
	memset(n, 0, sizeof(*n));
	return n;
}

/* mt_nodes_get: need nodes into pool[] (reservation first), or -ENOMEM with
 * nothing taken: fresh nodes freed, reserved ones given back. */
int mt_nodes_get(struct maple_tree *mt, struct mt_node **pool, unsigned need)
{
	unsigned from_reserve, got;

	while (mt->nr_reserve < need && mt_cool_take(mt))
		;	/* recycled nodes first (mt_recycle.c) */
	from_reserve = need < mt->nr_reserve ? need : mt->nr_reserve;

	for (got = 0; got < need; got++) {
		pool[got] = mt_node_get(mt);
		if (!pool[got])
			goto out_put_pool;
	}
	return 0;

out_put_pool:
	while (got > from_reserve) {
		env_free(pool[--got], MT_NODE_SIZE);
		mt->nr_nodes--;
	}
	while (got)
		mt_node_put_unused(mt, pool[--got]);
	return -ENOMEM;
}

/* mt_node_put_unused: give back a node that was never published (it goes to
 * the reservation, so a failed store leaves a reservation as it found it). */
void mt_node_put_unused(struct maple_tree *mt, struct mt_node *n)
{
	n->reserve_next = mt->reserve;
	mt->reserve = n;
	mt->nr_reserve++;
}

/* mt_node_kill: mark an unpublished node dead and push it on *chain. The
 * release store orders the root publication before `dead`, and `dead` before
 * the overlay writes (readers: mt_node_dead). */
void mt_node_kill(struct mt_node *n, struct mt_node **chain)
{
	__atomic_store_n(&n->dead, 1, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_RELEASE);	/* dead before overlay */
	n->free.next = *chain;
	*chain = n;
}

/* mt_kill_subtree: kill every node below and including n (depth-first). */
static unsigned long mt_kill_subtree(struct mt_node *n, struct mt_node **chain)
{
	unsigned long count = 1;

	if (n->type == MT_INTERNAL)
		for (unsigned i = 0; i < n->nr; i++)
			count += mt_kill_subtree(n->in.child[i], chain);
	mt_node_kill(n, chain);
	return count;
}

/* mt_destroy: unpublish everything, free the nodes after a grace period and
 * the reservation at once. Writer lock held; entries are not touched. */
void mt_destroy(struct maple_tree *mt)
{
	struct mt_node *root = mt->root, *chain = NULL;
	unsigned long n = 0;

	rcu_assign_pointer(mt->root, NULL);
	if (root)
		n = mt_kill_subtree(root, &chain);
	mt_free_chain_now(mt, chain, n);
	mt_recycle_orphan(mt);
	mt->height = 0;
	mt->nr_recycled = 0;	/* the cache is gone: free the reservation */
	mt_reserve_release(mt);
}

/* mt_store_worst_case: nodes one store may allocate in a tree of this height:
 * at most MT_SPLIT_MAX per depth, one more depth, and a new root. */
unsigned mt_store_worst_case(unsigned height)
{
	return MT_SPLIT_MAX * (height + 1) + 1;
}

/* mt_reserve_height: the tallest the tree can get within nstores stores.
 * The height grows only when the root splits, which at least doubles the
 * fewest entries a tree of that height holds; a store adds at most two
 * ranges. So nstores stores add at most 1 + ceil(log2(2 * nstores + 1))
 * levels (one spare). Linear reservations, not quadratic: fork and mprotect
 * reserve one store per mapping. */
static unsigned mt_reserve_height(const struct maple_tree *mt, unsigned nstores)
{
	unsigned grow = 1;

	for (uint64_t cap = 1; cap < 2ull * nstores + 1; cap <<= 1)
		grow++;
	return mt->height + grow;
}

/* mt_reserve: set aside nodes for nstores more stores, each at the worst
 * case for the tallest the tree can get meanwhile; a reservation already
 * open is sized together with them. Recycled nodes whose grace period is
 * over are taken first. 0, or -ENOMEM with no transaction opened and
 * nothing allocated (recycled nodes taken stay reserved, and the next store
 * or mt_reserve_release uses them). Writer lock held. */
int mt_reserve(struct maple_tree *mt, unsigned nstores)
{
	unsigned long need = 0, got = 0;
	struct mt_node *fresh = NULL;
	unsigned total, h;

	if (!nstores)
		return 0;
	total = (mt->txn_stores == MT_NO_TXN ? 0 : mt->txn_stores) + nstores;
	h = mt_reserve_height(mt, total);
	for (unsigned i = 0; i < total; i++)
		need += mt_store_worst_case(h < mt->height + i ? h : mt->height + i);
	while (mt->nr_reserve < need && mt_cool_take(mt))
		;	/* recycled nodes first, or retired ones pile up */
	if (need <= mt->nr_reserve)
		goto out_covered;
	need -= mt->nr_reserve;
	for (; got < need; got++) {
		struct mt_node *n = env_alloc(sizeof(*n));

		if (!n)
			goto out_free_fresh;
		n->reserve_next = fresh;
		fresh = n;
	}
	while (fresh) {
		struct mt_node *n = fresh;

		fresh = n->reserve_next;
		mt_node_put_unused(mt, n);
	}
	mt->nr_nodes += got;
out_covered:
	mt->txn_stores = total;
	return 0;

out_free_fresh:
	while (fresh) {
		struct mt_node *n = fresh;

		fresh = n->reserve_next;
		env_free(n, sizeof(*n));
	}
	return -ENOMEM;
}

/* mt_reserve_release: free reserved nodes that were not used (never
 * published, so no grace period is needed), except as many as were taken
 * from the recycled cache, which go back to it. Writer lock held. */
void mt_reserve_release(struct maple_tree *mt)
{
	unsigned keep = mt->nr_recycled < mt->nr_reserve ? mt->nr_recycled : mt->nr_reserve;

	if (keep)
		mt_cool_return(mt, keep);
	mt->nr_recycled = 0;
	while (mt->reserve) {
		struct mt_node *n = mt->reserve;

		mt->reserve = n->reserve_next;
		env_free(n, sizeof(*n));
		mt->nr_nodes--;
	}
	mt->nr_reserve = 0;
	mt->txn_stores = MT_NO_TXN;
}

unsigned long mt_node_count(const struct maple_tree *mt)
{
	return mt->nr_nodes;
}

size_t mt_bytes(const struct maple_tree *mt)
{
	return (size_t)mt->nr_nodes * MT_NODE_SIZE;
}

/* mt_walk: the entry (or NULL for a gap) of the slot covering addr, and that
 * slot's range in *r. Inside rcu_read_lock or with the writer lock; restarts
 * if it reaches a node that died under it. */
static void *mt_walk(struct maple_tree *mt, uint64_t addr, struct mt_range *r)
{
	struct mt_node *n;
	uint64_t min, max;
	unsigned i;
	void *p;

retry:
	n = mt_leaf_walk(mt, addr, &min, &max);
	if (!n) {
		r->first = 0;
		r->last = UINT64_MAX;
		return NULL;
	}
	i = mt_slot_find(n, addr);
	mt_slot_range(n, i, min, max, &r->first, &r->last);
	p = rcu_dereference(n->leaf.slot[i]);
	DEBUG_YIELD();	/* torture: let the writer kill n right here */
	if (unlikely(mt_node_dead(n)))
		goto retry;
	return p;
}

void *mt_find(struct maple_tree *mt, uint64_t addr, struct mt_range *r)
{
	struct mt_range slot;
	void *e = mt_walk(mt, addr, &slot);

	if (e && r)
		*r = slot;
	return e;
}

void *mt_seek(struct maple_tree *mt, uint64_t addr, struct mt_range *r)
{
	struct mt_range slot;
	void *e;

	for (;;) {
		e = mt_walk(mt, addr, &slot);
		if (e || slot.last == UINT64_MAX)
			break;
		addr = slot.last + 1;
	}
	if (e && r)
		*r = slot;
	return e;
}

void *mt_next(struct maple_tree *mt, uint64_t addr, struct mt_range *r)
{
	struct mt_range slot;
	void *e;

	if (addr == UINT64_MAX)
		return NULL;
	e = mt_seek(mt, addr + 1, &slot);
	if (e && slot.first <= addr)
		e = slot.last == UINT64_MAX ? NULL : mt_seek(mt, slot.last + 1, &slot);
	if (e && r)
		*r = slot;
	return e;
}

void *mt_prev(struct maple_tree *mt, uint64_t addr, struct mt_range *r)
{
	struct mt_range slot;
	void *e;

	if (addr == 0)
		return NULL;
	addr--;
	for (;;) {
		e = mt_walk(mt, addr, &slot);
		if (e && slot.last <= addr)
			break;
		if (slot.first == 0)
			return NULL;
		addr = slot.first - 1;
	}
	if (r)
		*r = slot;
	return e;
}
