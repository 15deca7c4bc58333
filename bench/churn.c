/* The churn benchmark: malloc+free pairs called from DEPTH (default 15)
 * nested frames, built without frame pointers, as in a production binary.
 * usage: churn PAIRS [THREADS [DEPTH]]; prints nothing. Each thread does
 * PAIRS pairs; `make bench` times it with and without the tools. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static long pairs;
static int depth = 15;
static void *volatile sink;

__attribute__((noinline)) static void leaf(long n)
{
	for (long i = 0; i < n; i++) {
		void *p = malloc(16 + (size_t)(i & 255));
		sink = p;
		free(p);
	}
}

__attribute__((noinline)) static void nest(int level, long n)
{
	if (level <= 1)
		leaf(n);
	else
		nest(level - 1, n);
	__asm__ volatile("" ::: "memory"); /* no tail call: keep the frame */
}

static void *run(void *arg)
{
	(void)arg;
	nest(depth - 1, pairs);
	return NULL;
}

int main(int argc, char **argv)
{
	pairs = argc > 1 ? atol(argv[1]) : 1000000;
	int threads = argc > 2 ? atoi(argv[2]) : 1;
	if (argc > 3)
		depth = atoi(argv[3]);
	pthread_t t[64];
	if (threads > 64)
		threads = 64;
	for (int i = 1; i < threads; i++)
		pthread_create(&t[i], NULL, run, NULL);
	run(NULL);
	for (int i = 1; i < threads; i++)
		pthread_join(t[i], NULL);
	return 0;
}
