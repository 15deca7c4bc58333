/* Stress for the shim (t1900-stress.sh): for SECONDS, worker threads
 * allocate, reallocate and free, handing blocks to each other through a
 * shared queue (so most frees happen on another thread than the malloc,
 * with heavy address reuse), while a spawner thread keeps creating and
 * joining short-lived threads that do the same; in the middle the process
 * forks twice: one child works and execs this program again (which works
 * with threads of its own), the other works and exits.
 *
 * Every allocation of the program goes through s_alloc/s_realloc/s_free,
 * which count calls, frees and bytes (and the live set) in atomic counters.
 * Each process image writes its figures to OUTDIR/counts.PID.IMAGE (IMAGE 0
 * before exec, 1 after), and the test checks that the trace of that image
 * holds exactly these figures at the sites whose innermost frame is in this
 * program. Blocks are at least 16 bytes; the first 8 hold the size.
 * usage: stress SECONDS OUTDIR [heavy]   (prints one line on stdout)
 *   heavy: the spawner does not pause between rounds of threads, and each
 *   does six times the work (a thread churn that outruns the collector)
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static _Atomic uint64_t n_allocs, n_frees, n_bytes, live_blocks, live_bytes, n_threads;
static _Atomic int stop;
static const char *outdir;
static int image;
static int solo; /* a fork child: the queue (and its lock) is the parent's */
static int heavy;

/* --- the counted allocator calls --------------------------------------- */

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void counted(size_t n)
{
	atomic_fetch_add(&n_allocs, 1);
	atomic_fetch_add(&n_bytes, n);
	atomic_fetch_add(&live_blocks, 1);
	atomic_fetch_add(&live_bytes, n);
}

__attribute__((noinline)) static void *s_alloc(size_t n, unsigned kind)
{
	void *p = NULL;
	switch (kind % 4) {
	case 0:
		p = malloc(n);
		break;
	case 1:
		p = calloc(1, n);
		break;
	case 2:
		if (posix_memalign(&p, 64, n))
			p = NULL;
		break;
	case 3:
		p = aligned_alloc(32, (n + 31) & ~(size_t)31);
		n = (n + 31) & ~(size_t)31;
		break;
	}
	if (!p) {
		fprintf(stderr, "stress: out of memory\n");
		abort();
	}
	*(uint64_t *)p = n;
	counted(n);
	return p;
}

__attribute__((noinline)) static void s_free(void *p)
{
	uint64_t n = *(uint64_t *)p;
	atomic_fetch_add(&n_frees, 1);
	atomic_fetch_sub(&live_blocks, 1);
	atomic_fetch_sub(&live_bytes, n);
	free(p);
}

/* realloc is a free of the old block and an allocation of the new one. */
__attribute__((noinline)) static void *s_realloc(void *p, size_t n)
{
	uint64_t old = *(uint64_t *)p;
	void *q = realloc(p, n);
	if (!q) {
		fprintf(stderr, "stress: out of memory\n");
		abort();
	}
	*(uint64_t *)q = n;
	atomic_fetch_add(&n_frees, 1);
	atomic_fetch_sub(&live_blocks, 1);
	atomic_fetch_sub(&live_bytes, old);
	counted(n);
	return q;
}

static size_t pick_size(uint64_t r)
{
	if (r % 500 == 0)
		return 65536 + (r >> 20) % 200000; /* some beyond the mmap threshold */
	return 16 + (r >> 12) % 2000;
}

/* --- the queue that carries blocks between threads ----------------------- */

#define QCAP 8192
static struct {
	pthread_mutex_t lock;
	void *v[QCAP];
	size_t head, len;
} q = {PTHREAD_MUTEX_INITIALIZER};

static int q_put(void *p)
{
	pthread_mutex_lock(&q.lock);
	int ok = q.len < QCAP;
	if (ok)
		q.v[(q.head + q.len++) % QCAP] = p;
	pthread_mutex_unlock(&q.lock);
	return ok;
}

static void *q_take(void)
{
	void *p = NULL;
	pthread_mutex_lock(&q.lock);
	if (q.len) {
		p = q.v[q.head];
		q.head = (q.head + 1) % QCAP;
		q.len--;
	}
	pthread_mutex_unlock(&q.lock);
	return p;
}

/* --- work ------------------------------------------------------------------ */

/* ops steps (or until stop when ops is 0) on a table of slots; keeps the
 * last `keep` blocks live for good (the known set left at exit). */
