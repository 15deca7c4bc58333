/* Unit tests of the collector's heap model (preload/heap.c). A simulation of
 * 2..8 threads allocating, freeing each other's blocks and reallocating over
 * a small pool of reused addresses feeds the model the way the collector
 * does: ring by ring, late, out of order across threads, in drain rounds;
 * every figure must then equal the ground truth exactly. Then hand-written
 * orders, timings of heavy reuse, sampled mode, and the stack table's API.
 * The simulation runs again with the collector's merge (merge.c) over real
 * rings. Replay one seed of the simulation: test-heap SHAPE SEED [merge].
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "heap.h"
#include "internal.h"
#include "mem.h"
#include "tap.h"

/* What ring.c needs from the rest of the shim: the simulation drains real
 * rings through the collector's merge (merge.c). */
struct hc_config hc_config;
_Atomic int hc_tracing = HC_ON;
_Atomic int hc_collector_running = 1;
void hc_collector_start(void) {}
void hc_collector_kick(void) {}

/* --- randomness ---------------------------------------------------------- */

static uint64_t rng_state;

static void rng_seed(uint64_t seed)
{
	uint64_t z = seed + 0x9e3779b97f4a7c15ull; /* splitmix64 */
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	rng_state = (z ^ (z >> 31)) | 1;
}

