/* `heapcreep report` for a terminal: the verdict first, then each growing
 * site (growth rate, since when, live bytes, a sparkline of its live bytes,
 * the symbolized stack), then the run: totals, peak, teardown, unfreed at
 * end, temporary allocations, and the largest sites that do not grow. Fits
 * 80 columns; colour only when asked (a tty without NO_COLOR).
 */
#include <math.h>
#include <string.h>

#include "escape.h"
#include "format.h"
#include "report.h"

#define FRAMES_SHOWN 12
#define OTHERS_SHOWN 5

/* Strings come from the trace (names, paths, arguments): written as they
 * are only when every byte is printable UTF-8, else quoted and escaped, so
 * a trace cannot drive the terminal. */
static void put_text(FILE *f, const char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		size_t k = hc_utf8_seq((const uint8_t *)s + i, n - i);
		if (k == 0 || (k == 1 && ((unsigned char)s[i] < 0x20 || s[i] == 0x7f))) {
			hc_put_quoted(f, s, n);
			return;
		}
		i += k;
	}
	fputs(s, f);
}

/* An argument as typed, quoted only when it needs to be. */
static void put_arg(FILE *f, const char *p, size_t n)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789_-+=./:,@%";
	size_t i = 0;
	while (i < n && p[i] && strchr(safe, p[i]))
		i++;
	if (n > 0 && i == n)
		fwrite(p, 1, n, f);
	else
		hc_put_quoted(f, p, n);
}

/* The shim's warnings and errors (why events were lost, why tracing
 * stopped): the first few, then how many more. Control characters from the
 * trace never reach the terminal. */
static void put_notes(FILE *f, const struct hc_summary *s)
{
	enum { SHOWN = 6 };
	size_t shown = 0, more = s->notes_dropped;
	char b1[32];
	for (size_t i = 0; i < s->nnotes; i++) {
		const struct hc_summary_note *n = &s->notes[i];
		if (n->level < HC_NOTE_WARNING)
			continue;
		if (shown == SHOWN) {
			more++;
			continue;
		}
		fprintf(f, "  %-13s at %s: ", shown ? "" : "shim said",
			hc_fmt_duration(b1, sizeof(b1), (double)n->ts / 1e9));
		hc_put_terminal(f, n->message, n->len);
		putc('\n', f);
		shown++;
	}
	if (more)
		fprintf(f, "  %-13s and %zu more notes (report -f json lists them)\n", "", more);
}

/* Prose wrapped at 78 columns with an indent. */
static void put_wrapped(FILE *f, const char *text, int indent)
{
	int col = indent;
	fprintf(f, "%*s", indent, "");
	for (const char *p = text; *p;) {
		const char *sp = strchr(p, ' ');
		size_t n = sp ? (size_t)(sp - p) : strlen(p);
		if (col > indent && col + 1 + (int)n > 78) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			putc(' ', f);
			col++;
		}
		fwrite(p, 1, n, f);
		col += (int)n;
		p += n;
		while (*p == ' ')
			p++;
	}
	putc('\n', f);
}

struct style {
	const char *bold, *red, *yellow, *green, *dim, *off;
};

static void frame_line(void *ctx, const struct hc_frame_out *f)
{
	FILE *out = ((void **)ctx)[0];
	const struct style *st = ((void **)ctx)[1];
	if (f->function) {
		fputs(f->inlined ? "      (inlined) " : f->inner ? "      (inside) " : "      ", out);
		put_text(out, f->function);
		if (f->file) {
			fprintf(out, "  %s", st->dim);
			put_text(out, hc_short_path(f->file));
			if (f->line)
				fprintf(out, ":%u", f->line);
			fprintf(out, "%s%s", f->python ? "  [py]" : "", st->off);
		} else if (f->module) {
			fprintf(out, "  %sin ", st->dim);
			put_text(out, hc_short_path(f->module));
			fputs(st->off, out);
		}
	} else if (f->module) {
		fputs("      [unknown] in ", out);
		put_text(out, f->module);
		fprintf(out, "+0x%llx", (unsigned long long)f->offset);
	} else {
		fprintf(out, "      [unknown] 0x%llx", (unsigned long long)f->address);
	}
	putc('\n', out);
}

