/* `heapcreep report -f html`: one self-contained HTML file for people who
 * were not at the terminal: the verdict in a sentence, inline SVG charts
 * (RSS and heap over time; each growing site's live bytes and aged floor
 * with its fitted slope; an icicle of retained bytes and of growth; lifetime
 * histograms) and the totals. It never refers to anything outside the file
 * (no network, fonts or CDN; a Content-Security-Policy forbids it), and every
 * string from the trace goes through hc_put_html_str. One small inline
 * script adds zoom, the view toggle and a self-check of the drawing; without
 * it every chart is still drawn and the icicles have a list beside them.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "escape.h"
#include "format.h"
#include "report.h"
#include "stats.h"

#define FRAMES_SHOWN 12 /* per finding; the rest behind "more frames" */
#define FRAMES_MAX 64
#define HIST_SITES 6 /* lifetime histograms: findings first */
#define OTHERS_SHOWN 10
/* The icicle: at most this many levels under the root (inlined frames are
 * levels too), frames narrower than ICICLE_MIN_FRAC of the root are left
 * out (under a pixel), and the tree stops growing new paths at
 * ICICLE_MAX_NODES, so its memory is bounded whatever the trace holds. */
#define ICICLE_LEVELS 32
#define ICICLE_MIN_FRAC 0.001
#define ICICLE_MAX_NODES 200000
#define ICICLE_ROW 18

/* --- small writers ------------------------------------------------------- */

static void esc(FILE *f, const char *s)
{
	if (s)
		hc_put_html_str(f, s, strlen(s));
}


static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s && s[1] ? s + 1 : path;
}

/* Durations in words, for the sentence at the top. */
static char *words_duration(char *buf, size_t cap, double s)
{
	if (!isfinite(s))
		snprintf(buf, cap, "never");
	else if (s < 10)
		snprintf(buf, cap, "%.1f seconds", s);
	else if (s < 120)
		snprintf(buf, cap, "%.0f seconds", s);
	else if (s < 7200)
		snprintf(buf, cap, "%.1f minutes", s / 60);
	else if (s < 172800)
		snprintf(buf, cap, "%.1f hours", s / 3600);
	else
		snprintf(buf, cap, "%.1f days", s / 86400);
	return buf;
}

static const char *verdict_word(int v)
{
	return v == HC_VERDICT_LEAK           ? "LEAK"
	       : v == HC_VERDICT_INCONCLUSIVE ? "INCONCLUSIVE"
					      : "PASS";
}

static const char *verdict_class(int v)
{
	return v == HC_VERDICT_LEAK ? "leak" : v == HC_VERDICT_INCONCLUSIVE ? "warn" : "pass";
}

static double finite_or_0(double v)
{
	return isfinite(v) ? v : 0;
}

/* Growth that began within a snapshot interval (or 2% of the run) of the
 * start is growth "since the start": the estimate is no finer than that. */
static int since_start(const struct hc_model *m, double since_s)
{
	return since_s >= 0 && since_s <= fmax(m->interval_s, 0.02 * m->end_s);
}

/* --- stacks -------------------------------------------------------------- */

struct frames {
	struct hc_frame_out f[FRAMES_MAX];
	size_t n;
};

static void collect_frame(void *ctx, const struct hc_frame_out *fo)
{
	struct frames *fr = ctx;
	if (fr->n < FRAMES_MAX)
		fr->f[fr->n++] = *fo;
}

/* "f0 ← f1 ← f2": the first three distinct functions of a node's stack,
 * enough to tell sites apart that share an allocator. */
static void put_title(FILE *f, struct hc_analysis *a, const struct hc_node *x)
{
	struct frames fr = {.n = 0};
	hc_analysis_frames(a, x, 8, collect_frame, &fr);
	const char *last = NULL;
	int shown = 0;
	for (size_t i = 0; i < fr.n && shown < 3; i++) {
		const char *fn = fr.f[i].function;
		if (!fn) {
			if (!shown)
				fputs(fr.f[i].module ? "[unknown] in " : "[unknown]", f);
			if (!shown && fr.f[i].module)
				esc(f, base_name(fr.f[i].module));
			if (!shown)
				shown = 3;
			break;
		}
		if (last && !strcmp(last, fn))
			continue;
		if (shown)
			fputs(" \xe2\x86\x90 ", f); /* ← */
		esc(f, fn);
		last = fn;
		shown++;
	}
	if (!fr.n)
		fputs("[no stack]", f);
}

static void put_frame_li(FILE *f, const struct hc_frame_out *fo)
{
	fputs("<li>", f);
	if (fo->function) {
		fputs("<span class=\"fn\">", f);
		esc(f, fo->function);
		fputs("</span>", f);
		if (fo->inlined)
			fputs(" <span class=\"tag\">inlined</span>", f);
		if (fo->python)
			fputs(" <span class=\"tag py\">py</span>", f);
		if (fo->file) {
			fputs(" <span class=\"loc\" title=\"", f);
			esc(f, fo->file);
			fprintf(f, ":%u\">", fo->line);
			esc(f, hc_short_path(fo->file));
			fprintf(f, ":%u</span>", fo->line);
		} else if (fo->module) {
			fputs(" <span class=\"loc\" title=\"", f);
			esc(f, fo->module);
			fputs("\">in ", f);
			esc(f, base_name(fo->module));
			fputs("</span>", f);
		}
	} else if (fo->module) {
		fputs("<span class=\"fn unk\">[unknown]</span> <span class=\"loc\" title=\"", f);
		esc(f, fo->module);
		fputs("\">in ", f);
		esc(f, base_name(fo->module));
		fprintf(f, "+0x%llx</span>", (unsigned long long)fo->offset);
	} else {
		fprintf(f,
			"<span class=\"fn unk\">[unknown]</span> <span class=\"loc\">0x%llx</span>",
			(unsigned long long)fo->address);
	}
	fputs("</li>\n", f);
}

static void put_stack(FILE *f, struct hc_analysis *a, const struct hc_node *x, size_t shown)
{
	struct frames fr = {.n = 0};
	hc_analysis_frames(a, x, FRAMES_MAX, collect_frame, &fr);
	if (!fr.n) {
		fputs("<p class=\"muted\">No stack was recorded for this site.</p>\n", f);
		return;
	}
	fputs("<ol class=\"stack\">\n", f);
	for (size_t i = 0; i < fr.n && i < shown; i++)
		put_frame_li(f, &fr.f[i]);
	fputs("</ol>\n", f);
	if (fr.n > shown) {
		fprintf(f,
			"<details class=\"more\"><summary>%zu more frames</summary>"
			"<ol class=\"stack\" start=\"%zu\">\n",
			fr.n - shown, shown + 1);
		for (size_t i = shown; i < fr.n; i++)
			put_frame_li(f, &fr.f[i]);
		fputs("</ol></details>\n", f);
	}
	/* the C code that allocated for the innermost Python frame */
	fr.n = 0;
	size_t inner = hc_analysis_inner(a, x, FRAMES_MAX, collect_frame, &fr);
	if (inner) {
		fprintf(f,
			"<details class=\"more\"><summary>%zu native frame%s inside the first "
			"Python frame</summary><ol class=\"stack\">\n",
			inner, inner == 1 ? "" : "s");
		for (size_t i = 0; i < fr.n; i++)
			put_frame_li(f, &fr.f[i]);
		fputs("</ol></details>\n", f);
	}
}

/* --- chart frames and axes ----------------------------------------------- */

/* A chart in viewBox units: the plot area [l, r] × [t, b] shows the data
 * domain [x0, x1] × [0, y1]. */
struct chart {
	double w, h, l, r, t, b;
	double x0, x1, y1;
};

static double cx(const struct chart *c, double x)
{
	double u = c->x1 > c->x0 ? (x - c->x0) / (c->x1 - c->x0) : 0;
	return c->l + fmin(1, fmax(0, finite_or_0(u))) * (c->r - c->l);
}

static double cy(const struct chart *c, double y)
{
	double u = c->y1 > 0 ? y / c->y1 : 0;
	return c->b - fmin(1, fmax(0, finite_or_0(u))) * (c->b - c->t);
}

struct ticks {
	double step, unit, max;
	const char *name;
};

/* 1, 2, 2.5 or 5 times a power of ten, at least raw. */
static double nice(double raw)
{
	if (!(raw > 0) || !isfinite(raw))
		return 1;
	double e = pow(10, floor(log10(raw))), q = raw / e;
	return (q <= 1 ? 1 : q <= 2 ? 2 : q <= 2.5 ? 2.5 : q <= 5 ? 5 : 10) * e;
}

/* A byte axis from 0: a binary unit, at most six steps, the top on a step.
 * An empty or flat-zero series still gets an axis (up to 1000 B). */
