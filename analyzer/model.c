/* Builds the analysis model from a trace in three streaming passes (model.h).
 * Memory: the snapshot list, per-site lifetimes and per-node window series
 * (bounded by HC_TRACK_MAX_SITES × HC_NODE_DEPTH × HC_MAX_WINDOWS), and the
 * promoted blocks live at a time; nothing grows with the number of records.
 */
#include "model.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "grow.h"
#include "hash.h"
#include "hugemem.h"
#include "progress.h"
#include "reader.h"

/* --- small growable arrays and maps --------------------------------------- */


/* Promoted blocks live during pass 3, by block id. */
struct block {
	uint64_t id; /* 0: empty */
	uint32_t site;
	uint16_t cohort;
	uint8_t aged; /* rungs of the horizon ladder passed at a snapshot */
	double size;
	double ts;    /* allocated, seconds */
};

/* Block ids come in order, and most blocks die young: the live ones sit in
 * pages of BPAGE consecutive ids, written in order (no cache miss per new
 * block, no hashing). A page whose ids have all been seen and of which
 * fewer than a quarter still live moves them to an open-addressing table
 * of the sparse survivors and goes: memory stays bounded by live blocks
 * (at most 4 slots of a page per live block), not by the trace's length. */
#define BPAGE_BITS 12
#define BPAGE (1u << BPAGE_BITS)
/* Ids past 2^32 (a hostile trace's, or a run of billions of blocks) go to
 * the sparse table: the page index stays at most 8 MiB. */
#define BPAGE_MAX_PAGES (1u << 20)

struct bpage {
	uint32_t live;
	struct block slot[BPAGE];
};

struct sparse {           /* open addressing, linear probing */
	struct block *slots;
	size_t cap, len;
};

struct block_map {
	struct bpage **pages; /* by id >> BPAGE_BITS; NULL: none, or moved */
	size_t npages;
	uint64_t top;         /* the highest id put */
	struct sparse sparse;
	struct hc_pool pool;  /* of struct bpage, on huge pages */
};

/* Ids 64 apart or more go anywhere; ids within one run of 64 go next to each
 * other: the blocks of one moment age together, and their lookups (mostly
 * of blocks long gone) then share cache lines instead of missing one each. */
static size_t sp_home(uint64_t id)
{
	return (size_t)(hc_mix64(id >> 6) + (id & 63));
}

static struct block *sp_find(struct sparse *m, uint64_t id)
{
	if (!m->len)
		return NULL;
	for (size_t i = sp_home(id) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (m->slots[i].id == id)
			return &m->slots[i];
		if (!m->slots[i].id)
			return NULL;
	}
}

static int sp_put(struct sparse *m, const struct block *b)
{
	if ((m->len + 1) * 2 > m->cap) {
		size_t ncap = m->cap ? m->cap * 2 : 1024;
		struct block *n = hc_huge_zalloc(ncap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->slots[i].id)
				continue;
			size_t j = sp_home(m->slots[i].id) & (ncap - 1);
			while (n[j].id)
				j = (j + 1) & (ncap - 1);
			n[j] = m->slots[i];
		}
		hc_huge_free(m->slots, m->cap * sizeof(*n));
		m->slots = n;
		m->cap = ncap;
	}
	size_t j = sp_home(b->id) & (m->cap - 1);
	while (m->slots[j].id)
		j = (j + 1) & (m->cap - 1);
	m->slots[j] = *b;
	m->len++;
	return 0;
}

static void sp_del(struct sparse *m, struct block *b)
{
	size_t mask = m->cap - 1, i = (size_t)(b - m->slots);
	m->slots[i].id = 0;
	m->len--;
	for (size_t j = (i + 1) & mask; m->slots[j].id; j = (j + 1) & mask) {
		size_t k = sp_home(m->slots[j].id) & mask;
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		m->slots[i] = m->slots[j];
		m->slots[j].id = 0;
		i = j;
	}
}

static struct block *bm_find(struct block_map *m, uint64_t id)
{
	size_t pg = (size_t)(id >> BPAGE_BITS);
	if (pg < m->npages && m->pages[pg]) {
		struct block *b = &m->pages[pg]->slot[id & (BPAGE - 1)];
		return b->id == id ? b : NULL;
	}
	return sp_find(&m->sparse, id);
}

/* Page pg is complete (every id in it was seen): keep it only while at
 * least a quarter of it lives. */
static int bm_settle(struct block_map *m, size_t pg)
{
	struct bpage *p = m->pages[pg];
	if (!p || p->live >= BPAGE / 4 || (uint64_t)(pg + 1) << BPAGE_BITS > m->top)
		return 0;
	for (size_t i = 0; i < BPAGE && p->live; i++)
		if (p->slot[i].id) {
			if (sp_put(&m->sparse, &p->slot[i]))
				return -ENOMEM;
			p->live--;
		}
	hc_pool_free(&m->pool, p);
	m->pages[pg] = NULL;
	return 0;
}

static int bm_put(struct block_map *m, const struct block *b)
{
	size_t pg = (size_t)(b->id >> BPAGE_BITS);
	if (b->id >> BPAGE_BITS >= BPAGE_MAX_PAGES)
		return sp_put(&m->sparse, b);
	if (pg >= m->npages) {
		size_t n = m->npages ? m->npages : 64;
		while (n <= pg)
			n *= 2;
		struct bpage **q = realloc(m->pages, n * sizeof(*q));
		if (!q)
			return -ENOMEM;
		memset(q + m->npages, 0, (n - m->npages) * sizeof(*q));
		m->pages = q;
		m->npages = n;
	}
	if (b->id < m->top && !m->pages[pg])
		return sp_put(&m->sparse, b); /* an id from the past: not in order */
	if (!m->pool.obj)
		hc_pool_init(&m->pool, sizeof(struct bpage));
	if (!m->pages[pg] && !(m->pages[pg] = hc_pool_zalloc(&m->pool)))
		return -ENOMEM;
	struct bpage *p = m->pages[pg];
	p->live += !p->slot[b->id & (BPAGE - 1)].id;
	p->slot[b->id & (BPAGE - 1)] = *b;
	size_t old_top_pg = (size_t)(m->top >> BPAGE_BITS);
	if (b->id > m->top)
		m->top = b->id;
	/* the pages just completed may now be sparse */
	for (size_t k = old_top_pg; k < pg; k++)
		if (bm_settle(m, k))
			return -ENOMEM;
	return 0;
}

