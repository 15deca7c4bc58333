/* Sampled mode's set of live sampled blocks (preload/sampled.c), under
 * ThreadSanitizer: a block added is taken exactly once, by whichever thread
 * frees it; a block never added is never taken (the per-bucket counters
 * answer most of those at once); a full table degrades to "take every
 * free", never to a lost one.
 */
#include <pthread.h>
#include <stdlib.h>

#include "internal.h"
#include "tap.h"

/* hc_config is the shim's; sampled.c reads nothing of it, but internal.h
 * declares it. */
struct hc_config hc_config;

/* Distinct, 16-byte aligned fake addresses, never dereferenced. */
static void *addr(uint64_t thread, uint64_t i)
{
	return (void *)(uintptr_t)(0x7f0000000000ull + (thread << 32) + i * 48);
}

/* A hand-off queue: producers add their blocks to the set, then pass
 * them on; consumers take them, as a free in another thread would. */
#define QUEUE 4096
static void *queue[QUEUE];
static size_t qhead, qtail;
static int producers_left;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long taken_ok, taken_bad, strays_taken;

#define PER_PRODUCER 20000

static void *producer(void *arg)
{
	uint64_t me = (uint64_t)(uintptr_t)arg;
	for (uint64_t i = 0; i < PER_PRODUCER; i++) {
		void *p = addr(me, i);
		hc_sampled_add(p);
		pthread_mutex_lock(&lock);
		while (qtail - qhead == QUEUE)
			pthread_cond_wait(&cond, &lock);
		queue[qtail++ % QUEUE] = p;
		pthread_cond_broadcast(&cond);
		pthread_mutex_unlock(&lock);
	}
	pthread_mutex_lock(&lock);
	producers_left--;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static void *consumer(void *arg)
{
	uint64_t me = (uint64_t)(uintptr_t)arg;
	long ok_n = 0, bad = 0, strays = 0;
	for (uint64_t i = 0;; i++) {
		pthread_mutex_lock(&lock);
		while (qtail == qhead && producers_left)
			pthread_cond_wait(&cond, &lock);
		if (qtail == qhead) {
			pthread_mutex_unlock(&lock);
			break;
		}
		void *p = queue[qhead++ % QUEUE];
		pthread_cond_broadcast(&cond);
		pthread_mutex_unlock(&lock);
		if (hc_sampled_take(p))
			ok_n++;
		else
			bad++;
		/* a free of a block that was never sampled */
		strays += hc_sampled_take(addr(100 + me, i));
	}
	pthread_mutex_lock(&lock);
	taken_ok += ok_n;
	taken_bad += bad;
	strays_taken += strays;
	pthread_mutex_unlock(&lock);
	return NULL;
}

int main(void)
{
	ok(hc_sampled_init() == 0, "the set is mapped");
	ok(!hc_sampled_take(addr(0, 1)), "a block never added is not taken");

	/* One thread: add, take once, not twice. */
	int first = 1, second = 0;
	for (uint64_t i = 0; i < 2000; i++)
		hc_sampled_add(addr(1, i));
	for (uint64_t i = 0; i < 2000; i++) {
		first &= hc_sampled_take(addr(1, i));
		second |= hc_sampled_take(addr(1, i));
	}
	ok(first, "2000 blocks added, each taken");
	ok(!second, "and none taken twice");
	int stray = 0;
	for (uint64_t i = 0; i < 100000; i++)
		stray |= hc_sampled_take(addr(2, i));
	ok(!stray, "100000 blocks never added: none taken");

	/* A long run: live blocks replaced a million times. With a probe
	 * sequence, the removed ones left tombstones behind; here nothing is
	 * left, so the table holds as many live blocks at the end as at the
	 * start. 20 000 live sampled blocks: 10 GB of live heap at 512 KiB. */
	enum { LIVE = 20000 };
	static void *live[LIVE];
	uint64_t seq = 0;
/* distinct (an odd multiplier is a bijection mod 2^24), and scattered */
#define SCATTERED(n) addr(7, ((n) * 0x5851f42dull) & 0xffffff)
	for (int i = 0; i < LIVE; i++)
		hc_sampled_add(live[i] = SCATTERED(seq++));
	int found = 1;
	for (uint64_t r = 0; r < 1000000; r++) {
		size_t k = (size_t)((r * 0x9e3779b97f4a7c15ull) >> 40) % LIVE;
		found &= hc_sampled_take(live[k]);
		hc_sampled_add(live[k] = SCATTERED(seq++));
	}
	ok(found, "%d live blocks replaced a million times: each found when freed", LIVE);
	stray = 0;
	for (uint64_t i = 0; i < 100000; i++)
		stray |= hc_sampled_take(addr(8, i));
	ok(!stray, "  and the table never overflowed: no block never added is taken");
	for (int i = 0; i < LIVE; i++)
		found &= hc_sampled_take(live[i]);
	ok(found, "  and the last %d are all there", LIVE);

	/* Two producers hand blocks to two consumers. */
	pthread_t t[4];
	producers_left = 2;
	for (uintptr_t i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, producer, (void *)(i + 3));
	for (uintptr_t i = 0; i < 2; i++)
		pthread_create(&t[2 + i], NULL, consumer, (void *)i);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	is_int((int)taken_ok, 2 * PER_PRODUCER, "every block handed to another thread is taken there");
	is_int((int)taken_bad, 0, "none missed");
	is_int((int)strays_taken, 0, "and no stray free taken");

	/* Overflow: more live blocks than the table holds. Every free is then
	 * taken (sent to the collector): slower, never a lost sampled free. */
	for (uint64_t i = 0; i < 120000; i++) /* the table has 114 688 address slots */
		hc_sampled_add(addr(5, i));
	int all = 1;
	for (uint64_t i = 0; i < 120000; i += 97)
		all &= hc_sampled_take(addr(5, i));
	ok(all, "past the table's capacity, every added block is still taken");
	ok(hc_sampled_take(addr(6, 1)), "and so is every other free");
	hc_sampled_reset();
	ok(!hc_sampled_take(addr(6, 1)), "a reset (fork child) starts afresh");
	hc_sampled_add(addr(6, 2));
	ok(hc_sampled_take(addr(6, 2)) && !hc_sampled_take(addr(6, 2)), "and works as before");
	return done_testing();
}
