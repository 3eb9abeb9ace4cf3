/*
 * mm/mm.h - address spaces (struct mm), mappings (struct vma), memory
 * objects (struct vm_object) and the operations on them.
 *
 * Lock ordering in mm (outermost first; written once, here):
 *
 *   mm->lock                     rwsem: write for every change of mappings,
 *     |                          read for the slow fault path
 *     +-- vm_object->lock        mutex: the object's page cache
 *     |     +-- frame allocator  (port-internal, leaf)
 *     +-- page-table lock        spinlock in the struct page of one PTE table
 *           |                    (pt_lock). A fault holds one. Only the
 *           |                    holder of mm->lock for writing may hold two
 *           |                    (mremap: source then destination).
 *           +-- frame allocator
 *   rcu_read_lock                nests inside anything; nothing sleeps in it
 *
 * Waiting for shootdown acknowledgements is allowed with mm->lock or one
 * page-table lock held: every spin on a page-table lock serves shootdowns
 * (pmap_cpu_relax) and every sleep on mm->lock is bracketed by
 * pmap_cpu_sleep_begin/end, so no CPU can hold back an acknowledgement.
 *
 * Synchronization table (one mm)
 *   fast fault  || fast or slow fault   yes: CAS on levels, the PTE table lock
 *   fast fault  || mm operation         yes: the vma seq; the fault backs out
 *   slow fault  || mm operation         no: mm->lock read vs write
 *   mm operation || mm operation        no: mm->lock for writing
 *   mm_destroy  || anything             no: the caller is the last user
 *
 * Field legend: (M) mm->lock held for writing to write, for reading (or
 * write) to read reliably; (S) also written only inside a seq write section
 * of the vma, so lock-free readers read it unreliably and validate with the
 * vma's seq; (A) atomic; (C) constant after publication; (O) the object lock;
 * (P) per CPU: only that CPU writes its element.
 */
#ifndef KESTREL_MM_MM_H
#define KESTREL_MM_MM_H

#include "sync/env.h"
#include "sync/rcu.h"
#include "sync/seq.h"
#include "sync/lock.h"
#include "sync/pcpu_counter.h"
#include "mm/pmap.h"
#include "mm/mt.h"

/* Linux ABI values. */
#ifndef PROT_READ
#define PROT_NONE	0x0
#define PROT_READ	0x1
#define PROT_WRITE	0x2
#define PROT_EXEC	0x4
#define MAP_SHARED	0x01
#define MAP_PRIVATE	0x02
#define MAP_FIXED	0x10
#define MAP_ANONYMOUS	0x20
#define MAP_FIXED_NOREPLACE 0x100000
#define MREMAP_MAYMOVE	1
#define MREMAP_FIXED	2
#define MREMAP_DONTUNMAP 4
#define MADV_DONTNEED	4
#endif

#define MM_MMAP_MIN	0x10000ull		/* lowest mappable address */
#define MM_MMAP_BASE	0x00007f0000000000ull	/* default top-down base */
#define MM_NO_LIMIT	UINT64_MAX
#define MM_BRK_BASE	0x0000000010000000ull	/* default start of the heap */

enum mm_rss { MM_ANON, MM_FILE, MM_SHMEM, MM_NR_RSS };

/* vma->flags */
#define VM_SHARED	0x1

/*
 * struct vm_object - what a mapping maps when it is not private anonymous
 * memory: shared anonymous memory (shmem) or a file (the kernel's initramfs
 * supplies fill()). Pages live in a page cache keyed by page offset; the
 * cache holds one reference to each.
 */
struct vm_object;
struct vm_object_ops {
	const char *name;
	unsigned page_flags;	/* PG_SHMEM or PG_FILE: decides the RSS type */
	/* fill: initialise a new cache page (kva) for page offset pgoff;
	 * 0 or negative errno. NULL means zero-filled. */
	int (*fill)(struct vm_object *obj, uint64_t pgoff, void *kva);
	/* release: free what the port attached to obj, at the last reference */
	void (*release)(struct vm_object *obj);
};

struct vm_object {
	const struct vm_object_ops *ops;	/* (C) */
	uint32_t refs;				/* (A) mappings + holders */
	uint64_t size_pages;			/* (O) beyond: SIGBUS */
	struct mutex lock;
	struct maple_tree cache;		/* (O) pgoff -> struct page */
	void *priv;				/* (C) for ops */
};

/*
 * struct vma - one mapping [start, end).
 * seq: writers are holders of mm->lock for writing, who bump it
 * (seq_write_begin) before changing any field or any PTE of the range and
 * end it after; a vma removed from the tree keeps an odd count forever.
 * Lock-free readers (the fault fast path) read it with seq_read_try_begin
 * and re-check it under the page-table lock before installing a PTE.
 * ref: the tree's reference (dropped a grace period after removal) plus one
 * per CPU whose fault cache (mm->vcache) points at it; the last put frees.
 * readers: holders of the vma's read lock (vma_read_trylock, mm/vma.h):
 * MADV_DONTNEED of a range inside this one vma, without mm->lock. Every
 * writer's vma_write_begin waits for it to drop to zero (Linux's per-VMA
 * lock, vma_start_read/vma_start_write).
 * lseq: mm->wseq while a write section that created or changed the vma
 * runs: the read lock is refused until that section ends (mm_unlock_write
 * bumps wseq), after its TLB flush (Linux's vm_lock_seq).
 */
