/*
 * mm/mt_recycle.c - retired nodes: freed after a grace period, or reused.
 *
 * A store retires the nodes it replaced as one batch (a chain through
 * free.next, headed by the first node, whose overlay also holds the batch's
 * state and its link in the tree's FIFO of batches, mt->cool_head/tail).
 * The batch goes to call_rcu; the callback only flips its state
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

/* mt_free_chain: retire n killed nodes (chained by mt_node_kill) as one
 * batch: reusable by this tree after a grace period. Writer lock held. */
void mt_free_chain(struct maple_tree *mt, struct mt_node *chain, unsigned long n)
{
	if (!chain)
		return;
	mt->nr_nodes -= n;
	chain->free.count = n;
	chain->free.batch_next = NULL;
	for (chain->free.tail = chain; chain->free.tail->free.next;)	/* hot now */
		chain->free.tail = chain->free.tail->free.next;
	__atomic_store_n(&chain->free.state, MT_BATCH_PENDING, __ATOMIC_RELAXED);
	if (mt->cool_tail)
		mt->cool_tail->free.batch_next = chain;
	else
		mt->cool_head = chain;
	mt->cool_tail = chain;
	call_rcu(&chain->free.rcu, mt_batch_cooled);
}

/* mt_free_chain_now: as mt_free_chain, but the nodes go to env_free after
 * the grace period (tree teardown). */
void mt_free_chain_now(struct maple_tree *mt, struct mt_node *chain, unsigned long n)
{
	if (!chain)
		return;
	mt->nr_nodes -= n;
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
	mt->nr_nodes += b->free.count;
	mt->nr_reserve += (unsigned)b->free.count;
	b->free.tail->reserve_next = mt->reserve;	/* free.next is reserve_next */
	mt->reserve = b;
	return true;
}

void mt_shrink(struct maple_tree *mt)
{
	struct mt_node *b;

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
