/* The collector's model of the traced heap (see heap.h for the ordering
 * argument). Open-addressing tables with linear probing and backward-shift
 * deletion, all in hc_map memory; a table that cannot grow drops the event
 * and counts it (h->dropped), it never fails the program.
 * Bookkeeping per live block: 32 bytes at a load of at most 3/4 (3/8 in a
 * table of fewer than 2^16 slots).
 */
#include "heap.h"

#include <math.h>
#include <string.h>

#include "mem.h"

#define likely(x) __builtin_expect(!!(x), 1)

struct hc_stack_slot {
	uint64_t hash; /* 0: empty */
	uint32_t id;
	uint32_t spare;
};

/* Fibonacci hashing: addresses differ mostly in a few middle bits; the
 * high bits of their product with 2^64/phi depend on every key bit. */
static inline size_t hash_home(uint64_t key, unsigned shift)
{
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> shift);
}

static inline unsigned shift_of(size_t cap)
{
	return 64u - (unsigned)__builtin_ctzll(cap);
}

static inline size_t home(uint64_t key, size_t cap)
{
	return hash_home(key, shift_of(cap));
}

static int grow_array(void **p, size_t *cap, size_t elem, size_t need);

/* --- tables keyed by address ------------------------------------------ */

/* Open addressing over elements of t->esize bytes whose first field is the
 * uint64_t key (0: empty). Linear probing, backward-shift deletion. */
#define SLOT(t, i) ((uint64_t *)((char *)(t)->slots + (i) * (t)->esize))

static int table_grow(struct hc_table *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 4096;
	void *n = hc_map(ncap * t->esize);
	if (!n)
		return -1;
	struct hc_table nt = {n, ncap, t->len, t->esize, shift_of(ncap)};
	for (size_t i = 0; i < t->cap; i++) {
		uint64_t *e = SLOT(t, i);
		if (!*e)
			continue;
		size_t j = hash_home(*e, nt.shift);
		while (*SLOT(&nt, j))
			j = (j + 1) & (ncap - 1);
		memcpy(SLOT(&nt, j), e, t->esize);
	}
	hc_unmap(t->slots, t->cap * t->esize);
	*t = nt;
	return 0;
}

/* Room for one more element, growing the table if need be; -1 if it
 * cannot grow. The load stays at most 3/8 up to SMALL_SLOTS slots, 3/4
 * beyond. At a load of 1/2 a probe run and a deletion's backward shift are
 * twice as long as at 1/4, and each step is a branch taken by chance:
 * bench/model (4096 live blocks) took 51.5 ns a pair at 1/2 and 29.7 at
 * 1/4, the collector on churn 59 and 40. Only while the table is small
 * (2 MiB of 32-byte slots, 24 576 live blocks): a big table's pages cost
 * more than its probes (with the bound at 2^20 slots, the bench's Python
 * workload, some 300 000 live blocks, ran 10 % slower and 16.6 MB bigger). */
#define SMALL_SLOTS ((size_t)1 << 16)
static int table_room(struct hc_table *t)
{
	size_t room = t->cap < SMALL_SLOTS ? t->cap * 3 : t->cap * 6;
	return likely((t->len + 1) * 8 <= room) || !table_grow(t) ? 0 : -1;
}

static void *table_insert(struct hc_table *t, const void *elem)
{
	if (table_room(t))
		return NULL;
	size_t j = hash_home(*(const uint64_t *)elem, t->shift);
	while (*SLOT(t, j))
		j = (j + 1) & (t->cap - 1);
	memcpy(SLOT(t, j), elem, t->esize);
	t->len++;
	return SLOT(t, j);
}

/* The element with key, or the empty slot where it would go (*found 0).
 * A table always has an empty slot: it grows before passing 3/4 full, and
 * an insert that cannot grow it is refused. Inline, as table_find: a call
 * for each was 5 % of the model's time (bench/model: 53.6 -> 50.9 ns a
 * pair). */
