/* Shared by the workload generators (shapes.c, families.c): randomness
 * (splitmix64, reproducible from a seed alone), the timing wheel that frees
 * short-lived blocks a few ticks after their allocation, and the tick's
 * sleep. Header-only:
 * each program is one file; everything here is static and lives outside
 * the traced heap. */
#ifndef HC_TEST_GEN_H
#define HC_TEST_GEN_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

struct rng {
	uint64_t s;
};

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* in [0, n); 0 when n is 0 */
static inline uint64_t rng_below(struct rng *r, uint64_t n) { return n ? rng_next(r) % n : 0; }
static inline double rng_unit(struct rng *r) { return (double)(rng_next(r) >> 11) * 0x1p-53; }
static inline double rng_range(struct rng *r, double lo, double hi)
{
	return lo + (hi - lo) * rng_unit(r);
}

/* The wheel: WHEEL_SLOTS ticks ahead at most; a full slot (never at the
 * rates the programs use) frees at once instead. */
#define WHEEL_SLOTS 16
#ifndef WHEEL_CAP
#define WHEEL_CAP 1024
#endif
static void *wheel[WHEEL_SLOTS][WHEEL_CAP];
static unsigned wheel_n[WHEEL_SLOTS], wheel_now;

static inline void wheel_put(void *p, unsigned ticks)
{
	unsigned s = (wheel_now + ticks) % WHEEL_SLOTS;
	if (wheel_n[s] == WHEEL_CAP)
		free(p);
	else
		wheel[s][wheel_n[s]++] = p;
}

/* the next tick: frees what was due */
static inline void wheel_advance(void)
{
	unsigned s = ++wheel_now % WHEEL_SLOTS;
	for (unsigned i = 0; i < wheel_n[s]; i++)
		free(wheel[s][i]);
	wheel_n[s] = 0;
}

/* Sleeps to the next tick's deadline, tick_ns after *next (absolute
 * deadlines keep the tick rate); after a long stall (a loaded machine) it
 * starts afresh rather than catch up. */
static inline void tick_wait(struct timespec *next, long tick_ns)
{
	next->tv_nsec += tick_ns;
	if (next->tv_nsec >= 1000000000L) {
		next->tv_nsec -= 1000000000L;
		next->tv_sec++;
	}
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if ((now.tv_sec - next->tv_sec) * 1000000000L + now.tv_nsec - next->tv_nsec > 10 * tick_ns)
		*next = now;
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, next, NULL) == EINTR)
		;
}

#endif
