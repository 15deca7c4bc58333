/* Growth detection over the model's window series (detect.h has the rules).
 * The thresholds live here, named; the reasons written for INCONCLUSIVE
 * findings say which rule fired and which did not, with the figures.
 */
#include "detect.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "stats.h"

#define WARMUP_FRACTION 0.2  /* the first fifth of the windows is warm-up */
#define MIN_WINDOWS 8        /* after warm-up, for a trend to mean anything */
#define MIN_COHORTS 4
#define SLOWDOWN 0.5         /* late growth at least half the early growth */

void hc_detect_defaults(struct hc_detect_opts *o)
{
	o->budget = HC_DEFAULT_BUDGET;
	o->horizon_s = HC_DEFAULT_HORIZON;
	o->limit = 0;
	o->fdr = 0.01;
}

const char *hc_verdict_name(int v)
{
	return v == HC_VERDICT_LEAK ? "leak" : v == HC_VERDICT_INCONCLUSIVE ? "inconclusive" : "pass";
}

static void fmt_rate(char *buf, size_t cap, double bps)
{
	double a = fabs(bps);
	if (a >= 1024.0 * 1024)
		snprintf(buf, cap, "%.1f MiB/s", bps / (1024.0 * 1024));
	else if (a >= 1024)
		snprintf(buf, cap, "%.1f KiB/s", bps / 1024);
	else
		snprintf(buf, cap, "%.0f B/s", bps);
}

struct series {
	double x[HC_MAX_WINDOWS], y[HC_MAX_WINDOWS];
	size_t n;
	double *scratch;
};

/* Theil-Sen slope of a sub-range, for the slowdown checks. */
static double slope_of(const struct series *s, size_t from, size_t n)
{
	double slope = 0, lo, hi;
	if (n >= 2)
		hc_theil_sen(s->x + from, s->y + from, n, s->scratch, &slope, &lo, &hi);
	return slope;
}

/* Growth that is not slowing toward a plateau: the late half of the segment
 * [from, from + n) grows at least SLOWDOWN times as fast as its early half,
 * and the last quarter of the whole series (at least 6 windows) still grows
 * at SLOWDOWN times the segment's slope. A cache that filled late in the
 * run fails the second; a saturating curve the first. */
static int steady(const struct series *s, size_t from, size_t n, double slope)
{
	double early = slope_of(s, from, n / 2), late = slope_of(s, from + n / 2, n - n / 2);
	if (early > 0 && late < SLOWDOWN * early)
		return 0;
	size_t q = s->n / 4 < 6 ? 6 : s->n / 4;
	if (q > s->n)
		q = s->n;
	return !(slope > 0) || slope_of(s, s->n - q, q) >= SLOWDOWN * slope;
}

/* The first window after warm-up whose start is at or past t. */
static size_t window_from(const struct hc_model *m, size_t w0, double t)
{
	size_t w = w0;
	while (w < m->nwin && m->win[w].t0 < t - 1e-9)
		w++;
	return w;
}

/* Onset: the change point of the node's live floor, from a hinge fit
 * y = a + b * max(0, t - tau) by least squares over every window (a
 * rising floor is the window's value at its start, t0), tau tried at each
 * window's start. A leak present from the start gives tau 0.
 * -1 when the best fit does not grow. */
static double onset(const struct hc_model *m, const struct hc_node *x)
{
	size_t n = m->nwin;
	double best = INFINITY, tau_best = -1;
	for (size_t k = 0; k + 3 <= n; k++) {
		double tau = m->win[k].t0;
		double su = 0, sy = 0, suu = 0, suy = 0, syy = 0;
		for (size_t w = 0; w < n; w++) {
			/* a window's floor is its value at its start when rising */
			double u = fmax(0, m->win[w].t0 - tau), y = x->live_min[w];
			su += u;
			sy += y;
			suu += u * u;
			suy += u * y;
			syy += y * y;
		}
		double dn = (double)n, det = dn * suu - su * su;
		if (det <= 0)
			continue;
		double b = (dn * suy - su * sy) / det, a = (sy - b * su) / dn;
		double sse = syy - a * sy - b * suy;
		if (b > 0 && sse < best * (1 - 1e-12)) {
			best = sse;
			tau_best = tau;
		}
	}
	return tau_best;
}

/* A trend over the segments of a series: the last 100%, 2/3, 1/2, 1/3, and
 * the windows from `from_w` (the onset, or onset plus the horizon), each of
 * at least 6 windows. A segment counts when its slope's lower bound ×
 * horizon reaches the budget and growth is steady; the p-value is the
 * smallest over counting segments times the number of tests made (up to
 * 5 segments at 4 resolutions: Bonferroni), 1 when none counts. */
struct segtrend {
	double p, slope, slope_lo, slope_hi;
	size_t longest; /* windows in the longest segment tested */
};

