/* Allocates, then execs itself; the new image allocates its own set. Each
 * image must get its own trace. usage: execer [N]: N images in all
 * (default 3); image k keeps k+1 blocks of 1000+k bytes. Prints nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* A short-lived block the compiler cannot optimise away (a local volatile:
 * threads may call this at once). */
static void churn_one(size_t n)
{
	void *volatile p = malloc(n);
	free(p);
}

void *kept[16];

int main(int argc, char **argv)
{
	int left = argc > 1 ? atoi(argv[1]) : 3;
	int k = argc > 2 ? atoi(argv[2]) : 0;
	for (int i = 0; i <= k && i < 16; i++)
		kept[i] = malloc(1000 + (size_t)k);
	for (int i = 0; i < 500; i++)
		churn_one(64);
	if (left > 1) {
		char n[16], kk[16];
		snprintf(n, sizeof(n), "%d", left - 1);
		snprintf(kk, sizeof(kk), "%d", k + 1);
		execl("/proc/self/exe", argv[0], n, kk, (char *)NULL);
		return 1;
	}
	return 0;
}
