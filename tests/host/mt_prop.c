/*
 * tests/host/mt_prop.c - unit and property tests of the range tree against
 * the reference model (tests/host/mt_model.h).
 *
 * Property test: several seeds of random insert/store/erase/find/seek/next/
 * prev/gap operations; every answer is compared with the model and
 * mt_validate runs after every write. On a mismatch the failing op sequence
 * is shrunk (delta debugging) and printed as a reproducer.
 *   MT_PROP_OPS    ops per seed (default 500000, 2M in all; ASan builds 1/4)
 *   MT_PROP_SEEDS  seeds (default 4), starting at KTEST_SEED
 */
#include "tests/ktest.h"
#include "mm/mt.h"
#include "mm/mt_node.h"	/* mt_store_general: test the slow path directly */
#include "sync/rcu.h"
#include "sync/host/hostcpu.h"
#include "mt_model.h"
#include <inttypes.h>

#if defined(__SANITIZE_ADDRESS__)
#define MT_PROP_SCALE 4
#else
#define MT_PROP_SCALE 1
#endif

static unsigned long env_ul(const char *name, unsigned long dflt)
{
	const char *s = getenv(name);

	return s ? strtoul(s, NULL, 0) : dflt;
}

static void *val(uint64_t i)
{
	return (void *)(uintptr_t)(0x1000 + i * 8);
}

/* ---------------------------------------------------------------- units */

KTEST(mt_empty_tree)
{
	struct maple_tree mt;
	struct mt_range r;
	uint64_t a = 0;

	mt_init(&mt);
	rcu_read_lock();
	KT_CHECK(!mt_find(&mt, 0, &r) && !mt_find(&mt, UINT64_MAX, &r), "empty find");
	KT_CHECK(!mt_seek(&mt, 0, &r) && !mt_next(&mt, 5, &r) && !mt_prev(&mt, 5, &r), "empty");
	KT_CHECK(mt_gap_find(&mt, 0, UINT64_MAX, 4096, 4096, true, &a) == 0 &&
		 a == 0xfffffffffffff000ull, "topdown gap %#" PRIx64, a);
	KT_CHECK(mt_gap_find(&mt, 1, 1 << 20, 4096, 4096, false, &a) == 0 && a == 4096,
		 "bottom-up gap %#" PRIx64, a);
	KT_CHECK(mt_gap_find(&mt, 1, 4096, 4096, 4096, false, &a) == -ENOMEM, "no room");
	KT_CHECK(mt_gap_find(&mt, 0, 10, 0, 1, false, &a) == -EINVAL, "size 0");
	KT_CHECK(mt_gap_find(&mt, 0, 10, 1, 3, false, &a) == -EINVAL, "align 3");
	rcu_read_unlock();
	KT_CHECK(mt_erase(&mt, 0, 100) == 0 && !mt.root, "erase on empty");
	KT_CHECK(mt_store(&mt, 5, 4, val(1)) == -EINVAL, "first > last");
	KT_CHECK(mt_insert(&mt, 1, 2, NULL) == -EINVAL, "insert NULL");
	KT_CHECK(mt_validate(&mt) == 0 && mt_node_count(&mt) == 0, "valid");
	mt_destroy(&mt);
}

KTEST(mt_whole_space_and_edges)
{
	struct maple_tree mt;
	struct mt_range r;

	mt_init(&mt);
	KT_CHECK(mt_store(&mt, 0, UINT64_MAX, val(1)) == 0, "store all");
	KT_CHECK(mt_find(&mt, 12345, &r) == val(1) && r.first == 0 && r.last == UINT64_MAX, "all");
	KT_CHECK(mt_insert(&mt, 7, 7, val(2)) == -EEXIST, "insert over");
	KT_CHECK(mt_store(&mt, UINT64_MAX, UINT64_MAX, val(2)) == 0, "store top");
	KT_CHECK(mt_store(&mt, 0, 0, val(3)) == 0, "store bottom");
	KT_CHECK(mt_find(&mt, UINT64_MAX, &r) == val(2) && r.first == UINT64_MAX, "top");
	KT_CHECK(mt_find(&mt, 1, &r) == val(1) && r.first == 1 && r.last == UINT64_MAX - 1, "mid");
	KT_CHECK(mt_next(&mt, UINT64_MAX, &r) == NULL && mt_prev(&mt, 0, &r) == NULL, "ends");
	KT_CHECK(mt_prev(&mt, UINT64_MAX, &r) == val(1), "prev top");
	KT_CHECK(mt_validate(&mt) == 0, "valid");
	KT_CHECK(mt_erase(&mt, 0, UINT64_MAX) == 0 && !mt.root && mt.height == 0, "erase all");
	mt_reserve_release(&mt);
	KT_CHECK(mt_node_count(&mt) == 0, "nodes %lu", mt_node_count(&mt));
	mt_destroy(&mt);
}

