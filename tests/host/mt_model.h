/*
 * tests/host/mt_model.h - the reference model for range-tree tests: a sorted
 * array of disjoint ranges, with obviously-correct O(n) operations.
 */
#ifndef KESTREL_TEST_MT_MODEL_H
#define KESTREL_TEST_MT_MODEL_H

#include <stdint.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct model_ent {
	uint64_t first, last;
	void *entry;
};

struct model {
	struct model_ent *e;
	size_t n, cap;
};

static inline void model_init(struct model *m)
{
	memset(m, 0, sizeof(*m));
}

static inline void model_free(struct model *m)
{
	free(m->e);
	memset(m, 0, sizeof(*m));
}

static inline void model_put(struct model *m, size_t at, uint64_t f, uint64_t l, void *e)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 64;
		m->e = realloc(m->e, m->cap * sizeof(*m->e));
	}
	memmove(&m->e[at + 1], &m->e[at], (m->n - at) * sizeof(*m->e));
	m->e[at] = (struct model_ent){ f, l, e };
	m->n++;
}

/* model_lower: index of the first range with last >= addr (n if none). */
static inline size_t model_lower(const struct model *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (m->e[mid].last < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* model_store: what mt_store promises (entry NULL erases). */
static inline void model_store(struct model *m, uint64_t f, uint64_t l, void *e)
{
	size_t i = model_lower(m, f);

	while (i < m->n && m->e[i].first <= l) {
		struct model_ent old = m->e[i];

		memmove(&m->e[i], &m->e[i + 1], (m->n - i - 1) * sizeof(*m->e));
		m->n--;
		if (old.first < f)
			model_put(m, i++, old.first, f - 1, old.entry);
		if (old.last > l) {
			model_put(m, i, l + 1, old.last, old.entry);
			break;
		}
	}
	if (e)
		model_put(m, model_lower(m, f), f, l, e);
}

static inline bool model_overlaps(const struct model *m, uint64_t f, uint64_t l)
{
	size_t i = model_lower(m, f);

	return i < m->n && m->e[i].first <= l;
}

static inline const struct model_ent *model_find(const struct model *m, uint64_t a)
{
	size_t i = model_lower(m, a);

	return i < m->n && m->e[i].first <= a ? &m->e[i] : NULL;
}

static inline const struct model_ent *model_seek(const struct model *m, uint64_t a)
{
	size_t i = model_lower(m, a);

	return i < m->n ? &m->e[i] : NULL;
}

static inline const struct model_ent *model_next(const struct model *m, uint64_t a)
{
	for (size_t i = model_lower(m, a); i < m->n; i++)
		if (m->e[i].first > a)
			return &m->e[i];
	return NULL;
}

static inline const struct model_ent *model_prev(const struct model *m, uint64_t a)
{
	size_t i = model_lower(m, a);

	while (i > 0 && !(m->e[i - 1].last < a))
		i--;
	return i > 0 ? &m->e[i - 1] : NULL;
}

/* model_gap_fit: the aligned placement of size bytes in free [a, b] within
 * [lo, hi]; mirrors the specification, not the tree's code. */
static inline bool model_gap_fit(uint64_t a, uint64_t b, uint64_t lo, uint64_t hi,
				 uint64_t size, uint64_t align, bool topdown, uint64_t *out)
{
	unsigned __int128 x;

	if (a < lo)
		a = lo;
	if (b > hi)
		b = hi;
	if (a > b || (unsigned __int128)b - a + 1 < size)
		return false;
	if (topdown) {
		x = ((unsigned __int128)b + 1 - size) / align * align;
		if (x < a)
			return false;
	} else {
		x = ((unsigned __int128)a + align - 1) / align * align;
		if (x + size - 1 > b)
			return false;
	}
	*out = (uint64_t)x;
	return true;
}

/* model_gap: 0 and *out, or -ENOMEM (same contract as mt_gap_find). */
static inline int model_gap(const struct model *m, uint64_t lo, uint64_t hi, uint64_t size,
			    uint64_t align, bool topdown, uint64_t *out)
{
	size_t n = m->n;

	for (size_t j = 0; j <= n; j++) {
		size_t i = topdown ? n - j : j;	/* gap before range i */
		uint64_t a = i ? m->e[i - 1].last + 1 : 0;
		uint64_t b = i < n ? m->e[i].first - 1 : UINT64_MAX;

		if (i && m->e[i - 1].last == UINT64_MAX)
			continue;
		if (i < n && m->e[i].first == 0)
			continue;
		if (i < n && i && m->e[i].first == m->e[i - 1].last + 1)
			continue;
		if (model_gap_fit(a, b, lo, hi, size, align, topdown, out))
			return 0;
	}
	return -12;	/* -ENOMEM */
}

#endif
