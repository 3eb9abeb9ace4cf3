/*
 * tests/user/maps_format.c - /proc/self/maps and /proc/self/status as Linux
 * prints them, for mappings this program creates.
 *
 * maps: every line is exactly "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu "
 * (Linux ends the fields with a space), then, for a named mapping, spaces up
 * to column 72, one more space and the name (so names start at column 73);
 * lines are sorted and disjoint with page-aligned bounds. Anonymous private
 * mappings read "rw-p 00000000 00:00 0 "; mprotect of a middle page splits a
 * mapping into three lines and mprotect back merges them into one; a shared
 * anonymous mapping is "rw-s 00000000 ..:.. <ino> ... /dev/zero (deleted)";
 * the stack line is "[stack]"; the code line has 'x' and a path; the file is
 * regenerated when read again from offset 0.
 * status: VmSize, VmRSS, RssAnon, RssFile, RssShmem read "Name:\t%8lu kB";
 * VmSize moves by exactly the mapped size; RssAnon / RssShmem follow touched
 * pages (within rsstol kB on Linux, whose counters are per-CPU batched;
 * exactly with strict=1, the Kestrel run).
 *
 * Args: strict=0 rsstol=512 (kB). Cases skip if /proc is absent.
 */
#include "uktap.h"

#include <fcntl.h>
#include <sys/mman.h>

#define MAPS "/proc/self/maps"
#define STATUS "/proc/self/status"
#define RW (PROT_READ | PROT_WRITE)
#define PA (MAP_PRIVATE | MAP_ANONYMOUS)

static char text[1 << 17];

struct mline {
	unsigned long start, end;
	char perms[5];
	unsigned long long off;
	unsigned dmaj, dmin;
	unsigned long ino;
	const char *name;	/* "" if none */
};

/* mline_parse: parse and re-format one line; 0 if it is in Linux's exact
 * format. The line is NUL-terminated (no newline). */
static int mline_parse(char *line, struct mline *m)
{
	char want[160];
	int n, k = 0;
	size_t len;

	if (sscanf(line, "%lx-%lx %4c %llx %x:%x %lu%n", &m->start, &m->end, m->perms, &m->off,
		   &m->dmaj, &m->dmin, &m->ino, &k) != 7)
		return -1;
	m->perms[4] = 0;
	n = snprintf(want, sizeof(want), "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu ", m->start,
		     m->end, m->perms[0], m->perms[1], m->perms[2], m->perms[3], m->off, m->dmaj,
		     m->dmin, m->ino);
	len = strlen(line);
	if (len < (size_t)n || strncmp(line, want, (size_t)n))
		return -2;
	m->name = line + n;
	if (len == (size_t)n)
		return 0;
	for (int c = n; c < 73; c++)		/* padding to column 72, then ' ' */
		if (line[c] != ' ')
			return -3;
	m->name = line + (n > 73 ? n : 73);
	return *m->name && *m->name != ' ' ? 0 : -4;
}

static int read_text(const char *path)
{
	return ut_read_file(path, text, sizeof(text)) > 0 ? 0 : -1;
}

/* maps_find: the line of /proc/self/maps starting at start (0 if absent). */
static int maps_find(unsigned long start, struct mline *out, char *keep, size_t cap)
{
	for (char *l = text, *nl; *l; l = nl + 1) {
		nl = strchr(l, '\n');
		if (!nl)
			break;
		*nl = 0;
		if (mline_parse(l, out) == 0 && out->start == start) {
			size_t len = strlen(l) < cap - 1 ? strlen(l) : cap - 1;

			memcpy(keep, l, len);
			keep[len] = 0;
			out->name = keep + ((size_t)(out->name - l) < len ? (size_t)(out->name - l) : len);
			*nl = '\n';
			return 1;
		}
		*nl = '\n';
	}
	return 0;
}

static int test_lines_well_formed(void)
{
	unsigned long prev_end = 0;
	int lines = 0;

	if (read_text(MAPS))
		return ut_skip("no " MAPS);
	for (char *l = text, *nl; *l; l = nl + 1) {
		struct mline m;
		int r;

		nl = strchr(l, '\n');
		UT_REQUIRE(nl, "last line has no newline");
		*nl = 0;
		r = mline_parse(l, &m);
		UT_CHECK(r == 0, "line not in Linux's format (%d): '%s'", r, l);
		UT_CHECK(m.start < m.end && m.start % UT_PAGE == 0 && m.end % UT_PAGE == 0 &&
			 m.start >= prev_end, "bad bounds: '%s'", l);
		UT_CHECK(strchr("r-", m.perms[0]) && strchr("w-", m.perms[1]) &&
			 strchr("x-", m.perms[2]) && strchr("ps", m.perms[3]), "bad perms: '%s'", l);
		prev_end = m.end;
		lines++;
	}
	ut_diag("%d lines", lines);
	return UT_PASS;
}