static int bm_del(struct block_map *m, struct block *b)
{
	size_t pg = (size_t)(b->id >> BPAGE_BITS);
	if (pg < m->npages && m->pages[pg] && b >= m->pages[pg]->slot &&
	    b < m->pages[pg]->slot + BPAGE) {
		b->id = 0;
		m->pages[pg]->live--;
		return bm_settle(m, pg);
	}
	sp_del(&m->sparse, b);
	return 0;
}

static void bm_release(struct block_map *m)
{
	free(m->pages);
	hc_pool_release(&m->pool);
	hc_huge_free(m->sparse.slots, m->sparse.cap * sizeof(struct block));
	memset(m, 0, sizeof(*m));
}

/* Blocks waiting to pass the next rung of the horizon ladder, by the
 * snapshot at which they do: the first whose time is at or past the block's
 * alloc time plus that rung (appends, not a heap of millions; a block waits
 * in one bucket at a time). */
struct aging_bucket {
	uint64_t *ids;
	size_t len, cap;
};

/* --- reading --------------------------------------------------------------- */

typedef int (*record_fn)(struct hc_model *m, const struct hc_rec *rec, void *ctx);

/* A record a pass could not take makes the trace corrupt from there, as if
 * the reader had found it: the summary (and so every report and the gate)
 * says where, and what was read before is still analysed. */
static void corrupt_at(struct hc_model *m, struct hc_reader *r, const struct hc_rec *rec, int err)
{
	if (err == -ENOMEM) {
		snprintf(r->message, sizeof(r->message),
			 "cannot allocate memory for the %s record at byte offset %llu",
			 hc_record_name(rec->type), (unsigned long long)rec->chunk_offset);
		r->status = HC_READ_CORRUPT;
		r->stop_offset = rec->chunk_offset;
		snprintf(r->reason, sizeof(r->reason), "out of memory");
	} else {
		hc_reader_fail_record(r, rec, hc_record_name(rec->type));
	}
	struct hc_summary *s = &m->sum;
	if (s->status == HC_READ_CORRUPT && s->stop_offset <= r->stop_offset)
		return; /* an earlier pass stopped there already, or before */
	s->status = HC_READ_CORRUPT;
	s->stop_offset = r->stop_offset;
	s->complete = 0;
	snprintf(s->reason, sizeof(s->reason), "%s", r->reason);
	snprintf(s->message, sizeof(s->message), "%s", r->message);
}

/* One pass over the trace; stops early when fn returns 1. */
/* Which later passes need a chunk, from the record types in it: pass 1
 * reads every chunk and notes them, so that passes 2 and 3 can pass over
 * the chunks that hold nothing for them unread (pass 2 wants only a few
 * records per snapshot of a trace made mostly of BLOCK and FREE). */
enum { NEED_PASS2 = 1, NEED_PASS3 = 2 };

static uint8_t needed_by(uint64_t type)
{
	switch (type) {
	case HC_REC_SNAPSHOT:
	case HC_REC_SITES:
		return NEED_PASS2 | NEED_PASS3;
	case HC_REC_MODULES:
	case HC_REC_STACK:
	case HC_REC_SYMBOLS:
		return NEED_PASS2;
	case HC_REC_BLOCK:
	case HC_REC_FREE:
		return NEED_PASS3;
	default:
		return 0;
	}
}

static int note_chunk(struct hc_model *m, const struct hc_rec *rec)
{
	if (rec->chunk_index >= (1u << 30))
		return 0; /* not noted: read in every pass */
	size_t i = (size_t)rec->chunk_index;
	if (i >= m->nchunk_flags) {
		if (hc_grow((void **)&m->chunk_flags, &m->chunk_flags_cap, 1, i + 1))
			return -ENOMEM;
		m->nchunk_flags = i + 1;
	}
	m->chunk_flags[i] |= needed_by(rec->type);
	return 0;
}

/* on_chunk, if set, sees the records of each chunk (checked, decompressed)
 * before fn sees the first of them. */
typedef void (*chunk_fn)(void *ctx, const uint8_t *recs, size_t len);

static int each_record(struct hc_model *m, record_fn fn, void *ctx, uint8_t want,
		       chunk_fn on_chunk)
{
	struct hc_reader r;
	int rc = hc_reader_open(&r, m->path);
	if (rc)
		return rc;
	r.chunk_flags = m->chunk_flags;
	r.nchunk_flags = m->nchunk_flags;
	r.want_flags = want;
	hc_reader_readahead(&r);
	struct hc_rec rec;
	uint64_t chunk = UINT64_MAX;
	while ((rc = hc_reader_next(&r, &rec)) == 1) {
		if (rec.chunk_index != chunk) {
			chunk = rec.chunk_index;
			hc_progress_at(rec.chunk_offset);
			if (on_chunk)
				on_chunk(ctx, r.cur + rec.raw_offset, r.cur_len - rec.raw_offset);
		}
		int stop = fn(m, &rec, ctx);
		if (stop < 0) {
			corrupt_at(m, &r, &rec, stop);
			rc = stop == -ENOMEM ? -ENOMEM : 0;
			break;
		}
		if (stop)
			break;
	}
	hc_reader_close(&r);
	return rc < 0 && rc != -ENODATA && rc != -EBADMSG ? rc : 0;
}

static double weigh(const struct hc_model *m, double size)
{
	if (m->sample_bytes <= 0)
		return size;
	double z = size > 0 ? size : 1;
	return z / -expm1(-z / m->sample_bytes);
}

/* --- pass 1: the run's shape and its end ---------------------------------- */

static int pass1(struct hc_model *m, const struct hc_rec *rec, void *ctx)
{
	size_t *cap = ctx;
	if (hc_summary_add(&m->sum, rec))
		return -EBADMSG;
	if (rec->type == HC_REC_CODE || rec->type == HC_REC_PYTHON) {
		int e = hc_pycodes_add(&m->py, rec);
		if (e)
			return e;
	} else if (rec->type == HC_REC_SNAPSHOT) {
		struct hc_snapshot_rec s;
		if (hc_decode_snapshot(rec, &s))
			return -EBADMSG;
		if (hc_grow((void **)&m->snaps, cap, sizeof(*m->snaps), m->nsnaps + 1))
			return -ENOMEM;
		m->snaps[m->nsnaps++] = (struct hc_snap){
			(double)s.ts / 1e9, (double)s.rss_bytes, (double)s.heap_live_bytes,
			(double)s.mapped_live_bytes, (double)s.shim_bytes, s.total_allocs,
			s.total_frees};
	} else if (rec->type == HC_REC_EXIT && m->exit_s < 0) {
		struct hc_exit_rec e;
		if (hc_decode_exit(rec, &e))
			return -EBADMSG;
		m->exit_s = (double)e.ts / 1e9;
	}
	return 0;
}

