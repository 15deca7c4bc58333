/* The shim's fast unwinder (preload/unwind.c) must give exactly the stack
 * libunwind's unw_backtrace gives, frame for frame, on every shape of frame
 * a program has: deep recursion, alloca and variable-length arrays (frames
 * addressed from RBP), large frames, calls through pointers, threads; and
 * fall back rather than guess when it meets what it does not handle.
 */
#include <alloca.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "mem.h"
#include "tap.h"

static struct hc_ring *ring;
static int mismatches, compared, fast_used;

/* Both paths from this function's caller, as a hook starts them: the
 * stacks and their hashes must be equal, frame for frame. */
__attribute__((noinline)) static void compare_here(const char *what)
{
	uint64_t fast[HC_MAX_FRAMES], slow[HC_MAX_FRAMES];
	uint64_t hf, hs, buf_f[HC_MAX_FRAMES + HC_UNWIND_SLACK], buf_s[HC_MAX_FRAMES + HC_UNWIND_SLACK];
	const uint64_t *pf, *ps;
	const struct hc_frame *from = HC_CALLER();
	int nf = hc_unwind(ring, from, buf_f, 200, &hf, &pf);
	int ns = hc_unwind(NULL, from, buf_s, 200, &hs, &ps);
	memcpy(fast, pf, (size_t)nf * 8);
	memcpy(slow, ps, (size_t)ns * 8);
	compared++;
	if (nf != ns || nf < 2 || memcmp(fast, slow, (size_t)nf * 8) || hf != hs ||
	    hf != hc_stack_hash(fast, nf) || fast[0] != from->ip) {
		if (mismatches++ < 5) {
			diag("%s: fast %d frames, libunwind %d", what, nf, ns);
			for (int i = 0; i < (nf > ns ? nf : ns) && i < 40; i++)
				diag("  %2d %#18llx %#18llx", i, i < nf ? (unsigned long long)fast[i] : 0ull,
				     i < ns ? (unsigned long long)slow[i] : 0ull);
		}
	}
}

__attribute__((noinline)) static void recurse(int n)
{
	if (n <= 0)
		compare_here("recursion");
	else
		recurse(n - 1);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void with_alloca(int n, int depth)
{
	char *p = alloca((size_t)n * 16 + 1);
	memset(p, 0, (size_t)n * 16 + 1);
	if (depth > 0)
		with_alloca(n + 3, depth - 1);
	else
		compare_here("alloca");
	__asm__ volatile("" ::"r"(p) : "memory");
}

__attribute__((noinline)) static void with_vla(int n, int depth)
{
	volatile char buf[n];
	buf[0] = 1;
	if (depth > 0)
		with_vla(n * 2 + 1, depth - 1);
	else
		compare_here("vla");
	__asm__ volatile("" ::"r"(buf[0]) : "memory");
}

__attribute__((noinline)) static void big_frame(int depth)
{
	volatile char buf[70000];
	buf[0] = (char)depth;
	if (depth > 0)
		big_frame(depth - 1);
	else
		compare_here("large frames");
	__asm__ volatile("" ::"r"(buf[0]) : "memory");
}

static void (*volatile pointer)(int) = recurse;

__attribute__((noinline)) static void via_pointer(int depth)
{
	pointer(depth);
	__asm__ volatile("" ::: "memory");
}

static void *thread_main(void *arg)
{
	(void)arg;
	recurse(7);
	with_alloca(1, 3);
	return NULL;
}

/* The same call site twice in a row: the second walk is the memo's. */
__attribute__((noinline)) static void twice(int depth)
{
	for (volatile int i = 0; i < 3; i++) /* volatile: one call site, not unrolled */
		recurse(depth);
}

/* One call site reached through two callers whose frames are alike, both
 * called from one place: the stacks differ in a single return address (the
 * helper's, into its caller), at the same stack pointer. A stack remembered
 * through one caller must never be taken for the other's. */
__attribute__((noinline)) static void helper(int k)
{
	compare_here(k == 1 ? "same site, first caller" : "same site, second caller");
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void caller_one(void)
{
	helper(1);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void caller_two(void)
{
	helper(2);
	__asm__ volatile("" ::: "memory");
}

static void (*volatile which)(void);

__attribute__((noinline)) static void call_which(void)
{
	which();
	__asm__ volatile("" ::: "memory");
}

int main(void)
{
	ring = hc_map(sizeof(*ring));
	ok(ring != NULL, "a ring for the rules");
	for (int d = 0; d < 60; d++)
		recurse(d);
	for (int d = 0; d < 6; d++) {
		with_alloca(1, d);
		with_vla(3, d);
		big_frame(d);
		via_pointer(d);
	}
	for (int d = 0; d < 70; d += 7)
		twice(d);
	for (int i = 0; i < 8; i++) {
		which = i & 1 ? caller_two : caller_one;
		call_which();
	}
	pthread_t t;
	pthread_create(&t, NULL, thread_main, NULL);
	pthread_join(t, NULL);
	is_int(mismatches, 0, "fast unwinder equals unw_backtrace on %d stacks", compared);

	/* The rules are cached: the fast path must actually be taken. */
	int hits = 0;
	for (size_t i = 0; i < (1u << HC_RULE_BITS); i++)
		hits += ring->rules[i].ip != 0 && ring->rules[i].kind != 0;
	ok(hits > 20, "rules were computed and cached (%d)", hits);
	is_int(atomic_load(&hc_unwind_fallbacks), 0, "and the fast path was taken every time");
	/* Stacks that go through a frame addressed from RBP (built with frame
	 * pointers, as under the sanitizers) are walked every time, by design. */
	int memos = 0, bp_rules = 0;
	for (size_t i = 0; i < (1u << HC_MEMO_BITS); i++)
		memos += ring->memos[i].frames[0] != 0;
	for (size_t i = 0; i < (1u << HC_RULE_BITS); i++)
		bp_rules += ring->rules[i].ip && ring->rules[i].kind == 2 /* RULE_BP */;
	if (memos == 0 && bp_rules > 0) {
		printf("ok %d - stacks remembered # SKIP frames use RBP here (%d rules)\n", ++tap_run,
		       bp_rules);
		printf("ok %d - checked instead of walked # SKIP frames use RBP here\n", ++tap_run);
	} else {
		ok(memos > 0, "stacks were remembered (%d)", memos);
		ok(ring->memo_hits > 10, "and checked instead of walked: %llu of %llu walks",
		   (unsigned long long)ring->memo_hits, (unsigned long long)ring->walks);
	}
	(void)fast_used;

	/* A new code epoch drops the cache. */
	atomic_fetch_add(&hc_code_epoch, 1);
	recurse(3);
	is_int(mismatches, 0, "after an epoch change, still equal");
	return done_testing();
}
