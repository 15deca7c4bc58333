/* Makes big traces for the analyzer benchmarks: blocks that live long
 * enough to be promoted (written to the trace with their free), at a high
 * rate, from many call sites. usage: lifetimes SECONDS [RATE [SITES]]:
 * RATE allocations a second (default 200000), each living 20-200 ms, from
 * SITES distinct stacks (default 64). Prints nothing. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RING (1 << 16)

static void *slots[RING];
static double due[RING];

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Distinct stacks: a recursion whose depth picks the site. */
__attribute__((noinline)) static void *site(int depth, size_t n)
{
	void *p;
	if (depth > 0)
		p = site(depth - 1, n);
	else
		p = malloc(n);
	__asm__ volatile("" ::: "memory");
	return p;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 10;
	double rate = argc > 2 ? atof(argv[2]) : 200000;
	int sites = argc > 3 ? atoi(argv[3]) : 64;
	unsigned long long x = 88172645463325252ull;
	double start = now(), t = start;
	long done = 0;
	while (t - start < secs) {
		long target = (long)((t - start) * rate);
		for (; done < target; done++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			size_t i = (size_t)done % RING;
			if (slots[i] && due[i] <= t) {
				free(slots[i]);
				slots[i] = NULL;
			}
			if (!slots[i]) {
				slots[i] = site((int)(x % (unsigned)sites), 32 + x % 512);
				memset(slots[i], 1, 16);
				due[i] = t + 0.02 + (double)(x >> 40 & 1023) / 1023 * 0.18;
			}
		}
		struct timespec nap = {0, 1000000};
		nanosleep(&nap, NULL);
		t = now();
	}
	return 0;
}
