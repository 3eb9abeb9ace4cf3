/*
 * bench/mt_rbtree.c - red-black range tree baseline (see mt_rbtree.h).
 *
 * Augmentation as in Linux before the maple tree: each node knows where the
 * gap before it starts (the predecessor's end + 1) and the largest such gap
 * in its subtree. libbsd's RB_AUGMENT only fixes nodes locally, so after every
 * insert and remove the paths to the root are recomputed explicitly.
 */
#include "mt_rbtree.h"
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <malloc.h>

struct rbn;
static void rbn_augment(struct rbn *n);
#define RB_AUGMENT(x) rbn_augment(x)
#ifndef __unused
#define __unused __attribute__((unused))
#endif
#include <bsd/sys/tree.h>

struct rbn {
	RB_ENTRY(rbn) link;
	uint64_t first, last;
	void *val;
	uint64_t gap_start;	/* predecessor's last + 1, or 0 */
	uint64_t subtree_gap;	/* largest first - gap_start below */
};

RB_HEAD(rbb_tree, rbn);

struct rbb {
	pthread_rwlock_t lock;
	struct rbb_tree head;
	size_t count;
};

/* Ranges are disjoint: "equal" means overlapping (point lookups use first ==
 * last == addr). */
static int rbn_cmp(const struct rbn *a, const struct rbn *b)
{
	if (a->last < b->first)
		return -1;
	if (a->first > b->last)
		return 1;
	return 0;
}

RB_GENERATE_STATIC(rbb_tree, rbn, link, rbn_cmp)

static void rbn_augment(struct rbn *n)
{
	uint64_t g = n->first - n->gap_start;
	struct rbn *c;

	if ((c = RB_LEFT(n, link)) && c->subtree_gap > g)
		g = c->subtree_gap;
	if ((c = RB_RIGHT(n, link)) && c->subtree_gap > g)
		g = c->subtree_gap;
	n->subtree_gap = g;
}

static void rbn_augment_up(struct rbn *n)
{
	for (; n; n = RB_PARENT(n, link))
		rbn_augment(n);
}

struct rbb *rbb_create(void)
{
	struct rbb *t = calloc(1, sizeof(*t));

	pthread_rwlock_init(&t->lock, NULL);
	RB_INIT(&t->head);
	return t;
}

void rbb_destroy(struct rbb *t)
{
	struct rbn *n, *next;

	RB_FOREACH_SAFE(n, rbb_tree, &t->head, next) {
		RB_REMOVE(rbb_tree, &t->head, n);
		free(n);
	}
	pthread_rwlock_destroy(&t->lock);
	free(t);
}

void *rbb_find(struct rbb *t, uint64_t addr)
{
	struct rbn key = { .first = addr, .last = addr }, *n;
	void *v;

	pthread_rwlock_rdlock(&t->lock);
	n = RB_FIND(rbb_tree, &t->head, &key);
	v = n ? n->val : NULL;
	pthread_rwlock_unlock(&t->lock);
	return v;
}

int rbb_insert(struct rbb *t, uint64_t first, uint64_t last, void *val)
{
	struct rbn *n = malloc(sizeof(*n)), *pred, *succ;

	if (!n)
		return -ENOMEM;
	n->first = first;
	n->last = last;
	n->val = val;
	n->gap_start = 0;
	pthread_rwlock_wrlock(&t->lock);
	if (RB_INSERT(rbb_tree, &t->head, n)) {
		pthread_rwlock_unlock(&t->lock);
		free(n);
		return -EEXIST;
	}
	pred = RB_PREV(rbb_tree, &t->head, n);
	succ = RB_NEXT(rbb_tree, &t->head, n);
	n->gap_start = pred ? pred->last + 1 : 0;
	rbn_augment_up(n);
	if (succ) {
		succ->gap_start = last + 1;
		rbn_augment_up(succ);
	}
	t->count++;
	pthread_rwlock_unlock(&t->lock);
	return 0;
}

/* rbb_set_val: a new value for the range [first, last], which must exist
 * exactly (the baseline of the tree's in-place value store). */
int rbb_set_val(struct rbb *t, uint64_t first, uint64_t last, void *val)
{
	struct rbn key = { .first = first, .last = first }, *n;
	int ret = -ENOENT;

	pthread_rwlock_wrlock(&t->lock);
	n = RB_FIND(rbb_tree, &t->head, &key);
	if (n && n->first == first && n->last == last) {
		n->val = val;
		ret = 0;
	}
	pthread_rwlock_unlock(&t->lock);
	return ret;
}

int rbb_erase(struct rbb *t, uint64_t first)
{
	struct rbn key = { .first = first, .last = first }, *n, *succ, *fix;

	pthread_rwlock_wrlock(&t->lock);
	n = RB_FIND(rbb_tree, &t->head, &key);
	if (!n || n->first != first) {
		pthread_rwlock_unlock(&t->lock);
		return -ENOENT;
	}
	succ = RB_NEXT(rbb_tree, &t->head, n);
	/* where the structure changes: n's parent, or the successor's old
	 * parent when the successor takes n's place */
	if (RB_LEFT(n, link) && RB_RIGHT(n, link))
		fix = RB_PARENT(succ, link) == n ? succ : RB_PARENT(succ, link);
	else
		fix = RB_PARENT(n, link);
	RB_REMOVE(rbb_tree, &t->head, n);
	if (succ) {
		succ->gap_start = n->gap_start;
		rbn_augment_up(succ);
	}
	rbn_augment_up(fix);
	t->count--;
	pthread_rwlock_unlock(&t->lock);
	free(n);
	return 0;
}

/* rbn_gap_down: highest gap of size bytes below n ending at or below hi. */
static int rbn_gap_down(struct rbn *n, uint64_t hi, uint64_t size, uint64_t *addr)
{
	uint64_t end;

	if (!n || n->subtree_gap < size)
		return 0;
	if (n->last < hi && rbn_gap_down(RB_RIGHT(n, link), hi, size, addr))
		return 1;
	end = n->first - 1 < hi ? n->first - 1 : hi;
	if (n->first > n->gap_start && end >= n->gap_start && end - n->gap_start + 1 >= size) {
		*addr = end - size + 1;
		return 1;
	}
	return rbn_gap_down(RB_LEFT(n, link), hi, size, addr);
}

int rbb_gap_topdown(struct rbb *t, uint64_t hi, uint64_t size, uint64_t *addr)
{
	struct rbn *last;
	int found;

	pthread_rwlock_rdlock(&t->lock);
	last = RB_MAX(rbb_tree, &t->head);
	if (!last || (last->last < hi && hi - last->last >= size)) {
		*addr = hi - size + 1;
		found = 1;
	} else {
		found = rbn_gap_down(RB_ROOT(&t->head), hi, size, addr);
	}
	pthread_rwlock_unlock(&t->lock);
	return found ? 0 : -ENOMEM;
}

size_t rbb_bytes(struct rbb *t)
{
	struct rbn *n;
	size_t bytes = 0;

	RB_FOREACH(n, rbb_tree, &t->head)
		bytes += malloc_usable_size(n);
	return bytes;
}

size_t rbb_count(struct rbb *t)
{
	return t->count;
}
