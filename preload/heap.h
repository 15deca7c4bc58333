/* The collector's model of the traced heap: live blocks by address, blocks
 * known to be freed whose free event has not arrived yet, per-site figures
 * and lifetime histograms. Pure bookkeeping (no rings, no files), owned by the
 * collector thread, unit-tested on its own (tests/unit/test-heap.c).
 *
 * Ordering. Events reach the collector ring by ring, so for one address the
 * events of different threads may arrive out of order. Two facts make the
 * accounting exact anyway:
 *  - timestamps: a free's is taken before the real free, an alloc's after the
 *    real allocator returned, so for one address the blocks' [alloc, free]
 *    intervals never overlap;
 *  - rounds: every event that happened before an event seen in drain round N
 *    was published before it, so it is seen by the end of round N+1.
 * So allocs are applied at once (an alloc at an address still live means the
 * older block was freed: it is retired), and frees one round late, matched to
 * the latest alloc at that address that precedes them; or at once, when the
 * collector's merge of the rings by stamp knows every alloc before them is
 * in (merge.c).
 */
#ifndef HC_HEAP_H
#define HC_HEAP_H

#include <stddef.h>
#include <stdint.h>

/* A block, 32 bytes: size and id take 48 bits each (a size at or above
 * 2^48 bytes, 256 TiB, is stored as 2^48 - 1; ids would take years to get
 * there), and the site's 32 bits ride in the top 16 bits of both. Read and
 * written through the functions below. */
struct hc_block {
	uint64_t ptr;       /* 0: empty slot */
	uint64_t ts;        /* alloc time */
	uint64_t size_site; /* size, then the site's low 16 bits */
	uint64_t id_site;   /* block id once promoted (written to the trace), else
			     * 0; then the site's high 16 bits */
};

#define HC_BLOCK_48 ((1ull << 48) - 1)

static inline struct hc_block hc_block_make(uint64_t ptr, uint64_t size, uint64_t ts,
					    uint32_t site)
{
	uint64_t s = size < HC_BLOCK_48 ? size : HC_BLOCK_48;
	return (struct hc_block){ptr, ts, s | (uint64_t)(site & 0xffff) << 48,
				 (uint64_t)(site >> 16) << 48};
}
static inline uint64_t hc_block_size(const struct hc_block *b)
{
	return b->size_site & HC_BLOCK_48;
}
static inline uint32_t hc_block_site(const struct hc_block *b)
{
	return (uint32_t)(b->size_site >> 48) | (uint32_t)(b->id_site >> 48) << 16;
}
static inline uint64_t hc_block_id(const struct hc_block *b)
{
	return b->id_site & HC_BLOCK_48;
}
static inline void hc_block_set_id(struct hc_block *b, uint64_t id)
{
	b->id_site = (b->id_site & ~HC_BLOCK_48) | (id & HC_BLOCK_48);
}

struct hc_table {
	void *slots;
	size_t cap; /* a power of two, or 0 */
	size_t len;
	size_t esize;
	unsigned shift; /* 64 - log2(cap): a key's home is its hash >> shift */
};

struct hc_site {
	uint64_t hash;
	int64_t live_bytes, live_blocks;
	uint64_t peak;
	/* since the site's last snapshot entry */
	uint64_t allocs, frees, bytes_alloc;
	uint32_t hist;   /* 1 + index into the histogram pool; 0: none yet */
	uint32_t dirty;
};

struct hc_pending_free {
	uint64_t ptr, ts, size;
};

