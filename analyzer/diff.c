/* `heapcreep diff [-f text|json] BASE NEW`: how the growth of each allocation
 * site changed between two runs (the last green soak and this one), and the
 * matching of sites by symbols that `gate --baseline` shares (diff.h). Both
 * traces are analysed as `report` does (memory bounded by their sites, not
 * their length); a key is hashed, never kept as text. It never writes to a
 * trace, and never matches by address: ASLR would make every site new.
 */
#include "diff.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "escape.h"
#include "format.h"
#include "hash.h"
#include "json.h"
#include "report.h"

static const char usage_line[] =
	"usage: " HC_PROG " diff [-f text|json] " HC_ANALYSIS_USAGE " BASE.hct NEW.hct";

/* --- keys ------------------------------------------------------------------ */

/* FNV-1a, 64 bits, over a field and its terminating NUL (so "ab","c" and
 * "a","bc" differ). */
static uint64_t fnv(uint64_t h, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	do {
		h ^= *p;
		h *= 0x100000001b3ull;
	} while (*p++);
	return h;
}

static uint64_t fnv_u64(uint64_t h, uint64_t v)
{
	char buf[24];
	snprintf(buf, sizeof(buf), "%llx", (unsigned long long)v);
	return fnv(h, buf);
}

static const char *base_name(const char *path)
{
	const char *s = path ? strrchr(path, '/') : NULL;
	return s ? s + 1 : path;
}

/* The keys of one frame address: exact (function, file name, line of each
 * inlined level; module name and offset without symbols) and loose
 * (function names; module name). Chained onto the parent's keys. */
static void frame_keys(struct hc_analysis *a, const struct hc_node *x, uint64_t *exact,
		       uint64_t *loose)
{
	const struct hc_site *s = &a->model.sites[x->site];
	if (!s->nframes) { /* the node of an empty stack */
		*exact = fnv(*exact, "[no stack]");
		*loose = fnv(*loose, "[no stack]");
		return;
	}
	struct hc_sym_frame sf[HC_SYM_MAX_FRAMES];
	struct hc_sym_where w = {0};
	int k = a->sym ? hc_symbols_resolve(a->sym, x->frame, sf, HC_SYM_MAX_FRAMES, &w) : 0;
	if (k <= 0) {
		*exact = fnv_u64(fnv(fnv(*exact, "?"), base_name(w.module)), w.offset);
		*loose = fnv(fnv(*loose, "?"), base_name(w.module));
		return;
	}
	for (int j = 0; j < k; j++) {
		*exact = fnv_u64(fnv(fnv(*exact, sf[j].function), base_name(sf[j].file)), sf[j].line);
		*loose = fnv(*loose, sf[j].function);
	}
}

/* --- one run's sites by key ------------------------------------------------ */

#define AMBIGUOUS UINT32_MAX

struct group {
	uint64_t exact, loose;
	uint32_t depth;
	struct hc_diff_side side;
	uint32_t site;        /* index in the diff's sites + 1, 0: none */
	int compared;         /* a whole stack or a finding: a site of the diff */
};

/* A key to a group: open addressing, at most half full. */
struct table {
	uint64_t *key;
	uint32_t *group;      /* group index + 1; 0: empty; AMBIGUOUS: several */
	size_t cap;
};

struct run {
	struct group *groups;
	size_t ngroups;
	uint32_t *group_of;   /* per node */
	struct table exact, loose;
};

static int table_init(struct table *t, size_t n)
{
	for (t->cap = 16; t->cap < 2 * n; t->cap *= 2)
		;
	t->key = calloc(t->cap, sizeof(*t->key));
	t->group = calloc(t->cap, sizeof(*t->group));
	return t->key && t->group ? 0 : -ENOMEM;
}

static void table_release(struct table *t)
{
	free(t->key);
	free(t->group);
}

/* The slot holding key, or the empty slot where it would go. */
static size_t table_find(const struct table *t, uint64_t key)
{
	size_t j = hc_mix64(key) & (t->cap - 1);
	while (t->group[j] && t->key[j] != key)
		j = (j + 1) & (t->cap - 1);
	return j;
}