/* mt_grow_and_shrink: sequential inserts grow the height; erasing them all
 * collapses it again; fill and gaps stay valid throughout. */
KTEST(mt_grow_and_shrink)
{
	struct maple_tree mt;
	unsigned n = 20000, maxh = 0;
	int bad = 0;

	mt_init(&mt);
	for (unsigned i = 0; i < n && !bad; i++) {
		bad |= mt_insert(&mt, i * 16ull, i * 16ull + 7, val(i));
		if (i % 997 == 0)
			bad |= mt_validate(&mt);
	}
	KT_CHECK(!bad && mt_validate(&mt) == 0, "inserts");
	maxh = mt.height;
	KT_CHECK(maxh >= 4, "height %u", maxh);
	printf("# %u ranges: height %u, %lu nodes, %.1f bytes/range\n", n, mt.height,
	       mt_node_count(&mt), (double)mt_bytes(&mt) / n);
	for (unsigned i = 0; i < n && !bad; i += 2)
		bad |= mt_erase(&mt, i * 16ull, i * 16ull + 7);
	KT_CHECK(!bad && mt_validate(&mt) == 0, "half erased");
	for (unsigned i = 1; i < n && !bad; i += 2) {
		bad |= mt_erase(&mt, i * 16ull, i * 16ull + 7);
		if (i % 1001 == 0)
			bad |= mt_validate(&mt);
	}
	mt_reserve_release(&mt);	/* recycled nodes a store took but did not use */
	KT_CHECK(!bad && !mt.root && mt_node_count(&mt) == 0, "all erased");
	mt_destroy(&mt);
}

/* --------------------------------------------------------- property test */

enum prop_kind { P_INSERT, P_STORE, P_ERASE, P_FIND, P_SEEK, P_NEXT, P_PREV, P_GAP };
static const char *const prop_name[] = { "insert", "store", "erase", "find", "seek",
					 "next", "prev", "gap" };

struct prop_op {
	uint8_t kind;
	bool topdown;		/* gap: direction; store/erase: general path */
	uint64_t a, b, c, d;	/* first/last/value id, or addr, or lo/hi/size/align */
};

struct prop_run {
	struct maple_tree mt;
	struct model m;
	bool quiet;
	char why[256];
};

static bool prop_same(const struct model_ent *me, void *e, const struct mt_range *r)
{
	if (!me)
		return e == NULL;
	return e == me->entry && r->first == me->first && r->last == me->last;
}

