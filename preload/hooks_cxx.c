/* C++ operator new and delete, all forms (plain, array, nothrow, aligned,
 * sized). libstdc++, jemalloc and tcmalloc each define their own, so the shim
 * records the operator call and lets the next definition do the work, with
 * the guard held so that its inner malloc is not counted twice.
 * A throwing operator new never throws through the shim with the guard held
 * (see NEW_HOOK).
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

/* Order of hc_real.cxx_new[] and hc_real.cxx_delete[]. */
static const char *const new_names[8] = {
	"_Znwm", "_Znam", "_ZnwmRKSt9nothrow_t", "_ZnamRKSt9nothrow_t",
	"_ZnwmSt11align_val_t", "_ZnamSt11align_val_t",
	"_ZnwmSt11align_val_tRKSt9nothrow_t", "_ZnamSt11align_val_tRKSt9nothrow_t",
};
static const char *const delete_names[12] = {
	"_ZdlPv", "_ZdaPv", "_ZdlPvm", "_ZdaPvm",
	"_ZdlPvRKSt9nothrow_t", "_ZdaPvRKSt9nothrow_t",
	"_ZdlPvSt11align_val_t", "_ZdaPvSt11align_val_t",
	"_ZdlPvmSt11align_val_t", "_ZdaPvmSt11align_val_t",
	"_ZdlPvSt11align_val_tRKSt9nothrow_t", "_ZdaPvSt11align_val_tRKSt9nothrow_t",
};

_Static_assert(sizeof(hc_real.cxx_new) / sizeof(void *) == 8, "new forms");
_Static_assert(sizeof(hc_real.cxx_delete) / sizeof(void *) == 12, "delete forms");

void hc_resolve_cxx(void) HC_HIDDEN;
void hc_resolve_cxx(void)
{
	for (int i = 0; i < 8; i++)
		hc_real.cxx_new[i] = dlsym(RTLD_NEXT, new_names[i]);
	for (int i = 0; i < 12; i++)
		hc_real.cxx_delete[i] = dlsym(RTLD_NEXT, delete_names[i]);
}

/* Fallbacks when no next operator exists (no C++ runtime is loaded, so
 * only code that looked us up by name can call these): malloc-based, and
 * std::terminate's behaviour on failure of a throwing form. */
static void *fallback_new(size_t size, size_t align, int nothrow)
{
	void *p = NULL;
	if (size == 0)
		size = 1;
	if (align) {
		if (posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size))
			p = NULL;
	} else {
		p = malloc(size);
	}
	if (!p && !nothrow)
		abort();
	return p;
}

/* A throwing form first asks the next allocator's nothrow twin, with the
 * guard held, so nothing can unwind through the shim. Only if that fails is
 * the throwing form called, without the guard: it runs the new_handler and
 * allocates the exception, and those allocations are the program's. */
#define NOTHROW_T const void *
static const char nothrow_tag; /* std::nothrow is an empty tag: any address */

#define NEW_HOOK(name, idx, twin, PARAMS, ARGS, TWIN_PARAMS, TWIN_ARGS, ALIGN, NOTHROW)   \
	void *hc_hook_##name PARAMS HC_HIDDEN;                                            \
	void *hc_hook_##name PARAMS                                                       \
	{                                                                                 \
		hc_resolve();                                                             \
		void *(*next) PARAMS = (void *(*) PARAMS)hc_real.cxx_new[idx];            \
		if (!next)                                                                \
			return fallback_new(size, ALIGN, NOTHROW);                        \
		struct hc_tls *t = &hc_tls;                                               \
		if (t->guard || atomic_load_explicit(&hc_tracing, memory_order_relaxed) <= \
					HC_OFF ||                                         \
		    !hc_sample_want(size))                                                \
			return next ARGS;                                                 \
		t->guard++;                                                               \
		void *p;                                                                  \
		if (!NOTHROW && hc_real.cxx_new[twin])                                    \
			p = ((void *(*) TWIN_PARAMS)hc_real.cxx_new[twin])TWIN_ARGS;      \
		else                                                                      \
			p = next ARGS;                                                    \
		if (p) {                                                                  \
			int e = errno;                                                    \
			hc_record_alloc(p, size, HC_CALLER());                            \
			errno = e;                                                        \
		}                                                                         \
		t->guard--;                                                               \
		if (!p && !NOTHROW)                                                       \
			p = next ARGS; /* throws, or succeeds after the new_handler */    \
		return p;                                                                 \
	}