/* expect_line: the mapping starting at a is one line [a, a+len) with perms. */
static void expect_line(const char *what, char *a, long len, const char *perms, const char *name)
{
	struct mline m;
	char keep[512];

	if (!maps_find((unsigned long)a, &m, keep, sizeof(keep))) {
		UT_CHECK(0, "%s: no line starts at %p", what, (void *)a);
		return;
	}
	UT_CHECK(m.end == (unsigned long)a + (unsigned long)len && !strcmp(m.perms, perms) &&
		 !strcmp(m.name, name),
		 "%s: got '%s', want %p-%p %s ... '%s'", what, keep, (void *)a, (void *)(a + len),
		 perms, name);
}

static int test_split_merge(void)
{
	char *g = mmap(NULL, 5 * UT_PAGE, PROT_NONE, PA, -1, 0), *a = g + UT_PAGE;
	struct mline m;
	char keep[512];

	UT_REQUIRE(g != MAP_FAILED, "mmap: errno %d", errno);
	UT_REQUIRE(!mprotect(a, 3 * UT_PAGE, RW), "mprotect: errno %d", errno);
	a[0] = 1;
	if (read_text(MAPS))
		return ut_skip("no " MAPS);
	expect_line("guard", g, UT_PAGE, "---p", "");
	expect_line("rw region", a, 3 * UT_PAGE, "rw-p", "");
	if (maps_find((unsigned long)a, &m, keep, sizeof(keep)))
		UT_CHECK(m.off == 0 && m.dmaj == 0 && m.dmin == 0 && m.ino == 0,
			 "anonymous line has offset/dev/inode: '%s'", keep);
	UT_REQUIRE(!mprotect(a + UT_PAGE, UT_PAGE, PROT_READ), "mprotect: errno %d", errno);
	read_text(MAPS);
	expect_line("split low", a, UT_PAGE, "rw-p", "");
	expect_line("split middle", a + UT_PAGE, UT_PAGE, "r--p", "");
	expect_line("split high", a + 2 * UT_PAGE, UT_PAGE, "rw-p", "");
	UT_REQUIRE(!mprotect(a + UT_PAGE, UT_PAGE, RW), "mprotect: errno %d", errno);
	read_text(MAPS);
	expect_line("merged", a, 3 * UT_PAGE, "rw-p", "");
	UT_REQUIRE(!munmap(a + UT_PAGE, UT_PAGE), "munmap: errno %d", errno);
	read_text(MAPS);
	expect_line("after munmap low", a, UT_PAGE, "rw-p", "");
	expect_line("after munmap high", a + 2 * UT_PAGE, UT_PAGE, "rw-p", "");
	munmap(g, 5 * UT_PAGE);
	return UT_PASS;
}

