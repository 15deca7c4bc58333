/* The collector's drain: the events every ring has published, merged into
 * time-stamp order, each free told whether it may be applied at once.
 *
 * Why. A free must be matched to the latest allocation at its address that
 * precedes it, and that allocation may sit in another thread's ring. Drained
 * ring by ring, a free can only be applied a round later (heap.h), and every
 * reuse of an address in between goes through the heap's retired lists, and
 * the model's live bytes (its peak) run high. Merged by stamp, a
 * free can be applied when it is processed, if two things hold:
 *  - its allocation is in this drain. Heads are read twice: every ring
 *    (first look), then every ring again (second look), and the drain takes
 *    each ring up to its second look. A free published before the first look
 *    at its ring was published after the event of the allocation it frees
 *    (the program handed the block over, or one thread did both), so that
 *    event was published before the second look at its own ring;
 *  - every event of this drain stamped before it has been processed. The
 *    merge takes the ring whose next event has the lowest stamp; each ring's
 *    events are checked to be in stamp order first (if one ring's are not,
 *    no free of this drain is applied at once), and a free is applied at
 *    once only if every other ring's next event is stamped after it.
 * Frees that fail either test take the heap's old way (a round late), which
 * stays exact on its own. When only one ring has events, the drain stops at
 * its first look (drain_one), so that no free has to wait.
 * Like hc_ring_drain, it frees each ring's space (every 64 KiB, so that a
 * producer waiting for room does not wait for the whole drain) and
 * recycles a DEAD ring once it is empty.
 */
#include <string.h>

#include "internal.h"
#include "mem.h"

struct hc_merge_cursor {
	struct hc_ring *r;
	int state;
	uint64_t first;   /* head at the first look: frees before it may go at once */
	uint64_t pos;     /* the keyed event at e, or the end */
	uint64_t next;    /* the event after e */
	uint64_t end;     /* where processing stops: the second look's head, or a
			   * malformed event */
	uint64_t head;    /* the second look's head */
	uint64_t done;    /* the space freed after the drain: head, or the
			   * first look when the events after it wait */
	const uint64_t *e;
	uint64_t key;     /* e's (first) stamp */
	uint64_t freed;   /* the tail last published */
};

/* Gives the producer the space of what is processed so far, every 64 KiB:
 * a thread waiting for room in a full ring must not wait for the whole
 * drain of every ring. */
static inline void progress(struct hc_merge_cursor *c)
{
	if (unlikely(c->pos - c->freed >= (64u << 10))) {
		hc_ring_free_space(c->r, c->pos);
		c->freed = c->pos;
	}
}

/* The stamp an event is merged by (a realloc's: its free's) and the last it
 * carries. 0 for events without one (stacks; too short to hold one): they
 * are processed where they stand. */
static inline __attribute__((always_inline)) int stamps(const uint64_t *e, uint64_t *first,
							 uint64_t *last)
{
	uint64_t words = HC_EV_WORDS(e[0]);
	switch (HC_EV_KIND(e[0])) {
	case HC_EV_ALLOC:
	case HC_EV_MMAP:
		if (words < 5)
			return 0;
		*first = *last = e[3];
		return 1;
	case HC_EV_FREE:
	case HC_EV_EXIT:
	case HC_EV_MUNMAP:
		if (words < 3)
			return 0;
		*first = *last = e[2];
		return 1;
	case HC_EV_REALLOC:
	case HC_EV_MREMAP:
		if (words < 7)
			return 0;
		*first = e[4];
		*last = e[5];
		return 1;
	case HC_EV_EXEC:
		if (words < 2)
			return 0;
		*first = *last = e[1];
		return 1;
	}
	return 0;
}

static const uint64_t *at(const struct hc_ring *r, uint64_t pos)
{
	return (const uint64_t *)(r->data + (pos & (r->size - 1)));
}

/* Whether an event of `words` words at pos is malformed: counted, and the
 * rest of the ring's drain skipped, as hc_ring_drain does. */
static int malformed(struct hc_merge_cursor *c, uint64_t words, uint64_t *corrupt)
{
	if (words && c->pos + words * 8 <= c->end)
		return 0;
	++*corrupt; /* cannot happen: only record.c writes rings */
	c->end = c->pos;
	c->done = c->head;
	return 1;
}