static inline __attribute__((always_inline)) void *table_slot(const struct hc_table *t,
								uint64_t key, int *found)
{
	for (size_t j = hash_home(key, t->shift);; j = (j + 1) & (t->cap - 1)) {
		uint64_t *e = SLOT(t, j);
		if (*e == key || !*e) {
			*found = *e != 0;
			return e;
		}
	}
}

static inline __attribute__((always_inline)) void *table_find(const struct hc_table *t,
								uint64_t key)
{
	int found;
	void *e = t->len ? table_slot(t, key, &found) : NULL;
	return e && found ? e : NULL;
}

/* esize is the table's, passed as a constant (table_remove) so that the
 * slot index and the moves compile to multiplies and plain copies. */
static inline __attribute__((always_inline)) void table_remove_sized(struct hc_table *t,
								     void *elem, size_t esize)
{
#define AT(i) ((uint64_t *)((char *)t->slots + (i) * esize))
	size_t mask = t->cap - 1;
	size_t i = (size_t)((char *)elem - (char *)t->slots) / esize;
	*AT(i) = 0;
	t->len--;
	/* Backward shift: pull later entries of the probe run into the hole
	 * unless their home k lies cyclically in (i, j], that is, is nearer
	 * to j (going forward) than the hole is. */
	for (size_t j = (i + 1) & mask; *AT(j); j = (j + 1) & mask) {
		size_t k = hash_home(*AT(j), t->shift);
		if (((j - k) & mask) < ((j - i) & mask))
			continue;
		memcpy(AT(i), AT(j), esize);
		*AT(j) = 0;
		i = j;
	}
#undef AT
}
#define table_remove(t, elem) table_remove_sized(t, elem, sizeof(*(elem)))

/* --- retired blocks ------------------------------------------------------ */

/* Blocks known to be freed whose free event has not been applied yet (it is
 * deferred a round, or still in another thread's ring). Per address, a list
 * sorted by alloc time: a free takes the latest entry older than itself.
 * Frees come in time order, so in single-thread churn, where a drain round
 * may retire hundreds of reuses of one address, each is matched at the head
 * of its list in O(1). */
struct hc_rnode {
	struct hc_block b;
	uint32_t next; /* index + 1; 0: none */
	uint32_t spare;
};

struct hc_rlist {
	uint64_t ptr;
	uint32_t head, tail; /* node index + 1 */
};

static uint32_t node_new(struct hc_heap *h, const struct hc_block *b)
{
	uint32_t i;
	if (h->rfree) {
		i = h->rfree - 1;
		h->rfree = h->rnodes[i].next;
	} else {
		if (grow_array((void **)&h->rnodes, &h->rnodes_cap, sizeof(*h->rnodes),
			       h->rnodes_len + 1))
			return 0;
		i = (uint32_t)h->rnodes_len++;
	}
	h->rnodes[i].b = *b;
	h->rnodes[i].next = 0;
	return i + 1;
}

static void node_free(struct hc_heap *h, uint32_t n)
{
	h->rnodes[n - 1].next = h->rfree;
	h->rfree = n;
}

static int retire(struct hc_heap *h, const struct hc_block *b)
{
	uint32_t n = node_new(h, b);
	if (!n)
		return -1;
	struct hc_rlist *l = table_find(&h->retired, b->ptr);
	if (!l) {
		struct hc_rlist nl = {b->ptr, n, n};
		if (!table_insert(&h->retired, &nl)) {
			node_free(h, n);
			return -1;
		}
		h->nretired++;
		return 0;
	}
	struct hc_rnode *nodes = h->rnodes;
	if (nodes[l->tail - 1].b.ts <= b->ts) { /* the usual case: append */
		nodes[l->tail - 1].next = n;
		l->tail = n;
	} else if (b->ts < nodes[l->head - 1].b.ts) {
		nodes[n - 1].next = l->head;
		l->head = n;
	} else {
		uint32_t at = l->head;
		while (nodes[at - 1].next && nodes[nodes[at - 1].next - 1].b.ts <= b->ts)
			at = nodes[at - 1].next;
		nodes[n - 1].next = nodes[at - 1].next;
		nodes[at - 1].next = n;
	}
	h->nretired++;
	return 0;
}