static void side_add(struct hc_diff_side *s, const struct hc_model *m, uint32_t i)
{
	const struct hc_node *x = &m->nodes[i];
	const struct hc_node *shown = s->node ? &m->nodes[s->node] : NULL;
	if (!shown || x->verdict > shown->verdict ||
	    (x->verdict == shown->verdict && x->slope > shown->slope))
		s->node = i;
	s->nodes++;
	if (x->verdict > s->verdict)
		s->verdict = x->verdict;
	s->slope += x->slope;
	s->slope_lo += x->slope_lo;
	s->slope_hi += x->slope_hi;
	s->live_end += x->live_end;
}

static void run_release(struct run *r)
{
	free(r->groups);
	free(r->group_of);
	table_release(&r->exact);
	table_release(&r->loose);
	memset(r, 0, sizeof(*r));
}

/* Groups every node of the run by its key. */
static int run_build(struct run *r, struct hc_analysis *a)
{
	const struct hc_model *m = &a->model;
	size_t n = m->nnodes ? m->nnodes : 1;
	memset(r, 0, sizeof(*r));
	r->groups = calloc(n, sizeof(*r->groups));
	r->group_of = calloc(n, sizeof(*r->group_of));
	uint64_t *exact = calloc(n, sizeof(*exact)), *loose = calloc(n, sizeof(*loose));
	int t1 = table_init(&r->exact, n), t2 = table_init(&r->loose, n);
	if (!r->groups || !r->group_of || !exact || !loose || t1 || t2) {
		free(exact);
		free(loose);
		run_release(r);
		return -ENOMEM;
	}
	/* A parent always has a smaller index than its children (model.c). */
	for (size_t i = 1; i < m->nnodes; i++) {
		const struct hc_node *x = &m->nodes[i];
		exact[i] = x->parent ? exact[x->parent] : 0xcbf29ce484222325ull;
		loose[i] = x->parent ? loose[x->parent] : 0xcbf29ce484222325ull;
		frame_keys(a, x, &exact[i], &loose[i]);
		size_t e = table_find(&r->exact, exact[i]);
		if (!r->exact.group[e]) {
			struct group *g = &r->groups[r->ngroups++];
			g->exact = exact[i];
			g->loose = loose[i];
			g->depth = x->depth;
			r->exact.key[e] = exact[i];
			r->exact.group[e] = (uint32_t)r->ngroups;
			size_t l = table_find(&r->loose, loose[i]);
			r->loose.key[l] = loose[i];
			r->loose.group[l] = r->loose.group[l] ? AMBIGUOUS : (uint32_t)r->ngroups;
		}
		r->group_of[i] = r->exact.group[e] - 1;
		side_add(&r->groups[r->group_of[i]].side, m, (uint32_t)i);
	}
	free(exact);
	free(loose);
	/* The sites compared: whole stacks and findings. */
	for (size_t i = 0; i < m->nsites; i++)
		if (m->sites[i].tracked && m->sites[i].nchain)
			r->groups[r->group_of[m->sites[i].chain[m->sites[i].nchain - 1]]].compared = 1;
	for (size_t i = 0; i < a->det.nfindings; i++)
		r->groups[r->group_of[a->det.findings[i]]].compared = 1;
	return 0;
}

static struct group *find_exact(struct run *r, uint64_t key)
{
	uint32_t g = r->exact.group[table_find(&r->exact, key)];
	return g ? &r->groups[g - 1] : NULL;
}

/* The one group of the run with this loose key, or NULL (none, or several). */
static struct group *find_loose(struct run *r, uint64_t key)
{
	uint32_t g = r->loose.group[table_find(&r->loose, key)];
	return g && g != AMBIGUOUS ? &r->groups[g - 1] : NULL;
}

/* --- the comparison -------------------------------------------------------- */

const char *hc_change_name(int change)
{
	static const char *const names[HC_CHANGE_COUNT] = {"new", "faster", "same", "slower",
							   "fixed"};
	return change >= 0 && change < HC_CHANGE_COUNT ? names[change] : "?";
}

