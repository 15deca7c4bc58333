/* The collector's model of the heap alone (preload/heap.c), on churn's
 * pattern: a pool of 4096 live blocks, a random one freed and replaced by
 * a block of 16..1039 bytes, with real addresses from malloc (not written:
 * the model never reads a block). No rings, no threads, no trace: what
 * keeping the model costs the collector for each malloc+free pair.
 * usage: model PAIRS [ROUNDS]: prints the median over ROUNDS (default 5) of
 * the ns a pair that hc_heap_alloc and hc_heap_free_now add to the loop
 * without them (both timed in each round, CPU time of the thread). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "heap.h"
#include "xorshift.h"

#define SLOTS 4096

static double cpu_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* One run of pairs; with a model (h) or without. Returns ns a pair. */
static double run(struct hc_heap *h, uint32_t site, long pairs)
{
	static void *slot[SLOTS];
	uint64_t rng = 88172645463325252ull, ts = 1;
	double t0 = cpu_ns();
	for (long i = 0; i < pairs; i++) {
		xorshift64(&rng);
		size_t k = rng % SLOTS, size = 16 + (rng >> 20) % 1024;
		if (slot[k]) {
			if (h)
				hc_heap_free_now(h, (uint64_t)(uintptr_t)slot[k], ts++);
			free(slot[k]);
		}
		slot[k] = malloc(size);
		if (h)
			hc_heap_alloc(h, (uint64_t)(uintptr_t)slot[k], size, ts++, site);
	}
	double t = (cpu_ns() - t0) / (double)pairs;
	for (size_t k = 0; k < SLOTS; k++) {
		if (slot[k] && h)
			hc_heap_free_now(h, (uint64_t)(uintptr_t)slot[k], ts++);
		free(slot[k]);
		slot[k] = NULL;
	}
	return t;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	long pairs = argc > 1 ? atol(argv[1]) : 2000000;
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	if (pairs < 1 || rounds < 1 || rounds > 99)
		return 2;
	double d[99];
	for (int r = 0; r < rounds; r++) {
		struct hc_heap h;
		int created;
		if (hc_heap_init(&h, 0))
			return 1;
		uint32_t site = hc_heap_intern(&h, 0x5eed, &created);
		double bare = run(NULL, 0, pairs);
		d[r] = run(&h, site, pairs) - bare;
		if (h.live_blocks || h.unknown_frees || h.dropped) {
			fprintf(stderr, "model: %lld blocks live at the end, %llu unknown frees, "
					"%llu dropped: the model is wrong\n",
				(long long)h.live_blocks, (unsigned long long)h.unknown_frees,
				(unsigned long long)h.dropped);
			return 1;
		}
		hc_heap_release(&h);
	}
	qsort(d, (size_t)rounds, sizeof(d[0]), cmp);
	printf("%.1f\n", rounds % 2 ? d[rounds / 2] : (d[rounds / 2 - 1] + d[rounds / 2]) / 2);
	return 0;
}
