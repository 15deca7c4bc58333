/* Blocks held for known times, by one thread: the lifetimes the trace
 * shows must agree with them (tests/t0250-lifetimes.sh).
 * Each kind comes from a call site of its own and has a count of its own,
 * so that the test can find its site by the count:
 *   100003 pairs freed at once;
 *   2002 blocks held 5.5 µs (spinning on the clock), a pair freed at once
 *        before each, so that the hold starts within a burst;
 *   1003 blocks held 20 µs (spinning);
 *   404 blocks held while 200 pairs are made and freed (the bursts'
 *        shortest and longest time printed);
 *   205 blocks held across a 2 ms sleep.
 * Every hold is measured by the program from after malloc returned to
 * before free is called: the trace's lifetime of a block can only be
 * longer, but for what the stamps' error allows.
 * Prints "burst NS_MIN NS_MAX". */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void spin(uint64_t from, uint64_t ns)
{
	while (now() - from < ns)
		;
}

static void *volatile sink;

__attribute__((noinline)) static void *at_once(void)
{
	return malloc(24);
}

__attribute__((noinline)) static void *held_short(void)
{
	return malloc(40);
}

__attribute__((noinline)) static void *held_long(void)
{
	return malloc(56);
}

__attribute__((noinline)) static void *held_burst(void)
{
	return malloc(72);
}

__attribute__((noinline)) static void *held_sleep(void)
{
	return malloc(88);
}

static void pairs(int n)
{
	for (int i = 0; i < n; i++) {
		sink = at_once();
		free(sink);
	}
}

int main(void)
{
	/* the pairs before the short holds and in the bursts are at_once's
	 * too: 100003 in all */
	pairs(100003 - 2002 - 404 * 200);
	for (int i = 0; i < 2002; i++) {
		pairs(1);
		void *p = held_short();
		spin(now(), 5500);
		free(p);
	}
	for (int i = 0; i < 1003; i++) {
		void *p = held_long();
		spin(now(), 20000);
		free(p);
	}
	uint64_t lo = UINT64_MAX, hi = 0;
	for (int i = 0; i < 404; i++) {
		void *p = held_burst();
		uint64_t t = now();
		pairs(200);
		uint64_t d = now() - t;
		free(p);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
	}
	for (int i = 0; i < 205; i++) {
		void *p = held_sleep();
		struct timespec ts = {0, 2000000};
		nanosleep(&ts, NULL);
		free(p);
	}
	printf("burst %llu %llu\n", (unsigned long long)lo, (unsigned long long)hi);
	return 0;
}