/* a grows faster than b: beyond both intervals, by more than half of b's
 * growth and by more than min_change. */
static int outgrows(const struct hc_diff_side *a, const struct hc_diff_side *b,
		    double min_change)
{
	double d = a->slope - b->slope;
	return d > min_change && d > 0.5 * fmax(b->slope, 0) && a->slope_lo > b->slope_hi;
}

int hc_diff_classify(const struct hc_diff_site *s, int grows_at, double min_change)
{
	int now_grows = s->now.node && s->now.verdict >= grows_at;
	int base_grows = s->base.node && s->base.verdict >= grows_at;
	int now_seen = s->now.node && s->now.verdict != HC_VERDICT_NONE;
	int base_seen = s->base.node && s->base.verdict != HC_VERDICT_NONE;
	if (now_grows && !base_seen)
		return HC_CHANGE_NEW;
	if (base_grows && !now_seen)
		return HC_CHANGE_FIXED;
	if (!now_grows && !base_grows)
		return HC_CHANGE_SAME;
	if (outgrows(&s->now, &s->base, min_change))
		return HC_CHANGE_FASTER;
	if (outgrows(&s->base, &s->now, min_change))
		return HC_CHANGE_SLOWER;
	return HC_CHANGE_SAME;
}

static int worst_first(const void *pa, const void *pb)
{
	const struct hc_diff_site *a = pa, *b = pb;
	if (a->growth_change != b->growth_change)
		return a->growth_change < b->growth_change ? 1 : -1;
	if (a->live_change != b->live_change)
		return a->live_change < b->live_change ? 1 : -1;
	return (a->change > b->change) - (a->change < b->change);
}

/* A site for group g of run r (0 base, 1 new), with the other run's group
 * of the same exact key when there is one. */
static int add_site(struct hc_diff *d, size_t *cap, struct run *runs, int r, struct group *g)
{
	if (d->nsites == *cap) {
		size_t ncap = *cap ? 2 * *cap : 64;
		void *p = realloc(d->sites, ncap * sizeof(*d->sites));
		if (!p)
			return -ENOMEM;
		d->sites = p;
		*cap = ncap;
	}
	struct hc_diff_site *s = &d->sites[d->nsites++];
	memset(s, 0, sizeof(*s));
	s->depth = g->depth;
	g->site = (uint32_t)d->nsites;
	struct group *other = find_exact(&runs[!r], g->exact);
	if (other) {
		other->site = g->site;
		s->match = HC_MATCH_SYMBOLS;
	}
	*(r ? &s->now : &s->base) = g->side;
	if (other)
		*(r ? &s->base : &s->now) = other->side;
	return 0;
}