static void bytes_ticks(struct ticks *k, double max)
{
	static const char *const name[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	if (!(max > 0) || !isfinite(max))
		max = 1000;
	int u = 0;
	k->unit = 1;
	while (max / k->unit >= 1024 && u < 4) {
		k->unit *= 1024;
		u++;
	}
	k->name = name[u];
	double step = nice(max / k->unit / 6);
	if (u == 0 && step < 1)
		step = 1;
	k->step = step * k->unit;
	k->max = ceil(max / k->step - 1e-9) * k->step;
}

static void time_ticks(struct ticks *k, double max)
{
	if (!(max > 0) || !isfinite(max))
		max = 1;
	if (max <= 180)
		k->unit = 1, k->name = "s";
	else if (max <= 3 * 3600)
		k->unit = 60, k->name = "min";
	else if (max <= 3 * 86400)
		k->unit = 3600, k->name = "h";
	else
		k->unit = 86400, k->name = "d";
	k->step = nice(max / k->unit / 6) * k->unit;
	k->max = max;
}

static void count_ticks(struct ticks *k, double max)
{
	if (!(max > 0) || !isfinite(max))
		max = 1;
	k->unit = 1;
	k->name = "";
	k->step = fmax(1, nice(max / 5));
	k->max = ceil(max / k->step - 1e-9) * k->step;
}

static void tick_label(FILE *f, const struct ticks *k, double v)
{
	if (v == 0)
		fputs("0", f);
	else if (!*k->name && v >= 1e6)
		fprintf(f, "%.4gM", v / 1e6);
	else if (!*k->name && v >= 1e4)
		fprintf(f, "%.4gk", v / 1e3);
	else
		fprintf(f, *k->name ? "%.4g %s" : "%.4g", v / k->unit, k->name);
}

static void chart_open(FILE *f, const struct chart *c, const char *id, const char *cls,
		       const char *label)
{
	fprintf(f,
		"<svg class=\"chart %s\" id=\"%s\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" "
		"aria-label=\"%s\">\n",
		cls, id, c->w, c->h, label);
}

/* Horizontal grid lines with labels on the left. */
static void y_axis(FILE *f, const struct chart *c, const struct ticks *k, const char *title)
{
	fputs("<g class=\"grid\">", f);
	for (int i = 0; i < 40; i++) {
		double v = i * k->step;
		if (v > c->y1 * (1 + 1e-9))
			break;
		double y = cy(c, v);
		fprintf(f, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", c->l, c->r, y,
			y);
		fprintf(f, "<text class=\"yl\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">",
			c->l - 6, y + 3.5);
		tick_label(f, k, v);
		fputs("</text>", f);
	}
	fputs("</g>\n", f);
	if (title)
		fprintf(f,
			"<text class=\"at\" transform=\"translate(12 %.1f) rotate(-90)\" "
			"text-anchor=\"middle\">%s</text>\n",
			(c->t + c->b) / 2, title);
}

static void x_time_axis(FILE *f, const struct chart *c, const struct ticks *k, const char *title)
{
	fputs("<g class=\"grid\">", f);
	for (int i = 0; i < 40; i++) {
		double v = i * k->step;
		if (v > c->x1 * (1 + 1e-9))
			break;
		double x = cx(c, v);
		fprintf(f, "<line class=\"v\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", x,
			x, c->t, c->b);
		fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", x, c->b + 15);
		tick_label(f, k, v);
		fputs("</text>", f);
	}
	fputs("</g>\n", f);
	fprintf(f, "<path class=\"axis\" d=\"M%.1f %.1fV%.1fH%.1f\"/>\n", c->l, c->t, c->b, c->r);
	if (title)
		fprintf(f,
			"<text class=\"at\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s"
			"</text>\n",
			(c->l + c->r) / 2, c->h - 4, title);
}

/* The warm-up (left out of the tests), shaded. */
static void warmup_shade(FILE *f, const struct chart *c, double warmup_s)
{
	if (!(warmup_s > c->x0))
		return;
	double x = cx(c, warmup_s);
	fprintf(f,
		"<rect class=\"warm\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>"
		"<text class=\"wl\" x=\"%.1f\" y=\"%.1f\">warm-up</text>\n",
		c->l, c->t, x - c->l, c->b - c->t, c->l + 4, c->t + 12);
}

/* One value per window as a line. No window: a dashed baseline, so the
 * chart never has an empty path; one window: a level segment across it. */
static void series_path(FILE *f, const struct chart *c, const struct hc_model *m, const double *v,
			const char *cls)
{
	fprintf(f, "<path class=\"s %s%s\" d=\"", cls, m->nwin ? "" : " none");
	if (!m->nwin) {
		fprintf(f, "M%.1f %.1fH%.1f", c->l, c->b, c->r);
	} else if (m->nwin == 1) {
		double x0 = cx(c, m->win[0].t0), x1 = cx(c, m->win[0].t1);
		if (x1 - x0 < 2)
			x0 = c->l, x1 = c->r;
		fprintf(f, "M%.1f %.1fH%.1f", x0, cy(c, finite_or_0(v[0])), x1);
	} else {
		for (size_t i = 0; i < m->nwin; i++)
			fprintf(f, "%s%.1f %.1f", i ? "L" : "M", cx(c, m->win[i].t),
				cy(c, finite_or_0(v[i])));
	}
	fputs("\"/>\n", f);
}

/* The band between two series (per window minimum and maximum). */
static void band_path(FILE *f, const struct chart *c, const struct hc_model *m, const double *lo,
		      const double *hi, const char *cls)
{
	if (!m->nwin)
		return;
	fprintf(f, "<path class=\"s band %s\" d=\"", cls);
	if (m->nwin == 1) {
		double x0 = cx(c, m->win[0].t0), x1 = cx(c, m->win[0].t1);
		if (x1 - x0 < 2)
			x0 = c->l, x1 = c->r;
		fprintf(f, "M%.1f %.1fH%.1fV%.1fH%.1fZ", x0, cy(c, finite_or_0(hi[0])), x1,
			cy(c, finite_or_0(lo[0])), x0);
	} else {
		for (size_t i = 0; i < m->nwin; i++)
			fprintf(f, "%s%.1f %.1f", i ? "L" : "M", cx(c, m->win[i].t),
				cy(c, finite_or_0(hi[i])));
		for (size_t i = m->nwin; i-- > 0;)
			fprintf(f, "L%.1f %.1f", cx(c, m->win[i].t), cy(c, finite_or_0(lo[i])));
		fputs("Z", f);
	}
	fputs("\"/>\n", f);
}

static double x_end(const struct hc_model *m)
{
	double x = m->nwin ? m->win[m->nwin - 1].t1 : m->end_s;
	return x > 0 ? x : 1;
}

/* --- the memory chart ---------------------------------------------------- */

static void memory_section(FILE *f, struct hc_analysis *a)
{
	const struct hc_model *m = &a->model;
	const struct hc_detect *d = &a->det;
	double lo[HC_MAX_WINDOWS], hi[HC_MAX_WINDOWS], rss[HC_MAX_WINDOWS], ymax = 0;
	for (size_t i = 0; i < m->nwin; i++) {
		lo[i] = finite_or_0(m->win[i].heap_min);
		hi[i] = finite_or_0(m->win[i].heap_max);
		rss[i] = finite_or_0(m->win[i].rss_max);
		ymax = fmax(ymax, fmax(hi[i], rss[i]));
	}
	/* The limit is drawn when it fits without flattening the data. */
	int show_limit = d->limit > 0 && d->limit <= 1.5 * ymax;
	if (show_limit)
		ymax = fmax(ymax, d->limit);
	struct ticks ky, kx;
	bytes_ticks(&ky, ymax * 1.04);
	time_ticks(&kx, x_end(m));
	struct chart c = {720, 290, 66, 706, 12, 246, 0, kx.max, ky.max};
	char b1[32], b2[32];

	fputs("<section id=\"memory\">\n<h2>Memory over time</h2>\n", f);
	fputs("<figure>\n<div class=\"plot\">\n", f);
	chart_open(f, &c, "chart-memory", "", "RSS and tracked heap over time");
	warmup_shade(f, &c, d->warmup_s);
	y_axis(f, &c, &ky, "memory");
	x_time_axis(f, &c, &kx, "time since the process started");
	band_path(f, &c, m, lo, hi, "heap");
	series_path(f, &c, m, hi, "heap");
	series_path(f, &c, m, rss, "rss");
	if (show_limit) {
		double y = cy(&c, d->limit);
		fprintf(f,
			"<path class=\"limit\" d=\"M%.1f %.1fH%.1f\"/>"
			"<text class=\"ll\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">limit %s"
			"</text>\n",
			c.l, y, c.r, c.r - 4, y - 5, hc_fmt_bytes(b1, sizeof(b1), d->limit));
	}
	if (!m->nwin)
		fprintf(f,
			"<text class=\"empty\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">no "
			"snapshot before the end of the run</text>\n",
			(c.l + c.r) / 2, (c.t + c.b) / 2);
	fputs("</svg>\n</div>\n", f);
	fputs("<figcaption><ul class=\"legend\">"
	      "<li><i class=\"sw rss\"></i>RSS: what the operating system counts for the process "
	      "(highest in each window)</li>"
	      "<li><i class=\"sw heap\"></i>tracked heap: bytes the program asked for and has not "
	      "freed (the band spans each window's lowest to highest)</li>",
	      f);
	if (d->warmup_s > 0)
		fputs("<li><i class=\"sw warm\"></i>warm-up, left out of the growth tests</li>", f);
	fputs("</ul>\n", f);
	double gap = 0;
	if (m->nwin)
		gap = rss[m->nwin - 1] - hi[m->nwin - 1];
	fprintf(f,
		"<p class=\"note\">The gap between the two lines (%s at the end) is memory the "
		"heap does not account for: the allocator's overhead and fragmentation (freed "
		"memory it keeps, rounding, metadata), the rest of the process (code, stacks, "
		"memory mapped outside malloc) and heapcreep's own bookkeeping (%s).",
		hc_fmt_bytes(b1, sizeof(b1), fmax(0, gap)),
		hc_fmt_bytes(b2, sizeof(b2), (double)m->sum.last.shim_bytes));
	if (d->limit > 0 && !show_limit)
		fprintf(f, " The limit, %s, is far above this chart.",
			hc_fmt_bytes(b1, sizeof(b1), d->limit));
	fputs("</p>\n</figcaption>\n</figure>\n</section>\n", f);
}

/* --- growing sites ------------------------------------------------------- */

/* The fitted slope, drawn through the median point of the aged floor after
 * warm-up (the windows the tests used), clipped to the plot. */
struct fit {
	int ok;
	double t0, t1, y0, y1;
};

static struct fit fit_line(const struct hc_model *m, const struct hc_detect *d,
			   const struct hc_node *x)
{
	struct fit fl = {0, 0, 0, 0, 0};
	double xs[HC_MAX_WINDOWS], ys[HC_MAX_WINDOWS];
	size_t n = 0, w0 = 0;
	while (w0 < m->nwin && m->win[w0].t0 < d->warmup_s - 1e-9)
		w0++;
	for (size_t w = w0; w < m->nwin; w++) {
		xs[n] = m->win[w].t;
		ys[n++] = finite_or_0(x->aged_min[w]);
	}
	if (n < 2 || !isfinite(x->slope))
		return fl;
	double t0 = xs[0], t1 = xs[n - 1];
	double mx = hc_median(xs, n), my = hc_median(ys, n);
	fl.t0 = t0;
	fl.t1 = t1;
	fl.y0 = my + x->slope * (t0 - mx);
	fl.y1 = my + x->slope * (t1 - mx);
	/* below zero is no memory: start (or end) the line where it crosses 0 */
	if (fl.y0 < 0 && x->slope > 0) {
		fl.t0 = mx - my / x->slope;
		fl.y0 = 0;
	}
	if (fl.y1 < 0 && x->slope < 0) {
		fl.t1 = mx - my / x->slope;
		fl.y1 = 0;
	}
	fl.ok = fl.t1 > fl.t0;
	return fl;
}

static void finding_chart(FILE *f, struct hc_analysis *a, const struct hc_node *x, int rank)
{
	const struct hc_model *m = &a->model;
	const struct hc_detect *d = &a->det;
	struct fit fl = fit_line(m, d, x);
	double ymax = 0;
	for (size_t i = 0; i < m->nwin; i++)
		ymax = fmax(ymax, fmax(finite_or_0(x->live_max[i]), finite_or_0(x->aged_min[i])));
	if (fl.ok)
		ymax = fmax(ymax, fmax(fl.y0, fl.y1));
	struct ticks ky, kx;
	bytes_ticks(&ky, ymax * 1.04);
	time_ticks(&kx, x_end(m));
	struct chart c = {720, 250, 66, 706, 12, 206, 0, kx.max, ky.max};
	char id[32], rate[32];
	snprintf(id, sizeof(id), "chart-growth-%d", rank);
	fputs("<figure>\n<div class=\"plot\">\n", f);
	chart_open(f, &c, id, "", "live bytes and aged floor of the site over time");
	warmup_shade(f, &c, d->warmup_s);
	y_axis(f, &c, &ky, "live bytes");
	x_time_axis(f, &c, &kx, "time since the process started");
	band_path(f, &c, m, x->live_min, x->live_max, "live");
	series_path(f, &c, m, x->live_max, "live");
	series_path(f, &c, m, x->aged_min, "aged");
	if (fl.ok) {
		double x0 = cx(&c, fl.t0), x1 = cx(&c, fl.t1);
		if (x1 - x0 < 1)
			x1 = x0 + 1;
		fprintf(f, "<path class=\"s fit\" d=\"M%.1f %.1fL%.1f %.1f\"/>\n", x0,
			cy(&c, fl.y0), x1, cy(&c, fl.y1));
		fprintf(f,
			"<text class=\"fl\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s%s"
			"</text>\n",
			x1 - 2, fmax(c.t + 10, cy(&c, fl.y1) - 8), x->slope >= 0 ? "+" : "",
			hc_fmt_rate(rate, sizeof(rate), x->slope));
	}
	if (x->since_s > 0 && !since_start(m, x->since_s)) {
		double sx = cx(&c, x->since_s);
		fprintf(f,
			"<path class=\"since\" d=\"M%.1f %.1fV%.1f\"/>"
			"<text class=\"sl\" x=\"%.1f\" y=\"%.1f\">grows from here</text>\n",
			sx, c.t, c.b, sx + 4, c.t + 24);
	}
	fputs("</svg>\n</div>\n<figcaption><ul class=\"legend\">"
	      "<li><i class=\"sw live\"></i>live bytes (each window's lowest to highest)</li>"
	      "<li><i class=\"sw aged\"></i>aged floor: each window's least bytes in blocks older "
	      "than the age horizon (what the verdict tests)</li>",
	      f);
	if (fl.ok)
		fputs("<li><i class=\"sw fit\"></i>fitted growth (Theil-Sen slope through the "
		      "median point)</li>",
		      f);
	fputs("</ul></figcaption>\n</figure>\n", f);
}

static void finding_block(FILE *f, struct hc_analysis *a, const struct hc_node *x, int rank)
{
	const struct hc_model *m = &a->model;
	char rate[32], b1[32], b2[32], b3[32], t1[32];
	const char *cls = verdict_class(x->verdict);
	fprintf(f,
		"<article class=\"finding %s\">\n<h3><span class=\"badge %s\">%s</span> "
		"<span class=\"rank\">#%d</span> <span class=\"title\">",
		cls, cls, verdict_word(x->verdict), rank);
	put_title(f, a, x);
	fputs("</span></h3>\n<p class=\"facts\">", f);
	fprintf(f, "<b>%s%s</b>", x->slope >= 0 ? "+" : "",
		hc_fmt_rate(rate, sizeof(rate), x->slope));
	if (since_start(m, x->since_s))
		fputs(" since the start", f);
	else if (x->since_s > 0)
		fprintf(f, " since %s", hc_fmt_duration(t1, sizeof(t1), x->since_s));
	fprintf(f, " &middot; %s live at %s &middot; peak %s &middot; %llu allocations (%s)",
		hc_fmt_bytes(b1, sizeof(b1), x->live_end),
		hc_fmt_duration(t1, sizeof(t1), m->end_s), hc_fmt_bytes(b2, sizeof(b2), x->peak),
		(unsigned long long)x->allocs, hc_fmt_bytes(b3, sizeof(b3), x->bytes_allocated));
	fprintf(f, " &middot; age horizon %s</p>\n", hc_fmt_duration(t1, sizeof(t1), x->horizon_s));
	fputs("<p class=\"why\">", f);
	esc(f, x->why);
	fputs("</p>\n", f);
	finding_chart(f, a, x, rank);
	fputs("<h4>Allocated at (innermost frame first)</h4>\n", f);
	if (x->nsites > 1)
		fprintf(f,
			"<p class=\"muted\">%u stacks share the %u innermost frames below.</p>\n",
			x->nsites, x->depth);
	put_stack(f, a, x, FRAMES_SHOWN);
	fputs("</article>\n", f);
}

static void findings_section(FILE *f, struct hc_analysis *a)
{
	const struct hc_detect *d = &a->det;
	fputs("<section id=\"growing\">\n<h2>Growing sites</h2>\n", f);
	if (!d->nfindings) {
		fprintf(f, "<p>%s</p>\n",
			d->verdict == HC_VERDICT_INCONCLUSIVE
				? "No site could be judged (see the verdict above)."
				: "No allocation site's retained memory keeps growing.");
	} else {
		fputs("<p class=\"intro\">Each site below holds more and more memory as the "
		      "program runs. The verdict looks at the <em>aged floor</em>: memory in "
		      "blocks older than the site's age horizon, at its lowest in each window, so "
		      "caches that turn over and batches that are freed do not count.</p>\n", f);
		for (size_t i = 0; i < d->nfindings; i++)
			finding_block(f, a, &a->model.nodes[d->findings[i]], (int)i + 1);
	}
	fputs("</section>\n", f);
}

/* --- the icicle ---------------------------------------------------------- */

/* A tree of frames, innermost first under the root (where the memory was
 * allocated, then who called it), children merged by function name; two
 * weights per node: retained bytes at the end of the run and growth. */
struct inode {
	const char *name, *file, *module;
	char *own; /* name made here (unknown frames) */
	unsigned line;
	int inlined;
	uint32_t child, next, depth;
	double w[2], hot[2];
};

struct itree {
	struct inode *v;
	size_t n, cap;
	uint32_t *index; /* open addressing on (parent, name) */
	uint32_t *parent; /* parent of each node (for the index) */
	size_t icap;
	int full; /* ICICLE_MAX_NODES reached */
};

static uint64_t hash_key(uint32_t parent, const char *s)
{
	uint64_t h = 1469598103934665603ull ^ ((uint64_t)parent * 0x9e3779b97f4a7c15ull);
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h ^ h >> 29;
}

static int itree_init(struct itree *t)
{
	memset(t, 0, sizeof(*t));
	t->cap = 1024;
	t->icap = 2048;
	t->v = calloc(t->cap, sizeof(*t->v));
	t->parent = calloc(t->cap, sizeof(*t->parent));
	t->index = calloc(t->icap, sizeof(*t->index));
	if (!t->v || !t->parent || !t->index)
		return -1;
	t->n = 1; /* the root */
	t->v[0].name = "all";
	return 0;
}

static void itree_release(struct itree *t)
{
	for (size_t i = 0; i < t->n && t->v; i++)
		free(t->v[i].own);
	free(t->v);
	free(t->parent);
	free(t->index);
	memset(t, 0, sizeof(*t));
}

static int itree_rehash(struct itree *t)
{
	size_t ncap = t->icap * 2;
	uint32_t *ni = calloc(ncap, sizeof(*ni));
	if (!ni)
		return -1;
	for (size_t k = 0; k < t->icap; k++) {
		uint32_t id = t->index[k];
		if (!id)
			continue;
		size_t j = hash_key(t->parent[id], t->v[id].name) & (ncap - 1);
		while (ni[j])
			j = (j + 1) & (ncap - 1);
		ni[j] = id;
	}
	free(t->index);
	t->index = ni;
	t->icap = ncap;
	return 0;
}

/* The child of parent named name, made when missing. Returns its id, 0 when
 * the tree is full (the caller stops descending), or -1 without memory. */
static long itree_child(struct itree *t, uint32_t parent, const char *name,
			const struct hc_frame_out *fo)
{
	size_t j = hash_key(parent, name) & (t->icap - 1);
	while (t->index[j]) {
		uint32_t id = t->index[j];
		if (t->parent[id] == parent && !strcmp(t->v[id].name, name))
			return id;
		j = (j + 1) & (t->icap - 1);
	}
	if (t->n >= ICICLE_MAX_NODES) {
		t->full = 1;
		return 0;
	}
	if (t->n == t->cap) {
		size_t ncap = t->cap * 2;
		struct inode *nv = realloc(t->v, ncap * sizeof(*nv));
		if (!nv)
			return -1;
		t->v = nv;
		uint32_t *np = realloc(t->parent, ncap * sizeof(*np));
		if (!np)
			return -1;
		t->parent = np;
		t->cap = ncap;
	}
	uint32_t id = (uint32_t)t->n;
	struct inode *x = &t->v[id];
	memset(x, 0, sizeof(*x));
	if (!fo->function) {
		x->own = strdup(name);
		if (!x->own)
			return -1;
	}
	x->name = x->own ? x->own : name;
	x->file = fo->file;
	x->line = fo->line;
	x->module = fo->module;
	x->inlined = fo->inlined;
	x->depth = t->v[parent].depth + 1;
	x->next = t->v[parent].child;
	t->v[parent].child = id;
	t->parent[id] = parent;
	t->index[j] = id;
	t->n++;
	if (t->n * 2 > t->icap && itree_rehash(t))
		return -1;
	return id;
}

static void itree_add(struct itree *t, uint32_t id, const double w[2], int hot)
{
	for (int v = 0; v < 2; v++) {
		t->v[id].w[v] += w[v];
		if (hot)
			t->v[id].hot[v] += w[v];
	}
}

/* Sites under a reported finding (coloured warm in the icicle). */
static uint8_t *hot_sites(const struct hc_analysis *a)
{
	const struct hc_model *m = &a->model;
	uint8_t *hot = calloc(m->nsites ? m->nsites : 1, 1);
	if (!hot)
		return NULL;
	for (size_t k = 0; k < a->det.nfindings; k++) {
		const struct hc_node *x = &m->nodes[a->det.findings[k]];
		for (size_t i = 0; i < m->nsites; i++) {
			const struct hc_site *s = &m->sites[i];
			if (s->nchain >= x->depth && s->chain[x->depth - 1] == a->det.findings[k])
				hot[i] = 1;
		}
	}
	return hot;
}

static int itree_build(struct itree *t, struct hc_analysis *a)
{
	const struct hc_model *m = &a->model;
	uint8_t *hot = hot_sites(a);
	if (!hot)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < m->nsites && !rc; i++) {
		const struct hc_site *s = &m->sites[i];
		double w[2] = {fmax(0, finite_or_0(s->live_at_end)),
			       fmax(0, finite_or_0(hc_report_site_growth(m, s)))};
		if (!(w[0] > 0) && !(w[1] > 0))
			continue;
		itree_add(t, 0, w, hot[i]);
		uint32_t cur = 0, level = 0;
		if (!s->nframes) {
			struct hc_frame_out none = {0};
			long id = itree_child(t, 0, "[no stack]", &none);
			if (id < 0)
				rc = -1;
			else if (id > 0)
				itree_add(t, (uint32_t)id, w, hot[i]);
			continue;
		}
		for (uint32_t fi = 0; fi < s->nframes && level < ICICLE_LEVELS && !rc; fi++) {
			struct hc_sym_frame sf[HC_SYM_MAX_FRAMES];
			struct hc_sym_where where = {0};
			int k = a->sym ? hc_symbols_resolve(a->sym, s->frames[fi], sf,
							    HC_SYM_MAX_FRAMES, &where)
				       : 0;
			struct hc_frame_out fo = {.address = s->frames[fi],
						  .module = where.module,
						  .offset = where.offset};
			char label[300];
			int levels = k > 0 ? k : 1;
			long id = 0;
			for (int j = 0; j < levels && level < ICICLE_LEVELS; j++, level++) {
				const char *name;
				if (k > 0) {
					fo.function = sf[j].function;
					fo.file = sf[j].file;
					fo.line = sf[j].line;
					fo.inlined = j + 1 < k;
					name = sf[j].function;
				} else {
					if (where.module)
						snprintf(label, sizeof(label),
							 "[unknown] %s+0x%llx",
							 base_name(where.module),
							 (unsigned long long)where.offset);
					else
						snprintf(label, sizeof(label), "[unknown] 0x%llx",
							 (unsigned long long)s->frames[fi]);
					name = label;
				}
				id = itree_child(t, cur, name, &fo);
				if (id <= 0)
					break;
				itree_add(t, (uint32_t)id, w, hot[i]);
				cur = (uint32_t)id;
			}
			if (id < 0)
				rc = -1;
			if (id <= 0)
				break;
		}
	}
	free(hot);
	return rc;
}

