/* The C allocation entry points the shim interposes (malloc, free, calloc,
 * realloc, reallocarray, the memalign family; malloc_usable_size passes
 * through). Each hook calls the next allocator (dlsym RTLD_NEXT: glibc, or a
 * jemalloc/tcmalloc that follows us) and, unless the thread is already inside
 * the shim, records the call. Hooks never change what the program sees: the
 * same pointer, the same errno, the same failure.
 */
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#define EXPORT __attribute__((visibility("default")))

struct hc_real hc_real;

/* The hooks behind passthru.c's entry points. */
void *hc_hook_malloc(size_t size) HC_HIDDEN;
void hc_hook_free(void *p) HC_HIDDEN;
void *hc_hook_calloc(size_t n, size_t size) HC_HIDDEN;
void *hc_hook_realloc(void *old, size_t size) HC_HIDDEN;

enum { UNRESOLVED, RESOLVING, RESOLVED };
static _Atomic int resolve_state;

void hc_resolve_cxx(void) HC_HIDDEN;
void hc_resolve_jemalloc(void) HC_HIDDEN;
void hc_resolve_mmap(void) HC_HIDDEN;
void hc_resolve_dl(void) HC_HIDDEN;

void hc_resolve(void)
{
	if (atomic_load_explicit(&resolve_state, memory_order_acquire) == RESOLVED)
		return;
	int expect = UNRESOLVED;
	if (atomic_compare_exchange_strong(&resolve_state, &expect, RESOLVING)) {
		/* dlsym may call calloc: until the state is RESOLVED, this
		 * thread's calls are served by the own heap. */
		hc_tls.guard++;
		hc_clock_init();
		hc_t0 = hc_stamp();
		hc_pid = getpid();
		hc_real.malloc = dlsym(RTLD_NEXT, "malloc");
		hc_real.free = dlsym(RTLD_NEXT, "free");
		hc_real.calloc = dlsym(RTLD_NEXT, "calloc");
		hc_real.realloc = dlsym(RTLD_NEXT, "realloc");
		hc_real.posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
		hc_real.aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
		hc_real.memalign = dlsym(RTLD_NEXT, "memalign");
		hc_real.valloc = dlsym(RTLD_NEXT, "valloc");
		hc_real.pvalloc = dlsym(RTLD_NEXT, "pvalloc");
		hc_real.malloc_usable_size = dlsym(RTLD_NEXT, "malloc_usable_size");
		hc_resolve_cxx();
		hc_resolve_jemalloc();
		hc_resolve_mmap();
		hc_resolve_dl();
		hc_thread_init();
		hc_tls.guard--;
		atomic_store_explicit(&resolve_state, RESOLVED, memory_order_release);
		return;
	}
	if (hc_tls.guard)
		return; /* our own dlsym calling back: the caller uses the own heap */
	while (atomic_load_explicit(&resolve_state, memory_order_acquire) != RESOLVED)
		sched_yield();
}

int hc_resolved(void)
{
	return atomic_load_explicit(&resolve_state, memory_order_acquire) == RESOLVED &&
	       hc_real.malloc != NULL;
}

static inline int ready(void)
{
	if (likely(atomic_load_explicit(&resolve_state, memory_order_acquire) == RESOLVED))
		return 1;
	hc_resolve();
	return atomic_load_explicit(&resolve_state, memory_order_acquire) == RESOLVED &&
	       hc_real.malloc != NULL;
}

/* Whether this call should be recorded: not from inside the shim, and only
 * while tracing is on. */
static inline int traced(const struct hc_tls *t)
{
	return !t->guard && atomic_load_explicit(&hc_tracing, memory_order_relaxed) > HC_OFF;
}

int hc_hooks_traced(void)
{
	return ready() && traced(&hc_tls);
}

/* The recorded paths of malloc and free, out of line: the untraced paths
 * (every call but the sampled ones, in sampled mode) then need no
 * registers saved. */
