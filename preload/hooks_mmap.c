/* Anonymous mappings as a kind of allocation: mmap, mmap64, munmap and
 * mremap. Memory a program (or a library of it: pymalloc's arenas, a pool
 * allocator) maps for itself never reaches malloc, so without these hooks a
 * leak there is invisible to every site.
 *
 * What is recorded: writable anonymous mappings (private or shared), with
 * the caller's stack and a pseudo-frame (HC_FRAME_MMAP) innermost; their
 * unmapping, in whole or in part, and their moves and resizes (mremap); the
 * range a MAP_FIXED mapping replaces. What is not: file mappings,
 * reservations (PROT_NONE, MAP_NORESERVE: address space, not memory, until
 * touched), stacks that grow down, and every call made by the allocator
 * behind the shim (its blocks are traced as what they are: malloc's) or by
 * the shim itself. glibc's malloc, loader and threads map through internal
 * calls that never reach these hooks. The collector keeps the mappings by
 * range (mapped.c); an unmap of memory it does not hold is no free.
 */
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdarg.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

#define EXPORT __attribute__((visibility("default")))

#ifndef MREMAP_DONTUNMAP
#define MREMAP_DONTUNMAP 4 /* Linux 5.7; headers older than the kernel */
#endif

/* Text ranges whose mmap calls are not the program's: the shim's own and
 * the allocator's behind it. Written once, while resolving. */
#define SKIP_MAX 16
static struct {
	uint64_t lo, hi;
} skip[SKIP_MAX];
static int nskip;

struct find {
	uint64_t addr;
};

static int add_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	uint64_t a = ((struct find *)arg)->addr;
	int in = 0;
	for (int i = 0; i < info->dlpi_phnum && !in; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uint64_t lo = info->dlpi_addr + ph->p_vaddr;
		in = ph->p_type == PT_LOAD && a >= lo && a < lo + ph->p_memsz;
	}
	if (!in)
		return 0;
	for (int i = 0; i < info->dlpi_phnum && nskip < SKIP_MAX; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			skip[nskip].lo = info->dlpi_addr + ph->p_vaddr;
			skip[nskip].hi = skip[nskip].lo + ph->p_memsz;
			nskip++;
		}
	}
	return 1;
}

static void skip_object_of(const void *addr)
{
	if (addr)
		hc_phdr_iterate(add_object, &(struct find){(uint64_t)(uintptr_t)addr},
				HC_PHDR_WAIT);
}

void hc_resolve_mmap(void) HC_HIDDEN;
void hc_resolve_mmap(void)
{
	hc_real.mmap = dlsym(RTLD_NEXT, "mmap");
	hc_real.munmap = dlsym(RTLD_NEXT, "munmap");
	hc_real.mremap = dlsym(RTLD_NEXT, "mremap");
	skip_object_of((const void *)hc_resolve_mmap);
	skip_object_of((const void *)hc_real.malloc);
}

static int not_the_programs(uint64_t ip)
{
	for (int i = 0; i < nskip; i++)
		if (ip > skip[i].lo && ip <= skip[i].hi)
			return 1;
	return 0;
}

/* The next definitions; the system calls themselves while they are not
 * known yet (a mapping made while the shim resolves them). */
static void *real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (likely(hc_real.mmap != NULL))
		return hc_real.mmap(addr, len, prot, flags, fd, off);
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

static int real_munmap(void *addr, size_t len)
{
	if (likely(hc_real.munmap != NULL))
		return hc_real.munmap(addr, len);
	return (int)syscall(SYS_munmap, addr, len);
}

static void *real_mremap(void *old, size_t old_len, size_t len, int flags, void *new_addr)
{
	if (likely(hc_real.mremap != NULL))
		return hc_real.mremap(old, old_len, len, flags, new_addr);
	return (void *)syscall(SYS_mremap, old, old_len, len, flags, new_addr);
}

/* Memory, not address space: anonymous, writable, not a reservation. */
static int counted(int prot, int flags)
{
	return (flags & MAP_ANONYMOUS) && (prot & PROT_WRITE) &&
	       !(flags & (MAP_NORESERVE | MAP_GROWSDOWN));
}

/* mmap and mmap64 share this body; always inlined, so that HC_CALLER() is
 * the exported hook's caller. */
static inline __attribute__((always_inline)) void *do_mmap(void *addr, size_t len, int prot,
							   int flags, int fd, off_t off)
{
	/* MAP_FIXED replaces what was mapped there, whatever it maps now.
	 * (MAP_FIXED_NOREPLACE fails instead: nothing is replaced.) */
	int fixed = (flags & MAP_FIXED) != 0;
	int want = counted(prot, flags);
	if ((!want && !fixed) || !hc_hooks_traced())
		return real_mmap(addr, len, prot, flags, fd, off);
	const struct hc_frame *from = HC_CALLER();
	if (not_the_programs(from->ip))
		return real_mmap(addr, len, prot, flags, fd, off);
	if (want && !hc_sample_want(len)) {
		want = 0;
		if (!fixed)
			return real_mmap(addr, len, prot, flags, fd, off);
	}
	struct hc_tls *t = &hc_tls;
	t->guard++;
	uint64_t ts_free = fixed ? hc_stamp() : 0;
	void *p = real_mmap(addr, len, prot, flags, fd, off);
	if (p != MAP_FAILED) {
		int e = errno;
		if (fixed)
			hc_record_unmap(p, len, ts_free);
		if (want)
			hc_record_map(p, len, from);
		errno = e;
	}
	t->guard--;
	return p;
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return do_mmap(addr, len, prot, flags, fd, off);
}

EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return do_mmap(addr, len, prot, flags, fd, off);
}

EXPORT int munmap(void *addr, size_t len)
{
	if (!hc_hooks_traced() || not_the_programs(HC_CALLER()->ip))
		return real_munmap(addr, len);
	struct hc_tls *t = &hc_tls;
	t->guard++;
	uint64_t ts = hc_stamp(); /* before the range can be mapped again */
	int rc = real_munmap(addr, len);
	if (rc == 0) {
		int e = errno;
		hc_record_unmap(addr, len, ts);
		errno = e;
	}
	t->guard--;
	return rc;
}

EXPORT void *mremap(void *old, size_t old_len, size_t len, int flags, ...)
{
	void *new_addr = NULL;
	if (flags & MREMAP_FIXED) {
		va_list ap;
		va_start(ap, flags);
		new_addr = va_arg(ap, void *);
		va_end(ap);
	}
	/* MREMAP_DONTUNMAP keeps the old range mapped and an old length of 0
	 * duplicates a shared mapping: neither moves a block; left out. */
	if (!hc_hooks_traced() || (flags & MREMAP_DONTUNMAP) || old_len == 0)
		return real_mremap(old, old_len, len, flags, new_addr);
	const struct hc_frame *from = HC_CALLER();
	if (not_the_programs(from->ip))
		return real_mremap(old, old_len, len, flags, new_addr);
	struct hc_tls *t = &hc_tls;
	t->guard++;
	uint64_t ts_free = hc_stamp();
	void *p = real_mremap(old, old_len, len, flags, new_addr);
	if (p != MAP_FAILED) {
		int e = errno;
		hc_record_remap(old, old_len, p, len, ts_free, from);
		errno = e;
	}
	t->guard--;
	return p;
}
