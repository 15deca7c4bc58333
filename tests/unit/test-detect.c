/* The growth detector on traces written here with the shim's own writer, as
 * the collector would have written them for programs whose every block's
 * life is set: the age horizons that survival gives (a leak whose few
 * entries are evicted keeps the shortest; a sawtooth's and an LRU's pass
 * their blocks' lives), the verdicts and their reasons (a leak mixed with
 * temporaries, a staircase, a late onset with its change point, a refill
 * that displaces a fill, a run too short for the horizon, growth spread
 * over sites too small to follow).
 */
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "detect.h"
#include "heapcreep/trace.h"
#include "model.h"
#include "tap.h"
#include "writer.h"

#define NS 1e9

struct sblock {
	uint32_t site;
	uint64_t size, id;
	double alloc, free; /* free < 0: never */
	int promoted;
};

struct sim {
	struct sblock *b;
	size_t n, cap;
	uint64_t f0[4096]; /* each site's innermost frame (0: its own) */
	uint32_t nsites;
	double secs, interval, promote;
};

static uint64_t rng = 0x2545f4914f6cdd1dull;
static double unit(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) * 0x1p-53;
}

static void sim_init(struct sim *s, double secs, double interval, double promote)
{
	memset(s, 0, sizeof(*s));
	s->secs = secs;
	s->interval = interval;
	s->promote = promote;
}

static struct sblock *sim_alloc(struct sim *s, uint32_t site, uint64_t size, double at, double free)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4096;
		s->b = realloc(s->b, s->cap * sizeof(*s->b));
		if (!s->b)
			abort();
	}
	if (site + 1 > s->nsites)
		s->nsites = site + 1;
	s->b[s->n] = (struct sblock){site, size, 0, at, free, 0};
	return &s->b[s->n++];
}

static int live_at(const struct sblock *b, double t)
{
	return b->alloc <= t && (b->free < 0 || b->free > t);
}

/* Writes the trace: a SNAPSHOT and its SITES each interval, BLOCK records
 * for the blocks that outlive the promotion age (at the first snapshot past
 * it), FREE records for those, an END at the end. */
