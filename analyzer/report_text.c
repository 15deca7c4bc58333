/* `heapcreep report` (-f text, the default): a short human summary of the
 * trace's figures, sizes in KiB/MiB/GiB. A stopgap until the full terminal
 * report (top growing sites, sparklines, stacks) replaces it; it must never
 * print a string from the trace unescaped.
 */
#include <inttypes.h>
#include <string.h>

#include "escape.h"
#include "report.h"

/* "512 B", "1.5 KiB", "12.3 MiB", "2.00 GiB" */
static const char *size_str(char buf[32], uint64_t b)
{
	if (b < 1024)
		snprintf(buf, 32, "%" PRIu64 " B", b);
	else if (b < (1u << 20))
		snprintf(buf, 32, "%.1f KiB", (double)b / 1024);
	else if (b < (1u << 30))
		snprintf(buf, 32, "%.1f MiB", (double)b / (1u << 20));
	else
		snprintf(buf, 32, "%.2f GiB", (double)b / (1u << 30));
	return buf;
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

void hc_report_text(FILE *f, const struct hc_summary *s, const char *path)
{
	const struct hc_header_rec *h = &s->header;
	const struct hc_snapshot_rec *l = &s->last;
	char b1[32], b2[32];

	fputs("heapcreep report for ", f);
	put_arg(f, path, strlen(path));
	putc('\n', f);
	if (s->have_header) {
		fprintf(f, "  process         pid %" PRIu64 " (parent %" PRIu64 "): ", h->pid, h->ppid);
		struct hc_args args;
		struct hc_str arg;
		hc_args_init(&args, h->cmdline);
		const char *sep = "";
		for (; hc_args_next(&args, &arg); sep = " ") {
			fputs(sep, f);
			put_arg(f, arg.p, arg.len);
		}
		if (!*sep) /* no arguments recorded: show the executable */
			put_arg(f, h->exe.p, h->exe.len);
		putc('\n', f);
	}
	fprintf(f, "  trace           %.1f s, ", s->have_ts ? (double)s->last_ts / 1e9 : 0.0);
	if (s->complete) {
		const char *why = hc_end_reason_name(s->end_reason);
		fprintf(f, "complete (ended by %s)\n", why ? why : "an unknown reason");
	} else if (s->status == HC_READ_TRUNCATED) {
		fprintf(f, "incomplete: ends inside a chunk at byte offset %" PRIu64 "\n",
			s->stop_offset);
	} else if (s->status == HC_READ_COMPLETE) {
		fputs("incomplete: no END record (the process did not exit cleanly)\n", f);
	} else {
		fprintf(f, "stopped at byte offset %" PRIu64 ": %s\n", s->stop_offset, s->reason);
	}
	if (s->have_header && h->sample_bytes)
		fprintf(f, "  sampling        one sample per %s allocated, on average (figures are estimates)\n",
			size_str(b1, h->sample_bytes));
	fprintf(f, "  allocations     %" PRIu64 " (%s), frees %" PRIu64 "\n", l->total_allocs,
		size_str(b1, l->total_bytes_allocated), l->total_frees);
	fprintf(f, "  peak live       %s\n", size_str(b1, l->heap_peak_bytes));
	fprintf(f, "  unfreed at end  %s in %" PRIu64 " blocks\n", size_str(b2, l->heap_live_bytes),
		l->heap_live_blocks);
	if (s->exit_seen)
		fprintf(f, "  exit began at   %.1f s\n", (double)s->exit_ts / 1e9);
	if (l->lost_events)
		fprintf(f, "  lost events     %" PRIu64 " (figures are lower bounds)\n", l->lost_events);
	if (l->unknown_frees)
		fprintf(f, "  unknown frees   %" PRIu64 " (blocks allocated before tracing began)\n",
			l->unknown_frees);
	for (size_t i = 0; i < s->nnotes; i++) {
		const char *level = hc_note_level_name(s->notes[i].level);
		fprintf(f, "  note (%s, %.1f s): ", level ? level : "unknown",
			(double)s->notes[i].ts / 1e9);
		hc_put_quoted(f, s->notes[i].message, s->notes[i].len);
		putc('\n', f);
	}
	if (s->notes_dropped)
		fprintf(f, "  (%zu more notes not shown)\n", s->notes_dropped);
}
