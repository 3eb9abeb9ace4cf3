/*
 * kernel/proc_mm.c - address spaces shared between processes (mm_ref).
 *
 * The mm core's struct mm has one owner by contract (mm_destroy: "the
 * caller is the last user"). A CLONE_VM child (vfork, posix_spawn) runs in
 * its parent's address space, and either may outlive the other (a killed
 * parent leaves its vfork child running), so processes hold a counted
 * reference instead; the last put destroys the mm. Every holder leaves the
 * address space (user_adopt(NULL) or a switch to another mm) before it puts
 * its reference, so at the last put no CPU runs it.
 */
#include "kernel/proc.h"

struct mm_ref *mm_ref_new(struct mm *mm)
{
	struct mm_ref *r = env_alloc(sizeof(*r));

	if (!r) {
		mm_destroy(mm);
		return NULL;
	}
	r->mm = mm;
	r->users = 1;
	return r;
}

void mm_ref_get(struct mm_ref *r)
{
	KASSERT(ck_pr_load_int(&r->users) > 0, "mm_ref_get: dead reference");
	ck_pr_inc_int(&r->users);
}

/* mm_ref_put: drop one user; the last destroys the mm (nobody runs it). */
void mm_ref_put(struct mm_ref *r)
{
	int old = ck_pr_faa_int(&r->users, -1);

	KASSERT(old > 0, "mm_ref_put: underflow");
	if (old != 1)
		return;
	mm_destroy(r->mm);
	env_free(r, sizeof(*r));
}
