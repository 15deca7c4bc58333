/* Grows a retained set steadily until killed: every 10 ms it keeps one
 * 4 KiB block and churns a few short-lived ones. Prints "ready" after its
 * first second (with write: no stdio buffer on the heap). Used for
 * SIGKILL tests. usage: grower. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* A short-lived block the compiler cannot optimise away (a local volatile:
 * threads may call this at once). */
static void churn_one(size_t n)
{
	void *volatile p = malloc(n);
	free(p);
}

int main(void)
{
	static void *kept[1 << 20];
	for (long i = 0;; i++) {
		kept[i % (1 << 20)] = malloc(4096);
		memset(kept[i % (1 << 20)], 1, 4096);
		for (int j = 0; j < 10; j++)
			churn_one(100);
		if (i == 100 && write(1, "ready\n", 6) != 6)
			return 1;
		struct timespec ts = {0, 10000000};
		nanosleep(&ts, NULL);
	}
}
