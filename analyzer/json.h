/* A small streaming JSON writer for the machine-readable reports: it keeps
 * track of commas and indentation so a report is always well-formed, and
 * every string goes through hc_put_json_str. Non-finite numbers become null.
 */
#ifndef HC_JSON_H
#define HC_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define HC_JSON_MAX_DEPTH 16

struct hc_json {
	FILE *f;
	int depth;
	int inline_from;      /* depth from which containers stay on one line */
	int count[HC_JSON_MAX_DEPTH];
	char close[HC_JSON_MAX_DEPTH]; /* '}' or ']' of each open container */
};

void hc_json_init(struct hc_json *j, FILE *f);
/* Containers; key is NULL inside arrays and at the top. */
void hc_json_object(struct hc_json *j, const char *key);
void hc_json_array(struct hc_json *j, const char *key);
/* The same, kept on one line (small arrays of numbers, frames). */
void hc_json_object_inline(struct hc_json *j, const char *key);
void hc_json_array_inline(struct hc_json *j, const char *key);
void hc_json_end(struct hc_json *j);
/* Values (key NULL inside arrays). */
void hc_json_str(struct hc_json *j, const char *key, const char *s);
void hc_json_strn(struct hc_json *j, const char *key, const char *s, size_t n);
void hc_json_u64(struct hc_json *j, const char *key, uint64_t v);
void hc_json_num(struct hc_json *j, const char *key, double v);
void hc_json_bool(struct hc_json *j, const char *key, int v);
void hc_json_null(struct hc_json *j, const char *key);
/* Seconds from nanoseconds, exactly. */
void hc_json_ns_as_s(struct hc_json *j, const char *key, uint64_t ns);
/* Ends the document with a newline. */
void hc_json_finish(struct hc_json *j);

#endif