static void sim_write(struct sim *s, const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	struct hc_writer w;
	if (fd < 0 || hc_writer_init(&w, fd, 0))
		abort();
	hc_rec_begin(&w, HC_REC_HEADER);
	uint64_t hdr[] = {HC_TRACE_VERSION, 4242, 1, 0, 1790000000ull * 1000000000ull, 1000, 4096, 0,
			  0, 0, (uint64_t)(s->promote * NS), (uint64_t)(s->interval * NS)};
	for (size_t i = 0; i < sizeof(hdr) / sizeof(hdr[0]); i++)
		hc_rec_u(&w, hdr[i]);
	hc_rec_str(&w, "/usr/bin/sim", 12);
	hc_rec_str(&w, "sim", 3);
	hc_rec_str(&w, "", 0);
	hc_rec_str(&w, "", 0);
	hc_rec_end(&w);
	for (uint32_t id = 0; id < s->nsites; id++) {
		hc_rec_begin(&w, HC_REC_STACK);
		hc_rec_u(&w, id);
		hc_rec_u(&w, 3);
		uint64_t fr[3] = {s->f0[id] ? s->f0[id] : 0x400000 + id * 64ull, 0x500000 + id * 64ull,
				  0x600000};
		uint64_t prev = 0;
		for (int i = 0; i < 3; i++) {
			hc_rec_s(&w, (int64_t)(fr[i] - prev));
			prev = fr[i];
		}
		hc_rec_end(&w);
	}
	uint64_t next_id = 1, last_id = 0, allocs = 0, frees = 0, bytes = 0, peak = 0;
	size_t nsnap = (size_t)llround(s->secs / s->interval);
	uint64_t *site_allocs = calloc(s->nsites, 8), *site_frees = calloc(s->nsites, 8);
	uint64_t *site_bytes = calloc(s->nsites, 8), *site_peak = calloc(s->nsites, 8);
	uint64_t(*hist)[64] = calloc(s->nsites, sizeof(*hist));
	for (size_t k = 1; k <= nsnap; k++) {
		double t0 = (double)(k - 1) * s->interval, t = (double)k * s->interval;
		/* frees of promoted blocks in (t0, t], in time order */
		for (;;) {
			struct sblock *first = NULL;
			for (size_t i = 0; i < s->n; i++) {
				struct sblock *b = &s->b[i];
				if (b->promoted == 1 && b->free > t0 && b->free <= t &&
				    (!first || b->free < first->free))
					first = b;
			}
			if (!first)
				break;
			first->promoted = 2;
			hc_rec_begin(&w, HC_REC_FREE);
			hc_rec_u(&w, first->id);
			hc_rec_u(&w, (uint64_t)(first->free * NS));
			hc_rec_end(&w);
		}
		uint64_t heap = 0, blocks = 0;
		uint64_t *live = calloc(s->nsites, 8), *nlive = calloc(s->nsites, 8);
		for (size_t i = 0; i < s->n; i++) {
			struct sblock *b = &s->b[i];
			if (b->alloc > t0 && b->alloc <= t) {
				allocs++;
				bytes += b->size;
				site_allocs[b->site]++;
				site_bytes[b->site] += b->size;
			}
			if (b->free > t0 && b->free <= t) {
				frees++;
				site_frees[b->site]++;
				double life = (b->free - b->alloc) * NS;
				hist[b->site][life < 1 ? 0 : 63 - __builtin_clzll((uint64_t)life)]++;
			}
			if (live_at(b, t)) {
				heap += b->size;
				blocks++;
				live[b->site] += b->size;
				nlive[b->site]++;
				if (!b->promoted && t - b->alloc >= s->promote) {
					b->promoted = 1;
					b->id = next_id++;
					hc_rec_begin(&w, HC_REC_BLOCK);
					hc_rec_u(&w, b->id - last_id);
					hc_rec_u(&w, b->site);
					hc_rec_u(&w, b->size);
					hc_rec_u(&w, (uint64_t)(b->alloc * NS));
					hc_rec_u(&w, 0x10000000ull + b->id * 64);
					hc_rec_end(&w);
					last_id = b->id;
				}
			}
		}
		if (heap > peak)
			peak = heap;
		hc_rec_begin(&w, HC_REC_SNAPSHOT);
		uint64_t snap[] = {(uint64_t)(t * NS), heap + (8u << 20), heap, blocks, peak, allocs,
				   frees, bytes, allocs + frees, 0, 0, 0, 2u << 20};
		for (size_t i = 0; i < sizeof(snap) / sizeof(snap[0]); i++)
			hc_rec_u(&w, snap[i]);
		hc_rec_end(&w);
		hc_rec_begin(&w, HC_REC_SITES);
		hc_rec_u(&w, s->nsites);
		for (uint32_t i = 0; i < s->nsites; i++) {
			if (live[i] > site_peak[i])
				site_peak[i] = live[i];
			uint64_t f[] = {i, live[i], nlive[i], site_allocs[i], site_frees[i], site_bytes[i],
					site_peak[i]};
			for (size_t j = 0; j < sizeof(f) / sizeof(f[0]); j++)
				hc_rec_u(&w, f[j]);
			unsigned nh = 0;
			for (int j = 0; j < 64; j++)
				nh += hist[i][j] != 0;
			hc_rec_u(&w, nh);
			for (int j = 0; j < 64; j++)
				if (hist[i][j]) {
					hc_rec_u(&w, (uint64_t)j);
					hc_rec_u(&w, hist[i][j]);
				}
			memset(hist[i], 0, sizeof(hist[i]));
			site_allocs[i] = site_frees[i] = site_bytes[i] = 0;
		}
		hc_rec_end(&w);
		hc_writer_flush(&w);
		free(live);
		free(nlive);
	}
	hc_rec_begin(&w, HC_REC_END);
	hc_rec_u(&w, (uint64_t)(s->secs * NS));
	hc_rec_u(&w, HC_END_EXIT);
	hc_rec_end(&w);
	if (hc_writer_flush(&w))
		abort();
	hc_writer_release(&w);
	close(fd);
	free(site_allocs);
	free(site_frees);
	free(site_bytes);
	free(site_peak);
	free(hist);
	free(s->b);
}

static char path[64];

/* Analyses the trace; the caller releases both. */
static void analyse(struct hc_model *m, struct hc_detect *d)
{
	struct hc_detect_opts o;
	hc_detect_defaults(&o);
	if (hc_model_build(m, path, NULL, NULL) || hc_detect_run(m, &o, d))
		abort();
}

