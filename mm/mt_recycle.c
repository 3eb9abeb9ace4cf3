/*
 * mm/mt_recycle.c - retired nodes: freed after a grace period, or reused.
 *
 * A store retires the nodes it replaced into the tree's open batch (a chain
 * through free.next); once that holds MT_RETIRE_BATCH nodes it is closed:
 * its first node's overlay gets the batch's size, tail, state and link in
 * the tree's FIFO of batches (mt->cool_head/tail), and the batch goes to
 * call_rcu. The callback only flips its state
 *
 *     PENDING --callback--> COOLED        (the writer may now reuse it)
 *     PENDING --mt_destroy--> ORPHANED --callback--> freed
 *
 * with one compare-and-swap, so exactly one side owns the batch afterwards.
 * The writer (mt_nodes_get) splices the oldest batch into the reservation
 * (the batch chain is already a reservation list) once it is COOLED: its grace period has ended, so no reader can still hold any
 * of its nodes, and reusing them needs no further synchronisation (the
 * callback's release CAS pairs with the writer's acquire load of the state).
 * Batches cool in the order they were retired, so only the head is checked.
 */
#include "mm/mt_node.h"

enum mt_batch_state { MT_BATCH_PENDING, MT_BATCH_COOLED, MT_BATCH_ORPHANED };

static void mt_chain_free(struct mt_node *n)
{
	while (n) {
		struct mt_node *next = n->free.next;

		env_free(n, sizeof(*n));
		n = next;
	}
}

static void mt_chain_free_rcu(struct rcu_head *h)
{
	mt_chain_free(container_of(h, struct mt_node, free.rcu));
}

/* mt_batch_cooled: the grace period of a retired batch is over: hand it to
 * its tree, or free it if the tree was destroyed meanwhile. The caller does
 * not touch the rcu_head after this returns (liburcu and the kernel both
 * read the next callback first). */
static void mt_batch_cooled(struct rcu_head *h)
{
	struct mt_node *b = container_of(h, struct mt_node, free.rcu);
	uint32_t expect = MT_BATCH_PENDING;

	if (!__atomic_compare_exchange_n(&b->free.state, &expect, MT_BATCH_COOLED, false,
					 __ATOMIC_RELEASE, __ATOMIC_ACQUIRE))
		mt_chain_free(b);	/* ORPHANED: the tree is gone */
}

/* mt_batch_submit: hand the open batch to call_rcu, queued for reuse. */
static void mt_batch_submit(struct maple_tree *mt)
{
	struct mt_node *b = mt->open, *n = b;

	for (unsigned i = 0; i < MT_BATCH_PF; i++, n = n ? n->free.next : NULL)
		b->free.first[i] = n;	/* warm now; reused cold (mt_cool_take) */
	b->free.count = mt->nr_open;
	b->free.tail = mt->open_tail;
	b->free.batch_next = NULL;
	__atomic_store_n(&b->free.state, MT_BATCH_PENDING, __ATOMIC_RELAXED);
	if (mt->cool_tail)
		mt->cool_tail->free.batch_next = b;
	else
		mt->cool_head = b;
	mt->cool_tail = b;
	mt->open = NULL;
	mt->open_tail = NULL;
	mt->nr_open = 0;
	call_rcu(&b->free.rcu, mt_batch_cooled);
}

/* mt_free_chain: retire n killed nodes (chained by mt_node_kill). They join
 * the open batch, which goes to call_rcu once it holds MT_RETIRE_BATCH nodes
 * (one callback and one cross-CPU handover per batch, not per store), and
 * comes back for reuse after its grace period. Writer lock held. */
void mt_free_chain(struct maple_tree *mt, struct mt_node *chain, unsigned long n)
{
	struct mt_node *tail = chain;

	if (!chain)
		return;
	mt->nr_nodes -= n;
	while (tail->free.next)		/* the nodes were just written: hot */
		tail = tail->free.next;
	tail->free.next = mt->open;
	if (!mt->open)
		mt->open_tail = tail;
	mt->open = chain;
	mt->nr_open += (unsigned)n;
	if (mt->nr_open >= MT_RETIRE_BATCH)
		mt_batch_submit(mt);
}

/* mt_free_chain_now: the tree is being torn down: the n killed nodes of
 * chain and the open batch go to env_free after a grace period. */