static void seg_trend(const struct hc_detect_opts *o, const struct series *s0, size_t onset_n,
		      int nparts, struct segtrend *r)
{
	static const double parts[4] = {1.0, 2.0 / 3, 0.5, 1.0 / 3};
	static const size_t coarse[4] = {1, 2, 4, 8};
	r->p = 1;
	r->slope = r->slope_lo = r->slope_hi = 0;
	r->longest = 0;
	int best = 0, tests = 0;
	double pmin = 1;
	/* At the windows' own resolution, and at 2, 4 and 8 windows a point (the
	 * least of each group, grouped from the end): a leak in steps several
	 * windows apart is a staircase whose flat treads the autocorrelation
	 * correction rightly distrusts at full resolution; coarser, it is a
	 * ramp. Each resolution is one more test for the correction. */
	struct series g = {.scratch = s0->scratch};
	for (int c = 0; c < 4; c++) {
		size_t k = coarse[c];
		const struct series *s = s0;
		if (k > 1) {
			g.n = s0->n / k;
			if (g.n < 6)
				break;
			for (size_t i = 0; i < g.n; i++) {
				size_t hi = s0->n - (g.n - 1 - i) * k, lo = hi - k;
				g.x[i] = s0->x[hi - 1];
				g.y[i] = s0->y[lo];
				for (size_t j = lo; j < hi; j++)
					g.y[i] = fmin(g.y[i], s0->y[j]);
			}
			s = &g;
		}
		for (int part = 0; part < 5; part++) {
			if (part < 4 && part >= nparts)
				continue;
			size_t n = part < 4 ? (size_t)ceil(parts[part] * (double)s->n) : onset_n / k;
			if (n < 6 || n > s->n || (part == 4 && (n == s->n || !onset_n)))
				continue;
			size_t from = s->n - n;
			struct hc_trend t;
			if (hc_trend_test(s->x + from, s->y + from, n, s->scratch, &t))
				continue;
			tests++;
			if (n * k > r->longest)
				r->longest = n * k;
			if (!best && k == 1 && (part == 0 || t.slope > r->slope)) {
				r->slope = t.slope; /* for display when nothing counts */
				r->slope_lo = t.slope_lo;
				r->slope_hi = t.slope_hi;
			}
			if (t.slope_lo * o->horizon_s < o->budget)
				continue;
			if (!steady(s, from, n, t.slope))
				continue;
			if (t.p_up < pmin) {
				pmin = t.p_up;
				r->slope = t.slope;
				r->slope_lo = t.slope_lo;
				r->slope_hi = t.slope_hi;
				best = 1;
			}
		}
	}
	r->p = best ? fmin(1, pmin * tests) : 1;
}

/* s: a floor over the windows from w0, at their mid times. */
static void fill_series(const struct hc_model *m, size_t w0, const double *floor,
			struct series *s)
{
	s->n = 0;
	for (size_t w = w0; w < m->nwin; w++) {
		s->x[s->n] = m->win[w].t;
		s->y[s->n++] = floor[w];
	}
}

/* R1 on one node: the floor of aged live bytes after warm-up; the extra
 * segment starts where aged bytes of a leak starting at the onset show
 * (onset + horizon). Sets x->p, slope and interval; returns the windows
 * the aged floor has since then. */
static size_t rule1(const struct hc_model *m, const struct hc_detect_opts *o, size_t w0,
		    struct hc_node *x, struct series *s)
{
	fill_series(m, w0, x->aged_min, s);
	size_t since = x->onset_s >= 0 ? m->nwin - window_from(m, w0, x->onset_s + x->horizon_s) : 0;
	struct segtrend r;
	seg_trend(o, s, since, 4, &r);
	x->p = r.p;
	x->slope = r.slope;
	x->slope_lo = r.slope_lo;
	x->slope_hi = r.slope_hi;
	return since ? since : s->n;
}

static double floor_slope(const struct hc_model *m, const double *floor, size_t w,
			  double *scratch);

/* A sawtooth: the series fell, from one window to the next, by half its
 * range or more; the ramp since the last fall is no growth to speak of (a
 * collector's cycle), and the rules judge it. */
static int sawtooth(const struct series *s)
{
	double lo = INFINITY, hi = -INFINITY, fall = 0;
	for (size_t i = 0; i < s->n; i++) {
		lo = fmin(lo, s->y[i]);
		hi = fmax(hi, s->y[i]);
		if (i)
			fall = fmax(fall, s->y[i - 1] - s->y[i]);
	}
	return fall > 0 && fall >= 0.5 * (hi - lo);
}

/* The process-wide series the verdict falls back on, per window. */
static double heap_trough(const struct hc_window *w)
{
	return w->heap_min;
}
static double outside_trough(const struct hc_window *w)
{
	return w->outside_min;
}

/* Whether a per-window series rises steadily from window w0 on (the last
 * 100% and 2/3 only: a sawtooth's last ramp is no trend); s is the
 * caller's scratch series, r the trend. */
static int window_trend(const struct hc_detect_opts *o, const struct hc_model *m, size_t w0,
			struct series *s, double (*y)(const struct hc_window *), struct segtrend *r)
{
	s->n = 0;
	for (size_t w = w0; w < m->nwin; w++) {
		s->x[s->n] = m->win[w].t;
		s->y[s->n++] = y(&m->win[w]);
	}
	seg_trend(o, s, 0, 2, r);
	return r->p < o->fdr && !sawtooth(s);
}

/* The live floor's trend, the same way (segments from the onset itself):
 * what a user sees growing, whether or not the rules can judge it. */
