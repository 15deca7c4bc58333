/* Per-thread state: the re-entrancy guard and the thread's ring. A thread
 * gets a ring on its first traced event (a recycled one if the collector has
 * drained a dead thread's ring, else a new mapping) and gives it back from a
 * pthread key destructor that re-arms itself until the last destructor round,
 * so events from other libraries' late TLS destructors are still caught.
 * Events after that (the very end of thread exit) borrow a ring for the one
 * event. Never allocates from the traced heap.
 */
#include <limits.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

__thread struct hc_tls hc_tls __attribute__((tls_model("initial-exec")));

static pthread_key_t key;
static int key_ok;

static struct hc_ring *acquire(void)
{
	struct hc_ring *r;
	for (r = atomic_load_explicit(&hc_rings, memory_order_acquire); r; r = r->next) {
		int free_state = HC_RING_FREE;
		if (atomic_load_explicit(&r->state, memory_order_relaxed) == HC_RING_FREE &&
		    atomic_compare_exchange_strong_explicit(&r->state, &free_state, HC_RING_OWNED,
							    memory_order_acquire,
							    memory_order_relaxed))
			goto owned;
	}
	r = hc_ring_new(hc_config.ring_bytes ? hc_config.ring_bytes : 1u << 20);
	if (!r)
		return NULL;
	atomic_store_explicit(&r->state, HC_RING_OWNED, memory_order_relaxed);
	struct hc_ring *head = atomic_load_explicit(&hc_rings, memory_order_relaxed);
	do
		r->next = head;
	while (!atomic_compare_exchange_weak_explicit(&hc_rings, &head, r, memory_order_release,
						      memory_order_relaxed));
owned:
	atomic_store_explicit(&r->tid, (pid_t)syscall(SYS_gettid), memory_order_relaxed);
	atomic_fetch_add_explicit(&r->owner_gen, 1, memory_order_release);
	return r;
}

static void release(struct hc_ring *r)
{
	/* Release: every event this thread committed is visible to the
	 * collector once it sees DEAD, so it can drain and recycle the ring. */
	atomic_store_explicit(&r->state, HC_RING_DEAD, memory_order_release);
}

/* Under ThreadSanitizer (the ring stress test) the thread's sanitizer state
 * is torn down by TSan's own key destructor in a late round; ours must let go
 * of the ring before that. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define HC_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__) || defined(HC_TSAN)
#define DTOR_ROUNDS 1
#else
#define DTOR_ROUNDS PTHREAD_DESTRUCTOR_ITERATIONS
#endif

static void thread_exit(void *arg)
{
	struct hc_tls *t = &hc_tls;
	if (++t->dtor_rounds < DTOR_ROUNDS) {
		pthread_setspecific(key, arg); /* run again in the next round */
		return;
	}
	struct hc_ring *r = t->ring;
	t->ring = NULL;
	t->state = HC_THREAD_EXITED;
	if (r)
		release(r);
}

int hc_thread_init(void)
{
	if (key_ok)
		return 0;
	if (pthread_key_create(&key, thread_exit))
		return -1;
	key_ok = 1;
	return 0;
}

struct hc_ring *hc_thread_ring(void)
{
	struct hc_tls *t = &hc_tls;
	if (likely(t->ring != NULL))
		return t->ring;
	struct hc_ring *r = acquire();
	if (!r)
		return NULL;
	if (t->state == HC_THREAD_EXITED)
		return r; /* borrowed: the caller returns it after one event */
	t->ring = r;
	t->state = HC_THREAD_ACTIVE;
	if (key_ok)
		pthread_setspecific(key, r);
	return r;
}

void hc_thread_return_borrowed(struct hc_ring *r)
{
	if (r != hc_tls.ring)
		release(r);
}
