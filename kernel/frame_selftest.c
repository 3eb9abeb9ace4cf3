/*
 * kernel/frame_selftest.c - a stress loop over the frame allocator that the
 * in-kernel test runner runs on every CPU at once (and the host tests run on
 * host CPUs): random allocations and frees of orders 0..3, each frame
 * stamped with its address and the caller's tag and checked before it is
 * freed. The caller compares frame_free_count() before and after.
 */
#include "kernel/frame.h"

#define SELFTEST_HELD	(FRAME_SIZE / sizeof(uint64_t))	/* one frame of entries */

/* selftest_rand: xorshift64; *s must not be 0. */
static uint64_t selftest_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* selftest_stamp: write (check) the stamp of every frame of block pa.
 * Returns the number of frames whose stamp was wrong. */
static unsigned selftest_stamp(uint64_t pa, unsigned order, uint64_t tag, bool check)
{
	unsigned bad = 0;

	for (uint64_t i = 0; i < (1ull << order); i++) {
		uint64_t *w = phys_to_virt(pa + i * FRAME_SIZE);

		if (check)
			bad += *w != (tag ^ (pa + i * FRAME_SIZE));
		else
			*w = tag ^ (pa + i * FRAME_SIZE);
	}
	return bad;
}

/* selftest_put: free held entry e (pa | order) after checking its stamps. */
static unsigned selftest_put(uint64_t e, uint64_t tag)
{
	unsigned order = (unsigned)(e & 0xf), bad = selftest_stamp(e & ~0xfffull, order, tag, true);

	frame_free(e & ~0xfffull, order);
	return bad;
}

/* frame_selftest: ops random operations on this CPU, tagged with tag.
 * Returns 0, -ENOMEM if not even one frame was free, or -EIO if some
 * frame's stamp changed while it was held. Frees everything it took and
 * drains this CPU's cache before returning. */
int frame_selftest(unsigned ops, uint64_t tag)
{
	uint64_t table_pa = frame_alloc(0), *held, rnd = tag | 1;
	unsigned n = 0, bad = 0;

	if (!table_pa)
		return -ENOMEM;
	held = phys_to_virt(table_pa);
	for (unsigned op = 0; op < ops; op++) {
		uint64_t r = selftest_rand(&rnd);

		if (n < SELFTEST_HELD && (n == 0 || (r & 1))) {
			unsigned order = (r >> 8) % 8 ? 0 : 1 + (unsigned)((r >> 16) % 3);
			uint64_t pa = frame_alloc(order);

			if (!pa)
				continue;
			selftest_stamp(pa, order, tag, false);
			held[n++] = pa | order;
		} else {
			unsigned i = (unsigned)((r >> 8) % n);

			bad += selftest_put(held[i], tag);
			held[i] = held[--n];
		}
	}
	while (n)
		bad += selftest_put(held[--n], tag);
	frame_free(table_pa, 0);
	frame_pcpu_drain();
	if (bad)
		printk("frame_selftest: %u frames overwritten while held (tag %#llx)\n", bad,
		       (unsigned long long)tag);
	return bad ? -EIO : 0;
}
