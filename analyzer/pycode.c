/* The trace's Python code objects and the merge of Python frames into
 * native stacks (pycode.h). Lines are decoded here, offline, from the line
 * tables the shim copied (pylines.c); the shim never decodes.
 */
#include "pycode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "hash.h"
#include "pylines.h"

void hc_pyversion(char *buf, size_t cap, unsigned version)
{
	snprintf(buf, cap, "%u.%u.%u", version >> 24, (version >> 16) & 0xff, (version >> 8) & 0xff);
}

int hc_pycodes_every_object(const struct hc_pycodes *p)
{
	return p->pymalloc && (!strcmp(p->pymalloc, "malloc") || !strcmp(p->pymalloc, "malloc_debug"));
}

void hc_pycodes_init(struct hc_pycodes *p)
{
	memset(p, 0, sizeof(*p));
}

void hc_pycodes_release(struct hc_pycodes *p)
{
	for (size_t i = 0; i < p->ncodes; i++) {
		free(p->codes[i].qualname);
		free(p->codes[i].filename);
		free(p->codes[i].table);
	}
	free(p->codes);
	free(p->index);
	free(p->memo_key);
	free(p->memo_line);
	free(p->path);
	free(p->pymalloc);
	memset(p, 0, sizeof(*p));
}

static char *dup(struct hc_str s)
{
	char *d = malloc(s.len + 1);
	if (d) {
		memcpy(d, s.p, s.len);
		d[s.len] = '\0';
	}
	return d;
}

static uint64_t content_hash(const struct hc_code_rec *k)
{
	uint64_t h = hc_mix64((uint64_t)k->firstlineno);
	const struct hc_str *s[] = {&k->qualname, &k->filename, &k->linetable};
	for (int i = 0; i < 3; i++) {
		h = hc_mix64(h ^ s[i]->len);
		for (size_t j = 0; j < s[i]->len; j++)
			h = (h ^ (uint8_t)s[i]->p[j]) * 0x100000001b3ull;
	}
	return h;
}

static int same(const struct hc_pycode *c, const struct hc_code_rec *k)
{
	return c->firstlineno == k->firstlineno && strlen(c->qualname) == k->qualname.len &&
	       !memcmp(c->qualname, k->qualname.p, k->qualname.len) &&
	       strlen(c->filename) == k->filename.len &&
	       !memcmp(c->filename, k->filename.p, k->filename.len) && c->tlen == k->linetable.len &&
	       (!c->tlen || !memcmp(c->table, k->linetable.p, c->tlen));
}

/* The first id with this content, after adding id if it is the first. */
static int canonical(struct hc_pycodes *p, const struct hc_code_rec *k, uint32_t id,
		     uint32_t *canon)
{
	if ((p->nindexed + 1) * 2 > p->icap) {
		size_t ncap = p->icap ? p->icap * 2 : 1024;
		uint64_t *ni = calloc(ncap, sizeof(*ni));
		if (!ni)
			return -ENOMEM;
		for (size_t i = 0; i < p->icap; i++) {
			if (!p->index[i])
				continue;
			size_t j = hc_mix64(p->index[i] >> 32) & (ncap - 1);
			while (ni[j])
				j = (j + 1) & (ncap - 1);
			ni[j] = p->index[i];
		}
		free(p->index);
		p->index = ni;
		p->icap = ncap;
	}
	uint32_t h = (uint32_t)content_hash(k);
	size_t j = hc_mix64(h) & (p->icap - 1);
	for (; p->index[j]; j = (j + 1) & (p->icap - 1)) {
		uint32_t other = (uint32_t)p->index[j];
		if ((uint32_t)(p->index[j] >> 32) == h && same(&p->codes[other], k)) {
			*canon = other;
			return 0;
		}
	}
	p->index[j] = (uint64_t)h << 32 | id;
	p->nindexed++;
	*canon = id;
	return 0;
}

