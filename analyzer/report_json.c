/* `heapcreep report -f json`: one JSON object for CI and scripts. Its field
 * names are a public surface (DESIGN.md §6, docs/report-json.md): add
 * fields, never rename or drop one. It is always valid JSON: strings from
 * the trace go through the escaping writer, a value we lack is null.
 */
#include <math.h>
#include <string.h>

#include "json.h"
#include "report.h"

static void trace_object(struct hc_json *j, struct hc_analysis *a)
{
	const struct hc_summary *s = &a->model.sum;
	const struct hc_header_rec *h = &s->header;
	int hh = s->have_header;
	hc_json_object(j, "trace");
	hc_json_str(j, "path", a->path);
	if (hh) {
		hc_json_u64(j, "pid", h->pid);
		hc_json_u64(j, "ppid", h->ppid);
		hc_json_strn(j, "exe", h->exe.p, h->exe.len);
	} else {
		hc_json_null(j, "pid");
		hc_json_null(j, "ppid");
		hc_json_null(j, "exe");
	}
	hc_json_array_inline(j, "cmdline");
	if (hh) {
		struct hc_args args;
		struct hc_str arg;
		hc_args_init(&args, h->cmdline);
		while (hc_args_next(&args, &arg))
			hc_json_strn(j, NULL, arg.p, arg.len);
	}
	hc_json_end(j);
	hc_json_bool(j, "complete", s->complete);
	hc_json_bool(j, "running", a->live.running);
	if (a->live.running)
		hc_json_num(j, "last_snapshot_age_s", a->live.snapshot_age_s);
	else
		hc_json_null(j, "last_snapshot_age_s");
	if (s->end_seen) {
		const char *name = hc_end_reason_name(s->end_reason);
		hc_json_str(j, "end_reason", name ? name : "unknown");
	} else {
		hc_json_null(j, "end_reason");
	}
	char sig[32];
	if (s->end_seen && s->end_reason == HC_END_SIGNAL)
		hc_json_str(j, "end_signal", hc_end_text(s->end_reason, s->end_signal, sig, sizeof(sig)));
	else
		hc_json_null(j, "end_signal");
	hc_json_ns_as_s(j, "duration_s", s->have_ts ? s->last_ts : 0);
	hc_json_u64(j, "lost_events", s->last.lost_events);
	hc_json_u64(j, "unknown_frees", s->last.unknown_frees);
	if (hh && (h->flags & HC_HDR_WINDOW)) {
		/* a window of a dormant process's life: time zero is its start */
		hc_json_object(j, "window");
		hc_json_u64(j, "number", h->window);
		hc_json_num(j, "start_unix_s", (double)h->start_realtime_ns / 1e9);
		if (h->process_start_realtime_ns && h->process_start_realtime_ns <= h->start_realtime_ns)
			hc_json_num(j, "after_process_start_s",
				    (double)(h->start_realtime_ns - h->process_start_realtime_ns) / 1e9);
		else
			hc_json_null(j, "after_process_start_s");
		hc_json_u64(j, "unknown_free_bytes", s->last.unknown_free_bytes);
		hc_json_end(j);
	} else {
		hc_json_null(j, "window");
	}
	if (hh)
		hc_json_u64(j, "sample_bytes", h->sample_bytes);
	else
		hc_json_null(j, "sample_bytes");
	if (s->exit_seen)
		hc_json_ns_as_s(j, "exit_began_s", s->exit_ts);
	else
		hc_json_null(j, "exit_began_s");
	int stopped = s->status != HC_READ_COMPLETE;
	if (stopped) {
		hc_json_u64(j, "stopped_at_offset", s->stop_offset);
		hc_json_str(j, "stop_reason", s->reason);
	} else {
		hc_json_null(j, "stopped_at_offset");
		hc_json_null(j, "stop_reason");
	}
	hc_json_array(j, "notes");
	for (size_t i = 0; i < s->nnotes; i++) {
		const struct hc_summary_note *n = &s->notes[i];
		const char *level = hc_note_level_name(n->level);
		hc_json_object_inline(j, NULL);
		hc_json_ns_as_s(j, "time_s", n->ts);
		hc_json_str(j, "level", level ? level : "unknown");
		hc_json_strn(j, "message", n->message, n->len);
		hc_json_end(j);
	}
	hc_json_end(j);
	hc_json_u64(j, "notes_dropped", s->notes_dropped);
	const struct hc_pycodes *py = &a->model.py;
	if (py->version) {
		char v[32];
		hc_pyversion(v, sizeof(v), py->version);
		hc_json_object_inline(j, "python");
		hc_json_str(j, "version", v);
		hc_json_str(j, "interpreter", py->path);
		hc_json_str(j, "pythonmalloc", py->pymalloc);
		hc_json_bool(j, "every_object_traced", hc_pycodes_every_object(py));
		hc_json_u64(j, "stacks", py->stacks);
		hc_json_u64(j, "fallback_stacks", py->fallbacks);
		hc_json_end(j);
	} else {
		hc_json_null(j, "python");
	}
	hc_json_num(j, "analysis_end_s", a->model.end_s);
	if (a->model.teardown) {
		hc_json_object_inline(j, "teardown");
		hc_json_num(j, "start_s", a->model.teardown_s);
		hc_json_num(j, "freed_bytes", a->model.teardown_freed);
		hc_json_end(j);
	} else {
		hc_json_null(j, "teardown");
	}
	hc_json_end(j);
}