/* Takes out the latest retired block at ptr allocated strictly before ts. */
static int take_retired(struct hc_heap *h, uint64_t ptr, uint64_t ts, struct hc_block *out)
{
	struct hc_rlist *l = table_find(&h->retired, ptr);
	if (!l || h->rnodes[l->head - 1].b.ts >= ts)
		return 0;
	struct hc_rnode *nodes = h->rnodes;
	uint32_t prev = 0, at = l->head;
	while (nodes[at - 1].next && nodes[nodes[at - 1].next - 1].b.ts < ts) {
		prev = at;
		at = nodes[at - 1].next;
	}
	*out = nodes[at - 1].b;
	uint32_t next = nodes[at - 1].next;
	if (prev)
		nodes[prev - 1].next = next;
	else
		l->head = next;
	if (l->tail == at)
		l->tail = prev;
	node_free(h, at);
	h->nretired--;
	if (!l->head)
		table_remove(&h->retired, l);
	return 1;
}

/* --- sites --------------------------------------------------------------- */

static int grow_array(void **p, size_t *cap, size_t elem, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 1024;
	while (ncap < need)
		ncap *= 2;
	void *n = hc_remap(*p, *cap * elem, ncap * elem);
	if (!n)
		return -1;
	*p = n;
	*cap = ncap;
	return 0;
}

static int stacks_grow(struct hc_heap *h)
{
	size_t ncap = h->stacks_cap ? h->stacks_cap * 2 : 4096;
	struct hc_stack_slot *n = hc_map(ncap * sizeof(*n));
	if (!n)
		return -1;
	for (size_t i = 0; i < h->stacks_cap; i++) {
		if (!h->stacks[i].hash)
			continue;
		size_t j = home(h->stacks[i].hash << 4, ncap);
		while (n[j].hash)
			j = (j + 1) & (ncap - 1);
		n[j] = h->stacks[i];
	}
	hc_unmap(h->stacks, h->stacks_cap * sizeof(*h->stacks));
	h->stacks = n;
	h->stacks_cap = ncap;
	return 0;
}

uint32_t hc_heap_lookup(const struct hc_heap *h, uint64_t hash)
{
	if (!h->stacks_len)
		return 0;
	for (size_t j = home(hash << 4, h->stacks_cap);; j = (j + 1) & (h->stacks_cap - 1)) {
		if (h->stacks[j].hash == hash)
			return h->stacks[j].id;
		if (!h->stacks[j].hash)
			return 0;
	}
}

uint32_t hc_heap_intern(struct hc_heap *h, uint64_t hash, int *created)
{
	*created = 0;
	uint32_t id = hc_heap_lookup(h, hash);
	if (id)
		return id;
	if ((h->stacks_len + 1) * 2 > h->stacks_cap && stacks_grow(h))
		return 0;
	if (grow_array((void **)&h->sites, &h->sites_cap, sizeof(*h->sites), h->nsites + 1))
		return 0;
	id = (uint32_t)h->nsites++;
	memset(&h->sites[id], 0, sizeof(h->sites[id]));
	h->sites[id].hash = hash;
	size_t j = home(hash << 4, h->stacks_cap);
	while (h->stacks[j].hash)
		j = (j + 1) & (h->stacks_cap - 1);
	h->stacks[j].hash = hash;
	h->stacks[j].id = id;
	h->stacks_len++;
	*created = 1;
	return id;
}

static void mark_dirty_slow(struct hc_heap *h, uint32_t site);

/* Most events touch a site already dirty this interval: inline that test. */
static inline void mark_dirty(struct hc_heap *h, uint32_t site)
{
	if (likely(h->sites[site].dirty))
		return;
	mark_dirty_slow(h, site);
}

static void mark_dirty_slow(struct hc_heap *h, uint32_t site)
{
	struct hc_site *s = &h->sites[site];
	if (grow_array((void **)&h->dirty, &h->dirty_cap, sizeof(*h->dirty), h->ndirty + 1)) {
		h->dropped++;
		return;
	}
	s->dirty = 1;
	h->dirty[h->ndirty++] = site;
}

