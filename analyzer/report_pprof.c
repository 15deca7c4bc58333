/* `heapcreep report -f pprof`: a gzip-compressed profile.proto (the format
 * of github.com/google/pprof) for `pprof`, speedscope and the tools that read
 * it. One Sample per site, values [retained_space bytes, retained_objects
 * count, growth_rate bytes_per_second] as of the end of the analysed run;
 * Locations already symbolized (inlined frames as several Lines, innermost
 * first), Mappings with their build-ids so pprof can still symbolize what we
 * could not. The Profile is built whole in memory (it is bounded by sites
 * and frames, not by the trace's length), then deflated onto the stream.
 *
 * Unlike the other formats it reads the trace once more: the symbolizer
 * keeps the module map to itself, and the Mappings need its bounds, file
 * offsets and build-ids, so the MODULES records are read again here (only
 * those are kept). It still never prints: errors are returned, and a write
 * error is left on the stream for the caller's ferror().
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "decode.h"
#include "escape.h"
#include "grow.h"
#include "hash.h"
#include "protobuf.h"
#include "reader.h"
#include "report.h"

/* profile.proto field numbers */
enum {
	PROFILE_SAMPLE_TYPE = 1, PROFILE_SAMPLE = 2, PROFILE_MAPPING = 3, PROFILE_LOCATION = 4,
	PROFILE_FUNCTION = 5, PROFILE_STRING_TABLE = 6, PROFILE_TIME_NANOS = 9,
	PROFILE_DURATION_NANOS = 10, PROFILE_PERIOD_TYPE = 11, PROFILE_PERIOD = 12,
	PROFILE_COMMENT = 13, PROFILE_DEFAULT_SAMPLE_TYPE = 14,
	VALUE_TYPE_TYPE = 1, VALUE_TYPE_UNIT = 2,
	SAMPLE_LOCATION_ID = 1, SAMPLE_VALUE = 2, SAMPLE_LABEL = 3,
	LABEL_KEY = 1, LABEL_STR = 2,
	MAPPING_ID = 1, MAPPING_MEMORY_START = 2, MAPPING_MEMORY_LIMIT = 3,
	MAPPING_FILE_OFFSET = 4, MAPPING_FILENAME = 5, MAPPING_BUILD_ID = 6,
	MAPPING_HAS_FUNCTIONS = 7, MAPPING_HAS_FILENAMES = 8, MAPPING_HAS_LINE_NUMBERS = 9,
	MAPPING_HAS_INLINE_FRAMES = 10,
	LOCATION_ID = 1, LOCATION_MAPPING_ID = 2, LOCATION_ADDRESS = 3, LOCATION_LINE = 4,
	LINE_FUNCTION_ID = 1, LINE_LINE = 2,
	FUNCTION_ID = 1, FUNCTION_NAME = 2, FUNCTION_SYSTEM_NAME = 3, FUNCTION_FILENAME = 4,
};

static uint64_t hash_bytes(const void *p, size_t n, uint64_t h)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

/* Open-addressing slots holding index + 1 (0: empty), grown at half full;
 * the owner compares keys, so the same table serves every kind of entry. */
struct slots {
	uint32_t *v;
	size_t cap, len;
};

struct mapping {
	uint64_t start, end, offset, seq; /* seq: the MODULES record it last came in */
	char *path, *build_id;            /* NUL-terminated; build-id as hex */
	size_t path_len;
	uint32_t id;                      /* in the profile; 0 while unused */
	uint32_t nloc, nfunc, nfile, nline; /* its locations, and how resolved */
};

struct location {
	uint64_t address;
	uint32_t mapping;     /* id, 0: none */
	uint32_t first, nlines;
};

struct line {
	uint32_t function;
	int64_t line;
};

struct function {
	uint32_t name, file;
};

