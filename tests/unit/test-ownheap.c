/* Unit tests of the shim's own heap (preload/ownheap.c): classes, sizes,
 * alignment, reuse, zeroing, the region running full, nesting of the own
 * context, and four threads allocating and freeing at once with every
 * block's bytes checked at its free (two threads given one block would
 * overwrite each other's pattern). */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "internal.h"
#include "tap.h"

static int all_bytes(const unsigned char *p, size_t n, unsigned char v)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return 0;
	return 1;
}

#define THREADS 4
#define ROUNDS 200000

static void *churn(void *arg)
{
	uintptr_t id = (uintptr_t)arg;
	unsigned char *live[32] = {0};
	size_t size[32] = {0};
	uint64_t x = 0x9e3779b97f4a7c15ull * (id + 1);
	uintptr_t bad = 0;
	for (int i = 0; i < ROUNDS; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		int s = (int)(x % 32);
		if (live[s]) {
			unsigned char v = (unsigned char)(id * 32 + (uintptr_t)s);
			if (!all_bytes(live[s], size[s], v) || hc_own_size(live[s]) != size[s])
				bad++;
			hc_own_free(live[s]);
			live[s] = NULL;
		} else {
			size[s] = 1 + (size_t)(x >> 20) % 3000;
			live[s] = hc_own_alloc(size[s], 16);
			if (!live[s] || !hc_own_owns(live[s]) || ((uintptr_t)live[s] & 15))
				bad++;
			else
				memset(live[s], (int)(id * 32 + (uintptr_t)s), size[s]);
		}
	}
	for (int s = 0; s < 32; s++)
		if (live[s])
			hc_own_free(live[s]);
	return (void *)bad;
}

int main(void)
{
	/* classes: a freed block comes back for the next request of its class */
	void *a = hc_own_alloc(10, 16);
	ok(a && hc_own_owns(a) && ((uintptr_t)a & 15) == 0, "a small block, 16-aligned, owned");
	is_int((long long)hc_own_size(a), 10, "its size is what was asked");
	hc_own_free(a);
	void *b = hc_own_alloc(16, 16);
	ok(b == a, "freed, the same class's next request gets it back");
	void *c = hc_own_alloc(17, 16);
	ok(c != a && c != b, "a request one class up does not");
	memset(c, 0xab, 17);
	hc_own_free(c);
	unsigned char *z = hc_own_calloc(17);
	ok(z == c && all_bytes(z, 17, 0), "calloc of a reused block: zeroed");
	/* realloc keeps the contents and gives the old block back */
	memcpy(z, "0123456789abcdef", 17);
	unsigned char *r = hc_own_realloc(z, 5000);
	ok(r && memcmp(r, "0123456789abcdef", 17) == 0, "realloc keeps the bytes");
	ok(hc_own_calloc(17) == z, "and the old block is free again");
	/* alignment and the limits */
	void *al = hc_own_alloc(100, 256);
	ok(al && ((uintptr_t)al & 255) == 0 && hc_own_owns(al), "256-aligned on request");
	ok(hc_own_alloc(10, 8192) == NULL, "alignment over a page: not served");
	ok(hc_own_alloc(10, 48) == NULL, "alignment not a power of two: not served");
	ok(hc_own_alloc((1u << 16) - 16, 16) != NULL, "the largest class");
	ok(hc_own_alloc((1u << 16) - 15, 16) == NULL, "one byte more: not served");
	int stack_var;
	ok(!hc_own_owns(&stack_var) && !hc_own_owns(hc_own_arena + HC_OWN_SIZE),
	   "addresses outside the region are not its own");

	/* the own context nests and restores the sampling countdown */
	hc_tls.sample_left = 777;
	sigset_t s1, s2, now;
	hc_own_enter(&s1);
	hc_own_enter(&s2);
	is_int(hc_tls.own * 10 + hc_tls.guard, 22, "nested: own 2, guard 2");
	is_int(hc_tls.sample_left, 0, "the sampled shortcut is off inside");
	pthread_sigmask(SIG_SETMASK, NULL, &now);
	ok(sigismember(&now, SIGINT) && sigismember(&now, SIGTERM), "signals blocked inside");
	hc_own_leave(&s2);
	hc_own_leave(&s1);
	pthread_sigmask(SIG_SETMASK, NULL, &now);
	ok(hc_tls.own == 0 && hc_tls.guard == 0 && hc_tls.sample_left == 777 &&
		   !sigismember(&now, SIGINT),
	   "left: own 0, guard 0, the countdown and the signal mask as they were");

	/* four threads at once */
	pthread_t th[THREADS];
	for (uintptr_t i = 0; i < THREADS; i++)
		pthread_create(&th[i], NULL, churn, (void *)i);
	uintptr_t bad = 0;
	for (int i = 0; i < THREADS; i++) {
		void *rv;
		pthread_join(th[i], &rv);
		bad += (uintptr_t)rv;
	}
	is_int((long long)bad, 0, "%d threads x %d calls: no block given twice, none short", THREADS,
	       ROUNDS);

	/* full: NULL, then room again after frees */
	void *held[64];
	int n = 0;
	void *p;
	while ((p = hc_own_alloc(60000, 16)) != NULL && n < 64)
		held[n++] = p;
	ok(p == NULL && n > 0 && n < 64, "the region runs full: NULL (%d blocks of 60000 held)", n);
	hc_own_free(held[n - 1]);
	ok(hc_own_alloc(60000, 16) == held[n - 1], "a block freed is served again");
	return done_testing();
}
