/* `heapcreep report -f json`: one JSON object for CI and scripts. Its field
 * names are a public surface (DESIGN.md §6): add fields, never rename or
 * drop one. It must always print valid JSON: every string from the trace
 * goes through hc_put_json_str, a value we do not have is null.
 */
#include <inttypes.h>
#include <string.h>

#include "escape.h"
#include "report.h"

static void key(FILE *f, int indent, const char *name)
{
	fprintf(f, "%*s\"%s\": ", indent, "", name);
}

static void u64_or_null(FILE *f, int have, uint64_t v)
{
	if (have)
		fprintf(f, "%" PRIu64, v);
	else
		fputs("null", f);
}

/* Seconds from nanoseconds, exactly (no rounding through a double). */
static void seconds(FILE *f, uint64_t ns)
{
	fprintf(f, "%" PRIu64 ".%09" PRIu64, ns / 1000000000u, ns % 1000000000u);
}

static void cstr(FILE *f, const char *s)
{
	hc_put_json_str(f, s, strlen(s));
}

static void trace_object(FILE *f, const struct hc_summary *s, const char *path)
{
	const struct hc_header_rec *h = &s->header;
	int hh = s->have_header;
	fputs("  \"trace\": {\n", f);
	key(f, 4, "path");
	cstr(f, path);
	fputs(",\n", f);
	key(f, 4, "pid");
	u64_or_null(f, hh, h->pid);
	fputs(",\n", f);
	key(f, 4, "ppid");
	u64_or_null(f, hh, h->ppid);
	fputs(",\n", f);
	key(f, 4, "exe");
	if (hh)
		hc_put_json_str(f, h->exe.p, h->exe.len);
	else
		fputs("null", f);
	fputs(",\n", f);
	key(f, 4, "cmdline");
	putc('[', f);
	if (hh) {
		struct hc_args args;
		struct hc_str arg;
		hc_args_init(&args, h->cmdline);
		for (const char *sep = ""; hc_args_next(&args, &arg); sep = ", ") {
			fputs(sep, f);
			hc_put_json_str(f, arg.p, arg.len);
		}
	}
	fputs("],\n", f);
	key(f, 4, "complete");
	fputs(s->complete ? "true" : "false", f);
	fputs(",\n", f);
	key(f, 4, "end_reason");
	if (s->end_seen) {
		const char *name = hc_end_reason_name(s->end_reason);
		cstr(f, name ? name : "unknown");
	} else {
		fputs("null", f);
	}
	fputs(",\n", f);
	key(f, 4, "duration_s");
	seconds(f, s->have_ts ? s->last_ts : 0);
	fputs(",\n", f);
	key(f, 4, "lost_events");
	fprintf(f, "%" PRIu64 ",\n", s->last.lost_events);
	key(f, 4, "unknown_frees");
	fprintf(f, "%" PRIu64 ",\n", s->last.unknown_frees);
	key(f, 4, "sample_bytes");
	u64_or_null(f, hh, h->sample_bytes);
	fputs(",\n", f);
	key(f, 4, "exit_began_s");
	if (s->exit_seen)
		seconds(f, s->exit_ts);
	else
		fputs("null", f);
	fputs(",\n", f);
	int stopped = s->status != HC_READ_COMPLETE;
	key(f, 4, "stopped_at_offset");
	u64_or_null(f, stopped, s->stop_offset);
	fputs(",\n", f);
	key(f, 4, "stop_reason");
	if (stopped)
		cstr(f, s->reason);
	else
		fputs("null", f);
	fputs(",\n", f);
	key(f, 4, "notes");
	putc('[', f);
	for (size_t i = 0; i < s->nnotes; i++) {
		const struct hc_summary_note *n = &s->notes[i];
		const char *level = hc_note_level_name(n->level);
		fprintf(f, "%s\n      {\"time_s\": ", i ? "," : "");
		seconds(f, n->ts);
		fputs(", \"level\": ", f);
		cstr(f, level ? level : "unknown");
		fputs(", \"message\": ", f);
		hc_put_json_str(f, n->message, n->len);
		putc('}', f);
	}
	fputs(s->nnotes ? "\n    ],\n" : "],\n", f);
	key(f, 4, "notes_dropped");
	fprintf(f, "%zu\n", s->notes_dropped);
	fputs("  },\n", f);
}

static void totals_object(FILE *f, const struct hc_summary *s)
{
	const struct hc_snapshot_rec *l = &s->last;
	fputs("  \"totals\": {\n", f);
	key(f, 4, "allocations");
	fprintf(f, "%" PRIu64 ",\n", l->total_allocs);
	key(f, 4, "frees");
	fprintf(f, "%" PRIu64 ",\n", l->total_frees);
	key(f, 4, "bytes_allocated");
	fprintf(f, "%" PRIu64 ",\n", l->total_bytes_allocated);
	key(f, 4, "peak_live_bytes");
	fprintf(f, "%" PRIu64 ",\n", l->heap_peak_bytes);
	key(f, 4, "unfreed_at_end_bytes");
	fprintf(f, "%" PRIu64 ",\n", l->heap_live_bytes);
	key(f, 4, "unfreed_at_end_blocks");
	fprintf(f, "%" PRIu64 "\n", l->heap_live_blocks);
	fputs("  }\n", f);
}

void hc_report_json(FILE *f, const struct hc_summary *s, const char *path)
{
	fputs("{\n  \"heapcreep_report\": 1,\n", f);
	trace_object(f, s, path);
	totals_object(f, s);
	fputs("}\n", f);
}
