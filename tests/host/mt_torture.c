/*
 * tests/host/mt_torture.c - RCU readers against one churning writer.
 *
 * The tree holds NSTABLE "stable" ranges that the writer never touches, and
 * NFLIP "flip" ranges the writer keeps overwriting with one of two entries.
 * Between them the writer churns: inserts, overwrites and erases of small and
 * leaf-spanning ranges, bursts that grow the tree by a level and erase it
 * back (splits, merges, root growth and collapse). Reader threads, registered
 * as CPUs and inside rcu_read_lock, check that every stable range is always
 * found (find/seek/next/prev, exact range), that a flip range always shows one
 * of its two entries (never a hole), that a hole between two fixed entries
 * (the writer fills it exactly and empties it again, in place) shows NULL or
 * its entry and never hides its neighbours, and that gap search never
 * returns space overlapping a stable range. Schedule perturbation is on (DEBUG_YIELD).
 * Every way a store is published is exercised and counted (mt.h st_*): flip
 * overwrites are in-place slot stores, most churn replaces one leaf in its
 * parent, splits and merges replace a subtree below the root, bursts replace
 * the root; stable ranges share leaves and parents with the churn, so a
 * reader checking them walks nodes the writer is updating in place.
 * Retired nodes are either reused by the tree after their grace period or,
 * when the writer calls mt_shrink (every other round), freed by env_free,
 * which poisons them (and ASan catches any later access). Bounded by
 * MT_TORTURE_MS (default 3000).
 */
#include "tests/ktest.h"
#include "mm/mt.h"
#include "sync/rcu.h"
#include "sync/host/hostcpu.h"
#include "sync/host/alloc_inject.h"
#include <inttypes.h>
#include <pthread.h>
#include <time.h>

#define NSTABLE		256
#define NFLIP		64
#define REGION		0x100000ull	/* one stable range at the start of each */
#define STABLE_LEN	0x1000ull
#define NREADERS	3
#define NHOT		4	/* flips and holes the writer changes most */

static struct maple_tree tree;
static volatile int stop;
static unsigned long reader_errors, reader_checks;
static pthread_mutex_t stat_lock = PTHREAD_MUTEX_INITIALIZER;

static void *stable_val(uint64_t i) { return (void *)(uintptr_t)(0x10000 + i * 16); }
static void *flip_val(uint64_t i, int v) { return (void *)(uintptr_t)(0x80000 + i * 16 + v * 8); }
static void *churn_val(uint64_t i) { return (void *)(uintptr_t)(0x1000000 + (i % 100000) * 8); }
static uint64_t stable_base(uint64_t i) { return i * REGION; }
/* flip range i sits in region i, at offset REGION / 2 */
static uint64_t flip_base(uint64_t i) { return i * REGION + REGION / 2; }
/* hole i (region i < NFLIP): [hole_base, +STABLE_LEN) between two fixed
 * entries of STABLE_LEN, alternately NULL and hole_val: in-place slot stores
 * that turn a gap into an entry and back (gap words change above). */
static uint64_t hole_base(uint64_t i) { return (i + 1) * REGION - 4 * STABLE_LEN; }
static void *hole_val(uint64_t i) { return (void *)(uintptr_t)(0x90000 + i * 16); }
static void *pair_val(uint64_t i, int side) { return (void *)(uintptr_t)(0xa0000 + i * 16 + side * 8); }
/* lone i (region i < NFLIP): [lone_base, +LONE_LEN) with gaps on both sides,
 * between the hole's pair and the next region, alternately erased and put
 * back exactly: in-place slot stores that leave (and refill) a run of three
 * unmerged gaps, inside its leaf or, at a leaf's edge, shared with the next
 * leaf. */
#define LONE_LEN	0x800ull
static uint64_t lone_base(uint64_t i) { return hole_base(i) + 2 * STABLE_LEN + 0x400; }
static void *lone_val(uint64_t i) { return (void *)(uintptr_t)(0xb0000 + i * 16); }

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static unsigned long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long)ts.tv_sec * 1000 + (unsigned long)ts.tv_nsec / 1000000;
}

/* reader_check: one randomised check inside a read-side section; number of
 * violations found. */
