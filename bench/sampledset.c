/* Sampled mode's set of live sampled blocks (preload/sampled.c) alone: what
 * a free of a block that was not sampled costs when its counter is not zero
 * (another sampled block lives in its bucket), as a long run's samples come
 * and go. LIVE sampled blocks (at 512 KiB: 200 for 100 MB of live heap,
 * 2 000 for 1 GB) are replaced one at a time, at random addresses; after 0,
 * 10 000, 100 000 and 1 000 000 replacements, 200 000 such frees are timed.
 * usage: sampledset [LIVE]; prints a line each: replacements, ns a free. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"
#include "xorshift.h"

struct hc_config hc_config; /* internal.h declares it; sampled.c reads none */

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t next(void)
{
	return xorshift64(&rng);
}

static void *random_block(void)
{
	return (void *)(uintptr_t)(0x7f0000000000ull + ((next() >> 24) << 4));
}

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
	long live_n = argc > 1 ? atol(argv[1]) : 2000;
	void **live = calloc((size_t)(live_n > 0 ? live_n : 1), sizeof(*live));
	if (live_n < 1 || !live || hc_sampled_init()) {
		fprintf(stderr, "usage: sampledset [LIVE >= 1]\n");
		return 2;
	}
	for (long i = 0; i < live_n; i++)
		hc_sampled_add(live[i] = random_block());
	/* The frees to time: addresses never sampled whose counter is not
	 * zero, found before the clock starts. */
	enum { FREES = 200000 };
	void **strays = malloc(FREES * sizeof(*strays));
	if (!strays)
		return 2;
	long replaced = 0, marks[] = {0, 10000, 100000, 1000000};
	for (size_t m = 0; m < sizeof(marks) / sizeof(marks[0]); m++) {
		for (; replaced < marks[m]; replaced++) {
			long k = (long)(next() % (uint64_t)live_n);
			if (!hc_sampled_take(live[k]))
				return fprintf(stderr, "sampledset: a live block was not found\n"), 1;
			hc_sampled_add(live[k] = random_block());
		}
		for (long n = 0; n < FREES;) {
			void *p = random_block();
			if (!hc_sampled_never(p))
				strays[n++] = p;
		}
		long wrong = 0;
		double t0 = now_ns();
		for (long n = 0; n < FREES; n++)
			wrong += hc_sampled_take_slow(strays[n]);
		double ns = (now_ns() - t0) / FREES;
		if (wrong)
			return fprintf(stderr, "sampledset: %ld frees of blocks never sampled were "
					       "taken (the table overflowed)\n", wrong), 1;
		printf("%7ld replacements: %5.1f ns a free\n", replaced, ns);
	}
	free(strays);
	free(live);
	return 0;
}
