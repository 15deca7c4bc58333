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

/* Theil-Sen slope of a sub-range, for the slowdown check. */
static double slope_of(const struct series *s, size_t from, size_t n)
{
	double slope = 0, lo, hi;
	if (n >= 2)
		hc_theil_sen(s->x + from, s->y + from, n, s->scratch, &slope, &lo, &hi);
	return slope;
}

/* R1 on one node: sets x->p (Bonferroni over the segments; 1 when no
 * segment meets the slope conditions), slope, interval and since. */
static void rule1(const struct hc_model *m, const struct hc_detect_opts *o, size_t w0,
		  struct hc_node *x, struct series *s)
{
	s->n = 0;
	for (size_t w = w0; w < m->nwin; w++) {
		s->x[s->n] = m->win[w].t;
		s->y[s->n++] = x->aged_min[w];
	}
	static const double parts[4] = {1.0, 2.0 / 3, 0.5, 1.0 / 3};
	x->p = 1;
	x->slope = x->slope_lo = x->slope_hi = 0;
	x->since_s = -1;
	int best = 0;
	for (int k = 0; k < 4; k++) {
		size_t n = (size_t)ceil(parts[k] * (double)s->n);
		if (n < 6)
			break;
		size_t from = s->n - n;
		struct hc_trend t;
		if (hc_trend_test(s->x + from, s->y + from, n, s->scratch, &t))
			continue;
		if (k == 0 || (!best && t.slope > x->slope)) {
			x->slope = t.slope; /* for display when nothing fires */
			x->slope_lo = t.slope_lo;
			x->slope_hi = t.slope_hi;
		}
		double early = slope_of(s, from, n / 2), late = slope_of(s, from + n / 2, n - n / 2);
		int steady = !(early > 0) || late >= SLOWDOWN * early;
		if (t.slope_lo * o->horizon_s < o->budget || !steady)
			continue;
		/* Since when: the longest segment that grows (segments are tried
		 * longest first), less the horizon: a block shows as aged A
		 * seconds after it was allocated. */
		if (x->since_s < 0 && t.p_up < 0.01)
			x->since_s = fmax(0, s->x[from] - x->horizon_s);
		if (t.p_up * 4 < x->p) {
			x->p = t.p_up * 4;
			x->slope = t.slope;
			x->slope_lo = t.slope_lo;
			x->slope_hi = t.slope_hi;
			best = 1;
		}
	}
	if (x->p > 1)
		x->p = 1;
}