struct hc_heap {
	struct hc_table live;      /* struct hc_block by address */
	struct hc_table retired;   /* per address, a list of freed blocks (heap.c) */
	struct hc_rnode *rnodes;
	size_t rnodes_cap, rnodes_len, nretired;
	uint32_t rfree;
	struct hc_stack_slot *stacks;
	size_t stacks_cap, stacks_len;
	struct hc_site *sites;   /* index = stack id; 0 is "stack unknown" */
	size_t sites_cap, nsites;
	uint32_t *dirty;
	size_t dirty_cap, ndirty;
	uint32_t (*hist)[64];
	size_t hist_cap, nhist;
	struct hc_pending_free *frees[2];
	size_t frees_len[2], frees_cap[2];
	int cur;
	uint64_t last_hash;      /* the stack of the last site looked up (hc_heap_site) */
	uint32_t last_site;
	uint64_t sample_bytes;   /* 0: exact; else sampled blocks are weighted */
	double ns_per_stamp;     /* event stamps to ns, for lifetimes */
	/* totals */
	int64_t live_bytes, live_blocks;
	uint64_t peak_bytes, total_allocs, total_frees, total_bytes;
	uint64_t unknown_frees, unknown_free_bytes, dropped, last_block_id;
	/* No unpromoted live block is older than this (UINT64_MAX: none is
	 * live): a promotion whose cutoff is below it has nothing to do, and
	 * does not read the whole table (its untouched pages would each be a
	 * page fault). */
	uint64_t unpromoted_floor;
	/* called when a promoted block is freed, to write its FREE record */
	void (*on_free)(void *ctx, uint64_t id, uint64_t ts);
	void *ctx;
};

int hc_heap_init(struct hc_heap *h, uint64_t sample_bytes);
void hc_heap_release(struct hc_heap *h);

/* Stack hash → site id (dense, from 1). Sets *created for a new one.
 * Returns 0 if the table cannot grow. */
uint32_t hc_heap_intern(struct hc_heap *h, uint64_t hash, int *created);
/* Site id of a known hash, 0 if unknown. */
uint32_t hc_heap_lookup(const struct hc_heap *h, uint64_t hash);
/* The same, remembering the last site found: allocations come in runs from
 * one site (a hash's id never changes). */
static inline uint32_t hc_heap_site(struct hc_heap *h, uint64_t hash)
{
	if (hash == h->last_hash && h->last_site)
		return h->last_site;
	uint32_t id = hc_heap_lookup(h, hash);
	if (id) {
		h->last_hash = hash;
		h->last_site = id;
	}
	return id;
}

void hc_heap_alloc(struct hc_heap *h, uint64_t ptr, uint64_t size, uint64_t ts, uint32_t site);
/* hc_heap_free (now: hc_heap_free_now) of a block whose size the hook could
 * tell (0: it could not): a free of a block the model never saw adds its
 * size to unknown_free_bytes. */
void hc_heap_free_sized(struct hc_heap *h, uint64_t ptr, uint64_t ts, uint64_t size, int now);
void hc_heap_free(struct hc_heap *h, uint64_t ptr, uint64_t ts);
/* A free applied at once: only when every allocation that precedes it has
 * been applied (the collector's merge says when, merge.c). */
void hc_heap_free_now(struct hc_heap *h, uint64_t ptr, uint64_t ts);
/* End of a drain round: applies the frees seen in the round before. */
void hc_heap_round(struct hc_heap *h);
/* Applies every pending free (at the end, once all rings are drained). */
void hc_heap_settle(struct hc_heap *h);

/* Promotes every unpromoted live block allocated at or before cutoff: gives
 * it a block id and calls emit for it. */
void hc_heap_promote(struct hc_heap *h, uint64_t cutoff,
		     void (*emit)(void *ctx, const struct hc_block *b), void *ctx);

/* Calls emit for each site that changed since the last call, with its
 * lifetime histogram delta (NULL if no block of it was freed), then clears
 * the deltas. */
void hc_heap_flush_sites(struct hc_heap *h,
			 void (*emit)(void *ctx, uint32_t id, const struct hc_site *s,
				      const uint32_t *hist),
			 void *ctx);

/* Bytes of bookkeeping per live block, for the README's claim. */
size_t hc_heap_bytes(const struct hc_heap *h);

#endif
