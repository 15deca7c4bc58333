/* Sampled mode's set of live sampled blocks. With --sample, most blocks are
 * never recorded, so most frees must not be either: a free is sent to the
 * collector only when its block is in this set. A lock-free open-addressing
 * table of addresses (linear probing; a removed entry becomes a tombstone
 * that later inserts reuse), in hc_map memory, taken out before the real
 * free so that a reused address cannot be confused with the old block.
 * If an insert cannot find a slot within its probe limit the table is
 * marked overflowed and from then on every free is sent (exact again, just
 * slower): nothing is lost.
 *
 * Almost every free is of a block that was not sampled, and tombstones make
 * probe runs long, so a free first reads a counter of the live sampled
 * blocks whose address hashes to its bucket: zero (nearly always) answers
 * at once. A counter is raised before its block enters the table and
 * lowered after it left, so it never reads zero while the block is there;
 * the program's own hand-off of a pointer orders its malloc before its free.
 * The counters are bytes, 1 KiB in all, so that they stay in the L1 cache
 * of a program that churns through megabytes; a counter that reaches 255
 * stays there (its bucket is always probed: slower, never wrong). On
 * overflow every counter is set to 255, so every free reaches the slow
 * path, which answers 1.
 */
#include "internal.h"
#include "mem.h"

#define BITS 14                 /* 16 384 slots, 128 KiB: stays in cache */
#define PROBES 64
#define TOMB ((uint64_t)1)
#define COUNT_BITS HC_SAMPLED_COUNT_BITS /* 1 024 counters of a byte */
#define COUNT_MAX 255

static _Atomic uint64_t *slots;
static _Atomic uint8_t *counts;
_Atomic(_Atomic uint8_t *) hc_sampled_counts; /* counts, once slots are there too */
static _Atomic int overflowed;

int hc_sampled_init(void)
{
	if (slots)
		return 0;
	_Atomic uint8_t *c = hc_map(sizeof(uint8_t) << COUNT_BITS);
	if (!c)
		return -1;
	slots = hc_map(sizeof(uint64_t) << BITS);
	if (!slots) {
		hc_unmap((void *)c, sizeof(uint8_t) << COUNT_BITS);
		return -1;
	}
	counts = c;
	atomic_store_explicit(&hc_sampled_counts, c, memory_order_release);
	return 0;
}

static inline size_t home(uint64_t p)
{
	return (size_t)(hc_sampled_hash(p) >> (64 - BITS));
}

static inline _Atomic uint8_t *count_of(uint64_t p)
{
	return &counts[hc_sampled_bucket(p)];
}

static void overflow(void)
{
	atomic_store(&overflowed, 1);
	for (size_t j = 0; j < (1u << COUNT_BITS); j++)
		atomic_store_explicit(&counts[j], COUNT_MAX, memory_order_relaxed);
}

/* Adds d (+1 or -1) to a counter, unless it is saturated. */
static void count_add(_Atomic uint8_t *c, int d)
{
	uint8_t cur = atomic_load_explicit(c, memory_order_relaxed);
	while (cur != COUNT_MAX && !atomic_compare_exchange_weak_explicit(
					   c, &cur, (uint8_t)(cur + d), memory_order_relaxed,
					   memory_order_relaxed))
		;
}

void hc_sampled_add(void *ptr)
{
	uint64_t p = (uint64_t)ptr, mask = (1u << BITS) - 1;
	if (!slots || atomic_load_explicit(&overflowed, memory_order_relaxed))
		return;
	count_add(count_of(p), 1);
	for (size_t i = 0, j = home(p); i < PROBES; i++, j = (j + 1) & mask) {
		uint64_t cur = atomic_load_explicit(&slots[j], memory_order_relaxed);
		while (cur == 0 || cur == TOMB) {
			if (atomic_compare_exchange_weak_explicit(&slots[j], &cur, p,
								  memory_order_release,
								  memory_order_relaxed))
				return;
		}
	}
	overflow();
}

int hc_sampled_take_slow(void *ptr)
{
	uint64_t p = (uint64_t)ptr, mask = (1u << BITS) - 1;
	if (!slots || atomic_load_explicit(&overflowed, memory_order_relaxed))
		return 1; /* overflowed: every free goes to the collector */
	_Atomic uint8_t *count = count_of(p);
	if (likely(atomic_load_explicit(count, memory_order_acquire) == 0))
		return 0; /* no sampled block lives in this bucket */
	for (size_t i = 0, j = home(p); i < PROBES; i++, j = (j + 1) & mask) {
		uint64_t cur = atomic_load_explicit(&slots[j], memory_order_acquire);
		if (cur == 0)
			return 0; /* end of the probe run: not sampled */
		if (cur == p) {
			/* a double free of the same block races here; one wins */
			if (!atomic_compare_exchange_strong_explicit(&slots[j], &cur, TOMB,
								     memory_order_relaxed,
								     memory_order_relaxed))
				return 0;
			count_add(count, -1);
			return 1;
		}
	}
	return 0;
}

void hc_sampled_reset(void)
{
	/* Fork child: the parent's sampled blocks are not the child's trace. */
	if (slots) {
		for (size_t j = 0; j < (1u << BITS); j++)
			atomic_store_explicit(&slots[j], 0, memory_order_relaxed);
		for (size_t j = 0; j < (1u << COUNT_BITS); j++)
			atomic_store_explicit(&counts[j], 0, memory_order_relaxed);
	}
	atomic_store(&overflowed, 0);
}
