/* Fault injection for the shim's own system calls (tests/t1600-faults.sh).
 * Preloaded AFTER libheapcreep.so, so the shim's write(), mmap(), mremap()
 * and pthread_create() bind to these wrappers (the global scope is searched
 * in load order, and the shim defines none of them). A call is faulted only
 * when its return address lies inside libheapcreep.so: the program's own
 * calls, and libc's internal ones, always go straight through.
 *
 * Configured by the environment (FAULTS_*, never HEAPCREEP_*: the shim turns
 * itself off at an unknown HEAPCREEP_ name):
 *   FAULTS_DISK=N        the shim's files live on a device of N bytes: a write
 *                        that would take a file past N writes what fits,
 *                        then fails with ENOSPC (until the file shrinks)
 *   FAULTS_EINTR=1       every shim write() fails once with EINTR before it
 *                        is let through (a retry always gets in)
 *   FAULTS_SHORT=N       every shim write() writes at most N bytes
 *   FAULTS_HANG=N        once the shim has written N bytes, its writes block
 *                        for good (a hung disk or NFS server)
 *   FAULTS_MMAP_AFTER=N  the shim's first N mmap/mremap calls succeed, the
 *                        rest fail with ENOMEM
 *   FAULTS_THREAD=N      the shim's first N pthread_create calls fail with
 *                        EAGAIN
 *   FAULTS_LOG=PATH      one line per kind of fault, with how many calls it
 *                        hit, appended when the process ends (so a test
 *                        can check that the faults really reached the shim)
 * Writes to fds 0-2 are never faulted: they are the program's and the
 * shim's one line of complaint.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static ssize_t (*real_write)(int, const void *, size_t);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static void *(*real_mremap)(void *, size_t, size_t, int, ...);
static int (*real_pthread_create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

static long disk = -1, shortw = -1, mmap_after = -1, thread_fail = 0, hang = -1;
static int eintr;
static const char *log_path;

static _Atomic long n_disk, n_eintr, n_short, n_mmap, n_thread, n_shim_writes, n_shim_maps;
static _Atomic long written, n_hang;
static _Atomic long mmap_calls, thread_calls;
static __thread int eintr_owed; /* the next write of this thread gets through */

/* libheapcreep.so's mappings, found once. */
static uintptr_t shim_lo, shim_hi;
static _Atomic int shim_state; /* 0 unknown, 1 looking, 2 known */

static int find_shim(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	if (!info->dlpi_name || !strstr(info->dlpi_name, "libheapcreep.so"))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD)
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
		if (!shim_lo || lo < shim_lo)
			shim_lo = lo;
		if (hi > shim_hi)
			shim_hi = hi;
	}
	return 1;
}

static int from_shim(const void *ret)
{
	if (atomic_load(&shim_state) != 2) {
		int expect = 0;
		if (atomic_compare_exchange_strong(&shim_state, &expect, 1)) {
			dl_iterate_phdr(find_shim, NULL);
			atomic_store(&shim_state, 2);
		} else {
			return 0; /* another thread is looking: let this one through */
		}
	}
	return (uintptr_t)ret >= shim_lo && (uintptr_t)ret < shim_hi;
}

static long env_num(const char *name, long dflt)
{
	const char *v = getenv(name);
	return v && *v ? strtol(v, NULL, 0) : dflt;
}

__attribute__((constructor(101))) static void faults_init(void)
{
	real_write = dlsym(RTLD_NEXT, "write");
	real_mmap = dlsym(RTLD_NEXT, "mmap");
	real_mremap = dlsym(RTLD_NEXT, "mremap");
	real_pthread_create = dlsym(RTLD_NEXT, "pthread_create");
	disk = env_num("FAULTS_DISK", -1);
	eintr = (int)env_num("FAULTS_EINTR", 0);
	shortw = env_num("FAULTS_SHORT", -1);
	hang = env_num("FAULTS_HANG", -1);
	mmap_after = env_num("FAULTS_MMAP_AFTER", -1);
	thread_fail = env_num("FAULTS_THREAD", 0);
	log_path = getenv("FAULTS_LOG");
}