/* Whether the cursor's events are in stamp order (each stamp at or after
 * the last one before it). */
static int in_order(struct hc_merge_cursor *c, uint64_t *corrupt)
{
	uint64_t last = 0, start = c->pos;
	int ordered = 1;
	while (c->pos != c->end) {
		const uint64_t *e = at(c->r, c->pos);
		uint64_t words = HC_EV_WORDS(e[0]), a, b;
		if (malformed(c, words, corrupt))
			break;
		if (HC_EV_KIND(e[0]) != HC_EV_PAD && stamps(e, &a, &b)) {
			if (a < last || b < a) {
				ordered = 0;
				break;
			}
			last = b;
		}
		c->pos += words * 8;
	}
	c->pos = start;
	return ordered;
}

/* Moves to the next event with a stamp, processing those without. */
static size_t advance(struct hc_merge_cursor *c, hc_merge_fn fn, void *ctx, uint64_t *corrupt)
{
	size_t n = 0;
	c->e = NULL;
	while (c->pos != c->end) {
		const uint64_t *e = at(c->r, c->pos);
		uint64_t words = HC_EV_WORDS(e[0]), a, b;
		if (malformed(c, words, corrupt))
			break;
		if (HC_EV_KIND(e[0]) != HC_EV_PAD) {
			if (stamps(e, &a, &b)) {
				c->e = e;
				c->key = a;
				c->next = c->pos + words * 8;
				break;
			}
			fn(ctx, e, 0);
			n++;
		}
		c->pos += words * 8;
	}
	return n;
}

/* The drain when only one ring has events: in ring order, up to its first
 * look, so that every free goes at once (the events after it wait for the
 * next drain, whose first look they precede). No stamp order is needed:
 * an allocation that precedes one of these frees and is in this drain is
 * in this ring, before it. So a single-threaded program's heap is modelled
 * exactly at every event, its peak included. */
static size_t drain_one(struct hc_merge_cursor *c, hc_merge_fn fn, void *ctx, uint64_t *corrupt)
{
	if (c->first - c->pos < c->end - c->pos)
		c->end = c->done = c->first;
	size_t n = 0;
	while (c->pos != c->end) {
		const uint64_t *e = at(c->r, c->pos);
		uint64_t words = HC_EV_WORDS(e[0]);
		if (malformed(c, words, corrupt))
			break;
		if (HC_EV_KIND(e[0]) != HC_EV_PAD) {
			fn(ctx, e, 1);
			n++;
		}
		c->pos += words * 8;
		progress(c);
	}
	return n;
}

/* Room for `need` cursors and as many pointers to the active ones. */
static int grow(struct hc_merge *m, size_t need)
{
	if (need <= m->cap)
		return 0;
	size_t ncap = m->cap ? m->cap * 2 : 64;
	while (ncap < need)
		ncap *= 2;
	struct hc_merge_cursor **act = hc_map(ncap * sizeof(*act));
	struct hc_merge_cursor *cur =
		act ? hc_remap(m->cur, m->cap * sizeof(*cur), ncap * sizeof(*cur)) : NULL;
	if (!cur) {
		hc_unmap(act, ncap * sizeof(*act));
		return -1;
	}
	hc_unmap(m->act, m->cap * sizeof(*m->act));
	m->cur = cur;
	m->act = act;
	m->cap = ncap;
	return 0;
}

void hc_merge_look(struct hc_merge *m, struct hc_ring *list)
{
	m->seen = list;
	m->n = 0;
	m->short_of_memory = 0;
	for (struct hc_ring *r = list; r; r = r->next) {
		if (grow(m, m->n + 1)) {
			m->short_of_memory = 1;
			return;
		}
		struct hc_merge_cursor *c = &m->cur[m->n++];
		c->r = r;
		c->state = atomic_load_explicit(&r->state, memory_order_acquire);
		c->first = c->state == HC_RING_FREE
				   ? 0
				   : atomic_load_explicit(&r->head, memory_order_acquire);
	}
}

struct plain {
	hc_merge_fn fn;
	void *ctx;
};

static void plain_event(void *ctx, const uint64_t *e)
{
	struct plain *p = ctx;
	p->fn(p->ctx, e, 0);
}