static void live_trend(const struct hc_model *m, const struct hc_detect_opts *o, size_t w0,
		       struct hc_node *x, struct series *s)
{
	fill_series(m, w0, x->live_min, s);
	size_t since = x->onset_s >= 0 ? m->nwin - window_from(m, w0, x->onset_s) : 0;
	struct segtrend r;
	seg_trend(o, s, since, 4, &r);
	if (sawtooth(s))
		r.p = 1;
	x->live_p = r.p;
	x->live_slope = r.slope;
	x->live_slope_lo = r.slope_lo;
	/* A plateau: the floor rose, over the run, by what the budget allows
	 * in the run's span or more (and by 1 MiB), and its last third is flat
	 * (its slope × horizon under the budget). */
	double first = x->live_min[0], last = x->live_min[m->nwin - 1];
	size_t q = m->nwin - m->nwin / 3;
	x->live_plateau = 0;
	if (m->nwin - q >= 4 && last - first >= fmax(1 << 20, o->budget * m->end_s / o->horizon_s))
		x->live_plateau = floor_slope(m, x->live_min, q, s->scratch) * o->horizon_s < o->budget;
}

/* How much longer the run must be for R2 to have MIN_COHORTS cohorts older
 * than the node's horizon, counted from the onset (or warm-up). */
static double more_for_cohorts(const struct hc_model *m, size_t w0, const struct hc_node *x)
{
	size_t from = x->onset_s >= 0 ? window_from(m, w0, x->onset_s) : w0;
	double start = from < m->nwin ? m->win[from].t0 : m->end_s;
	double len = m->nwin ? m->end_s / (double)m->nwin : m->interval_s;
	return fmax(1, ceil(start + MIN_COHORTS * len + x->horizon_s - m->end_s));
}

/* R2 on one node. Returns 1 when it fires; -1 when it cannot be judged
 * (unsound: most of the node's bytes are at sites with no sound horizon,
 * whose cohorts' retention says nothing yet). */
static int rule2(const struct hc_model *m, const struct hc_detect_opts *o, size_t w0,
		 struct hc_node *x, int unsound)
{
	double rate[HC_MAX_WINDOWS];
	size_t n = 0;
	/* cohorts from the onset when it is after warm-up (before it, the
	 * site retained nothing and would lower the rate), or from the end of
	 * warm-up when that leaves too few */
	size_t from = x->onset_s >= 0 ? window_from(m, w0, x->onset_s) : w0;
	for (int again = 0; again < 2; again++, from = w0, n = 0) {
		for (size_t w = from; w < m->nwin; w++) {
			if (m->win[w].t1 > m->end_s - x->horizon_s)
				break;
			double len = m->win[w].t1 - m->win[w].t0;
			rate[n++] = len > 0 ? x->retained[w] / len : 0;
		}
		if (n >= MIN_COHORTS || from == w0)
			break;
	}
	x->r2_rate = x->r2_rate_lo = 0;
	if (n < MIN_COHORTS || unsound)
		return -1;
	double mean = 0, var = 0, early = 0, late = 0;
	for (size_t i = 0; i < n; i++)
		mean += rate[i];
	mean /= (double)n;
	for (size_t i = 0; i < n; i++)
		var += (rate[i] - mean) * (rate[i] - mean);
	var /= (double)(n - 1);
	for (size_t i = 0; i < n; i++)
		*(i < n / 2 ? &early : &late) += rate[i];
	early /= (double)(n / 2);
	late /= (double)(n - n / 2);
	x->r2_rate = mean;
	x->r2_rate_lo = mean - 2 * sqrt(var / (double)n);
	return x->r2_rate_lo * o->horizon_s >= o->budget && late >= SLOWDOWN * early;
}

/* Theil-Sen slope of a floor over windows [w, nwin); with hi, its upper
 * 95% bound. */
static double floor_slope_of(const struct hc_model *m, const double *floor, size_t w,
			     double *scratch, int upper)
{
	double x[HC_MAX_WINDOWS], slope = 0, lo = 0, hi = 0;
	if (m->nwin < w + 2)
		return 0;
	for (size_t k = w; k < m->nwin; k++)
		x[k - w] = m->win[k].t;
	hc_theil_sen(x, floor + w, m->nwin - w, scratch, &slope, &lo, &hi);
	return upper ? fmax(hi, slope) : slope;
}

static double floor_slope(const struct hc_model *m, const double *floor, size_t w,
			  double *scratch)
{
	return floor_slope_of(m, floor, w, scratch, 0);
}

/* Displacement: growth counts only when the live floor grows with it, at
 * the node and at every ancestor: the upper 95% bound of its slope at least
 * SLOWDOWN times the rate the rule found (a noisy heap is given the benefit
 * of the doubt), over the later half of the windows since warm-up or the onset
 * (whether the set still grows, not how it filled). A stack whose blocks
 * replace those of a sibling stack under a shared caller (a cache filled
 * from one place and refilled from another) grows while the shared set
 * does not; a node whose aged floor rises while its live floor does not
 * is a table whose entries turn over (its aged floor leaves out the sites
 * with no sound horizon). The heap's own trough is the last of the chain.
 * Returns the first node of the chain, the node itself included, that
 * holds it flat (UINT32_MAX: the heap); 0 when none does. */