struct pprof {
	struct hc_analysis *a;
	int err;
	/* string_table: strs[0] is "" */
	struct pstr {
		char *s;
		size_t len;
	} *strs;
	size_t nstrs, strs_cap;
	struct slots str_slots;
	/* mappings, sorted by start once loaded; max_end[i] = max end of 0..i */
	struct mapping *maps;
	size_t nmaps, maps_cap;
	uint64_t *max_end;
	uint32_t *used_maps;  /* indices into maps, in id order */
	size_t nused;
	struct location *locs; /* id = index + 1 */
	size_t nlocs, locs_cap;
	struct slots loc_slots;
	struct line *lines;
	size_t nlines, lines_cap;
	struct function *funcs; /* id = index + 1 */
	size_t nfuncs, funcs_cap;
	struct slots func_slots;
};

/* hc_grow, keeping the first error for the whole report. */
static int grow(struct pprof *p, void **v, size_t *cap, size_t elem, size_t need)
{
	if (p->err)
		return -1;
	int rc = hc_grow(v, cap, elem, need);
	if (rc)
		p->err = rc;
	return rc ? -1 : 0;
}

/* Makes room for one more entry in s: rehashes with key(i) when half full. */
static int slots_room(struct pprof *p, struct slots *s, uint64_t (*key)(struct pprof *, uint32_t))
{
	if (p->err)
		return -1;
	if ((s->len + 1) * 2 <= s->cap)
		return 0;
	size_t cap = s->cap ? s->cap * 2 : 1024;
	uint32_t *v = calloc(cap, sizeof(*v));
	if (!v) {
		p->err = -ENOMEM;
		return -1;
	}
	for (size_t i = 0; i < s->cap; i++) {
		if (!s->v[i])
			continue;
		size_t j = key(p, s->v[i] - 1) & (cap - 1);
		while (v[j])
			j = (j + 1) & (cap - 1);
		v[j] = s->v[i];
	}
	free(s->v);
	s->v = v;
	s->cap = cap;
	return 0;
}

/* --- strings --------------------------------------------------------------- */

static uint64_t str_key(struct pprof *p, uint32_t i)
{
	return hash_bytes(p->strs[i].s, p->strs[i].len, 0xcbf29ce484222325ull);
}

/* The index of s in the string table, added if new. proto3 strings must be
 * UTF-8: a byte that is not becomes U+FFFD. 0 (the empty string) on error. */
static uint32_t str_id(struct pprof *p, const char *s, size_t n)
{
	if (p->err || !n)
		return 0;
	char *c = malloc(3 * n + 1);
	if (!c) {
		p->err = -ENOMEM;
		return 0;
	}
	size_t len = 0;
	for (size_t i = 0; i < n;) {
		size_t k = hc_utf8_seq((const uint8_t *)s + i, n - i);
		if (!k) {
			memcpy(c + len, "\xef\xbf\xbd", 3);
			len += 3;
			i++;
		} else {
			memcpy(c + len, s + i, k);
			len += k;
			i += k;
		}
	}
	c[len] = '\0';
	if (slots_room(p, &p->str_slots, str_key)) {
		free(c);
		return 0;
	}
	struct slots *t = &p->str_slots;
	size_t j = hash_bytes(c, len, 0xcbf29ce484222325ull) & (t->cap - 1);
	for (; t->v[j]; j = (j + 1) & (t->cap - 1)) {
		uint32_t i = t->v[j] - 1;
		if (p->strs[i].len == len && !memcmp(p->strs[i].s, c, len)) {
			free(c);
			return i;
		}
	}
	if (grow(p, (void **)&p->strs, &p->strs_cap, sizeof(*p->strs), p->nstrs + 1)) {
		free(c);
		return 0;
	}
	p->strs[p->nstrs].s = c;
	p->strs[p->nstrs].len = len;
	t->v[j] = (uint32_t)++p->nstrs;
	t->len++;
	return (uint32_t)(p->nstrs - 1);
}

static uint32_t str_of(struct pprof *p, const char *s)
{
	return s ? str_id(p, s, strlen(s)) : 0;
}

/* --- mappings: the MODULES records, read again ------------------------------ */