#define PLAIN_TWIN (size_t, NOTHROW_T)
#define ALIGNED_TWIN (size_t, size_t, NOTHROW_T)
NEW_HOOK(_Znwm, 0, 2, (size_t size), (size), PLAIN_TWIN, (size, &nothrow_tag), 0, 0)
NEW_HOOK(_Znam, 1, 3, (size_t size), (size), PLAIN_TWIN, (size, &nothrow_tag), 0, 0)
NEW_HOOK(_ZnwmRKSt9nothrow_t, 2, 2, (size_t size, NOTHROW_T nt), (size, nt), PLAIN_TWIN,
	 (size, nt), 0, 1)
NEW_HOOK(_ZnamRKSt9nothrow_t, 3, 3, (size_t size, NOTHROW_T nt), (size, nt), PLAIN_TWIN,
	 (size, nt), 0, 1)
NEW_HOOK(_ZnwmSt11align_val_t, 4, 6, (size_t size, size_t al), (size, al), ALIGNED_TWIN,
	 (size, al, &nothrow_tag), al, 0)
NEW_HOOK(_ZnamSt11align_val_t, 5, 7, (size_t size, size_t al), (size, al), ALIGNED_TWIN,
	 (size, al, &nothrow_tag), al, 0)
NEW_HOOK(_ZnwmSt11align_val_tRKSt9nothrow_t, 6, 6, (size_t size, size_t al, NOTHROW_T nt),
	 (size, al, nt), ALIGNED_TWIN, (size, al, nt), al, 1)
NEW_HOOK(_ZnamSt11align_val_tRKSt9nothrow_t, 7, 7, (size_t size, size_t al, NOTHROW_T nt),
	 (size, al, nt), ALIGNED_TWIN, (size, al, nt), al, 1)

#define DELETE_HOOK(name, idx, PARAMS, ARGS)                                              \
	void hc_hook_##name PARAMS HC_HIDDEN;                                             \
	void hc_hook_##name PARAMS                                                        \
	{                                                                                 \
		if (!p)                                                                   \
			return;                                                           \
		if (hc_own_owns(p)) {                                                     \
			hc_own_free(p);                                                   \
			return;                                                           \
		}                                                                         \
		hc_resolve();                                                             \
		void (*next) PARAMS = (void (*) PARAMS)hc_real.cxx_delete[idx];           \
		struct hc_tls *t = &hc_tls;                                               \
		if (t->guard || atomic_load_explicit(&hc_tracing, memory_order_relaxed) <= \
					HC_OFF ||                                         \
		    !hc_free_traced(p)) {                                                 \
			t->guard++;                                                       \
			if (next)                                                         \
				next ARGS;                                                \
			else                                                              \
				hc_real.free(p);                                          \
			t->guard--;                                                       \
			return;                                                           \
		}                                                                         \
		t->guard++;                                                               \
		int e = errno;                                                            \
		hc_record_free(p, hc_stamp());                                            \
		if (next)                                                                 \
			next ARGS;                                                        \
		else                                                                      \
			hc_real.free(p);                                                  \
		errno = e;                                                                \
		t->guard--;                                                               \
	}

DELETE_HOOK(_ZdlPv, 0, (void *p), (p))
DELETE_HOOK(_ZdaPv, 1, (void *p), (p))
DELETE_HOOK(_ZdlPvm, 2, (void *p, size_t n), (p, n))
DELETE_HOOK(_ZdaPvm, 3, (void *p, size_t n), (p, n))
DELETE_HOOK(_ZdlPvRKSt9nothrow_t, 4, (void *p, NOTHROW_T nt), (p, nt))
DELETE_HOOK(_ZdaPvRKSt9nothrow_t, 5, (void *p, NOTHROW_T nt), (p, nt))
DELETE_HOOK(_ZdlPvSt11align_val_t, 6, (void *p, size_t al), (p, al))
DELETE_HOOK(_ZdaPvSt11align_val_t, 7, (void *p, size_t al), (p, al))
DELETE_HOOK(_ZdlPvmSt11align_val_t, 8, (void *p, size_t n, size_t al), (p, n, al))
DELETE_HOOK(_ZdaPvmSt11align_val_t, 9, (void *p, size_t n, size_t al), (p, n, al))
DELETE_HOOK(_ZdlPvSt11align_val_tRKSt9nothrow_t, 10, (void *p, size_t al, NOTHROW_T nt),
	    (p, al, nt))
DELETE_HOOK(_ZdaPvSt11align_val_tRKSt9nothrow_t, 11, (void *p, size_t al, NOTHROW_T nt),
	    (p, al, nt))
