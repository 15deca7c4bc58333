/* Stress test of the per-thread rings (preload/ring.c, thread.c), built with
 * ThreadSanitizer: producer threads, and threads that come and go so that
 * rings are recycled (DEAD → FREE → OWNED), push variable-size events into
 * small rings that wrap and fill (back-pressure), while one consumer drains
 * them as the collector does: by turns ring by ring (hc_ring_drain) and
 * merged by stamp (merge.c). Every event must arrive once, whole, in its
 * thread's order, with none dropped, and a merged drain in stamp order;
 * TSan must report no race (it makes the test fail).
 * Then the bounds: a stuck consumer costs a producer one wait, not one per
 * event; thread churn against a slow consumer keeps the number of rings
 * bounded with nothing lost; against a stuck one, new threads get no ring
 * (counted) instead of mapping ring after ring.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "tap.h"

/* What ring.c and thread.c need from the rest of the shim. */
struct hc_config hc_config;
_Atomic int hc_tracing = HC_ON;
_Atomic int hc_collector_running = 1;
void hc_collector_start(void) {}
void hc_collector_kick(void) {}

#define PRODUCERS 4
#define EVENTS 200000         /* per long-lived producer */
#define SHORT_THREADS 2000    /* threads that live for a few events each */
#define SHORT_EVENTS 50
#define MAX_IDS (PRODUCERS + SHORT_THREADS + 8)

static _Atomic uint64_t next_id = 1;
static _Atomic uint64_t clock_now = 1; /* stamps: each ring's in order */
static _Atomic int producers_left;
static uint64_t expect_seq[MAX_IDS];  /* consumer only */
static uint64_t received, bad;

static uint64_t pattern(uint64_t id, uint64_t seq, unsigned i)
{
	return (id * 0x9e3779b97f4a7c15ull) ^ (seq << 8) ^ i;
}

static _Atomic uint64_t no_ring;

static void push(uint64_t id, uint64_t seq)
{
	struct hc_ring *r = hc_thread_ring();
	if (!r) {
		atomic_fetch_add(&no_ring, 1);
		return;
	}
	unsigned words = 3 + (unsigned)((id * 7 + seq * 13) % 38); /* up to 40 words */
	uint64_t ts = atomic_fetch_add(&clock_now, 1);
	uint64_t *e = hc_ring_reserve(r, words);
	if (!e)
		return; /* counted in r->lost; the test checks it stays 0 */
	e[0] = HC_EV_HDR(HC_EV_ALLOC, words, 0);
	e[1] = id;
	e[2] = seq;
	for (unsigned i = 3; i < words; i++)
		e[i] = i == 3 && words >= 5 ? ts : pattern(id, seq, i); /* ALLOC's stamp */
	hc_ring_commit(r, words);
}

static void *producer(void *arg)
{
	uint64_t id = atomic_fetch_add(&next_id, 1);
	long n = (long)(intptr_t)arg;
	for (long s = 0; s < n; s++)
		push(id, (uint64_t)s);
	return NULL;
}

static void *spawner(void *arg)
{
	(void)arg;
	for (int i = 0; i < SHORT_THREADS / PRODUCERS; i++) {
		pthread_t t;
		pthread_create(&t, NULL, producer, (void *)(intptr_t)SHORT_EVENTS);
		pthread_join(t, NULL);
	}
	producer((void *)(intptr_t)EVENTS);
	atomic_fetch_sub(&producers_left, 1);
	return NULL;
}

static void check(void *ctx, const uint64_t *e)
{
	(void)ctx;
	uint64_t id = e[1], seq = e[2];
	unsigned words = (unsigned)HC_EV_WORDS(e[0]);
	received++;
	if (id >= MAX_IDS || seq != expect_seq[id] ||
	    words != 3 + (unsigned)((id * 7 + seq * 13) % 38)) {
		bad++;
		return;
	}
	for (unsigned i = 3 + (words >= 5); i < words; i++)
		if (e[i] != pattern(id, seq, i)) {
			bad++;
			return;
		}
	expect_seq[id]++;
}

static struct hc_merge merge;
static uint64_t last_stamp, merge_order_bad;

static void check_merged(void *ctx, const uint64_t *e, int now)
{
	(void)now;
	if (HC_EV_WORDS(e[0]) >= 5) {
		if (e[3] < last_stamp)
			merge_order_bad++;
		last_stamp = e[3];
	}
	check(ctx, e);
}