struct inner_names {
	const char *name[64];
	size_t n;
};

static void inner_name(void *ctx, const struct hc_frame_out *f)
{
	struct inner_names *in = ctx;
	if (in->n < 64)
		in->name[in->n++] = f->function ? f->function : "[unknown]";
}

/* The native frames inside the innermost Python frame, folded into one
 * line that starts from the C function the Python line called. */
static void inner_frames(FILE *f, struct hc_analysis *a, const struct hc_node *x,
			 const struct style *st)
{
	struct inner_names in = {.n = 0};
	size_t n = hc_analysis_inner(a, x, 64, inner_name, &in);
	if (!n || !in.n)
		return;
	fprintf(f, "      %s(in C: ", st->dim);
	for (size_t i = in.n, shown = 0; i-- > 0 && shown < 3; shown++) {
		if (shown)
			fputs(" > ", f);
		put_text(f, in.name[i]);
	}
	fprintf(f, "%s; --native shows every frame)%s\n", in.n > 3 ? " > ..." : "", st->off);
}

static void site_block(FILE *f, struct hc_analysis *a, const struct hc_node *x, int rank,
		       const struct style *st)
{
	const struct hc_model *m = &a->model;
	char rate[32], live[32], since[32], spark[HC_MAX_WINDOWS * 3 + 1], peak[32];
	const char *color = x->verdict == HC_VERDICT_LEAK ? st->red : st->yellow;
	hc_fmt_sparkline(spark, sizeof(spark), x->live_max, m->nwin);
	fprintf(f, " %s#%d %s%s%s  +%s", st->bold, rank, color,
		x->verdict == HC_VERDICT_LEAK ? "LEAK" : "INCONCLUSIVE", st->off,
		hc_fmt_rate(rate, sizeof(rate), x->slope));
	if (x->since_s >= 0)
		fprintf(f, " since %s", hc_fmt_duration(since, sizeof(since), x->since_s));
	fprintf(f, ", %s live at %s (peak %s)\n", hc_fmt_bytes(live, sizeof(live), x->live_end),
		hc_fmt_duration(since, sizeof(since), m->end_s),
		hc_fmt_bytes(peak, sizeof(peak), x->peak));
	fprintf(f, "    %s\n", spark);
	fputs(st->dim, f);
	put_wrapped(f, x->why, 4);
	fputs(st->off, f);
	if (x->nsites > 1)
		fprintf(f, "    %u stacks share the %u innermost frames below:\n", x->nsites, x->depth);
	void *ctx[2] = {f, (void *)st};
	if (a->show_inner) { /* every frame, in stack order */
		hc_analysis_full(a, x, 4 * FRAMES_SHOWN, frame_line, ctx);
	} else {
		hc_analysis_frames(a, x, FRAMES_SHOWN, frame_line, ctx);
		inner_frames(f, a, x, st);
	}
	putc('\n', f);
}

static void verdict_line(FILE *f, struct hc_analysis *a, const struct style *st)
{
	const struct hc_detect *d = &a->det;
	char rate[32], since[32];
	size_t leaks = 0, unsure = 0;
	for (size_t i = 0; i < d->nfindings; i++)
		*(a->model.nodes[d->findings[i]].verdict == HC_VERDICT_LEAK ? &leaks : &unsure) += 1;
	if (d->verdict == HC_VERDICT_LEAK) {
		const struct hc_node *top = &a->model.nodes[d->findings[0]];
		fprintf(f, "%s%sLEAK%s: %zu allocation site%s keep%s growing; the fastest +%s",
			st->bold, st->red, st->off, leaks, leaks == 1 ? "" : "s",
			leaks == 1 ? "s" : "", hc_fmt_rate(rate, sizeof(rate), top->slope));
		if (top->since_s >= 0)
			fprintf(f, " since %s", hc_fmt_duration(since, sizeof(since), top->since_s));
		fputc('\n', f);
		if (unsure)
			fprintf(f, "  and %zu inconclusive\n", unsure);
	} else if (d->verdict == HC_VERDICT_INCONCLUSIVE) {
		fprintf(f, "%s%sINCONCLUSIVE%s: %s\n", st->bold, st->yellow, st->off,
			d->nfindings ? "growth the rules cannot confirm yet (below, with why)"
				     : d->reason);
		if (d->nfindings && d->reason[0]) {
			fputs("  also: ", f);
			put_text(f, d->reason);
			putc('\n', f);
		}
	} else {
		fprintf(f, "%s%sPASS%s: no allocation site's retained set keeps growing\n", st->bold,
			st->green, st->off);
	}
	if (d->limit > 0) {
		char lim[32], t[32], lo[32], hi[32];
		hc_fmt_bytes(lim, sizeof(lim), d->limit);
		if (d->ttl_known) {
			fprintf(f, "  limit %s reached at about %s after start", lim,
				hc_fmt_duration(t, sizeof(t), d->ttl_s));
			hc_fmt_duration(lo, sizeof(lo), d->ttl_lo_s);
			hc_fmt_duration(hi, sizeof(hi), d->ttl_hi_s);
			if (strcmp(lo, hi))
				fprintf(f, " (%s to %s)", lo, hi);
			fprintf(f, "%s\n", d->ttl_s < a->model.end_s ? ", already passed" : "");
		}
		else
			fprintf(f, "  limit %s: the heap is not growing significantly, no time to limit\n",
				lim);
	}
}

