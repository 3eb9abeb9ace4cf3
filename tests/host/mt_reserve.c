/*
 * tests/host/mt_reserve.c - mt_reserve is linear in the number of stores,
 * and still sufficient: after mt_reserve(n), n stores succeed even when
 * every allocation fails.
 */
#include "mm/mt.h"
#include "sync/rcu.h"
#include "sync/host/hostcpu.h"
#include "sync/host/alloc_inject.h"
#include "tests/ktest.h"

static const unsigned sizes[] = { 1, 10, 100, 1000, 4000 };

/* Reserve n on an empty tree: at most a constant number of nodes per store. */
KTEST(mt_reserve_linear)
{
	struct maple_tree mt;

	mt_init(&mt);
	for (unsigned k = 0; k < ARRAY_SIZE(sizes); k++) {
		KT_REQUIRE(mt_reserve(&mt, sizes[k]) == 0, "reserve %u", sizes[k]);
		unsigned long nodes = mt_node_count(&mt);
		printf("# mt_reserve(%u): %lu nodes (%.1f per store)\n", sizes[k], nodes,
		       (double)nodes / sizes[k]);
		KT_CHECK(nodes <= 200ul * sizes[k], "%lu nodes for %u stores", nodes, sizes[k]);
		mt_reserve_release(&mt);
	}
	mt_destroy(&mt);
}

/* After mt_reserve(n), n inserts into a growing tree need no allocation. */
static void reserve_then_store(unsigned n, uint64_t stride)
{
	struct maple_tree mt;
	int err = 0;

	mt_init(&mt);
	KT_REQUIRE(mt_reserve(&mt, n) == 0, "reserve");
	alloc_inject_fail_nth(0);	/* the very next allocation fails */
	for (uint64_t i = 0; i < n && !err; i++)
		err = mt_insert(&mt, i * stride, i * stride + 0xfff, (void *)(uintptr_t)(i * 16 + 16));
	bool fired = alloc_inject_fired();
	alloc_inject_disarm();
	KT_CHECK(err == 0 && !fired, "n %u: err %d, allocated despite reservation: %d",
		 n, err, fired);
	KT_CHECK(mt_validate(&mt) == 0, "valid");
	mt_reserve_release(&mt);
	mt_destroy(&mt);
}

KTEST(mt_reserve_sufficient)
{
	for (unsigned k = 0; k < ARRAY_SIZE(sizes); k++)
		reserve_then_store(sizes[k], 0x2000);
}

int main(int argc, char **argv)
{
	int r;

	hostcpu_set_count(4);
	hostcpu_register();
	r = ktest_main(argc, argv);
	rcu_barrier();
	return r;
}