static uint64_t map_key(struct pprof *p, uint32_t i)
{
	const struct mapping *m = &p->maps[i];
	uint64_t h = hc_mix64(m->start) ^ hc_mix64(m->end + 1) ^ hc_mix64(m->offset + 2);
	h = hash_bytes(m->path, m->path_len, h);
	return hash_bytes(m->build_id, strlen(m->build_id), h);
}

static void add_mapping(struct pprof *p, struct slots *t, const struct hc_module_rec *r,
			uint64_t seq)
{
	if (slots_room(p, t, map_key) ||
	    grow(p, (void **)&p->maps, &p->maps_cap, sizeof(*p->maps), p->nmaps + 1))
		return;
	struct mapping *m = &p->maps[p->nmaps];
	memset(m, 0, sizeof(*m));
	m->start = r->start;
	m->end = r->end;
	m->offset = r->file_offset;
	m->seq = seq;
	m->path = malloc(r->path.len + 1);
	char *bid = NULL;
	size_t bid_len = 0;
	FILE *ms = open_memstream(&bid, &bid_len);
	if (ms) {
		hc_put_hex_id(ms, r->build_id.p, r->build_id.len);
		if (fclose(ms)) {
			free(bid);
			bid = NULL;
		}
	}
	if (!m->path || !bid) {
		free(m->path);
		free(bid);
		p->err = -ENOMEM;
		return;
	}
	memcpy(m->path, r->path.p, r->path.len);
	m->path[r->path.len] = '\0';
	m->path_len = r->path.len;
	m->build_id = bid;
	size_t j = map_key(p, (uint32_t)p->nmaps) & (t->cap - 1);
	for (; t->v[j]; j = (j + 1) & (t->cap - 1)) {
		struct mapping *o = &p->maps[t->v[j] - 1];
		if (o->start == m->start && o->end == m->end && o->offset == m->offset &&
		    o->path_len == m->path_len && !memcmp(o->path, m->path, m->path_len) &&
		    !strcmp(o->build_id, m->build_id)) {
			o->seq = seq; /* seen again: as recent as this record */
			free(m->path);
			free(m->build_id);
			return;
		}
	}
	t->v[j] = (uint32_t)++p->nmaps;
	t->len++;
}

static int by_start(const void *x, const void *y)
{
	const struct mapping *a = x, *b = y;
	return (a->start > b->start) - (a->start < b->start);
}

/* Every mapping any MODULES record names, once each. A trace that cannot be
 * read again (or only in part) leaves fewer mappings: locations then go
 * without one, which pprof accepts. */
static void load_mappings(struct pprof *p, const char *path)
{
	struct hc_reader r;
	struct hc_rec rec;
	struct slots t = {0};
	uint64_t seq = 0;
	if (!hc_reader_open(&r, path)) {
		while (!p->err && hc_reader_next(&r, &rec) == 1) {
			struct hc_cur c;
			uint64_t ts, count;
			struct hc_module_rec mod;
			if (rec.type != HC_REC_MODULES || hc_decode_modules_begin(&rec, &c, &ts, &count))
				continue;
			seq++;
			for (uint64_t i = 0; i < count && !p->err; i++) {
				if (hc_decode_module(&c, &mod))
					break;
				if (mod.end > mod.start)
					add_mapping(p, &t, &mod, seq);
			}
		}
	}
	hc_reader_close(&r);
	free(t.v);
	if (p->err || !p->nmaps)
		return;
	qsort(p->maps, p->nmaps, sizeof(*p->maps), by_start);
	p->max_end = malloc(p->nmaps * sizeof(*p->max_end));
	p->used_maps = malloc(p->nmaps * sizeof(*p->used_maps));
	if (!p->max_end || !p->used_maps) {
		p->err = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < p->nmaps; i++)
		p->max_end[i] = i && p->max_end[i - 1] > p->maps[i].end ? p->max_end[i - 1]
									  : p->maps[i].end;
}

/* The mapping holding addr, the latest where several overlap (as the
 * symbolizer decides), or NULL. */
