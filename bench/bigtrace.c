/* Writes a big trace for the analyzer's benchmark, with the shim's own
 * writer, as the collector would have written it for a long-running
 * service: RATE blocks a second that outlive the promotion age (BLOCK, then
 * FREE 3 to 20 s later) from 200 call sites, one of which leaks 2000 blocks
 * a second (256 bytes each, never freed); a SNAPSHOT and its SITES every
 * second. The live set stays bounded (about RATE x 11 blocks), the trace
 * grows with time: what the analyzer must read in memory bounded by live
 * blocks, not by the trace's length.
 * usage: bigtrace OUT SECONDS [RATE]   (RATE default 500000)
 * Prints the number of BLOCK records written. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "heapcreep/trace.h"
#include "writer.h"
#include "xorshift.h"

#define SITES 200
#define LEAK_SITE 1
#define LEAK_RATE 2000
#define PROMOTE_S 2
#define NS 1000000000ull
#define HIST 64

struct pending {  /* allocated, not yet promoted */
	uint64_t ts, free_ts, size, ptr;
	uint32_t site;
};

struct dying {    /* promoted, freed at ts */
	uint64_t id, ts, size, alloc_ts;
	uint32_t site;
};

struct vec {
	void *v;
	size_t n, cap, esize;
};

static void *push(struct vec *a)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 1024;
		a->v = realloc(a->v, a->cap * a->esize);
		if (!a->v) {
			perror("bigtrace");
			exit(2);
		}
	}
	return (char *)a->v + a->n++ * a->esize;
}

struct site {
	int64_t live_bytes, live_blocks;
	uint64_t allocs, frees, bytes, peak;
	uint32_t hist[HIST];
	int dirty;
};

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	return xorshift64(&rng);
}

