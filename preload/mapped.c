/* The collector's live anonymous mappings (see mapped.h): a sorted array of
 * disjoint ranges, the heap model holding one block per range. Mappings are
 * few (the kernel allows 65 530 by default) and their calls rare, so an
 * insert or a cut moves part of the array. */
#include "mapped.h"

#include <string.h>

#include "mem.h"

static int grow(void **p, size_t *cap, size_t esize, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 64;
	while (ncap < need)
		ncap *= 2;
	void *q = hc_remap(*p, *cap * esize, ncap * esize);
	if (!q)
		return -1;
	*p = q;
	*cap = ncap;
	return 0;
}

void hc_mapped_init(struct hc_mapped *m, uint64_t page)
{
	memset(m, 0, sizeof(*m));
	m->page = page && !(page & (page - 1)) ? page : 4096;
}

void hc_mapped_release(struct hc_mapped *m)
{
	hc_unmap(m->v, m->cap * sizeof(*m->v));
	for (int i = 0; i < 2; i++)
		hc_unmap(m->ops[i], m->ops_cap[i] * sizeof(*m->ops[i]));
	memset(m, 0, sizeof(*m));
}

/* [lo, hi) of a call's range in whole pages; 0 for none (or one that
 * wraps: the kernel refused it). */
static int range(const struct hc_mapped *m, uint64_t p, uint64_t len, uint64_t *lo,
		 uint64_t *hi)
{
	uint64_t n = (len + m->page - 1) & ~(m->page - 1);
	*lo = p;
	*hi = p + n;
	return n != 0 && n >= len && *hi > p;
}

/* The first mapping that ends after lo. */
static size_t first_after(const struct hc_mapped *m, uint64_t lo)
{
	size_t a = 0, b = m->len;
	while (a < b) {
		size_t mid = a + (b - a) / 2;
		if (m->v[mid].hi > lo)
			b = mid;
		else
			a = mid + 1;
	}
	return a;
}

static int insert(struct hc_mapped *m, size_t i, struct hc_mapping e)
{
	if (grow((void **)&m->v, &m->cap, sizeof(*m->v), m->len + 1))
		return -1;
	memmove(m->v + i + 1, m->v + i, (m->len - i) * sizeof(*m->v));
	m->v[i] = e;
	m->len++;
	m->live += e.hi - e.lo;
	return 0;
}

/* A piece left of a mapping cut at ts: a new block of its site. */
static size_t keep_piece(struct hc_mapped *m, struct hc_heap *h, size_t i, uint64_t lo,
			 uint64_t hi, uint64_t ts, const struct hc_mapping *of)
{
	uint32_t site = of->site;
	if (insert(m, i, (struct hc_mapping){lo, hi, ts, of->born, site})) {
		h->dropped++;
		return 0;
	}
	hc_heap_alloc(h, lo, hi - lo, ts, site);
	return 1;
}

/* Ends what [lo, hi) covers of the mappings made at or before `before`, at
 * ts. Returns whether it covered any. */
static int cut(struct hc_mapped *m, struct hc_heap *h, uint64_t lo, uint64_t hi, uint64_t ts,
	       uint64_t before)
{
	int any = 0;
	size_t i = first_after(m, lo);
	while (i < m->len && m->v[i].lo < hi) {
		struct hc_mapping e = m->v[i];
		if (e.born > before) {
			i++;
			continue;
		}
		any = 1;
		memmove(m->v + i, m->v + i + 1, (m->len - i - 1) * sizeof(*m->v));
		m->len--;
		m->live -= e.hi - e.lo;
		/* A piece cut later than this unmap (a mapping over it came
		 * first) ends when it began: its block lived no time. */
		uint64_t at = ts > e.ts ? ts : e.ts;
		hc_heap_free_now(h, e.lo, at);
		if (e.lo < lo)
			i += keep_piece(m, h, i, e.lo, lo, at, &e);
		if (e.hi > hi)
			i += keep_piece(m, h, i, hi, e.hi, at, &e);
	}
	return any;
}

