/* Sampled mode's set of live sampled blocks. With --sample, most blocks are
 * never recorded, so most frees must not be either: a free is sent to the
 * collector only when its block is in this set. A lock-free open-addressing
 * table of addresses (linear probing; a removed entry becomes a tombstone
 * that later inserts reuse), in hc_map memory, taken out before the real
 * free so that a reused address cannot be confused with the old block.
 * If an insert cannot find a slot within its probe limit the table is
 * marked overflowed and from then on every free is sent (exact again, just
 * slower): nothing is lost.
 */
#include "internal.h"
#include "mem.h"

#define BITS 14                 /* 16 384 slots, 128 KiB: stays in cache */
#define PROBES 64
#define TOMB ((uint64_t)1)

static _Atomic uint64_t *slots;
static _Atomic int overflowed;

int hc_sampled_init(void)
{
	if (slots)
		return 0;
	slots = hc_map(sizeof(uint64_t) << BITS);
	return slots ? 0 : -1;
}

static inline size_t home(uint64_t p)
{
	return (size_t)((p >> 4) * 0x9e3779b97f4a7c15ull >> (64 - BITS));
}

void hc_sampled_add(void *ptr)
{
	uint64_t p = (uint64_t)ptr, mask = (1u << BITS) - 1;
	if (!slots || atomic_load_explicit(&overflowed, memory_order_relaxed))
		return;
	for (size_t i = 0, j = home(p); i < PROBES; i++, j = (j + 1) & mask) {
		uint64_t cur = atomic_load_explicit(&slots[j], memory_order_relaxed);
		while (cur == 0 || cur == TOMB) {
			if (atomic_compare_exchange_weak_explicit(&slots[j], &cur, p,
								  memory_order_release,
								  memory_order_relaxed))
				return;
		}
	}
	atomic_store(&overflowed, 1);
}

int hc_sampled_take(void *ptr)
{
	uint64_t p = (uint64_t)ptr, mask = (1u << BITS) - 1;
	if (!slots || atomic_load_explicit(&overflowed, memory_order_relaxed))
		return 1; /* overflowed: every free goes to the collector */
	for (size_t i = 0, j = home(p); i < PROBES; i++, j = (j + 1) & mask) {
		uint64_t cur = atomic_load_explicit(&slots[j], memory_order_acquire);
		if (cur == 0)
			return 0; /* end of the probe run: not sampled */
		if (cur == p) {
			/* a double free of the same block races here; one wins */
			return atomic_compare_exchange_strong_explicit(
				&slots[j], &cur, TOMB, memory_order_relaxed, memory_order_relaxed);
		}
	}
	return 0;
}

void hc_sampled_reset(void)
{
	/* Fork child: the parent's sampled blocks are not the child's trace. */
	if (slots)
		for (size_t j = 0; j < (1u << BITS); j++)
			atomic_store_explicit(&slots[j], 0, memory_order_relaxed);
	atomic_store(&overflowed, 0);
}