static void run_section(FILE *f, struct hc_analysis *a)
{
	const struct hc_model *m = &a->model;
	const struct hc_summary *s = &m->sum;
	const struct hc_snapshot_rec *l = &s->last;
	char b1[32], b2[32], b3[32];
	fputs("Run\n", f);
	if (s->have_header) {
		fprintf(f, "  process       pid %llu (parent %llu): ",
			(unsigned long long)s->header.pid, (unsigned long long)s->header.ppid);
		struct hc_args args;
		struct hc_str arg;
		hc_args_init(&args, s->header.cmdline);
		const char *sep = "";
		for (; hc_args_next(&args, &arg); sep = " ") {
			fputs(sep, f);
			put_arg(f, arg.p, arg.len);
		}
		if (!*sep) /* no arguments recorded: show the executable */
			put_arg(f, s->header.exe.p, s->header.exe.len);
		putc('\n', f);
	}
	char win[512];
	if (hc_analysis_window(a, win, sizeof(win)))
		fprintf(f, "  mid-life      %s\n", win);
	fprintf(f, "  trace         %s, ", hc_fmt_duration(b1, sizeof(b1), (double)s->last_ts / 1e9));
	if (s->complete)
		fprintf(f, "complete (ended by %s)\n",
			hc_end_text(s->end_reason, s->end_signal, b1, sizeof(b1)));
	else if (s->status == HC_READ_TRUNCATED)
		fprintf(f, "incomplete: ends inside a chunk at byte offset %llu\n",
			(unsigned long long)s->stop_offset);
	else if (s->status == HC_READ_CORRUPT)
		fprintf(f, "incomplete: %s\n", s->message);
	else if (a->live.running)
		fprintf(f, "running (pid %llu): last snapshot %.1f s ago\n",
			(unsigned long long)s->header.pid, a->live.snapshot_age_s);
	else
		fputs("incomplete: no END record (killed, or still running)\n", f);
	if (m->teardown)
		fprintf(f, "  teardown      from %s freed %s (judged before it)\n",
			hc_fmt_duration(b1, sizeof(b1), m->teardown_s),
			hc_fmt_bytes(b2, sizeof(b2), m->teardown_freed));
	else if (m->exit_s >= 0)
		fprintf(f, "  exit began    at %s\n", hc_fmt_duration(b1, sizeof(b1), m->exit_s));
	fprintf(f, "  allocations   %llu (%s), frees %llu, temporary %llu (freed within 16 us)\n",
		(unsigned long long)l->total_allocs,
		hc_fmt_bytes(b1, sizeof(b1), (double)l->total_bytes_allocated),
		(unsigned long long)l->total_frees, (unsigned long long)m->temporary);
	fprintf(f, "  heap          peak %s; unfreed at end %s in %llu blocks\n",
		hc_fmt_bytes(b1, sizeof(b1), (double)l->heap_peak_bytes),
		hc_fmt_bytes(b2, sizeof(b2), (double)l->heap_live_bytes),
		(unsigned long long)l->heap_live_blocks);
	double rss = 0;
	for (size_t i = 0; i < m->nsnaps; i++)
		rss = fmax(rss, m->snaps[i].rss);
	fprintf(f, "  rss           peak %s; the shim's own memory %s\n",
		hc_fmt_bytes(b1, sizeof(b1), rss), hc_fmt_bytes(b3, sizeof(b3), (double)l->shim_bytes));
	if (l->have_cpu) {
		char cpu[128];
		fprintf(f, "  collector     %s\n",
			hc_fmt_cpu_share(cpu, sizeof(cpu), l->collector_cpu_ns, l->process_cpu_ns));
	}
	if (s->have_header && s->header.sample_bytes)
		fprintf(f, "  sampling      one sample per %s on average: figures are estimates\n",
			hc_fmt_bytes(b1, sizeof(b1), (double)s->header.sample_bytes));
	fprintf(f, "  lost events   %llu%s\n", (unsigned long long)l->lost_events,
		l->lost_events ? " (figures are lower bounds)" : "");
	char py[512];
	if (hc_analysis_python(a, py, sizeof(py))) {
		fputs("  python        ", f);
		put_text(f, py);
		putc('\n', f);
	}
	put_notes(f, s);
}

