/* Per-thread state: the re-entrancy guard and the thread's ring. A thread
 * gets a ring on its first traced event (a recycled one if the collector has
 * drained a dead thread's ring, else a new mapping) and gives it back from a
 * pthread key destructor that re-arms itself until the last destructor round,
 * so events from other libraries' late TLS destructors are still caught.
 * Events after that (the very end of thread exit) borrow a ring for the one
 * event. Never allocates from the traced heap.
 *
 * Ring memory is bounded. A full ring holds its thread back, but a thread
 * that lives briefly always starts on an empty ring, so under thread churn
 * nothing would hold the program back if the collector fell behind: rings of
 * exited threads would pile up undrained. So once HC_MAX_DEAD of them wait
 * for the collector, a new thread waits (at most HEAPCREEP_WAIT, as a full
 * ring does) for one to be recycled instead of mapping another. If none is
 * recycled in that time the collector is stuck (a hung disk): until it
 * recycles again, new threads get no ring rather than wait in turn. There
 * are never more than HC_MAX_RINGS. A thread that gets no ring loses its
 * events (counted, with the cause) and asks again after HC_RETRY_NS.
 */
#include <limits.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define HC_MAX_DEAD 16
#define HC_RETRY_NS 10000000u

static pthread_key_t key;
static int key_ok;
static _Atomic uint32_t nrings;
/* hc_rings_recycled when a wait for a recycled ring last timed out, + 1:
 * until the collector recycles again, new threads do not wait. */
static _Atomic uint64_t gave_up_at;
static _Atomic uint64_t fails[HC_RING_FAIL_CAUSES];

void hc_thread_ring_failures(uint64_t out[HC_RING_FAIL_CAUSES])
{
	for (int i = 0; i < HC_RING_FAIL_CAUSES; i++)
		out[i] = atomic_load_explicit(&fails[i], memory_order_relaxed);
}

static struct hc_ring *fail(int cause)
{
	atomic_fetch_add_explicit(&fails[cause], 1, memory_order_relaxed);
	return NULL;
}

void hc_thread_postfork_child(void)
{
	atomic_store(&gave_up_at, 0);
	for (int i = 0; i < HC_RING_FAIL_CAUSES; i++)
		atomic_store(&fails[i], 0);
	/* The forking thread's countdown to its next sample and its random
	 * stream are copied into every child: each child of one thread would
	 * sample the same allocations as its siblings. A fresh draw at the next
	 * allocation (the distance is memoryless) from a stream seeded anew
	 * makes each child's samples its own. */
	hc_tls.rng = 0;
	if (hc_tls.own)
		hc_tls.own_sample_left = 0;
	else
		hc_tls.sample_left = 0;
}

/* A FREE ring, taken; *dead counts the rings still waiting to be drained. */
static struct hc_ring *take_free(unsigned *dead)
{
	*dead = 0;
	for (struct hc_ring *r = atomic_load_explicit(&hc_rings, memory_order_acquire); r;
	     r = r->next) {
		int state = atomic_load_explicit(&r->state, memory_order_relaxed);
		int free_state = HC_RING_FREE;
		if (state == HC_RING_FREE &&
		    atomic_compare_exchange_strong_explicit(&r->state, &free_state, HC_RING_OWNED,
							    memory_order_acquire,
							    memory_order_relaxed))
			return r;
		*dead += state == HC_RING_DEAD;
	}
	return NULL;
}

static int collector_drains(void)
{
	return atomic_load_explicit(&hc_tracing, memory_order_relaxed) == HC_ON &&
	       atomic_load_explicit(&hc_collector_running, memory_order_acquire);
}

/* A wait for a recycled ring timed out, and none was recycled since. */
static int collector_stuck(void)
{
	uint64_t g = atomic_load_explicit(&gave_up_at, memory_order_relaxed);
	return g && g - 1 == atomic_load_explicit(&hc_rings_recycled, memory_order_acquire);
}

static struct hc_ring *acquire(void)
{
	struct hc_ring *r;
	uint64_t deadline = 0;
	long nap = 20000;
	unsigned dead;
	for (;;) {
		if ((r = take_free(&dead)))
			goto owned;
		uint32_t n = atomic_load_explicit(&nrings, memory_order_relaxed);
		if (dead < HC_MAX_DEAD && n < HC_MAX_RINGS)
			break;
		if (!dead || !collector_drains())
			break; /* nothing will be recycled: a new ring, if the bound allows */
		if (collector_stuck())
			return fail(HC_RING_FAIL_STUCK);
		uint64_t now = hc_now();
		if (!deadline) {
			deadline = now + hc_config.wait_ns;
		} else if (now >= deadline) {
			atomic_store_explicit(&gave_up_at,
					      atomic_load(&hc_rings_recycled) + 1,
					      memory_order_relaxed);
			return fail(HC_RING_FAIL_STUCK);
		}
		hc_collector_kick();
		struct timespec ts = {0, nap};
		nanosleep(&ts, NULL);
		if (nap < 1000000)
			nap *= 2;
	}
	/* One more ring, if the bound allows (reserved before mapping). */
	if (atomic_fetch_add_explicit(&nrings, 1, memory_order_relaxed) >= HC_MAX_RINGS) {
		atomic_fetch_sub_explicit(&nrings, 1, memory_order_relaxed);
		return fail(HC_RING_FAIL_LIMIT);
	}
	r = hc_ring_new(hc_config.ring_bytes ? hc_config.ring_bytes : 1u << 20);
	if (!r) {
		atomic_fetch_sub_explicit(&nrings, 1, memory_order_relaxed);
		return fail(HC_RING_FAIL_NOMEM);
	}
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

void hc_thread_release(struct hc_ring *r)
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
		hc_thread_release(r);
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

struct hc_ring *hc_thread_ring_slow(void)
{
	struct hc_tls *t = &hc_tls; /* t->ring is NULL: hc_thread_ring looked */
	if (unlikely(t->ring_retry_at) && hc_now() < t->ring_retry_at)
		return NULL; /* no ring a moment ago: do not ask on every event */
	struct hc_ring *r = acquire();
	if (!r) {
		t->ring_retry_at = hc_now() + HC_RETRY_NS;
		return NULL;
	}
	t->ring_retry_at = 0;
	if (t->state == HC_THREAD_EXITED)
		return r; /* borrowed: the caller returns it after one event */
	t->ring = r;
	t->state = HC_THREAD_ACTIVE;
	if (key_ok)
		pthread_setspecific(key, r);
	return r;
}