struct irender {
	FILE *f;
	struct itree *t;
	int v;
	double total;
	uint32_t rows;
};

static int by_weight_desc(const void *pa, const void *pb, void *ctx)
{
	const struct irender *r = ctx;
	double x = r->t->v[*(const uint32_t *)pa].w[r->v],
	       y = r->t->v[*(const uint32_t *)pb].w[r->v];
	return (x < y) - (x > y);
}

/* Children of id wide enough to show, heaviest first; the caller frees. */
static uint32_t *shown_children(const struct irender *r, uint32_t id, size_t *n)
{
	size_t k = 0;
	for (uint32_t c = r->t->v[id].child; c; c = r->t->v[c].next)
		k++;
	*n = 0;
	if (!k)
		return NULL;
	uint32_t *out = malloc(k * sizeof(*out));
	if (!out)
		return NULL;
	for (uint32_t c = r->t->v[id].child; c; c = r->t->v[c].next)
		if (r->t->v[c].w[r->v] >= ICICLE_MIN_FRAC * r->total && r->t->v[c].w[r->v] > 0)
			out[(*n)++] = c;
	qsort_r(out, *n, sizeof(*out), by_weight_desc, (void *)r);
	return out;
}

static uint32_t rows_of(const struct irender *r, uint32_t id)
{
	size_t n;
	uint32_t *ch = shown_children(r, id, &n), rows = 1;
	for (size_t i = 0; i < n; i++) {
		uint32_t k = 1 + rows_of(r, ch[i]);
		if (k > rows)
			rows = k;
	}
	free(ch);
	return rows;
}

