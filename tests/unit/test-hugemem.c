/* analyzer/hugemem.c: zeroed big allocations aligned for huge pages, and the
 * object pool on 2 MiB slabs: every object zeroed, distinct, reused after a
 * free, and slabs held only as many as the most objects held at once need. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hugemem.h"
#include "tap.h"

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void test_big(void)
{
	size_t sizes[] = {0, 1, 4096, (2u << 20) - 1, 2u << 20, (2u << 20) + 1, 13u << 20};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(*sizes); i++) {
		size_t n = sizes[i];
		uint8_t *p = hc_huge_zalloc(n);
		ok(p != NULL, "%zu bytes: allocated", n);
		if (!p)
			continue;
		ok(all_zero(p, n), "%zu bytes: zeroed", n);
		if (n >= (2u << 20))
			is_int((int)((uintptr_t)p & ((2u << 20) - 1)), 0, "%zu bytes: 2 MiB-aligned", n);
		memset(p, 0xa5, n); /* every byte is ours */
		hc_huge_free(p, n);
	}
	hc_huge_free(NULL, 5u << 20);
	ok(1, "freeing NULL does nothing");
}

struct obj {
	uint64_t words[12289]; /* the analyzer's block pages are about this size */
};

static void test_pool(void)
{
	struct hc_pool p;
	hc_pool_init(&p, sizeof(struct obj));
	enum { N = 100 };
	struct obj *o[N];
	int zero = 1, distinct = 1;
	for (int i = 0; i < N; i++) {
		o[i] = hc_pool_zalloc(&p);
		if (!o[i] || !all_zero((const uint8_t *)o[i], sizeof(struct obj)))
			zero = 0;
		if (o[i])
			memset(o[i], i + 1, sizeof(struct obj));
	}
	for (int i = 0; i < N; i++)
		for (int j = 0; j < N && o[i]; j++)
			if (i != j && (uint8_t *)o[j] < (uint8_t *)o[i] + sizeof(struct obj) &&
			    (uint8_t *)o[i] < (uint8_t *)o[j] + sizeof(struct obj))
				distinct = 0;
	ok(zero, "%d objects of %zu bytes: each zeroed", N, sizeof(struct obj));
	ok(distinct, "and none overlaps another");
	for (int i = 0; i < N; i++)
		if (((const uint8_t *)o[i])[sizeof(struct obj) - 1] != (uint8_t)(i + 1))
			distinct = 0;
	ok(distinct, "each keeps what was written to it");
	size_t slabs = p.nslabs;
	is_int((int)slabs, (N + (int)p.per_slab - 1) / (int)p.per_slab,
	       "%zu slabs of %zu objects for %d objects", slabs, p.per_slab, N);

	/* Free half, take them back: the same memory, zeroed again, no new slab. */
	for (int i = 0; i < N; i += 2)
		hc_pool_free(&p, o[i]);
	int reused = 1;
	zero = 1;
	for (int i = 0; i < N; i += 2) {
		struct obj *q = hc_pool_zalloc(&p);
		int found = 0;
		for (int j = 0; j < N; j += 2)
			found |= q == o[j];
		reused &= found;
		if (!q || !all_zero((const uint8_t *)q, sizeof(struct obj)))
			zero = 0;
	}
	ok(reused, "freed objects are reused");
	ok(zero, "and zeroed again");
	is_int((int)p.nslabs, (int)slabs, "no new slab while freed objects wait");

	/* Churn: 10 000 rounds holding at most 40 at once need no new slab. */
	for (int i = 0; i < N; i++) /* the taken-back ones are the same objects */
		hc_pool_free(&p, o[i]);
	struct obj *h[40] = {0};
	for (int i = 0; i < 10000; i++) {
		int k = i % 40;
		hc_pool_free(&p, h[k]);
		h[k] = hc_pool_zalloc(&p);
	}
	is_int((int)p.nslabs, (int)slabs, "10 000 allocations holding 40 at a time: still %zu slabs",
	       slabs);
	hc_pool_release(&p);
	is_int((int)p.nslabs, 0, "release gives back every slab");
}

int main(void)
{
	test_big();
	test_pool();
	return done_testing();
}
