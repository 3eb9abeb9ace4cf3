/*
 * kernel/proc_args.c - the argument and environment strings of a new
 * image (struct exec_strs, kernel/elf.h): built from kernel strings
 * (proc_spawn) or copied in from the exec'ing process (execve).
 *
 * Limits are Linux's with an 8 MiB stack rlimit: one string (with its
 * NUL) at most MAX_ARG_STRLEN = 32 pages, and all strings plus one pointer
 * per string at most RLIMIT_STACK / 4 = 2 MiB; beyond either, -E2BIG. The
 * buffer starts at one page and doubles as needed (a 2 MiB argument area
 * is one order-9 allocation).
 */
#include "kernel/elf.h"

#define E2BIG_		7
#define ENAMETOOLONG_	36
#define EXEC_STRS_MIN	4096

void exec_strs_free(struct exec_strs *s)
{
	env_free(s->buf, s->cap);
	memset(s, 0, sizeof(*s));
}

/* exec_strs_fits: would strings of total length len (and one more
 * pointer) stay within Linux's limit? */
static bool exec_strs_fits(const struct exec_strs *s, size_t len)
{
	return len + 8 * (s->argc + s->envc + 1) <= EXEC_STRS_MAX;
}

/* exec_strs_grow: double the buffer (keeping its contents); 0, -E2BIG at
 * the limit, -ENOMEM. */
static int exec_strs_grow(struct exec_strs *s)
{
	size_t cap = s->cap ? 2 * s->cap : EXEC_STRS_MIN;
	char *buf;

	if (s->cap >= EXEC_STRS_MAX)
		return -E2BIG_;
	buf = env_alloc(cap);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, s->buf, s->len);
	env_free(s->buf, s->cap);
	s->buf = buf;
	s->cap = cap;
	return 0;
}

/* exec_strs_count: the string just stored is argv (env false) or envp. */
static void exec_strs_count(struct exec_strs *s, bool env)
{
	if (env)
		s->envc++;
	else
		s->argc++;
}

int exec_strs_add(struct exec_strs *s, const char *str, bool env)
{
	size_t n = strlen(str) + 1;
	int err;

	if (n > EXEC_STR_MAX || !exec_strs_fits(s, s->len + n))
		return -E2BIG_;
	while (s->cap - s->len < n)
		if ((err = exec_strs_grow(s)))
			return err;
	memcpy(s->buf + s->len, str, n);
	s->len += n;
	exec_strs_count(s, env);
	return 0;
}

/* exec_strs_add_user: append the user string at ustr (see exec_strs_add);
 * 0, -EFAULT, -E2BIG or -ENOMEM. */
static int exec_strs_add_user(struct exec_strs *s, uint64_t ustr, bool env)
{
	for (;;) {
		size_t room = s->cap - s->len, n = room < EXEC_STR_MAX + 1 ? room : EXEC_STR_MAX + 1;
		long r = n ? strncpy_from_user(s->buf + s->len, ustr, n) : -ENAMETOOLONG_;
		int err;

		if (r >= 0 && (size_t)r + 1 > EXEC_STR_MAX)
			return -E2BIG_;
		if (r >= 0 && !exec_strs_fits(s, s->len + (size_t)r + 1))
			return -E2BIG_;
		if (r >= 0) {
			s->len += (size_t)r + 1;
			exec_strs_count(s, env);
			return 0;
		}
		if (r != -ENAMETOOLONG_)
			return (int)r;
		if (n == EXEC_STR_MAX + 1)
			return -E2BIG_;	/* longer than one string may be */
		if ((err = exec_strs_grow(s)))
			return err;
	}
}

int exec_strs_copy_user(struct exec_strs *s, uint64_t uvec, bool env)
{
	for (uint64_t i = 0; uvec; i++) {
		uint64_t up;
		int err;

		if (copy_from_user(&up, uvec + 8 * i, 8))
			return -EFAULT;
		if (!up)
			return 0;
		if ((err = exec_strs_add_user(s, up, env)))
			return err;
	}
	return 0;
}