static void put_value(FILE *f, int v, double w)
{
	char b[32];
	if (v == 0)
		fputs(hc_fmt_bytes(b, sizeof(b), w), f);
	else
		fputs(hc_fmt_rate(b, sizeof(b), w), f);
}

static void frame_tip(FILE *f, const struct irender *r, const struct inode *x)
{
	esc(f, x->name);
	if (x->inlined)
		fputs(" (inlined)", f);
	fputs("\n", f);
	put_value(f, r->v, x->w[r->v]);
	fprintf(f, ", %.1f%% of %s", r->total > 0 ? 100 * x->w[r->v] / r->total : 0,
		r->v ? "all growth" : "retained bytes");
	if (x->file) {
		fputs("\n", f);
		esc(f, x->file);
		fprintf(f, ":%u", x->line);
	}
	if (x->module) {
		fputs("\n", f);
		esc(f, x->module);
	}
}

static void frame_svg(struct irender *r, uint32_t id, double at)
{
	const struct inode *x = &r->t->v[id];
	double w = id ? (r->total > 0 ? x->w[r->v] / r->total : 0) : 1;
	/* a stable colour per name: warm for memory under a finding */
	uint64_t h = hash_key(0, x->name);
	int hot = x->w[r->v] > 0 && x->hot[r->v] * 2 > x->w[r->v];
	char fill[40];
	if (!id)
		snprintf(fill, sizeof(fill), "#dfe3ea");
	else if (hot)
		snprintf(fill, sizeof(fill), "hsl(%d,78%%,%d%%)", (int)(4 + h % 22),
			 (int)(62 + (h >> 8) % 10));
	else
		snprintf(fill, sizeof(fill), "hsl(%d,42%%,%d%%)", (int)(200 + h % 30),
			 (int)(72 + (h >> 8) % 10));
	fprintf(r->f,
		"<svg class=\"fr%s\" x=\"%.5f%%\" y=\"%u\" width=\"%.5f%%\" height=\"%d\" "
		"data-a=\"%.8f\" data-w=\"%.8f\" data-d=\"%u\"><title>",
		id ? "" : " root", 100 * at, x->depth * ICICLE_ROW, 100 * w, ICICLE_ROW - 1, at, w,
		x->depth);
	frame_tip(r->f, r, x);
	fprintf(r->f,
		"</title><rect%s width=\"100%%\" height=\"100%%\" fill=\"%s\"/>"
		"<text x=\"4\" y=\"12.5\">",
		id ? "" : " class=\"s\"", fill);
	if (id) {
		esc(r->f, x->name);
	} else {
		fputs(r->v ? "all growth: " : "all retained: ", r->f);
		put_value(r->f, r->v, x->w[r->v]);
		if (r->v)
			fputs(r->total > 0 ? " (sum over the sites that grow)" : " (no site grows)",
			      r->f);
	}
	fputs("</text></svg>\n", r->f);
	size_t n;
	uint32_t *ch = shown_children(r, id, &n);
	double ca = at;
	for (size_t i = 0; i < n; i++) {
		frame_svg(r, ch[i], ca);
		ca += r->total > 0 ? r->t->v[ch[i]].w[r->v] / r->total : 0;
	}
	free(ch);
}

/* The same tree as nested lists, for no script, a screen reader or a copy. */
static void frame_list(struct irender *r, uint32_t id)
{
	const struct inode *x = &r->t->v[id];
	size_t n;
	uint32_t *ch = shown_children(r, id, &n);
	fputs(n ? "<li><details" : "<li><span class=\"leaf\">", r->f);
	if (n)
		fputs(x->depth < 2 ? " open><summary>" : "><summary>", r->f);
	fputs("<span class=\"v\">", r->f);
	put_value(r->f, r->v, x->w[r->v]);
	fprintf(r->f, "</span> <span class=\"pc\">%.1f%%</span> ",
		r->total > 0 ? 100 * x->w[r->v] / r->total : 0);
	if (id)
		esc(r->f, x->name);
	else
		fputs(r->v ? "all growth" : "all retained bytes", r->f);
	if (x->file) {
		fputs(" <span class=\"loc\">", r->f);
		esc(r->f, hc_short_path(x->file));
		fprintf(r->f, ":%u</span>", x->line);
	}
	if (n) {
		fputs("</summary><ul>\n", r->f);
		for (size_t i = 0; i < n; i++)
			frame_list(r, ch[i]);
		fputs("</ul></details></li>\n", r->f);
	} else {
		fputs("</span></li>\n", r->f);
	}
	free(ch);
}

static void icicle_view(FILE *f, struct itree *t, int v, double end_s)
{
	struct irender r = {f, t, v, t->v[0].w[v], 0};
	char when[32];
	r.rows = rows_of(&r, 0);
	fprintf(f, "<div class=\"icicle-view\" data-view=\"%s\">\n<h3 class=\"vh\">%s</h3>\n",
		v ? "growth" : "retained",
		v ? "Growth (bytes per second of each site's aged floor)"
		  : "Retained bytes when the run ends");
	fprintf(f,
		"<svg class=\"chart icicle\" id=\"chart-icicle-%s\" width=\"100%%\" height=\"%u\" "
		"style=\"height:%upx\" role=\"img\" aria-label=\"icicle graph of %s\">\n",
		v ? "growth" : "retained", r.rows * ICICLE_ROW, r.rows * ICICLE_ROW,
		v ? "growth" : "retained bytes");
	frame_svg(&r, 0, 0);
	fputs("</svg>\n", f);
	fprintf(f, "<details class=\"tree\"><summary>%s as a list</summary><ul>\n",
		v ? "Growth" : "Retained bytes");
	frame_list(&r, 0);
	fputs("</ul></details>\n", f);
	if (!v)
		fprintf(f,
			"<p class=\"note\">Live bytes of every site at %s, the end of the run "
			"before teardown.</p>\n",
			hc_fmt_duration(when, sizeof(when), end_s));
	fputs("</div>\n", f);
}