static uint64_t rnd(void)
{
	uint64_t x = rng_state; /* xorshift64* */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static int chance(unsigned per_mille)
{
	return below(1000) < per_mille;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* What one recorded block stands for, computed as heap.h documents it:
 * itself in exact mode; z / (1 - e^(-z/R)) bytes in sampled mode. */
static void weigh(uint64_t sample, uint64_t size, int64_t *bytes, int64_t *blocks)
{
	if (!sample) {
		*bytes = (int64_t)size;
		*blocks = 1;
		return;
	}
	double z = size ? (double)size : 1.0;
	double w = z / -expm1(-z / (double)sample);
	*bytes = llround(w);
	*blocks = llround(w / z);
	if (*blocks < 1)
		*blocks = 1;
}

static unsigned bucket_of(uint64_t life)
{
	return life ? 63u - (unsigned)__builtin_clzll(life) : 0u;
}

/* --- the simulation ------------------------------------------------------ */

struct shape {
	const char *name;
	int seeds;
	int tmin, tmax;       /* threads */
	size_t amin, amax;    /* addresses in the pool */
	size_t ops;           /* producer operations per seed (about) */
	unsigned delay;       /* a thread's publication delay: up to 1 in delay per turn */
	unsigned coll_ppm;    /* per million steps, the collector visits one ring */
	unsigned realloc_pm;  /* per mille of operations */
	unsigned lifo_pm;     /* per mille: take the most recently freed address */
	size_t live_target;   /* allocate more while fewer blocks are live */
	int shim_realloc;     /* realloc's free published after the old address is reused */
	uint64_t sample;      /* sampled mode */
	int wide_gaps;        /* clock gaps up to 2^34 ns, spreading lifetimes */
	int checkpoints;      /* up to this many quiescent checks mid-run */
};

#define NSITE 18 /* site 0, up to 16 interned stacks, and one spare */
#define ADDR_BASE 0x7f3a12340000ull
#define ADDR_STRIDE 48

enum { A_FREE, A_LIVE, A_BUSY };
enum { T_READY, T_PENDING, T_REALLOC };

struct ev {
	uint64_t ptr, size, ts;
	uint32_t site;
	int is_free;
	int realloc; /* a free whose alloc follows: one REALLOC event in a ring */
};

/* A thread's ring: events up to published are visible to the collector,
 * which has processed them up to drained. */
struct ring {
	struct ev *ev;
	size_t len, cap, published, drained;
	struct hc_ring *hr; /* merge mode: the real ring events are published in */
	unsigned delay;
	int state;
	uint32_t r_old, r_addr; /* a realloc begun in the shim's order */
	uint64_t r_ts;
};

struct blk {
	uint64_t ptr, size, ts, ts_free; /* ts_free 0: live */
	uint64_t id;                     /* block id if the model promoted it */
	uint32_t site, addr, live_pos, on_free_calls;
	uint32_t ring, ev;               /* its alloc event */
};

struct addr {
	int state;
	uint32_t blk;
	int wait_ring; /* -1: reusable now; else wait until this event is published */
	size_t wait_ev;
};

struct figures {
	int64_t live_bytes, live_blocks;
	uint64_t allocs, frees, bytes;
	uint64_t hist[64];
};

struct sim {
	const struct shape *sh;
	struct hc_heap h;
	int nthreads;
	struct ring *rings;
	struct addr *addrs;
	size_t naddr;
	uint32_t *pool; /* free addresses, the most recently freed last */
	size_t npool;
	uint32_t *live; /* live blocks */
	size_t nlive;
	struct blk *blks; /* in alloc time order */
	size_t nblk, blk_cap;
	uint32_t *ids; /* block id - 1 → index into blks */
	size_t nids, ids_cap;
	uint64_t clock, ops, cutoff;
	uint32_t site_ids[16];
	int nsite_ids;
	struct figures truth[NSITE]; /* ground truth, by site id */
	struct figures got[NSITE];   /* the sums of the model's flushed deltas */
	int *perm;
	int pos; /* next ring of the current drain round */
	/* merge mode: the collector drains real rings with hc_merge_* */
	int merge, looked;
	struct hc_merge m;
	struct hc_ring *list;
	uint64_t corrupt, frees_now, frees_late;
	int64_t max_seen;
	size_t max_live_cap, max_retired_cap;
	int nerr;
	char err[400];
};

static void fail(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(struct sim *s, const char *fmt, ...)
{
	if (s->nerr++)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);
	if (!q) {
		fprintf(stderr, "test-heap: out of memory\n");
		exit(99);
	}
	return q;
}

static uint64_t addr_ptr(uint32_t a)
{
	return ADDR_BASE + (uint64_t)a * ADDR_STRIDE;
}

static uint64_t tick(struct sim *s)
{
	uint64_t gap = 1;
	if (s->sh->wide_gaps && chance(200))
		gap += below(1ull << below(35));
	else if (s->sh->wide_gaps)
		gap += below(4);
	return s->clock += gap;
}

static int is_published(const struct sim *s, uint32_t ring, size_t ev)
{
	return ev < s->rings[ring].published;
}

static size_t push_ev(struct sim *s, int t, struct ev e)
{
	struct ring *r = &s->rings[t];
	if (r->len == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 256;
		r->ev = xrealloc(r->ev, r->cap * sizeof(*r->ev));
	}
	r->ev[r->len] = e;
	return r->len++;
}

static void merge_drain(struct sim *s, int then_round);

/* Merge mode: the events from published on go into the real ring, a FREE,
 * an ALLOC, or both as one REALLOC. A full ring waits for the collector. */
static void write_ring(struct sim *s, int t)
{
	struct ring *r = &s->rings[t];
	for (size_t i = r->published; i < r->len; i++) {
		const struct ev *v = &r->ev[i];
		int both = v->realloc && i + 1 < r->len;
		unsigned words = both ? 7 : v->is_free ? 3 : 5;
		struct hc_ring *hr = r->hr;
		uint64_t head = atomic_load(&hr->head), tail = atomic_load(&hr->tail);
		if (head - tail + 2 * words * 8 > hr->size) /* room for a PAD too */
			merge_drain(s, 1);
		uint64_t *e = hc_ring_reserve(hr, words);
		if (!e) {
			fail(s, "ring %d full after a drain", t);
			return;
		}
		if (both) {
			const struct ev *a = v + 1;
			uint64_t w[7] = {HC_EV_HDR(HC_EV_REALLOC, 7, 0), v->ptr, a->ptr, a->size, v->ts,
					 a->ts, a->site};
			memcpy(e, w, sizeof(w));
			i++;
		} else if (v->is_free) {
			uint64_t w[3] = {HC_EV_HDR(HC_EV_FREE, 3, 0), v->ptr, v->ts};
			memcpy(e, w, sizeof(w));
		} else {
			uint64_t w[5] = {HC_EV_HDR(HC_EV_ALLOC, 5, 0), v->ptr, v->size, v->ts, v->site};
			memcpy(e, w, sizeof(w));
		}
		hc_ring_commit(hr, words);
	}
}

static void publish(struct sim *s, int t)
{
	if (s->merge)
		write_ring(s, t);
	s->rings[t].published = s->rings[t].len;
	s->rings[t].state = T_READY;
}

/* An address the allocator may return now: its last free was published
 * (a free is published before the real free, see hooks.c). Prefers the most
 * recently freed, as malloc's per-thread caches do. */
static int take_addr(struct sim *s, uint32_t *out)
{
	if (!s->npool)
		return 0;
	if (chance(s->sh->lifo_pm)) {
		size_t n = s->npool < 8 ? s->npool : 8;
		for (size_t k = 1; k <= n; k++) {
			size_t i = s->npool - k;
			struct addr *d = &s->addrs[s->pool[i]];
			if (d->wait_ring >= 0 && !is_published(s, (uint32_t)d->wait_ring, d->wait_ev))
				continue;
			*out = s->pool[i];
			memmove(s->pool + i, s->pool + i + 1, (s->npool - i - 1) * sizeof(*s->pool));
			s->npool--;
			return 1;
		}
	}
	for (int k = 0; k < 8; k++) {
		size_t i = below(s->npool);
		struct addr *d = &s->addrs[s->pool[i]];
		if (d->wait_ring >= 0 && !is_published(s, (uint32_t)d->wait_ring, d->wait_ev))
			continue;
		*out = s->pool[i];
		s->pool[i] = s->pool[--s->npool];
		return 1;
	}
	return 0;
}

static void give_addr(struct sim *s, uint32_t a, int wait_ring, size_t wait_ev)
{
	s->addrs[a] = (struct addr){A_FREE, 0, wait_ring, wait_ev};
	s->pool[s->npool++] = a;
}

/* A live block another thread may free: its alloc event was published. */
static int pick_live(struct sim *s, uint32_t *out)
{
	for (int k = 0; s->nlive && k < 6; k++) {
		uint32_t bi = s->live[below(s->nlive)];
		if (is_published(s, s->blks[bi].ring, s->blks[bi].ev)) {
			*out = bi;
			return 1;
		}
	}
	return 0;
}

static uint64_t random_size(void)
{
	switch (below(16)) {
	case 0:
		return 0;
	case 1:
		return 1 + below(1u << 20);
	case 2:
		return 4096 + below(65536);
	default:
		return 1 + below(256);
	}
}

static void truth_alloc(struct sim *s, const struct blk *b)
{
	int64_t bytes, blocks;
	weigh(s->sh->sample, b->size, &bytes, &blocks);
	struct figures *f = &s->truth[b->site];
	f->live_bytes += bytes;
	f->live_blocks += blocks;
	f->allocs += (uint64_t)blocks;
	f->bytes += (uint64_t)bytes;
}

static uint32_t alloc_blk(struct sim *s, int t, uint32_t a, uint64_t ts)
{
	if (s->nblk == s->blk_cap) {
		s->blk_cap = s->blk_cap ? s->blk_cap * 2 : 1024;
		s->blks = xrealloc(s->blks, s->blk_cap * sizeof(*s->blks));
	}
	uint32_t bi = (uint32_t)s->nblk++;
	struct blk *b = &s->blks[bi];
	memset(b, 0, sizeof(*b));
	b->ptr = addr_ptr(a);
	b->size = random_size();
	b->ts = ts;
	b->site = chance(50) ? 0 : s->site_ids[below((uint64_t)s->nsite_ids)];
	b->addr = a;
	b->ring = (uint32_t)t;
	b->ev = (uint32_t)push_ev(s, t, (struct ev){b->ptr, b->size, ts, b->site, 0, 0});
	b->live_pos = (uint32_t)s->nlive;
	s->live[s->nlive++] = bi;
	s->addrs[a].state = A_LIVE;
	s->addrs[a].blk = bi;
	truth_alloc(s, b);
	return bi;
}

/* The block is freed at ts (the event is pushed by the caller). */
static void kill_blk(struct sim *s, uint32_t bi, uint64_t ts)
{
	struct blk *b = &s->blks[bi];
	b->ts_free = ts;
	uint32_t last = s->live[--s->nlive];
	s->live[b->live_pos] = last;
	s->blks[last].live_pos = b->live_pos;
	int64_t bytes, blocks;
	weigh(s->sh->sample, b->size, &bytes, &blocks);
	struct figures *f = &s->truth[b->site];
	f->live_bytes -= bytes;
	f->live_blocks -= blocks;
	f->frees += (uint64_t)blocks;
	f->hist[bucket_of(ts - b->ts)] += (uint64_t)blocks;
}

static void op_alloc(struct sim *s, int t, uint32_t a)
{
	alloc_blk(s, t, a, tick(s));
	s->rings[t].state = T_PENDING;
}

static void op_free(struct sim *s, int t, uint32_t bi)
{
	uint64_t ts = tick(s);
	uint64_t ptr = s->blks[bi].ptr;
	uint32_t a = s->blks[bi].addr;
	kill_blk(s, bi, ts);
	size_t e = push_ev(s, t, (struct ev){ptr, 0, ts, 0, 1, 0});
	give_addr(s, a, t, e);
	s->rings[t].state = T_PENDING;
}

/* realloc as heap.h's contract has it: free then alloc, from one thread, the
 * old address reusable by others once the free is published. */
static void op_realloc(struct sim *s, int t, uint32_t bi)
{
	uint32_t a = s->blks[bi].addr, na = a;
	uint64_t ts = tick(s);
	kill_blk(s, bi, ts);
	size_t e = push_ev(s, t, (struct ev){s->blks[bi].ptr, 0, ts, 0, 1, 1});
	if (!chance(333) && take_addr(s, &na))
		give_addr(s, a, t, e);
	else
		na = a; /* in place */
	alloc_blk(s, t, na, tick(s));
	s->rings[t].state = T_PENDING;
}

/* realloc as hooks.c does it: the free's ts is taken before the real
 * realloc, which frees a moved block's old address for every thread at
 * once; the event (free and alloc together) is published only after. */
static void realloc_begin(struct sim *s, int t, uint32_t bi)
{
	struct ring *r = &s->rings[t];
	uint32_t a = s->blks[bi].addr, na;
	r->r_ts = tick(s);
	r->r_old = bi;
	kill_blk(s, bi, r->r_ts);
	if (!chance(333) && take_addr(s, &na)) {
		give_addr(s, a, -1, 0);
		s->addrs[na].state = A_BUSY;
	} else {
		na = a;
		s->addrs[a].state = A_BUSY;
	}
	r->r_addr = na;
	r->state = T_REALLOC;
}

static void realloc_end(struct sim *s, int t)
{
	struct ring *r = &s->rings[t];
	push_ev(s, t, (struct ev){s->blks[r->r_old].ptr, 0, r->r_ts, 0, 1, 1});
	alloc_blk(s, t, r->r_addr, tick(s));
	r->state = T_PENDING;
}

static void thread_step(struct sim *s, int t)
{
	struct ring *r = &s->rings[t];
	if (r->state == T_PENDING) {
		if (!r->delay || !below(r->delay))
			publish(s, t);
		return;
	}
	if (r->state == T_REALLOC) {
		if (chance(500)) {
			realloc_end(s, t);
			if (!r->delay)
				publish(s, t);
		}
		return;
	}
	uint32_t bi, a;
	int want_alloc = chance(s->nlive < s->sh->live_target ? 750 : 400);
	if (chance(s->sh->realloc_pm) && pick_live(s, &bi)) {
		if (s->sh->shim_realloc)
			realloc_begin(s, t, bi);
		else
			op_realloc(s, t, bi);
	} else if (want_alloc && take_addr(s, &a)) {
		op_alloc(s, t, a);
	} else if (pick_live(s, &bi)) {
		op_free(s, t, bi);
	} else if (take_addr(s, &a)) {
		op_alloc(s, t, a);
	} else {
		return;
	}
	s->ops++;
	if (!r->delay && r->state == T_PENDING)
		publish(s, t);
}

/* --- the collector's side ------------------------------------------------ */

static void observe(struct sim *s)
{
	if (s->h.live_bytes > s->max_seen)
		s->max_seen = s->h.live_bytes;
	if (s->h.live.cap > s->max_live_cap)
		s->max_live_cap = s->h.live.cap;
	if (s->h.retired.cap > s->max_retired_cap)
		s->max_retired_cap = s->h.retired.cap;
}

/* Reads how far the ring has published once, as hc_ring_drain() reads head,
 * and processes the events up to there. */
static void visit(struct sim *s, int t)
{
	struct ring *r = &s->rings[t];
	size_t end = r->published;
	for (; r->drained < end; r->drained++) {
		const struct ev *e = &r->ev[r->drained];
		if (e->is_free)
			hc_heap_free(&s->h, e->ptr, e->ts);
		else
			hc_heap_alloc(&s->h, e->ptr, e->size, e->ts, e->site);
		observe(s);
	}
}

static size_t find_blk(const struct sim *s, uint64_t ts)
{
	size_t lo = 0, hi = s->nblk;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (s->blks[mid].ts < ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->nblk && s->blks[lo].ts == ts ? lo : SIZE_MAX;
}

static void on_promote(void *ctx, const struct hc_block *hb)
{
	struct sim *s = ctx;
	size_t i = find_blk(s, hb->ts);
	if (i == SIZE_MAX) {
		fail(s, "promoted a block never allocated (ptr %#" PRIx64 " ts %" PRIu64 ")",
		     hb->ptr, hb->ts);
		return;
	}
	struct blk *b = &s->blks[i];
	if (b->ptr != hb->ptr || b->size != hc_block_size(hb) || b->site != hc_block_site(hb))
		fail(s, "promoted block at ts %" PRIu64 " has the wrong ptr, size or site", hb->ts);
	if (hb->ts > s->cutoff)
		fail(s, "promoted a block of ts %" PRIu64 " after the cutoff %" PRIu64, hb->ts,
		     s->cutoff);
	if (b->id)
		fail(s, "block of ts %" PRIu64 " promoted twice", hb->ts);
	if (hc_block_id(hb) != s->nids + 1)
		fail(s, "block id %" PRIu64 " where %zu was due", hc_block_id(hb), s->nids + 1);
	if (s->nids == s->ids_cap) {
		s->ids_cap = s->ids_cap ? s->ids_cap * 2 : 256;
		s->ids = xrealloc(s->ids, s->ids_cap * sizeof(*s->ids));
	}
	s->ids[s->nids++] = (uint32_t)i;
	b->id = hc_block_id(hb);
}

static void on_free(void *ctx, uint64_t id, uint64_t ts)
{
	struct sim *s = ctx;
	if (!id || id > s->nids) {
		fail(s, "on_free for block id %" PRIu64 ", never promoted", id);
		return;
	}
	struct blk *b = &s->blks[s->ids[id - 1]];
	b->on_free_calls++;
	if (b->ts_free != ts)
		fail(s, "on_free(block %" PRIu64 ", ts %" PRIu64 ") but it was freed at %" PRIu64,
		     id, ts, b->ts_free);
}

static void on_site(void *ctx, uint32_t id, const struct hc_site *st, const uint32_t *hist)
{
	struct sim *s = ctx;
	if (id >= NSITE) {
		fail(s, "flushed site %u, never interned", id);
		return;
	}
	struct figures *g = &s->got[id];
	g->allocs += st->allocs;
	g->frees += st->frees;
	g->bytes += st->bytes_alloc;
	for (int k = 0; hist && k < 64; k++)
		g->hist[k] += hist[k];
}

static void promote(struct sim *s)
{
	switch (below(4)) {
	case 0:
		s->cutoff = s->clock;
		break;
	case 1:
		s->cutoff = below(s->clock + 1);
		break;
	default:
		s->cutoff = s->clock > 64 ? s->clock - below(64) : 0;
	}
	hc_heap_promote(&s->h, s->cutoff, on_promote, s);
	const struct hc_block *slots = s->h.live.slots;
	for (size_t i = 0; i < s->h.live.cap; i++)
		if (slots[i].ptr && !hc_block_id(&slots[i]) && slots[i].ts <= s->cutoff) {
			fail(s, "live block of ts %" PRIu64 " left unpromoted at cutoff %" PRIu64,
			     slots[i].ts, s->cutoff);
			break;
		}
}

static void end_round(struct sim *s)
{
	hc_heap_round(&s->h);
	observe(s);
	s->pos = 0;
}

/* Merge mode: the collector's drain_all, its two looks apart by however
 * many producer steps came between. */
static void free_ev(struct sim *s, uint64_t ptr, uint64_t ts, int now)
{
	if (now) {
		s->frees_now++;
		hc_heap_free_now(&s->h, ptr, ts);
	} else {
		s->frees_late++;
		hc_heap_free(&s->h, ptr, ts);
	}
}

static void on_event(void *ctx, const uint64_t *e, int now)
{
	struct sim *s = ctx;
	switch (HC_EV_KIND(e[0])) {
	case HC_EV_ALLOC:
		hc_heap_alloc(&s->h, e[1], e[2], e[3], (uint32_t)e[4]);
		break;
	case HC_EV_FREE:
		free_ev(s, e[1], e[2], now);
		break;
	case HC_EV_REALLOC:
		free_ev(s, e[1], e[4], now);
		hc_heap_alloc(&s->h, e[2], e[3], e[5], (uint32_t)e[6]);
		break;
	default:
		fail(s, "the merge passed on an event of kind %d", (int)HC_EV_KIND(e[0]));
	}
	observe(s);
}

static void merge_look(struct sim *s)
{
	hc_merge_look(&s->m, s->list);
	s->looked = 1;
}

static void merge_drain(struct sim *s, int then_round)
{
	if (!s->looked)
		merge_look(s);
	s->looked = 0;
	hc_merge_drain(&s->m, s->list, on_event, s, &s->corrupt);
	if (then_round)
		end_round(s);
}

static void collector_step(struct sim *s)
{
	if (s->merge) {
		if (s->looked)
			merge_drain(s, 1);
		else
			merge_look(s);
	} else {
		if (s->pos == 0) {
			for (int i = s->nthreads - 1; i > 0; i--) {
				int j = (int)below((uint64_t)i + 1), x = s->perm[i];
				s->perm[i] = s->perm[j];
				s->perm[j] = x;
			}
		}
		visit(s, s->perm[s->pos++]);
		if (s->pos == s->nthreads)
			end_round(s);
	}
	if (chance(20))
		promote(s);
	if (chance(20))
		hc_heap_flush_sites(&s->h, on_site, s);
}

static void full_round(struct sim *s, int then_round)
{
	if (s->merge) {
		merge_drain(s, then_round);
		return;
	}
	for (int t = 0; t < s->nthreads; t++)
		visit(s, s->perm[t]);
	if (then_round)
		end_round(s);
}

/* Producers stop (a begun realloc completes), everything is published, the
 * collector finishes its round, then either two more rounds and settle (the
 * end of a trace) or one drain and settle (the collector's serve_flush). */
static void quiesce(struct sim *s)
{
	for (int t = 0; t < s->nthreads; t++) {
		if (s->rings[t].state == T_REALLOC)
			realloc_end(s, t);
		publish(s, t);
	}
	while (s->pos || s->looked)
		collector_step(s);
	if (chance(500)) {
		full_round(s, 1);
		full_round(s, 1);
	} else {
		full_round(s, 0);
	}
	hc_heap_settle(&s->h);
	observe(s);
}

static void check_exact(struct sim *s, const char *when)
{
	struct hc_heap *h = &s->h;
	hc_heap_flush_sites(h, on_site, s);
	struct figures all = {0};
	for (int id = 0; id < NSITE; id++) {
		const struct figures *t = &s->truth[id], *g = &s->got[id];
		all.live_bytes += t->live_bytes;
		all.live_blocks += t->live_blocks;
		all.allocs += t->allocs;
		all.frees += t->frees;
		all.bytes += t->bytes;
		if ((size_t)id >= h->nsites) {
			if (t->allocs)
				fail(s, "%s: site %d has allocations but is not interned", when, id);
			continue;
		}
		const struct hc_site *hs = &h->sites[id];
		if (hs->live_bytes != t->live_bytes || hs->live_blocks != t->live_blocks)
			fail(s, "%s: site %d live %" PRId64 " bytes in %" PRId64 " blocks, want %" PRId64
				" in %" PRId64, when, id, hs->live_bytes, hs->live_blocks,
			     t->live_bytes, t->live_blocks);
		if (g->allocs != t->allocs || g->frees != t->frees || g->bytes != t->bytes)
			fail(s, "%s: site %d flushed allocs/frees/bytes %" PRIu64 "/%" PRIu64
				"/%" PRIu64 ", want %" PRIu64 "/%" PRIu64 "/%" PRIu64,
			     when, id, g->allocs, g->frees, g->bytes, t->allocs, t->frees, t->bytes);
		for (int k = 0; k < 64; k++)
			if (g->hist[k] != t->hist[k]) {
				fail(s, "%s: site %d lifetime bucket %d holds %" PRIu64 ", want %" PRIu64,
				     when, id, k, g->hist[k], t->hist[k]);
				break;
			}
	}
	if (h->live_bytes != all.live_bytes || h->live_blocks != all.live_blocks)
		fail(s, "%s: live %" PRId64 " bytes in %" PRId64 " blocks, want %" PRId64 " in %" PRId64,
		     when, h->live_bytes, h->live_blocks, all.live_bytes, all.live_blocks);
	if (h->total_allocs != all.allocs || h->total_frees != all.frees ||
	    h->total_bytes != all.bytes)
		fail(s, "%s: totals allocs/frees/bytes %" PRIu64 "/%" PRIu64 "/%" PRIu64
			", want %" PRIu64 "/%" PRIu64 "/%" PRIu64, when, h->total_allocs,
		     h->total_frees, h->total_bytes, all.allocs, all.frees, all.bytes);
	if (h->unknown_frees || h->dropped)
		fail(s, "%s: %" PRIu64 " unknown frees, %" PRIu64 " dropped", when, h->unknown_frees,
		     h->dropped);
	if (h->nretired || h->retired.len || h->frees_len[0] || h->frees_len[1])
		fail(s, "%s: settled but %zu blocks retired, %zu+%zu frees pending", when,
		     h->nretired, h->frees_len[0], h->frees_len[1]);
	/* The peak is the model's running maximum, not the true one: frees are
	 * applied a round late. Bound it by what was seen and what was allocated. */
	if (h->peak_bytes < (uint64_t)s->max_seen || h->peak_bytes > h->total_bytes)
		fail(s, "%s: peak %" PRIu64 " outside [%" PRId64 ", %" PRIu64 "]", when,
		     h->peak_bytes, s->max_seen, h->total_bytes);

	/* The live table holds exactly the live blocks. */
	const struct hc_block *slots = h->live.slots;
	size_t n = 0;
	for (size_t i = 0; i < h->live.cap; i++) {
		const struct hc_block *hb = &slots[i];
		if (!hb->ptr)
			continue;
		n++;
		uint64_t a = (hb->ptr - ADDR_BASE) / ADDR_STRIDE;
		if (hb->ptr < ADDR_BASE || a >= s->naddr || addr_ptr((uint32_t)a) != hb->ptr ||
		    s->addrs[a].state != A_LIVE) {
			fail(s, "%s: live table holds %#" PRIx64 ", not live", when, hb->ptr);
			break;
		}
		const struct blk *b = &s->blks[s->addrs[a].blk];
		if (b->ts != hb->ts || b->size != hc_block_size(hb) || b->site != hc_block_site(hb) ||
		    b->id != hc_block_id(hb)) {
			fail(s, "%s: live table's block at %#" PRIx64 " is not the live one", when,
			     hb->ptr);
			break;
		}
	}
	if (n != s->nlive || h->live.len != s->nlive)
		fail(s, "%s: live table holds %zu blocks (len %zu), want %zu", when, n, h->live.len,
		     s->nlive);

	/* Every promoted block that was freed got exactly one on_free. */
	for (size_t i = 0; i < s->nids; i++) {
		const struct blk *b = &s->blks[s->ids[i]];
		if (b->on_free_calls != (b->ts_free ? 1u : 0u)) {
			fail(s, "%s: promoted block %zu (%s) got %u on_free calls", when, i + 1,
			     b->ts_free ? "freed" : "live", b->on_free_calls);
			break;
		}
	}
}

static void sim_release(struct sim *s)
{
	hc_heap_release(&s->h);
	hc_merge_release(&s->m);
	size_t hdr = (sizeof(struct hc_ring) + 4095) & ~(size_t)4095;
	for (int t = 0; t < s->nthreads; t++) {
		free(s->rings[t].ev);
		if (s->rings[t].hr)
			hc_unmap(s->rings[t].hr, hdr + s->rings[t].hr->size);
	}
	free(s->rings);
	free(s->addrs);
	free(s->pool);
	free(s->live);
	free(s->blks);
	free(s->ids);
	free(s->perm);
}

struct group_stats {
	size_t max_live_cap, max_retired_cap;
	uint64_t events, frees_now, frees_late, drains, unordered;
};

/* Runs one seed; returns 0 if exact, else -1 with the first mismatch in err. */
static int run_seed(const struct shape *sh, uint64_t seed, int merge, struct group_stats *gs,
		    char *err, size_t errlen)
{
	struct sim *s = calloc(1, sizeof(*s));
	if (!s || hc_heap_init(&s->h, sh->sample)) {
		fprintf(stderr, "test-heap: cannot set up\n");
		exit(99);
	}
	rng_seed(seed);
	s->sh = sh;
	s->h.on_free = on_free;
	s->h.ctx = s;
	s->nthreads = sh->tmin + (int)below((uint64_t)(sh->tmax - sh->tmin + 1));
	s->naddr = sh->amin + below(sh->amax - sh->amin + 1);
	s->rings = calloc((size_t)s->nthreads, sizeof(*s->rings));
	s->perm = calloc((size_t)s->nthreads, sizeof(*s->perm));
	s->addrs = calloc(s->naddr, sizeof(*s->addrs));
	s->pool = calloc(s->naddr, sizeof(*s->pool));
	s->live = calloc(s->naddr, sizeof(*s->live));
	if (!s->rings || !s->perm || !s->addrs || !s->pool || !s->live)
		exit(99);
	for (int t = 0; t < s->nthreads; t++) {
		s->perm[t] = t;
		/* Some threads publish at once, others get preempted for long. */
		s->rings[t].delay = sh->delay && chance(750) ? 1 + (unsigned)below(sh->delay) : 0;
		if (!merge)
			continue;
		/* small rings wrap (PAD events) and fill (the collector drains) */
		struct hc_ring *hr = hc_ring_new(chance(500) ? 4096 : 1u << 20);
		if (!hr)
			exit(99);
		atomic_store(&hr->state, HC_RING_OWNED);
		hr->next = s->list;
		s->list = hr;
		s->rings[t].hr = hr;
	}
	s->merge = merge;
	for (size_t a = s->naddr; a-- > 0;)
		give_addr(s, (uint32_t)a, -1, 0);
	s->nsite_ids = 1 + (int)below(16);
	for (int i = 0; i < s->nsite_ids; i++) {
		int created;
		s->site_ids[i] = hc_heap_intern(&s->h, rnd() | 1, &created);
		if (s->site_ids[i] != (uint32_t)i + 1 || !created)
			fail(s, "intern gave id %u (created %d) for stack %d", s->site_ids[i], created,
			     i + 1);
	}
	s->clock = 1000;

	size_t target = sh->ops / 2 + below(sh->ops / 2 + 1);
	size_t next_check = sh->checkpoints ? below(target) : SIZE_MAX;
	int checks_left = sh->checkpoints ? 1 + (int)below((uint64_t)sh->checkpoints) : 0;
	uint64_t steps = 0;
	while (s->ops < target && !s->nerr) {
		if (++steps > 1000 * (uint64_t)target + 100000) {
			fail(s, "stuck after %" PRIu64 " steps", steps);
			break;
		}
		if (below(1000000) < sh->coll_ppm)
			collector_step(s);
		else
			thread_step(s, (int)below((uint64_t)s->nthreads));
		if (checks_left && s->ops >= next_check) {
			quiesce(s);
			check_exact(s, "checkpoint");
			checks_left--;
			next_check = s->ops + below(target - s->ops + 1);
		}
	}
	quiesce(s);
	check_exact(s, "end");

	if (gs) {
		if (s->max_live_cap > gs->max_live_cap)
			gs->max_live_cap = s->max_live_cap;
		if (s->max_retired_cap > gs->max_retired_cap)
			gs->max_retired_cap = s->max_retired_cap;
		for (int t = 0; t < s->nthreads; t++)
			gs->events += s->rings[t].len;
		gs->frees_now += s->frees_now;
		gs->frees_late += s->frees_late;
		gs->drains += s->m.drains;
		gs->unordered += s->m.unordered;
	}
	if (s->corrupt)
		fail(s, "the merge counted %" PRIu64 " malformed events", s->corrupt);
	int rc = s->nerr ? -1 : 0;
	if (rc)
		snprintf(err, errlen, "%s (%d mismatches)", s->err, s->nerr);
	sim_release(s);
	free(s);
	return rc;
}

static const struct shape shapes[] = {
	{.name = "2 threads, 8 addresses, published at once",
	 .seeds = 40, .tmin = 2, .tmax = 2, .amin = 8, .amax = 8, .ops = 3000,
	 .coll_ppm = 200000, .realloc_pm = 50, .lifo_pm = 900, .live_target = 4},
	{.name = "2..8 threads, 8..64 addresses, publication delays, cross-thread frees",
	 .seeds = 60, .tmin = 2, .tmax = 8, .amin = 8, .amax = 64, .ops = 4000, .delay = 30,
	 .coll_ppm = 100000, .realloc_pm = 50, .lifo_pm = 800, .live_target = 6},
	{.name = "8 threads, 8..16 addresses, long delays, slow collector",
	 .seeds = 40, .tmin = 8, .tmax = 8, .amin = 8, .amax = 16, .ops = 4000, .delay = 300,
	 .coll_ppm = 5000, .realloc_pm = 50, .lifo_pm = 950, .live_target = 4},
	{.name = "reallocs in place and moved (free then alloc, one thread)",
	 .seeds = 40, .tmin = 2, .tmax = 6, .amin = 8, .amax = 32, .ops = 4000, .delay = 20,
	 .coll_ppm = 50000, .realloc_pm = 350, .lifo_pm = 900, .live_target = 6},
	{.name = "reallocs in the shim's order: old address reused before the event",
	 .seeds = 40, .tmin = 2, .tmax = 8, .amin = 8, .amax = 32, .ops = 4000, .delay = 50,
	 .coll_ppm = 50000, .realloc_pm = 350, .lifo_pm = 950, .live_target = 6,
	 .shim_realloc = 1},
	{.name = "sampled mode (R = 4096): weighted figures",
	 .seeds = 30, .tmin = 2, .tmax = 8, .amin = 8, .amax = 64, .ops = 4000, .delay = 30,
	 .coll_ppm = 50000, .realloc_pm = 100, .lifo_pm = 800, .live_target = 8,
	 .sample = 4096},
	{.name = "wide timestamp gaps, quiescent checks mid-run",
	 .seeds = 40, .tmin = 2, .tmax = 8, .amin = 8, .amax = 64, .ops = 4000, .delay = 30,
	 .coll_ppm = 50000, .realloc_pm = 100, .lifo_pm = 800, .live_target = 10,
	 .wide_gaps = 1, .checkpoints = 3},
	{.name = "large: 12k addresses, very slow collector, tables grow",
	 .seeds = 6, .tmin = 8, .tmax = 8, .amin = 12000, .amax = 12000, .ops = 100000,
	 .delay = 30, .coll_ppm = 200, .realloc_pm = 50, .lifo_pm = 0, .live_target = 5000,
	 .shim_realloc = 1, .checkpoints = 1},
};
#define NSHAPES (int)(sizeof(shapes) / sizeof(shapes[0]))

static uint64_t shape_seed(int shape, int i)
{
	return (uint64_t)shape * 1000 + (uint64_t)i + 1;
}

/* Each shape twice: the collector draining ring by ring (every free a
 * round late: the heap's contract alone), then through its merge (merge.c)
 * of real rings, whose two looks producers interleave with. */
static void test_shapes(void)
{
	for (int k = 0; k < 2 * NSHAPES; k++) {
		const struct shape *sh = &shapes[k % NSHAPES];
		int merge = k >= NSHAPES;
		struct group_stats gs = {0};
		int failed = 0;
		uint64_t first = 0;
		char err[512], first_err[512];
		double t0 = now_s();
		for (int i = 0; i < sh->seeds; i++) {
			uint64_t seed = shape_seed(k % NSHAPES, i);
			if (run_seed(sh, seed, merge, &gs, err, sizeof(err)) && !failed++) {
				first = seed;
				memcpy(first_err, err, sizeof(err));
			}
		}
		ok(!failed, "%s%s: %d seeds exact (%" PRIu64 " events, %.2f s)",
		   merge ? "merged: " : "", sh->name, sh->seeds, gs.events, now_s() - t0);
		if (failed)
			diag("%d of %d seeds failed; first, seed %" PRIu64 ": %s; replay: test-heap %d %"
			     PRIu64 "%s", failed, sh->seeds, first, first_err, k % NSHAPES, first,
			     merge ? " merge" : "");
		if (merge)
			ok(gs.frees_now && gs.frees_late,
			   "  frees applied at once (%" PRIu64 ") and a round late (%" PRIu64 ", "
			   "published between the looks)", gs.frees_now, gs.frees_late);
		if (sh->amin > 4096 && !merge)
			ok(gs.max_live_cap > 4096 && gs.max_retired_cap > 4096,
			   "tables grew past 4096 slots (live %zu, retired %zu)", gs.max_live_cap,
			   gs.max_retired_cap);
	}
}

/* --- hand-written orders ------------------------------------------------- */

#define P 0x7f0000001000ull
#define Q 0x7f0000002000ull

static struct figures flushed[8];

static void sum_flush(void *ctx, uint32_t id, const struct hc_site *st, const uint32_t *hist)
{
	(void)ctx;
	if (id >= 8)
		return;
	flushed[id].allocs += st->allocs;
	flushed[id].frees += st->frees;
	for (int k = 0; hist && k < 64; k++)
		flushed[id].hist[k] += hist[k];
}

static void heap_new(struct hc_heap *h, uint64_t sample)
{
	if (hc_heap_init(h, sample)) {
		fprintf(stderr, "test-heap: hc_heap_init failed\n");
		exit(99);
	}
	memset(flushed, 0, sizeof(flushed));
}

/* A's block at p is freed by B; C reuses p. The collector sees A's alloc,
 * then C's alloc (p is still live in its table), and only a round later B's
 * free, which belongs to A's block. */
static void test_free_after_reuse(void)
{
	struct hc_heap h;
	heap_new(&h, 0);
	int created;
	uint32_t s1 = hc_heap_intern(&h, 0x1111, &created);
	uint32_t s2 = hc_heap_intern(&h, 0x2222, &created);
	/* round 1: B (nothing published yet), A: alloc, C: alloc */
	hc_heap_alloc(&h, P, 100, 10, s1);
	hc_heap_alloc(&h, P, 50, 30, s2);
	is_int(h.live_blocks, 1, "reuse seen before the free: the older block is retired");
	is_int(h.live_bytes, 50, "  and only the newer one's 50 bytes count");
	hc_heap_round(&h);
	hc_heap_free(&h, P, 20); /* round 2: B's free */
	hc_heap_round(&h);
	hc_heap_round(&h);
	hc_heap_flush_sites(&h, sum_flush, NULL);
	ok(h.live_blocks == 1 && h.live_bytes == 50 && h.sites[s1].live_blocks == 0 &&
	   h.sites[s2].live_bytes == 50, "late free matched to the retired block, not the live one");
	ok(flushed[s1].hist[bucket_of(10)] == 1 && flushed[s2].frees == 0 && !h.unknown_frees &&
	   !h.nretired, "its lifetime (10 ns) goes to the freed block's site");
	hc_heap_release(&h);
}

/* B frees A's block; B's ring is drained in the round before A's alloc is.
 * Then the same, with C's reuse of the address drained before A's alloc. */
static void test_alloc_drained_after_free(void)
{
	struct hc_heap h;
	heap_new(&h, 0);
	/* round 1: A (nothing yet), then A's alloc and B's free are published,
	 * B: the free */
	hc_heap_free(&h, P, 20);
	hc_heap_round(&h);
	hc_heap_alloc(&h, P, 64, 10, 0); /* round 2: A */
	hc_heap_round(&h);
	ok(h.live_blocks == 0 && h.total_frees == 1 && !h.unknown_frees,
	   "free drained a round before its alloc: matched");
	hc_heap_release(&h);

	heap_new(&h, 0);
	hc_heap_free(&h, P, 20);         /* round 1: A (nothing), B: the free */
	hc_heap_round(&h);
	hc_heap_alloc(&h, P, 32, 30, 0); /* round 2: C reused p (after the free) */
	hc_heap_alloc(&h, P, 64, 10, 0); /*          A: the first block, older */
	is_int(h.live_bytes, 32, "an alloc older than the live block is retired at once");
	hc_heap_round(&h);
	hc_heap_settle(&h);
	ok(h.live_blocks == 1 && h.live_bytes == 32 && h.total_frees == 1 && !h.unknown_frees &&
	   !h.nretired, "  and its free, applied next, takes it");
	const struct hc_block *slots = h.live.slots;
	int found = 0;
	for (size_t i = 0; i < h.live.cap; i++)
		found += slots[i].ptr == P && slots[i].ts == 30;
	is_int(found, 1, "  the live table holds C's block");
	hc_heap_release(&h);
}

static void test_reuse_in_one_round(void)
{
	struct hc_heap h;
	heap_new(&h, 0);
	/* one ring, one round: alloc, free, alloc, free, alloc at p */
	hc_heap_alloc(&h, P, 8, 10, 0);
	hc_heap_free(&h, P, 11);
	hc_heap_alloc(&h, P, 16, 12, 0);
	hc_heap_free(&h, P, 13);
	hc_heap_alloc(&h, P, 32, 14, 0);
	hc_heap_round(&h);
	hc_heap_round(&h);
	hc_heap_flush_sites(&h, sum_flush, NULL);
	ok(h.live_blocks == 1 && h.live_bytes == 32 && h.total_allocs == 3 &&
	   h.total_frees == 2 && flushed[0].hist[0] == 2 && !h.unknown_frees && !h.nretired,
	   "two reuses of one address in one round");
	hc_heap_release(&h);

	enum { N = 100000 };
	heap_new(&h, 0);
	double t0 = now_s();
	uint64_t ts = 1;
	for (int i = 0; i < N; i++) {
		hc_heap_alloc(&h, P, 24, ts++, 0);
		hc_heap_free(&h, P, ts++);
	}
	hc_heap_round(&h);
	hc_heap_round(&h);
	double dt = now_s() - t0;
	hc_heap_flush_sites(&h, sum_flush, NULL);
	ok(h.live_blocks == 0 && h.total_allocs == N && h.total_frees == N &&
	   flushed[0].hist[0] == N && !h.unknown_frees && !h.nretired && !h.dropped,
	   "%d reuses of one address in one round, one thread", N);
	diag("%d reuses in one round: %.3f s", N, dt);
	hc_heap_release(&h);

	/* Two threads take turns: B frees the odd blocks, C the even ones, and
	 * the round sees C, then B, so one round's frees come as two interleaved
	 * runs; then the same with the allocs from two rings. Each free (alloc)
	 * walks the other run's pending blocks: quadratic in the reuses of one
	 * address per round, hence the smaller count; the time is a diag. */
	enum { M = 10000 };
	heap_new(&h, 0);
	t0 = now_s();
	for (int i = 0; i < M; i++)
		hc_heap_alloc(&h, P, 24, 10 + 2 * (uint64_t)i, 0);
	for (int i = 1; i < M; i += 2)
		hc_heap_free(&h, P, 11 + 2 * (uint64_t)i);
	for (int i = 0; i < M; i += 2)
		hc_heap_free(&h, P, 11 + 2 * (uint64_t)i);
	hc_heap_round(&h);
	hc_heap_round(&h);
	dt = now_s() - t0;
	ok(h.live_blocks == 0 && h.total_frees == M && !h.unknown_frees && !h.nretired,
	   "%d reuses of one address in one round, frees from two rings", M);
	diag("%d reuses, frees from two rings: %.3f s", M, dt);
	hc_heap_release(&h);

	heap_new(&h, 0);
	t0 = now_s();
	for (int i = 1; i < M; i += 2)
		hc_heap_alloc(&h, P, 24, 10 + 2 * (uint64_t)i, 0);
	for (int i = 0; i < M; i += 2)
		hc_heap_alloc(&h, P, 24, 10 + 2 * (uint64_t)i, 0);
	for (int i = 0; i < M; i++)
		hc_heap_free(&h, P, 11 + 2 * (uint64_t)i);
	hc_heap_round(&h);
	hc_heap_round(&h);
	dt = now_s() - t0;
	hc_heap_flush_sites(&h, sum_flush, NULL);
	ok(h.live_blocks == 0 && h.total_frees == M && flushed[0].hist[0] == M &&
	   !h.unknown_frees && !h.nretired,
	   "%d reuses of one address in one round, allocs from two rings", M);
	diag("%d reuses, allocs from two rings: %.3f s", M, dt);
	hc_heap_release(&h);
}

/* A block freed in the same clock tick it was allocated in (a coarse clock
 * does not advance between the two reads) is matched to its free; and the
 * touching case, a free of the previous block in the tick its successor was
 * allocated in, still goes to the previous block. */
static void probe_equal_ts(void)
{
	struct hc_heap h;
	heap_new(&h, 0);
	hc_heap_alloc(&h, P, 8, 100, 0);
	hc_heap_free(&h, P, 100);
	hc_heap_settle(&h);
	ok(h.live_blocks == 0 && h.unknown_frees == 0 && h.total_frees == 1,
	   "a block freed in the tick it was allocated in is freed");
	hc_heap_alloc(&h, P, 8, 200, 0);
	hc_heap_alloc(&h, P, 16, 300, 0); /* reuse in the tick of the free below */
	hc_heap_free(&h, P, 300);         /* frees the 8-byte block */
	hc_heap_settle(&h);
	ok(h.live_blocks == 1 && h.live_bytes == 16 && h.unknown_frees == 0,
	   "a free in the tick of the next alloc still frees the previous block");
	hc_heap_release(&h);
}

static void test_unknown_free(void)
{
	struct hc_heap h;
	heap_new(&h, 0);
	hc_heap_alloc(&h, P, 10, 10, 0);
	hc_heap_free(&h, Q, 20); /* never allocated */
	hc_heap_round(&h);
	hc_heap_round(&h);
	hc_heap_round(&h);
	hc_heap_settle(&h);
	ok(h.unknown_frees == 1 && h.total_frees == 0 && h.live_blocks == 1 && h.live_bytes == 10,
	   "a free of an address never allocated counts once as unknown");
	hc_heap_free(&h, P, 5); /* older than the live block at p */
	hc_heap_settle(&h);
	ok(h.unknown_frees == 2 && h.live_blocks == 1,
	   "a free older than the only block at its address is unknown too");
	hc_heap_alloc(&h, P, 20, 30, 0); /* p reused: the block of ts 10 is retired */
	hc_heap_free(&h, P, 7);          /* older than both */
	hc_heap_settle(&h);
	ok(h.unknown_frees == 3 && h.nretired == 1 && h.live_blocks == 1,
	   "  and one older than every retired block leaves them alone");
	hc_heap_free(&h, P, 20);
	hc_heap_free(&h, P, 40);
	hc_heap_settle(&h);
	ok(h.unknown_frees == 3 && h.live_blocks == 0 && h.total_frees == 2 && !h.nretired,
	   "  which their own frees still take");
	is_int((int64_t)h.unknown_free_bytes, 0, "  sizes unknown: no unknown bytes");
	hc_heap_release(&h);

	/* In a window the hook says each freed block's size: unknown frees
	 * count their bytes, known ones none, applied now or a round late. */
	heap_new(&h, 0);
	hc_heap_alloc(&h, P, 100, 10, 0);
	hc_heap_free_sized(&h, Q, 20, 48, 0);      /* from before: a round late */
	hc_heap_free_sized(&h, Q + 64, 21, 4000, 1); /* from before: at once */
	hc_heap_free_sized(&h, P, 30, 112, 0);     /* known: its size is the block's */
	hc_heap_round(&h);
	hc_heap_settle(&h);
	ok(h.unknown_frees == 2 && h.unknown_free_bytes == 4048 && h.total_frees == 1 &&
	   h.live_blocks == 0 && h.live_bytes == 0,
	   "sized frees: 2 unknown of 4048 bytes, the known one takes its block");
	hc_heap_release(&h);
}

/* The live table's deletion (backward shift) keeps every probe run whole,
 * also where a run wraps from the table's last slot to its first: 48 blocks
 * whose addresses hash to the last three slots or the first (a new table
 * has 4096), allocated, then freed in several orders. Each free must find
 * its block: its own size off the live bytes, nothing unknown. */
static void test_table_wrap(void)
{
	uint64_t addr[48];
	size_t n = 0;
	for (uint64_t a = 0x10000; n < 48; a += 16) {
		uint64_t slot = (a * 0x9e3779b97f4a7c15ull) >> 52;
		if (slot >= 4093 || slot == 0)
			addr[n++] = a;
	}
	unsigned bad = 0;
	uint64_t rng = 0x243f6a8885a308d3ull;
	for (int order = 0; order < 20; order++) {
		struct hc_heap h;
		heap_new(&h, 0);
		bad += h.live.cap != 4096 || h.live.shift != 52; /* the premise */
		for (size_t i = 0; i < n; i++)
			hc_heap_alloc(&h, addr[i], 100 + i, 10 + i, 0);
		size_t idx[48];
		for (size_t i = 0; i < n; i++)
			idx[i] = i;
		for (size_t i = n - 1; order && i > 0; i--) { /* order 0: allocation order */
			rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
			size_t j = rng % (i + 1), t = idx[i];
			idx[i] = idx[j];
			idx[j] = t;
		}
		int64_t bytes = h.live_bytes;
		for (size_t i = 0; i < n; i++) {
			hc_heap_free_now(&h, addr[idx[i]], 1000 + i);
			bytes -= (int64_t)(100 + idx[i]);
			bad += h.live_bytes != bytes || h.unknown_frees != 0;
		}
		bad += h.live_blocks != 0 || h.live.len != 0;
		hc_heap_release(&h);
	}
	is_int((int)bad, 0, "48 blocks around the table's wrap, freed in 20 orders: each free "
			    "finds its own block");
}

static void test_sampled(void)
{
	struct hc_heap h;
	const uint64_t R = 1000, z = 100;
	heap_new(&h, R);
	int created;
	uint32_t s1 = hc_heap_intern(&h, 0xabc, &created);
	hc_heap_alloc(&h, P, z, 10, s1);
	double w = (double)z / (1.0 - exp(-(double)z / (double)R));
	long long bytes = llround(w), blocks = llround(w / (double)z);
	is_int(h.live_bytes, bytes, "sampled: a %" PRIu64 "-byte block weighs z/(1-e^(-z/R))",
	       z);
	is_int(h.live_blocks, blocks < 1 ? 1 : blocks, "sampled: it stands for w/z blocks");
	ok(h.sites[s1].live_bytes == bytes && h.total_bytes == (uint64_t)bytes &&
	   h.total_allocs == (uint64_t)blocks, "sampled: site and totals weighted alike");
	hc_heap_free(&h, Q, 15); /* not sampled: not an error */
	hc_heap_free(&h, P, 20);
	hc_heap_settle(&h);
	hc_heap_flush_sites(&h, sum_flush, NULL);
	ok(h.unknown_frees == 0 && h.live_bytes == 0 && h.live_blocks == 0 &&
	   h.total_frees == (uint64_t)blocks && flushed[s1].hist[bucket_of(10)] == (uint64_t)blocks,
	   "sampled: free weighted, unknown frees not counted");
	hc_heap_release(&h);
}

struct promoted {
	uint64_t ids[4], ptrs[4];
	int n, frees;
	uint64_t free_id, free_ts;
};

static void keep_promoted(void *ctx, const struct hc_block *b)
{
	struct promoted *pr = ctx;
	if (pr->n < 4) {
		pr->ids[pr->n] = hc_block_id(b);
		pr->ptrs[pr->n] = b->ptr;
	}
	pr->n++;
}

static void keep_free(void *ctx, uint64_t id, uint64_t ts)
{
	struct promoted *pr = ctx;
	pr->frees++;
	pr->free_id = id;
	pr->free_ts = ts;
}

static void test_promote(void)
{
	struct hc_heap h;
	struct promoted pr = {0};
	heap_new(&h, 0);
	h.on_free = keep_free;
	h.ctx = &pr;
	hc_heap_alloc(&h, P, 8, 10, 0);
	hc_heap_alloc(&h, Q, 8, 20, 0);
	hc_heap_promote(&h, 15, keep_promoted, &pr);
	ok(pr.n == 1 && pr.ids[0] == 1 && pr.ptrs[0] == P, "promote takes blocks up to the cutoff");
	ok(h.unpromoted_floor == 20, "  the oldest block left unpromoted is remembered (%" PRIu64 ")",
	   h.unpromoted_floor);
	hc_heap_promote(&h, 100, keep_promoted, &pr);
	ok(pr.n == 2 && pr.ids[1] == 2 && pr.ptrs[1] == Q, "  once each, ids in order");
	ok(h.unpromoted_floor == UINT64_MAX, "  none left: the next promotion reads nothing");
	hc_heap_alloc(&h, Q, 8, 40, 0); /* q reused before its free arrived */
	hc_heap_free(&h, Q, 30);
	hc_heap_round(&h);
	hc_heap_round(&h);
	ok(pr.frees == 1 && pr.free_id == 2 && pr.free_ts == 30,
	   "a promoted block retired by reuse gets on_free with its own free time");
	hc_heap_free(&h, Q, 50); /* the unpromoted block at q */
	hc_heap_settle(&h);
	is_int(pr.frees, 1, "no on_free for an unpromoted block");

	/* Events reach the model ring by ring: an allocation older than the
	 * oldest unpromoted block can arrive after a promotion skipped. */
	pr.n = 0;
	hc_heap_alloc(&h, P + 64, 8, 200, 0);
	hc_heap_promote(&h, 150, keep_promoted, &pr);
	hc_heap_alloc(&h, P + 128, 8, 120, 0);
	ok(pr.n == 0 && h.unpromoted_floor == 120, "an older block arriving late lowers the floor");
	hc_heap_promote(&h, 150, keep_promoted, &pr);
	ok(pr.n == 1 && pr.ptrs[0] == P + 128 && h.unpromoted_floor == 200,
	   "  and the next promotion takes it");
	hc_heap_release(&h);
}

static uint32_t promoted_site;

static void keep_site(void *ctx, const struct hc_block *b)
{
	(void)ctx;
	if (b->ptr == P)
		promoted_site = hc_block_site(b);
}

/* A block's size, id and site share 32 bytes (heap.h). */
static void test_block_packing(void)
{
	struct hc_block b = hc_block_make(P, HC_BLOCK_48, 5, 0xfffffffeu);
	ok(b.ptr == P && b.ts == 5 && hc_block_size(&b) == HC_BLOCK_48 &&
	   hc_block_site(&b) == 0xfffffffeu && hc_block_id(&b) == 0,
	   "block: a 48-bit size and a 32-bit site kept whole");
	hc_block_set_id(&b, HC_BLOCK_48);
	ok(hc_block_id(&b) == HC_BLOCK_48 && hc_block_site(&b) == 0xfffffffeu &&
	   hc_block_size(&b) == HC_BLOCK_48, "  a 48-bit id set beside them");
	b = hc_block_make(P, 1ull << 50, 5, 7);
	is_int(hc_block_size(&b), HC_BLOCK_48, "  a size past 2^48 stored as 2^48 - 1");

	struct hc_heap h;
	heap_new(&h, 0);
	int created;
	uint32_t site = 0;
	for (uint64_t i = 1; i <= 70000; i++)
		site = hc_heap_intern(&h, i * 0x9e3779b97f4a7c15ull, &created);
	hc_heap_alloc(&h, P, 100, 10, site);
	hc_heap_alloc(&h, Q, 1ull << 50, 11, 3);
	hc_heap_promote(&h, 20, keep_site, NULL);
	ok(site == 70000 && promoted_site == 70000 && h.sites[70000].live_bytes == 100,
	   "heap: a site id past 16 bits (%u) comes back whole", promoted_site);
	hc_heap_free_now(&h, P, 30);
	hc_heap_free_now(&h, Q, 31);
	ok(h.sites[70000].live_bytes == 0 && h.sites[3].live_bytes == 0 && h.live_bytes == 0 &&
	   h.total_bytes == 100 + HC_BLOCK_48,
	   "  and a block past 2^48 bytes is counted as 2^48 - 1, in and out");
	hc_heap_release(&h);
}

static void test_bad_site(void)
{
	struct hc_heap h;
	heap_new(&h, 0);
	hc_heap_alloc(&h, P, 8, 10, 999);
	ok(h.sites[0].live_bytes == 8 && h.live_bytes == 8, "an unknown site id files under site 0");
	hc_heap_release(&h);
}

/* --- the stack table ----------------------------------------------------- */

/* Distinct nonzero hashes; the even ones come in groups of eight that differ
 * only in their top four bits, which the table's key (hash << 4) drops, so
 * they share a home slot. */
static uint64_t stack_hash(uint32_t i)
{
	if (i % 2)
		return (uint64_t)i * 0x9e3779b97f4a7c15ull | 1;
	return ((uint64_t)(i % 16) << 60) | (i / 16 + 1);
}

static void test_intern(void)
{
	struct hc_heap h;
	heap_new(&h, 0);
	int created = -1;
	is_int(hc_heap_lookup(&h, 0x1234), 0, "lookup in an empty table: 0");
	is_int(hc_heap_intern(&h, 0x1234, &created), 1, "first stack gets id 1");
	is_int(created, 1, "  created");
	is_int(hc_heap_intern(&h, 0x1234, &created), 1, "same hash, same id");
	is_int(created, 0, "  not created");
	is_int(hc_heap_lookup(&h, 0x1234), 1, "lookup finds it");
	is_int(hc_heap_lookup(&h, 0x4321), 0, "lookup of an unknown hash: 0");

	/* Enough stacks to grow the table twice. */
	enum { N = 10000 };
	int bad = 0;
	for (uint32_t i = 2; i <= N; i++) {
		uint64_t hash = stack_hash(i);
		uint32_t id = hc_heap_intern(&h, hash, &created);
		if (id != i || !created || h.sites[id].hash != hash)
			bad++;
	}
	is_int(bad, 0, "%d new stacks: dense ids 2..%d, created", N - 1, N);
	for (uint32_t i = 2; i <= N; i++) {
		uint64_t hash = stack_hash(i);
		if (hc_heap_lookup(&h, hash) != i || hc_heap_intern(&h, hash, &created) != i ||
		    created)
			bad++;
	}
	is_int(bad, 0, "after growth every hash still maps to its id");
	is_u64(h.nsites, N + 1, "nsites counts site 0 and every stack");
	hc_heap_release(&h);
}

/* --- the collector's merge, by hand ---------------------------------------- */

static char merged[512];

/* Each event as the merge passes it on: kind letter, stamp, '*' if a free
 * may be applied at once. */
static void note_event(void *ctx, const uint64_t *e, int now)
{
	(void)ctx;
	size_t n = strlen(merged);
	uint64_t ts = 0;
	char kind = '?';
	switch (HC_EV_KIND(e[0])) {
	case HC_EV_ALLOC: kind = 'a'; ts = e[3]; break;
	case HC_EV_FREE: kind = 'f'; ts = e[2]; break;
	case HC_EV_STACK: kind = 's'; ts = e[1]; break;
	}
	snprintf(merged + n, sizeof(merged) - n, "%s%c%" PRIu64 "%s", n ? " " : "", kind, ts,
		 now && kind == 'f' ? "*" : "");
}

static struct hc_ring *hand_ring(struct hc_ring **list)
{
	struct hc_ring *r = hc_ring_new(4096);
	if (!r)
		exit(99);
	atomic_store(&r->state, HC_RING_OWNED);
	r->next = *list;
	*list = r;
	return r;
}

/* An ALLOC or FREE at ts, or a STACK whose hash is ts. */
static void put(struct hc_ring *r, int kind, uint64_t ts)
{
	unsigned words = kind == HC_EV_ALLOC ? 5 : 3;
	uint64_t *e = hc_ring_reserve(r, words);
	memset(e, 0, words * 8);
	e[0] = HC_EV_HDR(kind, words, kind == HC_EV_STACK);
	e[1] = kind == HC_EV_STACK ? ts : P;
	e[kind == HC_EV_ALLOC ? 3 : 2] = kind == HC_EV_STACK ? 0x401000 : ts;
	hc_ring_commit(r, words);
}

static const char *merge_now(struct hc_merge *m, struct hc_ring *list, uint64_t *corrupt)
{
	merged[0] = '\0';
	hc_merge_look(m, list);
	hc_merge_drain(m, list, note_event, NULL, corrupt);
	return merged;
}

/* A drain with an event published between its two looks. */
static const char *merge_around(struct hc_merge *m, struct hc_ring *list, uint64_t *corrupt,
				struct hc_ring *r, int kind, uint64_t ts)
{
	merged[0] = '\0';
	hc_merge_look(m, list);
	put(r, kind, ts);
	hc_merge_drain(m, list, note_event, NULL, corrupt);
	return merged;
}

static void test_merge(void)
{
	struct hc_merge m = {0};
	struct hc_ring *list = NULL;
	uint64_t corrupt = 0;
	struct hc_ring *a = hand_ring(&list), *b = hand_ring(&list);
	put(a, HC_EV_ALLOC, 10);
	put(a, HC_EV_FREE, 40);
	put(b, HC_EV_ALLOC, 20);
	put(b, HC_EV_FREE, 30);
	put(b, HC_EV_ALLOC, 50);
	is_str(merge_now(&m, list, &corrupt), "a10 a20 f30* f40* a50",
	       "merge: two rings in stamp order, frees at once");

	put(a, HC_EV_ALLOC, 60);
	put(b, HC_EV_ALLOC, 65);
	is_str(merge_around(&m, list, &corrupt, a, HC_EV_FREE, 70), "a60 a65 f70",
	       "  a free published between the two looks waits a round");

	put(a, HC_EV_ALLOC, 72);
	is_str(merge_around(&m, list, &corrupt, a, HC_EV_FREE, 74), "a72",
	       "  one ring with events: drained up to its first look");
	is_str(merge_now(&m, list, &corrupt), "f74*", "  the rest in the next drain, frees at once");

	put(a, HC_EV_ALLOC, 80);
	put(a, HC_EV_FREE, 90);
	put(b, HC_EV_ALLOC, 90);
	is_str(merge_now(&m, list, &corrupt), "a80 f90 a90",
	       "  so does a free stamped like another ring's next event");

	put(a, HC_EV_ALLOC, 100);
	put(a, HC_EV_FREE, 120);
	put(a, HC_EV_ALLOC, 110);
	put(b, HC_EV_ALLOC, 104);
	put(b, HC_EV_FREE, 106);
	uint64_t unordered = m.unordered;
	is_str(merge_now(&m, list, &corrupt), "a100 a104 f106 f120 a110",
	       "  a ring out of stamp order: each ring's order kept, every free waits");
	ok(m.unordered == unordered + 1, "  and the drain is counted (%" PRIu64 ")", m.unordered);

	put(b, HC_EV_ALLOC, 205);
	merged[0] = '\0';
	hc_merge_look(&m, list);
	struct hc_ring *c = hand_ring(&list);
	put(c, HC_EV_ALLOC, 200);
	put(c, HC_EV_FREE, 210);
	hc_merge_drain(&m, list, note_event, NULL, &corrupt);
	is_str(merged, "a200 a205 f210",
	       "  a ring linked after the first look is drained; its frees wait");

	put(a, HC_EV_STACK, 7);
	put(a, HC_EV_ALLOC, 300);
	put(b, HC_EV_ALLOC, 290);
	is_str(merge_now(&m, list, &corrupt), "s7 a290 a300",
	       "  a stack is passed on where it stands, before the alloc after it");

	uint64_t *e = hc_ring_reserve(a, 2);
	e[0] = HC_EV_HDR(HC_EV_ALLOC, 0, 0); /* zero words */
	e[1] = 0;
	hc_ring_commit(a, 2);
	put(a, HC_EV_ALLOC, 310);
	put(b, HC_EV_ALLOC, 305);
	is_str(merge_now(&m, list, &corrupt), "a305", "  a malformed event ends its ring's drain");
	ok(corrupt == 1 && atomic_load(&a->tail) == atomic_load(&a->head),
	   "  counted once (%" PRIu64 "), and the ring's space freed", corrupt);
	put(a, HC_EV_ALLOC, 320);
	is_str(merge_now(&m, list, &corrupt), "a320", "  the next drain goes on (%" PRIu64
	       " malformed)", corrupt);

	put(b, HC_EV_FREE, 500);
	merged[0] = '\0';
	hc_merge_look(&m, list);
	put(b, HC_EV_FREE, 510);
	atomic_store(&b->state, HC_RING_DEAD);
	uint64_t recycled = atomic_load(&hc_rings_recycled);
	hc_merge_drain(&m, list, note_event, NULL, &corrupt);
	is_str(merged, "f500*", "  a dead thread's ring is drained up to its first look");
	ok(atomic_load(&b->state) == HC_RING_DEAD, "  and not recycled while events are left");
	is_str(merge_now(&m, list, &corrupt), "f510*", "  the next drain takes the rest");
	ok(atomic_load(&b->state) == HC_RING_FREE && atomic_load(&hc_rings_recycled) == recycled + 1,
	   "  and recycles it");
	put(a, HC_EV_ALLOC, 600);
	is_str(merge_now(&m, list, &corrupt), "a600", "  a FREE ring is skipped");

	hc_merge_release(&m);
	size_t hdr = (sizeof(struct hc_ring) + 4095) & ~(size_t)4095;
	for (struct hc_ring *r = list, *next; r; r = next) {
		next = r->next;
		hc_unmap(r, hdr + r->size);
	}
}

int main(int argc, char **argv)
{
	if (argc == 3 || argc == 4) { /* replay one seed */
		int k = atoi(argv[1]);
		uint64_t seed = strtoull(argv[2], NULL, 0);
		if (k < 0 || k >= NSHAPES) {
			fprintf(stderr, "usage: test-heap [SHAPE(0..%d) SEED [merge]]\n", NSHAPES - 1);
			return 2;
		}
		char err[512];
		int merge = argc == 4 && !strcmp(argv[3], "merge");
		int rc = run_seed(&shapes[k], seed, merge, NULL, err, sizeof(err));
		ok(!rc, "%s%s: seed %" PRIu64, merge ? "merged: " : "", shapes[k].name, seed);
		if (rc)
			diag("%s", err);
		return done_testing();
	}
	double t0 = now_s();
	test_intern();
	test_free_after_reuse();
	test_alloc_drained_after_free();
	test_reuse_in_one_round();
	test_unknown_free();
	test_table_wrap();
	test_sampled();
	test_promote();
	test_bad_site();
	test_block_packing();
	probe_equal_ts();
	test_merge();
	test_shapes();
	diag("total %.2f s", now_s() - t0);
	return done_testing();
}