/* R2 on one node. Returns 1 when it fires; -1 when it cannot be judged. */
static int rule2(const struct hc_model *m, const struct hc_detect_opts *o, size_t w0,
		 struct hc_node *x)
{
	double rate[HC_MAX_WINDOWS];
	size_t n = 0;
	for (size_t w = w0; w < m->nwin; w++) {
		if (m->win[w].t1 > m->end_s - x->horizon_s)
			break;
		double len = m->win[w].t1 - m->win[w].t0;
		rate[n++] = len > 0 ? x->retained[w] / len : 0;
	}
	x->r2_rate = x->r2_rate_lo = 0;
	if (n < MIN_COHORTS)
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

/* Time to limit: the heap's trough trend, plus the typical swing within a
 * window (out-of-memory happens at peaks), plus what RSS holds beyond the
 * tracked heap (allocator overhead and fragmentation), extrapolated. */
static void time_to_limit(const struct hc_model *m, size_t w0, struct hc_detect *d, double *scratch)
{
	size_t n = 0;
	double x[HC_MAX_WINDOWS], y[HC_MAX_WINDOWS], swing[HC_MAX_WINDOWS], over[HC_MAX_WINDOWS];
	size_t nover = 0;
	for (size_t w = w0; w < m->nwin; w++) {
		x[n] = m->win[w].t;
		y[n] = m->win[w].heap_min;
		swing[n++] = m->win[w].heap_max - m->win[w].heap_min;
		if (w >= m->nwin - (m->nwin - w0 + 2) / 3 && m->win[w].rss_max > 0)
			over[nover++] = fmax(0, m->win[w].rss_max - m->win[w].heap_max);
	}
	struct hc_trend t;
	if (!d->limit || n < MIN_WINDOWS || hc_trend_test(x, y, n, scratch, &t))
		return;
	d->heap_slope = t.slope;
	d->swing = hc_median(swing, n);
	d->overhead = nover ? hc_median(over, nover) : 0;
	double resid[HC_MAX_WINDOWS];
	for (size_t i = 0; i < n; i++)
		resid[i] = y[i] - t.slope * x[i];
	double intercept = hc_median(resid, n);
	double tn = x[n - 1];
	double room = d->limit - (intercept + t.slope * tn + d->swing + d->overhead);
	if (t.slope_lo <= 0)
		return; /* not growing significantly: no time to speak of */
	/* A negative room gives a time in the past: when the peak envelope
	 * crossed the limit already. */
	d->ttl_known = 1;
	d->ttl_s = tn + room / t.slope;
	d->ttl_lo_s = tn + room / fmax(t.slope_hi, t.slope);
	d->ttl_hi_s = tn + room / t.slope_lo;
	if (room < 0) { /* in the past, the slower slope gives the earlier time */
		double lo = d->ttl_lo_s;
		d->ttl_lo_s = d->ttl_hi_s;
		d->ttl_hi_s = lo;
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
		double need = m->nwin ? m->end_s / (double)m->nwin * (double)(MIN_WINDOWS + 2) : 0;
		snprintf(d->reason, sizeof(d->reason),
			 "trace too short to judge growth: %.1f s of run before teardown in %zu "
			 "snapshots; at least %zu snapshots (%.0f s at this interval) are needed",
			 m->end_s, m->nwin, (size_t)ceil((MIN_WINDOWS + 1) / (1 - WARMUP_FRACTION)),
			 need > 0 ? need : ceil((MIN_WINDOWS + 1) / (1 - WARMUP_FRACTION)) * m->interval_s);
		d->verdict = HC_VERDICT_INCONCLUSIVE;
		free(scratch);
		free(order);
		return 0;
	}

	/* R1 everywhere, then Benjamini-Hochberg over the nodes. */
	struct series s = {.scratch = scratch};
	size_t n = 0;
	for (size_t i = 1; i < m->nnodes; i++) {
		struct hc_node *x = &m->nodes[i];
		rule1(m, o, w0, x, &s);
		order[n++] = x;
	}
	qsort(order, n, sizeof(*order), by_p);
	size_t pass = 0;
	for (size_t k = 0; k < n; k++)
		if (order[k]->p < 1 && order[k]->p <= o->fdr * (double)(k + 1) / (double)n)
			pass = k + 1;
	for (size_t k = 0; k < n; k++)
		order[k]->r1 = k < pass;

	char a[32], b[32];
	for (size_t i = 1; i < m->nnodes; i++) {
		struct hc_node *x = &m->nodes[i];
		int r2 = rule2(m, o, w0, x);
		x->r2 = r2 == 1;
		fmt_rate(a, sizeof(a), x->slope);
		fmt_rate(b, sizeof(b), x->r2_rate_lo);
		if (x->r1 && x->r2) {
			x->verdict = HC_VERDICT_LEAK;
			snprintf(x->why, sizeof(x->why),
				 "the floor of its aged live bytes rises %s (p %.1e) and late "
				 "cohorts stay retained (at least %s)", a, x->p, b);
		} else if (x->r1) {
			x->verdict = HC_VERDICT_INCONCLUSIVE;
			if (r2 < 0)
				snprintf(x->why, sizeof(x->why),
					 "R1 fired (aged floor rises %s, p %.1e) but R2 could not be "
					 "judged: too few cohorts older than the site's age horizon "
					 "(%.1f s)", a, x->p, x->horizon_s);
			else
				snprintf(x->why, sizeof(x->why),
					 "R1 fired (aged floor rises %s, p %.1e) but R2 did not: late "
					 "cohorts are not retained enough (%s at the lower bound)",
					 a, x->p, b);
		} else if (x->r2 && x->p < 1) {
			x->verdict = HC_VERDICT_INCONCLUSIVE;
			snprintf(x->why, sizeof(x->why),
				 "R2 fired (late cohorts retained, %s at the lower bound) but R1 "
				 "did not: the floor of aged live bytes is not rising significantly "
				 "(p %.1e after correction for %zu nodes)", b, x->p, n);
		} else {
			x->verdict = HC_VERDICT_NONE;
		}
	}

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

	/* Others: whole-stack nodes, largest first, for the report's context. */
	for (size_t i = 1; i < m->nnodes; i++) {
		struct hc_node *x = &m->nodes[i];
		const struct hc_site *st = &m->sites[x->site];
		if (x->reported <= 0 && x->nsites == 1 && x->depth == (st->nchain ? st->nchain : 1))
			d->others[d->nothers++] = (uint32_t)i;
	}
	qsort_r(d->others, d->nothers, sizeof(uint32_t), by_live_desc, m);
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