static void icicle_section(FILE *f, struct hc_analysis *a)
{
	struct itree t;
	fputs("<section id=\"where\">\n<h2>Where the memory is</h2>\n", f);
	if (itree_init(&t) || itree_build(&t, a)) {
		fputs("<p>Not enough memory to build the graph.</p>\n</section>\n", f);
		itree_release(&t);
		return;
	}
	fputs("<p class=\"intro\">Read from the top: the function that allocated, then who called "
	      "it, and so on down. Widths are shares of the total; frames under a growing site "
	      "are warm-coloured. <span class=\"js-only\">Click a frame to zoom in, the top bar to "
	      "zoom out.</span></p>\n<div class=\"toggle\" role=\"group\" aria-label=\"value\">"
	      "<button type=\"button\" data-view=\"retained\" aria-pressed=\"true\">Retained at "
	      "the end</button><button type=\"button\" data-view=\"growth\" aria-pressed=\"false\">"
	      "Growth</button></div>\n",
	      f);
	icicle_view(f, &t, 0, a->model.end_s);
	icicle_view(f, &t, 1, a->model.end_s);
	if (t.full)
		fprintf(f,
			"<p class=\"muted\">The graph holds the first %d frames it met; deeper "
			"frames of the rest are summed into their callers.</p>\n",
			ICICLE_MAX_NODES);
	fputs("</section>\n", f);
	itree_release(&t);
}

/* --- lifetime histograms ------------------------------------------------- */

struct lifetimes {
	uint64_t hist[64];
	double live_blocks;
};

static void node_lifetimes(const struct hc_model *m, uint32_t id, struct lifetimes *lt)
{
	const struct hc_node *x = &m->nodes[id];
	memset(lt, 0, sizeof(*lt));
	for (size_t i = 0; i < m->nsites; i++) {
		const struct hc_site *s = &m->sites[i];
		if (s->nchain < x->depth || s->chain[x->depth - 1] != id)
			continue;
		for (int b = 0; b < 64; b++)
			lt->hist[b] += s->hist[b];
		lt->live_blocks += finite_or_0(s->blocks_at_end);
	}
}

/* Position of a lifetime (log2 of nanoseconds) on the histogram's x axis. */
static double hx(const struct chart *c, double log2ns, int lo, int hi)
{
	return c->l + (log2ns - lo) / (double)(hi + 1 - lo) * (c->r - c->l);
}

static void hist_chart(FILE *f, struct hc_analysis *a, uint32_t id, int rank, int lo, int hi)
{
	const struct hc_model *m = &a->model;
	const struct hc_node *x = &m->nodes[id];
	struct lifetimes lt;
	node_lifetimes(m, id, &lt);
	double ymax = lt.live_blocks, freed = 0;
	for (int b = 0; b < 64; b++) {
		ymax = fmax(ymax, (double)lt.hist[b]);
		freed += (double)lt.hist[b];
	}
	struct ticks ky;
	count_ticks(&ky, ymax);
	/* the freed blocks' buckets, then a slot for the blocks still live */
	struct chart c = {320, 190, 40, 272, 10, 150, 0, 1, ky.max};
	char id_s[32], b1[32], t1[32];
	snprintf(id_s, sizeof(id_s), "chart-lifetime-%d", rank);
	fputs("<figure class=\"hist\">\n", f);
	fprintf(f, "<figcaption class=\"ht\"><span class=\"badge %s\">%s</span> ",
		x->verdict ? verdict_class(x->verdict) : "none",
		x->verdict ? verdict_word(x->verdict) : "site");
	put_title(f, a, x);
	fputs("</figcaption>\n", f);
	chart_open(f, &c, id_s, "", "lifetimes of the site's blocks");
	y_axis(f, &c, &ky, "blocks");
	static const struct {
		double ns;
		const char *label;
		int major;
	} marks[] = {{1, "1 ns", 1},           {1e2, "100 ns", 0},        {1e3, "1 \xc2\xb5s", 1},
		     {1e4, "10 \xc2\xb5s", 0}, {1e5, "100 \xc2\xb5s", 0}, {1e6, "1 ms", 1},
		     {1e7, "10 ms", 0},        {1e8, "100 ms", 0},        {1e9, "1 s", 1},
		     {1e10, "10 s", 0},        {60e9, "1 min", 1},        {600e9, "10 min", 0},
		     {3600e9, "1 h", 1},       {36000e9, "10 h", 0},      {86400e9, "1 d", 1}};
	int minor = hi - lo < 18;
	fputs("<g class=\"grid\">", f);
	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
		double l2 = log2(marks[i].ns);
		if (l2 < lo || l2 > hi + 1 || (!marks[i].major && !minor))
			continue;
		double px = hx(&c, l2, lo, hi);
		fprintf(f,
			"<line class=\"v\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>"
			"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>",
			px, px, c.t, c.b, px, c.b + 14, marks[i].label);
	}
	fputs("</g>\n", f);
	int drawn = 0;
	for (int b = lo; b <= hi; b++) {
		if (!lt.hist[b])
			continue;
		double x0 = hx(&c, b, lo, hi), x1 = hx(&c, b + 1, lo, hi);
		double y = fmin(cy(&c, (double)lt.hist[b]), c.b - 1);
		fprintf(f,
			"<rect class=\"s bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			"height=\"%.1f\"><title>%llu blocks freed after %.3g to %.3g s</title>"
			"</rect>\n",
			x0 + 0.5, y, fmax(1, x1 - x0 - 1), c.b - y, (unsigned long long)lt.hist[b],
			ldexp(1, b) / 1e9, ldexp(1, b + 1) / 1e9);
		drawn++;
	}
	double lx = c.r + 14, lw = 28;
	if (lt.live_blocks > 0) {
		double y = fmin(cy(&c, lt.live_blocks), c.b - 1);
		fprintf(f,
			"<rect class=\"s bar live\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
			"height=\"%.1f\"><title>%.0f blocks still live when the run ends</title>"
			"</rect>\n",
			lx, y, lw, c.b - y, lt.live_blocks);
		drawn++;
	}
	if (!drawn) /* nothing to show: a visible baseline rather than an empty chart */
		fprintf(f, "<path class=\"s none\" d=\"M%.1f %.1fH%.1f\"/>\n", c.l, c.b - 1, c.r);
	fprintf(f,
		"<text class=\"ll\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">still</text>"
		"<text class=\"ll\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">live</text>\n",
		lx + lw / 2, c.b + 14, lx + lw / 2, c.b + 25);
	double hl2 = log2(x->horizon_s * 1e9);
	if (hl2 >= lo && hl2 <= hi + 1) {
		double px = hx(&c, hl2, lo, hi);
		fprintf(f,
			"<path class=\"since\" d=\"M%.1f %.1fV%.1f\"/>"
			"<text class=\"sl\" x=\"%.1f\" y=\"%.1f\">A</text>\n",
			px, c.t, c.b, px + 3, c.t + 10);
	}
	fprintf(f,
		"<text class=\"at\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">lifetime of "
		"freed blocks (log scale)</text>\n</svg>\n",
		(c.l + c.r) / 2, c.h - 4);
	fprintf(f,
		"<p class=\"hn\">%.0f blocks freed, %.0f still live at the end of the run "
		"(%s); A: age horizon %s</p>\n</figure>\n",
		freed, lt.live_blocks, hc_fmt_bytes(b1, sizeof(b1), x->live_end),
		hc_fmt_duration(t1, sizeof(t1), x->horizon_s));
}

static void lifetimes_section(FILE *f, struct hc_analysis *a)
{
	const struct hc_model *m = &a->model;
	const struct hc_detect *d = &a->det;
	uint32_t ids[HIST_SITES];
	int n = 0;
	for (size_t i = 0; i < d->nfindings && n < HIST_SITES; i++)
		ids[n++] = d->findings[i];
	for (size_t i = 0; i < d->nothers && n < HIST_SITES; i++)
		ids[n++] = d->others[i];
	if (!n)
		return;
	/* One range for all, so the histograms compare: from the shortest
	 * lifetime seen (1 µs at the latest) to the run's length. */
	int lo = 9, hi = 0;
	double run_ns = fmax(1, x_end(m) * 1e9);
	hi = (int)fmin(62, floor(log2(run_ns)));
	for (int k = 0; k < n; k++) {
		struct lifetimes lt;
		node_lifetimes(m, ids[k], &lt);
		for (int b = 0; b < 64; b++)
			if (lt.hist[b]) {
				lo = b < lo ? b : lo;
				hi = b > hi ? b : hi;
			}
	}
	if (hi - lo < 10)
		lo = hi - 10 > 0 ? hi - 10 : 0;
	if (hi - lo < 10)
		hi = lo + 10;
	fputs("<section id=\"lifetimes\">\n<h2>How long blocks live</h2>\n<p class=\"intro\">How "
	      "long each site's blocks lived before they were freed (up to the end of the run), "
	      "and how many were still live then. A leak shows as blocks that stay.</p>\n"
	      "<div class=\"hists\">\n",
	      f);
	for (int k = 0; k < n; k++)
		hist_chart(f, a, ids[k], k + 1, lo, hi);
	fputs("</div>\n</section>\n", f);
}

/* --- the verdict --------------------------------------------------------- */

static void put_limit_clause(FILE *f, struct hc_analysis *a, int growing)
{
	const struct hc_detect *d = &a->det;
	char lim[32], t[32], lo[32], hi[32];
	if (!(d->limit > 0)) {
		if (growing)
			fputs("; no memory limit is known, so no time to reach one is estimated",
			      f);
		return;
	}
	hc_fmt_bytes(lim, sizeof(lim), d->limit);
	if (!d->ttl_known) {
		fprintf(f, "; the heap as a whole is not growing significantly, so the %s "
			   "limit is not in sight", lim);
		return;
	}
	if (d->ttl_s <= a->model.end_s) {
		fprintf(f, "; the %s limit was already reached about %s after start", lim,
			words_duration(t, sizeof(t), fmax(0, d->ttl_s)));
		return;
	}
	fprintf(f, "; at that rate the %s limit is reached about %s after start", lim,
		words_duration(t, sizeof(t), d->ttl_s));
	words_duration(lo, sizeof(lo), d->ttl_lo_s);
	words_duration(hi, sizeof(hi), d->ttl_hi_s);
	if (strcmp(lo, hi) && isfinite(d->ttl_hi_s))
		fprintf(f, " (between %s and %s)", lo, hi);
}

