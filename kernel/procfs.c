/*
 * kernel/procfs.c - the /proc files programs (and their tests) read, in
 * Linux's formats. Each is generated into a buffer when read from offset 0
 * (kernel/file.c), describing the reading process ("self").
 *
 *   /proc/self/maps        one line per mapping (format below)
 *   /proc/self/status      Name, Pid, Threads, VmSize, VmRSS, RssAnon,
 *                          RssFile, RssShmem (exact: per-CPU counter sums)
 *   /proc/meminfo          MemTotal, MemFree, MemAvailable
 *   /proc/sys/vm/mmap_min_addr
 *   /proc/kestrel/ipi      per-CPU IPIs sent and received (tests assert counts)
 *   /proc/kestrel/mmstat   the mm core's fault, shootdown and DONTNEED counters
 *
 * maps lines are "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu " and, for a
 * named mapping, spaces to column 72, one more and the name: the ELF's or a
 * mapped file's path, [heap], [stack], or "/dev/zero (deleted)" for shared
 * anonymous memory, as Linux prints them.
 */
#include "kernel/file.h"
#include "kernel/frame.h"
#include "kernel/percpu.h"
#include "kernel/smp_call.h"
#include "kernel/elf.h"
#include "kernel/printk.h"
#include "mm/vma.h"
#include "mm/tlb.h"

#define MAPS_NAME_COL 73

/* maps_name: the name column of v, "" if none; ino/dev out. */
static const char *maps_name(struct mm *mm, const struct vma *v, char *buf, size_t n,
			     unsigned long *ino, unsigned *dmin)
{
	const struct initramfs_file *rf = initramfs_object_file(v->obj);

	*ino = 0;
	*dmin = 0;
	if (rf) {
		*ino = rf->ino;
		*dmin = 2;
		snprintf(buf, n, "/%s", rf->name);
		return buf;
	}
	if (v->obj) {
		*ino = (unsigned long)((uintptr_t)v->obj >> 6) & 0xffffff;
		*dmin = 1;
		return "/dev/zero (deleted)";
	}
	if (v->start <= mm->brk && v->end >= mm->brk_start && mm->brk > mm->brk_start)
		return "[heap]";
	if (v->start < USER_STACK_TOP && v->end >= USER_STACK_TOP)
		return "[stack]";
	return "";
}

static long gen_maps(struct file *f)
{
	struct mm *mm = proc_self()->mm;
	struct mt_range rng;
	struct vma *v;
	int err = 0;

	mm_lock_read(mm);
	mt_for_each(&mm->mt, v, 0, UINT64_MAX, rng) {
		char name[80];
		unsigned long ino;
		unsigned dmin;
		const char *nm = maps_name(mm, v, name, sizeof(name), &ino, &dmin);
		uint64_t start_len = f->len;

		err = file_gen_printf(f, "%08lx-%08lx %c%c%c%c %08llx %02x:%02x %lu ",
				      (unsigned long)v->start, (unsigned long)v->end,
				      v->prot & PROT_READ ? 'r' : '-', v->prot & PROT_WRITE ? 'w' : '-',
				      v->prot & PROT_EXEC ? 'x' : '-', v->flags & VM_SHARED ? 's' : 'p',
				      (unsigned long long)(initramfs_object_file(v->obj) ?
							   v->pgoff << PAGE_SHIFT : 0),
				      0, dmin, ino);
		if (!err && *nm) {
			char pad[MAPS_NAME_COL + 1];
			uint64_t used = f->len - start_len;
			size_t k = used < MAPS_NAME_COL ? MAPS_NAME_COL - used : 1;

			memset(pad, ' ', k);
			pad[k] = 0;
			err = file_gen_printf(f, "%s%s", pad, nm);
		}
		if (!err)
			err = file_gen_printf(f, "\n");
		if (err)
			break;
	}
	mm_unlock_read(mm);
	return err;
}