/* The whole-stack node of a site. */
static struct hc_node *site_node(struct hc_model *m, uint32_t site)
{
	struct hc_site *s = &m->sites[site];
	return s->nchain ? &m->nodes[s->chain[s->nchain - 1]] : NULL;
}

/* Writes the simulation's trace and analyses it: the whole-stack node of
 * `site`. */
static struct hc_node *judge(struct sim *s, uint32_t site, struct hc_model *m, struct hc_detect *d)
{
	sim_write(s, path);
	analyse(m, d);
	return site_node(m, site);
}

static void done(struct hc_model *m, struct hc_detect *d)
{
	hc_detect_release(d);
	hc_model_release(m);
	unlink(path);
}

/* One site serves temporaries (freed in 50 ms) and records kept, 10% of
 * which are evicted at random later: the evictions do not lengthen the
 * horizon, and the site is a LEAK at its rate. */
static void test_mixed(void)
{
	struct sim s;
	sim_init(&s, 100, 1, 2);
	for (double t = 0.05; t < 100; t += 0.1) {
		sim_alloc(&s, 1, 1000, t, t + 0.05);
		double evict = unit() < 0.1 ? t + 5 + unit() * (100 - t) : -1;
		sim_alloc(&s, 1, 1000, t, evict < 100 ? evict : -1);
	}
	struct hc_model m;
	struct hc_detect d;
	struct hc_node *x = judge(&s, 1, &m, &d);
	is_int(d.verdict, HC_VERDICT_LEAK, "mixed lifetimes, 10%% evicted: LEAK");
	ok(x && x->verdict == HC_VERDICT_LEAK, "at its site (%s)", x ? x->why : "");
	ok(fabs(m.sites[1].horizon_s - 5.0) < 1e-9, "its horizon is the shortest rung, 5 s (%.2f s)",
	   m.sites[1].horizon_s);
	ok(x && fabs(x->slope - 9500) < 1500, "growth %.0f B/s, about 9 500", x ? x->slope : 0);
	done(&m, &d);
}

/* A collector's sawtooth: all of it freed every 30 s; a horizon past 30 s,
 * and no finding. */
static void test_sawtooth(void)
{
	struct sim s;
	sim_init(&s, 100, 1, 2);
	for (double t = 0.05; t < 100; t += 0.05)
		sim_alloc(&s, 2, 1000, t, t < 90 ? 30 * ceil(t / 30 + 1e-9) : -1);
	struct hc_model m;
	struct hc_detect d;
	judge(&s, 0, &m, &d);
	is_int(d.verdict, HC_VERDICT_NONE, "a sawtooth of three collections: PASS (%s)", d.reason);
	ok(m.sites[2].hidx < 0 || m.sites[2].horizon_s > 30,
	   "its horizon passes its blocks' lives (rung %d, %.1f s)", m.sites[2].hidx,
	   m.sites[2].horizon_s);
	done(&m, &d);
}

/* An LRU at capacity: 10 inserts a second, 100 entries, an entry lives
 * 10 s; the horizon passes 10 s, no finding. */
static void test_lru(void)
{
	struct sim s;
	sim_init(&s, 100, 1, 2);
	for (double t = 0.05; t < 100; t += 0.1)
		sim_alloc(&s, 3, 2000, t, t + 10 < 100 ? t + 10 : -1);
	struct hc_model m;
	struct hc_detect d;
	judge(&s, 0, &m, &d);
	is_int(d.verdict, HC_VERDICT_NONE, "an LRU at capacity: PASS");
	ok(m.sites[3].hidx >= 0 && m.sites[3].horizon_s > 10 && m.sites[3].horizon_s < 20,
	   "its horizon is the first rung past 10 s (%.1f s)", m.sites[3].horizon_s);
	done(&m, &d);
}

/* 500 entries filled from one place over 10 s, then replaced at random
 * from another (the same innermost frame), 5 a second: the refill's set
 * grows while theirs together does not. */