/* The heap's blocks: its live bytes less the anonymous mappings', which
 * hold objects (pymalloc's arenas) rather than being freed with them. */
static double blocks_live(const struct hc_snap *s)
{
	return s->heap_live - s->mapped;
}

/* Teardown: programs free what they hold on the way out (Python's
 * finalization, C++ static destructors, a main that frees its state).
 * Judged with it, every leak looks freed. It shows as a final burst: the
 * heap's blocks drop by half or more (and by 64 KiB at least) within the
 * last few snapshots; the EXIT record marks it too. The analysis ends at
 * the last snapshot before either. */
static void find_end(struct hc_model *m)
{
	size_t n = m->nsnaps;
	m->end_s = n ? m->snaps[n - 1].t : 0;
	m->teardown = 0;
	if (n >= 3 && m->sum.end_seen) {
		double last = blocks_live(&m->snaps[n - 1]);
		double span = fmax(3 * m->interval_s, 0.05 * m->snaps[n - 1].t);
		/* The final descent: from the end back to the first snapshot
		 * (within the span) from which the heap halves, then on back
		 * while it still rises going back. Not the highest point of the
		 * span: a collection there, followed by new growth, is the
		 * program's behaviour, not its teardown. */
		size_t best = n - 1;
		for (size_t j = n - 1; j-- > 0 && m->snaps[n - 1].t - m->snaps[j].t <= span;)
			if (blocks_live(&m->snaps[j]) - last >= 0.5 * blocks_live(&m->snaps[j])) {
				best = j;
				break;
			}
		while (best != n - 1 && best > 0 && m->snaps[n - 1].t - m->snaps[best - 1].t <= span &&
		       blocks_live(&m->snaps[best - 1]) >= blocks_live(&m->snaps[best]))
			best--;
		double drop = blocks_live(&m->snaps[best]) - last;
		if (best != n - 1 && drop >= 0.5 * blocks_live(&m->snaps[best]) && drop >= 65536) {
			m->teardown = 1;
			m->teardown_s = m->snaps[best].t;
			m->teardown_freed = drop;
			m->end_s = m->snaps[best].t;
		}
	}
	if (m->exit_s >= 0 && m->exit_s < m->end_s) {
		/* the last snapshot taken before exit began */
		double end = -1;
		for (size_t i = 0; i < n && m->snaps[i].t <= m->exit_s; i++)
			end = m->snaps[i].t;
		if (end >= 0)
			m->end_s = end;
	}
}

/* --- pass 2: sites --------------------------------------------------------- */

struct pass2 {
	double t;             /* time of the snapshot being read */
	size_t cap;
	uint64_t stacks;      /* STACK records so far: ids are dense, in order */
	uint64_t shim_lo[8], shim_hi[8];
	int nshim;
	uint64_t py_lo[8], py_hi[8];  /* the Python interpreter's own code */
	int npy;
};

static struct hc_site *site_at(struct hc_model *m, uint64_t id, size_t *cap)
{
	if (id > (1u << 30))
		return NULL;
	if (hc_grow((void **)&m->sites, cap, sizeof(*m->sites), id + 1))
		return NULL;
	if (m->nsites < id + 1)
		m->nsites = id + 1;
	return &m->sites[id];
}