static void totals_object(struct hc_json *j, struct hc_analysis *a)
{
	const struct hc_snapshot_rec *l = &a->model.sum.last;
	hc_json_object(j, "totals");
	hc_json_u64(j, "allocations", l->total_allocs);
	hc_json_u64(j, "frees", l->total_frees);
	hc_json_u64(j, "bytes_allocated", l->total_bytes_allocated);
	hc_json_u64(j, "peak_live_bytes", l->heap_peak_bytes);
	hc_json_u64(j, "unfreed_at_end_bytes", l->heap_live_bytes);
	hc_json_u64(j, "unfreed_at_end_blocks", l->heap_live_blocks);
	hc_json_num(j, "live_bytes_end", a->model.live_bytes_end);
	hc_json_num(j, "live_blocks_end", a->model.live_blocks_end);
	hc_json_u64(j, "temporary_allocations", a->model.temporary);
	hc_json_u64(j, "shim_bytes", l->shim_bytes);
	if (l->have_cpu) {
		hc_json_ns_as_s(j, "collector_cpu_s", l->collector_cpu_ns);
		hc_json_ns_as_s(j, "process_cpu_s", l->process_cpu_ns);
	} else {
		hc_json_null(j, "collector_cpu_s");
		hc_json_null(j, "process_cpu_s");
	}
	hc_json_end(j);
}

static void settings_object(struct hc_json *j, struct hc_analysis *a)
{
	hc_json_object(j, "settings");
	hc_json_num(j, "budget_bytes", a->opts.budget);
	hc_json_num(j, "horizon_s", a->opts.horizon_s);
	if (a->det.limit > 0)
		hc_json_num(j, "limit_bytes", a->det.limit);
	else
		hc_json_null(j, "limit_bytes");
	hc_json_num(j, "warmup_s", a->det.warmup_s);
	hc_json_num(j, "false_discovery_rate", a->opts.fdr);
	hc_json_end(j);
}

void hc_report_json_frame(struct hc_json *j, const struct hc_frame_out *f, int by_offset)
{
	hc_json_object_inline(j, NULL);
	hc_json_str(j, "kind", f->python ? "python" : f->mmap ? "mmap" : "native");
	hc_json_str(j, "function", f->function);
	hc_json_str(j, "file", f->file);
	if (f->line)
		hc_json_u64(j, "line", f->line);
	else
		hc_json_null(j, "line");
	hc_json_str(j, "module", f->module);
	char addr[24];
	snprintf(addr, sizeof(addr), "0x%llx",
		 (unsigned long long)(by_offset ? f->offset : f->address));
	if (f->python || f->mmap) /* a code object and a line; a mark: no address */
		hc_json_null(j, by_offset ? "offset" : "address");
	else if (!by_offset)
		hc_json_str(j, "address", addr);
	else if (f->module)
		hc_json_str(j, "offset", addr);
	else
		hc_json_null(j, "offset");
	hc_json_bool(j, "inlined", f->inlined);
	hc_json_end(j);
}

static void frame_obj(void *ctx, const struct hc_frame_out *f)
{
	hc_report_json_frame(ctx, f, 0);
}

static void series(struct hc_json *j, const char *key, const double *v, size_t n)
{
	hc_json_array_inline(j, key);
	for (size_t i = 0; i < n; i++)
		hc_json_num(j, NULL, v[i]);
	hc_json_end(j);
}