void mt_free_chain_now(struct maple_tree *mt, struct mt_node *chain, unsigned long n)
{
	mt->nr_nodes -= n;
	if (mt->open) {
		mt->open_tail->free.next = chain;
		chain = mt->open;
		mt->open = NULL;
		mt->open_tail = NULL;
		mt->nr_open = 0;
	}
	if (chain)
		call_rcu(&chain->free.rcu, mt_chain_free_rcu);
}

/* mt_batch_cool: is the oldest retired batch past its grace period? */
static struct mt_node *mt_batch_cool(struct maple_tree *mt)
{
	struct mt_node *b = mt->cool_head;

	if (!b || __atomic_load_n(&b->free.state, __ATOMIC_ACQUIRE) != MT_BATCH_COOLED)
		return NULL;
	mt->cool_head = b->free.batch_next;
	if (!mt->cool_head)
		mt->cool_tail = NULL;
	return b;
}

/* mt_cool_take: move the oldest cooled batch into the reservation; false if
 * there is none. Writer lock held. */
bool mt_cool_take(struct maple_tree *mt)
{
	struct mt_node *b = mt_batch_cool(mt);

	if (!b)
		return false;
	for (unsigned i = 0; i < MT_BATCH_PF && b->free.first[i]; i++)
		mt_node_prefetch(b->free.first[i]);	/* a grace period old: cold */
	mt->nr_nodes += b->free.count;
	mt->nr_reserve += (unsigned)b->free.count;
	mt->nr_recycled += (unsigned)b->free.count;
	b->free.tail->reserve_next = mt->reserve;	/* free.next is reserve_next */
	mt->reserve = b;
	return true;
}

/* mt_cool_push: make the first n reserved nodes a cooled batch at the head
 * of the FIFO (it is cool: its nodes came from cooled batches). */
static void mt_cool_push(struct maple_tree *mt, unsigned n)
{
	struct mt_node *b = mt->reserve, *tail = b, *x = b;

	for (unsigned i = 1; i < n; i++)
		tail = tail->reserve_next;
	mt->reserve = tail->reserve_next;
	tail->reserve_next = NULL;	/* free.next: the batch ends here */
	mt->nr_reserve -= n;
	mt->nr_nodes -= n;
	for (unsigned i = 0; i < MT_BATCH_PF; i++, x = x ? x->free.next : NULL)
		b->free.first[i] = x;
	b->free.count = n;
	b->free.tail = tail;
	b->free.state = MT_BATCH_COOLED;
	b->free.batch_next = mt->cool_head;
	mt->cool_head = b;
	if (!mt->cool_tail)
		mt->cool_tail = b;
}

/* mt_cool_return: give the first n reserved nodes back to the cache (they
 * came from cooled batches, mt_cool_take), so that a reservation released
 * unused leaves the cache, and the environment's live allocations, as it
 * found them. In batches of MT_RETIRE_BATCH, so that the next store that
 * needs one node does not pull a whole large reservation back into
 * mt->reserve. Writer lock held. */
void mt_cool_return(struct maple_tree *mt, unsigned n)
{
	while (n) {
		unsigned m = n < MT_RETIRE_BATCH ? n : MT_RETIRE_BATCH;

		mt_cool_push(mt, m);
		n -= m;
	}
}

void mt_shrink(struct maple_tree *mt)
{
	struct mt_node *b;

	if (mt->txn_stores == MT_NO_TXN) {	/* idle reserve: cache too */
		mt->nr_recycled = 0;
		mt_reserve_release(mt);
	}

	while ((b = mt_batch_cool(mt)))
		mt_chain_free(b);
}

/* mt_recycle_orphan: the tree is being destroyed: free cooled batches now,
 * and let pending ones free themselves when their callback runs. */
void mt_recycle_orphan(struct maple_tree *mt)
{
	struct mt_node *b = mt->cool_head, *next;

	while (b) {
		uint32_t expect = MT_BATCH_PENDING;

		next = b->free.batch_next;	/* b may be freed once orphaned */
		if (!__atomic_compare_exchange_n(&b->free.state, &expect, MT_BATCH_ORPHANED,
						 false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			mt_chain_free(b);	/* already COOLED: ours */
		b = next;
	}
	mt->cool_head = NULL;
	mt->cool_tail = NULL;
}
