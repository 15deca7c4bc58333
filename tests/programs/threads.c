/* Creates and ends many threads (default 10000, at most 8 alive at once);
 * each allocates, frees, and hands one block to the main thread, which
 * frees every other one. Checked against valgrind (t0300-process.sh).
 * usage: threads [N]; prints nothing. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A short-lived block the compiler cannot optimise away (a local volatile:
 * threads may call this at once). */
static void churn_one(size_t n)
{
	void *volatile p = malloc(n);
	free(p);
}

static void *work(void *arg)
{
	size_t n = (size_t)(uintptr_t)arg;
	for (int i = 0; i < 10; i++)
		churn_one(16 + (n + (size_t)i) % 200);
	void *p = malloc(24 + n % 8);
	memset(p, 1, 8);
	return p;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10000;
	void **kept = calloc((size_t)n, sizeof(void *));
	pthread_t t[8];
	for (int i = 0; i < n; i += 8) {
		int k = n - i < 8 ? n - i : 8;
		for (int j = 0; j < k; j++)
			pthread_create(&t[j], NULL, work, (void *)(uintptr_t)(i + j));
		for (int j = 0; j < k; j++) {
			void *p;
			pthread_join(t[j], &p);
			if ((i + j) % 2)
				free(p);
			else
				kept[i + j] = p;
		}
	}
	return kept[0] ? 0 : 1;
}