/* In sampled mode a recorded block of size z stands for z / (1 - e^(-z/R))
 * bytes (the inverse of its chance to be sampled), i.e. that many bytes over
 * z blocks' worth of such blocks. Exact mode: itself. */
static void weigh_sampled(const struct hc_heap *h, uint64_t size, int64_t *bytes,
			  int64_t *blocks);

static inline void weigh(const struct hc_heap *h, uint64_t size, int64_t *bytes, int64_t *blocks)
{
	if (likely(!h->sample_bytes)) {
		*bytes = (int64_t)size;
		*blocks = 1;
		return;
	}
	weigh_sampled(h, size, bytes, blocks);
}

static void weigh_sampled(const struct hc_heap *h, uint64_t size, int64_t *bytes,
			  int64_t *blocks)
{
	double z = size ? (double)size : 1.0;
	double w = z / -expm1(-z / (double)h->sample_bytes);
	*bytes = llround(w);
	*blocks = llround(w / z);
	if (*blocks < 1)
		*blocks = 1;
}

static void account_alloc(struct hc_heap *h, uint32_t site, uint64_t size)
{
	int64_t bytes, blocks;
	weigh(h, size, &bytes, &blocks);
	struct hc_site *s = &h->sites[site];
	s->live_bytes += bytes;
	s->live_blocks += blocks;
	s->allocs += (uint64_t)blocks;
	s->bytes_alloc += (uint64_t)bytes;
	if (s->live_bytes > 0 && (uint64_t)s->live_bytes > s->peak)
		s->peak = (uint64_t)s->live_bytes;
	mark_dirty(h, site);
	h->live_bytes += bytes;
	h->live_blocks += blocks;
	h->total_allocs += (uint64_t)blocks;
	h->total_bytes += (uint64_t)bytes;
	if (h->live_bytes > 0 && (uint64_t)h->live_bytes > h->peak_bytes)
		h->peak_bytes = (uint64_t)h->live_bytes;
}

static void account_free(struct hc_heap *h, uint32_t site, uint64_t size)
{
	int64_t bytes, blocks;
	weigh(h, size, &bytes, &blocks);
	struct hc_site *s = &h->sites[site];
	s->live_bytes -= bytes;
	s->live_blocks -= blocks;
	s->frees += (uint64_t)blocks;
	mark_dirty(h, site);
	h->live_bytes -= bytes;
	h->live_blocks -= blocks;
	h->total_frees += (uint64_t)blocks;
}

static int hist_new(struct hc_heap *h, struct hc_site *s)
{
	if (grow_array((void **)&h->hist, &h->hist_cap, sizeof(*h->hist), h->nhist + 1))
		return -1;
	memset(h->hist[h->nhist], 0, sizeof(h->hist[0]));
	s->hist = (uint32_t)++h->nhist;
	return 0;
}

/* A block's free: its lifetime into its site's histogram, its FREE record
 * if it was promoted, and (live: it still counted as live, it was not
 * retired) its bytes off the live figures. One site lookup and one weight
 * for both: this runs for nearly every free. */
static inline __attribute__((always_inline)) void end_block(struct hc_heap *h,
							     const struct hc_block *b,
							     uint64_t ts_free, int live)
{
	/* Signed conversions: a lifetime of 2^63 stamps is decades, and the
	 * unsigned ones cost a branch each way. */
	int64_t life = ts_free > b->ts
			       ? (int64_t)((double)(int64_t)(ts_free - b->ts) * h->ns_per_stamp)
			       : 0;
	unsigned bucket = life > 0 ? 63u - (unsigned)__builtin_clzll((uint64_t)life) : 0u;
	uint32_t site = hc_block_site(b);
	struct hc_site *s = &h->sites[site];
	int64_t bytes, blocks;
	weigh(h, hc_block_size(b), &bytes, &blocks);
	if (live) {
		s->live_bytes -= bytes;
		s->live_blocks -= blocks;
		s->frees += (uint64_t)blocks;
		h->live_bytes -= bytes;
		h->live_blocks -= blocks;
		h->total_frees += (uint64_t)blocks;
	}
	if (likely(s->hist) || !hist_new(h, s))
		h->hist[s->hist - 1][bucket] += (uint32_t)blocks;
	else
		h->dropped++;
	mark_dirty(h, site);
	if (hc_block_id(b) && h->on_free)
		h->on_free(h->ctx, hc_block_id(b), ts_free);
}