/* Without room for the cursors: ring by ring, every free a round late. */
static size_t drain_plain(struct hc_ring *list, hc_merge_fn fn, void *ctx, uint64_t *corrupt)
{
	struct plain p = {fn, ctx};
	size_t n = 0;
	for (struct hc_ring *r = list; r; r = r->next)
		n += hc_ring_drain(r, plain_event, &p, corrupt);
	return n;
}

/* The k cursors' events, the lowest next stamp first. *ordered: whether
 * every ring's events were in stamp order (else no free goes at once). */
static size_t merge(struct hc_merge *m, size_t k, hc_merge_fn fn, void *ctx, uint64_t *corrupt,
		    int *ordered)
{
	for (size_t i = 0; i < k && *ordered; i++)
		*ordered = in_order(&m->cur[i], corrupt);
	size_t n = 0, active = 0;
	for (size_t i = 0; i < k; i++) {
		n += advance(&m->cur[i], fn, ctx, corrupt);
		if (m->cur[i].e)
			m->act[active++] = &m->cur[i];
	}
	while (active) {
		size_t j = 0;
		uint64_t low = m->act[0]->key, second = UINT64_MAX;
		for (size_t i = 1; i < active; i++) {
			uint64_t key = m->act[i]->key;
			if (key < low) {
				second = low;
				low = key;
				j = i;
			} else if (key < second) {
				second = key;
			}
		}
		/* Its events up to the next ring's; a free at once only if
		 * stamped before every other ring's next event. */
		struct hc_merge_cursor *c = m->act[j];
		do {
			fn(ctx, c->e, *ordered && c->pos < c->first && c->key < second);
			n++;
			c->pos = c->next;
			n += advance(c, fn, ctx, corrupt);
			progress(c);
		} while (c->e && c->key <= second);
		if (!c->e)
			m->act[j] = m->act[--active];
	}
	return n;
}

size_t hc_merge_drain(struct hc_merge *m, struct hc_ring *list, hc_merge_fn fn, void *ctx,
		      uint64_t *corrupt)
{
	m->drains++;
	/* Rings linked since the first look come first in the list: they get
	 * cursors of their own, with no free before a first look. */
	size_t fresh = 0;
	for (struct hc_ring *r = list; r && r != m->seen; r = r->next)
		fresh++;
	if (m->short_of_memory || grow(m, m->n + fresh + 1)) {
		m->unordered++;
		return drain_plain(list, fn, ctx, corrupt);
	}
	memmove(m->cur + fresh, m->cur, m->n * sizeof(*m->cur));
	struct hc_ring *r = list;
	for (size_t i = 0; i < fresh; i++, r = r->next)
		m->cur[i] = (struct hc_merge_cursor){.r = r, .state = HC_RING_FREE};
	size_t total = m->n + fresh;

	/* The second look: a cursor for every ring not FREE (a DEAD one
	 * empty is still recycled), and which of them have events. */
	int ordered = 1;
	size_t k = 0, busy = 0, one = 0;
	for (size_t i = 0; i < total; i++) {
		struct hc_merge_cursor c = m->cur[i];
		int was_free = c.state == HC_RING_FREE;
		/* state before head: a ring seen DEAD has all its events published */
		c.state = atomic_load_explicit(&c.r->state, memory_order_acquire);
		if (c.state == HC_RING_FREE)
			continue;
		c.end = c.head = c.done = atomic_load_explicit(&c.r->head, memory_order_acquire);
		c.pos = c.freed = atomic_load_explicit(&c.r->tail, memory_order_relaxed);
		if (was_free)
			c.first = c.pos;
		if (c.pos != c.end) {
			busy++;
			one = k;
		}
		m->cur[k++] = c;
	}
	size_t n = busy > 1 ? merge(m, k, fn, ctx, corrupt, &ordered)
		   : busy ? drain_one(&m->cur[one], fn, ctx, corrupt) : 0;
	m->left = 0;
	for (size_t i = 0; i < k; i++) {
		m->left |= m->cur[i].done != m->cur[i].head;
		hc_ring_consumed(m->cur[i].r, m->cur[i].done, m->cur[i].state);
	}
	if (!ordered)
		m->unordered++;
	m->n = 0;
	return n;
}

void hc_merge_release(struct hc_merge *m)
{
	hc_unmap(m->cur, m->cap * sizeof(*m->cur));
	hc_unmap(m->act, m->cap * sizeof(*m->act));
	memset(m, 0, sizeof(*m));
}
