/* What a time stamp costs on this machine: the shim stamps each traced
 * allocation and free with RDTSCP when the kernel keeps time with the TSC
 * (RDTSCP waits for older loads: the allocator's that found the block
 * free, the program's that handed it to the freeing thread, so that stamps
 * follow the order the threads saw), else with clock_gettime
 * (CLOCK_MONOTONIC); RDTSC, which does not wait, for comparison. A
 * malloc+free pair pays two stamps. Prints one line for `make bench`: the
 * three costs in ns, medians of 5 runs of 10 million reads each, and which
 * one the shim uses here. On a VM they can cost several times what they do
 * on bare metal, and they set the floor of exact mode's overhead.
 * usage: clock */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#define N 10000000
#define RUNS 5

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(void)
{
	uint64_t sink = 0;
	unsigned aux;
	double plain[RUNS], ordered[RUNS], gettime[RUNS];
	struct timespec ts;
	for (int r = 0; r < RUNS; r++) {
		double t = now();
		for (int i = 0; i < N; i++)
			sink += __rdtsc();
		plain[r] = (now() - t) / N * 1e9;
		t = now();
		for (int i = 0; i < N; i++)
			sink += __rdtscp(&aux);
		ordered[r] = (now() - t) / N * 1e9;
		t = now();
		for (int i = 0; i < N; i++) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			sink += (uint64_t)ts.tv_nsec;
		}
		gettime[r] = (now() - t) / N * 1e9;
	}
	qsort(plain, RUNS, sizeof(double), cmp);
	qsort(ordered, RUNS, sizeof(double), cmp);
	qsort(gettime, RUNS, sizeof(double), cmp);
	/* the shim's choice (preload/clock.c) */
	char src[32] = "";
	FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
	if (f) {
		if (!fgets(src, sizeof(src), f))
			src[0] = '\0';
		fclose(f);
	}
	src[strcspn(src, "\n")] = '\0';
	int tsc = !strcmp(src, "tsc");
	__asm__ volatile("" : : "r"(sink)); /* the reads are kept */
	printf("time stamps: RDTSC %.1f ns, RDTSCP %.1f ns, clock_gettime %.1f ns (clocksource %s: "
	       "exact mode pays two RDTSC per malloc+free pair while one thread records%s, "
	       "two %s once two do)\n",
	       plain[RUNS / 2], ordered[RUNS / 2], gettime[RUNS / 2], src[0] ? src : "unknown",
	       tsc ? "" : " (and a clock_gettime every 2^14 ticks)",
	       tsc ? "RDTSCP" : "clock_gettime");
	return 0;
}