static int by_ts(const void *a, const void *b)
{
	const struct dying *x = a, *y = b;
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bigtrace OUT SECONDS [RATE]\n");
		return 2;
	}
	long secs = atol(argv[2]);
	uint64_t rate = argc > 3 ? strtoull(argv[3], NULL, 10) : 500000;
	int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	struct hc_writer w;
	if (fd < 0 || hc_writer_init(&w, fd, 3)) {
		perror(argv[1]);
		return 2;
	}
	hc_rec_begin(&w, HC_REC_HEADER);
	uint64_t hdr[] = {HC_TRACE_VERSION, 4242, 1, 0, 1790000000ull * NS, 1000 * NS, 4096, 0, 0, 0,
			  PROMOTE_S * NS, NS};
	for (size_t i = 0; i < sizeof(hdr) / sizeof(hdr[0]); i++)
		hc_rec_u(&w, hdr[i]);
	const char exe[] = "/usr/bin/imagecache", cmd[] = "imagecache\0--serve";
	hc_rec_str(&w, exe, sizeof(exe) - 1);
	hc_rec_str(&w, cmd, sizeof(cmd) - 1);
	hc_rec_str(&w, "", 0);
	hc_rec_str(&w, "", 0);
	hc_rec_end(&w);
	/* stack 0, then one stack per site: 12 to 30 frames */
	for (uint32_t id = 0; id <= SITES; id++) {
		hc_rec_begin(&w, HC_REC_STACK);
		hc_rec_u(&w, id);
		unsigned n = id ? 12 + (unsigned)(rnd() % 19) : 0;
		hc_rec_u(&w, n);
		uint64_t prev = 0;
		for (unsigned i = 0; i < n; i++) {
			uint64_t a = 0x400000 + (i == 0 ? id * 4096 : rnd() % (1 << 20));
			hc_rec_s(&w, (int64_t)(a - prev));
			prev = a;
		}
		hc_rec_end(&w);
	}

	struct site *site = calloc(SITES + 1, sizeof(*site));
	/* pending[s % 4]: blocks allocated in second s; dying[s % 32]: freed in s */
	struct vec pending[4], dying[32];
	for (int i = 0; i < 4; i++)
		pending[i] = (struct vec){NULL, 0, 0, sizeof(struct pending)};
	for (int i = 0; i < 32; i++)
		dying[i] = (struct vec){NULL, 0, 0, sizeof(struct dying)};
	uint64_t next_id = 1, last_written = 0, ptr = 0x10000000ull;
	int64_t live_bytes = 0, live_blocks = 0;
	uint64_t peak = 0, total_allocs = 0, total_frees = 0, total_bytes = 0;
	for (long s = 0; s < secs; s++) {
		/* the second's allocations */
		struct vec *pv = &pending[s % 4];
		pv->n = 0;
		for (uint64_t i = 0; i < rate + LEAK_RATE; i++) {
			struct pending *b = push(pv);
			uint64_t r = rnd();
			b->ts = (uint64_t)s * NS + r % NS;
			b->ptr = (ptr += 16 + ((r >> 30) & 0x3f0));
			if (i < LEAK_RATE) {
				b->site = LEAK_SITE;
				b->size = 256;
				b->free_ts = 0;
			} else {
				b->site = 2 + (uint32_t)((r >> 40) % (SITES - 1));
				b->size = 16 + (r >> 48) % 4080;
				b->free_ts = b->ts + 3 * NS + rnd() % (17 * NS);
			}
			struct site *st = &site[b->site];
			st->live_bytes += (int64_t)b->size;
			st->live_blocks++;
			st->allocs++;
			st->bytes += b->size;
			if ((uint64_t)st->live_bytes > st->peak)
				st->peak = (uint64_t)st->live_bytes;
			st->dirty = 1;
			live_bytes += (int64_t)b->size;
			live_blocks++;
			total_allocs++;
			total_bytes += b->size;
		}
		/* the second's frees, in time order */
		struct vec *dv = &dying[s % 32];
		qsort(dv->v, dv->n, sizeof(struct dying), by_ts);
		for (size_t i = 0; i < dv->n; i++) {
			struct dying *d = (struct dying *)dv->v + i;
			hc_rec_begin(&w, HC_REC_FREE);
			hc_rec_u(&w, d->id);
			hc_rec_u(&w, d->ts);
			hc_rec_end(&w);
			struct site *st = &site[d->site];
			st->live_bytes -= (int64_t)d->size;
			st->live_blocks--;
			st->frees++;
			st->hist[63 - __builtin_clzll(d->ts - d->alloc_ts)]++;
			st->dirty = 1;
			live_bytes -= (int64_t)d->size;
			live_blocks--;
			total_frees++;
		}
		dv->n = 0;
		if ((uint64_t)live_bytes > peak)
			peak = (uint64_t)live_bytes;
		/* the snapshot at s + 1 promotes what second s - 1 allocated */
		uint64_t now = (uint64_t)(s + 1) * NS;
		if (s >= 1) {
			struct vec *old = &pending[(s - 1) % 4];
			for (size_t i = 0; i < old->n; i++) {
				struct pending *b = (struct pending *)old->v + i;
				uint64_t id = next_id++;
				hc_rec_begin(&w, HC_REC_BLOCK);
				hc_rec_u(&w, id - last_written);
				hc_rec_u(&w, b->site);
				hc_rec_u(&w, b->size);
				hc_rec_u(&w, b->ts);
				hc_rec_u(&w, b->ptr);
				hc_rec_end(&w);
				last_written = id;
				if (b->free_ts) {
					struct dying *d = push(&dying[(b->free_ts / NS) % 32]);
					*d = (struct dying){id, b->free_ts, b->size, b->ts, b->site};
				}
			}
		}
		hc_rec_begin(&w, HC_REC_SNAPSHOT);
		uint64_t snap[] = {now,
				   (uint64_t)live_bytes * 5 / 4 + (60u << 20),
				   (uint64_t)live_bytes,
				   (uint64_t)live_blocks,
				   peak,
				   total_allocs,
				   total_frees,
				   total_bytes,
				   total_allocs + total_frees,
				   0,
				   0,
				   0,
				   (uint64_t)live_blocks * 40 + (2u << 20)};
		for (size_t i = 0; i < sizeof(snap) / sizeof(snap[0]); i++)
			hc_rec_u(&w, snap[i]);
		hc_rec_end(&w);
		unsigned ndirty = 0;
		for (int i = 1; i <= SITES; i++)
			ndirty += site[i].dirty;
		hc_rec_begin(&w, HC_REC_SITES);
		hc_rec_u(&w, ndirty);
		for (uint32_t i = 1; i <= SITES; i++) {
			struct site *st = &site[i];
			if (!st->dirty)
				continue;
			uint64_t f[] = {i, (uint64_t)st->live_bytes, (uint64_t)st->live_blocks,
					st->allocs, st->frees, st->bytes, st->peak};
			for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++)
				hc_rec_u(&w, f[k]);
			unsigned nh = 0;
			for (int b = 0; b < HIST; b++)
				nh += st->hist[b] != 0;
			hc_rec_u(&w, nh);
			for (int b = 0; b < HIST; b++)
				if (st->hist[b]) {
					hc_rec_u(&w, (uint64_t)b);
					hc_rec_u(&w, st->hist[b]);
				}
			memset(st->hist, 0, sizeof(st->hist));
			st->allocs = st->frees = st->bytes = 0;
			st->dirty = 0;
		}
		hc_rec_end(&w);
		hc_writer_flush(&w); /* a chunk per snapshot, as the collector closes them */
	}
	hc_rec_begin(&w, HC_REC_END);
	hc_rec_u(&w, (uint64_t)secs * NS);
	hc_rec_u(&w, HC_END_EXIT);
	hc_rec_end(&w);
	int rc = hc_writer_flush(&w);
	hc_writer_release(&w);
	if (rc || close(fd)) {
		fprintf(stderr, "bigtrace: %s: write failed\n", argv[1]);
		return 2;
	}
	printf("%llu\n", (unsigned long long)(next_id - 1));
	return 0;
}