/* prop_apply: run one op on tree and model; false (why set) on mismatch. */
static bool prop_apply(struct prop_run *pr, const struct prop_op *op)
{
	struct mt_range r = { 0, 0 };
	const struct model_ent *me = NULL;
	uint64_t ta = 0, ma = 0;
	int tr, mr;
	void *e = NULL;

	switch (op->kind) {
	case P_INSERT:
		mr = model_overlaps(&pr->m, op->a, op->b) ? -EEXIST : 0;
		tr = mt_insert(&pr->mt, op->a, op->b, val(op->c));
		if (!mr)
			model_store(&pr->m, op->a, op->b, val(op->c));
		goto write;
	case P_STORE:
	case P_ERASE:
		e = op->kind == P_STORE ? val(op->c) : NULL;
		mr = 0;
		if (op->topdown && pr->mt.root)	/* bypass the single-leaf fast path */
			tr = mt_store_general(&pr->mt, op->a, op->b, e);
		else
			tr = mt_store(&pr->mt, op->a, op->b, e);
		model_store(&pr->m, op->a, op->b, e);
		goto write;
	case P_FIND: me = model_find(&pr->m, op->a); e = mt_find(&pr->mt, op->a, &r); break;
	case P_SEEK: me = model_seek(&pr->m, op->a); e = mt_seek(&pr->mt, op->a, &r); break;
	case P_NEXT: me = model_next(&pr->m, op->a); e = mt_next(&pr->mt, op->a, &r); break;
	case P_PREV: me = model_prev(&pr->m, op->a); e = mt_prev(&pr->mt, op->a, &r); break;
	case P_GAP:
		rcu_read_lock();
		tr = mt_gap_find(&pr->mt, op->a, op->b, op->c, op->d, op->topdown, &ta);
		rcu_read_unlock();
		mr = model_gap(&pr->m, op->a, op->b, op->c, op->d, op->topdown, &ma);
		if (tr != mr || (!tr && ta != ma)) {
			snprintf(pr->why, sizeof(pr->why), "gap: tree %d %#" PRIx64 ", model %d %#"
				 PRIx64, tr, ta, mr, ma);
			return false;
		}
		return true;
	}
	if (!prop_same(me, e, &r)) {
		snprintf(pr->why, sizeof(pr->why), "%s: tree %p [%#" PRIx64 ", %#" PRIx64
			 "], model %p", prop_name[op->kind], e, r.first, r.last,
			 me ? me->entry : NULL);
		return false;
	}
	return true;
write:
	if (tr != mr) {
		snprintf(pr->why, sizeof(pr->why), "%s returned %d, model %d",
			 prop_name[op->kind], tr, mr);
		return false;
	}
	if (mt_validate(&pr->mt)) {
		snprintf(pr->why, sizeof(pr->why), "mt_validate failed after %s",
			 prop_name[op->kind]);
		return false;
	}
	return true;
}

/* prop_replay: run ops[0..n) (skipping those with skip[i]) on a fresh tree;
 * index of the first failing op, or -1. */
static long prop_replay(const struct prop_op *ops, long n, const bool *skip, char *why)
{
	struct prop_run pr;
	long bad = -1;

	mt_init(&pr.mt);
	model_init(&pr.m);
	for (long i = 0; i < n && bad < 0; i++)
		if (!(skip && skip[i]) && !prop_apply(&pr, &ops[i]))
			bad = i;
	if (why && bad >= 0)
		strcpy(why, pr.why);
	mt_destroy(&pr.mt);
	model_free(&pr.m);
	return bad;
}

static void prop_print_op(const struct prop_op *op)
{
	printf("#   %s(%#" PRIx64 ", %#" PRIx64 ", %#" PRIx64 ", %#" PRIx64 "%s)\n",
	       prop_name[op->kind], op->a, op->b, op->c, op->d,
	       op->kind == P_GAP ? (op->topdown ? ", topdown" : ", bottomup") :
	       op->topdown && op->kind != P_INSERT ? ", general" : "");
}

/* prop_shrink: delta-debug ops[0..n) to a short failing subsequence and print
 * it (bounded: at most ~20000 replays). */
