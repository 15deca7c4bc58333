/* jemalloc's extended API (mallocx, rallocx, xallocx, sallocx, dallocx,
 * sdallocx, nallocx), traced like malloc/realloc/free. When the next
 * allocator is not jemalloc these names still resolve to us (a program may
 * test for them with weak symbols), so each one is emulated on the standard
 * calls: alignment and zeroing flags honoured, arena and tcache flags
 * ignored, xallocx never moving or growing a block.
 */
#include <dlfcn.h>
#include <errno.h>
#include <string.h>

#include "internal.h"

#define EXPORT __attribute__((visibility("default")))

#define LG_ALIGN_MASK 0x3f
#define FLAG_ZERO 0x40

void hc_resolve_jemalloc(void) HC_HIDDEN;
void hc_resolve_jemalloc(void)
{
	hc_real.mallocx = dlsym(RTLD_NEXT, "mallocx");
	hc_real.rallocx = dlsym(RTLD_NEXT, "rallocx");
	hc_real.xallocx = dlsym(RTLD_NEXT, "xallocx");
	hc_real.sallocx = dlsym(RTLD_NEXT, "sallocx");
	hc_real.dallocx = dlsym(RTLD_NEXT, "dallocx");
	hc_real.sdallocx = dlsym(RTLD_NEXT, "sdallocx");
	hc_real.nallocx = dlsym(RTLD_NEXT, "nallocx");
}

static inline int traced(void)
{
	return !hc_tls.guard &&
	       atomic_load_explicit(&hc_tracing, memory_order_relaxed) > HC_OFF;
}

static size_t flag_align(int flags)
{
	int lg = flags & LG_ALIGN_MASK;
	return lg ? (size_t)1 << lg : 0;
}

static size_t usable(void *p)
{
	if (hc_real.sallocx)
		return hc_real.sallocx(p, 0);
	return hc_real.malloc_usable_size ? hc_real.malloc_usable_size(p) : 0;
}

static void *raw_mallocx(size_t size, int flags)
{
	if (hc_real.mallocx)
		return hc_real.mallocx(size, flags);
	size_t align = flag_align(flags);
	void *p = NULL;
	if (align > sizeof(void *)) {
		if (hc_real.posix_memalign(&p, align, size ? size : 1))
			p = NULL;
	} else {
		p = hc_real.malloc(size ? size : 1);
	}
	if (p && (flags & FLAG_ZERO))
		memset(p, 0, size);
	return p;
}

static void *raw_rallocx(void *old, size_t size, int flags)
{
	if (hc_real.rallocx)
		return hc_real.rallocx(old, size, flags);
	size_t align = flag_align(flags);
	size_t old_size = usable(old);
	void *p;
	if (align > sizeof(void *)) {
		p = raw_mallocx(size, flags & ~FLAG_ZERO);
		if (p) {
			memcpy(p, old, old_size < size ? old_size : size);
			hc_real.free(old);
		}
	} else {
		p = hc_real.realloc(old, size ? size : 1);
	}
	if (p && (flags & FLAG_ZERO) && size > old_size)
		memset((char *)p + old_size, 0, size - old_size);
	return p;
}

EXPORT void *mallocx(size_t size, int flags)
{
	hc_resolve();
	if (!traced() || !hc_sample_want(size))
		return raw_mallocx(size, flags);
	hc_tls.guard++;
	void *p = raw_mallocx(size, flags);
	if (p) {
		int e = errno;
		hc_record_alloc(p, size, HC_CALLER());
		errno = e;
	}
	hc_tls.guard--;
	return p;
}

EXPORT void *rallocx(void *old, size_t size, int flags)
{
	hc_resolve();
	if (!traced())
		return raw_rallocx(old, size, flags);
	int want = hc_sample_want(size);
	int old_traced = hc_free_traced(old);
	if (!want && !old_traced)
		return raw_rallocx(old, size, flags);
	hc_tls.guard++;
	uint64_t old_size = unlikely(hc_config.dormant) ? hc_window_size(old) : 0;
	uint64_t ts_free = hc_stamp();
	void *p = raw_rallocx(old, size, flags);
	if (p) {
		int e = errno;
		hc_record_realloc(old_traced ? old : NULL, old_size, p, size, ts_free, want,
				  HC_CALLER());
		errno = e;
	} else if (old_traced && hc_config.sample_bytes) {
		hc_sampled_add(old);
	}
	hc_tls.guard--;
	return p;
}

/* Resizes in place; returns the block's real size afterwards. A result of at
 * least `size` means the block now serves a request of `size` bytes: that is
 * recorded as a realloc in place, like realloc returning the same pointer. */
EXPORT size_t xallocx(void *p, size_t size, size_t extra, int flags)
{
	hc_resolve();
	int t = traced() && hc_free_traced(p);
	if (t)
		hc_tls.guard++;
	uint64_t ts_free = hc_stamp();
	size_t r = hc_real.xallocx ? hc_real.xallocx(p, size, extra, flags) : usable(p);
	if (t) {
		if (r < size && hc_config.sample_bytes)
			hc_sampled_add(p); /* not resized: still the sampled block */
		if (r >= size) {
			int e = errno;
			hc_record_realloc(p, 0, p, size, ts_free, 1, HC_CALLER());
			errno = e;
		}
		hc_tls.guard--;
	}
	return r;
}

EXPORT size_t sallocx(const void *p, int flags)
{
	hc_resolve();
	if (hc_real.sallocx)
		return hc_real.sallocx(p, flags);
	return usable((void *)p);
}

EXPORT size_t nallocx(size_t size, int flags)
{
	hc_resolve();
	if (hc_real.nallocx)
		return hc_real.nallocx(size, flags);
	return size;
}

static inline __attribute__((always_inline)) void do_free(void *p, size_t size, int flags,
							  int sized)
{
	if (!p)
		return;
	hc_resolve();
	int t = traced() && hc_free_traced(p);
	if (t) {
		hc_tls.guard++;
		int e = errno;
		hc_record_free(p, hc_stamp());
		errno = e;
	}
	if (sized && hc_real.sdallocx)
		hc_real.sdallocx(p, size, flags);
	else if (hc_real.dallocx)
		hc_real.dallocx(p, flags);
	else
		hc_real.free(p);
	if (t)
		hc_tls.guard--;
}

EXPORT void dallocx(void *p, int flags)
{
	do_free(p, 0, flags, 0);
}

EXPORT void sdallocx(void *p, size_t size, int flags)
{
	do_free(p, size, flags, 1);
}
