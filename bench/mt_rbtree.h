/*
 * bench/mt_rbtree.h - the benchmark baseline for the range tree: a red-black
 * tree of ranges (libbsd <bsd/sys/tree.h>) under one pthread rwlock, with
 * Linux-style (pre-maple) largest-gap augmentation for gap search. Every call
 * takes the lock itself: lookups and gap search for reading, writes for
 * writing.
 */
#ifndef KESTREL_BENCH_MT_RBTREE_H
#define KESTREL_BENCH_MT_RBTREE_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct rbb;

struct rbb *rbb_create(void);
void rbb_destroy(struct rbb *t);
void *rbb_find(struct rbb *t, uint64_t addr);
int rbb_insert(struct rbb *t, uint64_t first, uint64_t last, void *val);	/* 0 / -EEXIST / -ENOMEM */
int rbb_erase(struct rbb *t, uint64_t first);	/* the range starting at first; 0 / -ENOENT */
int rbb_set_val(struct rbb *t, uint64_t first, uint64_t last, void *val);	/* exactly that range; 0 / -ENOENT */
int rbb_gap_topdown(struct rbb *t, uint64_t hi, uint64_t size, uint64_t *addr);	/* in [0, hi] */
size_t rbb_bytes(struct rbb *t);	/* malloc_usable_size of every node */
size_t rbb_count(struct rbb *t);

#ifdef __cplusplus
}
#endif

#endif
