/* Anonymous-mmap memory for the shim's bookkeeping (see mem.h). Counts what
 * it maps so the trace can report the shim's own footprint; never calls
 * malloc, so it is safe from inside the allocator hooks and fork handlers. */
#include "mem.h"

#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static _Atomic uint64_t mapped;

static size_t round_pages(size_t n)
{
	size_t pg = 4096;
	return (n + pg - 1) & ~(pg - 1);
}

void *hc_map(size_t size)
{
	size = round_pages(size);
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	atomic_fetch_add_explicit(&mapped, size, memory_order_relaxed);
	return p;
}

void hc_unmap(void *p, size_t size)
{
	if (!p)
		return;
	size = round_pages(size);
	munmap(p, size);
	atomic_fetch_sub_explicit(&mapped, size, memory_order_relaxed);
}

void *hc_remap(void *p, size_t old_size, size_t new_size)
{
	if (!p)
		return hc_map(new_size);
	old_size = round_pages(old_size);
	new_size = round_pages(new_size);
	void *q = mremap(p, old_size, new_size, MREMAP_MAYMOVE);
	if (q == MAP_FAILED)
		return NULL;
	if (new_size > old_size)
		atomic_fetch_add_explicit(&mapped, new_size - old_size, memory_order_relaxed);
	else
		atomic_fetch_sub_explicit(&mapped, old_size - new_size, memory_order_relaxed);
	return q;
}

void hc_map_zero(void *p, size_t size)
{
	size = round_pages(size);
	if (madvise(p, size, MADV_DONTNEED))
		memset(p, 0, size);
}

uint64_t hc_mapped_bytes(void)
{
	return atomic_load_explicit(&mapped, memory_order_relaxed);
}