static void test_displacement(void)
{
	struct sim s;
	sim_init(&s, 100, 1, 2);
	s.f0[5] = s.f0[4] = 0x401000;
	struct sblock *slot[500];
	for (int i = 0; i < 500; i++)
		slot[i] = sim_alloc(&s, 4, 1500, 0.02 * i + 0.01, -1);
	size_t idx[500];
	for (int i = 0; i < 500; i++)
		idx[i] = (size_t)(slot[i] - s.b);
	for (double t = 10.1; t < 100; t += 0.2) {
		int k = (int)(unit() * 500);
		s.b[idx[k]].free = t;
		idx[k] = (size_t)(sim_alloc(&s, 5, 1500, t, -1) - s.b);
	}
	struct hc_model m;
	struct hc_detect d;
	struct hc_node *x = judge(&s, 5, &m, &d);
	is_int(d.verdict, HC_VERDICT_NONE, "a refill displacing a fill: PASS");
	ok(x && strstr(x->why, "take the place"), "the refill says why (%s)", x ? x->why : "");
	done(&m, &d);
}

/* A leak of 1 MB/s for 6 s at a 100-ms interval: shorter than twice the
 * 5.1-s horizon; INCONCLUSIVE, saying what would settle it. */
static void test_short(void)
{
	struct sim s;
	sim_init(&s, 6, 0.1, 2);
	for (double t = 0.005; t < 6; t += 0.01)
		sim_alloc(&s, 1, 10000, t, -1);
	struct hc_model m;
	struct hc_detect d;
	struct hc_node *x = judge(&s, 1, &m, &d);
	is_int(d.verdict, HC_VERDICT_INCONCLUSIVE, "6 s at 100 ms, promotion 2 s: INCONCLUSIVE");
	ok(x && strstr(x->why, "--promote"), "it says to lower --promote (%s)", x ? x->why : "");
	done(&m, &d);
}

/* 200 KB at once every 8 s: a staircase, LEAK. */
static void test_staircase(void)
{
	struct sim s;
	sim_init(&s, 100, 1, 2);
	for (double t = 8; t < 100; t += 8)
		for (int i = 0; i < 100; i++)
			sim_alloc(&s, 6, 2000, t + 0.001 * i, -1);
	struct hc_model m;
	struct hc_detect d;
	struct hc_node *x = judge(&s, 6, &m, &d);
	is_int(d.verdict, HC_VERDICT_LEAK, "200 KB every 8 s: LEAK");
	ok(x && fabs(x->slope - 25000) < 5000, "growth %.0f B/s, about 25 000", x ? x->slope : 0);
	done(&m, &d);
}

/* A leak from 50 s of 100 (the same site churning before): since 50 s. */
static void test_onset(void)
{
	struct sim s;
	sim_init(&s, 100, 1, 2);
	for (double t = 0.05; t < 100; t += 0.1)
		sim_alloc(&s, 7, 5000, t, t < 50 ? t + 0.01 : -1);
	struct hc_model m;
	struct hc_detect d;
	struct hc_node *x = judge(&s, 7, &m, &d);
	is_int(d.verdict, HC_VERDICT_LEAK, "a leak from 50 s of 100: LEAK");
	ok(x && x->since_s >= 49 && x->since_s <= 51, "since %.1f s", x ? x->since_s : -1);
	done(&m, &d);
}

/* 2000 sites, each keeping one 100-byte block every 10 s: no site reaches
 * the 4 KiB followed, the heap grows 20 KB/s: INCONCLUSIVE with that. */
static void test_heap_trough(void)
{
	struct sim s;
	sim_init(&s, 100, 1, 2);
	for (uint32_t k = 1; k <= 2000; k++)
		for (double t = 0.001 * k; t < 100; t += 10)
			sim_alloc(&s, k, 100, t, -1);
	struct hc_model m;
	struct hc_detect d;
	judge(&s, 0, &m, &d);
	is_int(d.verdict, HC_VERDICT_INCONCLUSIVE, "growth spread over 2000 small sites: INCONCLUSIVE");
	ok(strstr(d.reason, "heap's trough rises") != NULL, "with the heap's figure (%s)", d.reason);
	is_int((int)d.nfindings, 0, "and no site to blame");
	done(&m, &d);
}

int main(void)
{
	snprintf(path, sizeof(path), "/tmp/test-detect.%d.hct", (int)getpid());
	plan(19);
	test_mixed();
	test_sawtooth();
	test_lru();
	test_displacement();
	test_short();
	test_staircase();
	test_onset();
	test_heap_trough();
	return done_testing();
}