struct vma {
	uint64_t start, end;	/* (M,S) */
	uint32_t prot;		/* (M,S) PROT_* */
	uint32_t flags;		/* (M,S) VM_* */
	struct vm_object *obj;	/* (M,S) NULL: private anonymous */
	uint64_t pgoff;		/* (M,S) object page of start */
	seqcount_t seq;
	struct mm *mm;		/* (C) */
	/* Second cache line: nothing a fault reads. */
	struct vma *retire_next;	/* (M) list of vmas being removed */
	struct rcu_head rcu;	/* deferred free */
	uint32_t ref;		/* (A) off the fault's line: a CPU whose vcache
				 * alternates between vmas writes it per fault */
	uint32_t readers;	/* (A) vma read lock holders; off the fault's
				 * line too */
	uint32_t lseq;		/* (A) == mm->wseq: write-locked (see above) */
};
_Static_assert(offsetof(struct vma, ref) >= CACHELINE && sizeof(struct vma) <= 2 * CACHELINE,
	       "vma->ref must not share the line of seq, start and end");

/*
 * Layout: what every fault reads (pmap, rss) comes first and shares no
 * cache line with what writers write on every operation (the tree's root and
 * bookkeeping, the lock word, the (M) fields): a thread churning
 * mmap/munmap must not make each fault of another CPU miss on pmap.root
 * (before, the rwlock's owner field shared its line).
 */
struct mm {
	struct pmap pmap;	/* tables: lower levels linked by CAS */
	struct pcpu_counter rss[MM_NR_RSS];	/* (A) pages mapped, per type */
	struct maple_tree mt __cacheline_aligned;	/* (M) writers; (R) readers
							 * under rcu_read_lock */
	struct rwsem lock __cacheline_aligned;
	uint64_t mmap_base;	/* (M) top of the top-down search */
	uint64_t brk_start;	/* (M) */
	uint64_t brk;		/* (M) */
	uint64_t total_vm;	/* (M) pages covered by mappings */
	uint64_t rlimit_as;	/* (M) bytes, MM_NO_LIMIT if none */
	unsigned long nr_vmas;	/* (M) */
	uint32_t zapping;	/* (A) MADV_DONTNEEDs between zap and flush */
	uint32_t wseq;		/* (A) write sections ended (mm_unlock_write);
				 * written by the holder, read by vma readers */
	/* (P) per CPU, written only by that CPU inside rcu_read_lock: the vma
	 * its last lock-free fault found, referenced (mm/fault.c, vcache_*). */
	struct vma *vcache[NCPU_MAX] __cacheline_aligned;
};

/* Address-space lifetime (mm/mm.c). */
struct mm *mm_create(void);
void mm_destroy(struct mm *mm);
int mm_fork(struct mm *parent, struct mm **child);
void mm_lock_write(struct mm *mm);
void mm_unlock_write(struct mm *mm);
void mm_lock_read(struct mm *mm);
void mm_unlock_read(struct mm *mm);
int64_t mm_rss(struct mm *mm, enum mm_rss type);

/* Operations (mm/mmap.c, mm/mremap.c): Linux semantics, negative errno. */
int mm_mmap(struct mm *mm, uint64_t addr, uint64_t len, int prot, int flags,
	    uint64_t *out);
int mm_mmap_object(struct mm *mm, uint64_t addr, uint64_t len, int prot,
		   int flags, struct vm_object *obj, uint64_t pgoff, uint64_t *out);
int mm_munmap(struct mm *mm, uint64_t addr, uint64_t len);
int mm_mprotect(struct mm *mm, uint64_t addr, uint64_t len, int prot);
int mm_mremap(struct mm *mm, uint64_t old, uint64_t old_len, uint64_t new_len,
	      int flags, uint64_t new_addr, uint64_t *out);
int mm_madvise(struct mm *mm, uint64_t addr, uint64_t len, int advice);
uint64_t mm_brk(struct mm *mm, uint64_t newbrk);

/* Objects (mm/object.c). */
struct vm_object *vm_object_create(const struct vm_object_ops *ops,
				   uint64_t size_pages, void *priv);
struct vm_object *vm_object_create_shmem(uint64_t size_pages);
void vm_object_get(struct vm_object *obj);
void vm_object_put(struct vm_object *obj);
int vm_object_getpage(struct vm_object *obj, uint64_t pgoff, struct page **out);
void page_put(struct page *pg);

/* The fault handler the machine calls on a translation miss (mm/fault.c). */
#define FAULT_READ	0x0
#define FAULT_WRITE	0x1
#define FAULT_EXEC	0x2
int fault_handle(struct mm *mm, uint64_t va, unsigned access);

/* Fault-path switch and counters (per CPU, summed when read). */
struct fault_stats {
	uint64_t fast;		/* resolved lock-free */
	uint64_t retries;	/* RESTARTs of the fast path */
	uint64_t fallbacks;	/* taken by the locked slow path */
	uint64_t locked;	/* slow-path faults (forced or fallback) */
	uint64_t cached;	/* of fast, those whose vma came from the vcache */
};
void fault_set_force_locked(bool on);
bool fault_force_locked(void);
void fault_stats_read(struct fault_stats *out);
void fault_stats_reset(void);

/* MADV_DONTNEED calls by the lock they held (mm/mmap.c), and writers that
 * waited for a vma's read lock holders (mm/vma.c). */
struct madvise_stats {
	uint64_t vma_locked;	/* the range's one vma, read-locked */
	uint64_t mm_locked;	/* mm->lock for reading */
	uint64_t writer_waits;	/* vma_write_begin found holders */
	uint64_t writer_yields;	/* ... and waited long enough to yield */
};
void madvise_stats_read(struct madvise_stats *out);

#endif