__attribute__((noinline)) static void *traced_malloc(size_t size, const struct hc_frame *from)
{
	struct hc_tls *t = &hc_tls;
	t->guard++;
	void *p = hc_real.malloc(size);
	if (p) {
		int e = errno;
		hc_record_alloc(p, size, from);
		errno = e;
	}
	t->guard--;
	return p;
}

/* The untraced calls made for the shim itself (t->own) go to its own heap. */
__attribute__((noinline)) static void *own_malloc(size_t size)
{
	void *p = hc_own_alloc(size, 16);
	return p ? p : hc_real.malloc(size);
}

void *hc_hook_malloc(size_t size)
{
	if (hc_sample_skip(size))
		return hc_real.malloc(size);
	if (unlikely(!ready()))
		return hc_own_alloc(size, 16);
	if (!traced(&hc_tls))
		return unlikely(hc_tls.own) ? own_malloc(size) : hc_real.malloc(size);
	if (!hc_sample_want(size))
		return hc_real.malloc(size);
	return traced_malloc(size, HC_CALLER());
}

__attribute__((noinline)) static void traced_free(void *p)
{
	struct hc_tls *t = &hc_tls;
	t->guard++;
	int e = errno;
	hc_record_free(p, hc_stamp()); /* before the address can be reused */
	hc_real.free(p);
	errno = e;
	t->guard--;
}

void hc_hook_free(void *p)
{
	if (!p)
		return;
	if (unlikely(hc_own_owns(p))) {
		hc_own_free(p);
		return;
	}
	if (hc_sampled_never(p)) {
		hc_real.free(p);
		return;
	}
	if (unlikely(!ready()))
		return; /* cannot happen: only the arena served memory before */
	if (!traced(&hc_tls) || !hc_free_traced(p)) {
		hc_real.free(p);
		return;
	}
	traced_free(p);
}

void *hc_hook_calloc(size_t n, size_t size)
{
	if (unlikely(!ready())) {
		size_t bytes;
		if (__builtin_mul_overflow(n, size, &bytes))
			return NULL;
		return hc_own_calloc(bytes);
	}
	struct hc_tls *t = &hc_tls;
	size_t bytes;
	if (!traced(t) || __builtin_mul_overflow(n, size, &bytes) || !hc_sample_want(bytes)) {
		/* t->own holds the guard: never traced */
		if (unlikely(t->own) && !__builtin_mul_overflow(n, size, &bytes)) {
			void *p = hc_own_calloc(bytes);
			if (p)
				return p;
		}
		return hc_real.calloc(n, size);
	}
	t->guard++;
	void *p = hc_real.calloc(n, size);
	if (p) {
		int e = errno;
		hc_record_alloc(p, n * size, HC_CALLER()); /* no overflow: calloc succeeded */
		errno = e;
	}
	t->guard--;
	return p;
}

/* realloc and reallocarray share this body; always inlined, so that
 * HC_CALLER() is the exported hook's caller. */
