/* The streaming JSON writer (json.h). Output is indented two spaces per
 * level; containers opened "inline" and everything inside them stay on one
 * line, which keeps series and frames readable in a diff.
 */
#include "json.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "escape.h"

void hc_json_init(struct hc_json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->inline_from = HC_JSON_MAX_DEPTH;
}

/* Separator, newline and indentation before a member or element. */
static void lead(struct hc_json *j, const char *key)
{
	if (j->depth > 0) {
		int n = j->count[j->depth]++;
		if (j->depth > j->inline_from)
			fputs(n ? ", " : "", j->f);
		else
			fprintf(j->f, "%s\n%*s", n ? "," : "", 2 * j->depth, "");
	}
	if (key) {
		hc_put_json_str(j->f, key, strlen(key));
		fputs(": ", j->f);
	}
}

static void open_c(struct hc_json *j, const char *key, char c, int one_line)
{
	lead(j, key);
	putc(c, j->f);
	if (j->depth + 1 < HC_JSON_MAX_DEPTH)
		j->depth++;
	j->count[j->depth] = 0;
	j->close[j->depth] = c == '{' ? '}' : ']';
	if (one_line && j->inline_from > j->depth - 1)
		j->inline_from = j->depth - 1;
}

void hc_json_object(struct hc_json *j, const char *key)
{
	open_c(j, key, '{', 0);
}

void hc_json_array(struct hc_json *j, const char *key)
{
	open_c(j, key, '[', 0);
}

void hc_json_object_inline(struct hc_json *j, const char *key)
{
	open_c(j, key, '{', 1);
}

void hc_json_array_inline(struct hc_json *j, const char *key)
{
	open_c(j, key, '[', 1);
}

void hc_json_end(struct hc_json *j)
{
	int had = j->count[j->depth];
	int was_inline = j->depth > j->inline_from;
	char c = j->close[j->depth];
	j->depth--;
	if (!was_inline && had)
		fprintf(j->f, "\n%*s", 2 * j->depth, "");
	putc(c, j->f);
	if (j->inline_from == j->depth)
		j->inline_from = HC_JSON_MAX_DEPTH;
}

void hc_json_str(struct hc_json *j, const char *key, const char *s)
{
	if (!s) {
		hc_json_null(j, key);
		return;
	}
	hc_json_strn(j, key, s, strlen(s));
}

void hc_json_strn(struct hc_json *j, const char *key, const char *s, size_t n)
{
	lead(j, key);
	hc_put_json_str(j->f, s, n);
}

void hc_json_u64(struct hc_json *j, const char *key, uint64_t v)
{
	lead(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

void hc_json_num(struct hc_json *j, const char *key, double v)
{
	lead(j, key);
	if (!isfinite(v))
		fputs("null", j->f);
	else if (v == floor(v) && fabs(v) < 9e15)
		fprintf(j->f, "%.0f", v);
	else
		fprintf(j->f, "%.10g", v);
}

void hc_json_bool(struct hc_json *j, const char *key, int v)
{
	lead(j, key);
	fputs(v ? "true" : "false", j->f);
}

void hc_json_null(struct hc_json *j, const char *key)
{
	lead(j, key);
	fputs("null", j->f);
}

void hc_json_ns_as_s(struct hc_json *j, const char *key, uint64_t ns)
{
	lead(j, key);
	fprintf(j->f, "%" PRIu64 ".%09" PRIu64, ns / 1000000000u, ns % 1000000000u);
}

void hc_json_finish(struct hc_json *j)
{
	putc('\n', j->f);
}