void hc_report_text(FILE *f, struct hc_analysis *a, int color)
{
	static const struct style plain = {"", "", "", "", "", ""};
	static const struct style ansi = {"\033[1m", "\033[31m", "\033[33m", "\033[32m", "\033[2m",
					  "\033[0m"};
	const struct style *st = color ? &ansi : &plain;
	const struct hc_detect *d = &a->det;
	fputs("heapcreep report for ", f);
	put_arg(f, a->path, strlen(a->path));
	putc('\n', f);
	verdict_line(f, a, st);
	putc('\n', f);
	if (d->nfindings) {
		fputs("Growing retained sets\n", f);
		for (size_t i = 0; i < d->nfindings; i++)
			site_block(f, a, &a->model.nodes[d->findings[i]], (int)i + 1, st);
	}
	run_section(f, a);
	if (d->nothers) {
		char live[32], peak[32];
		fputs(d->too_short ? "\nLargest sites (live at the end of the run; the run is too short "
				     "to judge their growth)\n"
				   : "\nLargest sites that do not keep growing (live at the end of the "
				     "run)\n",
		      f);
		for (size_t i = 0; i < d->nothers && i < OTHERS_SHOWN; i++) {
			const struct hc_node *x = &a->model.nodes[d->others[i]];
			fprintf(f, "  %s (peak %s)\n", hc_fmt_bytes(live, sizeof(live), x->live_end),
				hc_fmt_bytes(peak, sizeof(peak), x->peak));
			if (x->why[0]) { /* why it is not a finding, when it grew */
				fputs(st->dim, f);
				put_wrapped(f, x->why, 4);
				fputs(st->off, f);
			}
			void *ctx[2] = {f, (void *)st};
			hc_analysis_frames(a, x, 3, frame_line, ctx);
		}
	}
}

struct where_ctx {
	char *buf;
	size_t cap;
	int done;
};

static void first_known(void *ctx, const struct hc_frame_out *f)
{
	struct where_ctx *w = ctx;
	if (w->done)
		return;
	if (f->function && f->file)
		snprintf(w->buf, w->cap, "%s (%s:%u)", f->function, f->file, f->line);
	else if (f->function)
		snprintf(w->buf, w->cap, "%s (in %s)", f->function, f->module ? f->module : "?");
	else if (f->module)
		snprintf(w->buf, w->cap, "[unknown] in %s+0x%llx", f->module,
			 (unsigned long long)f->offset);
	else
		snprintf(w->buf, w->cap, "[unknown] 0x%llx", (unsigned long long)f->address);
	w->done = 1;
}

void hc_report_where(struct hc_analysis *a, const struct hc_node *n, char *buf, size_t cap)
{
	struct where_ctx w = {buf, cap, 0};
	snprintf(buf, cap, "[no stack]");
	hc_analysis_frames(a, n, 1, first_known, &w);
	hc_terminal_safe(buf); /* names from the trace drive no terminal */
}
