/* The hash of the analyzer's open-addressing tables over integer keys
 * (addresses, ids, frames): murmur3's 64-bit finalizer, so that every bit
 * of a key reaches the low bits a table masks. */
#ifndef HC_HASH_H
#define HC_HASH_H

#include <stdint.h>

static inline uint64_t hc_mix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ull;
	return k ^ (k >> 33);
}

#endif