static unsigned reader_check(uint64_t *s)
{
	uint64_t i = rnd(s) % NSTABLE, base = stable_base(i), a;
	struct mt_range r;
	unsigned bad = 0;
	void *e;

	rcu_read_lock();
	switch (rnd(s) % 8) {
	case 0:
		e = mt_find(&tree, base + rnd(s) % STABLE_LEN, &r);
		bad = e != stable_val(i) || r.first != base || r.last != base + STABLE_LEN - 1;
		break;
	case 1:
		e = mt_seek(&tree, base, &r);
		bad = e != stable_val(i) || r.first != base;
		break;
	case 2:
		e = base ? mt_next(&tree, base - 1, &r) : mt_seek(&tree, 0, &r);
		bad = e != stable_val(i) || r.first != base;
		break;
	case 3:
		e = mt_prev(&tree, base + STABLE_LEN + rnd(s) % 16, &r);
		bad = e != stable_val(i) || r.last != base + STABLE_LEN - 1;
		break;
	case 4:
		i %= rnd(s) & 1 ? NHOT : NFLIP;
		e = mt_find(&tree, flip_base(i) + rnd(s) % STABLE_LEN, &r);
		bad = (e != flip_val(i, 0) && e != flip_val(i, 1)) || r.first != flip_base(i);
		break;
	case 5:
		i %= rnd(s) & 1 ? NHOT : NFLIP;
		a = hole_base(i) - STABLE_LEN + rnd(s) % (3 * STABLE_LEN);
		e = mt_find(&tree, a, &r);
		if (a < hole_base(i))
			bad = e != pair_val(i, 0) || r.first != hole_base(i) - STABLE_LEN ||
			      r.last != hole_base(i) - 1;
		else if (a >= hole_base(i) + STABLE_LEN)
			bad = e != pair_val(i, 1) || r.first != hole_base(i) + STABLE_LEN;
		else
			bad = e && (e != hole_val(i) || r.first != hole_base(i) ||
				    r.last != hole_base(i) + STABLE_LEN - 1);
		break;
	case 6:	/* the lone range and the gaps around it: NULL or exact */
		i %= rnd(s) & 1 ? NHOT : NFLIP;
		a = hole_base(i) + 2 * STABLE_LEN + rnd(s) % (2 * STABLE_LEN);
		e = mt_find(&tree, a, &r);
		if (a < lone_base(i) || a >= lone_base(i) + LONE_LEN)
			bad = e != NULL;
		else
			bad = e && (e != lone_val(i) || r.first != lone_base(i) ||
				    r.last != lone_base(i) + LONE_LEN - 1);
		break;
	default:
		if (mt_gap_find(&tree, base, base + REGION - 1, 1 + rnd(s) % 4096, 1,
				rnd(s) & 1, &a) == 0)
			bad = a < base + STABLE_LEN;
		break;
	}
	rcu_read_unlock();
	return bad;
}

static void *reader(void *arg)
{
	uint64_t s = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
	unsigned long errors = 0, checks = 0;

	if (hostcpu_register() < 0)
		return NULL;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		errors += reader_check(&s);
		checks++;
	}
	hostcpu_unregister();
	pthread_mutex_lock(&stat_lock);
	reader_errors += errors;
	reader_checks += checks;
	pthread_mutex_unlock(&stat_lock);
	return NULL;
}

/* churn_range: a random range strictly inside region i's churn area (after
 * the stable range, avoiding the flip range). */
static void churn_range(uint64_t *s, uint64_t i, uint64_t *f, uint64_t *l)
{
	uint64_t lo = stable_base(i) + STABLE_LEN, hi = flip_base(i) - 1;
	uint64_t len = 1 + rnd(s) % (rnd(s) % 16 ? 0x800 : 0x40000);

	if (rnd(s) & 1 && i < NFLIP) {
		lo = flip_base(i) + STABLE_LEN;
		hi = hole_base(i) - STABLE_LEN - 1;	/* not the hole and its pair */
	} else if (i >= NFLIP) {
		hi = stable_base(i + 1) - 1;
	}
	*f = lo + rnd(s) % (hi - lo + 1);
	*l = *f + len - 1 > hi ? hi : *f + len - 1;
}

/* writer_burst: grow region i with many small ranges, then erase them. */
static int writer_burst(uint64_t *s, uint64_t i, uint64_t id)
{
	uint64_t lo = stable_base(i) + STABLE_LEN;
	int err = 0;

	for (uint64_t k = 0; k < 2000 && !err; k++)
		err = mt_store(&tree, lo + k * 64, lo + k * 64 + 31, churn_val(id + k));
	if (!err)
		err = mt_erase(&tree, lo, lo + 2000 * 64);
	return err;
}