static int test_shared_stack_code(void)
{
	char *s = mmap(NULL, 2 * UT_PAGE, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct mline m;
	char keep[512];
	int local = 0, found_stack = 0, found_code = 0;

	UT_REQUIRE(s != MAP_FAILED, "mmap: errno %d", errno);
	if (read_text(MAPS))
		return ut_skip("no " MAPS);
	expect_line("shared anonymous", s, 2 * UT_PAGE, "rw-s", "/dev/zero (deleted)");
	if (maps_find((unsigned long)s, &m, keep, sizeof(keep)))
		UT_CHECK(m.off == 0, "shared anonymous offset: '%s'", keep);
	for (char *l = text, *nl; *l && (nl = strchr(l, '\n')); l = nl + 1) {
		*nl = 0;
		if (!mline_parse(l, &m)) {
			if (m.start <= (unsigned long)&local && (unsigned long)&local < m.end) {
				found_stack = 1;
				UT_CHECK(!strcmp(m.name, "[stack]") && !strcmp(m.perms, "rw-p"),
					 "stack line: '%s'", l);
			}
			if (m.start <= (unsigned long)test_shared_stack_code &&
			    (unsigned long)test_shared_stack_code < m.end) {
				found_code = 1;
				UT_CHECK(m.perms[0] == 'r' && m.perms[2] == 'x' && m.perms[3] == 'p' &&
					 m.name[0] == '/', "code line: '%s'", l);
			}
		}
		*nl = '\n';
	}
	UT_CHECK(found_stack && found_code, "stack line %d, code line %d", found_stack, found_code);
	munmap(s, 2 * UT_PAGE);
	return UT_PASS;
}

static int test_regenerated(void)
{
	static char before[1 << 16], after[1 << 16];
	int fd = open(MAPS, O_RDONLY);
	char *p, want[32];
	ssize_t n = 0, r;

	if (fd < 0)
		return ut_skip("no " MAPS);
	while ((r = read(fd, before + n, sizeof(before) - 1 - (size_t)n)) > 0)
		n += r;
	before[n] = 0;
	p = mmap(NULL, UT_PAGE, PROT_READ, PA, -1, 0);
	UT_REQUIRE(p != MAP_FAILED, "mmap: errno %d", errno);
	snprintf(want, sizeof(want), "%08lx-", (unsigned long)p);
	UT_REQUIRE(lseek(fd, 0, SEEK_SET) == 0, "lseek: errno %d", errno);
	n = 0;
	while ((r = read(fd, after + n, sizeof(after) - 1 - (size_t)n)) > 0)
		n += r;
	after[n] = 0;
	close(fd);
	UT_CHECK(!strstr(before, want) && strstr(after, want),
		 "new mapping %s absent before (%d), present after lseek(0) (%d)", want,
		 !strstr(before, want), strstr(after, want) != NULL);
	munmap(p, UT_PAGE);
	return UT_PASS;
}

/* status_kb: a "Name:\t%8lu kB" field of /proc/self/status, format checked. */
static long status_kb(const char *name)
{
	size_t nl = strlen(name);

	for (char *l = text; *l; l = strchr(l, '\n') + 1) {
		if (!strncmp(l, name, nl) && l[nl] == ':') {
			char want[64];
			long v = strtol(l + nl + 1, NULL, 10);
			snprintf(want, sizeof(want), "%s:\t%8lu kB\n", name, (unsigned long)v);
			UT_CHECK(!strncmp(l, want, strlen(want)), "status line for %s not '%%s:\\t%%8lu kB'", name);
			return v;
		}
		if (!strchr(l, '\n'))
			break;
	}
	UT_CHECK(0, "%s missing from " STATUS, name);
	return -1;
}

static void rss_sample(long v[4])
{
	read_text(STATUS);
	v[0] = status_kb("VmSize");
	v[1] = status_kb("VmRSS");
	v[2] = status_kb("RssAnon");
	v[3] = status_kb("RssShmem");
	status_kb("RssFile");
}

/* near: |got - want| within the tolerance (0 when strict). */
static void near(const char *what, long got, long want)
{
	long tol = ut_arg("strict", 0) ? 0 : ut_arg("rsstol", 512);

	UT_CHECK(got >= want - tol && got <= want + tol, "%s moved by %ld kB, want %ld (tolerance %ld)",
		 what, got, want, tol);
}

static int test_status_rss(void)
{
	const long kb = 2048, pages = kb / 4;
	long v0[4], v1[4], v2[4], v3[4], v4[4], v5[4];
	char *p, *s;

	if (read_text(STATUS))
		return ut_skip("no " STATUS);
	rss_sample(v0);
	p = mmap(NULL, (size_t)pages * UT_PAGE, RW, PA, -1, 0);
	s = mmap(NULL, (size_t)pages * UT_PAGE, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	UT_REQUIRE(p != MAP_FAILED && s != MAP_FAILED, "mmap: errno %d", errno);
	madvise(p, (size_t)pages * UT_PAGE, MADV_NOHUGEPAGE);
	rss_sample(v1);
	UT_CHECK(v1[0] - v0[0] == 2 * kb, "VmSize moved by %ld kB, want %ld", v1[0] - v0[0], 2 * kb);
	for (long i = 0; i < pages; i++)
		p[i * UT_PAGE] = 1;
	rss_sample(v2);
	near("RssAnon after touching", v2[2] - v1[2], kb);
	near("VmRSS after touching", v2[1] - v1[1], kb);
	for (long i = 0; i < pages; i++)
		s[i * UT_PAGE] = 1;
	rss_sample(v3);
	near("RssShmem after touching", v3[3] - v2[3], kb);
	UT_CHECK(!madvise(p, (size_t)pages * UT_PAGE, MADV_DONTNEED), "madvise: errno %d", errno);
	rss_sample(v4);
	near("RssAnon after MADV_DONTNEED", v4[2] - v3[2], -kb);
	munmap(p, (size_t)pages * UT_PAGE);
	munmap(s, (size_t)pages * UT_PAGE);
	rss_sample(v5);
	UT_CHECK(v5[0] == v0[0], "VmSize %ld kB after munmap, was %ld", v5[0], v0[0]);
	near("RssShmem after munmap", v5[3] - v4[3], -kb);
	ut_diag("VmRSS %ld -> %ld -> %ld kB, RssAnon %ld -> %ld -> %ld kB", v1[1], v3[1], v5[1], v1[2],
		v3[2], v5[2]);
	return UT_PASS;
}

int main(int argc, char **argv)
{
	static const struct ut_case cases[] = {
		{ "lines_well_formed", test_lines_well_formed },
		{ "split_merge", test_split_merge },
		{ "shared_stack_code", test_shared_stack_code },
		{ "regenerated_from_offset_0", test_regenerated },
		{ "status_rss", test_status_rss },
	};

	ut_init(argc, argv, 20);
	return ut_run(cases, UT_NCASES(cases));
}