static size_t drain_all(uint64_t *corrupt)
{
	static unsigned turn;
	size_t n = 0;
	if (turn++ & 1) {
		uint64_t unordered = merge.unordered;
		last_stamp = 0;
		hc_merge_look(&merge, atomic_load(&hc_rings));
		n = hc_merge_drain(&merge, atomic_load(&hc_rings), check_merged, NULL, corrupt);
		if (merge.unordered != unordered)
			merge_order_bad++; /* every ring here is in stamp order */
		return n;
	}
	for (struct hc_ring *r = atomic_load(&hc_rings); r; r = r->next)
		n += hc_ring_drain(r, check, NULL, corrupt);
	return n;
}

static size_t count_rings(size_t *owned)
{
	size_t n = 0;
	*owned = 0;
	for (struct hc_ring *r = atomic_load(&hc_rings); r; r = r->next, n++)
		*owned += atomic_load(&r->state) == HC_RING_OWNED;
	return n;
}

static void counted(void *ctx, const uint64_t *e)
{
	(void)e;
	++*(uint64_t *)ctx;
}

static uint64_t drain_counted(void)
{
	uint64_t n = 0, corrupt = 0;
	for (struct hc_ring *r = atomic_load(&hc_rings); r; r = r->next)
		hc_ring_drain(r, counted, &n, &corrupt);
	return n;
}

/* --- a stuck consumer: one wait, then drops until it moves --------------- */

static _Atomic int step;
static struct hc_ring *filled;
static uint64_t waits0, lost0; /* a recycled ring's counters go on */

static void *filler(void *arg)
{
	(void)arg;
	struct hc_ring *r = hc_thread_ring();
	filled = r;
	waits0 = atomic_load(&r->waits);
	lost0 = atomic_load(&r->lost);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 3000; i++) {
			uint64_t *e = hc_ring_reserve(r, 8); /* 64 bytes: 1024 fill the ring */
			if (!e)
				continue;
			e[0] = HC_EV_HDR(HC_EV_ALLOC, 8, 0);
			memset(e + 1, 0, 7 * 8);
			hc_ring_commit(r, 8);
		}
		atomic_store(&step, 2 * round + 1); /* the consumer drains once now */
		while (atomic_load(&step) != 2 * round + 2)
			sched_yield();
	}
	return NULL;
}

static void stuck_consumer(void)
{
	hc_config.wait_ns = 20000000ull;
	pthread_t t;
	pthread_create(&t, NULL, filler, NULL);
	uint64_t got = 0;
	for (int round = 0; round < 2; round++) {
		while (atomic_load(&step) != 2 * round + 1)
			sched_yield();
		uint64_t waits = atomic_load(&filled->waits) - waits0;
		uint64_t lost = atomic_load(&filled->lost) - lost0;
		got += drain_counted();
		is_int(waits, round + 1, "stuck consumer, round %d: the producer waited once (%llu waits)",
		       round + 1, (unsigned long long)waits);
		ok(lost + got == 3000u * (round + 1) && got >= 1000u * (round + 1),
		   "round %d: then dropped at once, and counted (%llu delivered, %llu lost)", round + 1,
		   (unsigned long long)got, (unsigned long long)lost);
		atomic_store(&step, 2 * round + 2);
	}
	pthread_join(t, NULL);
	drain_counted();
}

/* --- thread churn against a slow consumer, then a stuck one -------------- */

static _Atomic int churn_done;
static uint64_t churn_received;

static void *slow_consumer(void *arg)
{
	(void)arg;
	while (!atomic_load(&churn_done)) {
		churn_received += drain_counted();
		struct timespec ts = {0, 2000000};
		nanosleep(&ts, NULL); /* a collector that falls behind */
	}
	churn_received += drain_counted();
	churn_received += drain_counted();
	return NULL;
}

static void *short_lived(void *arg)
{
	(void)arg;
	uint64_t id = atomic_fetch_add(&next_id, 1);
	for (int s = 0; s < SHORT_EVENTS; s++)
		push(id, (uint64_t)s);
	return NULL;
}

static void *churner(void *arg)
{
	for (long i = 0; i < (long)(intptr_t)arg; i++) {
		pthread_t t;
		pthread_create(&t, NULL, short_lived, NULL);
		pthread_join(t, NULL);
	}
	return NULL;
}

static void churn(int spawners, long each)
{
	pthread_t t[8];
	for (int i = 0; i < spawners; i++)
		pthread_create(&t[i], NULL, churner, (void *)(intptr_t)each);
	for (int i = 0; i < spawners; i++)
		pthread_join(t[i], NULL);
}

