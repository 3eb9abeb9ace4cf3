/*
 * sync/seq.h - sequence counts (ck_sequence), for per-mapping fault validation.
 *
 * Writers (serialised by the caller, e.g. the mm lock held for writing):
 *     seq_write_begin(s); ...change the protected state...; seq_write_end(s);
 * Readers (lock-free):
 *     v = seq_read_begin(s);  ...read...;  if (seq_read_retry(s, v)) retry;
 * or, where spinning on an active writer is wrong (the fault path prefers to
 * fall back to a locked path):
 *     if (!seq_read_try_begin(s, &v)) fallback;
 *
 * The count is odd while a write is in progress.
 *
 * Synchronization table
 *   read  || read   yes
 *   read  || write  yes (the reader retries)
 *   write || write  no: writers hold an outer lock
 */
#ifndef KESTREL_SYNC_SEQ_H
#define KESTREL_SYNC_SEQ_H

#include "env.h"
#include <ck_pr.h>
#include <ck_sequence.h>

typedef struct seqcount {
	ck_sequence_t s;
} seqcount_t;

#define SEQCOUNT_INITIALIZER { CK_SEQUENCE_INITIALIZER }

static inline void seq_init(seqcount_t *s)
{
	ck_sequence_init(&s->s);
}

/* seq_read_begin: wait until no write is in progress; return the version. */
static inline unsigned seq_read_begin(const seqcount_t *s)
{
	/* ck: load the count, then a load fence so the protected reads that
	 * follow cannot be satisfied before the count was read. */
	return ck_sequence_read_begin(&s->s);
}

/* seq_read_try_begin: like seq_read_begin but false (no spin) if a write is
 * in progress. */
static inline bool seq_read_try_begin(const seqcount_t *s, unsigned *v)
{
	unsigned x = ck_pr_load_uint(&s->s.sequence);

	ck_pr_fence_load();	/* protected reads stay after the count load */
	*v = x;
	return (x & 1) == 0;
}

/* seq_read_retry: true if a writer ran since version v was read. */
static inline bool seq_read_retry(const seqcount_t *s, unsigned v)
{
	/* ck: a load fence keeps the protected reads before the re-read. */
	return ck_sequence_read_retry(&s->s, v);
}

/* seq_raw: the current count, for diagnostics and assertions. */
static inline unsigned seq_raw(const seqcount_t *s)
{
	return ck_pr_load_uint(&s->s.sequence);
}

static inline void seq_write_begin(seqcount_t *s)
{
	/* ck: count+1 (odd), then a store fence so the count is visible before
	 * any protected store. */
	ck_sequence_write_begin(&s->s);
}

static inline void seq_write_end(seqcount_t *s)
{
	/* ck: a store fence so protected stores are visible before count+1. */
	ck_sequence_write_end(&s->s);
}

#endif
