/* `heapcreep gate [--budget] [--horizon] [--limit] [--junit FILE] [--strict]
 * [--baseline BASE] TRACE`: the pass/fail verdict for CI. Exit 0: no leak;
 * 1: a leak (or, with --strict, an inconclusive finding); 2: bad input or
 * usage. One line per finding on stderr, nothing on stdout; --junit writes
 * JUnit XML with one testcase per finding (one passing testcase when there
 * is none). With --baseline, a finding fails only when its growth is new or
 * faster than in the base trace (sites matched by symbols, diff.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "diff.h"
#include "escape.h"
#include "format.h"
#include "gate.h"
#include "report.h"

static const char usage_line[] = "usage: " HC_PROG " gate " HC_ANALYSIS_USAGE
				 " [--junit FILE] [--strict] [--baseline BASE] TRACE";

static void xml(FILE *f, const char *s)
{
	hc_put_xml_str(f, s, strlen(s));
}

struct junit_frames {
	FILE *f;
};

static void junit_frame(void *ctx, const struct hc_frame_out *fr)
{
	FILE *f = ((struct junit_frames *)ctx)->f;
	char line[1024];
	if (fr->function && fr->file)
		snprintf(line, sizeof(line), "  %s%s %s:%u\n", fr->inlined ? "(inlined) " : "",
			 fr->function, fr->file, fr->line);
	else if (fr->function)
		snprintf(line, sizeof(line), "  %s\n", fr->function);
	else
		snprintf(line, sizeof(line), "  [unknown] in %s+0x%llx\n",
			 fr->module ? fr->module : "?", (unsigned long long)fr->offset);
	xml(f, line);
}

/* known: per finding, 1 when the baseline has its growth (NULL: none). */
static int write_junit(const char *path, struct hc_analysis *a, int strict,
		       const unsigned char *known)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		hc_err("cannot open '%s' for writing: %s", path, strerror(errno));
		return -1;
	}
	const struct hc_detect *d = &a->det;
	size_t tests = d->nfindings ? d->nfindings : 1, failures = 0, skipped = 0;
	for (size_t i = 0; i < d->nfindings; i++) {
		int v = a->model.nodes[d->findings[i]].verdict;
		if ((v == HC_VERDICT_LEAK || strict) && !(known && known[i]))
			failures++;
		else
			skipped++;
	}
	if (!d->nfindings && d->verdict == HC_VERDICT_INCONCLUSIVE)
		*(strict ? &failures : &skipped) += 1;
	char dur[32];
	snprintf(dur, sizeof(dur), "%.3f", a->model.end_s);
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	fprintf(f, "<testsuites name=\"heapcreep\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\">\n",
		tests, failures, skipped);
	fputs("  <testsuite name=\"heapcreep gate: ", f);
	xml(f, a->path);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" skipped=\"%zu\" time=\"%s\">\n", tests,
		failures, skipped, dur);
	if (!d->nfindings) {
		fputs("    <testcase classname=\"heapcreep.gate\" name=\"", f);
		xml(f, d->verdict == HC_VERDICT_INCONCLUSIVE ? "trace could not be judged"
							     : "no growing retained set");
		fprintf(f, "\" time=\"%s\"", dur);
		if (d->verdict == HC_VERDICT_INCONCLUSIVE) {
			fprintf(f, ">\n      <%s message=\"", strict ? "failure" : "skipped");
			xml(f, d->reason);
			fprintf(f, "\"%s/>\n    </testcase>\n", strict ? " type=\"inconclusive\"" : "");
		} else {
			fputs("/>\n", f);
		}
	}
	for (size_t i = 0; i < d->nfindings; i++) {
		const struct hc_node *x = &a->model.nodes[d->findings[i]];
		char where[512], rate[32], msg[640];
		hc_report_where(a, x, where, sizeof(where));
		int leak = x->verdict == HC_VERDICT_LEAK;
		snprintf(msg, sizeof(msg), "%s: retained set grows %s at %s%s",
			 leak ? "LEAK" : "INCONCLUSIVE", hc_fmt_rate(rate, sizeof(rate), x->slope),
			 where, known && known[i] ? " (known from the baseline)" : "");
		fputs("    <testcase classname=\"heapcreep.gate\" name=\"", f);
		xml(f, where);
		fprintf(f, "\" time=\"%s\">\n", dur);
		const char *tag = (leak || strict) && !(known && known[i]) ? "failure" : "skipped";
		fprintf(f, "      <%s message=\"", tag);
		xml(f, msg);
		if (!strcmp(tag, "failure")) {
			fprintf(f, "\" type=\"%s\">", leak ? "leak" : "inconclusive");
			xml(f, x->why);
			xml(f, "\n");
			struct junit_frames jf = {f};
			hc_analysis_frames(a, x, 32, junit_frame, &jf);
			fprintf(f, "</%s>\n", tag);
		} else {
			fputs("\"/>\n", f);
		}
		fputs("    </testcase>\n", f);
	}
	fputs("  </testsuite>\n</testsuites>\n", f);
	int bad = fflush(f) != 0 || ferror(f);
	if (fclose(f) || bad) {
		hc_err("cannot write '%s': %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* With a baseline: the end of finding i's line (": new, ..."), and whether
 * it is known (the baseline grows there about as fast, or faster). */
static int compare(const struct hc_diff *diff, const struct hc_analysis *a, size_t i,
		   const char *baseline, char *buf, size_t cap)
{
	const struct hc_node *x = &a->model.nodes[a->det.findings[i]];
	const struct hc_diff_site *s = hc_diff_find(diff, a->det.findings[i]);
	int change = s ? hc_diff_classify(s, x->verdict, diff->min_change) : HC_CHANGE_NEW;
	char rate[32];
	if (!s || !s->base.node)
		snprintf(buf, cap, ": new, not in the baseline '%s'", baseline);
	else if (change == HC_CHANGE_NEW)
		snprintf(buf, cap, ": new, not growing in the baseline '%s'", baseline);
	else
		snprintf(buf, cap, ": %s, %s%s in the baseline '%s'",
			 change == HC_CHANGE_FASTER   ? "faster"
			 : change == HC_CHANGE_SLOWER ? "known (slower)"
						      : "known",
			 s->base.slope >= 0 ? "+" : "",
			 hc_fmt_rate(rate, sizeof(rate), s->base.slope), baseline);
	return change != HC_CHANGE_NEW && change != HC_CHANGE_FASTER;
}

int hc_gate_trace(const char *path, const struct hc_detect_opts *o, int strict,
		  const char *junit, const char *baseline)
{
	struct hc_analysis a;
	int rc = hc_analysis_load(&a, path, o);
	if (!a.built)
		return HC_EXIT_USAGE;
	if (hc_report_status(&a, rc)) {
		hc_analysis_close(&a);
		return HC_EXIT_USAGE;
	}
	const struct hc_detect *d = &a.det;
	/* The baseline: known[i] is 1 when finding i grows there too. */
	struct hc_analysis base;
	struct hc_diff diff;
	unsigned char *known = NULL;
	if (baseline) {
		if (hc_diff_open(&base, baseline, o)) {
			hc_analysis_close(&a);
			return HC_EXIT_USAGE;
		}
		int rc2 = hc_diff_build(&diff, &base, &a);
		if (!rc2 && !(known = calloc(d->nfindings ? d->nfindings : 1, 1))) {
			hc_diff_release(&diff);
			rc2 = -ENOMEM;
		}
		if (rc2) {
			hc_err("gate: %s", strerror(-rc2));
			hc_analysis_close(&base);
			hc_analysis_close(&a);
			return HC_EXIT_USAGE;
		}
	}
	char where[512], rate[32], since[32], dur[32], cmp[600] = "";
	int failed = 0;
	for (size_t i = 0; i < d->nfindings; i++) {
		const struct hc_node *x = &a.model.nodes[d->findings[i]];
		hc_report_where(&a, x, where, sizeof(where));
		if (baseline)
			known[i] = (unsigned char)compare(&diff, &a, i, baseline, cmp, sizeof(cmp));
		if ((x->verdict == HC_VERDICT_LEAK || strict) && !(known && known[i]))
			failed = 1;
		hc_err("%s: +%s since %s at %s ('%s')%s",
		       x->verdict == HC_VERDICT_LEAK ? "LEAK" : "INCONCLUSIVE",
		       hc_fmt_rate(rate, sizeof(rate), x->slope),
		       hc_fmt_duration(since, sizeof(since), x->since_s > 0 ? x->since_s : 0), where,
		       path, cmp);
	}
	if (!d->nfindings && d->verdict == HC_VERDICT_INCONCLUSIVE)
		hc_err("INCONCLUSIVE: %s ('%s')", d->reason, path);
	else if (d->verdict == HC_VERDICT_NONE)
		hc_err("pass: no growing retained set in '%s' (%s judged)", path,
		       hc_fmt_duration(dur, sizeof(dur), a.model.end_s));
	int status = d->verdict == HC_VERDICT_LEAK ? 1
		     : d->verdict == HC_VERDICT_INCONCLUSIVE && strict ? 1
									: 0;
	if (baseline && d->nfindings) {
		status = failed;
		if (!failed && d->verdict == HC_VERDICT_LEAK)
			hc_err("pass: the growth in '%s' is known from the baseline '%s'", path,
			       baseline);
	}
	if (junit && write_junit(junit, &a, strict, known))
		status = HC_EXIT_USAGE;
	if (baseline) {
		free(known);
		hc_diff_release(&diff);
		hc_analysis_close(&base);
	}
	hc_analysis_close(&a);
	return status;
}

int hc_cmd_gate(int argc, char **argv)
{
	struct hc_detect_opts o;
	hc_detect_defaults(&o);
	const char *path = NULL, *junit = NULL, *baseline = NULL;
	int strict = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		int took = hc_analysis_option(&o, a, v);
		if (took < 0)
			goto usage;
		if (took) {
			i++;
		} else if (!strcmp(a, "--strict")) {
			strict = 1;
		} else if (!strcmp(a, "--junit") || !strcmp(a, "--baseline")) {
			if (!v)
				goto usage;
			*(!strcmp(a, "--junit") ? &junit : &baseline) = v;
			i++;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			printf("%s\n", usage_line);
			return 0;
		} else if (a[0] == '-' && a[1]) {
			hc_err("gate: unknown option '%s'", a);
			goto usage;
		} else if (path) {
			goto usage;
		} else {
			path = a;
		}
	}
	if (!path)
		goto usage;
	return hc_gate_trace(path, &o, strict, junit, baseline);
usage:
	fprintf(stderr, "%s\n", usage_line);
	return HC_EXIT_USAGE;
}