static void bounded_churn(size_t rings_before)
{
	hc_config.wait_ns = 60000000000ull;
	atomic_store(&no_ring, 0);
	pthread_t c;
	pthread_create(&c, NULL, slow_consumer, NULL);
	churn(4, 250);
	atomic_store(&churn_done, 1);
	pthread_join(c, NULL);
	size_t owned, rings = count_rings(&owned);
	is_u64(churn_received, 1000u * SHORT_EVENTS, "churn, slow consumer: every event arrived");
	is_u64(atomic_load(&no_ring), 0, "no thread went without a ring");
	ok(rings <= rings_before + 16 + 4 + 2,
	   "1000 threads, 4 at a time: %zu rings (%zu before; at most 16 more than live threads)",
	   rings, rings_before);

	/* Now nothing drains: past 16 undrained rings a thread waits once,
	 * then the collector counts as stuck and new threads go without. */
	hc_config.wait_ns = 20000000ull;
	churn(1, 200);
	uint64_t f[HC_RING_FAIL_CAUSES];
	hc_thread_ring_failures(f);
	size_t stuck_rings = count_rings(&owned);
	ok(stuck_rings <= rings + 16,
	   "churn, stuck consumer: %zu rings after 200 threads (%zu before)", stuck_rings, rings);
	/* Nothing was recycled: each thread that got a ring got its own. */
	ok(200 - f[HC_RING_FAIL_STUCK] <= stuck_rings &&
		   atomic_load(&no_ring) == f[HC_RING_FAIL_STUCK] * SHORT_EVENTS,
	   "the others got no ring, counted as 'collector stuck' (%llu threads, %llu events)",
	   (unsigned long long)f[HC_RING_FAIL_STUCK], (unsigned long long)atomic_load(&no_ring));
	is_u64(f[HC_RING_FAIL_NOMEM] + f[HC_RING_FAIL_LIMIT], 0, "and no other cause");

	/* Once it drains again, threads get rings again. */
	drain_counted();
	atomic_store(&no_ring, 0);
	churn(1, 5);
	is_u64(atomic_load(&no_ring), 0, "after the consumer moves, new threads get rings again");
	drain_counted();
}

int main(void)
{
	hc_config.ring_bytes = 64u << 10; /* small: wraps often, fills up */
	hc_config.wait_ns = 60000000000ull;
	ok(hc_thread_init() == 0, "thread key created");
	atomic_store(&producers_left, PRODUCERS);
	pthread_t t[PRODUCERS];
	for (int i = 0; i < PRODUCERS; i++)
		pthread_create(&t[i], NULL, spawner, NULL);
	uint64_t corrupt = 0;
	while (atomic_load(&producers_left) > 0)
		drain_all(&corrupt);
	for (int i = 0; i < PRODUCERS; i++)
		pthread_join(t[i], NULL);
	while (drain_all(&corrupt))
		;
	drain_all(&corrupt); /* recycles rings that died empty */

	uint64_t total = (uint64_t)PRODUCERS * EVENTS +
			 (uint64_t)(SHORT_THREADS / PRODUCERS) * PRODUCERS * SHORT_EVENTS;
	uint64_t lost = 0, waits = 0;
	size_t rings = 0, free_rings = 0;
	for (struct hc_ring *r = atomic_load(&hc_rings); r; r = r->next) {
		lost += atomic_load(&r->lost);
		waits += atomic_load(&r->waits);
		rings++;
		free_rings += atomic_load(&r->state) == HC_RING_FREE;
	}
	is_int(received, total, "every event arrived once");
	is_int(bad, 0, "in its thread's order, whole");
	is_int(corrupt, 0, "no malformed event in any ring");
	is_int(lost, 0, "none dropped");
	ok(merge.drains > 100 && !merge_order_bad,
	   "%llu merged drains, each in stamp order across rings",
	   (unsigned long long)merge.drains);
	diag("%llu events, %zu rings for %d threads, %llu waits for room",
	     (unsigned long long)received, rings, PRODUCERS * (1 + SHORT_THREADS / PRODUCERS),
	     (unsigned long long)waits);
	ok(rings < 64, "rings of ended threads were recycled (%zu rings)", rings);
	is_int(free_rings, rings, "every ring is free once its thread ended and it drained");

	stuck_consumer();
	bounded_churn(rings);
	return done_testing();
}
