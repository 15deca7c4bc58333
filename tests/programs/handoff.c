/* Blocks handed between two threads at once, for the collector's ordering
 * of events across threads (t1910-handoff.sh). Thread A allocates a block
 * and puts it in a one-slot mailbox; thread B frees it the moment it
 * arrives, and hands a block of its own back, which A frees at once: a free
 * on another thread within nanoseconds of the allocation, ROUNDS times each
 * way. Sizes run from 16 to 3015 bytes: those above glibc's per-thread
 * cache (1032) go back to the arena they came from, so an address freed on
 * one thread is allocated again on the other straight away. Every 4096th
 * block received is kept to the end instead of freed (a live set the trace
 * must show exactly).
 *
 * Side A is the calling thread, and before B starts it allocates and frees
 * blocks alone (ALONE pairs), leaving EARLY of them for B to free the
 * moment it starts: while one thread alone records, the shim may stamp it
 * without a fence, and must stop the moment another begins.
 *
 * Halfway the process forks: the child does a quarter of the rounds with
 * a thread of its own and exits; the parent does the rest. Each process
 * writes its own figures (its allocations, frees, bytes, and the blocks and
 * bytes it leaves live; a fork child's start at the fork) to
 * OUTDIR/counts.PID.0, in stress.c's format, and prints one line.
 * usage: handoff ROUNDS OUTDIR
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define KEEP_EVERY 4096
#define KEPT_MAX (1u << 16)

struct counts {
	uint64_t allocs, frees, bytes;
	int64_t live_blocks, live_bytes;
};

struct side {
	int me;
	uint64_t rounds;
	struct counts c;
	uint64_t *kept[KEPT_MAX];
	size_t nkept;
};

static _Atomic(uint64_t *) box[2]; /* box[s]: what side s hands to the other */

#define ALONE 100000
#define EARLY 64
static uint64_t *early[EARLY]; /* A's, from before B started: B frees them */

__attribute__((noinline)) static uint64_t *h_alloc(size_t n, struct counts *c)
{
	uint64_t *p = malloc(n);
	if (!p) {
		fprintf(stderr, "handoff: out of memory\n");
		abort();
	}
	p[0] = n;
	c->allocs++;
	c->bytes += n;
	c->live_blocks++;
	c->live_bytes += (int64_t)n;
	return p;
}

__attribute__((noinline)) static void h_free(uint64_t *p, struct counts *c)
{
	c->frees++;
	c->live_blocks--;
	c->live_bytes -= (int64_t)p[0];
	free(p);
}

/* Spins a while, then yields: three busy threads (two of these and the
 * collector) on two cores must not wait out whole time slices. */
static void pause_a_little(unsigned *spins)
{
	if (++*spins < 64)
		__asm__ volatile("pause");
	else
		sched_yield();
}

static void *run(void *arg)
{
	struct side *s = arg;
	for (int k = 0; s->me == 1 && k < EARLY; k++)
		h_free(early[k], &s->c);
	uint64_t seed = 0x9e3779b97f4a7c15ull * (uint64_t)(s->me + 1);
	for (uint64_t i = 0; i < s->rounds; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		uint64_t *p = h_alloc(16 + seed % 3000, &s->c);
		unsigned spins = 0;
		while (atomic_load_explicit(&box[s->me], memory_order_acquire))
			pause_a_little(&spins);
		atomic_store_explicit(&box[s->me], p, memory_order_release);
		uint64_t *q;
		spins = 0;
		while (!(q = atomic_exchange_explicit(&box[!s->me], NULL, memory_order_acq_rel)))
			pause_a_little(&spins);
		if (i % KEEP_EVERY == KEEP_EVERY - 1 && s->nkept < KEPT_MAX)
			s->kept[s->nkept++] = q;
		else
			h_free(q, &s->c);
	}
	return NULL;
}

static struct side sides[2];

/* The calling thread alone: ALONE pairs, and EARLY blocks left for B. */
static void alone(struct side *a)
{
	uint64_t seed = 0x2545f4914f6cdd1dull;
	for (int i = 0; i < ALONE + EARLY; i++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		uint64_t *p = h_alloc(16 + seed % 3000, &a->c);
		if (i < ALONE)
			h_free(p, &a->c);
		else
			early[i - ALONE] = p;
	}
}

/* Both sides for `rounds` rounds, A on the calling thread after its pairs
 * alone; their figures added to *total. */
static void rounds_of(uint64_t rounds, struct counts *total)
{
	pthread_t t;
	for (int k = 0; k < 2; k++) {
		sides[k].me = k;
		sides[k].rounds = rounds;
		sides[k].c = (struct counts){0};
	}
	alone(&sides[0]);
	if (pthread_create(&t, NULL, run, &sides[1])) {
		fprintf(stderr, "handoff: cannot create a thread\n");
		exit(2);
	}
	run(&sides[0]);
	pthread_join(t, NULL);
	for (int k = 0; k < 2; k++) {
		total->allocs += sides[k].c.allocs;
		total->frees += sides[k].c.frees;
		total->bytes += sides[k].c.bytes;
		total->live_blocks += sides[k].c.live_blocks;
		total->live_bytes += sides[k].c.live_bytes;
	}
}

static void write_counts(const char *dir, const struct counts *c)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/counts.%d.0", dir, (int)getpid());
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(2);
	}
	fprintf(f, "allocs %llu\nfrees %llu\nbytes %llu\nlive_blocks %lld\nlive_bytes %lld\n",
		(unsigned long long)c->allocs, (unsigned long long)c->frees,
		(unsigned long long)c->bytes, (long long)c->live_blocks, (long long)c->live_bytes);
	fclose(f);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: handoff ROUNDS OUTDIR\n");
		return 2;
	}
	uint64_t rounds = strtoull(argv[1], NULL, 10);
	struct counts total = {0};
	rounds_of(rounds / 2, &total);
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0) {
		perror("fork");
		return 2;
	}
	if (pid == 0) {
		struct counts child = {0}; /* the child's trace starts at the fork */
		rounds_of(rounds / 4, &child);
		write_counts(argv[2], &child);
		exit(0);
	}
	rounds_of(rounds - rounds / 2, &total);
	int st;
	waitpid(pid, &st, 0);
	write_counts(argv[2], &total);
	printf("%llu blocks handed over, %lld kept; the child: exit %d\n",
	       (unsigned long long)(2 * rounds + 2 * EARLY),
	       (long long)total.live_blocks,
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}
