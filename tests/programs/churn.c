/* A churn workload: N short-lived allocations (default 3 million) freed
 * almost at once, plus a few long-lived ones kept to the end. Its trace
 * must stay small (t0700-trace-size.sh). usage: churn [N] [SECONDS]: when
 * SECONDS is given, spreads the work over that long. Prints nothing. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

void *kept[1000];

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 3000000;
	double secs = argc > 2 ? atof(argv[2]) : 0;
	long per_ms = secs > 0 ? (long)(n / (secs * 1000)) + 1 : n;
	void *ring[16] = {0};
	for (long i = 0; i < n; i++) {
		size_t size = 16 + (size_t)(i * 7919 % 500);
		free(ring[i % 16]);
		ring[i % 16] = malloc(size);
		memset(ring[i % 16], 0, 8);
		if (i % 3000 == 0 && i / 3000 < 1000)
			kept[i / 3000] = malloc(64);
		if (secs > 0 && i % per_ms == 0) {
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
	}
	for (int i = 0; i < 16; i++)
		free(ring[i]);
	return 0;
}
