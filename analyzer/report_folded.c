/* `heapcreep report -f folded`: folded stacks for flamegraph.pl, speedscope
 * and inferno, one line per stack: frames outermost first, joined by ';',
 * a space, an integer. Values are the retained bytes of every site when the
 * analysed run ends (their sum is the JSON report's totals.live_bytes_end),
 * or with --value growth the growth of the tracked sites that grow. Stacks
 * that print the same are merged, so no two lines share a stack.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "report.h"

double hc_report_site_growth(const struct hc_model *m, const struct hc_site *s)
{
	if (!s->tracked || !s->nchain)
		return 0;
	const struct hc_node *x = &m->nodes[s->chain[s->nchain - 1]];
	if (!isfinite(x->slope) || !(x->slope > 0))
		return 0;
	if (x->nsites <= 1)
		return x->slope;
	/* Stacks alike in their first HC_NODE_DEPTH frames share their deepest
	 * node: its growth is split by what each holds, so that the sites'
	 * figures add up to the node's instead of counting it once a stack. */
	if (x->live_end > 0)
		return x->slope * s->live_at_end / x->live_end;
	return x->slope / x->nsites;
}

/* A name as one folded frame: ';' would split it and a newline end the
 * line, so they become ':' and ' ' (as do other control characters); bytes
 * that are not UTF-8 become U+FFFD, which every viewer can show. */
static const char *name_byte(uint8_t c, int invalid, char *buf)
{
	(void)buf;
	if (invalid)
		return "\xef\xbf\xbd";
	if (c == ';')
		return ":";
	if (c < 0x20 || c == 0x7f)
		return " ";
	return NULL;
}

static void put_name(FILE *f, const char *s)
{
	hc_put_utf8(f, s, strlen(s), name_byte);
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash && slash[1] ? slash + 1 : path;
}

/* The frames of one stack, outermost first; inlined functions after the
 * function they were inlined into. */
static void put_stack(FILE *f, struct hc_analysis *a, const struct hc_site *s)
{
	/* the whole allocation: with Python frames, the C frames inside the
	 * innermost one too (the leaves) */
	uint32_t n = s->nfull;
	const uint64_t *fr = s->full;
	if (!n) {
		fputs("[no stack]", f);
		return;
	}
	for (uint32_t i = n; i-- > 0;) {
		struct hc_sym_frame sf[HC_SYM_MAX_FRAMES];
		struct hc_sym_where where = {0};
		int k = a->sym ? hc_symbols_resolve(a->sym, fr[i], sf, HC_SYM_MAX_FRAMES, &where)
			       : 0;
		if (i + 1 < n)
			putc(';', f);
		if (k <= 0) {
			fputs("[unknown] ", f);
			if (where.module) {
				put_name(f, base_name(where.module));
				fprintf(f, "+0x%" PRIx64, where.offset);
			} else {
				fprintf(f, "0x%" PRIx64, fr[i]);
			}
			continue;
		}
		for (int j = k; j-- > 0;) {
			put_name(f, sf[j].function);
			if (sf[j].python && sf[j].file) { /* a line is a frame of its own */
				fputs(" (", f);
				put_name(f, base_name(sf[j].file));
				fprintf(f, ":%u)", sf[j].line);
			}
			if (j)
				putc(';', f);
		}
	}
}

struct line {
	char *text;
	int64_t value;
};

static int by_text(const void *x, const void *y)
{
	return strcmp(((const struct line *)x)->text, ((const struct line *)y)->text);
}

int hc_report_folded(FILE *f, struct hc_analysis *a, int growth)
{
	const struct hc_model *m = &a->model;
	struct line *lines = calloc(m->nsites ? m->nsites : 1, sizeof(*lines));
	size_t n = 0;
	int rc = 0;
	if (!lines)
		return -ENOMEM;
	for (size_t i = 0; i < m->nsites; i++) {
		const struct hc_site *s = &m->sites[i];
		int64_t v = growth ? llround(hc_report_site_growth(m, s)) : (int64_t)s->live_at_end;
		if (v <= 0)
			continue;
		size_t len;
		FILE *ms = open_memstream(&lines[n].text, &len);
		if (!ms) {
			rc = -ENOMEM;
			break;
		}
		put_stack(ms, a, s);
		if (fclose(ms)) {
			free(lines[n].text);
			rc = -ENOMEM;
			break;
		}
		lines[n++].value = v;
	}
	if (!rc) {
		qsort(lines, n, sizeof(*lines), by_text);
		for (size_t i = 0; i < n;) {
			int64_t sum = 0;
			size_t j = i;
			for (; j < n && !strcmp(lines[j].text, lines[i].text); j++)
				sum += lines[j].value;
			fprintf(f, "%s %" PRId64 "\n", lines[i].text, sum);
			i = j;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(lines[i].text);
	free(lines);
	return rc;
}
