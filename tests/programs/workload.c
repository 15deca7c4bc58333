/* A deterministic allocating program for the fault tests (t1600-faults.sh):
 * the main thread and one helper thread of its own each run a seeded stream
 * of malloc/calloc/realloc/free into a table of kept blocks, fill every
 * block and read it back into a checksum. What it prints and its exit
 * status (3) depend on ITERATIONS only, so any change the shim causes shows.
 * usage: workload ITERATIONS [SLEEP_US [plain|sigwork|sigmalloc]]
 *   SLEEP_US: a pause every 64 iterations, so a run spans snapshots
 *   sigwork: a SIGUSR1 handler that does some work (a hash over a buffer);
 *   sigmalloc: a handler that mallocs, fills and frees (not async-signal-safe,
 *   but real programs do it). With WORKLOAD_SIGLOG=FILE the number of
 *   signals handled is written there (not on stdout: it varies).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 2048

static long iterations;
static long sleep_us;
static volatile sig_atomic_t handled;
static volatile uint64_t sig_hash;
static unsigned char sig_buf[256];
static void *volatile sig_kept[8];

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void pause_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* One stream: returns its checksum. */
static uint64_t run(uint64_t seed)
{
	void **slot = calloc(SLOTS, sizeof(void *));
	size_t *len = calloc(SLOTS, sizeof(size_t));
	uint64_t s = seed, sum = 0;
	for (long i = 0; i < iterations; i++) {
		uint64_t r = next(&s);
		size_t k = r % SLOTS;
		size_t n = 16 + (r >> 20) % 2000;
		if (i % 997 == 0)
			n = 200000; /* above glibc's mmap threshold */
		unsigned char fill = (unsigned char)(r >> 40);
		unsigned char *p;
		switch ((r >> 32) % 8) {
		case 0:
			p = calloc(1, n);
			break;
		case 1:
			if (slot[k]) { /* grow or shrink what is there, keep its bytes */
				p = realloc(slot[k], n);
				if (p) {
					size_t keep = len[k] < n ? len[k] : n;
					for (size_t j = 0; j < keep; j += 61)
						sum = sum * 31 + p[j];
					slot[k] = NULL;
				}
				break;
			}
			/* fall through */
		default:
			p = malloc(n);
			break;
		}
		if (!p) {
			fprintf(stderr, "workload: out of memory\n");
			exit(1);
		}
		memset(p, fill, n);
		for (size_t j = 0; j < n; j += 97)
			sum = sum * 31 + p[j];
		if ((r >> 48) % 4 == 0) {
			free(p); /* short-lived */
		} else {
			free(slot[k]);
			slot[k] = p;
			len[k] = n;
		}
		if (sleep_us && i % 64 == 63)
			pause_us(sleep_us);
	}
	/* Half of what is kept is freed; the rest stays to the end. */
	for (size_t k = 0; k < SLOTS; k += 2)
		free(slot[k]);
	free(len);
	return sum;
}

static void *helper(void *arg)
{
	uint64_t *sum = arg;
	*sum = run(0x9e3779b97f4a7c15ull);
	return NULL;
}

static void on_sigwork(int sig)
{
	(void)sig;
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < sizeof(sig_buf); i++) {
		sig_buf[i] = (unsigned char)(sig_buf[i] + i);
		h = (h ^ sig_buf[i]) * 1099511628211ull;
	}
	sig_hash ^= h;
	handled++;
}

static void on_sigmalloc(int sig)
{
	(void)sig;
	int e = errno;
	size_t n = 32 + (size_t)handled % 480;
	char *p = malloc(n);
	if (p) {
		memset(p, 7, n);
		sig_hash += (unsigned char)p[n - 1];
	}
	/* Keep a few for a while: frees of blocks from an earlier signal. */
	void *old = sig_kept[handled % 8];
	sig_kept[handled % 8] = p;
	free(old);
	handled++;
	errno = e;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: workload ITERATIONS [SLEEP_US [plain|sigwork|sigmalloc]]\n");
		return 2;
	}
	iterations = atol(argv[1]);
	sleep_us = argc > 2 ? atol(argv[2]) : 0;
	const char *mode = argc > 3 ? argv[3] : "plain";
	if (strcmp(mode, "plain")) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = !strcmp(mode, "sigmalloc") ? on_sigmalloc : on_sigwork;
		sa.sa_flags = SA_RESTART;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGUSR1, &sa, NULL);
	}
	uint64_t helper_sum = 0;
	pthread_t t;
	int rc = pthread_create(&t, NULL, helper, &helper_sum);
	if (rc) {
		fprintf(stderr, "workload: pthread_create: %s\n", strerror(rc));
		return 1;
	}
	uint64_t sum = run(0x2545f4914f6cdd1dull);
	pthread_join(t, NULL);
	printf("workload: %ld iterations, checksum %016llx %016llx\n", iterations,
	       (unsigned long long)sum, (unsigned long long)helper_sum);
	const char *log = getenv("WORKLOAD_SIGLOG");
	if (log) {
		FILE *f = fopen(log, "w");
		if (f) {
			fprintf(f, "%ld\n", (long)handled);
			fclose(f);
		}
	}
	return 3;
}