int hc_diff_build(struct hc_diff *d, struct hc_analysis *base, struct hc_analysis *now)
{
	memset(d, 0, sizeof(*d));
	d->min_change = now->opts.budget / now->opts.horizon_s;
	struct run runs[2];
	int rc = run_build(&runs[0], base);
	if (rc)
		return rc;
	if ((rc = run_build(&runs[1], now))) {
		run_release(&runs[0]);
		return rc;
	}
	/* The new run's sites first, each with its base by the whole key;
	 * then the base's sites the new run has no site for. */
	size_t cap = 0;
	for (int r = 1; r >= 0; r--)
		for (size_t i = 0; i < runs[r].ngroups; i++)
			if (runs[r].groups[i].compared && !runs[r].groups[i].site &&
			    (rc = add_site(d, &cap, runs, r, &runs[r].groups[i])))
				goto out;
	/* Sites in one run only: matched by function names when that key is
	 * one site's in each run and the other run's site has no match yet. */
	for (size_t i = 0; i < runs[1].ngroups; i++) {
		struct group *g = &runs[1].groups[i];
		if (!g->site || d->sites[g->site - 1].match)
			continue;
		struct group *o = find_loose(&runs[0], g->loose);
		if (!o || find_loose(&runs[1], g->loose) != g)
			continue;
		if (o->site) { /* a site of the base alone: merged into g's */
			struct hc_diff_site *t = &d->sites[o->site - 1];
			if (t->match || t->now.node)
				continue;
			t->depth = 0; /* dropped below */
		}
		struct hc_diff_site *s = &d->sites[g->site - 1];
		s->base = o->side;
		s->match = HC_MATCH_FUNCTIONS;
		o->site = g->site;
	}
	size_t kept = 0;
	for (size_t i = 0; i < d->nsites; i++) {
		struct hc_diff_site *s = &d->sites[i];
		if (!s->depth)
			continue;
		s->change = hc_diff_classify(s, HC_VERDICT_LEAK, d->min_change);
		s->growth_change = (s->now.node ? s->now.slope : 0) - (s->base.node ? s->base.slope : 0);
		s->live_change = (s->now.node ? s->now.live_end : 0) - (s->base.node ? s->base.live_end : 0);
		d->count[s->change]++;
		d->sites[kept++] = *s;
	}
	d->nsites = kept;
	qsort(d->sites, d->nsites, sizeof(*d->sites), worst_first);
	/* Nodes of the new run to their (sorted) sites, through the group of
	 * each site's shown node. */
	d->nnow = now->model.nnodes;
	d->site_of_now = calloc(d->nnow ? d->nnow : 1, sizeof(*d->site_of_now));
	if (!d->site_of_now) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < runs[1].ngroups; i++)
		runs[1].groups[i].site = 0;
	for (size_t i = 0; i < d->nsites; i++)
		if (d->sites[i].now.node)
			runs[1].groups[runs[1].group_of[d->sites[i].now.node]].site = (uint32_t)i + 1;
	for (size_t i = 1; i < d->nnow; i++)
		d->site_of_now[i] = runs[1].groups[runs[1].group_of[i]].site;
out:
	run_release(&runs[0]);
	run_release(&runs[1]);
	if (rc)
		hc_diff_release(d);
	return rc;
}

void hc_diff_release(struct hc_diff *d)
{
	free(d->sites);
	free(d->site_of_now);
	memset(d, 0, sizeof(*d));
}

const struct hc_diff_site *hc_diff_find(const struct hc_diff *d, uint32_t now_node)
{
	if (now_node >= d->nnow || !d->site_of_now[now_node])
		return NULL;
	return &d->sites[d->site_of_now[now_node] - 1];
}

/* The analysis and node a site is shown from: the new run's when it has it. */
static struct hc_analysis *shown(const struct hc_diff_site *s, struct hc_analysis *base,
				 struct hc_analysis *now, uint32_t *node)
{
	*node = s->now.node ? s->now.node : s->base.node;
	return s->now.node ? now : base;
}

/* --- text ------------------------------------------------------------------ */

#define COLUMNS 80

/* A line from strings of the trace, for a terminal: a control character or
 * a byte that is not valid UTF-8 becomes '?', and the line is cut at
 * COLUMNS with "...". */
static size_t seq_len(const char *s, size_t n, int *bad)
{
	size_t k = hc_utf8_seq((const uint8_t *)s, n);
	*bad = k == 0 || (k == 1 && ((unsigned char)*s < 0x20 || *s == 0x7f));
	return k ? k : 1;
}

static void put_line(FILE *f, const char *s)
{
	size_t n = strlen(s), cols = 0, max = COLUMNS;
	int bad;
	for (size_t i = 0; i < n; cols++)
		i += seq_len(s + i, n - i, &bad);
	if (cols > COLUMNS)
		max = COLUMNS - 3;
	cols = 0;
	for (size_t i = 0; i < n && cols < max; cols++) {
		size_t k = seq_len(s + i, n - i, &bad);
		if (bad)
			putc('?', f);
		else
			fwrite(s + i, 1, k, f);
		i += k;
	}
	fputs(max < COLUMNS ? "...\n" : "\n", f);
}


struct where {
	char at[512], from[512];
	size_t nframes;
	const char *last;     /* the function named last: an inlined frame and
				 the function it was inlined into are one name */
};