static long gen_status(struct file *f)
{
	struct proc *p = proc_self();
	struct mm *mm = p->mm;
	int64_t anon = mm_rss(mm, MM_ANON), file = mm_rss(mm, MM_FILE), shm = mm_rss(mm, MM_SHMEM);
	uint64_t vm;

	mm_lock_read(mm);
	vm = mm->total_vm;
	mm_unlock_read(mm);
	return file_gen_printf(f, "Name:\t%s\nPid:\t%d\nThreads:\t%d\nVmSize:\t%8llu kB\n"
			       "VmRSS:\t%8llu kB\nRssAnon:\t%8llu kB\nRssFile:\t%8llu kB\n"
			       "RssShmem:\t%8llu kB\n", p->name[0] == '/' ? p->name + 1 : p->name,
			       p->pid, ck_pr_load_int(&p->nthreads), (unsigned long long)vm * 4,
			       (unsigned long long)(anon + file + shm) * 4,
			       (unsigned long long)anon * 4, (unsigned long long)file * 4,
			       (unsigned long long)shm * 4);
}

static long gen_meminfo(struct file *f)
{
	unsigned long long total = frame_total_count() * 4, free = frame_free_count() * 4;

	return file_gen_printf(f, "MemTotal:       %8llu kB\nMemFree:        %8llu kB\n"
			       "MemAvailable:   %8llu kB\n", total, free, free);
}

static long gen_mmap_min_addr(struct file *f)
{
	return file_gen_printf(f, "%llu\n", (unsigned long long)MM_MMAP_MIN);
}

static long gen_ipi(struct file *f)
{
	int err = 0;

	for (unsigned c = 0; c < ncpus && !err; c++)
		err = file_gen_printf(f, "cpu%u sent %llu received %llu\n", c,
				      (unsigned long long)cpu_ipi_sent(c),
				      (unsigned long long)cpu_ipi_received(c));
	return err;
}

/* gen_mmstat: the mm core's counters since boot, one "name value" a line:
 * fault paths (mm/fault.c), shootdowns (mm/tlb.c), MADV_DONTNEED locks. */
static long gen_mmstat(struct file *f)
{
	struct fault_stats fs;
	struct tlb_stats ts;
	struct madvise_stats ms;

	fault_stats_read(&fs);
	tlb_stats_read(&ts);
	madvise_stats_read(&ms);
	return file_gen_printf(f, "fault_fast %llu\nfault_cached %llu\nfault_retries %llu\n"
			       "fault_fallbacks %llu\nfault_locked %llu\ntlb_flushes %llu\n"
			       "tlb_requests %llu\ntlb_pages %llu\ntlb_full %llu\n"
			       "dontneed_vma_locked %llu\ndontneed_mm_locked %llu\n"
			       "vma_writer_waits %llu\nvma_writer_yields %llu\n",
			       (unsigned long long)fs.fast, (unsigned long long)fs.cached,
			       (unsigned long long)fs.retries, (unsigned long long)fs.fallbacks,
			       (unsigned long long)fs.locked, (unsigned long long)ts.flushes,
			       (unsigned long long)ts.requests, (unsigned long long)ts.pages,
			       (unsigned long long)ts.full, (unsigned long long)ms.vma_locked,
			       (unsigned long long)ms.mm_locked,
			       (unsigned long long)ms.writer_waits,
			       (unsigned long long)ms.writer_yields);
}

static const struct {
	const char *path;
	long (*gen)(struct file *f);
} procfs_files[] = {
	{ "/proc/self/maps", gen_maps },
	{ "/proc/self/status", gen_status },
	{ "/proc/meminfo", gen_meminfo },
	{ "/proc/sys/vm/mmap_min_addr", gen_mmap_min_addr },
	{ "/proc/kestrel/ipi", gen_ipi },
	{ "/proc/kestrel/mmstat", gen_mmstat },
};

long procfs_open(const char *path, struct file **out)
{
	for (unsigned i = 0; i < sizeof(procfs_files) / sizeof(procfs_files[0]); i++)
		if (!strcmp(path, procfs_files[i].path))
			return file_open_gen(procfs_files[i].gen, proc_self(), out);
	return -ENOENT;
}