static void record_lifetime(struct hc_heap *h, const struct hc_block *b, uint64_t ts_free)
{
	end_block(h, b, ts_free, 0);
}

/* --- events -------------------------------------------------------------- */

void hc_heap_alloc(struct hc_heap *h, uint64_t ptr, uint64_t size, uint64_t ts, uint32_t site)
{
	if (site >= h->nsites)
		site = 0;
	struct hc_block nb = hc_block_make(ptr, size, ts, site);
	size = hc_block_size(&nb); /* as its free will count it */
	if (ts < h->unpromoted_floor)
		h->unpromoted_floor = ts;
	struct hc_table *t = &h->live;
	struct hc_block *e;
	int found;
	account_alloc(h, site, size);
	if (!table_room(t)) {
		e = table_slot(t, ptr, &found); /* one probe for the lookup and the insert */
		if (!found) {
			*e = nb;
			t->len++;
			return;
		}
	} else if (!(e = table_find(t, ptr))) { /* full, and it cannot grow */
		h->dropped++;
		account_free(h, site, size);
		return;
	}
	/* The address is still live in our table, so one of the two blocks
	 * was freed before the other was allocated; its free event is on its
	 * way. Retire the older one: it no longer counts as live. */
	struct hc_block old = *e;
	if (old.ts <= ts)
		*e = nb;
	else
		old = nb;
	account_free(h, hc_block_site(&old), hc_block_size(&old));
	if (retire(h, &old))
		h->dropped++;
}

static void free_now(struct hc_heap *h, uint64_t ptr, uint64_t ts, uint64_t size)
{
	/* Retired blocks at an address are all older than its live block, so
	 * the live one, if older than the free, is the latest candidate. */
	struct hc_block *found = table_find(&h->live, ptr);
	struct hc_block *live = found && found->ts < ts ? found : NULL;
	struct hc_block old;
	if (!live && take_retired(h, ptr, ts, &old)) {
		record_lifetime(h, &old, ts);
		return;
	}
	/* Nothing strictly older: on a coarse clock a block can be freed in
	 * the tick it was allocated in. (A free of the previous block in the
	 * tick that block's successor was allocated in always finds that
	 * previous block above, live or retired.) */
	if (!live && found && found->ts == ts)
		live = found;
	if (!live && take_retired(h, ptr, ts + 1, &old)) {
		record_lifetime(h, &old, ts);
		return;
	}
	if (!live) {
		/* Allocated before tracing began (or not sampled). */
		if (!h->sample_bytes) {
			h->unknown_frees++;
			h->unknown_free_bytes += size;
		}
		return;
	}
	end_block(h, live, ts, 1);
	table_remove(&h->live, live);
}

void hc_heap_free_now(struct hc_heap *h, uint64_t ptr, uint64_t ts)
{
	free_now(h, ptr, ts, 0);
}

static void free_later(struct hc_heap *h, uint64_t ptr, uint64_t ts, uint64_t size)
{
	int c = h->cur;
	if (grow_array((void **)&h->frees[c], &h->frees_cap[c], sizeof(*h->frees[c]),
		       h->frees_len[c] + 1)) {
		h->dropped++;
		return;
	}
	h->frees[c][h->frees_len[c]++] = (struct hc_pending_free){ptr, ts, size};
}

void hc_heap_free(struct hc_heap *h, uint64_t ptr, uint64_t ts)
{
	free_later(h, ptr, ts, 0);
}

void hc_heap_free_sized(struct hc_heap *h, uint64_t ptr, uint64_t ts, uint64_t size, int now)
{
	if (now)
		free_now(h, ptr, ts, size);
	else
		free_later(h, ptr, ts, size);
}