static void put_sentence(FILE *f, struct hc_analysis *a)
{
	const struct hc_model *m = &a->model;
	const struct hc_detect *d = &a->det;
	size_t leaks = 0, unsure = 0;
	double sum = 0;
	for (size_t i = 0; i < d->nfindings; i++) {
		const struct hc_node *x = &m->nodes[d->findings[i]];
		if (x->verdict == HC_VERDICT_LEAK) {
			leaks++;
			sum += x->slope;
		} else {
			unsure++;
		}
	}
	char b1[32], b2[32], t[32];
	const struct hc_node *top = d->nfindings ? &m->nodes[d->findings[0]] : NULL;
	if (d->verdict == HC_VERDICT_LEAK) {
		if (leaks == 1)
			fprintf(f,
				"Memory leak: one allocation site keeps growing by %s per second",
				hc_fmt_bytes(b1, sizeof(b1), top->slope));
		else
			fprintf(f,
				"Memory leak: %zu allocation sites keep growing, together by %s "
				"per second (the fastest by %s per second)",
				leaks, hc_fmt_bytes(b1, sizeof(b1), sum),
				hc_fmt_bytes(b2, sizeof(b2), top->slope));
		if (since_start(m, top->since_s))
			fputs(" since the start", f);
		else if (top->since_s > 0)
			fprintf(f, " since %s after start",
				words_duration(t, sizeof(t), top->since_s));
		put_limit_clause(f, a, 1);
	} else if (d->verdict == HC_VERDICT_INCONCLUSIVE && top) {
		if (unsure == 1)
			fputs("Possible memory leak: one allocation site grows", f);
		else
			fprintf(f, "Possible memory leak: %zu allocation sites grow", unsure);
		fprintf(f, " (the fastest by %s per second), but the tests cannot confirm "
			   "it yet (why, and what would settle it, below)",
			hc_fmt_bytes(b1, sizeof(b1), top->slope));
		put_limit_clause(f, a, 1);
		if (d->reason[0]) {
			fputs(". Also: ", f);
			esc(f, d->reason);
		}
	} else if (d->verdict == HC_VERDICT_INCONCLUSIVE) {
		fputs("Inconclusive: ", f);
		esc(f, d->reason);
	} else {
		fputs("No memory leak: no allocation site's retained memory keeps growing", f);
		put_limit_clause(f, a, 0);
	}
	fputs(".", f);
}

static void card(FILE *f, const char *key, const char *value, const char *sub)
{
	fprintf(f, "<div class=\"card\"><div class=\"k\">%s</div><div class=\"v\">%s</div>", key,
		value);
	if (sub)
		fprintf(f, "<div class=\"d\">%s</div>", sub);
	fputs("</div>\n", f);
}

static void verdict_section(FILE *f, struct hc_analysis *a)
{
	const struct hc_model *m = &a->model;
	const struct hc_detect *d = &a->det;
	const struct hc_snapshot_rec *l = &m->sum.last;
	const char *cls = verdict_class(d->verdict);
	char v[64], s[96], b1[32], b2[32];
	double grow = 0, held = 0;
	for (size_t i = 0; i < d->nfindings; i++) {
		const struct hc_node *x = &m->nodes[d->findings[i]];
		grow += fmax(0, x->slope);
		held += x->live_end;
	}
	fprintf(f,
		"<section class=\"verdict %s\" id=\"verdict\">\n<div class=\"badge %s\">%s</div>\n"
		"<p class=\"sentence\">",
		cls, cls, verdict_word(d->verdict));
	put_sentence(f, a);
	fputs("</p>\n", f);
	if (d->nfindings && held > 4 * (double)l->heap_live_bytes && m->teardown)
		fprintf(f,
			"<p class=\"sub\">When the process exits almost all of it is freed "
			"(teardown from %s freed %s; %s is left unfreed), so tools that look for "
			"memory not freed at exit do not see it.</p>\n",
			hc_fmt_duration(b1, sizeof(b1), m->teardown_s),
			hc_fmt_bytes(b2, sizeof(b2), m->teardown_freed),
			hc_fmt_bytes(s, sizeof(s), (double)l->heap_live_bytes));
	fputs("<div class=\"cards\">\n", f);
	if (d->nfindings) {
		snprintf(v, sizeof(v), "+%s", hc_fmt_rate(b1, sizeof(b1), grow));
		snprintf(s, sizeof(s), "%zu growing site%s", d->nfindings,
			 d->nfindings == 1 ? "" : "s");
		card(f, "Growth", v, s);
		snprintf(s, sizeof(s), "by %s at %s", d->nfindings == 1 ? "it" : "them",
			 hc_fmt_duration(b2, sizeof(b2), m->end_s));
		card(f, "Retained", hc_fmt_bytes(v, sizeof(v), held), s);
	}
	if (d->limit > 0) {
		snprintf(s, sizeof(s), "limit %s", hc_fmt_bytes(b1, sizeof(b1), d->limit));
		if (d->ttl_known)
			card(f, "Time to limit", hc_fmt_duration(v, sizeof(v), fmax(0, d->ttl_s)),
			     s);
		else
			card(f, "Time to limit", "not in sight", s);
	}
	double rss = 0;
	for (size_t i = 0; i < m->nsnaps; i++)
		rss = fmax(rss, m->snaps[i].rss);
	card(f, "Peak heap", hc_fmt_bytes(v, sizeof(v), (double)l->heap_peak_bytes), NULL);
	card(f, "Peak RSS", hc_fmt_bytes(v, sizeof(v), rss), NULL);
	snprintf(s, sizeof(s), "%llu blocks", (unsigned long long)l->heap_live_blocks);
	card(f, "Unfreed at exit", hc_fmt_bytes(v, sizeof(v), (double)l->heap_live_bytes), s);
	fputs("</div>\n</section>\n", f);
}

/* --- run totals, other sites, settings ------------------------------------- */

static void row(FILE *f, const char *key)
{
	fprintf(f, "<tr><th scope=\"row\">%s</th><td>", key);
}

static void totals_section(FILE *f, struct hc_analysis *a)
{
	const struct hc_model *m = &a->model;
	const struct hc_summary *s = &m->sum;
	const struct hc_snapshot_rec *l = &s->last;
	char b1[32], b2[32];
	fputs("<section id=\"run\">\n<h2>The run</h2>\n<table class=\"kv\">\n", f);
	char win[512];
	if (hc_analysis_window(a, win, sizeof(win))) {
		row(f, "mid-life");
		esc(f, win);
		fputs("</td></tr>\n", f);
	}
	row(f, "trace");
	fprintf(f, "%s, ", hc_fmt_duration(b1, sizeof(b1), (double)s->last_ts / 1e9));
	if (s->complete)
		fprintf(f, "complete (ended by %s)",
			hc_end_text(s->end_reason, s->end_signal, b2, sizeof(b2)));
	else if (s->status == HC_READ_TRUNCATED)
		fprintf(f, "incomplete: ends inside a chunk at byte offset %llu",
			(unsigned long long)s->stop_offset);
	else if (s->status == HC_READ_CORRUPT) {
		fputs("incomplete: ", f);
		esc(f, s->message);
	} else if (a->live.running)
		fprintf(f, "running (pid %llu): last snapshot %.1f s ago",
			(unsigned long long)s->header.pid, a->live.snapshot_age_s);
	else
		fputs("incomplete: no END record (killed, or still running)", f);
	fputs("</td></tr>\n", f);
	row(f, "judged up to");
	fprintf(f, "%s", hc_fmt_duration(b1, sizeof(b1), m->end_s));
	if (m->teardown)
		fprintf(f, " (teardown from %s freed %s)",
			hc_fmt_duration(b1, sizeof(b1), m->teardown_s),
			hc_fmt_bytes(b2, sizeof(b2), m->teardown_freed));
	else if (m->exit_s >= 0)
		fprintf(f, " (exit began at %s)", hc_fmt_duration(b1, sizeof(b1), m->exit_s));
	fputs("</td></tr>\n", f);
	row(f, "unfreed at exit");
	fprintf(f,
		"%s in %llu blocks <span class=\"muted\">(what tools that check at exit "
		"see)</span></td></tr>\n",
		hc_fmt_bytes(b1, sizeof(b1), (double)l->heap_live_bytes),
		(unsigned long long)l->heap_live_blocks);
	row(f, "live when the run ends");
	fprintf(f, "%s in %.0f blocks <span class=\"muted\">(before teardown)</span></td></tr>\n",
		hc_fmt_bytes(b1, sizeof(b1), m->live_bytes_end), m->live_blocks_end);
	row(f, "peak heap");
	fprintf(f, "%s</td></tr>\n", hc_fmt_bytes(b1, sizeof(b1), (double)l->heap_peak_bytes));
	row(f, "allocations");
	fprintf(f, "%llu (%s), frees %llu</td></tr>\n", (unsigned long long)l->total_allocs,
		hc_fmt_bytes(b1, sizeof(b1), (double)l->total_bytes_allocated),
		(unsigned long long)l->total_frees);
	row(f, "temporary allocations");
	fprintf(f, "%llu <span class=\"muted\">(freed within 16 &micro;s)</span></td></tr>\n",
		(unsigned long long)m->temporary);
	row(f, "heapcreep's own memory");
	fprintf(f, "%s</td></tr>\n", hc_fmt_bytes(b1, sizeof(b1), (double)l->shim_bytes));
	if (l->have_cpu) {
		char cpu[128];
		row(f, "heapcreep's collector thread");
		fprintf(f, "%s</td></tr>\n",
			hc_fmt_cpu_share(cpu, sizeof(cpu), l->collector_cpu_ns, l->process_cpu_ns));
	}
	if (s->have_header && s->header.sample_bytes) {
		row(f, "sampling");
		fprintf(f, "one sample per %s on average: figures are estimates</td></tr>\n",
			hc_fmt_bytes(b1, sizeof(b1), (double)s->header.sample_bytes));
	}
	row(f, "lost events");
	fprintf(f, "%llu%s</td></tr>\n", (unsigned long long)l->lost_events,
		l->lost_events ? " <span class=\"warn-t\">(figures are lower bounds)</span>" : "");
	char py[512];
	if (hc_analysis_python(a, py, sizeof(py))) {
		row(f, "Python");
		esc(f, py);
		fputs("</td></tr>\n", f);
	}
	if (l->unknown_frees) {
		row(f, "unknown frees");
		fprintf(f,
			"%llu <span class=\"muted\">(of blocks allocated before tracing)</span>"
			"</td></tr>\n",
			(unsigned long long)l->unknown_frees);
	}
	fputs("</table>\n", f);
	if (s->nnotes) {
		fputs("<h3>Notes in the trace</h3>\n<ul class=\"notes\">\n", f);
		for (size_t i = 0; i < s->nnotes; i++) {
			fprintf(f, "<li><span class=\"muted\">%s</span> ",
				hc_fmt_duration(b1, sizeof(b1), (double)s->notes[i].ts / 1e9));
			hc_put_html_str(f, s->notes[i].message, s->notes[i].len);
			fputs("</li>\n", f);
		}
		fputs("</ul>\n", f);
	}
	fputs("</section>\n", f);
}

