/* What a dormant process's collector keeps from one window to the next: the
 * stacks (frames by hash) and the Python code objects (their CODE events)
 * it was sent. A thread sends a stack or a code object once (its ring's
 * caches), so the second window's trace would otherwise name stacks it does
 * not hold. Collector thread only; mmap memory (mem.c), never freed: it is
 * what the process has run, and grows with its distinct stacks, not with
 * time.
 */
#include <string.h>

#include "internal.h"
#include "mem.h"

struct slot {
	uint64_t key; /* 0: empty (hash 0 and code id 0 are never sent) */
	uint64_t at;  /* word offset in the arena */
	uint64_t words;
};

struct table {
	struct slot *slots;
	size_t cap, len; /* cap a power of two */
};

static struct {
	struct table stacks, codes;
	uint64_t *arena;
	size_t words, cap;
} K;

static uint64_t mix(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	return k ^ (k >> 33);
}

static struct slot *lookup(const struct table *t, uint64_t key)
{
	if (!t->cap)
		return NULL;
	for (size_t i = mix(key) & (t->cap - 1);; i = (i + 1) & (t->cap - 1)) {
		struct slot *s = &t->slots[i];
		if (s->key == key || !s->key)
			return s;
	}
}

static int grow_table(struct table *t)
{
	if ((t->len + 1) * 4 < t->cap * 3)
		return 0;
	size_t ncap = t->cap ? t->cap * 2 : 1024;
	struct slot *n = hc_map(ncap * sizeof(*n));
	if (!n)
		return -1;
	struct table nt = {n, ncap, t->len};
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].key)
			*lookup(&nt, t->slots[i].key) = t->slots[i];
	if (t->slots)
		hc_unmap(t->slots, t->cap * sizeof(*t->slots));
	*t = nt;
	return 0;
}

static int put(struct table *t, uint64_t key, const uint64_t *words, size_t n)
{
	if (!key || grow_table(t))
		return -1;
	struct slot *s = lookup(t, key);
	if (s->key)
		return 0; /* the first copy stays: a hash or an id names one thing */
	if (K.words + n > K.cap) {
		size_t ncap = K.cap ? K.cap * 2 : 1u << 16;
		while (ncap < K.words + n)
			ncap *= 2;
		uint64_t *a = hc_remap(K.arena, K.cap * 8, ncap * 8);
		if (!a)
			return -1;
		K.arena = a;
		K.cap = ncap;
	}
	memcpy(K.arena + K.words, words, n * 8);
	*s = (struct slot){key, K.words, n};
	K.words += n;
	t->len++;
	return 0;
}

static const uint64_t *get(const struct table *t, uint64_t key, size_t *n)
{
	const struct slot *s = key ? lookup(t, key) : NULL;
	if (!s || !s->key)
		return NULL;
	*n = s->words;
	return K.arena + s->at;
}

int hc_keep_stack(uint64_t hash, const uint64_t *frames, unsigned n)
{
	return put(&K.stacks, hash, frames, n);
}

const uint64_t *hc_kept_stack(uint64_t hash, unsigned *n)
{
	size_t w;
	const uint64_t *f = get(&K.stacks, hash, &w);
	*n = f ? (unsigned)w : 0;
	return f;
}

int hc_keep_code(uint64_t id, const uint64_t *event)
{
	return put(&K.codes, id, event, HC_EV_WORDS(event[0]));
}

const uint64_t *hc_kept_code(uint64_t id)
{
	size_t w;
	return get(&K.codes, id, &w);
}
