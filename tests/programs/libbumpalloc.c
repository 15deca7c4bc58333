/* An async-signal-safe allocator for the signal-handler tests: a lock-free
 * bump pointer in one big MAP_NORESERVE mapping; free() gives nothing back.
 * glibc's malloc deadlocks when a handler mallocs while the interrupted code
 * holds an arena lock (it does, measured: t1600-faults.sh), with or without
 * the shim; preloaded after the shim (so it is the shim's "next" allocator),
 * this one never does, so any hang or crash left is the shim's.
 * Never use it for anything that allocates much: nothing is reused.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define REGION (16ull << 30)
#define HDR 16

static _Atomic int state; /* 0 none, 1 mapping, 2 ready */
static uint8_t *base;
static _Atomic uint64_t used;

static int setup(void)
{
	int s = atomic_load_explicit(&state, memory_order_acquire);
	if (s == 2)
		return 0;
	int expect = 0;
	if (atomic_compare_exchange_strong(&state, &expect, 1)) {
		void *p = mmap(NULL, REGION, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (p == MAP_FAILED) {
			atomic_store(&state, 0);
			return -1;
		}
		base = p;
		atomic_store_explicit(&state, 2, memory_order_release);
		return 0;
	}
	while (atomic_load_explicit(&state, memory_order_acquire) != 2)
		;
	return 0;
}

/* align: a power of two, at least 16. The size sits in the 8 bytes before
 * the block. */
static void *take(size_t size, size_t align)
{
	if (setup() || size > REGION / 2 || align > REGION / 4)
		return errno = ENOMEM, NULL;
	uint64_t need = (uint64_t)size + HDR + align;
	uint64_t off = atomic_fetch_add(&used, (need + 15) & ~15ull);
	if (off + need > REGION)
		return errno = ENOMEM, NULL;
	uintptr_t p = ((uintptr_t)base + off + HDR + align - 1) & ~(uintptr_t)(align - 1);
	((uint64_t *)p)[-1] = size;
	return (void *)p;
}

static size_t size_of(const void *p)
{
	return p ? (size_t)((const uint64_t *)p)[-1] : 0;
}

void *malloc(size_t n)
{
	return take(n, 16);
}

void free(void *p)
{
	(void)p;
}

void *calloc(size_t n, size_t m)
{
	size_t t;
	if (__builtin_mul_overflow(n, m, &t))
		return errno = ENOMEM, NULL;
	return take(t, 16); /* fresh pages are zero: nothing is ever reused */
}

void *realloc(void *old, size_t n)
{
	void *p = take(n, 16);
	if (p && old) {
		size_t o = size_of(old);
		memcpy(p, old, o < n ? o : n);
	}
	return p;
}

void *reallocarray(void *old, size_t n, size_t m)
{
	size_t t;
	if (__builtin_mul_overflow(n, m, &t))
		return errno = ENOMEM, NULL;
	return realloc(old, t);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	void *p = take(n, align < 16 ? 16 : align);
	if (!p)
		return ENOMEM;
	*out = p;
	return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
	if (!align || (align & (align - 1)))
		return errno = EINVAL, NULL;
	return take(n, align < 16 ? 16 : align);
}

void *memalign(size_t align, size_t n)
{
	return aligned_alloc(align, n);
}

void *valloc(size_t n)
{
	return take(n, 4096);
}

void *pvalloc(size_t n)
{
	return take((n + 4095) & ~(size_t)4095, 4096);
}

size_t malloc_usable_size(void *p)
{
	return size_of(p);
}