static int pass2(struct hc_model *m, const struct hc_rec *rec, void *ctx)
{
	struct pass2 *p = ctx;
	if (m->on_record && (rec->type == HC_REC_MODULES || rec->type == HC_REC_SYMBOLS)) {
		int e = m->on_record(m->on_record_ctx, rec);
		if (e)
			return e;
	}
	switch (rec->type) {
	case HC_REC_SNAPSHOT: {
		struct hc_snapshot_rec s;
		if (hc_decode_snapshot(rec, &s))
			return -EBADMSG;
		p->t = (double)s.ts / 1e9;
		return 0;
	}
	case HC_REC_MODULES: {
		struct hc_cur c;
		uint64_t ts, count;
		struct hc_module_rec mod;
		if (hc_decode_modules_begin(rec, &c, &ts, &count))
			return -EBADMSG;
		for (uint64_t i = 0; i < count; i++) {
			if (hc_decode_module(&c, &mod))
				return -EBADMSG;
			if (mod.path.len >= 16 && p->nshim < 8 &&
			    !memcmp(mod.path.p + mod.path.len - 16, "/libheapcreep.so", 16)) {
				p->shim_lo[p->nshim] = mod.start;
				p->shim_hi[p->nshim++] = mod.end;
			}
			if (m->py.path && p->npy < 8 && mod.path.len == strlen(m->py.path) &&
			    !memcmp(mod.path.p, m->py.path, mod.path.len)) {
				p->py_lo[p->npy] = mod.start;
				p->py_hi[p->npy++] = mod.end;
			}
		}
		return 0;
	}
	case HC_REC_STACK: {
		struct hc_cur c;
		uint64_t id, n, addr = 0; /* frames are deltas from the previous */
		if (hc_decode_stack_begin(rec, &c, &id, &n) || n > 4096)
			return -EBADMSG;
		/* Ids are given in order from 0: one beyond the next is not a
		 * trace we wrote, and must not size our tables. */
		if (id > p->stacks)
			return -EBADMSG;
		p->stacks++;
		struct hc_site *s = site_at(m, id, &p->cap);
		if (!s)
			return -ENOMEM;
		/* A stack read again (a hostile trace) replaces the first only
		 * once it decoded whole: a site never keeps a count without its
		 * frames. */
		uint64_t *raw = malloc((n ? n : 1) * sizeof(uint64_t));
		uint64_t *merged = malloc((n ? n : 1) * sizeof(uint64_t));
		if (!raw || !merged) {
			free(raw);
			free(merged);
			return -ENOMEM;
		}
		size_t k = 0, natives = 0;
		for (uint64_t i = 0; i < n; i++) {
			if (hc_decode_frame(&c, &addr)) {
				free(raw);
				free(merged);
				return -EBADMSG;
			}
			int shim = 0;
			natives += !hc_pyframe_is(addr) && !hc_frame_is_mmap(addr);
			for (int j = 0; j < p->nshim && !hc_pyframe_is(addr); j++)
				shim |= addr >= p->shim_lo[j] && addr < p->shim_hi[j];
			if (!shim) /* the shim's own frames (its main wrapper) */
				raw[k++] = addr;
		}
		size_t lead;
		size_t nm = hc_pycodes_merge(&m->py, raw, k, natives >= (size_t)m->max_frames,
					     merged, &lead);
		free(raw);
		if (s->frames != s->full)
			free(s->frames);
		free(s->full);
		s->ninner = 0;
		s->full = s->inner = s->frames = merged;
		s->nfull = s->nframes = (uint32_t)nm;
		int python = 0;
		for (size_t i = 0; i < nm && !python; i++)
			python = hc_pydisplay_is(merged[i]);
		if (!python)
			return 0;
		/* Python frames: the site is keyed and shown by them, and by the
		 * native frames of other code between them (C extensions); the
		 * interpreter's own C frames (its call machinery, its builtins)
		 * and the native frames that started the outermost Python one
		 * (main, a thread's start, an embedding program) are in the full
		 * stack only. A mapping keeps its mark innermost: a kind of
		 * memory of its own, never one site with the line's blocks. */
		s->ninner = (uint32_t)lead;
		s->frames = malloc((nm - lead + 1) * sizeof(uint64_t));
		if (!s->frames) {
			s->frames = merged;
			return -ENOMEM;
		}
		s->nframes = 0;
		if (lead && hc_frame_is_mmap(merged[0]))
			s->frames[s->nframes++] = merged[0];
		size_t outer = nm; /* past the outermost Python frame */
		while (outer > lead && !hc_pydisplay_is(merged[outer - 1]))
			outer--;
		for (size_t i = lead; i < outer; i++) {
			int interp = 0;
			for (int j = 0; j < p->npy && !hc_pydisplay_is(merged[i]); j++)
				interp |= merged[i] > p->py_lo[j] && merged[i] <= p->py_hi[j];
			if (!interp)
				s->frames[s->nframes++] = merged[i];
		}
		return 0;
	}
	case HC_REC_SITES: {
		struct hc_cur c;
		uint64_t count;
		struct hc_site_rec e;
		if (hc_decode_sites_begin(rec, &c, &count))
			return -EBADMSG;
		for (uint64_t i = 0; i < count; i++) {
			if (hc_decode_site(&c, &e))
				return -EBADMSG;
			if (e.stack >= m->nsites)
				return -EBADMSG; /* a site of a stack never defined */
			struct hc_site *s = &m->sites[e.stack];
			s->live_final = (double)e.live_bytes;
			s->blocks_final = (double)e.live_blocks;
			if (p->t > m->end_s + 1e-9)
				continue; /* teardown: not the run's behaviour */
			s->blocks_at_end = (double)e.live_blocks;
			s->allocs += e.allocs;
			s->frees += e.frees;
			s->bytes_allocated += e.bytes_allocated;
			s->live_at_end = (double)e.live_bytes;
			if ((double)e.live_bytes > s->peak_before_end)
				s->peak_before_end = (double)e.live_bytes;
			for (unsigned h = 0; h < e.nhist; h++) {
				s->hist[e.hist[h].bucket] += e.hist[h].count;
				m->total_freed += e.hist[h].count;
				if (e.hist[h].bucket < 14) { /* under 16 µs */
					s->temporary += e.hist[h].count;
					m->temporary += e.hist[h].count;
				}
			}
		}
		return 0;
	}
	}
	return 0;
}

/* The ladder of age horizons: from the shortest age at which every block is
 * surely in the trace (twice the promotion age plus an interval: a block is
 * promoted at the first snapshot past the promotion age) up to half the
 * run, by sqrt(2) or more a rung. A site's horizon is chosen on it after
 * pass 3, from the blocks' exact lifetimes (choose_horizons). */
static void build_ladder(struct hc_model *m)
{
	double a0 = 2 * m->promotion_s + m->interval_s;
	double top = fmax(a0, 0.5 * m->end_s);
	double r = fmax(sqrt(2.0), pow(top / a0, 1.0 / (HC_NHORIZON - 1)));
	for (int j = 0; j < HC_NHORIZON; j++)
		m->ladder[j] = a0 * pow(r, j);
}

static int by_peak(const void *a, const void *b)
{
	double x = **(const double *const *)a, y = **(const double *const *)b;
	return (x < y) - (x > y);
}

/* Chooses the sites to follow in pass 3 and builds their node chains. */
static int build_nodes(struct hc_model *m)
{
	size_t ncand = 0;
	double **cand = calloc(m->nsites ? m->nsites : 1, sizeof(*cand));
	if (!cand)
		return -ENOMEM;
	for (size_t i = 0; i < m->nsites; i++) {
		struct hc_site *s = &m->sites[i];
		s->hidx = -1;
		s->horizon_s = m->ladder[HC_NHORIZON - 1];
		if (s->peak_before_end >= HC_TRACK_MIN_BYTES)
			cand[ncand++] = &s->peak_before_end;
	}
	qsort(cand, ncand, sizeof(*cand), by_peak);
	if (ncand > HC_TRACK_MAX_SITES)
		ncand = HC_TRACK_MAX_SITES;
	for (size_t i = 0; i < ncand; i++)
		((struct hc_site *)((char *)cand[i] - offsetof(struct hc_site, peak_before_end)))
			->tracked = 1;
	free(cand);

	/* Nodes by (parent, frame): a small open-addressing index. */
	size_t icap = 1024, ncap = 0;
	uint32_t *index = calloc(icap, sizeof(*index));
	if (!index)
		return -ENOMEM;
	m->nnodes = 1;
	int rc = 0;
	for (size_t i = 0; i < m->nsites && !rc; i++) {
		struct hc_site *s = &m->sites[i];
		if (!s->tracked)
			continue;
		uint32_t depth = s->nframes < HC_NODE_DEPTH ? s->nframes : HC_NODE_DEPTH;
		if (!depth)
			depth = 1; /* stack 0 or empty: one node for it alone */
		s->chain = calloc(depth, sizeof(uint32_t));
		if (!s->chain) {
			rc = -ENOMEM;
			break;
		}
		s->nchain = depth;
		uint32_t parent = 0;
		for (uint32_t d = 0; d < depth; d++) {
			uint64_t frame = s->nframes ? s->frames[d] : ~(uint64_t)i;
			if ((m->nnodes + 1) * 2 > icap) {
				size_t ncap2 = icap * 2;
				uint32_t *ni = calloc(ncap2, sizeof(*ni));
				if (!ni) {
					rc = -ENOMEM;
					break;
				}
				for (size_t k = 0; k < icap; k++) {
					if (!index[k])
						continue;
					struct hc_node *x = &m->nodes[index[k]];
					size_t j = hc_mix64(x->frame ^ hc_mix64(x->parent)) & (ncap2 - 1);
					while (ni[j])
						j = (j + 1) & (ncap2 - 1);
					ni[j] = index[k];
				}
				free(index);
				index = ni;
				icap = ncap2;
			}
			size_t j = hc_mix64(frame ^ hc_mix64(parent)) & (icap - 1);
			while (index[j] && (m->nodes[index[j]].frame != frame ||
					    m->nodes[index[j]].parent != parent))
				j = (j + 1) & (icap - 1);
			if (!index[j]) {
				if (hc_grow((void **)&m->nodes, &ncap, sizeof(*m->nodes), m->nnodes + 1)) {
					rc = -ENOMEM;
					break;
				}
				struct hc_node *x = &m->nodes[m->nnodes];
				x->parent = parent;
				x->depth = d + 1;
				x->frame = frame;
				x->site = (uint32_t)i;
				index[j] = (uint32_t)m->nnodes++;
			}
			struct hc_node *x = &m->nodes[index[j]];
			x->nsites++;
			x->live_final += s->live_final;
			x->live_end += s->live_at_end;
			x->bytes_allocated += (double)s->bytes_allocated;
			x->allocs += s->allocs;
			s->chain[d] = index[j];
			parent = index[j];
		}
	}
	free(index);
	if (rc)
		return rc;
	for (size_t i = 1; i < m->nnodes; i++) {
		struct hc_node *x = &m->nodes[i];
		double *w = calloc(5 * (m->nwin ? m->nwin : 1), sizeof(double));
		if (!w)
			return -ENOMEM;
		x->live_min = w;
		x->live_max = w + m->nwin;
		x->aged_min = w + 2 * m->nwin;
		x->alloc = w + 3 * m->nwin;
		x->retained = w + 4 * m->nwin;
	}
	return 0;
}