int hc_pycodes_add(struct hc_pycodes *p, const struct hc_rec *rec)
{
	if (rec->type == HC_REC_PYTHON) {
		struct hc_python_rec py;
		if (hc_decode_python(rec, &py) || py.eval_hi < py.eval_lo)
			return -EBADMSG;
		char *path = dup(py.path), *pm = dup(py.pymalloc);
		if (!path || !pm) {
			free(path);
			free(pm);
			return -ENOMEM;
		}
		free(p->path);
		free(p->pymalloc);
		p->path = path;
		p->pymalloc = pm;
		p->version = (unsigned)py.version;
		p->eval_lo = py.eval_lo;
		p->eval_hi = py.eval_hi;
		return 0;
	}
	if (rec->type != HC_REC_CODE)
		return 0;
	struct hc_code_rec k;
	if (hc_decode_code(rec, &k) || k.firstlineno < 0 || k.firstlineno > INT32_MAX)
		return -EBADMSG;
	/* The shim numbers code objects from 1, each sent once; an id is only
	 * skipped when its record could not be sent (counted, rare). One far
	 * beyond the records seen is not a trace we wrote, and must not size
	 * our table. */
	if (k.id > p->records + 65536)
		return -EBADMSG;
	p->records++;
	if (k.id >= p->cap) {
		size_t ncap = p->cap ? p->cap : 256;
		while (ncap <= k.id)
			ncap *= 2;
		struct hc_pycode *n = realloc(p->codes, ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		memset(n + p->cap, 0, (ncap - p->cap) * sizeof(*n));
		p->codes = n;
		p->cap = ncap;
	}
	if (k.id >= p->ncodes)
		p->ncodes = k.id + 1;
	struct hc_pycode *c = &p->codes[k.id];
	if (c->canon)
		return 0; /* the same id twice: the first stays */
	c->qualname = dup(k.qualname);
	c->filename = dup(k.filename);
	c->table = malloc(k.linetable.len ? k.linetable.len : 1);
	if (!c->qualname || !c->filename || !c->table)
		return -ENOMEM;
	memcpy(c->table, k.linetable.p, k.linetable.len);
	c->tlen = k.linetable.len;
	c->firstlineno = k.firstlineno;
	c->flags = (uint32_t)k.flags;
	return canonical(p, &k, (uint32_t)k.id, &c->canon);
}

const struct hc_pycode *hc_pycodes_get(const struct hc_pycodes *p, uint32_t id)
{
	return id < p->ncodes && p->codes[id].canon ? &p->codes[id] : NULL;
}

/* The line of instruction index of code id: decoded once, then looked up
 * (a line table is read from its start for every lookup). */
static int memo_line(struct hc_pycodes *p, const struct hc_pycode *c, uint32_t id, int64_t index)
{
	uint64_t key = (uint64_t)id << 32 | (uint32_t)(index + 1);
	if ((p->nmemo + 1) * 2 > p->mcap) {
		size_t ncap = p->mcap ? p->mcap * 2 : 4096;
		uint64_t *nk = calloc(ncap, sizeof(*nk));
		uint32_t *nl = calloc(ncap, sizeof(*nl));
		if (!nk || !nl) { /* no memo: decode every time */
			free(nk);
			free(nl);
			return hc_pylines_line((p->version >> 16) & 0xff, (int)c->firstlineno,
					       c->table, c->tlen, index);
		}
		for (size_t i = 0; i < p->mcap; i++) {
			if (!p->memo_key[i])
				continue;
			size_t j = hc_mix64(p->memo_key[i]) & (ncap - 1);
			while (nk[j])
				j = (j + 1) & (ncap - 1);
			nk[j] = p->memo_key[i];
			nl[j] = p->memo_line[i];
		}
		free(p->memo_key);
		free(p->memo_line);
		p->memo_key = nk;
		p->memo_line = nl;
		p->mcap = ncap;
	}
	size_t j = hc_mix64(key) & (p->mcap - 1);
	for (; p->memo_key[j]; j = (j + 1) & (p->mcap - 1))
		if (p->memo_key[j] == key)
			return (int)p->memo_line[j];
	int line = hc_pylines_line((p->version >> 16) & 0xff, (int)c->firstlineno, c->table,
				   c->tlen, index);
	p->memo_key[j] = key; /* never 0: id is never 0 here */
	p->memo_line[j] = line > 0 ? (uint32_t)line : 0;
	p->nmemo++;
	return line;
}

/* The display word of a trace frame word. */
static uint64_t display(struct hc_pycodes *p, uint64_t w)
{
	uint32_t id = hc_pyframe_code(w);
	const struct hc_pycode *c = hc_pycodes_get(p, id);
	if (!c)
		return hc_pydisplay(id, 0);
	int line = memo_line(p, c, id, hc_pyframe_index(w));
	return hc_pydisplay(c->canon, line > 0 ? (uint32_t)line : 0);
}

static int in_eval(const struct hc_pycodes *p, uint64_t a)
{
	/* a return address: the call it returns from is at a - 1 */
	return a > p->eval_lo && a <= p->eval_hi;
}

size_t hc_pycodes_merge(struct hc_pycodes *p, const uint64_t *in, size_t n, int natives_cut,
			uint64_t *out, size_t *lead)
{
	size_t nn = 0;
	while (nn < n && !hc_pyframe_is(in[nn]))
		nn++;
	*lead = 0;
	if (nn == n) { /* no Python frames */
		memcpy(out, in, n * sizeof(*in));
		return n;
	}
	p->stacks++;
	const uint64_t *py = in + nn;
	size_t np = n - nn, pi = 0, k = 0;
	size_t evals = 0, entries = 0;
	for (size_t i = 0; i < nn; i++)
		evals += in_eval(p, in[i]);
	for (size_t i = 0; i < np; i++)
		entries += hc_pyframe_entry(py[i]);
	/* One eval loop more than entry frames: the innermost one has
	 * unlinked its last frame and is clearing it (a frame object made
	 * then allocates), or has not linked its first: it ran no Python
	 * frame the thread still has. It stays a native frame. */
	int surplus = evals == entries + 1;
	int ok = 1, seen_py = 0;
	for (size_t i = 0; i < nn && ok; i++) {
		if (surplus && in_eval(p, in[i])) {
			surplus = 0;
			out[k++] = in[i];
			if (!seen_py)
				(*lead)++;
			continue;
		}
		if (!in_eval(p, in[i])) {
			out[k++] = in[i];
			if (!seen_py)
				(*lead)++;
			continue;
		}
		if (pi == np) {
			ok = 0; /* an eval loop with no Python frame left for it */
			break;
		}
		/* its Python frames: up to and including the next entry frame */
		for (;;) {
			uint64_t w = py[pi++];
			if (hc_pyframe_code(w)) {
				out[k++] = display(p, w);
				seen_py = 1;
			}
			if (hc_pyframe_entry(w))
				break;
			if (pi == np) {
				ok = natives_cut; /* the rest of the run is past the cut */
				break;
			}
		}
	}
	if (ok && pi < np && !natives_cut)
		ok = 0; /* Python frames no native eval loop ran */
	if (ok) {
		for (; pi < np; pi++) /* beyond the native depth limit */
			if (hc_pyframe_code(py[pi])) {
				out[k++] = display(p, py[pi]);
				seen_py = 1;
			}
		if (!seen_py)
			*lead = 0;
		return k;
	}
	/* Counts disagree (-X perf, a custom evaluator): never a guessed
	 * interleave. */
	p->fallbacks++;
	*lead = 0;
	k = 0;
	for (size_t i = 0; i < nn; i++)
		out[k++] = in[i];
	for (pi = 0; pi < np; pi++)
		if (hc_pyframe_code(py[pi]))
			out[k++] = display(p, py[pi]);
	return k;
}
