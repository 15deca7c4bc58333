/* A library that does nothing but start one thread that sleeps for ever:
 * preloaded by `make bench-parts` (bench/parts.sh), to measure what one more
 * thread costs a program by itself (glibc's allocator takes its locks once
 * a process has a second thread), beside what sampled mode costs. */
#include <pthread.h>
#include <unistd.h>

static void *sleep_forever(void *arg)
{
	(void)arg;
	for (;;)
		pause();
	return NULL;
}

__attribute__((constructor)) static void start(void)
{
	pthread_t t;
	if (!pthread_create(&t, NULL, sleep_forever, NULL))
		pthread_detach(t);
}