static struct mapping *mapping_of(struct pprof *p, uint64_t addr)
{
	size_t lo = 0, hi = p->nmaps;
	while (lo < hi) { /* first mapping starting after addr */
		size_t mid = (lo + hi) / 2;
		if (p->maps[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	struct mapping *best = NULL;
	for (size_t i = lo; i-- > 0 && p->max_end[i] > addr;) {
		struct mapping *m = &p->maps[i];
		if (addr < m->end && (!best || m->seq > best->seq))
			best = m;
	}
	return best;
}

/* pprof takes mapping[0] for the main binary: the executable's mapping
 * gets id 1 even when no stack passes through it. */
static void main_mapping_first(struct pprof *p)
{
	const struct hc_summary *s = &p->a->model.sum;
	if (p->err || !s->have_header)
		return;
	for (size_t i = 0; i < p->nmaps; i++) {
		struct mapping *m = &p->maps[i];
		if (m->path_len == s->header.exe.len &&
		    !memcmp(m->path, s->header.exe.p, m->path_len)) {
			p->used_maps[p->nused++] = (uint32_t)i;
			m->id = (uint32_t)p->nused;
			return;
		}
	}
}

/* --- functions and locations ------------------------------------------------ */

static uint64_t func_key(struct pprof *p, uint32_t i)
{
	return hc_mix64((uint64_t)p->funcs[i].name << 32 | p->funcs[i].file);
}

static uint32_t function_id(struct pprof *p, uint32_t name, uint32_t file)
{
	if (slots_room(p, &p->func_slots, func_key))
		return 0;
	struct slots *t = &p->func_slots;
	size_t j = hc_mix64((uint64_t)name << 32 | file) & (t->cap - 1);
	for (; t->v[j]; j = (j + 1) & (t->cap - 1)) {
		const struct function *f = &p->funcs[t->v[j] - 1];
		if (f->name == name && f->file == file)
			return t->v[j];
	}
	if (grow(p, (void **)&p->funcs, &p->funcs_cap, sizeof(*p->funcs), p->nfuncs + 1))
		return 0;
	p->funcs[p->nfuncs].name = name;
	p->funcs[p->nfuncs].file = file;
	t->v[j] = (uint32_t)++p->nfuncs;
	t->len++;
	return t->v[j];
}

static void add_line(struct pprof *p, uint32_t function, int64_t line)
{
	if (grow(p, (void **)&p->lines, &p->lines_cap, sizeof(*p->lines), p->nlines + 1))
		return;
	p->lines[p->nlines].function = function;
	p->lines[p->nlines++].line = line;
}

static uint64_t loc_key(struct pprof *p, uint32_t i)
{
	return hc_mix64(p->locs[i].address);
}

/* A stack without frames (the shim's own, or none recorded) gets one
 * location of its own at address 0, named like the folded format does. */
#define NO_STACK_ADDR 0

/* The location id of a return address, made (and symbolized) if new. */
static uint32_t location_id(struct pprof *p, uint64_t addr)
{
	if (slots_room(p, &p->loc_slots, loc_key))
		return 0;
	struct slots *t = &p->loc_slots;
	size_t j = hc_mix64(addr) & (t->cap - 1);
	for (; t->v[j]; j = (j + 1) & (t->cap - 1))
		if (p->locs[t->v[j] - 1].address == addr)
			return t->v[j];
	if (grow(p, (void **)&p->locs, &p->locs_cap, sizeof(*p->locs), p->nlocs + 1))
		return 0;
	struct location *l = &p->locs[p->nlocs];
	memset(l, 0, sizeof(*l));
	l->address = addr;
	l->first = (uint32_t)p->nlines;
	if (addr == NO_STACK_ADDR) {
		add_line(p, function_id(p, str_of(p, "[no stack]"), 0), 0);
	} else {
		struct hc_sym_frame sf[HC_SYM_MAX_FRAMES];
		int k = p->a->sym ? hc_symbols_resolve(p->a->sym, addr, sf, HC_SYM_MAX_FRAMES, NULL)
				  : 0;
		int files = 1, lines = 1;
		/* pprof's order is ours: the innermost inlined function first,
		 * the function it was inlined into last. */
		for (int i = 0; i < k; i++) {
			uint32_t name = str_of(p, sf[i].function);
			add_line(p, function_id(p, name, str_of(p, sf[i].file)), sf[i].line);
			files &= sf[i].file != NULL;
			lines &= sf[i].line != 0;
		}
		struct mapping *m = p->nmaps ? mapping_of(p, addr) : NULL;
		if (m) {
			if (!m->id) {
				p->used_maps[p->nused++] = (uint32_t)(m - p->maps);
				m->id = (uint32_t)p->nused;
			}
			l->mapping = m->id;
			m->nloc++;
			m->nfunc += k > 0;
			m->nfile += k > 0 && files;
			m->nline += k > 0 && lines;
		}
	}
	if (p->err)
		return 0;
	l->nlines = (uint32_t)(p->nlines - l->first);
	t->v[j] = (uint32_t)++p->nlocs;
	t->len++;
	return t->v[j];
}

/* --- the profile ------------------------------------------------------------- */

static void value_type(struct hc_pb *pb, struct pprof *p, uint32_t field, const char *type,
		       const char *unit)
{
	hc_pb_begin(pb, field);
	hc_pb_int(pb, VALUE_TYPE_TYPE, str_of(p, type));
	hc_pb_int(pb, VALUE_TYPE_UNIT, str_of(p, unit));
	hc_pb_end(pb);
}

/* The verdict of the finding that covers the site, if any. */
static const char *site_verdict(const struct hc_model *m, const struct hc_site *s)
{
	int v = HC_VERDICT_NONE;
	for (uint32_t d = 0; d < s->nchain; d++) {
		const struct hc_node *x = &m->nodes[s->chain[d]];
		if (x->reported > 0 && x->verdict > v)
			v = x->verdict;
	}
	return v == HC_VERDICT_LEAK ? "leak" : v == HC_VERDICT_INCONCLUSIVE ? "inconclusive" : NULL;
}

static void samples(struct hc_pb *pb, struct pprof *p)
{
	const struct hc_model *m = &p->a->model;
	uint32_t verdict_key = str_of(p, "verdict");
	for (size_t i = 0; i < m->nsites && !p->err; i++) {
		const struct hc_site *s = &m->sites[i];
		int64_t v[3] = {(int64_t)s->live_at_end, (int64_t)s->blocks_at_end,
				llround(hc_report_site_growth(m, s))};
		if (!v[0] && !v[1] && v[2] <= 0)
			continue;
		/* The whole allocation: with Python frames, the C frames inside
		 * the innermost one first (the leaves). */
		uint32_t nf = s->nfull;
		const uint64_t *fr = s->full;
		/* Locations first: they may intern strings, never write here. */
		for (uint32_t f = 0; f < nf; f++)
			location_id(p, fr[f]);
		if (!nf)
			location_id(p, NO_STACK_ADDR);
		hc_pb_begin(pb, PROFILE_SAMPLE);
		hc_pb_begin(pb, SAMPLE_LOCATION_ID); /* packed, the leaf first */
		for (uint32_t f = 0; f < nf; f++)
			hc_pb_varint(pb, location_id(p, fr[f]));
		if (!nf)
			hc_pb_varint(pb, location_id(p, NO_STACK_ADDR));
		hc_pb_end(pb);
		hc_pb_begin(pb, SAMPLE_VALUE); /* packed */
		for (int k = 0; k < 3; k++)
			hc_pb_varint(pb, (uint64_t)(v[k] > 0 ? v[k] : 0));
		hc_pb_end(pb);
		const char *verdict = site_verdict(m, s);
		if (verdict) {
			hc_pb_begin(pb, SAMPLE_LABEL);
			hc_pb_int(pb, LABEL_KEY, verdict_key);
			hc_pb_int(pb, LABEL_STR, str_of(p, verdict));
			hc_pb_end(pb);
		}
		hc_pb_end(pb);
	}
}

static void mappings(struct hc_pb *pb, struct pprof *p)
{
	for (size_t i = 0; i < p->nused; i++) {
		const struct mapping *m = &p->maps[p->used_maps[i]];
		int all = m->nfunc == m->nloc;
		hc_pb_begin(pb, PROFILE_MAPPING);
		hc_pb_uint(pb, MAPPING_ID, m->id);
		hc_pb_uint(pb, MAPPING_MEMORY_START, m->start);
		hc_pb_uint(pb, MAPPING_MEMORY_LIMIT, m->end);
		hc_pb_uint(pb, MAPPING_FILE_OFFSET, m->offset);
		hc_pb_int(pb, MAPPING_FILENAME, str_id(p, m->path, m->path_len));
		hc_pb_int(pb, MAPPING_BUILD_ID, str_of(p, m->build_id));
		/* Fully symbolized here: pprof then leaves the mapping alone. */
		hc_pb_uint(pb, MAPPING_HAS_FUNCTIONS, all);
		hc_pb_uint(pb, MAPPING_HAS_FILENAMES, all && m->nfile == m->nloc);
		hc_pb_uint(pb, MAPPING_HAS_LINE_NUMBERS, all && m->nline == m->nloc);
		hc_pb_uint(pb, MAPPING_HAS_INLINE_FRAMES, all && m->nline == m->nloc);
		hc_pb_end(pb);
	}
}

static void locations(struct hc_pb *pb, struct pprof *p)
{
	for (size_t i = 0; i < p->nlocs; i++) {
		const struct location *l = &p->locs[i];
		hc_pb_begin(pb, PROFILE_LOCATION);
		hc_pb_uint(pb, LOCATION_ID, i + 1);
		if (l->mapping)
			hc_pb_uint(pb, LOCATION_MAPPING_ID, l->mapping);
		hc_pb_uint(pb, LOCATION_ADDRESS, l->address);
		for (uint32_t k = 0; k < l->nlines; k++) {
			const struct line *ln = &p->lines[l->first + k];
			hc_pb_begin(pb, LOCATION_LINE);
			hc_pb_uint(pb, LINE_FUNCTION_ID, ln->function);
			hc_pb_int(pb, LINE_LINE, ln->line);
			hc_pb_end(pb);
		}
		hc_pb_end(pb);
	}
}

static void functions(struct hc_pb *pb, struct pprof *p)
{
	for (size_t i = 0; i < p->nfuncs; i++) {
		hc_pb_begin(pb, PROFILE_FUNCTION);
		hc_pb_uint(pb, FUNCTION_ID, i + 1);
		hc_pb_int(pb, FUNCTION_NAME, p->funcs[i].name);
		hc_pb_int(pb, FUNCTION_SYSTEM_NAME, p->funcs[i].name);
		hc_pb_int(pb, FUNCTION_FILENAME, p->funcs[i].file);
		hc_pb_end(pb);
	}
}

/* Comments pprof shows with -comments: what was analysed, and the verdict. */
static void comments(struct pprof *p, uint32_t *ids, size_t *n)
{
	const struct hc_model *m = &p->a->model;
	char buf[512];
	snprintf(buf, sizeof(buf), "heapcreep report for %s", p->a->path);
	ids[(*n)++] = str_of(p, buf);
	if (m->sum.have_header) {
		const struct hc_str *exe = &m->sum.header.exe;
		ids[(*n)++] = str_id(p, exe->p, exe->len);
	}
	snprintf(buf, sizeof(buf), "verdict: %s", hc_verdict_name(p->a->det.verdict));
	ids[(*n)++] = str_of(p, buf);
	snprintf(buf, sizeof(buf),
		 "values as of %.1f s, when the analysed run ends (before teardown); "
		 "growth_rate of the growing sites only", m->end_s);
	ids[(*n)++] = str_of(p, buf);
}

/* Deflates n bytes onto f as one gzip member. 0, or -EIO when zlib fails;
 * a write error stays on f. */
static int gzip_write(FILE *f, const uint8_t *buf, size_t n)
{
	z_stream z;
	memset(&z, 0, sizeof(z));
	if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	uint8_t out[65536];
	int rc = 0, flush;
	do {
		size_t take = n > (1u << 30) ? (1u << 30) : n; /* avail_in is 32 bits */
		z.next_in = (Bytef *)(uintptr_t)buf;
		z.avail_in = (uInt)take;
		buf += take;
		n -= take;
		flush = n ? Z_NO_FLUSH : Z_FINISH;
		do {
			z.next_out = out;
			z.avail_out = sizeof(out);
			if (deflate(&z, flush) == Z_STREAM_ERROR) {
				rc = -EIO;
				break;
			}
			size_t have = sizeof(out) - z.avail_out;
			if (have && fwrite(out, 1, have, f) != have)
				flush = Z_FINISH; /* ferror(f) says it; stop */
		} while (z.avail_out == 0 && !ferror(f));
	} while (!rc && flush != Z_FINISH && !ferror(f));
	deflateEnd(&z);
	return rc;
}

static void pprof_release(struct pprof *p)
{
	for (size_t i = 0; i < p->nstrs; i++)
		free(p->strs[i].s);
	free(p->strs);
	free(p->str_slots.v);
	for (size_t i = 0; i < p->nmaps; i++) {
		free(p->maps[i].path);
		free(p->maps[i].build_id);
	}
	free(p->maps);
	free(p->max_end);
	free(p->used_maps);
	free(p->locs);
	free(p->loc_slots.v);
	free(p->lines);
	free(p->funcs);
	free(p->func_slots.v);
}

int hc_report_pprof(FILE *f, struct hc_analysis *a)
{
	const struct hc_model *m = &a->model;
	struct pprof p = {.a = a};
	struct hc_pb pb;
	hc_pb_init(&pb);
	/* string_table[0] must be "": interned first, by hand */
	char *empty = strdup("");
	if (!empty || grow(&p, (void **)&p.strs, &p.strs_cap, sizeof(*p.strs), 1)) {
		free(empty);
		pprof_release(&p);
		return -ENOMEM;
	}
	p.strs[p.nstrs++] = (struct pstr){empty, 0};
	load_mappings(&p, a->path);
	main_mapping_first(&p);

	value_type(&pb, &p, PROFILE_SAMPLE_TYPE, "retained_space", "bytes");
	value_type(&pb, &p, PROFILE_SAMPLE_TYPE, "retained_objects", "count");
	value_type(&pb, &p, PROFILE_SAMPLE_TYPE, "growth_rate", "bytes_per_second");
	uint32_t default_type = str_of(&p, "retained_space");
	samples(&pb, &p);
	mappings(&pb, &p);
	locations(&pb, &p);
	functions(&pb, &p);
	value_type(&pb, &p, PROFILE_PERIOD_TYPE, "retained_space", "bytes");
	uint32_t comment[8];
	size_t ncomments = 0;
	comments(&p, comment, &ncomments);
	/* every string is interned by now */
	for (size_t i = 0; i < p.nstrs; i++)
		hc_pb_bytes(&pb, PROFILE_STRING_TABLE, p.strs[i].s, p.strs[i].len);
	if (m->sum.have_header)
		hc_pb_int(&pb, PROFILE_TIME_NANOS, (int64_t)m->sum.header.start_realtime_ns);
	hc_pb_int(&pb, PROFILE_DURATION_NANOS, llround(m->end_s * 1e9));
	/* With sampling, one allocation per this many bytes was recorded. */
	hc_pb_int(&pb, PROFILE_PERIOD, m->sample_bytes > 0 ? (int64_t)m->sample_bytes : 1);
	hc_pb_begin(&pb, PROFILE_COMMENT);
	for (size_t i = 0; i < ncomments; i++)
		hc_pb_varint(&pb, comment[i]);
	hc_pb_end(&pb);
	hc_pb_int(&pb, PROFILE_DEFAULT_SAMPLE_TYPE, default_type);

	int rc = p.err ? p.err : hc_pb_finish(&pb);
	if (!rc)
		rc = gzip_write(f, pb.buf, pb.len);
	hc_pb_release(&pb);
	pprof_release(&p);
	return rc;
}
