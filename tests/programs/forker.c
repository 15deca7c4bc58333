/* Forks, and forks again while another thread allocates. Each child
 * allocates a known set of blocks (some kept) and exits; the parent keeps
 * its own. Figures are checked per process against valgrind's
 * (t0300-process.sh). usage: forker; prints nothing. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* A short-lived block the compiler cannot optimise away (a local volatile:
 * threads may call this at once). */
static void churn_one(size_t n)
{
	void *volatile p = malloc(n);
	free(p);
}

void *kept[64]; /* not static: the compiler must keep the blocks */
int nkept;
static atomic_int stop;

static void child_work(int which)
{
	for (int i = 0; i < 1000; i++)
		churn_one(32 + (size_t)i % 64);
	for (int i = 0; i < 5 + which; i++)
		kept[nkept++] = malloc(1000 + (size_t)which);
	exit(0);
}

static void *churner(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		churn_one(48);
	return NULL;
}

int main(void)
{
	kept[nkept++] = malloc(111);
	pid_t a = fork();
	if (a == 0)
		child_work(1);
	waitpid(a, NULL, 0);

	pthread_t t;
	pthread_create(&t, NULL, churner, NULL);
	for (int i = 0; i < 3; i++) {
		usleep(20000);
		pid_t b = fork(); /* the churner may be inside malloc right now */
		if (b == 0)
			child_work(2 + i);
		waitpid(b, NULL, 0);
	}
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	kept[nkept++] = malloc(222);
	return 0;
}
