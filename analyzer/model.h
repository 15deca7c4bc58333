/* The analysis model: what the detector and the reports need, built from a
 * trace in three streaming passes (memory bounded by sites, live promoted
 * blocks and windows, never by the trace's length):
 *   1. the snapshot series: when the run ends for analysis (before teardown);
 *   2. per site: lifetimes of freed blocks (→ age horizon), totals, peaks;
 *   3. per calling-context node: window series of live bytes, aged live
 *      bytes (blocks older than the site's horizon), bytes allocated, and
 *      bytes of each window's cohort still live at the end.
 * A node is a prefix of a stack, innermost frame first: [f0], [f0 f1], ...;
 * a site's whole stack (up to HC_NODE_DEPTH frames) is its deepest node.
 */
#ifndef HC_MODEL_H
#define HC_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "pycode.h"
#include "summary.h"

#define HC_MAX_WINDOWS 120
#define HC_NODE_DEPTH 8
/* Sites whose live bytes never reach this are counted in the totals but not
 * given window series (they cannot carry a finding on their own). */
#define HC_TRACK_MIN_BYTES 4096
#define HC_TRACK_MAX_SITES 5000
/* Age horizons tried per site: a ladder from the shortest age the trace
 * shows exactly (twice the promotion age plus an interval) up, by a factor
 * of sqrt(2) or more, to half the run. */
#define HC_NHORIZON 10
/* A horizon is sound for a site when the bytes of its blocks that reach
 * that age survive, by the life-table estimate, to every older age the run
 * shows at this rate or more (model.c, choose_horizons). */
#define HC_SOUND_SURVIVAL 0.5

struct hc_snap {
	double t;             /* seconds since the trace's start */
	double rss, heap_live;
	double mapped;        /* of heap_live, the anonymous mappings' */
	double shim;          /* the shim's own memory (in rss) */
	uint64_t allocs, frees;
};

struct hc_site {
	/* The site's frames, innermost first: what keys it and what the
	 * reports show. With Python frames (merged into the native ones,
	 * pycode.h): the Python frames from the innermost out, and the native
	 * frames between them of code other than the interpreter's (C
	 * extensions). */
	uint64_t *frames;
	uint32_t nframes;
	/* The whole merged stack (without Python frames: frames itself), and
	 * its first ninner native frames: those inside the innermost Python
	 * frame (the C function that allocated for it, the allocator),
	 * folded behind it in the reports. */
	uint64_t *full, *inner;
	uint32_t nfull, ninner;
	int tracked;
	double horizon_s;     /* age horizon A: the chosen rung, or the longest tried */
	int hidx;             /* the chosen rung of the ladder; -1: none is sound */
	/* pass 3, per interval [ladder[j], ladder[j+1]) of age (the last one
	 * open): bytes of blocks freed before the end at that age, and of
	 * blocks live at the end at that age (censored) */
	double died[HC_NHORIZON], censored[HC_NHORIZON];
	double max_life;      /* longest lifetime of a promoted block freed before the end */
	double aged[HC_NHORIZON]; /* pass 3 running values */
	float *aged_min;      /* pass 3: nwin x HC_NHORIZON window minima, or NULL */
	uint64_t hist[64];    /* lifetimes of blocks freed before the end */
	uint64_t allocs, frees, bytes_allocated;
	double peak_before_end, live_at_end, live_final;
	double blocks_at_end, blocks_final; /* live blocks then */
	uint32_t *chain;      /* node ids, depth 1..n */
	uint32_t nchain;
	double live_now;      /* pass 3: the last SITES figure */
	uint64_t temporary;   /* freed within 16 µs */
};

struct hc_window {
	double t0, t1, t;     /* bounds and mid time, seconds */
	size_t first, last;   /* snapshot indices (inclusive) */
	double heap_min, heap_max, rss_max;
	double own_rss_max;   /* rss less the shim's own memory: the program's */
	/* the least, over the window's snapshots, of the program's RSS less
	 * the traced heap: memory no traced allocation holds (allocator
	 * overhead, pymalloc's arenas, mmap) */
	double outside_min;
};