static void log_line(const char *what, long n)
{
	if (!log_path || !real_write)
		return;
	int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	char line[128];
	int len = snprintf(line, sizeof(line), "%d %s %ld\n", (int)getpid(), what, n);
	if (real_write(fd, line, (size_t)len) < 0)
		len = 0;
	close(fd);
}

/* Runs after the shim's destructor (its final flush): this library was
 * loaded after the shim, so it is initialised before it and finalised after
 * it. A process that ends in _exit() writes no counts. */
__attribute__((destructor(101))) static void faults_fini(void)
{
	log_line("shim-writes", n_shim_writes);
	log_line("shim-maps", n_shim_maps);
	if (disk >= 0)
		log_line("enospc", n_disk);
	if (eintr)
		log_line("eintr", n_eintr);
	if (shortw >= 0)
		log_line("short", n_short);
	if (mmap_after >= 0)
		log_line("enomem", n_mmap);
	if (hang >= 0)
		log_line("hung", n_hang);
	if (thread_fail)
		log_line("eagain", n_thread);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	if (!real_write)
		real_write = dlsym(RTLD_NEXT, "write");
	if (fd <= 2 || !from_shim(__builtin_return_address(0)))
		return real_write(fd, buf, n);
	n_shim_writes++;
	if (eintr && n > 0) {
		if (!eintr_owed) {
			eintr_owed = 1;
			n_eintr++;
			errno = EINTR;
			return -1;
		}
		eintr_owed = 0;
	}
	if (shortw > 0 && n > (size_t)shortw) {
		n = (size_t)shortw;
		n_short++;
	}
	if (disk >= 0 && n > 0) {
		struct stat st;
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
			off_t pos = lseek(fd, 0, SEEK_CUR);
			off_t end = pos > st.st_size ? pos : st.st_size;
			off_t grow = pos + (off_t)n - end; /* bytes the file would gain */
			if (grow > 0 && end + grow > disk) {
				off_t fits = disk - end > 0 ? disk - end : 0;
				n_disk++;
				if (fits == 0) {
					errno = ENOSPC;
					return -1;
				}
				n = (size_t)(n - (size_t)(grow - fits)); /* a short write first, as a real disk does */
			}
		}
	}
	if (hang >= 0 && atomic_load(&written) >= hang) {
		n_hang++;
		for (;;)
			pause(); /* the process ends around it */
	}
	ssize_t k = real_write(fd, buf, n);
	if (k > 0)
		atomic_fetch_add(&written, k);
	return k;
}

static int mmap_fault(void)
{
	if (mmap_after < 0)
		return 0;
	if (atomic_fetch_add(&mmap_calls, 1) < mmap_after)
		return 0;
	n_mmap++;
	return 1;
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (!real_mmap)
		real_mmap = dlsym(RTLD_NEXT, "mmap");
	if (from_shim(__builtin_return_address(0))) {
		n_shim_maps++;
		if (mmap_fault()) {
			errno = ENOMEM;
			return MAP_FAILED;
		}
	}
	return real_mmap(addr, len, prot, flags, fd, off);
}

void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
	if (!real_mremap)
		real_mremap = dlsym(RTLD_NEXT, "mremap");
	void *new_addr = NULL;
	if (flags & MREMAP_FIXED) {
		va_list ap;
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	if (from_shim(__builtin_return_address(0))) {
		n_shim_maps++;
		if (new_len > old_len && mmap_fault()) {
			errno = ENOMEM;
			return MAP_FAILED;
		}
	}
	return real_mremap(old, old_len, new_len, flags, new_addr);
}

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
	if (!real_pthread_create)
		real_pthread_create = dlsym(RTLD_NEXT, "pthread_create");
	if (thread_fail && from_shim(__builtin_return_address(0)) &&
	    atomic_fetch_add(&thread_calls, 1) < thread_fail) {
		n_thread++;
		return EAGAIN;
	}
	return real_pthread_create(t, attr, fn, arg);
}