static void site_object(struct hc_json *j, struct hc_analysis *a, const struct hc_node *x)
{
	const struct hc_model *m = &a->model;
	hc_json_object(j, NULL);
	hc_json_str(j, "verdict", x->verdict == HC_VERDICT_LEAK            ? "leak"
				  : x->verdict == HC_VERDICT_INCONCLUSIVE ? "inconclusive"
									  : "none");
	hc_json_num(j, "growth_bytes_per_s", x->slope);
	hc_json_array_inline(j, "growth_interval_bytes_per_s");
	hc_json_num(j, NULL, x->slope_lo);
	hc_json_num(j, NULL, x->slope_hi);
	hc_json_end(j);
	if (x->since_s >= 0)
		hc_json_num(j, "since_s", x->since_s);
	else
		hc_json_null(j, "since_s");
	hc_json_num(j, "live_bytes_end", x->live_end);
	hc_json_num(j, "peak_live_bytes", x->peak);
	hc_json_num(j, "unfreed_at_end_bytes", x->live_final);
	hc_json_u64(j, "allocations", x->allocs);
	hc_json_num(j, "bytes_allocated", x->bytes_allocated);
	hc_json_bool(j, "r1", x->r1);
	hc_json_bool(j, "r2", x->r2);
	hc_json_num(j, "p_value", x->p);
	hc_json_num(j, "retained_bytes_per_s", x->r2_rate);
	hc_json_num(j, "age_horizon_s", x->horizon_s);
	if (x->why[0])
		hc_json_str(j, "reason", x->why);
	else
		hc_json_null(j, "reason");
	hc_json_u64(j, "stacks", x->nsites);
	hc_json_u64(j, "depth", x->depth);
	series(j, "live_bytes_series", x->live_max, m->nwin);
	series(j, "aged_floor_series", x->aged_min, m->nwin);
	hc_json_array(j, "frames");
	hc_analysis_frames(a, x, 64, frame_obj, j);
	hc_json_end(j);
	hc_json_array(j, "inner_frames");
	hc_analysis_inner(a, x, 64, frame_obj, j);
	hc_json_end(j);
	hc_json_end(j);
}

#define OTHER_SITES 20

void hc_report_json(FILE *f, struct hc_analysis *a)
{
	const struct hc_model *m = &a->model;
	const struct hc_detect *d = &a->det;
	struct hc_json j;
	hc_json_init(&j, f);
	hc_json_object(&j, NULL);
	hc_json_u64(&j, "heapcreep_report", 1);
	hc_json_str(&j, "verdict", hc_verdict_name(d->verdict));
	if (d->reason[0])
		hc_json_str(&j, "reason", d->reason);
	else
		hc_json_null(&j, "reason");
	trace_object(&j, a);
	totals_object(&j, a);
	settings_object(&j, a);
	if (d->ttl_known) {
		hc_json_num(&j, "time_to_limit_s", d->ttl_s);
		hc_json_array_inline(&j, "time_to_limit_interval_s");
		hc_json_num(&j, NULL, d->ttl_lo_s);
		hc_json_num(&j, NULL, d->ttl_hi_s);
		hc_json_end(&j);
	} else {
		hc_json_null(&j, "time_to_limit_s");
		hc_json_null(&j, "time_to_limit_interval_s");
	}
	hc_json_object(&j, "windows");
	double t[HC_MAX_WINDOWS], lo[HC_MAX_WINDOWS], hi[HC_MAX_WINDOWS], rss[HC_MAX_WINDOWS];
	double own[HC_MAX_WINDOWS];
	for (size_t i = 0; i < m->nwin; i++) {
		t[i] = m->win[i].t;
		lo[i] = m->win[i].heap_min;
		hi[i] = m->win[i].heap_max;
		rss[i] = m->win[i].rss_max;
		own[i] = m->win[i].own_rss_max;
	}
	series(&j, "time_s", t, m->nwin);
	series(&j, "heap_min_bytes", lo, m->nwin);
	series(&j, "heap_max_bytes", hi, m->nwin);
	series(&j, "rss_max_bytes", rss, m->nwin);
	series(&j, "program_rss_max_bytes", own, m->nwin);
	hc_json_end(&j);
	hc_json_array(&j, "sites");
	for (size_t i = 0; i < d->nfindings; i++)
		site_object(&j, a, &m->nodes[d->findings[i]]);
	for (size_t i = 0; i < d->nothers && i < OTHER_SITES; i++)
		site_object(&j, a, &m->nodes[d->others[i]]);
	hc_json_end(&j);
	hc_json_end(&j);
	hc_json_finish(&j);
}