static uint32_t displaced(const struct hc_model *m, uint32_t xi, size_t w0, double *scratch)
{
	const struct hc_node *x = &m->nodes[xi];
	size_t w = x->onset_s >= 0 ? window_from(m, w0, x->onset_s) : w0;
	w = w + (m->nwin - w) / 2;
	if (w + 6 > m->nwin)
		w = m->nwin > 6 ? m->nwin - 6 : 0;
	if (!(x->slope > 0))
		return 0;
	for (uint32_t up = xi; up; up = m->nodes[up].parent)
		if (floor_slope_of(m, m->nodes[up].live_min, w, scratch, 1) < SLOWDOWN * x->slope)
			return up;
	/* and the whole heap: a site refilling a cache that another site
	 * filled may share no frame with it */
	double heap[HC_MAX_WINDOWS];
	for (size_t k = 0; k < m->nwin; k++)
		heap[k] = m->win[k].heap_min;
	if (floor_slope_of(m, heap, w, scratch, 1) < SLOWDOWN * x->slope)
		return UINT32_MAX;
	/* and, for growth of aged bytes, every site's bytes older than the
	 * shortest horizon together (whatever each site's own horizon, or
	 * none): free of the churn that blurs the heap's trough, they show a
	 * refill taking the place of a fill made elsewhere */
	if (x->r1 && floor_slope_of(m, m->aged_total, w, scratch, 1) < SLOWDOWN * x->slope)
		return UINT32_MAX;
	return 0;
}

/* Steps after warm-up: the live floor rose by 64 KiB or more (1 MiB for a
 * single step; and by what the budget allows over the span), and most of
 * it (60%) in a few steps of a fifth of the rise or more each, from one
 * window to the next with flat windows on either side (not a ramp), each
 * held to the end (half of it at least: a rehash overshoots); the largest two windows past warm-up or later (a rise that
 * ends right after warm-up is the end of warm-up); and the heap's trough
 * rose with them. A table that doubles once or twice in the run (a growing
 * container's index), or a load in mid-run: no trend test can call so few
 * steps, and nothing should hide them either. Returns the window of the
 * largest step (0: none), the rise and the number of steps. */
/* In a window of a process's life (heapcreep on), whether a site's growth
 * could be displacement: no more bytes allocated in the window live at its
 * end than the blocks from before it that were freed in it (or those
 * blocks' sizes are unknown). Growth after the window's start can only
 * overstate the true growth (the blocks from before it only shrink), so
 * this is the one false LEAK to rule out. */
static int displacement(const struct hc_model *m, const struct hc_node *x)
{
	const struct hc_snapshot_rec *l = &m->sum.last;
	if (!m->sum.have_header || !(m->sum.header.flags & HC_HDR_WINDOW) || !l->unknown_frees)
		return 0;
	return !l->unknown_free_bytes || x->live_end <= (double)l->unknown_free_bytes;
}

static size_t steps(const struct hc_model *m, const struct hc_detect_opts *o, size_t w0,
		    const struct hc_node *x, double *rise, int *nsteps)
{
	if (w0 < 1 || w0 + 2 > m->nwin)
		return 0;
	size_t last = m->nwin - 1, at = 0;
	double total = x->live_min[last] - x->live_min[w0 - 1], in_steps = 0, top = 0;
	if (total < fmax(65536, o->budget * (m->end_s - m->win[w0].t0) / o->horizon_s))
		return 0;
	*nsteps = 0;
	for (size_t w = w0; w <= last; w++) {
		double jump = x->live_min[w] - x->live_min[w - 1];
		if (jump < 0.2 * total)
			continue;
		/* a step, not a window of a ramp: flat on either side */
		if (x->live_min[w - 1] - (w >= 2 ? x->live_min[w - 2] : 0) >= 0.25 * jump ||
		    (w < last && x->live_min[w + 1] - x->live_min[w] >= 0.25 * jump))
			continue;
		/* what of it is held to the end (a table's rehash overshoots:
		 * both tables, then the old one freed) */
		double floor_after = x->live_min[w];
		for (size_t k = w; k <= last; k++)
			floor_after = fmin(floor_after, x->live_min[k]);
		double held = floor_after - x->live_min[w - 1];
		if (held < 0.2 * total || held < 0.5 * jump)
			continue;
		in_steps += held;
		(*nsteps)++;
		if (held > top) {
			top = held;
			at = w;
		}
	}
	/* one step alone must be large (a load of 1 MiB or more) */
	if (!at || at < w0 + 2 || in_steps < 0.6 * total || (*nsteps == 1 && total < 1 << 20) ||
	    m->win[last].heap_min - m->win[w0 - 1].heap_min < 0.5 * top)
		return 0;
	*rise = total;
	return at;
}

/* Benjamini-Hochberg over the nodes' p-values (get), setting flags (set). */
static void bh(struct hc_node **order, size_t n, double fdr, int which)
{
	size_t pass = 0;
	for (size_t k = 0; k < n; k++) {
		double p = which ? order[k]->live_p : order[k]->p;
		if (p < 1 && p <= fdr * (double)(k + 1) / (double)n)
			pass = k + 1;
	}
	for (size_t k = 0; k < n; k++)
		*(which ? &order[k]->live_grows : &order[k]->r1) = k < pass;
}

static int by_live_p(const void *a, const void *b)
{
	const struct hc_node *x = *(struct hc_node *const *)a, *y = *(struct hc_node *const *)b;
	return (x->live_p > y->live_p) - (x->live_p < y->live_p);
}

static int by_p(const void *a, const void *b)
{
	const struct hc_node *x = *(struct hc_node *const *)a, *y = *(struct hc_node *const *)b;
	return (x->p > y->p) - (x->p < y->p);
}

static int by_slope_desc(const void *a, const void *b, void *ctx)
{
	const struct hc_model *m = ctx;
	const struct hc_node *x = &m->nodes[*(const uint32_t *)a], *y = &m->nodes[*(const uint32_t *)b];
	return (x->slope < y->slope) - (x->slope > y->slope);
}

