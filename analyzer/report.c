/* `heapcreep report [-f text|json|html|folded|pprof] [--value retained|growth]
 * [-o OUT] [--budget] [--horizon] [--limit] TRACE`: analyses the trace and
 * writes the chosen format. It owns the exit status and the stderr lines: a
 * truncated trace is reported (exit 0, with a warning), a corrupt one too,
 * but exits 2. It never removes OUT, and never writes pprof's binary to a
 * terminal.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "report.h"

static const char usage_line[] =
	"usage: " HC_PROG " report [-f text|json|html|folded|pprof] [--value retained|growth]"
	" [--native] [-o OUT] [--follow] " HC_ANALYSIS_USAGE " TRACE";

static int usage_error(void)
{
	fprintf(stderr, "%s\n", usage_line);
	return HC_EXIT_USAGE;
}

/* The stderr line for a trace that is not whole, and the exit status. */
int hc_report_status(const struct hc_analysis *a, int rc)
{
	const struct hc_summary *s = &a->model.sum;
	if (s->status == HC_READ_TRUNCATED) {
		hc_err("'%s': %s; reporting what was read", a->path, s->message);
	} else if (rc < 0 || s->status == HC_READ_CORRUPT) {
		hc_err("'%s': %s", a->path, s->message);
		return HC_EXIT_USAGE;
	} else if (!s->complete) {
		if (a->live.running)
			hc_err("'%s': the process (pid %llu) is still running: reporting the trace "
			       "as written so far (last snapshot %.1f s ago)",
			       a->path, (unsigned long long)s->header.pid, a->live.snapshot_age_s);
		else
			hc_err("'%s': trace is incomplete: no END record after byte offset %llu (the "
			       "process was killed or is still running); reporting what was read",
			       a->path, (unsigned long long)s->bytes_read);
	}
	return 0;
}

/* --follow: the text report of a trace being written, drawn again each
 * snapshot interval (on a terminal, over the last one) until its process
 * ends; then the final report and its status. */
static int follow(const char *path, const struct hc_detect_opts *opts, int native)
{
	int tty = isatty(1);
	const char *no_color = getenv("NO_COLOR");
	int color = tty && !(no_color && *no_color);
	for (int round = 0;; round++) {
		struct hc_analysis an;
		int rc = hc_analysis_load(&an, path, opts);
		if (!an.built)
			return HC_EXIT_USAGE;
		an.show_inner = native;
		if (tty)
			fputs("\033[H\033[2J", stdout); /* home, clear */
		else if (round)
			fputs("\f\n", stdout);
		hc_report_text(stdout, &an, color);
		fflush(stdout);
		uint64_t interval = an.model.sum.have_header ? an.model.sum.header.interval_ns : 0;
		if (interval < 200000000u)
			interval = 200000000u;
		if (interval > 10000000000u)
			interval = 10000000000u;
		if (!an.live.running) {
			int status = hc_report_status(&an, rc);
			hc_analysis_close(&an);
			return status;
		}
		hc_analysis_close(&an);
		struct timespec nap = {(time_t)(interval / 1000000000u), (long)(interval % 1000000000u)};
		nanosleep(&nap, NULL);
	}
}

int hc_cmd_report(int argc, char **argv)
{
	const char *format = "text", *out_path = NULL, *path = NULL, *value = NULL;
	int native = 0, following = 0;
	struct hc_detect_opts opts;
	hc_detect_defaults(&opts);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int took = hc_analysis_option(&opts, a, v);
		if (took < 0)
			return usage_error();
		if (took) {
			i++;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("%s\n", usage_line);
			return 0;
		}
		if (!strcmp(a, "--native")) { /* the native frames inside Python ones */
			native = 1;
			continue;
		}
		if (!strcmp(a, "--follow")) {
			following = 1;
			continue;
		}
		if (!strcmp(a, "-f") || !strcmp(a, "--format") || !strcmp(a, "-o") ||
		    !strcmp(a, "--output") || !strcmp(a, "--value")) {
			if (!v) {
				hc_err("report: option '%s' needs a value", a);
				return usage_error();
			}
			if (!strcmp(a, "--value"))
				value = v;
			else
				*(a[1] == 'f' || a[2] == 'f' ? &format : &out_path) = v;
			i++;
		} else if (a[0] == '-' && a[1]) {
			hc_err("report: unknown option '%s'", a);
			return usage_error();
		} else if (path) {
			return usage_error();
		} else {
			path = a;
		}
	}
	if (!path)
		return usage_error();
	int json = !strcmp(format, "json"), folded = !strcmp(format, "folded");
	int pprof = !strcmp(format, "pprof"), html = !strcmp(format, "html");
	if (!json && !html && !folded && !pprof && strcmp(format, "text")) {
		hc_err("report: unknown format '%s' (text, json, html, folded, pprof)", format);
		return HC_EXIT_USAGE;
	}
	if (following && (strcmp(format, "text") || out_path)) {
		hc_err("report: --follow draws the text report on standard output");
		return usage_error();
	}
	if (following)
		return follow(path, &opts, native);
	int growth = value && !strcmp(value, "growth");
	if (value && ((!growth && strcmp(value, "retained")) || !folded)) {
		hc_err(folded ? "report: unknown --value '%s' (retained, growth)"
			      : "report: --value '%s' is for -f folded only", value);
		return usage_error();
	}
	if (pprof && !out_path && isatty(1)) {
		hc_err("report: pprof output is gzip'd binary: give -o FILE or redirect standard "
		       "output");
		return HC_EXIT_USAGE;
	}

	struct hc_analysis an;
	int rc = hc_analysis_load(&an, path, &opts);
	if (!an.built)
		return HC_EXIT_USAGE;
	an.show_inner = native;
	FILE *out = stdout;
	if (out_path) {
		out = fopen(out_path, "w");
		if (!out) {
			hc_err("cannot open '%s' for writing: %s", out_path, strerror(errno));
			hc_analysis_close(&an);
			return HC_EXIT_USAGE;
		}
	}
	int fail = 0;
	if (json) {
		hc_report_json(out, &an);
	} else if (html) {
		hc_report_html(out, &an);
	} else if (folded || pprof) {
		fail = folded ? hc_report_folded(out, &an, growth) : hc_report_pprof(out, &an);
		if (fail)
			hc_err("report: cannot write the %s report for '%s': %s", format, path,
			       strerror(-fail));
	} else {
		const char *no_color = getenv("NO_COLOR");
		int color = !out_path && isatty(1) && !(no_color && *no_color);
		hc_report_text(out, &an, color);
	}
	if (out != stdout) { /* main() checks standard output for every command */
		int werr = fflush(out) != 0 || ferror(out);
		int saved = errno;
		if (fclose(out) != 0 && !werr) {
			werr = 1;
			saved = errno;
		}
		if (werr) {
			hc_err("cannot write '%s': %s", out_path, strerror(saved));
			hc_analysis_close(&an);
			return HC_EXIT_USAGE;
		}
	}
	int status = hc_report_status(&an, rc);
	if (fail)
		status = HC_EXIT_USAGE;
	hc_analysis_close(&an);
	return status;
}
