/*
 * tests/host/review_mt_pause.c - deterministic reader/writer interleavings
 * of the range tree's in-place publication (review, 2026-11-22).
 *
 * An RCU reader is stopped inside mt_walk right after it loaded a child
 * pointer (or leaf slot) at depth d, for every d, by wrapping the
 * DEBUG_YIELD hook (debug_yield_slow, -Wl,--wrap in review.cmake). While it
 * is stopped, the writer runs one scenario to completion:
 *   value   the reader's own range gets another entry (one slot in place);
 *   gapfill a neighbouring gap is filled exactly (one slot in place);
 *   leaf    ranges are inserted into gaps of the reader's leaf (new leaf
 *           published into the parent), until it splits (a new parent
 *           published into the grandparent);
 *   merge   the neighbours around the reader's range are erased, until
 *           leaves merge.
 * The reader then resumes on nodes that may be dead and overlaid (their
 * memory cannot be reused before its grace period: ASan would report it) and
 * must return its address's old or new entry with the old or new range, never
 * NULL. Every publication path other than the root's must have run.
 */
#include "tests/ktest.h"
#include "mm/mt.h"
#include "sync/rcu.h"
#include "sync/host/hostcpu.h"
#include <ck_pr.h>
#include <pthread.h>

#define NR	3000
#define STRIDE	0x3000ull

void __real_debug_yield_slow(void);
void __wrap_debug_yield_slow(void);

static void *val(uint64_t i) { return (void *)(uintptr_t)(0x1000 + i * 8); }
static uint64_t first_of(uint64_t i) { return 0x100000 + i * STRIDE; }
static uint64_t last_of(uint64_t i) { return first_of(i) + 0xfff; }

static __thread bool is_reader;
static int pause_at;		/* (A) DEBUG_YIELD call of the reader to stop at */
static int calls;		/* reader only */
static int paused, resume;	/* (A) handshake */

/* __wrap_debug_yield_slow: stop the reader at its pause_at-th hook. */
void __wrap_debug_yield_slow(void)
{
	if (!is_reader)
		return;
	if (calls++ != ck_pr_load_int(&pause_at))
		return;
	ck_pr_store_int(&paused, 1);
	while (!ck_pr_load_int(&resume))
		cpu_relax();
}

struct rd {
	struct maple_tree *mt;
	uint64_t addr;
	void *got;
	struct mt_range r;
	int calls;	/* hooks passed: more than the height means a restart */
};

static void *reader(void *arg)
{
	struct rd *a = arg;

	hostcpu_register();
	is_reader = true;
	calls = 0;
	rcu_read_lock();
	a->got = mt_find(a->mt, a->addr, &a->r);
	rcu_read_unlock();
	a->calls = calls;
	if (!ck_pr_load_int(&paused))	/* pause point past the walk */
		ck_pr_store_int(&paused, 1);
	hostcpu_unregister();
	return NULL;
}

/* scenario: the writer's side, with the reader stopped; false on error. */
static bool scenario(struct maple_tree *mt, int s, uint64_t i)
{
	bool ok = true;

	switch (s) {
	case 0:
		return mt_store(mt, first_of(i), last_of(i), val(i + NR)) == 0;
	case 1:
		return mt_store(mt, last_of(i) + 1, first_of(i + 1) - 1, val(7)) == 0;
	case 2:
		for (uint64_t j = i - 8; j <= i + 8; j++)
			ok &= mt_insert(mt, last_of(j) + 0x100, last_of(j) + 0x1ff, val(9)) == 0;
		return ok;
	default:
		for (uint64_t j = i - 24; j <= i + 24; j++)
			if (j != i)
				ok &= mt_erase(mt, first_of(j), last_of(j)) == 0;
		return ok;
	}
}

KTEST(reader_paused_at_every_depth)
{
	unsigned long st0[4] = { 0 }, st1[4] = { 0 };
	unsigned bad = 0, runs = 0, restarts = 0;
	uint64_t i = NR / 2;

	hostcpu_set_count(4);
	hostcpu_register();
	debug_yield_enable(1);
	for (int s = 0; s < 4; s++) {
		for (int d = 0;; d++) {
			struct maple_tree mt;
			struct rd a;
			pthread_t t;
			unsigned h;

			mt_init(&mt);
			for (uint64_t k = 0; k < NR; k++)
				mt_insert(&mt, first_of(k), last_of(k), val(k));
			h = mt.height;
			if (d >= (int)h) {
				mt_destroy(&mt);
				break;
			}
			st0[0] += mt.st_value; st0[1] += mt.st_leaf;
			st0[2] += mt.st_inner; st0[3] += mt.st_root;
			a = (struct rd){ &mt, first_of(i) + 0x10, NULL, { 0, 0 }, 0 };
			ck_pr_store_int(&pause_at, d);
			ck_pr_store_int(&paused, 0);
			ck_pr_store_int(&resume, 0);
			pthread_create(&t, NULL, reader, &a);
			while (!ck_pr_load_int(&paused))
				cpu_relax();
			KT_CHECK(scenario(&mt, s, i), "scenario %d store failed", s);
			KT_CHECK(mt_validate(&mt) == 0, "scenario %d: tree invalid", s);
			st1[0] += mt.st_value; st1[1] += mt.st_leaf;
			st1[2] += mt.st_inner; st1[3] += mt.st_root;
			ck_pr_store_int(&resume, 1);
			pthread_join(t, NULL);
			runs++;
			restarts += a.calls > (int)h;
			if (!(a.got == val(i) || (s == 0 && a.got == val(i + NR))) ||
			    a.r.first != first_of(i) || a.r.last != last_of(i)) {
				printf("# scenario %d depth %d/%u: got %p [%llx, %llx]\n", s, d, h,
				       a.got, (unsigned long long)a.r.first,
				       (unsigned long long)a.r.last);
				bad++;
			}
			mt_destroy(&mt);
			rcu_barrier();
		}
	}
	debug_yield_enable(0);
	KT_CHECK(runs >= 12, "only %u runs (tree too shallow?)", runs);
	KT_CHECK(restarts > 0, "no paused reader found its node dead");
	printf("# %u runs, %u restarted from a dead node\n", runs, restarts);
	KT_CHECK(bad == 0, "%u of %u paused lookups returned a wrong entry", bad, runs);
	KT_CHECK(st1[0] > st0[0] && st1[1] > st0[1] && st1[2] > st0[2],
		 "paths value %lu leaf %lu inner %lu", st1[0] - st0[0], st1[1] - st0[1],
		 st1[2] - st0[2]);
	hostcpu_unregister();
}

int main(int argc, char **argv)
{
	return ktest_main(argc, argv);
}