static void where_frame(void *ctx, const struct hc_frame_out *f)
{
	struct where *w = ctx;
	const char *prev = w->last;
	w->last = f->function;
	if (w->nframes++ == 0) {
		if (f->function && f->file)
			snprintf(w->at, sizeof(w->at), "at %s (%s:%u)", f->function,
				 hc_short_path(f->file), f->line);
		else if (f->function)
			snprintf(w->at, sizeof(w->at), "at %s (in %s)", f->function,
				 f->module ? base_name(f->module) : "?");
		else if (f->module)
			snprintf(w->at, sizeof(w->at), "at [unknown] in %s+0x%llx",
				 base_name(f->module), (unsigned long long)f->offset);
		else
			snprintf(w->at, sizeof(w->at), "at [unknown] 0x%llx",
				 (unsigned long long)f->address);
		return;
	}
	size_t len = strlen(w->from);
	if (len + 1 >= sizeof(w->from) || (f->function && prev && !strcmp(f->function, prev)))
		return;
	snprintf(w->from + len, sizeof(w->from) - len, "%s%s", len ? " < " : "from ",
		 f->function ? f->function : "[unknown]");
}

static const char *verdict_short(const struct hc_diff_side *s)
{
	if (!s->node)
		return "";
	if (s->verdict == HC_VERDICT_LEAK)
		return "LEAK";
	return s->verdict == HC_VERDICT_INCONCLUSIVE ? "inc." : "-";
}

static char *signed_rate(char *buf, size_t cap, double v)
{
	char r[32];
	snprintf(buf, cap, "%s%s", v >= 0 ? "+" : "", hc_fmt_rate(r, sizeof(r), v));
	return buf;
}

/* change, growth and verdict in the base and now, the difference, live
 * bytes in the base and now: 76 columns. */
#define ROW "%-6s  %11s %-4s  %11s %-4s  %11s  %9s %9s\n"

/* Shown in the text report: a change, or growth in either run. */
static int worth_showing(const struct hc_diff_site *s)
{
	return s->change != HC_CHANGE_SAME || s->base.verdict != HC_VERDICT_NONE ||
	       s->now.verdict != HC_VERDICT_NONE;
}

static void diff_text(FILE *f, const struct hc_diff *d, struct hc_analysis *base,
		      struct hc_analysis *now)
{
	char line[1024];
	snprintf(line, sizeof(line), "heapcreep diff: base '%s', new '%s'", base->path, now->path);
	put_line(f, line);
	size_t worse = d->count[HC_CHANGE_NEW] + d->count[HC_CHANGE_FASTER], shown_n = 0;
	for (size_t i = 0; i < d->nsites; i++)
		shown_n += worth_showing(&d->sites[i]);
	if (worse)
		fprintf(f, "WORSE: %zu site%s grow%s more than in the base\n", worse,
			worse == 1 ? "" : "s", worse == 1 ? "s" : "");
	else
		fputs("NOT WORSE: no site grows more than in the base\n", f);
	fprintf(f, "  %zu new, %zu faster, %zu same, %zu slower, %zu fixed", d->count[HC_CHANGE_NEW],
		d->count[HC_CHANGE_FASTER], d->count[HC_CHANGE_SAME], d->count[HC_CHANGE_SLOWER],
		d->count[HC_CHANGE_FIXED]);
	fprintf(f, "\n  %zu of %zu sites grow in neither run%s\n", d->nsites - shown_n, d->nsites,
		d->nsites > shown_n ? " (not shown)" : "");
	if (!shown_n)
		return;
	fprintf(f, "\n" ROW, "change", "growth base", "", "new", "", "difference", "live base", "new");
	for (size_t i = 0; i < d->nsites; i++) {
		const struct hc_diff_site *s = &d->sites[i];
		if (!worth_showing(s))
			continue;
		char g0[32], g1[32], dg[32], l0[32], l1[32];
		if (s->base.node)
			signed_rate(g0, sizeof(g0), s->base.slope);
		else
			snprintf(g0, sizeof(g0), "absent");
		if (s->now.node)
			signed_rate(g1, sizeof(g1), s->now.slope);
		else
			snprintf(g1, sizeof(g1), "absent");
		signed_rate(dg, sizeof(dg), s->growth_change);
		if (s->base.node)
			hc_fmt_bytes(l0, sizeof(l0), s->base.live_end);
		else
			snprintf(l0, sizeof(l0), "-");
		if (s->now.node)
			hc_fmt_bytes(l1, sizeof(l1), s->now.live_end);
		else
			snprintf(l1, sizeof(l1), "-");
		fprintf(f, ROW, hc_change_name(s->change),
			g0, verdict_short(&s->base), g1, verdict_short(&s->now), dg, l0, l1);
		uint32_t node;
		struct hc_analysis *a = shown(s, base, now, &node);
		struct where w = {.at = "at [no stack]"};
		hc_analysis_key_frames(a, &a->model.nodes[node], where_frame, &w);
		snprintf(line, sizeof(line), "        %s", w.at);
		put_line(f, line);
		if (w.from[0]) {
			snprintf(line, sizeof(line), "        %s", w.from);
			put_line(f, line);
		}
		if (s->match == HC_MATCH_FUNCTIONS)
			fputs("        (matched by function names: files or lines differ)\n", f);
	}
}

