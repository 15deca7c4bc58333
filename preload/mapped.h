/* The collector's live anonymous mappings, by address range: turns the
 * mmap, munmap and mremap events (hooks_mmap.c) into blocks of the heap
 * model (heap.h), one block per mapping, sized in whole pages.
 *
 * A munmap may cover any part of any mappings. What it covers of a mapping
 * ends; what is left of it (a head, a tail, or both around a hole) lives on
 * as new blocks of the same site, their age counted from the unmap. An
 * unmap of memory no mapping here holds (a file mapping, one made before
 * tracing, by the allocator or not sampled) is nothing: no unknown free. An
 * mremap of a traced mapping is its realloc: the old range ends, the new
 * one is a block of the mremap's stack; of any other range, nothing. A new
 * mapping over live ones (MAP_FIXED, or an unmap still on its way) ends
 * what it covers.
 *
 * Ordering follows the heap's (heap.h): an unmap or remap is applied at
 * once when the merge says every event before it is in, else a round
 * later; once one waits, every call after it waits too (a remap's new
 * mapping must exist before its unmap comes), and waiting calls are
 * applied in stamp order. An unmap ends only mappings made before it.
 */
#ifndef HC_MAPPED_H
#define HC_MAPPED_H

#include <stddef.h>
#include <stdint.h>

#include "heap.h"

struct hc_mapping {
	uint64_t lo, hi; /* [lo, hi), whole pages */
	uint64_t ts;     /* its block's stamp: when mapped, or when cut to this */
	uint64_t born;   /* when the mapping it is (part of) was made: an unmap
			  * stamped before it never touches it */
	uint32_t site;
};

/* A call waiting for the next round: a map (lo, hi at ts), an unmap (lo,
 * hi at ts_free) or a remap (both). */
struct hc_map_op {
	uint64_t key;              /* the stamp it is ordered by */
	uint64_t ts_free, lo, hi;  /* what it unmaps (hi 0: nothing) */
	uint64_t ts, new_lo, new_hi; /* what it maps (new_hi 0: nothing) */
	uint32_t site;
};

struct hc_mapped {
	struct hc_mapping *v;    /* sorted by lo, disjoint */
	size_t len, cap;
	struct hc_map_op *ops[2];
	size_t ops_len[2], ops_cap[2];
	int cur;
	uint64_t page;
	uint64_t live;           /* bytes of the ranges */
};

void hc_mapped_init(struct hc_mapped *m, uint64_t page);
void hc_mapped_release(struct hc_mapped *m);

void hc_mapped_map(struct hc_mapped *m, struct hc_heap *h, uint64_t p, uint64_t len,
		   uint64_t ts, uint32_t site);
/* now: the merge's word (heap.h, hc_heap_free_now). */
void hc_mapped_unmap(struct hc_mapped *m, struct hc_heap *h, uint64_t p, uint64_t len,
		     uint64_t ts, int now);
void hc_mapped_remap(struct hc_mapped *m, struct hc_heap *h, uint64_t old, uint64_t old_len,
		     uint64_t p, uint64_t len, uint64_t ts_free, uint64_t ts, uint32_t site,
		     int now);
/* End of a drain round (after hc_heap_round): applies the unmaps and
 * remaps of the round before. */
void hc_mapped_round(struct hc_mapped *m, struct hc_heap *h);
/* Applies every waiting one (at the end, once all rings are drained). */
void hc_mapped_settle(struct hc_mapped *m, struct hc_heap *h);

/* Live mappings and their bytes (for tests and the shim's own figures). */
size_t hc_mapped_count(const struct hc_mapped *m);
uint64_t hc_mapped_live_bytes(const struct hc_mapped *m);

#endif
