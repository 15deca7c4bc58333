/* Uses every C allocation entry point, with two threads passing blocks to
 * each other to free (heavy address reuse across threads), and leaves a
 * known set of blocks unfreed at exit. Its figures are checked against
 * valgrind's on the same binary (t0200-exact.sh). pvalloc is left out:
 * valgrind 3.19 aborts the program at pvalloc (tests/programs/pvalloc.c).
 * usage: allocs [ROUNDS]   (default 20000); prints nothing.
 */
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define QCAP 256

struct queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	void *items[QCAP];
	int head, len, closed;
};

static struct queue to_b = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};
static struct queue to_a = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};
static void *leaked[4096];
static int nleaked;
static int rounds = 20000;

static void put(struct queue *q, void *p)
{
	pthread_mutex_lock(&q->lock);
	while (q->len == QCAP)
		pthread_cond_wait(&q->cond, &q->lock);
	q->items[(q->head + q->len++) % QCAP] = p;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

/* NULL once the queue is closed and empty. */
static void *take(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	while (q->len == 0 && !q->closed)
		pthread_cond_wait(&q->cond, &q->lock);
	void *p = NULL;
	if (q->len) {
		p = q->items[q->head];
		q->head = (q->head + 1) % QCAP;
		q->len--;
		pthread_cond_broadcast(&q->cond);
	}
	pthread_mutex_unlock(&q->lock);
	return p;
}

static void close_queue(struct queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->closed = 1;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

static void *alloc_kind(int i)
{
	size_t size = 16 + (size_t)(i % 7) * 24;
	void *p = NULL;
	switch (i % 9) {
	case 0: p = malloc(size); break;
	case 1: p = calloc(3, size); break;
	case 2: p = realloc(NULL, size); break;
	case 3: if (posix_memalign(&p, 64, size)) p = NULL; break;
	case 4: p = aligned_alloc(32, 64); break;
	case 5: p = memalign(128, size); break;
	case 6: p = reallocarray(NULL, 5, size); break;
	case 7: p = strdup("a string that lives a little"); break;
	case 8: p = malloc(size); p = realloc(p, size * 2); break;
	}
	if (p)
		memset(p, 1, 8);
	return p;
}

/* Thread B: frees what A sends, and sends back blocks of its own. */
static void *thread_b(void *arg)
{
	(void)arg;
	int i = 0;
	for (void *p; (p = take(&to_b)) != NULL; i++) {
		free(p);
		put(&to_a, alloc_kind(i + 3));
	}
	close_queue(&to_a);
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		rounds = atoi(argv[1]);
	pthread_t b;
	pthread_create(&b, NULL, thread_b, NULL);
	for (int i = 0; i < rounds; i++) {
		void *p = alloc_kind(i);
		if (i % 97 == 0 && nleaked < 4096)
			leaked[nleaked++] = p; /* still reachable, never freed */
		else
			put(&to_b, p);
		/* Free what B sent, from this thread. */
		pthread_mutex_lock(&to_a.lock);
		int avail = to_a.len;
		pthread_mutex_unlock(&to_a.lock);
		while (avail-- > 0)
			free(take(&to_a));
	}
	close_queue(&to_b);
	for (void *p; (p = take(&to_a)) != NULL;)
		free(p);
	pthread_join(b, NULL);

	/* The rarer entry points, once each; some kept. */
	void *v = valloc(100);
	void *kept_v = valloc(300);
	void *shrink = realloc(malloc(1000), 10);
	void *gone = malloc(77);
	gone = realloc(gone, 0); /* glibc frees it and returns NULL */
	size_t usable = malloc_usable_size(shrink);
	free(v);
	leaked[nleaked++] = kept_v;
	leaked[nleaked++] = shrink;
	free(gone);
	free(NULL);
	return usable >= 10 ? 0 : 1;
}
