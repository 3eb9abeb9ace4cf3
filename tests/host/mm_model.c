/*
 * tests/host/mm_model.c - differential testing against a reference model.
 *
 * Random sequences of mmap (fixed, noreplace, hinted, top-down; private and
 * shared), munmap, mprotect, mremap (all flag combinations), madvise, byte
 * reads and writes, and fork (the child is checked, written and dropped)
 * run on the real mm and on a page-array model of Linux semantics. Every
 * return value, every errno, every placement and every byte read must agree;
 * periodically the model's maximal runs of compatible pages must equal the
 * mm's mappings one for one (merging is maximal) and RSS must equal the
 * mapped PTEs. Placement is predicted too: mmap_base is the top of the
 * model's window, so top-down search lands inside it.
 */
#include "mm_harness.h"

#define PG PAGE_SIZE
#define NP 512			/* model pages */
#define LO 0x40000000ull	/* model window [LO, HI) */
#define HI (LO + NP * PG)
#define OPLO (LO + 128 * PG)	/* ops target [OPLO, HI) */
#define NOBJ 4096

struct mobj {
	uint64_t size;		/* pages */
	uint8_t *data;
};

struct mpage {
	bool mapped, shared;
	uint8_t prot;
	int obj;
	uint64_t idx;
	uint8_t *priv;		/* NULL: zeros */
};

static struct mpage M[NP];
static struct mobj objs[NOBJ];
static int nobj;
static struct mm *mm;
static uint64_t rs;
static unsigned long nops, nerr;

static uint64_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static struct mpage *mp(uint64_t va)
{
	return va >= LO && va < HI ? &M[(va - LO) / PG] : NULL;
}

static bool mfree(uint64_t a, uint64_t len)
{
	for (uint64_t v = a; v < a + len; v += PG)
		if (mp(v)->mapped)
			return false;
	return true;
}

static void munmap_model(uint64_t a, uint64_t len)
{
	for (uint64_t v = a; v < a + len; v += PG) {
		struct mpage *p = mp(v);

		free(p->priv);
		memset(p, 0, sizeof(*p));
	}
}

/* compat: b (at va + PG) can share a mapping with a (at va). */
static bool compat(const struct mpage *a, const struct mpage *b)
{
	return a->mapped && b->mapped && a->prot == b->prot && a->shared == b->shared &&
	       (!a->shared || (a->obj == b->obj && b->idx == a->idx + 1));
}

/* run_of: the [start, end) of the maximal compatible run containing va. */
static void run_of(uint64_t va, uint64_t *s, uint64_t *e)
{
	*s = va;
	while (*s > LO && compat(mp(*s - PG), mp(*s)))
		*s -= PG;
	*e = va + PG;
	while (*e < HI && compat(mp(*e - PG), mp(*e)))
		*e += PG;
}

/* topdown: Linux's placement of len bytes below HI; 0 if below the model. */
static uint64_t topdown(uint64_t len)
{
	for (uint64_t a = HI - len;; a -= PG) {
		if (mfree(a, len))
			return a;
		if (a == LO)
			return 0;
	}
}

static void model_map(uint64_t a, uint64_t len, int prot, bool shared)
{
	int o = shared ? nobj++ : -1;

	if (shared) {
		objs[o].size = len / PG;
		objs[o].data = calloc(len, 1);
	}
	munmap_model(a, len);
	for (uint64_t i = 0; i < len / PG; i++) {
		struct mpage *p = mp(a + i * PG);

		p->mapped = true;
		p->shared = shared;
		p->prot = (uint8_t)prot;
		p->obj = o;
		p->idx = i;
	}
}

#define EXPECT(cond, ...) do { if (!(cond)) { nerr++; \
	printf("# op %lu: ", nops); printf(__VA_ARGS__); printf("\n"); } } while (0)

static uint64_t rand_addr(void) { return OPLO + (rnd() % ((HI - OPLO) / PG)) * PG; }
static uint64_t rand_len(uint64_t a) { uint64_t n = 1 + rnd() % 16; return (a + n * PG > HI ? (HI - a) / PG : n) * PG; }
static int rand_prot(void) { static const int p[] = { 1, 3, 3, 3, 0, 1 }; return p[rnd() % 6]; }

