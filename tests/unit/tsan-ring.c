/* Stress test of the per-thread rings (preload/ring.c, thread.c), built with
 * ThreadSanitizer: producer threads, and threads that come and go so that
 * rings are recycled (DEAD → FREE → OWNED), push variable-size events into
 * small rings that wrap and fill (back-pressure), while one consumer drains
 * them with hc_ring_drain as the collector does. Every event must arrive
 * once, whole, in its thread's order, with none dropped; TSan must report no
 * race (it makes the test fail).
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
static _Atomic int producers_left;
static uint64_t expect_seq[MAX_IDS];  /* consumer only */
static uint64_t received, bad;

static uint64_t pattern(uint64_t id, uint64_t seq, unsigned i)
{
	return (id * 0x9e3779b97f4a7c15ull) ^ (seq << 8) ^ i;
}

static void push(uint64_t id, uint64_t seq)
{
	struct hc_ring *r = hc_thread_ring();
	unsigned words = 3 + (unsigned)((id * 7 + seq * 13) % 38); /* up to 40 words */
	uint64_t *e = hc_ring_reserve(r, words);
	if (!e)
		return; /* counted in r->lost; the test checks it stays 0 */
	e[0] = HC_EV_HDR(HC_EV_ALLOC, words, 0);
	e[1] = id;
	e[2] = seq;
	for (unsigned i = 3; i < words; i++)
		e[i] = pattern(id, seq, i);
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
	for (unsigned i = 3; i < words; i++)
		if (e[i] != pattern(id, seq, i)) {
			bad++;
			return;
		}
	expect_seq[id]++;
}

static size_t drain_all(uint64_t *corrupt)
{
	size_t n = 0;
	for (struct hc_ring *r = atomic_load(&hc_rings); r; r = r->next)
		n += hc_ring_drain(r, check, NULL, corrupt);
	return n;
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
	diag("%llu events, %zu rings for %d threads, %llu waits for room",
	     (unsigned long long)received, rings, PRODUCERS * (1 + SHORT_THREADS / PRODUCERS),
	     (unsigned long long)waits);
	ok(rings < 64, "rings of ended threads were recycled (%zu rings)", rings);
	is_int(free_rings, rings, "every ring is free once its thread ended and it drained");
	return done_testing();
}
