/* Sampled mode's set of live sampled blocks. With --sample, most blocks are
 * never recorded, so most frees must not be either: a free is sent to the
 * collector only when its block is in this set. A lock-free table of
 * addresses in hc_map memory: buckets of one cache line (7 addresses and a
 * spill mark), two for each address (two parts of its hash). An insert
 * takes the first empty slot of its first bucket, else (marking the first
 * as spilled) of its second; a lookup reads the first bucket, and the
 * second only if the first ever spilled; a removal empties its slot.
 * Nothing is left behind: in a table probed in sequence (until 2026-12) a
 * removed entry stayed as a tombstone, and after some 100 000 samples
 * (minutes of a busy service) a lookup of an address that was not sampled
 * read all of its 64 probes: 4.6 ns became 39 (bench/sampledset.c, 2 000
 * live sampled blocks); here 6-10 ns throughout. Entries never move, so a
 * lookup needs no retry. Taken out before the real free, so that a reused
 * address cannot be confused with the old block. If an insert finds both
 * of its buckets full the table is marked overflowed and from then on
 * every free is sent (exact again, just slower): nothing is lost. Random
 * addresses overflow it at some 34 700 live sampled blocks (17 GB of live
 * heap at 512 KiB; the table probed in sequence, at 12 400).
 *
 * Almost every free is of a block that was not sampled, so a free first
 * reads a counter of the live sampled blocks whose address hashes to its
 * counter: zero answers at once. A counter is raised before its block
 * enters the table and lowered after it left, so it never reads zero while
 * the block is there; the program's own hand-off of a pointer orders its
 * malloc before its free. The counters are bytes, 16 KiB in all: a free
 * whose counter is not zero goes through the C hook and the table, and the
 * share of such frees is the share of counters in use, about one per live
 * sampled block, of which there is one per 512 KiB of live heap. With 1 KiB
 * (until 2026-12) a program holding 1.1 GB ran 1.275x its bare run's time
 * a pair at --sample 512K, with 4 KiB 1.067x, with 16 KiB 1.051x (churn of
 * 2 million live blocks, 5 rounds, pinned); churn of 4 096 live blocks ran
 * the same with each size. A counter that reaches 255 stays there (its
 * bucket is always probed: slower, never wrong). On overflow every counter
 * is set to 255, so every free reaches the slow path, which answers 1.
 */
#include "internal.h"
#include "mem.h"

#define BUCKET_BITS 14 /* 16 384 buckets of a cache line: 1 MiB */
#define BUCKET_SLOTS 8   /* 7 addresses, then the spill word */
#define SPILL (BUCKET_SLOTS - 1)
#define NSLOTS ((size_t)BUCKET_SLOTS << BUCKET_BITS)
#define COUNT_BITS HC_SAMPLED_COUNT_BITS /* 16 384 counters of a byte */
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
	slots = hc_map(sizeof(uint64_t) * NSLOTS);
	if (!slots) {
		hc_unmap((void *)c, sizeof(uint8_t) << COUNT_BITS);
		return -1;
	}
	counts = c;
	atomic_store_explicit(&hc_sampled_counts, c, memory_order_release);
	return 0;
}

/* p's two buckets, as indexes of their first slots: two parts of its hash
 * (the top bits also pick its counter), never the same bucket. */
static inline void buckets(uint64_t p, size_t b[2])
{
	uint64_t h = hc_sampled_hash(p), mask = ((uint64_t)1 << BUCKET_BITS) - 1;
	uint64_t b0 = h >> (64 - BUCKET_BITS), b1 = (h >> (64 - 2 * BUCKET_BITS)) & mask;
	if (b1 == b0)
		b1 ^= 1;
	b[0] = (size_t)b0 * BUCKET_SLOTS;
	b[1] = (size_t)b1 * BUCKET_SLOTS;
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

/* Puts p in an empty address slot of the bucket at b; 0 if it is full. */
static int put(size_t b, uint64_t p)
{
	for (size_t j = b; j < b + SPILL; j++) {
		uint64_t empty = 0;
		if (atomic_load_explicit(&slots[j], memory_order_relaxed) == 0 &&
		    atomic_compare_exchange_strong_explicit(&slots[j], &empty, p,
							    memory_order_release,
							    memory_order_relaxed))
			return 1;
	}
	return 0;
}

void hc_sampled_add(void *ptr)
{
	uint64_t p = (uint64_t)ptr;
	if (!slots || atomic_load_explicit(&overflowed, memory_order_relaxed))
		return;
	count_add(count_of(p), 1);
	size_t b[2];
	buckets(p, b);
	if (put(b[0], p))
		return;
	/* Marked before the insert, and never cleared: a lookup that finds
	 * the mark unset knows the second bucket holds none of the first's. */
	atomic_store_explicit(&slots[b[0] + SPILL], 1, memory_order_release);
	if (!put(b[1], p))
		overflow();
}

/* Takes p out of the bucket at b: 1 if it was there. */
static int take(size_t b, uint64_t p, _Atomic uint8_t *count)
{
	for (size_t j = b; j < b + SPILL; j++) {
		uint64_t cur = atomic_load_explicit(&slots[j], memory_order_acquire);
		if (cur != p)
			continue;
		/* a double free of the same block races here; one wins */
		if (!atomic_compare_exchange_strong_explicit(&slots[j], &cur, 0,
							     memory_order_relaxed,
							     memory_order_relaxed))
			return 0;
		count_add(count, -1);
		return 1;
	}
	return 0;
}

int hc_sampled_take_slow(void *ptr)
{
	uint64_t p = (uint64_t)ptr;
	if (!slots || atomic_load_explicit(&overflowed, memory_order_relaxed))
		return 1; /* overflowed: every free goes to the collector */
	_Atomic uint8_t *count = count_of(p);
	if (likely(atomic_load_explicit(count, memory_order_acquire) == 0))
		return 0; /* no sampled block lives in this bucket */
	size_t b[2];
	buckets(p, b);
	if (take(b[0], p, count))
		return 1;
	return atomic_load_explicit(&slots[b[0] + SPILL], memory_order_acquire) &&
	       take(b[1], p, count);
}

void hc_sampled_reset(void)
{
	/* Fork child: the parent's sampled blocks are not the child's trace.
	 * The child has one thread, this one. Dropped, not written: writing
	 * the table's 1 MiB took 1.25 ms and 130 page faults a fork. */
	if (slots) {
		hc_map_zero((void *)slots, sizeof(uint64_t) * NSLOTS);
		hc_map_zero((void *)counts, sizeof(uint8_t) << COUNT_BITS);
	}
	atomic_store(&overflowed, 0);
}