static void op_mmap(void)
{
	uint64_t a = rand_addr(), len = rand_len(a), out = 0, want;
	int prot = rand_prot(), kind = (int)(rnd() % 4);
	bool shared = rnd() % 4 == 0;
	int flags = (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, err, werr = 0;

	if (kind == 0)
		flags |= MAP_FIXED;
	else if (kind == 1)
		flags |= MAP_FIXED_NOREPLACE;
	if (kind == 3)
		a = 0;
	if (kind == 1 && !mfree(a, len))
		werr = -EEXIST;
	want = kind <= 1 ? a : (kind == 2 && mfree(a, len)) ? a : topdown(len);
	if (!want)
		return;
	err = mm_mmap(mm, a, len, prot, flags, &out);
	EXPECT(err == werr, "mmap %llx+%llx k%d: %d want %d", (unsigned long long)a,
	       (unsigned long long)len, kind, err, werr);
	if (!err) {
		EXPECT(out == want, "mmap placed %llx, want %llx", (unsigned long long)out,
		       (unsigned long long)want);
		model_map(out, len, prot, shared);
	}
}

static void op_munmap(void)
{
	uint64_t a = rand_addr(), len = rand_len(a);

	EXPECT(mm_munmap(mm, a, len) == 0, "munmap");
	munmap_model(a, len);
}

static void op_mprotect(void)
{
	uint64_t a = rand_addr(), len = rand_len(a);
	int prot = rand_prot(), err, werr = 0;
	char *before = getenv("MM_MODEL_EVERY") ? mmh_dump(mm) : NULL;

	err = mm_mprotect(mm, a, len, prot);
	if (before && nops == strtoul(getenv("MM_MODEL_EVERY"), NULL, 0))
		printf("# mprotect %llx+%llx %d\n%s", (unsigned long long)a, (unsigned long long)len,
		       prot, before);
	free(before);

	for (uint64_t v = a; v < a + len; v += PG)
		if (!mp(v)->mapped)
			werr = -ENOMEM;
	EXPECT(err == werr, "mprotect: %d want %d", err, werr);
	for (uint64_t v = a; !werr && v < a + len; v += PG)
		mp(v)->prot = (uint8_t)prot;
}

static void op_madvise(void)
{
	uint64_t a = rand_addr(), len = rand_len(a);
	int err = mm_madvise(mm, a, len, MADV_DONTNEED), werr = 0;

	for (uint64_t v = a; v < a + len; v += PG) {
		struct mpage *p = mp(v);

		if (!p->mapped)
			werr = -ENOMEM;
		else if (!p->shared) {
			free(p->priv);
			p->priv = NULL;
		}
	}
	EXPECT(err == werr, "madvise: %d want %d", err, werr);
}

/* byte_ptr: the model's byte at va, or NULL for a fault (*bus: SIGBUS). */
static uint8_t *byte_ptr(uint64_t va, bool write, bool alloc)
{
	struct mpage *p = mp(va);

	if (!p->mapped || p->prot == 0 || (write && !(p->prot & PROT_WRITE)))
		return NULL;
	if (p->shared)
		return p->idx < objs[p->obj].size ?
		       &objs[p->obj].data[p->idx * PG + (va % PG)] : NULL;
	if (!p->priv && alloc)
		p->priv = calloc(PG, 1);
	static uint8_t zero;

	zero = 0;
	return p->priv ? &p->priv[va % PG] : &zero;
}

static void op_access(struct mm *m, bool write)
{
	uint64_t va = rand_addr() + rnd() % PG;
	uint8_t v = (uint8_t)rnd();
	uint8_t *b = byte_ptr(va, write, write);

	if (write) {
		int err = mmh_write(m, va, v);

		EXPECT(err == (b ? 0 : -EFAULT), "write %llx: %d", (unsigned long long)va, err);
		if (b)
			*b = v;
	} else {
		int r = mmh_read(m, va);

		EXPECT(r == (b ? *b : -EFAULT), "read %llx: %d want %d", (unsigned long long)va,
		       r, b ? *b : -EFAULT);
	}
}

enum mr_kind { MR_SHRINK, MR_NOP, MR_GROW, MR_MOVE };

/* mremap_predict: the model's outcome; false if outside what it can know. */
static bool mremap_predict(uint64_t old, uint64_t olen, uint64_t nlen, int flags,
			   uint64_t naddr, int *werr, uint64_t *want, enum mr_kind *k)
{
	struct mpage *p = mp(old);
	uint64_t s, e;

	*werr = 0;
	if ((flags & MREMAP_DONTUNMAP) && olen != nlen)
		return *werr = -EINVAL, true;
	if ((flags & MREMAP_FIXED) && naddr < old + olen && old < naddr + nlen)
		return *werr = -EINVAL, true;
	if ((flags & MREMAP_FIXED) && naddr + nlen > HI)
		return false;
	if (!p->mapped)
		return *werr = -EFAULT, true;
	run_of(old, &s, &e);
	if (old + olen > e)
		return *werr = -EFAULT, true;
	if ((flags & MREMAP_DONTUNMAP) && p->shared)
		return *werr = -EINVAL, true;
	*want = old;
	if (flags & MREMAP_FIXED)
		return *want = naddr, *k = MR_MOVE, true;
	if (nlen < olen && !(flags & MREMAP_DONTUNMAP))
		return *k = MR_SHRINK, true;
	if (nlen == olen && !(flags & MREMAP_DONTUNMAP))
		return *k = MR_NOP, true;
	if (!(flags & MREMAP_DONTUNMAP) && old + olen == e) {
		if (old + nlen > HI)
			return false;
		if (mfree(old + olen, nlen - olen))
			return *k = MR_GROW, true;
	}
	if (!(flags & MREMAP_MAYMOVE))
		return *werr = -ENOMEM, true;
	*want = topdown(nlen);
	*k = MR_MOVE;
	return *want != 0;
}

static void mremap_model(uint64_t old, uint64_t olen, uint64_t nlen, int flags,
			 uint64_t dst, enum mr_kind k)
{
	struct mpage saved[16], last = *mp(old + olen - PG);

	if (k == MR_SHRINK)
		munmap_model(old + nlen, olen - nlen);
	for (uint64_t i = olen / PG; k == MR_GROW && i < nlen / PG; i++) {
		struct mpage *p = mp(old + i * PG);

		*p = last;
		p->priv = NULL;
		p->idx = last.idx + i - (olen / PG - 1);
	}
	if (k != MR_MOVE)
		return;
	for (uint64_t i = 0; i < olen / PG; i++) {
		saved[i] = *mp(old + i * PG);
		if (i >= nlen / PG)
			free(saved[i].priv);
		mp(old + i * PG)->priv = NULL;
		if (!(flags & MREMAP_DONTUNMAP))
			memset(mp(old + i * PG), 0, sizeof(struct mpage));
	}
	munmap_model(dst, nlen);
	for (uint64_t i = 0; i < nlen / PG; i++) {
		struct mpage *p = mp(dst + i * PG);

		if (i < olen / PG) {
			*p = saved[i];
		} else {
			*p = saved[olen / PG - 1];
			p->priv = NULL;
			p->idx = saved[0].idx + i;
		}
	}
}

static void op_mremap(void)
{
	static const int fl[] = { 0, MREMAP_MAYMOVE, MREMAP_MAYMOVE | MREMAP_FIXED,
				  MREMAP_MAYMOVE | MREMAP_DONTUNMAP,
				  MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP };
	uint64_t old = rand_addr(), olen = rand_len(old), nlen = (1 + rnd() % 16) * PG;
	uint64_t naddr = rand_addr(), want = 0, out = 0;
	int flags = fl[rnd() % 5], werr, err;
	enum mr_kind k = MR_NOP;

	if ((flags & MREMAP_DONTUNMAP) && rnd() % 2)
		nlen = olen;
	if (!mremap_predict(old, olen, nlen, flags, naddr, &werr, &want, &k))
		return;
	err = mm_mremap(mm, old, olen, nlen, flags, naddr, &out);
	EXPECT(err == werr, "mremap %llx+%llx->%llx f%d to %llx: %d want %d",
	       (unsigned long long)old, (unsigned long long)olen, (unsigned long long)nlen, flags,
	       (unsigned long long)naddr, err, werr);
	if (err || werr)
		return;
	EXPECT(out == want, "mremap to %llx want %llx", (unsigned long long)out,
	       (unsigned long long)want);
	mremap_model(old, olen, nlen, flags, want, k);
}

static void op_fork(void)
{
	struct mm *child;
	int err = mm_fork(mm, &child);

	EXPECT(err == 0, "fork: %d", err);
	if (err)
		return;
	for (int i = 0; i < 8; i++)
		op_access(child, false);
	for (int i = 0; i < 4; i++) {
		uint64_t va = rand_addr() + rnd() % PG;
		uint8_t *b = byte_ptr(va, true, false), v = (uint8_t)rnd();
		struct mpage *p = mp(va);
		int werr = b ? 0 : -EFAULT;

		EXPECT(mmh_write(child, va, v) == werr, "child write");
		if (b && p->shared)
			*b = v;		/* the object is shared with the parent */
		if (b)
			EXPECT(mmh_read(child, va) == v, "child reads its write");
	}
	host_cpu_switch(NULL);
	mm_destroy(child);
}

/* check_structure: mappings == maximal model runs; RSS == mapped PTEs. */
static void check_structure(void)
{
	struct mt_range r;
	struct vma *v = NULL;
	uint64_t va = LO;

	rcu_read_lock();
	v = mt_seek(&mm->mt, 0, &r);
	while (va < HI) {
		uint64_t s, e;

		if (!mp(va)->mapped) {
			va += PG;
			continue;
		}
		run_of(va, &s, &e);
		EXPECT(v && v->start == s && v->end == e && v->prot == mp(va)->prot,
		       "mapping %llx-%llx p%d s%d: mm has %llx-%llx p%u o%p", (unsigned long long)s,
		       (unsigned long long)e, mp(va)->prot, mp(va)->shared,
		       v ? (unsigned long long)v->start : 0ull,
		       v ? (unsigned long long)v->end : 0ull, v ? v->prot : 0, v ? (void *)v->obj : NULL);
		v = v ? mt_next(&mm->mt, v->start, &r) : NULL;
		va = e;
	}
	EXPECT(!v, "extra mapping at %llx", v ? (unsigned long long)v->start : 0ull);
	rcu_read_unlock();
	EXPECT(mmh_rss_ok(mm), "rss");
}

static void model_reset(void)
{
	for (int i = 0; i < NP; i++)
		free(M[i].priv);
	memset(M, 0, sizeof(M));
	for (int i = 0; i < nobj; i++)
		free(objs[i].data);
	nobj = 0;
}

KTEST(model_random_sequences)
{
	mmh_init(2);
	mmh_quiesce();
	struct mmh_mark mark = mmh_mark_now();

	for (unsigned seed = 0; seed < 20; seed++) {
		rs = 0x2545f4914f6cdd1dull * (ktest_seed * 1000 + seed + 1);
		mm = mm_create();
		KT_REQUIRE(mm, "mm");
		mm->mmap_base = HI;
		for (unsigned i = 0; i < 1500 && nobj < NOBJ - 1; i++, nops++) {
			unsigned op = (unsigned)(rnd() % 100);

			if (op < 15)
				op_mmap();
			else if (op < 22)
				op_munmap();
			else if (op < 32)
				op_mprotect();
			else if (op < 44)
				op_mremap();
			else if (op < 47)
				op_madvise();
			else if (op < 49)
				op_fork();
			else
				op_access(mm, op < 75);
			if (i % 50 == 0 || getenv("MM_MODEL_EVERY"))
				check_structure();
			if (nerr && getenv("MM_MODEL_EVERY")) {
				printf("# last op class %u\n", op);
				KT_REQUIRE(0, "stop at first mismatch");
			}
		}
		check_structure();
		mm_destroy(mm);
		model_reset();
	}
	printf("# %lu operations\n", nops);
	KT_CHECK(nerr == 0, "%lu mismatches", nerr);
	mmh_check_leaks(mark);
}

int main(int argc, char **argv)
{
	return ktest_main(argc, argv);
}