/* --- JSON ------------------------------------------------------------------ */

static void json_frame(void *ctx, const struct hc_frame_out *f)
{
	hc_report_json_frame(ctx, f, 1);
}

static const char *verdict_json(int v)
{
	return v == HC_VERDICT_LEAK ? "leak" : v == HC_VERDICT_INCONCLUSIVE ? "inconclusive" : "none";
}

static void json_run(struct hc_json *j, const char *key, struct hc_analysis *a)
{
	const struct hc_summary *s = &a->model.sum;
	hc_json_object(j, key);
	hc_json_str(j, "path", a->path);
	hc_json_str(j, "verdict", verdict_json(a->det.verdict));
	if (a->det.reason[0])
		hc_json_str(j, "reason", a->det.reason);
	else
		hc_json_null(j, "reason");
	hc_json_bool(j, "complete", s->complete);
	hc_json_bool(j, "running", a->live.running);
	hc_json_ns_as_s(j, "duration_s", s->have_ts ? s->last_ts : 0);
	hc_json_num(j, "analysis_end_s", a->model.end_s);
	hc_json_u64(j, "findings", a->det.nfindings);
	hc_json_end(j);
}

static void json_side(struct hc_json *j, const char *key, const struct hc_diff_side *s,
		      struct hc_analysis *a)
{
	if (!s->node) {
		hc_json_null(j, key);
		return;
	}
	const struct hc_node *x = &a->model.nodes[s->node];
	hc_json_object(j, key);
	hc_json_str(j, "verdict", verdict_json(s->verdict));
	hc_json_num(j, "growth_bytes_per_s", s->slope);
	hc_json_array_inline(j, "growth_interval_bytes_per_s");
	hc_json_num(j, NULL, s->slope_lo);
	hc_json_num(j, NULL, s->slope_hi);
	hc_json_end(j);
	hc_json_num(j, "live_bytes_end", s->live_end);
	if (x->since_s >= 0 && x->verdict != HC_VERDICT_NONE)
		hc_json_num(j, "since_s", x->since_s);
	else
		hc_json_null(j, "since_s");
	hc_json_u64(j, "nodes", s->nodes);
	if (x->why[0])
		hc_json_str(j, "reason", x->why);
	else
		hc_json_null(j, "reason");
	hc_json_end(j);
}