/* Windows: the snapshots up to the end, cut into at most HC_MAX_WINDOWS
 * runs of consecutive snapshots, so a 20-second run has 20 windows of one
 * snapshot and a day-long run 120 windows of 12 minutes. The shim's two
 * early snapshots (50 and 200 ms in, for a process that dies young) are
 * left out when regular ones follow: windows stay an interval long. */
static void build_windows(struct hc_model *m)
{
	size_t ns = 0, early = 0;
	while (ns < m->nsnaps && m->snaps[ns].t <= m->end_s + 1e-9)
		ns++;
	while (early < ns && m->snaps[early].t < 0.75 * m->interval_s)
		early++;
	if (early == ns)
		early = 0; /* nothing else: they are the run */
	size_t nr = ns - early;
	m->nwin = nr < HC_MAX_WINDOWS ? nr : HC_MAX_WINDOWS;
	for (size_t w = 0; w < m->nwin; w++) {
		struct hc_window *x = &m->win[w];
		x->first = early + w * nr / m->nwin;
		x->last = early + (w + 1) * nr / m->nwin - 1;
		x->t0 = x->first > early ? m->snaps[x->first - 1].t : 0;
		x->t1 = m->snaps[x->last].t;
		x->t = 0;
		x->heap_min = INFINITY;
		x->heap_max = 0;
		x->rss_max = 0;
		x->own_rss_max = 0;
		x->outside_min = INFINITY;
		for (size_t k = x->first; k <= x->last; k++) {
			if (m->snaps[k].rss > 0)
				x->outside_min = fmin(x->outside_min, m->snaps[k].rss - m->snaps[k].shim -
									  m->snaps[k].heap_live);
			x->t += m->snaps[k].t;
			x->heap_min = fmin(x->heap_min, m->snaps[k].heap_live);
			x->heap_max = fmax(x->heap_max, m->snaps[k].heap_live);
			x->rss_max = fmax(x->rss_max, m->snaps[k].rss);
			x->own_rss_max = fmax(x->own_rss_max, m->snaps[k].rss - m->snaps[k].shim);
		}
		x->t /= (double)(x->last - x->first + 1);
		if (!isfinite(x->outside_min))
			x->outside_min = 0;
	}
}

/* --- pass 3: window series ------------------------------------------------- */

struct pass3 {
	size_t k;             /* snapshots seen */
	size_t ns;            /* snapshots up to the end */
	size_t w;             /* current window */
	double t;
	uint64_t last_block;
	struct block_map blocks;
	struct aging_bucket *aging; /* ns buckets */
	/* Changes of sites' live and aged bytes not yet added along their
	 * chains (done before a snapshot's values are read), and each site's
	 * retained bytes per cohort (added to its chain at the end): a block
	 * costs a site update, not one per frame of its stack. */
	double *pend_live, *pend_aged; /* pend_aged: HC_NHORIZON a site */
	uint8_t *pend_mark;
	uint32_t *pend_list;
	size_t npend;
	double **retained;    /* per site: nwin cohorts, or NULL */
	const uint8_t *ahead, *ahead_end; /* the chunk's records, read ahead */
	unsigned ahead_n;     /* FREE records prefetched and not handled yet */
};