static void work(uint64_t seed, long ops, int keep)
{
	enum { SLOTS = 256 };
	void *slot[SLOTS] = {0};
	uint64_t s = seed | 1;
	for (long i = 0; ops ? i < ops : !atomic_load_explicit(&stop, memory_order_relaxed); i++) {
		uint64_t r = rnd(&s);
		size_t k = r % SLOTS;
		switch ((r >> 8) % 10) {
		case 0: case 1: case 2: case 3: /* replace */
			if (slot[k])
				s_free(slot[k]);
			slot[k] = s_alloc(pick_size(r), (unsigned)(r >> 40));
			break;
		case 4: /* grow or shrink */
			if (slot[k])
				slot[k] = s_realloc(slot[k], pick_size(r >> 3));
			break;
		case 5: case 6: /* hand to another thread */
			if (slot[k] && !solo && q_put(slot[k]))
				slot[k] = NULL;
			break;
		default: { /* free what another thread handed over */
			void *p = solo ? NULL : q_take();
			if (p)
				s_free(p);
			break;
		}
		}
	}
	int kept = 0;
	for (size_t k = 0; k < SLOTS; k++) {
		if (!slot[k])
			continue;
		if (kept < keep)
			kept++; /* stays live to the end, on purpose */
		else
			s_free(slot[k]);
	}
}

static void *worker(void *arg)
{
	work((uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull, 0, 16);
	return NULL;
}

static void *short_lived(void *arg)
{
	work((uint64_t)(uintptr_t)arg * 0xbf58476d1ce4e5b9ull, heavy ? 3000 : 500, 0);
	return NULL;
}

/* Creates and joins short-lived threads, four at a time, until stop. */
static void *spawner(void *arg)
{
	(void)arg;
	for (uintptr_t round = 1; !atomic_load(&stop); round++) {
		pthread_t t[4];
		int n = 0;
		for (int i = 0; i < 4; i++)
			if (!pthread_create(&t[n], NULL, short_lived, (void *)(round * 4 + (uintptr_t)i)))
				n++;
		for (int i = 0; i < n; i++)
			pthread_join(t[i], NULL);
		atomic_fetch_add(&n_threads, (uint64_t)n);
		if (!heavy) {
			struct timespec ts = {0, 2000000};
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}

static void write_counts(void)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/counts.%d.%d", outdir, (int)getpid(), image);
	FILE *f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	fprintf(f, "allocs %llu\nfrees %llu\nbytes %llu\nlive_blocks %llu\nlive_bytes %llu\nthreads %llu\n",
		(unsigned long long)n_allocs, (unsigned long long)n_frees,
		(unsigned long long)n_bytes, (unsigned long long)live_blocks,
		(unsigned long long)live_bytes, (unsigned long long)n_threads);
	fclose(f);
}

static void reset_counts(void)
{
	n_allocs = n_frees = n_bytes = live_blocks = live_bytes = n_threads = 0;
}

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* Workers and the spawner for ms milliseconds; then everything handed over
 * is freed. fork_at: times (ms) to fork a child (0: none). */
static void run(int nworkers, long ms, long fork1, long fork2, char **argv)
{
	pthread_t w[16], sp;
	for (int i = 0; i < nworkers; i++)
		pthread_create(&w[i], NULL, worker, (void *)(uintptr_t)(i + 1 + image * 100));
	pthread_create(&sp, NULL, spawner, NULL);
	atomic_fetch_add(&n_threads, (uint64_t)nworkers + 1);
	pid_t kids[2];
	int nkids = 0;
	long at = 0;
	long forks[2] = {fork1, fork2};
	for (int f = 0; f < 2; f++) {
		if (!forks[f])
			continue;
		pause_ms(forks[f] - at);
		at = forks[f];
		pid_t pid = fork();
		if (pid < 0) {
			perror("stress: fork");
			exit(1);
		}
		if (pid == 0) {
			/* Only this thread lives on; inherited blocks are not ours
			 * to count (nor to free: the trace never saw them). */
			reset_counts();
			solo = 1;
			work(0x1234 + (uint64_t)f, 20000, 8);
			write_counts();
			if (f == 0) {
				/* Exec this program again: its second image. */
				execl("/proc/self/exe", argv[0], "--image", outdir, (char *)NULL);
				perror("stress: exec");
				_exit(1);
			}
			exit(0);
		}
		kids[nkids++] = pid;
	}
	pause_ms(ms - at);
	atomic_store(&stop, 1);
	for (int i = 0; i < nworkers; i++)
		pthread_join(w[i], NULL);
	pthread_join(sp, NULL);
	for (void *p; (p = q_take()) != NULL;)
		s_free(p);
	for (int i = 0; i < nkids; i++) {
		int st;
		while (waitpid(kids[i], &st, 0) < 0 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			fprintf(stderr, "stress: child %d failed\n", (int)kids[i]);
			exit(1);
		}
	}
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--image")) {
		image = 1;
		outdir = argv[2];
		run(2, 1000, 0, 0, argv);
		write_counts();
		return 0;
	}
	if (argc < 3 || argc > 4 || (argc == 4 && strcmp(argv[3], "heavy"))) {
		fprintf(stderr, "usage: stress SECONDS OUTDIR [heavy]\n");
		return 2;
	}
	heavy = argc == 4;
	long ms = (long)(atof(argv[1]) * 1000);
	outdir = argv[2];
	run(4, ms, ms / 3, 2 * ms / 3, argv);
	write_counts();
	printf("stress: %llu allocations, %llu frees, %llu threads, 2 forks, 1 exec\n",
	       (unsigned long long)n_allocs, (unsigned long long)n_frees,
	       (unsigned long long)n_threads);
	return 0;
}