static void diff_json(FILE *f, const struct hc_diff *d, struct hc_analysis *base,
		      struct hc_analysis *now)
{
	struct hc_json j;
	hc_json_init(&j, f);
	hc_json_object(&j, NULL);
	hc_json_u64(&j, "heapcreep_diff", 1);
	hc_json_bool(&j, "worse", d->count[HC_CHANGE_NEW] + d->count[HC_CHANGE_FASTER] > 0);
	json_run(&j, "base", base);
	json_run(&j, "new", now);
	hc_json_object(&j, "settings");
	hc_json_num(&j, "budget_bytes", now->opts.budget);
	hc_json_num(&j, "horizon_s", now->opts.horizon_s);
	hc_json_num(&j, "min_change_bytes_per_s", d->min_change);
	hc_json_num(&j, "faster_ratio", 1.5);
	hc_json_end(&j);
	hc_json_object_inline(&j, "counts");
	for (int c = 0; c < HC_CHANGE_COUNT; c++)
		hc_json_u64(&j, hc_change_name(c), d->count[c]);
	hc_json_end(&j);
	hc_json_array(&j, "sites");
	for (size_t i = 0; i < d->nsites; i++) {
		const struct hc_diff_site *s = &d->sites[i];
		hc_json_object(&j, NULL);
		hc_json_str(&j, "change", hc_change_name(s->change));
		hc_json_str(&j, "match", s->match == HC_MATCH_SYMBOLS     ? "symbols"
					 : s->match == HC_MATCH_FUNCTIONS ? "functions"
									  : "none");
		hc_json_num(&j, "growth_change_bytes_per_s", s->growth_change);
		hc_json_num(&j, "live_change_bytes", s->live_change);
		hc_json_u64(&j, "depth", s->depth);
		json_side(&j, "base", &s->base, base);
		json_side(&j, "new", &s->now, now);
		uint32_t node;
		struct hc_analysis *a = shown(s, base, now, &node);
		hc_json_array(&j, "frames");
		hc_analysis_key_frames(a, &a->model.nodes[node], json_frame, &j);
		hc_json_end(&j);
		hc_json_end(&j);
	}
	hc_json_end(&j);
	hc_json_end(&j);
	hc_json_finish(&j);
}

/* --- the command ----------------------------------------------------------- */

int hc_diff_open(struct hc_analysis *a, const char *path, const struct hc_detect_opts *o)
{
	int rc = hc_analysis_load(a, path, o);
	if (!a->built)
		return HC_EXIT_USAGE;
	if (hc_report_status(a, rc)) {
		hc_analysis_close(a);
		return HC_EXIT_USAGE;
	}
	if (!a->det.nfindings && a->det.reason[0])
		hc_err("'%s': %s; no site of it counts as growing", path, a->det.reason);
	return 0;
}

int hc_cmd_diff(int argc, char **argv)
{
	const char *format = "text", *paths[2] = {NULL, NULL};
	struct hc_detect_opts opts;
	hc_detect_defaults(&opts);
	int npaths = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int took = hc_analysis_option(&opts, a, v);
		if (took < 0)
			goto usage;
		if (took) {
			i++;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("%s\n", usage_line);
			return 0;
		} else if (!strcmp(a, "-f") || !strcmp(a, "--format")) {
			if (!v) {
				hc_err("diff: option '%s' needs a value", a);
				goto usage;
			}
			format = v;
			i++;
		} else if (a[0] == '-' && a[1]) {
			hc_err("diff: unknown option '%s'", a);
			goto usage;
		} else if (npaths == 2) {
			goto usage;
		} else {
			paths[npaths++] = a;
		}
	}
	if (npaths != 2)
		goto usage;
	int json = !strcmp(format, "json");
	if (!json && strcmp(format, "text")) {
		hc_err("diff: unknown format '%s' (text, json)", format);
		return HC_EXIT_USAGE;
	}
	struct hc_analysis base, now;
	if (hc_diff_open(&base, paths[0], &opts))
		return HC_EXIT_USAGE;
	if (hc_diff_open(&now, paths[1], &opts)) {
		hc_analysis_close(&base);
		return HC_EXIT_USAGE;
	}
	struct hc_diff d;
	int rc = hc_diff_build(&d, &base, &now);
	if (rc) {
		hc_err("diff: %s", strerror(-rc));
	} else {
		if (json)
			diff_json(stdout, &d, &base, &now);
		else
			diff_text(stdout, &d, &base, &now);
		hc_diff_release(&d);
	}
	hc_analysis_close(&now);
	hc_analysis_close(&base);
	return rc ? HC_EXIT_USAGE : 0;
usage:
	fprintf(stderr, "%s\n", usage_line);
	return HC_EXIT_USAGE;
}