static int by_live_desc(const void *a, const void *b, void *ctx)
{
	const struct hc_model *m = ctx;
	const struct hc_node *x = &m->nodes[*(const uint32_t *)a], *y = &m->nodes[*(const uint32_t *)b];
	return (x->peak < y->peak) - (x->peak > y->peak);
}

/* The node of the mapping frame alone: every anonymous mapping of the
 * process, whoever made it. No site; never judged (its callers' nodes are). */
static int every_mapping(const struct hc_node *x)
{
	return x->depth == 1 && hc_frame_is_mmap(x->frame);
}

/* Others: whole-stack nodes, largest first, for the report's context. A
 * node is one when every site under it ends there (no node below it):
 * several sites can share the whole of their frames (a Python line's
 * allocations reached through different C functions: the stacks differ
 * only in frames the sites leave out). */
static void list_others(const struct hc_model *m, struct hc_detect *d)
{
	unsigned char *inner = calloc(m->nnodes ? m->nnodes : 1, 1);
	for (size_t i = 1; inner && i < m->nnodes; i++)
		if (m->nodes[i].parent)
			inner[m->nodes[i].parent] = 1;
	for (size_t i = 1; i < m->nnodes; i++) {
		const struct hc_node *x = &m->nodes[i];
		const struct hc_site *st = &m->sites[x->site];
		int whole = inner ? !inner[i]
				  : x->nsites == 1 && x->depth == (st->nchain ? st->nchain : 1);
		if (x->reported <= 0 && whole)
			d->others[d->nothers++] = (uint32_t)i;
	}
	free(inner);
	qsort_r(d->others, d->nothers, sizeof(uint32_t), by_live_desc, (void *)m);
}

/* Time to limit, for the program's own memory (RSS less the shim's): the
 * heap's trough trend, plus the typical swing within a window
 * (out-of-memory happens at peaks), plus what RSS holds beyond the tracked
 * heap (allocator overhead and fragmentation), extrapolated; and RSS's own
 * trend, where it is faster. */
static void time_to_limit(const struct hc_model *m, size_t w0, struct hc_detect *d, double *scratch)
{
	size_t n = 0, nover = 0, nrss = 0;
	double x[HC_MAX_WINDOWS], y[HC_MAX_WINDOWS], swing[HC_MAX_WINDOWS], over[HC_MAX_WINDOWS];
	double rss[HC_MAX_WINDOWS], resid[HC_MAX_WINDOWS];
	for (size_t w = w0; w < m->nwin; w++) {
		x[n] = m->win[w].t;
		y[n] = m->win[w].heap_min;
		rss[n] = m->win[w].own_rss_max;
		nrss += rss[n] > 0;
		swing[n++] = m->win[w].heap_max - m->win[w].heap_min;
		if (w >= m->nwin - (m->nwin - w0 + 2) / 3 && m->win[w].own_rss_max > 0)
			over[nover++] = fmax(0, m->win[w].own_rss_max - m->win[w].heap_max);
	}
	struct hc_trend t, tr;
	if (!d->limit || n < MIN_WINDOWS || hc_trend_test(x, y, n, scratch, &t))
		return;
	d->heap_slope = t.slope;
	d->swing = hc_median(swing, n);
	d->overhead = nover ? hc_median(over, nover) : 0;
	double tn = x[n - 1];
	for (size_t i = 0; i < n; i++)
		resid[i] = y[i] - t.slope * x[i];
	double level = hc_median(resid, n) + t.slope * tn + d->swing + d->overhead;
	double slope = t.slope, lo = t.slope_lo, hi = t.slope_hi;
	/* RSS itself, where every window has it, less the shim's own memory
	 * (its tables double in steps no trend foresees, and the program does
	 * not hold them when it runs untraced): it grows faster than the heap
	 * when blocks are small (the allocator's headers), slower while freed
	 * memory is reused. Out-of-memory follows RSS; the heap bounds it from
	 * below in the long run. So each figure is the larger. */
	if (nrss == n && !hc_trend_test(x, rss, n, scratch, &tr)) {
		for (size_t i = 0; i < n; i++)
			resid[i] = rss[i] - tr.slope * x[i];
		level = fmax(level, hc_median(resid, n) + tr.slope * tn + d->swing);
		slope = fmax(slope, tr.slope);
		lo = fmax(lo, tr.slope_lo);
		hi = fmax(hi, tr.slope_hi);
	}
	double room = d->limit - level;
	if (lo <= 0 || t.slope_lo <= 0)
		return; /* not growing significantly: no time to speak of */
	/* A negative room gives a time in the past: when the peak envelope
	 * crossed the limit already. */
	d->ttl_known = 1;
	d->ttl_s = tn + room / slope;
	d->ttl_lo_s = tn + room / fmax(hi, slope);
	d->ttl_hi_s = tn + room / lo;
	if (room < 0) { /* in the past, the slower slope gives the earlier time */
		double lo_s = d->ttl_lo_s;
		d->ttl_lo_s = d->ttl_hi_s;
		d->ttl_hi_s = lo_s;
	}
}