static size_t window_of(const struct hc_model *m, double t)
{
	size_t lo = 0, hi = m->nwin;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (m->win[mid].t1 < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->nwin ? lo : m->nwin - 1;
}

static void add_chain(struct hc_model *m, const struct hc_site *s, double dlive)
{
	for (uint32_t i = 0; i < s->nchain; i++) {
		struct hc_node *x = &m->nodes[s->chain[i]];
		x->live += dlive;
		x->dirty = 1;
	}
}

static void mark(struct pass3 *p, uint32_t site)
{
	if (!p->pend_mark[site]) {
		p->pend_mark[site] = 1;
		p->pend_list[p->npend++] = site;
	}
}

static void pend(struct pass3 *p, uint32_t site, double dlive)
{
	p->pend_live[site] += dlive;
	mark(p, site);
}

/* Aged bytes of a site change at rungs [0, to) by d. */
static void pend_aged(struct pass3 *p, uint32_t site, int to, double d)
{
	for (int j = 0; j < to; j++)
		p->pend_aged[(size_t)site * HC_NHORIZON + j] += d;
	mark(p, site);
}

/* Adds the pending changes along the sites' chains; with fold, the sites'
 * aged bytes also lower the current window's minima. */
static void flush_pending(struct hc_model *m, struct pass3 *p, int fold)
{
	for (size_t i = 0; i < p->npend; i++) {
		uint32_t site = p->pend_list[i];
		struct hc_site *s = &m->sites[site];
		double *pa = &p->pend_aged[(size_t)site * HC_NHORIZON];
		add_chain(m, s, p->pend_live[site]);
		for (int j = 0; j < HC_NHORIZON; j++) {
			s->aged[j] += pa[j];
			pa[j] = 0;
			float *mn = s->aged_min ? &s->aged_min[p->w * HC_NHORIZON + j] : NULL;
			if (fold && mn && s->aged[j] < *mn)
				*mn = (float)s->aged[j];
		}
		p->pend_live[site] = 0;
		p->pend_mark[site] = 0;
	}
	p->npend = 0;
}

/* The first of snapshots [from, ns) at or past t (ns: none). */
static size_t snapshot_at(const struct hc_model *m, size_t from, size_t ns, double t)
{
	size_t lo = from, hi = ns;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->snaps[mid].t < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The values of snapshot k are final: fold them into its window. */
static void close_snapshot(struct hc_model *m, struct pass3 *p)
{
	flush_pending(m, p, 1);
	for (size_t i = 1; i < m->nnodes; i++) {
		struct hc_node *x = &m->nodes[i];
		if (!x->dirty)
			continue;
		x->dirty = 0;
		x->live_min[p->w] = fmin(x->live_min[p->w], x->live);
		x->live_max[p->w] = fmax(x->live_max[p->w], x->live);
		if (x->live > x->peak)
			x->peak = x->live;
	}
}

static void open_window(struct hc_model *m, struct pass3 *p, size_t w)
{
	flush_pending(m, p, 0);
	for (size_t i = 1; i < m->nnodes; i++) {
		struct hc_node *x = &m->nodes[i];
		x->live_min[w] = x->live_max[w] = x->live;
	}
	for (size_t i = 0; i < m->nsites; i++) {
		struct hc_site *s = &m->sites[i];
		for (int j = 0; s->aged_min && j < HC_NHORIZON; j++)
			s->aged_min[w * HC_NHORIZON + j] = (float)s->aged[j];
	}
}

/* The interval [ladder[j], ladder[j+1]) holding age a (the last is open);
 * -1 below the first rung. */
static int age_interval(const struct hc_model *m, double a)
{
	int j = -1;
	while (j + 1 < HC_NHORIZON && a >= m->ladder[j + 1])
		j++;
	return j;
}

/* Block b is live at the end of the run: censored at its age then. */
static void censor(struct hc_model *m, const struct block *b)
{
	int j = age_interval(m, m->end_s - b->ts);
	if (j >= 0)
		m->sites[b->site].censored[j] += b->size;
}

/* Calls censor on every block still in the map. */
static void censor_all(struct hc_model *m, const struct block_map *bm)
{
	for (size_t pg = 0; pg < bm->npages; pg++)
		for (size_t i = 0; bm->pages[pg] && i < BPAGE; i++)
			if (bm->pages[pg]->slot[i].id)
				censor(m, &bm->pages[pg]->slot[i]);
	for (size_t i = 0; i < bm->sparse.cap; i++)
		if (bm->sparse.slots[i].id)
			censor(m, &bm->sparse.slots[i]);
}

/* Queues block b to pass rung j (the bucket of the first snapshot at or
 * past its time), unless that is past the end. */
static int schedule(struct hc_model *m, struct pass3 *p, const struct block *b, int j)
{
	if (j >= HC_NHORIZON)
		return 0;
	size_t k = snapshot_at(m, p->k, p->ns, b->ts + m->ladder[j]);
	if (k >= p->ns)
		return 0;
	struct aging_bucket *ab = &p->aging[k];
	if (hc_grow((void **)&ab->ids, &ab->cap, sizeof(*ab->ids), ab->len + 1))
		return -ENOMEM;
	ab->ids[ab->len++] = b->id;
	return 0;
}

/* The FREE records of a chunk name blocks all over the block map: reading
 * PREFETCH_AHEAD records ahead and asking for their slots turns a cache
 * miss per FREE, one after the other, into misses served side by side. */
#define PREFETCH_AHEAD 32

static void prefetch_chunk(void *ctx, const uint8_t *recs, size_t len)
{
	struct pass3 *p = ctx;
	p->ahead = recs;
	p->ahead_end = recs + len;
	p->ahead_n = 0;
}

static void prefetch_frees(struct pass3 *p)
{
	if (p->ahead_n)
		p->ahead_n--; /* the FREE being handled now */
	while (p->ahead_n < PREFETCH_AHEAD && p->ahead < p->ahead_end) {
		const uint8_t *q = p->ahead;
		uint64_t type, blen, id;
		if (hc_get_uvarint(&q, p->ahead_end, &type) ||
		    hc_get_uvarint(&q, p->ahead_end, &blen) || blen > (uint64_t)(p->ahead_end - q)) {
			p->ahead = p->ahead_end;
			return;
		}
		p->ahead = q + blen;
		if (type != HC_REC_FREE || hc_get_uvarint(&q, p->ahead, &id))
			continue;
		p->ahead_n++;
		size_t pg = (size_t)(id >> BPAGE_BITS);
		if (pg < p->blocks.npages && p->blocks.pages[pg])
			__builtin_prefetch(&p->blocks.pages[pg]->slot[id & (BPAGE - 1)]);
	}
}

static int pass3(struct hc_model *m, const struct hc_rec *rec, void *ctx)
{
	struct pass3 *p = ctx;
	switch (rec->type) {
	case HC_REC_SNAPSHOT: {
		struct hc_snapshot_rec s;
		if (hc_decode_snapshot(rec, &s))
			return -EBADMSG;
		if (p->k > 0 && p->k <= p->ns)
			close_snapshot(m, p);
		if (p->k >= p->ns + 1)
			return 1; /* past the end, and late FREE records had a snapshot's time */
		p->t = (double)s.ts / 1e9;
		if (p->k < p->ns) {
			size_t w = window_of(m, p->t);
			if (p->k == 0 || w != p->w) {
				p->w = w;
				open_window(m, p, w);
			}
		}
		p->k++;
		if (p->k > p->ns)
			return 0;
		/* Blocks that pass rungs of the ladder by now. The bucket is
		 * taken out first: scheduling the next rung may append to
		 * a later bucket (never this one: a rung lies ahead). */
		struct aging_bucket ab = p->aging[p->k - 1];
		p->aging[p->k - 1] = (struct aging_bucket){0};
		int rc = 0;
		for (size_t i = 0; i < ab.len && !rc; i++) {
			struct block *b = bm_find(&p->blocks, ab.ids[i]);
			if (!b || b->aged >= HC_NHORIZON)
				continue;
			int from = b->aged;
			while (b->aged < HC_NHORIZON && b->ts + m->ladder[b->aged] <= p->t + 1e-9)
				b->aged++;
			if (b->aged > from) {
				for (int j = from; j < b->aged; j++)
					p->pend_aged[(size_t)b->site * HC_NHORIZON + j] += b->size;
				mark(p, b->site);
			}
			rc = schedule(m, p, b, b->aged);
		}
		free(ab.ids);
		return rc;
	}
	case HC_REC_SITES: {
		if (p->k == 0 || p->k > p->ns)
			return 0;
		struct hc_cur c;
		uint64_t count;
		struct hc_site_rec e;
		if (hc_decode_sites_begin(rec, &c, &count))
			return -EBADMSG;
		for (uint64_t i = 0; i < count; i++) {
			if (hc_decode_site(&c, &e))
				return -EBADMSG;
			if (e.stack >= m->nsites || !m->sites[e.stack].tracked)
				continue;
			struct hc_site *s = &m->sites[e.stack];
			pend(p, (uint32_t)e.stack, (double)e.live_bytes - s->live_now);
			s->live_now = (double)e.live_bytes;
			for (uint32_t d = 0; d < s->nchain; d++)
				m->nodes[s->chain[d]].alloc[p->w] += (double)e.bytes_allocated;
		}
		return 0;
	}
	case HC_REC_BLOCK: {
		struct hc_block_rec b;
		if (hc_decode_block(rec, &b))
			return -EBADMSG;
		p->last_block += b.id_delta;
		m->promoted_blocks++;
		double ts = (double)b.ts / 1e9;
		if (b.stack >= m->nsites)
			return -EBADMSG; /* a block of a stack never defined */
		if (!m->sites[b.stack].tracked || ts > m->end_s || !m->nwin)
			return 0;
		struct hc_site *s = &m->sites[b.stack];
		struct block nb = {p->last_block, (uint32_t)b.stack, (uint16_t)window_of(m, ts), 0,
				   weigh(m, (double)b.size), ts};
		if (bm_put(&p->blocks, &nb) || schedule(m, p, &nb, 0))
			return -ENOMEM;
		/* zero before: no block of the site was aged; open_window
		 * sets each later window's start */
		if (!s->aged_min && !(s->aged_min = calloc(m->nwin * HC_NHORIZON, sizeof(float))))
			return -ENOMEM;
		if (!p->retained[b.stack] && !(p->retained[b.stack] = calloc(m->nwin, sizeof(double))))
			return -ENOMEM;
		p->retained[b.stack][nb.cohort] += nb.size;
		return 0;
	}
	case HC_REC_FREE: {
		struct hc_free_rec f;
		if (hc_decode_free(rec, &f))
			return -EBADMSG;
		prefetch_frees(p);
		struct block *b = bm_find(&p->blocks, f.id);
		if (!b)
			return 0;
		double ft = (double)f.ts / 1e9;
		struct hc_site *s = &m->sites[b->site];
		if (ft <= m->end_s) {
			if (b->aged)
				pend_aged(p, b->site, b->aged, -b->size);
			int j = age_interval(m, ft - b->ts);
			if (j >= 0)
				s->died[j] += b->size;
			if (ft - b->ts > s->max_life)
				s->max_life = ft - b->ts;
			p->retained[b->site][b->cohort] -= b->size;
		} else {
			censor(m, b);
		}
		return bm_del(&p->blocks, b) ? -ENOMEM : 0;
	}
	}
	return 0;
}

/* --- horizons ---------------------------------------------------------------- */

/* Each site's horizon: the shortest rung past which its blocks stay. From
 * the exact lifetimes of the promoted blocks, a life table by bytes over the
 * ladder's intervals: at risk at ladder[i], the bytes that died or were
 * censored (live at the end) at that age or older; the share surviving the
 * interval, 1 - died / (at risk - censored / 2) (the actuarial estimate:
 * blocks censored within it were at risk half of it). A rung is sound when
 * the product of those shares from it to the oldest age, the survival of
 * what reached it, is HC_SOUND_SURVIVAL or more: a leak, even one whose few
 * entries are evicted or overwritten, keeps a short horizon; a cache at
 * capacity, a TTL or a sawtooth, whose blocks all die at some age, gets a
 * horizon past that age (no block lives there: survival 1). Pooling the
 * blocks instead (freed among those that reached the age) lets the last
 * sawtooth cycle's young survivors outweigh the cycles that died. The
 * first sound rung within half the run is the site's; none: the site
 * cannot be judged (hidx -1).
 * A node's aged floor is the sum of its sites' floors, each at its own
 * horizon (exact when windows are single snapshots, a lower bound of the
 * node's floor otherwise); its horizon, the longest of them. */
static void choose_horizons(struct hc_model *m)
{
	double usable = fmax(0.5 * m->end_s, 0);
	for (size_t i = 0; i < m->nsites; i++) {
		struct hc_site *s = &m->sites[i];
		if (!s->tracked)
			continue;
		s->hidx = -1;
		double surv[HC_NHORIZON + 1], risk = 0;
		surv[HC_NHORIZON] = 1;
		for (int j = HC_NHORIZON - 1; j >= 0; j--) {
			risk += s->died[j] + s->censored[j];
			double exposed = risk - s->censored[j] / 2;
			surv[j] = surv[j + 1] * (exposed > 0 ? 1 - s->died[j] / exposed : 1);
		}
		for (int j = 0; j < HC_NHORIZON && m->ladder[j] <= usable + 1e-9; j++)
			if (surv[j] >= HC_SOUND_SURVIVAL) {
				s->hidx = j;
				break;
			}
		s->horizon_s = s->hidx >= 0 ? m->ladder[s->hidx] : m->ladder[HC_NHORIZON - 1];
		for (uint32_t d = 0; d < s->nchain; d++) {
			struct hc_node *x = &m->nodes[s->chain[d]];
			if (s->hidx < 0) {
				x->unsound++;
				x->unsound_life = fmax(x->unsound_life, s->max_life);
				continue;
			}
			x->horizon_s = fmax(x->horizon_s, s->horizon_s);
			for (size_t w = 0; s->aged_min && w < m->nwin; w++)
				x->aged_min[w] += s->aged_min[w * HC_NHORIZON + s->hidx];
		}
		for (size_t w = 0; s->aged_min && w < m->nwin; w++)
			m->aged_total[w] += s->aged_min[w * HC_NHORIZON];
	}
	for (size_t i = 1; i < m->nnodes; i++)
		if (m->nodes[i].horizon_s <= 0)
			m->nodes[i].horizon_s = m->ladder[0];
}

/* --- the whole --------------------------------------------------------------- */

int hc_model_build(struct hc_model *m, const char *path,
		   int (*on_record)(void *ctx, const struct hc_rec *rec), void *ctx)
{
	memset(m, 0, sizeof(*m));
	m->path = path;
	m->on_record = on_record;
	m->on_record_ctx = ctx;
	m->exit_s = -1;
	hc_summary_init(&m->sum);
	hc_pycodes_init(&m->py);

	size_t cap = 0;
	struct hc_reader r;
	int rc = hc_reader_open(&r, path);
	if (rc) {
		hc_summary_finish(&m->sum, &r);
		hc_reader_close(&r);
		return m->err = rc;
	}
	hc_reader_readahead(&r);
	hc_progress_begin(path, r.size_known ? r.file_size : 0, 3);
	struct hc_rec rec;
	uint64_t chunk = UINT64_MAX;
	while ((rc = hc_reader_next(&r, &rec)) == 1) {
		if (rec.chunk_index != chunk) {
			chunk = rec.chunk_index;
			hc_progress_at(rec.chunk_offset);
		}
		int e = note_chunk(m, &rec);
		if (!e)
			e = pass1(m, &rec, &cap);
		if (e == -EBADMSG)
			hc_reader_fail_record(&r, &rec, hc_record_name(rec.type));
		if (e < 0) {
			rc = e;
			break;
		}
	}
	hc_summary_finish(&m->sum, &r);
	hc_reader_close(&r);
	if (rc == -ENOMEM || r.status == HC_READ_BAD_FILE) {
		hc_progress_end();
		return m->err = rc ? rc : -EIO;
	}

	const struct hc_header_rec *h = &m->sum.header;
	m->interval_s = m->sum.have_header ? (double)h->interval_ns / 1e9 : 1;
	m->promotion_s = m->sum.have_header ? (double)h->promotion_ns / 1e9 : 2;
	m->sample_bytes = m->sum.have_header ? (double)h->sample_bytes : 0;
	if (m->interval_s <= 0)
		m->interval_s = 1;
	m->max_frames = 64; /* the shim's default, unless the header says */
	if (m->sum.have_header) {
		const char *cf = h->config.p, *end = cf + h->config.len;
		for (const char *q = cf; q && q < end;) {
			if ((size_t)(end - q) > 17 && !memcmp(q, "HEAPCREEP_FRAMES=", 17)) {
				int v = 0;
				for (const char *d = q + 17; d < end && *d >= '0' && *d <= '9' && v < 100000; d++)
					v = v * 10 + (*d - '0');
				if (v > 0)
					m->max_frames = v;
			}
			q = memchr(q, '\n', (size_t)(end - q));
			q = q ? q + 1 : NULL;
		}
	}
	find_end(m);
	build_windows(m);
	build_ladder(m);

	struct pass2 p2 = {0};
	hc_progress_pass(2);
	rc = each_record(m, pass2, &p2, NEED_PASS2, NULL);
	for (size_t i = 0; i < m->nsites; i++) {
		m->live_bytes_end += m->sites[i].live_at_end;
		m->live_blocks_end += m->sites[i].blocks_at_end;
	}
	if (!rc)
		rc = build_nodes(m);
	if (!rc && m->nwin) {
		struct pass3 p3 = {0};
		p3.ns = 0;
		while (p3.ns < m->nsnaps && m->snaps[p3.ns].t <= m->end_s + 1e-9)
			p3.ns++;
		size_t ns = m->nsites ? m->nsites : 1;
		p3.aging = calloc(p3.ns ? p3.ns : 1, sizeof(*p3.aging));
		p3.pend_live = calloc(ns, sizeof(double));
		p3.pend_aged = calloc(ns * HC_NHORIZON, sizeof(double));
		p3.pend_mark = calloc(ns, 1);
		p3.pend_list = calloc(ns, sizeof(uint32_t));
		p3.retained = calloc(ns, sizeof(double *));
		if (!p3.aging || !p3.pend_live || !p3.pend_aged || !p3.pend_mark || !p3.pend_list ||
		    !p3.retained)
			rc = -ENOMEM;
		hc_progress_pass(3);
		if (!rc)
			rc = each_record(m, pass3, &p3, NEED_PASS3, prefetch_chunk);
		if (!rc && p3.k > 0 && p3.k <= p3.ns)
			close_snapshot(m, &p3);
		if (!rc)
			flush_pending(m, &p3, 0);
		if (!rc) {
			censor_all(m, &p3.blocks);
			choose_horizons(m);
		}
		for (size_t i = 0; i < m->nsites && p3.retained; i++) {
			const struct hc_site *s = &m->sites[i];
			for (uint32_t d = 0; p3.retained[i] && d < s->nchain; d++)
				for (size_t w = 0; w < m->nwin; w++)
					m->nodes[s->chain[d]].retained[w] += p3.retained[i][w];
			free(p3.retained ? p3.retained[i] : NULL);
		}
		for (size_t k = 0; k < p3.ns && p3.aging; k++)
			free(p3.aging[k].ids);
		bm_release(&p3.blocks);
		free(p3.aging);
		free(p3.pend_live);
		free(p3.pend_aged);
		free(p3.pend_mark);
		free(p3.pend_list);
		free(p3.retained);
	}
	for (size_t i = 1; i < m->nnodes; i++)
		if (m->nodes[i].live > m->nodes[i].peak)
			m->nodes[i].peak = m->nodes[i].live;
	hc_progress_end();
	return m->err = rc;
}

void hc_model_release(struct hc_model *m)
{
	for (size_t i = 0; i < m->nsites; i++) {
		if (m->sites[i].frames != m->sites[i].full)
			free(m->sites[i].frames);
		free(m->sites[i].full);
		free(m->sites[i].chain);
		free(m->sites[i].aged_min);
	}
	for (size_t i = 1; i < m->nnodes; i++)
		free(m->nodes[i].live_min);
	free(m->sites);
	free(m->nodes);
	free(m->snaps);
	free(m->chunk_flags);
	hc_pycodes_release(&m->py);
	hc_summary_release(&m->sum);
	memset(m, 0, sizeof(*m));
}

const uint64_t *hc_node_frames(const struct hc_model *m, const struct hc_node *n)
{
	return m->sites[n->site].frames;
}