static void map_range(struct hc_mapped *m, struct hc_heap *h, uint64_t lo, uint64_t hi,
		      uint64_t ts, uint32_t site)
{
	/* A live mapping here made after this one: this one was unmapped
	 * before it, by an unmap still on its way, that will find nothing.
	 * Only events out of stamp order can do that; counted. */
	for (size_t i = first_after(m, lo); i < m->len && m->v[i].lo < hi; i++) {
		if (m->v[i].born > ts) {
			h->dropped++;
			return;
		}
	}
	cut(m, h, lo, hi, ts, ts);
	if (insert(m, first_after(m, lo), (struct hc_mapping){lo, hi, ts, ts, site})) {
		h->dropped++;
		return;
	}
	hc_heap_alloc(h, lo, hi - lo, ts, site);
}

static void apply(struct hc_mapped *m, struct hc_heap *h, const struct hc_map_op *o)
{
	int traced = !o->hi || cut(m, h, o->lo, o->hi, o->ts_free, o->ts_free);
	if (traced && o->new_hi)
		map_range(m, h, o->new_lo, o->new_hi, o->ts, o->site);
}

/* Applies o now, or queues it: when the merge cannot say its predecessors
 * are in, or a call before it waits. */
static void submit(struct hc_mapped *m, struct hc_heap *h, const struct hc_map_op *o, int now)
{
	if (now && !m->ops_len[0] && !m->ops_len[1]) {
		apply(m, h, o);
		return;
	}
	int c = m->cur;
	if (grow((void **)&m->ops[c], &m->ops_cap[c], sizeof(*m->ops[c]), m->ops_len[c] + 1)) {
		h->dropped++;
		return;
	}
	m->ops[c][m->ops_len[c]++] = *o;
}

void hc_mapped_map(struct hc_mapped *m, struct hc_heap *h, uint64_t p, uint64_t len,
		   uint64_t ts, uint32_t site)
{
	struct hc_map_op o = {.key = ts, .ts = ts, .site = site};
	if (range(m, p, len, &o.new_lo, &o.new_hi))
		submit(m, h, &o, 1);
}

void hc_mapped_unmap(struct hc_mapped *m, struct hc_heap *h, uint64_t p, uint64_t len,
		     uint64_t ts, int now)
{
	struct hc_map_op o = {.key = ts, .ts_free = ts};
	if (range(m, p, len, &o.lo, &o.hi))
		submit(m, h, &o, now);
}

void hc_mapped_remap(struct hc_mapped *m, struct hc_heap *h, uint64_t old, uint64_t old_len,
		     uint64_t p, uint64_t len, uint64_t ts_free, uint64_t ts, uint32_t site,
		     int now)
{
	struct hc_map_op o = {.key = ts_free, .ts_free = ts_free, .ts = ts, .site = site};
	if (!range(m, old, old_len, &o.lo, &o.hi))
		return;
	if (!range(m, p, len, &o.new_lo, &o.new_hi))
		o.new_lo = o.new_hi = 0;
	submit(m, h, &o, now);
}

/* Applies a round's waiting ops in stamp order (a stable insertion sort:
 * they are few, and libc's qsort may allocate). */
static void apply_list(struct hc_mapped *m, struct hc_heap *h, int which)
{
	struct hc_map_op *v = m->ops[which];
	size_t n = m->ops_len[which];
	for (size_t i = 1; i < n; i++) {
		struct hc_map_op x = v[i];
		size_t j = i;
		for (; j > 0 && v[j - 1].key > x.key; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
	for (size_t i = 0; i < n; i++)
		apply(m, h, &v[i]);
	m->ops_len[which] = 0;
}

void hc_mapped_round(struct hc_mapped *m, struct hc_heap *h)
{
	apply_list(m, h, m->cur ^ 1);
	m->cur ^= 1;
}

void hc_mapped_settle(struct hc_mapped *m, struct hc_heap *h)
{
	apply_list(m, h, m->cur ^ 1);
	apply_list(m, h, m->cur);
}

size_t hc_mapped_count(const struct hc_mapped *m)
{
	return m->len;
}

uint64_t hc_mapped_live_bytes(const struct hc_mapped *m)
{
	return m->live;
}
