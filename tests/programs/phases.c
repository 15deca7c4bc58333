/* For the dormant-mode tests (t0820): a service whose leak runs in one part
 * of its life only, beside a full cache that turns over all the time.
 * usage: phases SECONDS LEAK_FROM LEAK_TO
 * Every 10 ms: a malloc+free of churn; the cache (1 500 entries of 1 000
 * bytes, full from the first tick) drops its oldest entry and takes a new
 * one, so it is replaced whole every 15 s; from LEAK_FROM to LEAK_TO s,
 * leak_site keeps 4 KiB (400 KiB/s). Prints "usable N" (an entry's usable
 * size) on stdout, then runs SECONDS and exits without freeing. */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ENTRIES 1500
#define ENTRY 1000
#define LEAK 4096

static void *cache[ENTRIES];
static size_t oldest;
static void **leaked;
static size_t nleaked;
static void *volatile sink;

__attribute__((noinline)) static void *cache_entry(void)
{
	void *p = malloc(ENTRY);
	memset(p, 0xca, ENTRY);
	return p;
}

__attribute__((noinline)) static void leak_site(void)
{
	void *p = malloc(LEAK);
	memset(p, 0x1e, LEAK);
	void **n = realloc(leaked, (nleaked + 1) * sizeof(*n));
	if (n) {
		leaked = n;
		leaked[nleaked++] = p;
	}
}

__attribute__((noinline)) static void churn(int i)
{
	char *p = malloc(64 + (size_t)(i % 512));
	p[0] = (char)i;
	sink = p;
	free(p);
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: phases SECONDS LEAK_FROM LEAK_TO\n");
		return 2;
	}
	double secs = atof(argv[1]), from = atof(argv[2]), to = atof(argv[3]);
	for (size_t i = 0; i < ENTRIES; i++)
		cache[i] = cache_entry();
	printf("usable %zu\n", malloc_usable_size(cache[0]));
	fflush(stdout);
	double t0 = now();
	struct timespec tick = {0, 10000000};
	for (int i = 0;; i++) {
		double t = now() - t0;
		if (t >= secs)
			break;
		churn(i);
		free(cache[oldest]);
		cache[oldest] = cache_entry();
		oldest = (oldest + 1) % ENTRIES;
		if (t >= from && t < to)
			leak_site();
		nanosleep(&tick, NULL);
	}
	return 0;
}