static void others_section(FILE *f, struct hc_analysis *a)
{
	const struct hc_model *m = &a->model;
	const struct hc_detect *d = &a->det;
	if (!d->nothers)
		return;
	char b1[32];
	fputs(d->too_short ? "<section id=\"others\">\n<h2>Largest sites (the run is too short to "
			     "judge their growth)</h2>\n"
			   : "<section id=\"others\">\n<h2>Largest sites that do not keep growing</h2>\n",
	      f);
	fputs("<div class=\"scroll\"><table class=\"sites\">\n<thead><tr><th>live at end</th>"
	      "<th>peak</th><th>allocations</th><th>site</th></tr></thead>\n<tbody>\n",
	      f);
	for (size_t i = 0; i < d->nothers && i < OTHERS_SHOWN; i++) {
		const struct hc_node *x = &m->nodes[d->others[i]];
		fprintf(f, "<tr><td class=\"num\">%s</td>",
			hc_fmt_bytes(b1, sizeof(b1), x->live_end));
		fprintf(f, "<td class=\"num\">%s</td>", hc_fmt_bytes(b1, sizeof(b1), x->peak));
		fprintf(f, "<td class=\"num\">%llu</td><td><details><summary>",
			(unsigned long long)x->allocs);
		put_title(f, a, x);
		fputs("</summary>\n", f);
		put_stack(f, a, x, FRAMES_MAX);
		fputs("</details></td></tr>\n", f);
	}
	fputs("</tbody></table></div>\n</section>\n", f);
}

static void settings_footer(FILE *f, struct hc_analysis *a)
{
	char b1[32], b2[32], b3[32];
	fprintf(f,
		"<footer>\n<p>A site is reported when it would retain at least %s over %s at the "
		"lower bound of its growth; warm-up: the first %s; false discovery rate %.0f%%. "
		"How the verdict is reached: docs/detection.md in heapcreep.</p>\n",
		hc_fmt_bytes(b1, sizeof(b1), a->opts.budget),
		hc_fmt_duration(b2, sizeof(b2), a->opts.horizon_s),
		hc_fmt_duration(b3, sizeof(b3), a->det.warmup_s), 100 * a->opts.fdr);
	fputs("<p>Made by heapcreep report -f html. This file is self-contained: it loads "
	      "nothing from the network.</p>\n</footer>\n",
	      f);
}

static void header_block(FILE *f, struct hc_analysis *a)
{
	const struct hc_summary *s = &a->model.sum;
	char b1[32];
	fputs("<header class=\"top\">\n<div class=\"brand\">heapcreep report</div>\n<dl "
	      "class=\"meta\">",
	      f);
	if (s->have_header) {
		struct hc_args args;
		struct hc_str arg;
		hc_args_init(&args, s->header.cmdline);
		fputs("<div class=\"cmd\"><dt>command</dt><dd><code>", f);
		const char *sep = "";
		for (; hc_args_next(&args, &arg); sep = " ") {
			fputs(sep, f);
			hc_put_html_str(f, arg.p, arg.len);
		}
		if (!*sep)
			hc_put_html_str(f, s->header.exe.p, s->header.exe.len);
		fputs("</code></dd></div>", f);
		fprintf(f, "<div><dt>pid</dt><dd>%llu</dd></div>",
			(unsigned long long)s->header.pid);
		if (s->header.start_realtime_ns) {
			time_t t = (time_t)(s->header.start_realtime_ns / 1000000000ull);
			struct tm tm;
			char when[64];
			if (gmtime_r(&t, &tm) &&
			    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm))
				fprintf(f, "<div><dt>started</dt><dd>%s</dd></div>", when);
		}
	}
	fprintf(f, "<div><dt>ran</dt><dd>%s</dd></div>",
		hc_fmt_duration(b1, sizeof(b1), (double)s->last_ts / 1e9));
	fputs("<div><dt>trace</dt><dd><code>", f);
	esc(f, a->path);
	fputs("</code></dd></div></dl>\n</header>\n", f);
}

/* --- the page ------------------------------------------------------------ */

static const char css[] =
	":root{--fg:#1c2330;--muted:#5e6778;--line:#dde2ea;--panel:#f6f8fb;--leak:#c0392b;"
	"--warn:#b7791f;--pass:#2f855a;--heap:#2b6cb0;--rss:#805ad5;--aged:#d9480f;--live:#2b6cb0;"
	"--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,\"DejaVu Sans Mono\",\"Liberation "
	"Mono\","
	"monospace}\n"
	"*{box-sizing:border-box}\n"
	"html{-webkit-text-size-adjust:100%}\n"
	"body{margin:0;color:var(--fg);background:#fff;font:15px/1.55 system-ui,-apple-system,"
	"\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,\"Liberation Sans\",sans-serif}\n"
	"main{max-width:1040px;margin:0 auto;padding:20px 24px 40px}\n"
	"code{font-family:var(--mono);font-size:.9em}\n"
	"header.top{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 24px;"
	"padding-bottom:12px;border-bottom:1px solid var(--line)}\n"
	".brand{font-weight:700;letter-spacing:.02em}\n"
	".meta{display:flex;flex-wrap:wrap;gap:2px 18px;margin:0;color:var(--muted);font-size:13px;"
	"min-width:0}\n"
	".meta div{display:flex;gap:6px;min-width:0}.meta dt{font-weight:600}.meta dd{margin:0;"
	"overflow-wrap:anywhere}\n"
	".meta .cmd{flex-basis:100%}\n"
	"h2{font-size:20px;margin:40px 0 10px;padding-bottom:6px;border-bottom:1px solid "
	"var(--line)}\n"
	"h3{font-size:16px;margin:18px 0 6px}h4{font-size:13px;margin:14px 0 4px;"
	"color:var(--muted);"
	"text-transform:uppercase;letter-spacing:.04em}\n"
	".muted,.note,.intro{color:var(--muted)}.note,.intro{font-size:14px}\n"
	".verdict{margin-top:20px;padding:18px 22px;border-radius:8px;border-left:6px solid;"
	"background:var(--panel)}\n"
	".verdict.leak{border-color:var(--leak);background:#fdf3f2}"
	".verdict.warn{border-color:var(--warn);background:#fdf8ee}"
	".verdict.pass{border-color:var(--pass);background:#f1f8f4}\n"
	".sentence{font-size:22px;line-height:1.4;font-weight:600;margin:8px 0 6px}\n"
	".sub{margin:0 0 4px;color:#3c4555}\n"
	".badge{display:inline-block;font-size:11px;font-weight:700;letter-spacing:.06em;"
	"padding:2px 8px;border-radius:10px;color:#fff;background:var(--muted);"
	"vertical-align:2px}\n"
	".badge.leak{background:var(--leak)}.badge.warn{background:var(--warn)}"
	".badge.pass{background:var(--pass)}\n"
	".cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(140px,1fr));gap:10px;"
	"margin-top:14px}\n"
	".card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:8px 12px}\n"
	".card .k{font-size:12px;color:var(--muted)}.card .v{font-size:20px;font-weight:650;"
	"white-space:nowrap;"
	"font-variant-numeric:tabular-nums}.card .d{font-size:12px;color:var(--muted)}\n"
	"figure{margin:10px 0 0}.plot{overflow-x:auto}\n"
	"svg.chart{display:block;width:100%;height:auto;min-width:460px}\n"
	"svg.icicle{min-width:0;cursor:pointer;border-radius:4px}\n"
	"svg text{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,Arial,\"Liberation "
	"Sans\","
	"sans-serif;font-size:11px;fill:var(--muted)}\n"
	".grid line{stroke:#e9edf2;stroke-width:1}.axis{stroke:#9aa4b3;fill:none}\n"
	"text.at{font-size:11.5px;fill:#4a5262}\n"
	".warm{fill:#f1f3f6}.wl{font-size:10.5px;fill:#8a93a3}\n"
	"path.s{fill:none;stroke-width:2.2;stroke-linejoin:round;stroke-linecap:round}\n"
	"path.band{stroke-width:.8;stroke-opacity:.45}\n"
	"path.heap{stroke:var(--heap)}path.band.heap{fill:var(--heap);fill-opacity:.14}\n"
	"path.rss{stroke:var(--rss)}\n"
	"path.live{stroke:var(--live)}path.band.live{fill:var(--live);fill-opacity:.12}\n"
	"path.aged{stroke:var(--aged)}\n"
	"path.fit{stroke:#1c2330;stroke-width:1.6;stroke-dasharray:6 4}\n"
	"path.none{stroke:#b8c0cc;stroke-width:1.5;stroke-dasharray:4 4}\n"
	".limit{stroke:var(--leak);stroke-width:1.4;stroke-dasharray:2 3;fill:none}\n"
	".since{stroke:#6b7280;stroke-width:1;stroke-dasharray:3 3;fill:none}\n"
	"text.ll,text.fl,text.sl{font-size:11px;fill:#3c4555}text.fl{font-weight:600}\n"
	"text.empty{font-size:13px}\n"
	".legend{list-style:none;display:flex;flex-wrap:wrap;gap:4px 18px;padding:0;margin:6px 0;"
	"font-size:13px;color:#3c4555}\n"
	".sw{display:inline-block;width:14px;height:4px;border-radius:2px;margin:0 6px 3px 0;"
	"vertical-align:middle}\n"
	".sw.rss{background:var(--rss)}.sw.heap,.sw.live{background:var(--heap)}"
	".sw.aged{background:var(--aged)}.sw.warm{background:#e3e6eb;height:10px}"
	".sw.fit{background:repeating-linear-gradient(90deg,#1c2330 0 5px,transparent 5px 8px)}\n"
	".finding{border:1px solid var(--line);border-radius:8px;padding:4px 18px 14px;"
	"margin:14px 0}\n"
	".finding h3{display:flex;flex-wrap:wrap;align-items:baseline;gap:6px 10px}"
	".rank{color:var(--muted)}.title{font-family:var(--mono);font-size:14px;font-weight:600;"
	"overflow-wrap:anywhere}\n"
	".facts{margin:4px 0;font-variant-numeric:tabular-nums}.why{margin:4px 0 8px;"
	"color:#3c4555;font-size:14px}\n"
	"ol.stack{font-family:var(--mono);font-size:12.5px;line-height:1.5;margin:4px 0;"
	"padding-left:3.2em;overflow-wrap:anywhere}\n"
	"ol.stack li::marker{color:#a0a8b5}.fn{font-weight:600}.fn.unk{color:var(--muted)}"
	".loc{color:var(--muted);margin-left:.6em}\n"
	".tag{font-size:10.5px;background:#eef1f5;border-radius:3px;padding:0 4px;"
	"color:var(--muted)}.tag.py{background:#e6f0fb;color:#2b5f9e}\n"
	"details>summary{cursor:pointer}details.more>summary{font-size:13px;color:var(--muted);"
	"margin-left:1.2em}\n"
	".toggle{display:none;gap:0;margin:8px 0 10px}.js .toggle{display:inline-flex}\n"
	".toggle button{font:inherit;font-size:13px;padding:5px 14px;border:1px solid #c4ccd8;"
	"background:#fff;color:var(--fg);cursor:pointer}\n"
	".toggle button:first-child{border-radius:6px 0 0 6px}.toggle button:last-child{"
	"border-radius:0 6px 6px 0;border-left:0}\n"
	".toggle button[aria-pressed=true]{background:var(--fg);color:#fff;"
	"border-color:var(--fg)}\n"
	".js-only{display:none}.js .js-only{display:inline}.js .vh{display:none}\n"
	"svg.fr text{font-family:var(--mono);font-size:11px;fill:#1c2330;pointer-events:none}\n"
	"svg.fr rect{stroke:#fff;stroke-width:1}svg.fr:hover rect{stroke:#1c2330}\n"
	"details.tree{margin:8px 0;font-size:13px}details.tree ul{list-style:none;margin:0;"
	"padding-left:1.1em}\n"
	"details.tree>ul{padding-left:0}details.tree .v{font-variant-numeric:tabular-nums;"
	"font-weight:600}details.tree .pc{color:var(--muted)}\n"
	".hists{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:14px}\n"
	".hist{border:1px solid var(--line);border-radius:8px;padding:8px 10px;margin:0}\n"
	".hist svg.chart{min-width:0}.ht{font-family:var(--mono);font-size:12px;"
	"overflow-wrap:anywhere;margin-bottom:4px}.ht .badge{font-family:system-ui,sans-serif}\n"
	".hn{font-size:12px;color:var(--muted);margin:2px 0 0}\n"
	"rect.bar{fill:#6c8ebf}rect.bar.live{fill:var(--aged)}\n"
	"table{border-collapse:collapse;font-variant-numeric:tabular-nums}\n"
	"table.kv th{text-align:left;font-weight:600;padding:4px 24px 4px 0;vertical-align:top;"
	"white-space:nowrap}table.kv td{padding:4px 0}\n"
	".scroll{overflow-x:auto}table.sites{width:100%;font-size:13.5px}"
	"table.sites th{text-align:left;border-bottom:1px solid var(--line);padding:6px 10px 6px 0;"
	"color:var(--muted);font-weight:600}\n"
	"table.sites td{border-bottom:1px solid #eef1f5;padding:6px 10px 6px 0;vertical-align:top}"
	"table.sites td.num{white-space:nowrap}table.sites summary{font-family:var(--mono);"
	"font-size:12.5px;overflow-wrap:anywhere}\n"
	".warn-t{color:var(--warn)}.notes{font-size:14px}\n"
	"footer{margin-top:40px;padding-top:10px;border-top:1px solid var(--line);font-size:12.5px;"
	"color:var(--muted)}\n"
	"@media (max-width:640px){main{padding:14px 14px 30px}.sentence{font-size:18px}"
	"svg.chart{min-width:520px}svg.chart text,svg.chart text.at{font-size:14px}"
	".hist svg.chart{min-width:0}.hist svg.chart text{font-size:11px}"
	"h2{font-size:18px}.finding{padding:2px 12px 12px}.card .v{font-size:17px}"
	"table.kv th{white-space:normal}}\n"
	"@media print{body{font-size:10pt}main{max-width:none;padding:0}"
	".toggle,.js-only,details.tree{display:none!important}.js .vh{display:block}"
	".icicle-view[hidden]{display:block!important}"
	"section,figure,.finding,.hist,.card{break-inside:avoid}h2{break-after:avoid}"
	".plot,.scroll{overflow:visible}svg.chart{min-width:0}"
	"*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}\n";