static inline __attribute__((always_inline)) void *do_realloc(void *old, size_t size)
{
	struct hc_tls *t = &hc_tls;
	if (unlikely(!ready() || t->own)) {
		if (!old || hc_own_owns(old)) {
			void *p = hc_own_realloc(old, size);
			if (p || !ready())
				return p;
		}
		if (!old)
			return hc_real.malloc(size);
		if (!hc_own_owns(old))
			return hc_real.realloc(old, size);
	}
	if (unlikely(old && hc_own_owns(old))) {
		/* The program resizes a block libc made for the shim: it
		 * moves out to the next allocator, as the program's. */
		void *p = hc_real.malloc(size);
		if (p) {
			size_t n = hc_own_size(old);
			memcpy(p, old, n < size ? n : size);
			hc_own_free(old);
			if (traced(t)) {
				t->guard++;
				hc_record_alloc(p, size, HC_CALLER());
				t->guard--;
			}
		}
		return p;
	}
	if (!traced(t))
		return hc_real.realloc(old, size);
	/* Before old can be reused: whether the new block is recorded, and
	 * (sampling) whether old was, taken out of the set while no one else
	 * can have it. */
	int want = hc_sample_want(size);
	int old_traced = old && hc_free_traced(old);
	if (!want && !old_traced)
		return hc_real.realloc(old, size);
	t->guard++;
	uint64_t old_size = old && unlikely(hc_config.dormant) ? hc_window_size(old) : 0;
	uint64_t ts_free = old ? hc_stamp() : 0;
	void *p = hc_real.realloc(old, size);
	int e = errno;
	if (p) {
		if (old)
			hc_record_realloc(old_traced ? old : NULL, old_size, p, size, ts_free, want,
					  HC_CALLER());
		else if (want)
			hc_record_alloc(p, size, HC_CALLER());
	} else if (old && size == 0) {
		if (old_traced) /* glibc's realloc(p, 0) frees p */
			hc_record_free_sized(old, ts_free, old_size);
	} else if (old_traced && hc_config.sample_bytes) {
		hc_sampled_add(old); /* failed: old lives on */
	}
	errno = e;
	t->guard--;
	return p;
}

void *hc_hook_realloc(void *old, size_t size)
{
	return do_realloc(old, size);
}

EXPORT void *reallocarray(void *old, size_t n, size_t size)
{
	size_t bytes;
	if (__builtin_mul_overflow(n, size, &bytes)) {
		errno = ENOMEM;
		return NULL;
	}
	return do_realloc(old, bytes);
}

EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
	struct hc_tls *t = &hc_tls;
	if (unlikely(!ready() || t->own)) {
		void *p = hc_own_alloc(size, align);
		if (p || !ready()) {
			if (!p)
				return ENOMEM;
			*out = p;
			return 0;
		}
	}
	if (!traced(t) || !hc_sample_want(size))
		return hc_real.posix_memalign(out, align, size);
	t->guard++;
	int rc = hc_real.posix_memalign(out, align, size);
	if (rc == 0) {
		int e = errno;
		hc_record_alloc(*out, size, HC_CALLER());
		errno = e;
	}
	t->guard--;
	return rc;
}

/* aligned_alloc, memalign, valloc and pvalloc differ only in the call. */
#define ALIGNED_HOOK(name, PARAMS, CALL, SIZE, BOOT_ALIGN)                \
	EXPORT void *name PARAMS                                           \
	{                                                                  \
		struct hc_tls *t = &hc_tls;                                \
		if (unlikely(!ready() || t->own)) {                        \
			void *p = hc_own_alloc(SIZE, BOOT_ALIGN);          \
			if (p || !ready())                                 \
				return p;                                  \
		}                                                          \
		if (!traced(t) || !hc_real.name || !hc_sample_want(SIZE))  \
			return hc_real.name ? hc_real.CALL : NULL;         \
		t->guard++;                                                \
		void *p = hc_real.CALL;                                    \
		if (p) {                                                   \
			int e = errno;                                     \
			hc_record_alloc(p, SIZE, HC_CALLER());             \
			errno = e;                                         \
		}                                                          \
		t->guard--;                                                \
		return p;                                                  \
	}

ALIGNED_HOOK(aligned_alloc, (size_t align, size_t size), aligned_alloc(align, size), size, align)
ALIGNED_HOOK(memalign, (size_t align, size_t size), memalign(align, size), size, align)
ALIGNED_HOOK(valloc, (size_t size), valloc(size), size, 4096)
ALIGNED_HOOK(pvalloc, (size_t size), pvalloc(size), size, 4096)

EXPORT size_t malloc_usable_size(void *p)
{
	if (!p)
		return 0;
	if (hc_own_owns(p))
		return hc_own_size(p);
	if (unlikely(!ready()) || !hc_real.malloc_usable_size)
		return 0;
	return hc_real.malloc_usable_size(p);
}
