/*
 * tests/host/mt_inject.c - allocation-failure injection on the range tree.
 *
 * mt_inject_exhaustive: a scripted scenario (growth, appends, overwrites that
 * span leaves, splits, merges, collapse to empty). For every operation and
 * every k, the k-th allocation fails: the call must return -ENOMEM and leave
 * the tree exactly as it was (root pointer, height, node counter, every entry
 * and range) with no leaked allocation; the first k that does not fire lets
 * the operation complete, and the tree is checked against the model.
 * mt_reserve_cannot_fail: after mt_reserve(n), n stores succeed with every
 * allocation failing.
 */
#include "tests/ktest.h"
#include "mm/mt.h"
#include "sync/rcu.h"
#include "sync/host/hostcpu.h"
#include "sync/host/alloc_inject.h"
#include "mt_model.h"
#include <inttypes.h>

static void *val(uint64_t i)
{
	return (void *)(uintptr_t)(0x1000 + i * 8);
}

struct snap {
	struct mt_node *root;
	unsigned height;
	unsigned long nodes;
	uint64_t live;
	struct model m;	/* every entry, read back through mt_seek */
};

static void snap_take(struct maple_tree *mt, struct snap *s)
{
	struct mt_range r;
	void *e;

	s->root = mt->root;
	s->height = mt->height;
	s->nodes = mt_node_count(mt);
	s->live = alloc_inject_live();
	model_init(&s->m);
	mt_for_each(mt, e, 0, UINT64_MAX, r)
		model_put(&s->m, s->m.n, r.first, r.last, e);
}

static bool snap_same(const struct snap *a, const struct snap *b)
{
	return a->root == b->root && a->height == b->height && a->nodes == b->nodes &&
	       a->live == b->live && a->m.n == b->m.n &&
	       (!a->m.n || !memcmp(a->m.e, b->m.e, a->m.n * sizeof(*a->m.e)));
}

enum { OP_INSERT, OP_STORE, OP_ERASE };

/* inject_op: run one write with the k-th allocation failing for k = 0, 1, ...
 * until it completes; check each failure. Returns allocations it needed. */
static int inject_op(struct maple_tree *mt, struct model *m, int kind, uint64_t f,
		     uint64_t l, void *e)
{
	/* Earlier ops' retired nodes must neither move the live counter nor be
	 * recycled: every node this op needs must come from env_alloc. */
	rcu_barrier();
	mt_shrink(mt);
	mt_reserve_release(mt);
	for (int k = 0;; k++) {
		struct snap before, after;
		int ret;

		snap_take(mt, &before);
		alloc_inject_fail_nth(k);
		ret = kind == OP_INSERT ? mt_insert(mt, f, l, e) : mt_store(mt, f, l, e);
		alloc_inject_disarm();
		if (!alloc_inject_fired()) {
			model_free(&before.m);
			KT_CHECK(ret == 0, "op %d [%#" PRIx64 ", %#" PRIx64 "] = %d", kind, f, l, ret);
			model_store(m, f, l, e);
			return k;
		}
		snap_take(mt, &after);
		KT_CHECK(ret == -ENOMEM, "k=%d: returned %d, not -ENOMEM", k, ret);
		KT_CHECK(snap_same(&before, &after), "k=%d: tree changed by a failed op "
			 "(nodes %lu -> %lu, live %" PRIu64 " -> %" PRIu64 ")", k, before.nodes,
			 after.nodes, before.live, after.live);
		KT_CHECK(mt_validate(mt) == 0, "k=%d: invalid after failure", k);
		model_free(&before.m);
		model_free(&after.m);
		if (ktest_cur_failed)
			return -1;
	}
}

static bool tree_matches(struct maple_tree *mt, const struct model *m)
{
	struct snap s;
	bool ok;

	snap_take(mt, &s);
	ok = s.m.n == m->n && (!m->n || !memcmp(s.m.e, m->e, m->n * sizeof(*m->e)));
	model_free(&s.m);
	return ok && mt_validate(mt) == 0;
}