int hc_detect_run(struct hc_model *m, const struct hc_detect_opts *o, struct hc_detect *d)
{
	memset(d, 0, sizeof(*d));
	d->limit = o->limit > 0 ? o->limit
		   : m->sum.have_header ? (double)m->sum.header.cgroup_limit_bytes : 0;
	size_t w0 = (size_t)ceil(WARMUP_FRACTION * (double)m->nwin);
	if (!w0 && m->nwin)
		w0 = 1;
	d->warmup_s = w0 < m->nwin ? m->win[w0].t0 : m->end_s;
	size_t npairs = HC_MAX_WINDOWS * (HC_MAX_WINDOWS - 1) / 2 + 3 * HC_MAX_WINDOWS;
	double *scratch = malloc(npairs * sizeof(double));
	struct hc_node **order = calloc(m->nnodes ? m->nnodes : 1, sizeof(*order));
	d->findings = calloc(m->nnodes ? m->nnodes : 1, sizeof(uint32_t));
	d->others = calloc(m->nnodes ? m->nnodes : 1, sizeof(uint32_t));
	if (!scratch || !order || !d->findings || !d->others) {
		free(scratch);
		free(order);
		return -ENOMEM;
	}
	time_to_limit(m, w0, d, scratch);

	size_t after = m->nwin > w0 ? m->nwin - w0 : 0;
	if (after < MIN_WINDOWS) {
		/* Nothing can be judged; the sites are listed all the same. */
		size_t need = (size_t)ceil((MIN_WINDOWS + 1) / (1 - WARMUP_FRACTION));
		char at[96] = "", t1[32];
		if (m->interval_s > 0)
			snprintf(at, sizeof(at), " (%s at the %.3g s interval)",
				 hc_fmt_duration(t1, sizeof(t1), (double)need * m->interval_s),
				 m->interval_s);
		snprintf(d->reason, sizeof(d->reason),
			 "trace too short to judge growth: %.1f s of run before teardown, %zu "
			 "snapshot%s; judging needs at least %zu%s",
			 m->end_s, m->nwin, m->nwin == 1 ? "" : "s", need, at);
		d->verdict = HC_VERDICT_INCONCLUSIVE;
		d->too_short = 1;
		list_others(m, d);
		free(scratch);
		free(order);
		return 0;
	}

	/* Per node: the onset, R1 and the live floor's trend; then
	 * Benjamini-Hochberg over the nodes for each. */
	struct series s = {.scratch = scratch};
	size_t n = 0;
	size_t *aged_n = calloc(m->nnodes, sizeof(size_t));
	double *unsound_live = calloc(m->nnodes, sizeof(double));
	if (!aged_n || !unsound_live) {
		free(aged_n);
		free(unsound_live);
		free(scratch);
		free(order);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->nsites; i++) {
		const struct hc_site *st = &m->sites[i];
		for (uint32_t k = 0; st->tracked && st->hidx < 0 && k < st->nchain; k++)
			unsound_live[st->chain[k]] += st->peak_before_end;
	}
	for (size_t i = 1; i < m->nnodes; i++) {
		struct hc_node *x = &m->nodes[i];
		if (every_mapping(x))
			continue;
		x->onset_s = onset(m, x);
		aged_n[i] = rule1(m, o, w0, x, &s);
		live_trend(m, o, w0, x, &s);
		order[n++] = x;
	}
	qsort(order, n, sizeof(*order), by_p);
	bh(order, n, o->fdr, 0);
	qsort(order, n, sizeof(*order), by_live_p);
	bh(order, n, o->fdr, 1);

	char a[32], b[32], c[32], h[32], l[32];
	double a0 = m->ladder[0];
	for (size_t i = 1; i < m->nnodes; i++) {
		struct hc_node *x = &m->nodes[i];
		if (every_mapping(x))
			continue;
		int r2 = rule2(m, o, w0, x, unsound_live[i] >= 0.25 * x->peak);
		x->r2 = r2 == 1;
		x->since_s = x->onset_s;
		fmt_rate(a, sizeof(a), x->slope);
		fmt_rate(b, sizeof(b), x->r2_rate_lo);
		fmt_rate(c, sizeof(c), x->live_slope);
		hc_fmt_duration(h, sizeof(h), x->horizon_s);
		/* Why the rules could not judge, and what would settle it. */
		char cannot[200] = "";
		if (a0 > 0.5 * m->end_s)
			snprintf(cannot, sizeof(cannot),
				 "the run (%.1f s) is shorter than twice the shortest age the "
				 "trace shows exactly (%.2f s: twice the promotion age %.2f s plus "
				 "the interval); trace with --promote %.2gs or less, or run at "
				 "least %.0f s", m->end_s, a0, m->promotion_s,
				 fmax(0.001, (0.5 * m->end_s - m->interval_s) / 2), ceil(2 * a0));
		else if (unsound_live[i] >= 0.25 * x->peak)
			snprintf(cannot, sizeof(cannot),
				 "%u of its sites free their blocks at ages up to %s, so no age "
				 "horizon within half the run is sound; run at least %.0f s",
				 x->unsound, hc_fmt_duration(l, sizeof(l), x->unsound_life),
				 ceil(fmax(2 * x->unsound_life * 1.5, m->end_s * 1.5)));
		else if (r2 < 0)
			snprintf(cannot, sizeof(cannot),
				 "too few cohorts older than its age horizon (%s) for R2; run at "
				 "least %.0f s longer", h, more_for_cohorts(m, w0, x));
		else if (aged_n[i] < 6)
			snprintf(cannot, sizeof(cannot),
				 "its aged floor has %zu windows since the onset plus the horizon "
				 "(%s), 6 are needed; run at least %.0f s longer", aged_n[i], h,
				 ceil((double)(6 - aged_n[i]) * m->end_s / (double)m->nwin - 1e-6));
		if (x->r1 && x->r2) {
			x->verdict = HC_VERDICT_LEAK;
			snprintf(x->why, sizeof(x->why),
				 "the floor of its aged live bytes rises %s (p %.1e) and late "
				 "cohorts stay retained (at least %s); age horizon %s", a, x->p, b, h);
		} else if (x->r2 && x->live_grows && aged_n[i] < 6) {
			/* the aged floor is too short since the onset to test, but
			 * what it would test is there: retained cohorts and a
			 * live floor that rises steadily since the onset */
			x->verdict = HC_VERDICT_LEAK;
			x->slope = x->live_slope;
			x->slope_lo = x->live_slope_lo;
			x->p = x->live_p;
			snprintf(x->why, sizeof(x->why),
				 "late cohorts stay retained (at least %s) and the floor of its "
				 "live bytes rises %s since the onset (p %.1e); its aged floor "
				 "(horizon %s) has only %zu windows since then", b, c, x->live_p, h,
				 aged_n[i]);
		} else if (x->r1) {
			x->verdict = HC_VERDICT_INCONCLUSIVE;
			if (r2 < 0)
				snprintf(x->why, sizeof(x->why),
					 "R1 fired (aged floor rises %s, p %.1e) but R2 could not be "
					 "judged: too few cohorts older than the site's age horizon "
					 "(%s); run at least %.0f s longer", a, x->p, h,
					 more_for_cohorts(m, w0, x));
			else
				snprintf(x->why, sizeof(x->why),
					 "R1 fired (aged floor rises %s, p %.1e) but R2 did not: late "
					 "cohorts are not retained enough (%s at the lower bound)",
					 a, x->p, b);
		} else if (x->r2 && (x->p < 1 || x->live_grows)) {
			x->verdict = HC_VERDICT_INCONCLUSIVE;
			snprintf(x->why, sizeof(x->why),
				 "R2 fired (late cohorts retained, %s at the lower bound) but R1 "
				 "did not: the floor of aged live bytes (horizon %s) is not rising "
				 "significantly (p %.1e after correction for %zu nodes)%s%s", b, h,
				 x->p, n, cannot[0] ? "; " : "", cannot);
		} else if (x->live_grows && cannot[0]) {
			/* Never silent: growth the rules could not look at. */
			x->verdict = HC_VERDICT_INCONCLUSIVE;
			x->slope = x->live_slope;
			x->slope_lo = x->live_slope_lo;
			x->p = x->live_p;
			snprintf(x->why, sizeof(x->why),
				 "its live bytes rise %s (p %.1e) but the rules cannot judge: %s",
				 c, x->live_p, cannot);
		}
		double rise = 0;
		int nsteps = 0;
		size_t step = x->verdict == HC_VERDICT_NONE ? steps(m, o, w0, x, &rise, &nsteps) : 0;
		if (step) {
			x->verdict = HC_VERDICT_INCONCLUSIVE;
			x->slope = rise / fmax(1e-9, m->end_s - m->win[w0].t0);
			x->slope_lo = 0;
			x->p = 1;
			x->since_s = m->win[step].t0;
			snprintf(x->why, sizeof(x->why),
				 "its live floor rose %s after warm-up, most of it in %d step%s, "
				 "the largest at %s (a table that doubles as it fills, a load); "
				 "so few steps are no trend: run longer to see whether it steps "
				 "again", hc_fmt_bytes(l, sizeof(l), rise), nsteps,
				 nsteps == 1 ? "" : "s", hc_fmt_duration(h, sizeof(h), m->win[step].t0));
		}
		uint32_t up = x->verdict != HC_VERDICT_NONE && !step
				      ? displaced(m, (uint32_t)i, w0, scratch) : 0;
		if (up == i) {
			x->verdict = HC_VERDICT_NONE;
			snprintf(x->why, sizeof(x->why),
				 "its aged floor rises %s but its live floor does not grow with it: "
				 "younger blocks of its own take the place of older ones (a table "
				 "whose entries turn over)", a);
		} else if (up == UINT32_MAX) {
			x->verdict = HC_VERDICT_NONE;
			snprintf(x->why, sizeof(x->why),
				 "it grows %s, but the process's retained set (the heap's "
				 "trough, every site's aged bytes) does not grow with it: its "
				 "blocks take the place of others' (a cache filled from one "
				 "place and refilled from another)", a);
		} else if (up) {
			x->verdict = HC_VERDICT_NONE;
			snprintf(x->why, sizeof(x->why),
				 "its live floor rises %s, but the stacks it shares its %u innermost "
				 "frames with do not grow together: its blocks take the place of "
				 "theirs (a cache filled from one place and refilled from another)",
				 c, m->nodes[up].depth);
		} else if (x->verdict == HC_VERDICT_LEAK && displacement(m, x)) {
			/* A window of a process's life: blocks from before it
			 * that were freed in it may be what this site's new
			 * blocks replace (a full cache turning over looks like
			 * growth from zero when tracing starts mid-life). */
			char u[32], g[32];
			x->verdict = HC_VERDICT_INCONCLUSIVE;
			if (m->sum.last.unknown_free_bytes)
				snprintf(x->why, sizeof(x->why),
					 "it holds %s allocated in the window and rises %s, but %s of "
					 "blocks from before the window were freed in it: its blocks "
					 "may take their place (a full cache turning over); a window "
					 "longer than the turnover tells",
					 hc_fmt_bytes(g, sizeof(g), x->live_end), a,
					 hc_fmt_bytes(u, sizeof(u),
						      (double)m->sum.last.unknown_free_bytes));
			else
				snprintf(x->why, sizeof(x->why),
					 "it rises %s in the window, but %llu blocks from before the "
					 "window were freed in it, of sizes the allocator could not "
					 "tell: its blocks may take their place", a,
					 (unsigned long long)m->sum.last.unknown_frees);
		} else if (x->verdict == HC_VERDICT_NONE) {
			if (x->live_grows)
				snprintf(x->why, sizeof(x->why),
					 "its live bytes rise %s but its blocks older than %s do not "
					 "accumulate: turnover, not retention", c, h);
			else if (x->live_plateau) {
				size_t k = 0;
				double top = x->live_min[m->nwin - 1];
				while (k + 1 < m->nwin && x->live_min[k] < 0.95 * top)
					k++;
				snprintf(x->why, sizeof(x->why),
					 "its live bytes grew to a plateau of %s by %s and stay there, "
					 "as a bounded cache's: growth that stops is not judged a leak",
					 hc_fmt_bytes(l, sizeof(l), top),
					 hc_fmt_duration(h, sizeof(h), m->win[k].t0));
			}
		}
	}
	free(aged_n);
	free(unsound_live);

	/* Attribute each finding to the deepest node that fires: deepest
	 * first, LEAK before INCONCLUSIVE; a node whose descendant is already
	 * reported, or whose ancestor is a reported LEAK, is not reported. */
	for (int v = HC_VERDICT_LEAK; v >= HC_VERDICT_INCONCLUSIVE; v--) {
		for (int depth = HC_NODE_DEPTH; depth >= 1; depth--) {
			for (size_t i = 1; i < m->nnodes; i++) {
				struct hc_node *x = &m->nodes[i];
				if (x->verdict != v || (int)x->depth != depth || x->reported < 0)
					continue;
				int covered = 0;
				for (uint32_t up = x->parent; up && !covered; up = m->nodes[up].parent)
					covered = m->nodes[up].reported > 0 &&
						  m->nodes[up].verdict == HC_VERDICT_LEAK;
				if (covered)
					continue;
				x->reported = 1;
				d->findings[d->nfindings++] = (uint32_t)i;
				for (uint32_t up = x->parent; up; up = m->nodes[up].parent)
					if (m->nodes[up].reported == 0)
						m->nodes[up].reported = -1; /* covered */
			}
		}
	}
	qsort_r(d->findings, d->nfindings, sizeof(uint32_t), by_slope_desc, m);
	for (size_t k = 0; k < d->nfindings; k++)
		if (m->nodes[d->findings[k]].verdict > d->verdict)
			d->verdict = m->nodes[d->findings[k]].verdict;

	/* Never a silent PASS: the heap's own trough rising by the budget over
	 * the horizon, steadily, with no site reported for it. */
	struct segtrend r;
	if (d->verdict == HC_VERDICT_NONE && window_trend(o, m, w0, &s, heap_trough, &r)) {
		char rate[32], grew[32];
		fmt_rate(rate, sizeof(rate), r.slope);
		d->verdict = HC_VERDICT_INCONCLUSIVE;
		snprintf(d->reason, sizeof(d->reason),
			 "the heap's trough rises %s (%s over the judged span, p %.1e) and "
			 "no allocation site explains it: many small sites, or sites the "
			 "rules cannot judge yet; run longer", rate,
			 hc_fmt_bytes(grew, sizeof(grew), r.slope * (m->end_s - d->warmup_s)), r.p);
	}

	/* Nor when the program's memory outside the traced heap (its RSS less
	 * the heap and the shim's own) rises steadily by the budget: a
	 * reservation written over time, direct system calls, brk. The
	 * allocator's own slack grows too while a bounded heap churns (holes
	 * no new size fits): the evaluation's benign caches reached 1.6 MiB of
	 * it. Growth outside the heap counts from 4 MiB over the judged span,
	 * and a quarter of the heap's highest. */
	int have_rss = 1;
	for (size_t w = w0; w < m->nwin; w++)
		have_rss &= m->win[w].own_rss_max > 0;
	if (d->verdict != HC_VERDICT_LEAK && have_rss &&
	    window_trend(o, m, w0, &s, outside_trough, &r)) {
		double heap_top = 0;
		for (size_t i = 0; i < m->nsnaps; i++)
			heap_top = fmax(heap_top, m->snaps[i].heap_live);
		double span = m->end_s - d->warmup_s;
		if (r.slope * span >= fmax(4.0 * 1048576, 0.25 * heap_top)) {
			char rate[32], grew[32];
			fmt_rate(rate, sizeof(rate), r.slope);
			d->verdict = HC_VERDICT_INCONCLUSIVE;
			snprintf(d->reason, sizeof(d->reason),
				 "RSS grows %s outside the traced heap (%s over the judged span, p "
				 "%.1e): memory no traced allocation or mapping holds, such as a "
				 "reservation written over time (MAP_NORESERVE, or PROT_NONE then "
				 "mprotect), system calls made directly, or free memory the "
				 "allocator keeps", rate,
				 hc_fmt_bytes(grew, sizeof(grew), r.slope * span), r.p);
		}
	}

	list_others(m, d);
	free(scratch);
	free(order);
	return 0;
}

void hc_detect_release(struct hc_detect *d)
{
	free(d->findings);
	free(d->others);
	memset(d, 0, sizeof(*d));
}
