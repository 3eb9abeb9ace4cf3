/*
 * mm/object.c - memory objects: shared anonymous memory (shmem) and the
 * seam for file-backed objects (the kernel's initramfs supplies ops->fill).
 *
 * An object's page cache (a tree keyed by page offset) holds one reference
 * to each page; each PTE mapping a page holds another. The object lives
 * while a mapping or holder references it; its pages are freed with it, and
 * the last mapping's reference is dropped only after the TLB flush that
 * follows its unmapping (vma_release_retired), so no stale translation can
 * reach a freed page.
 *
 * Synchronization: obj->lock (a mutex, below mm->lock in the lock order)
 * serialises the cache and size; refs is atomic.
 */
#include "mm/mm.h"

static const struct vm_object_ops shmem_ops = {
	.name = "shmem",
	.page_flags = PG_SHMEM,
};

/* vm_object_create: an object of size_pages with one reference; NULL when
 * out of memory. */
struct vm_object *vm_object_create(const struct vm_object_ops *ops,
				   uint64_t size_pages, void *priv)
{
	struct vm_object *obj = env_alloc(sizeof(*obj));

	if (!obj)
		return NULL;
	obj->ops = ops;
	obj->refs = 1;
	obj->size_pages = size_pages;
	obj->priv = priv;
	mutex_init(&obj->lock, ops->name);
	mt_init(&obj->cache);
	return obj;
}

struct vm_object *vm_object_create_shmem(uint64_t size_pages)
{
	return vm_object_create(&shmem_ops, size_pages, NULL);
}

void vm_object_get(struct vm_object *obj)
{
	ck_pr_inc_32(&obj->refs);
}

/* page_put: drop one reference; the last one frees the frame at once, so
 * callers use it only where no TLB can still hold the frame. */
void page_put(struct page *pg)
{
	if (ck_pr_faa_32(&pg->refcount, (uint32_t)-1) == 1)
		pmap_page_free(pg);
}

/* vm_object_put: drop a reference; the last frees the pages and obj. */
void vm_object_put(struct vm_object *obj)
{
	struct mt_range rng;
	struct page *pg;

	if (ck_pr_faa_32(&obj->refs, (uint32_t)-1) != 1)
		return;
	rcu_read_lock();
	mt_for_each(&obj->cache, pg, 0, UINT64_MAX, rng) {
		KASSERT(ck_pr_load_32((uint32_t *)&pg->mapcount) == 0,
			"vm_object_put: page still mapped");
		page_put(pg);
	}
	rcu_read_unlock();
	mt_destroy(&obj->cache);
	if (obj->ops->release)
		obj->ops->release(obj);
	mutex_destroy(&obj->lock);
	env_free(obj, sizeof(*obj));
}

/* vm_object_getpage: the page at pgoff with a reference for the caller,
 * created (zeroed or filled) on first use. 0, -EFAULT beyond the object's
 * size (SIGBUS), or -ENOMEM. May sleep (the object lock). */
int vm_object_getpage(struct vm_object *obj, uint64_t pgoff, struct page **out)
{
	struct page *pg;
	int err = 0;

	mutex_lock(&obj->lock);
	if (pgoff >= obj->size_pages) {
		err = -EFAULT;
		goto out_unlock;
	}
	rcu_read_lock();
	pg = mt_find(&obj->cache, pgoff, NULL);
	rcu_read_unlock();
	if (!pg) {
		err = -ENOMEM;
		pg = pmap_page_alloc(obj->ops->page_flags | (obj->ops->fill ? 0 : PMAP_ZERO));
		if (!pg)
			goto out_unlock;
		err = obj->ops->fill ? obj->ops->fill(obj, pgoff, pmap_page_kva(pg)) : 0;
		if (!err)
			err = mt_insert(&obj->cache, pgoff, pgoff, pg);
		if (err) {
			pmap_page_free(pg);
			goto out_unlock;
		}
	}
	ck_pr_inc_32(&pg->refcount);
	*out = pg;
out_unlock:
	mutex_unlock(&obj->lock);
	return err;
}