static void prop_shrink(const struct prop_op *ops, long n)
{
	bool *skip = calloc(n, sizeof(bool));
	long budget = 20000, left = n;
	char why[256];

	for (long chunk = n / 2; chunk >= 1 && budget > 0; chunk /= 2) {
		for (long s = 0; s < n && budget > 0; s += chunk) {
			long changed = 0;

			for (long i = s; i < s + chunk && i < n; i++)
				if (!skip[i]) {
					skip[i] = true;
					changed++;
				}
			if (!changed)
				continue;
			budget--;
			if (prop_replay(ops, n, skip, NULL) >= 0) {
				left -= changed;
				continue;
			}
			for (long i = s; i < s + chunk && i < n; i++)
				skip[i] = false;
		}
		if (chunk == 1)
			break;
	}
	prop_replay(ops, n, skip, why);
	printf("# shortest reproducer found (%ld ops): %s\n", left, why);
	for (long i = 0; i < n; i++)
		if (!skip[i])
			prop_print_op(&ops[i]);
	free(skip);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* prop_addr: mostly a dense low window (collisions), sometimes the top end. */
static uint64_t prop_addr(uint64_t *s, uint64_t span)
{
	uint64_t r = rnd(s);

	if (r % 64 == 0)
		return UINT64_MAX - rnd(s) % span;
	if (r % 64 == 1)
		return rnd(s) % 64;
	return rnd(s) % span;
}

/* prop_gen: a random op; inserts/erases balanced around target ranges.
 * *erased is the last range erased exactly: half the inserts put it back
 * (in place, into the run of gaps its erase left unmerged). */
static void prop_gen(uint64_t *s, struct prop_op *op, const struct model *m, uint64_t span,
		     size_t target, uint64_t id, struct mt_range *erased)
{
	uint64_t r = rnd(s) % 100, len = 1 + rnd(s) % (rnd(s) % 32 ? 64 : span / 8);
	bool grow = m->n < target;

	memset(op, 0, sizeof(*op));
	op->a = prop_addr(s, span);
	op->b = op->a + len - 1 < op->a ? UINT64_MAX : op->a + len - 1;
	op->c = id;
	op->topdown = rnd(s) & 1;
	if (r < (grow ? 35u : 12u)) {
		op->kind = P_INSERT;
		if (erased->last && rnd(s) % 2) {
			op->a = erased->first;
			op->b = erased->last;
		}
	} else if (r < 40) {
		op->kind = P_STORE;
	} else if (r < 55) {
		op->kind = P_ERASE;
		if (m->n && rnd(s) % 2) {	/* exactly one existing range */
			const struct model_ent *e = &m->e[rnd(s) % m->n];

			op->a = e->first;
			op->b = e->last;
			*erased = (struct mt_range){ e->first, e->last };
		}
	} else if (r < 90) {
		op->kind = P_FIND + (uint8_t)(rnd(s) % 4);
	} else {
		op->kind = P_GAP;
		op->b = prop_addr(s, span);
		if (op->a > op->b) {
			uint64_t t = op->a;

			op->a = op->b;
			op->b = t;
		}
		op->c = 1 + rnd(s) % (rnd(s) % 4 ? 16 : 256);
		op->d = 1ull << (rnd(s) % 6);
		op->topdown = rnd(s) & 1;
	}
}

/* prop_seed: one seed's worth of ops; false after printing a reproducer. */
static bool prop_seed(uint64_t seed, long nops, uint64_t span, size_t target)
{
	struct prop_op *ops = malloc(nops * sizeof(*ops));
	struct mt_range erased = { 0, 0 };
	struct prop_run pr;
	uint64_t s = seed * 0x9e3779b97f4a7c15ull + 1;
	long i;

	mt_init(&pr.mt);
	model_init(&pr.m);
	for (i = 0; i < nops; i++) {
		prop_gen(&s, &ops[i], &pr.m, span, target, (uint64_t)i, &erased);
		if (!prop_apply(&pr, &ops[i]))
			break;
	}
	if (i < nops) {
		printf("# seed %" PRIu64 " failed at op %ld: %s\n", seed, i, pr.why);
		prop_shrink(ops, i + 1);
	} else {
		printf("# seed %" PRIu64 ": %ld ops ok, %zu ranges, height %u, %lu nodes, "
		       "%lu stores in place\n", seed, nops, pr.m.n, pr.mt.height,
		       mt_node_count(&pr.mt), pr.mt.st_value);
	}
	mt_destroy(&pr.mt);
	model_free(&pr.m);
	free(ops);
	return i == nops;
}

KTEST(mt_property)
{
	long nops = (long)env_ul("MT_PROP_OPS", 500000 / MT_PROP_SCALE);
	unsigned long seeds = env_ul("MT_PROP_SEEDS", 4);
	/* dense small trees, then bigger sparser ones: collisions and height */
	static const struct { uint64_t span; size_t target; } shape[] = {
		{ 1 << 10, 40 }, { 1 << 14, 300 }, { 1 << 20, 1500 }, { 1 << 12, 120 },
	};

	for (unsigned long k = 0; k < seeds; k++) {
		uint64_t seed = ktest_seed + k;

		KT_CHECK(prop_seed(seed, nops, shape[k % 4].span, shape[k % 4].target),
			 "seed %" PRIu64 " (rerun: KTEST_SEED=%" PRIu64 " MT_PROP_SEEDS=1)",
			 seed, seed);
	}
}

int main(int argc, char **argv)
{
	hostcpu_register();
	return ktest_main(argc, argv);
}
