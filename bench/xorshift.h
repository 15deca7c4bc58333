/* The benchmarks' random numbers: Marsaglia's xorshift64, one state each
 * (never 0). */
#ifndef HC_BENCH_XORSHIFT_H
#define HC_BENCH_XORSHIFT_H

#include <stdint.h>

static inline uint64_t xorshift64(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

#endif
