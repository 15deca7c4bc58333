/* The churn benchmark of DESIGN §7: malloc+free pairs from a 15-frame
 * stack, in a binary without frame pointers, over a working set of live
 * blocks (a random slot of a 4096-slot pool is freed and refilled with a
 * block of 16..1039 bytes, which is then written), so that each
 * pair costs what it costs in a real program, not only the allocator's
 * fastest path.
 * usage: churn PAIRS [THREADS [DEPTH [realloc|free [LIVE]]]]: each thread
 * does PAIRS pairs in its own pool; with "realloc", every other pair resizes
 * the slot's block with realloc instead. LIVE (default 4096) sets the pool's
 * slots: a pool of 2 million holds about 1.1 GB, a service's heap rather
 * than a benchmark's, and is filled before the pairs begin. Prints
 * nothing. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "xorshift.h"

static size_t slots = 4096;
static int prefill;

static long pairs;
static int depth = 15;
static int use_realloc;

/* A cache line each: the threads write their generators' state on every
 * pair, and two pools in one line would make each thread wait for the
 * other's (two threads then took 0.28 s where they take 0.13). */
struct pool {
	void **slot;
	uint64_t rng;
	char pad[64 - sizeof(void **) - sizeof(uint64_t)];
};

/* A block's size, from a random number: 16 to 1039 bytes. */
static inline size_t block_size(uint64_t r)
{
	return 16 + (r >> 20) % 1024;
}

__attribute__((noinline)) static void leaf(struct pool *p, long n)
{
	/* In locals, as when the pool was an array of a constant size: the
	 * loop's code the same as then (no division, no reload of p->slot
	 * after each call), or its pair took 7 % longer. */
	void **slot = p->slot;
	uint64_t rng = p->rng;
	for (long i = 0; i < n; i++) {
		uint64_t r = xorshift64(&rng);
		size_t k = slots == 4096 ? r % 4096 : r % slots;
		size_t size = block_size(r);
		if (use_realloc && (i & 1)) {
			slot[k] = realloc(slot[k], size);
		} else {
			free(slot[k]);
			slot[k] = malloc(size);
		}
		memset(slot[k], (int)i, size); /* programs initialise what they get */
	}
	p->rng = rng;
}

__attribute__((noinline)) static void nest(struct pool *p, int level, long n)
{
	if (level <= 1)
		leaf(p, n);
	else
		nest(p, level - 1, n);
	__asm__ volatile("" ::: "memory"); /* no tail call: keep the frame */
}

static void *run(void *arg)
{
	struct pool *p = arg;
	for (size_t k = 0; prefill && k < slots; k++)
		p->slot[k] = malloc(block_size(xorshift64(&p->rng)));
	/* main/start_thread, run and leaf are three frames of the depth */
	nest(p, depth - 3, pairs);
	for (size_t k = 0; k < slots; k++)
		free(p->slot[k]);
	return NULL;
}

int main(int argc, char **argv)
{
	pairs = argc > 1 ? atol(argv[1]) : 1000000;
	int threads = argc > 2 ? atoi(argv[2]) : 1;
	if (argc > 3)
		depth = atoi(argv[3]);
	use_realloc = argc > 4 && !strcmp(argv[4], "realloc");
	if (argc > 5 && atol(argv[5]) > 0) {
		slots = (size_t)atol(argv[5]);
		prefill = 1;
	}
	if (threads < 1 || threads > 64)
		threads = 1;
	pthread_t t[64];
	struct pool *pools = aligned_alloc(64, (size_t)threads * sizeof(*pools));
	if (!pools)
		return 1;
	for (int i = 0; i < threads; i++) {
		pools[i].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
		if (!(pools[i].slot = calloc(slots, sizeof(void *))))
			return 1;
	}
	for (int i = 1; i < threads; i++)
		pthread_create(&t[i], NULL, run, &pools[i]);
	run(&pools[0]);
	for (int i = 1; i < threads; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < threads; i++)
		free(pools[i].slot);
	free(pools);
	return 0;
}