KTEST(mt_inject_exhaustive)
{
	struct maple_tree mt;
	struct model m;
	uint64_t live0 = alloc_inject_live();
	long runs = 0;
	int n;

	mt_init(&mt);
	model_init(&m);
#define RUN(kind, f, l, e) do {					\
		n = inject_op(&mt, &m, kind, f, l, e);			\
		if (n < 0)						\
			goto out;					\
		runs += n;						\
	} while (0)
	/* grow: 400 ranges with holes, height 3 */
	for (uint64_t i = 0; i < 400; i++)
		RUN(OP_INSERT, i * 100, i * 100 + 49, val(i));
	/* overwrite spanning many leaves, then split it */
	RUN(OP_STORE, 1025, 30050, val(1000));
	RUN(OP_STORE, 5000, 5000, val(1001));
	RUN(OP_ERASE, 6000, 7000, NULL);
	/* merges and rebalancing: erase every other range, then the rest */
	KT_CHECK(mt.height >= 3, "height %u", mt.height);
	for (uint64_t i = 0; i < 400; i += 2)
		RUN(OP_ERASE, i * 100, i * 100 + 49, NULL);
	for (uint64_t i = 1; i < 400; i += 6)
		RUN(OP_STORE, i * 100 + 10, i * 100 + 60, val(2000 + i));
	RUN(OP_STORE, 0, UINT64_MAX, val(3000));
	RUN(OP_STORE, 100, 200, NULL);
	RUN(OP_ERASE, 0, UINT64_MAX, NULL);
	KT_CHECK(!mt.root, "empty at the end");
#undef RUN
out:
	KT_CHECK(tree_matches(&mt, &m), "tree differs from the model");
	printf("# %ld injected failures checked\n", runs);
	mt_destroy(&mt);
	rcu_barrier();
	KT_CHECK(alloc_inject_live() == live0, "leak: %" PRIu64 " live allocations, was %"
		 PRIu64, alloc_inject_live(), live0);
	model_free(&m);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

KTEST(mt_reserve_cannot_fail)
{
	struct maple_tree mt;
	struct model m;
	uint64_t s = ktest_seed * 7919 + 3, live0 = alloc_inject_live();
	bool ok = true;

	mt_init(&mt);
	model_init(&m);
	alloc_inject_fail_nth(0);
	KT_CHECK(mt_reserve(&mt, 2) == -ENOMEM && mt.nr_reserve == 0 &&
		 mt_node_count(&mt) == 0, "failed reserve must leave nothing");
	for (unsigned i = 0; i < 4000 && ok; i++) {
		unsigned batch = 1 + rnd(&s) % 3;

		alloc_inject_disarm();
		ok = mt_reserve(&mt, batch) == 0;
		for (unsigned j = 0; j < batch && ok; j++) {
			uint64_t f = rnd(&s) % 200000, l = f + rnd(&s) % (rnd(&s) % 16 ? 200 : 20000);
			void *e = rnd(&s) % 3 ? val(i) : NULL;

			alloc_inject_fail_nth(0);	/* every allocation would fail */
			ok = mt_store(&mt, f, l, e) == 0 && !alloc_inject_fired();
			model_store(&m, f, l, e);
		}
		alloc_inject_disarm();
		mt_reserve_release(&mt);
		if (i % 50 == 0)
			ok = ok && tree_matches(&mt, &m);
	}
	KT_CHECK(ok, "a reserved store failed or allocated (height %u)", mt.height);
	KT_CHECK(tree_matches(&mt, &m), "tree differs from the model");
	printf("# final: %zu ranges, height %u\n", m.n, mt.height);
	mt_destroy(&mt);
	rcu_barrier();
	KT_CHECK(alloc_inject_live() == live0, "leak: %" PRIu64 " live", alloc_inject_live());
	model_free(&m);
}

int main(int argc, char **argv)
{
	hostcpu_register();
	return ktest_main(argc, argv);
}