static int writer_step(uint64_t *s, uint64_t id)
{
	uint64_t i = rnd(s) % NSTABLE, f, l, r = rnd(s) % 100;

	if (r < 2)
		return writer_burst(s, i, id);
	if (r < 30) {	/* in-place value stores; readers watch NHOT closely */
		i %= r < 20 ? NHOT : NFLIP;
		if (r % 3 == 0)
			return mt_store(&tree, flip_base(i), flip_base(i) + STABLE_LEN - 1,
					flip_val(i, (int)(rnd(s) & 1)));
		if (r % 3 == 1)
			return mt_store(&tree, hole_base(i), hole_base(i) + STABLE_LEN - 1,
					rnd(s) & 1 ? hole_val(i) : NULL);
		if (rnd(s) & 1)
			return mt_erase(&tree, lone_base(i), lone_base(i) + LONE_LEN - 1);
		int ret = mt_insert(&tree, lone_base(i), lone_base(i) + LONE_LEN - 1, lone_val(i));

		return ret == -EEXIST ? 0 : ret;
	}
	churn_range(s, i, &f, &l);
	if (r < 50) {
		int ret = mt_insert(&tree, f, l, churn_val(id));

		return ret == -EEXIST ? 0 : ret;
	}
	if (r < 75)
		return mt_store(&tree, f, l, churn_val(id));
	return mt_erase(&tree, f, l);
}

KTEST(mt_torture_rcu)
{
	unsigned long ms = strtoul(getenv("MT_TORTURE_MS") ? getenv("MT_TORTURE_MS") : "3000",
				   NULL, 0);
	uint64_t live0 = alloc_inject_live(), s = ktest_seed * 31 + 7, ops = 0;
	pthread_t th[NREADERS];
	unsigned long end;
	int err = 0;

	mt_init(&tree);
	for (uint64_t i = 0; i < NSTABLE; i++)
		err |= mt_insert(&tree, stable_base(i), stable_base(i) + STABLE_LEN - 1,
				 stable_val(i));
	for (uint64_t i = 0; i < NFLIP; i++) {
		err |= mt_insert(&tree, flip_base(i), flip_base(i) + STABLE_LEN - 1, flip_val(i, 0));
		err |= mt_insert(&tree, hole_base(i) - STABLE_LEN, hole_base(i) - 1, pair_val(i, 0));
		err |= mt_insert(&tree, hole_base(i) + STABLE_LEN, hole_base(i) + 2 * STABLE_LEN - 1,
				 pair_val(i, 1));
		err |= mt_insert(&tree, lone_base(i), lone_base(i) + LONE_LEN - 1, lone_val(i));
	}
	KT_REQUIRE(!err && mt_validate(&tree) == 0, "setup");
	debug_yield_enable(256);
	for (uintptr_t t = 0; t < NREADERS; t++)
		pthread_create(&th[t], NULL, reader, (void *)(t + 1));
	end = now_ms() + ms;
	while (!err && now_ms() < end) {
		for (int k = 0; k < 64 && !err; k++, ops++)
			err = writer_step(&s, ops * 4096);
		if (rnd(&s) % 2)	/* cooled batches to env_free (poison), not reuse */
			mt_shrink(&tree);
		if (ops % 8192 == 0)
			err = err ? err : mt_validate(&tree);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (int t = 0; t < NREADERS; t++)
		pthread_join(th[t], NULL);
	debug_yield_enable(0);
	printf("# %" PRIu64 " writes, %lu reader checks, height %u, %lu nodes\n", ops,
	       reader_checks, tree.height, mt_node_count(&tree));
	printf("# published: %lu value in place, %lu leaf in place, %lu subtree in place, "
	       "%lu new root\n", tree.st_value, tree.st_leaf, tree.st_inner, tree.st_root);
	KT_CHECK(tree.st_value && tree.st_leaf && tree.st_inner && tree.st_root,
		 "a publication path was not exercised");
	KT_CHECK(!err, "writer error %d", err);
	KT_CHECK(mt_validate(&tree) == 0, "final validate");
	KT_CHECK(reader_errors == 0, "%lu reader violations", reader_errors);
	KT_CHECK(reader_checks > 1000, "readers made only %lu checks", reader_checks);
	mt_destroy(&tree);
	rcu_barrier();
	KT_CHECK(alloc_inject_live() == live0, "leak: %" PRIu64 " live", alloc_inject_live());
}

int main(int argc, char **argv)
{
	hostcpu_register();
	return ktest_main(argc, argv);
}