struct hc_node {
	uint32_t parent;      /* 0: none (depth 1) */
	uint32_t depth;
	uint64_t frame;       /* this node's outermost frame */
	uint32_t site;        /* a site whose stack this node covers (display) */
	uint32_t nsites;      /* sites under it */
	double live;          /* pass 3 running value */
	int dirty;
	double *live_min, *live_max, *aged_min, *alloc, *retained; /* per window */
	double horizon_s;     /* the largest sound horizon among its sites */
	uint32_t unsound;     /* sites under it with no sound horizon */
	double unsound_life;  /* the longest lifetime seen among those */
	double peak, live_end, live_final, bytes_allocated;
	uint64_t allocs;
	/* detection results (detect.c) */
	int verdict;          /* HC_VERDICT_* */
	int r1, r2;
	double p, slope, slope_lo, slope_hi, since_s;
	double r2_rate, r2_rate_lo;
	double onset_s;       /* change point of the live floor (-1: none found) */
	double live_p, live_slope, live_slope_lo; /* the live floor's trend since onset */
	int live_grows;       /* that trend is significant, steady and over budget */
	int live_plateau;     /* it rose significantly, over budget, then levelled off */
	char why[384];
	int reported;
};

struct hc_model {
	struct hc_summary sum;     /* header, last snapshot, completeness (pass 1) */
	const char *path;
	struct hc_pycodes py;      /* Python code objects (pass 1), merge counts (pass 2) */
	int max_frames;            /* the shim's native stack depth */
	double interval_s, promotion_s, sample_bytes;
	/* pass 1 */
	struct hc_snap *snaps;
	size_t nsnaps;
	uint8_t *chunk_flags;      /* per chunk: which later passes need it (model.c) */
	size_t nchunk_flags, chunk_flags_cap;
	double end_s;              /* analysis end: before teardown, or the last snapshot */
	int teardown;              /* a final burst of frees was found */
	double teardown_s, teardown_freed;
	double exit_s;             /* EXIT record, or -1 */
	/* pass 2 */
	struct hc_site *sites;     /* index: stack id */
	size_t nsites;
	uint64_t temporary, total_freed;
	double live_bytes_end, live_blocks_end; /* all sites, at end_s */
	/* pass 3 */
	struct hc_window win[HC_MAX_WINDOWS];
	size_t nwin;
	double ladder[HC_NHORIZON]; /* age horizons tried, seconds, increasing */
	/* every followed site's bytes older than the shortest horizon, summed
	 * (each site's floor): the process's long-lived bytes, free of churn */
	double aged_total[HC_MAX_WINDOWS];
	struct hc_node *nodes;     /* index 0 unused */
	size_t nnodes;
	uint64_t promoted_blocks;
	/* status: 0, or -errno with sum.message saying why */
	int err;
	/* called for every record in pass 2 (the symbolizer takes MODULES and
	 * SYMBOLS from there); -EBADMSG makes the trace corrupt at that record,
	 * -ENOMEM fails the build */
	int (*on_record)(void *ctx, const struct hc_rec *rec);
	void *on_record_ctx;
};

/* Reads the trace (three passes). Returns 0 when it could be analysed
 * (complete or truncated), -errno otherwise (the summary says why).
 * on_record (may be NULL) sees the MODULES and SYMBOLS records, in order. */
int hc_model_build(struct hc_model *m, const char *path,
		   int (*on_record)(void *ctx, const struct hc_rec *rec), void *ctx);
void hc_model_release(struct hc_model *m);

/* Frames of a node (innermost first), pointing into its display site. */
const uint64_t *hc_node_frames(const struct hc_model *m, const struct hc_node *n);

#endif