static void apply_list(struct hc_heap *h, int which)
{
	for (size_t i = 0; i < h->frees_len[which]; i++)
		free_now(h, h->frees[which][i].ptr, h->frees[which][i].ts,
			 h->frees[which][i].size);
	h->frees_len[which] = 0;
}

void hc_heap_round(struct hc_heap *h)
{
	apply_list(h, h->cur ^ 1);
	h->cur ^= 1;
}

void hc_heap_settle(struct hc_heap *h)
{
	apply_list(h, h->cur ^ 1);
	apply_list(h, h->cur);
}

/* --- snapshots ----------------------------------------------------------- */

void hc_heap_promote(struct hc_heap *h, uint64_t cutoff,
		     void (*emit)(void *ctx, const struct hc_block *b), void *ctx)
{
	if (cutoff < h->unpromoted_floor)
		return;
	uint64_t floor = UINT64_MAX;
	struct hc_block *slots = h->live.slots;
	for (size_t i = 0; i < h->live.cap; i++) {
		struct hc_block *b = &slots[i];
		if (!b->ptr || hc_block_id(b))
			continue;
		if (b->ts <= cutoff) {
			hc_block_set_id(b, ++h->last_block_id);
			emit(ctx, b);
		} else if (b->ts < floor) {
			floor = b->ts;
		}
	}
	h->unpromoted_floor = floor;
}

void hc_heap_flush_sites(struct hc_heap *h,
			 void (*emit)(void *ctx, uint32_t id, const struct hc_site *s,
				      const uint32_t *hist),
			 void *ctx)
{
	for (size_t i = 0; i < h->ndirty; i++) {
		struct hc_site *s = &h->sites[h->dirty[i]];
		emit(ctx, h->dirty[i], s, s->hist ? h->hist[s->hist - 1] : NULL);
		s->allocs = s->frees = s->bytes_alloc = 0;
		s->hist = 0;
		s->dirty = 0;
	}
	h->ndirty = 0;
	h->nhist = 0;
}

/* --- lifetime ------------------------------------------------------------ */

int hc_heap_init(struct hc_heap *h, uint64_t sample_bytes)
{
	memset(h, 0, sizeof(*h));
	h->sample_bytes = sample_bytes;
	h->ns_per_stamp = 1.0;
	h->unpromoted_floor = UINT64_MAX;
	h->live.esize = sizeof(struct hc_block);
	h->retired.esize = sizeof(struct hc_rlist);
	if (table_grow(&h->live) || table_grow(&h->retired) || stacks_grow(h))
		goto fail;
	/* Site 0: allocations whose stack event was lost. */
	if (grow_array((void **)&h->sites, &h->sites_cap, sizeof(*h->sites), 1))
		goto fail;
	h->nsites = 1;
	return 0;
fail:
	hc_heap_release(h);
	return -1;
}

void hc_heap_release(struct hc_heap *h)
{
	hc_unmap(h->live.slots, h->live.cap * h->live.esize);
	hc_unmap(h->retired.slots, h->retired.cap * h->retired.esize);
	hc_unmap(h->rnodes, h->rnodes_cap * sizeof(*h->rnodes));
	hc_unmap(h->stacks, h->stacks_cap * sizeof(*h->stacks));
	hc_unmap(h->sites, h->sites_cap * sizeof(*h->sites));
	hc_unmap(h->dirty, h->dirty_cap * sizeof(*h->dirty));
	hc_unmap(h->hist, h->hist_cap * sizeof(*h->hist));
	for (int i = 0; i < 2; i++)
		hc_unmap(h->frees[i], h->frees_cap[i] * sizeof(*h->frees[i]));
	memset(h, 0, sizeof(*h));
}

size_t hc_heap_bytes(const struct hc_heap *h)
{
	return h->live.cap * h->live.esize + h->retired.cap * h->retired.esize +
	       h->rnodes_cap * sizeof(*h->rnodes) +
	       h->stacks_cap * sizeof(*h->stacks) + h->sites_cap * sizeof(*h->sites) +
	       h->hist_cap * sizeof(*h->hist);
}