/* Progressive: zoom, the view toggle and label fitting; and the self-check
 * (each chart's size and its series' drawn lengths, in #hc-selfcheck) that
 * the tests read back from a headless browser. */
static const char script[] =
	"(function(){'use strict';\n"
	"var d=document;d.documentElement.className+=' js';\n"
	"var views=d.querySelectorAll('.icicle-view'),cw=0,"
	"btns=d.querySelectorAll('.toggle button');\n"
	"function charw(){if(cw)return cw;var s=d.querySelector('svg.fr text');if(!s)return 6.6;"
	"var t=s.textContent;s.textContent='MMMMMMMMMM';cw=s.getComputedTextLength()/10||6.6;"
	"s.textContent=t;return cw;}\n"
	"function fit(svg){var c=charw(),fr=svg.querySelectorAll('svg.fr');"
	"for(var i=0;i<fr.length;i++){var e=fr[i],t=e.querySelector('text');if(!t)continue;"
	"if(t.dataset.f===undefined)t.dataset.f=t.textContent;var full=t.dataset.f;"
	"var n=Math.floor((e.getBoundingClientRect().width-8)/c);"
	"t.textContent=n<3?'':full.length<=n?full:full.slice(0,n-1)+'\\u2026';}}\n"
	"function fitAll(){var s=d.querySelectorAll('svg.icicle');"
	"for(var i=0;i<s.length;i++)fit(s[i]);}\n"
	"function show(v){for(var i=0;i<views.length;i++)views[i].hidden=views[i].dataset.view!==v;"
	"for(i=0;i<btns.length;i++)btns[i].setAttribute('aria-pressed',btns[i].dataset.view===v);"
	"fitAll();}\n"
	"function zoom(svg,a,w,z){var fr=svg.querySelectorAll('svg.fr'),e=1e-7;"
	"for(var i=0;i<fr.length;i++){var f=fr[i],fa=+f.dataset.a,fw=+f.dataset.w,fd=+f.dataset.d,"
	"vis,x,wd;if(fd<z){vis=fa<=a+e&&fa+fw>=a+w-e;x=0;wd=1;}"
	"else{vis=fa>=a-e&&fa+fw<=a+w+e;x=(fa-a)/w;wd=fw/w;}"
	"f.style.display=vis?'':'none';if(vis){f.setAttribute('x',(100*x)+'%');"
	"f.setAttribute('width',(100*wd)+'%');}}fit(svg);}\n"
	"for(var i=0;i<btns.length;i++)btns[i].addEventListener('click',function(){"
	"show(this.dataset.view);});\n"
	"var ic=d.querySelectorAll('svg.icicle');for(i=0;i<ic.length;i++)"
	"ic[i].addEventListener('click',function(ev){var f=ev.target.closest('svg.fr');"
	"if(!f)return;"
	"var z=+f.dataset.d;if(z===0)zoom(this,0,1,0);"
	"else zoom(this,+f.dataset.a,+f.dataset.w,z);});\n"
	"var rq=0;window.addEventListener('resize',function(){if(!rq)rq=requestAnimationFrame("
	"function(){rq=0;fitAll();});});\n"
	"window.addEventListener('beforeprint',function(){"
	"var m=d.querySelectorAll('details.more');for(var k=0;k<m.length;k++)m[k].open=true;"
	"for(k=0;k<views.length;k++)views[k].hidden=false;});\n"
	"function check(){var out=[],ok=true,hid=[],k;"
	"for(k=0;k<views.length;k++)if(views[k].hidden){views[k].hidden=false;"
	"hid.push(views[k]);}\n"
	"var cs=d.querySelectorAll('svg.chart');for(k=0;k<cs.length;k++){var c=cs[k],"
	"r=c.getBoundingClientRect(),s=c.querySelectorAll('.s'),dr=0,len=0;"
	"for(var j=0;j<s.length;j++){var b=s[j].getBoundingClientRect(),"
	"l=s[j].getTotalLength?s[j].getTotalLength():0;len+=l;"
	"if((b.width>0||b.height>0)&&(l>0||b.width*b.height>0))dr++;}"
	"var fr=c.querySelectorAll('svg.fr'),fv=0;for(j=0;j<fr.length;j++){"
	"var q=fr[j].getBoundingClientRect();if(q.width>0&&q.height>0)fv++;}"
	"var good=r.width>0&&r.height>0&&s.length>0&&dr===s.length;if(!good)ok=false;"
	"out.push('chart '+c.id+' '+Math.round(r.width)+'x'+Math.round(r.height)+' series '+dr+'/'"
	"+s.length+' length '+Math.round(len)+(fr.length?' frames '+fv+'/'+fr.length:'')"
	"+(good?' ok':' BAD'));}\n"
	"for(k=0;k<hid.length;k++)hid[k].hidden=true;"
	"out.push('selfcheck '+(ok?'ok':'FAIL')+' charts '+cs.length);"
	"var o=d.getElementById('hc-selfcheck');if(o)o.textContent=out.join('\\n');}\n"
	"show('retained');check();\n"
	"})();\n";

void hc_report_html(FILE *f, struct hc_analysis *a)
{
	const struct hc_summary *s = &a->model.sum;
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">\n"
	      "<meta name=\"generator\" content=\"heapcreep\">\n<title>",
	      f);
	fprintf(f, "heapcreep: %s", verdict_word(a->det.verdict));
	if (s->have_header && s->header.exe.len) {
		fputs(" \xe2\x80\x94 ", f); /* — */
		const char *p = s->header.exe.p, *e = p + s->header.exe.len, *b = p;
		for (const char *q = p; q < e; q++)
			if (*q == '/' && q + 1 < e)
				b = q + 1;
		hc_put_html_str(f, b, (size_t)(e - b));
	}
	fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n", css);
	header_block(f, a);
	verdict_section(f, a);
	memory_section(f, a);
	findings_section(f, a);
	icicle_section(f, a);
	lifetimes_section(f, a);
	totals_section(f, a);
	others_section(f, a);
	settings_footer(f, a);
	fprintf(f,
		"</main>\n<pre id=\"hc-selfcheck\" hidden></pre>\n<script>\n%s</script>\n"
		"</body>\n</html>\n",
		script);
}
