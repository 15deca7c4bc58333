/* The shim's own small heap. Whatever the shim asks of libc that allocates
 * (dlsym's error buffer while the next allocator is looked up,
 * pthread_getattr_np's stdio and cpuset, the collector thread's DTV, any
 * call the collector makes) is served here, never by the program's
 * allocator: the program's heap has the same layout, block for block,
 * with the shim as without it (tests/t0220-own-memory.sh).
 *
 * A static region (untouched pages cost nothing): blocks of 32 bytes to
 * 64 KiB in power-of-two classes, each with a 16-byte header that holds the
 * requested size and the class; freed blocks go on their class's list and
 * are reused. The lists are lock-free stacks (a 32-bit offset and a 32-bit
 * tag in one word, so a pop cannot be fooled by a block taken and given
 * back meanwhile): free() of one of these blocks can come from any thread
 * at any time (libc frees a thread's DTV at its exit; the program may call
 * dlerror()), also from a signal handler. Requests it cannot serve (too
 * big, over-aligned, the region full) return NULL; the hooks then use the
 * next allocator. */
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"

_Alignas(4096) unsigned char hc_own_arena[HC_OWN_SIZE];
static _Atomic size_t used;

enum { MIN_SHIFT = 5, MAX_SHIFT = 16, NCLASS = MAX_SHIFT - MIN_SHIFT + 1, UNLISTED = 0xff };

/* offset + 1 of the first free block (0: empty) | tag << 32 */
static _Atomic uint64_t lists[NCLASS];

struct header {
	uint64_t size;  /* what was asked for */
	uint32_t klass; /* UNLISTED for blocks never reused (over-aligned) */
	uint32_t pad;
};

static unsigned char *carve(size_t size, size_t align)
{
	for (;;) {
		size_t off = atomic_load_explicit(&used, memory_order_relaxed);
		size_t start = (off + sizeof(struct header) + align - 1) & ~(align - 1);
		size_t end = start + size;
		if (end > HC_OWN_SIZE)
			return NULL;
		if (atomic_compare_exchange_weak_explicit(&used, &off, end, memory_order_relaxed,
							  memory_order_relaxed))
			return hc_own_arena + start;
	}
}

static unsigned char *pop(int k)
{
	uint64_t head = atomic_load_explicit(&lists[k], memory_order_acquire);
	for (;;) {
		uint32_t off1 = (uint32_t)head;
		if (!off1)
			return NULL;
		unsigned char *b = hc_own_arena + off1 - 1;
		/* May be stale if another thread popped b meanwhile: then the
		 * tag has moved on and the exchange fails. */
		uint64_t next = atomic_load_explicit((_Atomic uint32_t *)b, memory_order_relaxed);
		uint64_t want = next | ((head >> 32) + 1) << 32;
		if (atomic_compare_exchange_weak_explicit(&lists[k], &head, want, memory_order_acquire,
							  memory_order_acquire))
			return b;
	}
}

static void push(int k, unsigned char *b)
{
	uint32_t off1 = (uint32_t)(b - hc_own_arena) + 1;
	uint64_t head = atomic_load_explicit(&lists[k], memory_order_relaxed);
	for (;;) {
		atomic_store_explicit((_Atomic uint32_t *)b, (uint32_t)head, memory_order_relaxed);
		uint64_t want = off1 | ((head >> 32) + 1) << 32;
		if (atomic_compare_exchange_weak_explicit(&lists[k], &head, want, memory_order_release,
							  memory_order_relaxed))
			return;
	}
}

void *hc_own_alloc(size_t size, size_t align)
{
	if (align < 16)
		align = 16;
	if ((align & (align - 1)) || align > 4096 || size > (1u << MAX_SHIFT) - sizeof(struct header))
		return NULL;
	unsigned char *p;
	uint32_t klass;
	if (align > 16) {
		p = carve(size, align);
		klass = UNLISTED;
	} else {
		int k = 0;
		while (((size_t)1 << (k + MIN_SHIFT)) < size + sizeof(struct header))
			k++;
		klass = (uint32_t)k;
		unsigned char *b = pop(k);
		if (b)
			p = b + sizeof(struct header);
		else
			p = carve(((size_t)1 << (k + MIN_SHIFT)) - sizeof(struct header), 16);
	}
	if (!p)
		return NULL;
	struct header *h = (struct header *)(void *)(p - sizeof(struct header));
	h->size = size;
	h->klass = klass;
	return p;
}

void *hc_own_calloc(size_t size)
{
	void *p = hc_own_alloc(size, 16);
	if (p)
		memset(p, 0, size);
	return p;
}

void hc_own_free(void *p)
{
	struct header *h = (struct header *)(void *)((unsigned char *)p - sizeof(struct header));
	if (h->klass != UNLISTED)
		push((int)h->klass, (unsigned char *)h);
}

size_t hc_own_size(const void *p)
{
	return ((const struct header *)(const void *)((const unsigned char *)p -
						      sizeof(struct header)))->size;
}

void *hc_own_realloc(void *old, size_t size)
{
	void *p = hc_own_alloc(size, 16);
	if (p && old) {
		size_t n = hc_own_size(old);
		memcpy(p, old, n < size ? n : size);
		hc_own_free(old);
	}
	return p;
}

void hc_own_enter(sigset_t *saved)
{
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, saved);
	hc_tls.guard++;
	if (hc_tls.own++ == 0) {
		hc_tls.own_sample_left = hc_tls.sample_left;
		hc_tls.sample_left = 0; /* the sampled hooks' shortcut is off */
	}
}

void hc_own_leave(const sigset_t *saved)
{
	if (--hc_tls.own == 0)
		hc_tls.sample_left = hc_tls.own_sample_left;
	hc_tls.guard--;
	pthread_sigmask(SIG_SETMASK, saved, NULL);
}
