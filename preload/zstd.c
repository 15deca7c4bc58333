/* libzstd, the trace's compression, opened when a trace begins
 * (hc_zstd_load: from the constructor, or from the collector thread opening
 * a dormant process's window), not at load time: a dormant process, or one
 * with tracing off, does not map its 750 KiB of code nor pay its relocations
 * at start (0.13 ms a process start here: docs/performance.md).
 *
 * The writer calls libzstd's functions by their own names; the definitions
 * here (local to the shim: exports.map) call through the pointers dlsym
 * gave. Never opened from a hook: dlopen takes the loader's lock, which the
 * program's thread may hold.
 *
 * libunwind stays linked: it has thread-local storage, and a module with
 * TLS opened by the shim would grow ld.so's per-thread tables in the shim's
 * heap, where the program's own dlopen of such a module would have grown
 * them in the program's (one block fewer than valgrind sees: t0230).
 */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_createCCtx_advanced */
#include <dlfcn.h>
#include <stdatomic.h>
#include <zstd.h>

#include "internal.h"

/* The soname the shim was built against (Debian's libzstd1). */
#define SONAME "libzstd.so.1"

static struct {
	ZSTD_CCtx *(*create)(ZSTD_customMem);
	size_t (*free_ctx)(ZSTD_CCtx *);
	size_t (*bound)(size_t);
	size_t (*compress)(ZSTD_CCtx *, void *, size_t, const void *, size_t, int);
	unsigned (*is_error)(size_t);
} fn;

/* 0: not tried; 1: loaded; -1: failed */
static _Atomic int state;
static char failure[256];

/* The first failure, with dlerror's reason. */
static void failed(const char *otherwise)
{
	const char *e = dlerror();
	if (!failure[0])
		hc_fmt(failure, sizeof(failure), "cannot load '%s': %s", SONAME, e ? e : otherwise);
}

static void *sym(void *lib, const char *name)
{
	void *p = dlsym(lib, name);
	if (!p)
		failed("no such symbol");
	return p;
}

int hc_zstd_load(void)
{
	int s = atomic_load_explicit(&state, memory_order_acquire);
	if (s)
		return s > 0 ? 0 : -1;
	void *lib = dlopen(SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		failed("dlopen failed");
	} else {
		*(void **)&fn.create = sym(lib, "ZSTD_createCCtx_advanced");
		*(void **)&fn.free_ctx = sym(lib, "ZSTD_freeCCtx");
		*(void **)&fn.bound = sym(lib, "ZSTD_compressBound");
		*(void **)&fn.compress = sym(lib, "ZSTD_compressCCtx");
		*(void **)&fn.is_error = sym(lib, "ZSTD_isError");
	}
	int ok = !failure[0];
	atomic_store_explicit(&state, ok ? 1 : -1, memory_order_release);
	return ok ? 0 : -1;
}

const char *hc_zstd_error(void)
{
	return failure;
}

/* --- libzstd's functions, as the writer calls them ----------------------- */

/* Not loaded: no context, and the writer reports ENOMEM. Every other call
 * needs a context. */
ZSTD_CCtx *ZSTD_createCCtx_advanced(ZSTD_customMem mem)
{
	return fn.create ? fn.create(mem) : NULL;
}

size_t ZSTD_freeCCtx(ZSTD_CCtx *ctx)
{
	return fn.free_ctx(ctx);
}

size_t ZSTD_compressBound(size_t n)
{
	return fn.bound(n);
}

size_t ZSTD_compressCCtx(ZSTD_CCtx *ctx, void *dst, size_t cap, const void *src, size_t len,
			 int level)
{
	return fn.compress(ctx, dst, cap, src, len, level);
}

unsigned ZSTD_isError(size_t code)
{
	return fn.is_error(code);
}
