/* Unit tests of the report formats and the string escaping under them: the
 * JSON report of a known summary is compared byte for byte, and strings with
 * quotes, control characters and broken UTF-8 must come out as valid JSON.
 */
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "heapcreep/trace.h"
#include "report.h"
#include "summary.h"
#include "tap.h"

/* Output of fn(f, ...) as a NUL-terminated string the caller frees. */
#define CAPTURE(out, call)                                  \
	do {                                                \
		size_t cap_len_;                            \
		FILE *f = open_memstream(&(out), &cap_len_); \
		call;                                       \
		fclose(f);                                  \
	} while (0)

static const char *json_of(const char *s, size_t n)
{
	static char *out;
	free(out);
	CAPTURE(out, hc_put_json_str(f, s, n));
	return out;
}

static const char *quoted_of(const char *s, size_t n)
{
	static char *out;
	free(out);
	CAPTURE(out, hc_put_quoted(f, s, n));
	return out;
}

#define S(lit) lit, sizeof(lit) - 1

static void test_utf8(void)
{
	is_int(hc_utf8_seq((const uint8_t *)S("a")), 1, "utf8: ASCII");
	is_int(hc_utf8_seq((const uint8_t *)S("\xc3\xa9")), 2, "utf8: e acute, 2 bytes");
	is_int(hc_utf8_seq((const uint8_t *)S("\xe2\x82\xac")), 3, "utf8: euro sign, 3 bytes");
	is_int(hc_utf8_seq((const uint8_t *)S("\xf0\x9f\x98\x80")), 4, "utf8: emoji, 4 bytes");
	is_int(hc_utf8_seq((const uint8_t *)S("\xc0\xaf")), 0, "utf8: overlong 2-byte form");
	is_int(hc_utf8_seq((const uint8_t *)S("\xe0\x80\xaf")), 0, "utf8: overlong 3-byte form");
	is_int(hc_utf8_seq((const uint8_t *)S("\xed\xa0\x80")), 0, "utf8: a surrogate");
	is_int(hc_utf8_seq((const uint8_t *)S("\xf4\x90\x80\x80")), 0, "utf8: above U+10FFFF");
	is_int(hc_utf8_seq((const uint8_t *)S("\xe2\x82")), 0, "utf8: cut short");
	is_int(hc_utf8_seq((const uint8_t *)S("\x80")), 0, "utf8: a lone continuation byte");
	is_int(hc_utf8_seq((const uint8_t *)S("\xc3(")), 0, "utf8: a lead byte without continuation");
}

static const char *terminal_of(const char *s, size_t n)
{
	static char *out;
	free(out);
	CAPTURE(out, hc_put_terminal(f, s, n));
	return out;
}

static const char *safe_of(const char *s)
{
	static char buf[64];
	snprintf(buf, sizeof(buf), "%s", s);
	hc_terminal_safe(buf);
	return buf;
}

/* A terminal line: UTF-8 kept, control characters and broken UTF-8 as '?',
 * the same written out and in place. */
static void test_terminal(void)
{
	is_str(terminal_of(S("plain \xc3\xa9 \xe2\x82\xac")), "plain \xc3\xa9 \xe2\x82\xac",
	       "terminal: ASCII and UTF-8 as they are");
	is_str(terminal_of(S("a\x1b[2Jb\n\x7f")), "a?[2Jb??", "terminal: control characters as '?'");
	is_str(terminal_of(S("x\xff\xc3(\xe2\x82")), "x?\?(??", "terminal: bytes not UTF-8 as '?'");
	is_str(terminal_of(S("\xed\xa0\x80\xc0\xaf")), "?????",
	       "terminal: a surrogate and an overlong form, each byte as '?'");
	is_str(safe_of("plain \xc3\xa9 \xe2\x82\xac"), "plain \xc3\xa9 \xe2\x82\xac",
	       "in place: ASCII and UTF-8 as they are");
	is_str(safe_of("a\x1b[2Jb\n\x7f"), "a?[2Jb??", "in place: control characters as '?'");
	is_str(safe_of("x\xff\xc3(\xe2\x82"), "x?\?(??", "in place: bytes not UTF-8 as '?'");
	is_str(safe_of("\xed\xa0\x80\xc0\xaf"), "?????", "in place: surrogate and overlong");
}

static void test_json_strings(void)
{
	is_str(json_of(S("plain")), "\"plain\"", "json: plain");
	is_str(json_of(S("a\"b\\c/d")), "\"a\\\"b\\\\c/d\"", "json: quote and backslash");
	is_str(json_of(S("\n\r\t\b\f")), "\"\\n\\r\\t\\b\\f\"", "json: short escapes");
	is_str(json_of(S("\x01\x1f\x7f")), "\"\\u0001\\u001f\\u007f\"", "json: control characters");
	is_str(json_of("a\0b", 3), "\"a\\u0000b\"", "json: a NUL byte");
	is_str(json_of(S("\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80")),
	       "\"\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"", "json: valid UTF-8 passes");
	is_str(json_of(S("x\xffy")), "\"x\\ufffdy\"", "json: invalid byte -> U+FFFD");
	is_str(json_of(S("\xc0\xaf")), "\"\\ufffd\\ufffd\"", "json: overlong form -> one U+FFFD a byte");
	is_str(json_of(S("\xed\xa0\x80")), "\"\\ufffd\\ufffd\\ufffd\"", "json: surrogate -> U+FFFD");
	is_str(json_of(S("\xe2\x82")), "\"\\ufffd\\ufffd\"", "json: cut-short sequence at the end");
	is_str(json_of(S("\xe2\x82z")), "\"\\ufffd\\ufffdz\"", "json: cut-short sequence, then ASCII");
	is_str(json_of("", 0), "\"\"", "json: empty");
}

static void test_quoted(void)
{
	is_str(quoted_of(S("a \"b\" \\")), "\"a \\\"b\\\" \\\\\"", "quoted: quote and backslash");
	is_str(quoted_of(S("\n\t\x01\x7f")), "\"\\n\\t\\x01\\x7f\"", "quoted: control characters");
	is_str(quoted_of(S("\xc3\xa9\xff")), "\"\xc3\xa9\\xff\"", "quoted: UTF-8 kept, invalid as \\x");
	char *out;
	CAPTURE(out, hc_put_hex_id(f, S("\x01\xab\x00\xff")));
	is_str(out, "01ab00ff", "hex id: binary bytes");
	free(out);
	CAPTURE(out, hc_put_hex_id(f, S("0123abcd")));
	is_str(out, "0123abcd", "hex id: already hex text");
	free(out);
}

/* --- a summary fed record by record --------------------------------------- */

struct body {
	uint8_t b[512];
	size_t n;
};

static void u(struct body *b, uint64_t v)
{
	b->n += hc_put_uvarint(b->b + b->n, v);
}

static void str(struct body *b, const char *s, size_t n)
{
	u(b, n);
	memcpy(b->b + b->n, s, n);
	b->n += n;
}

static void add(struct hc_summary *s, unsigned type, const struct body *b)
{
	struct hc_rec rec = {.type = type, .body = b->b, .len = b->n};
	if (hc_summary_add(s, &rec))
		abort();
}

static void feed(struct hc_summary *s)
{
	struct body b = {0};
	uint64_t h[] = {1, 77, 7, 0, 0, 0, 4096, 0, 0, 0, 2000000000, 1000000000};
	for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++)
		u(&b, h[i]);
	str(&b, S("/opt/svc\n"));
	str(&b, S("svc\0-q\0\xff"));
	str(&b, "", 0);
	str(&b, "", 0);
	add(s, HC_REC_HEADER, &b);

	b.n = 0;
	uint64_t snap[] = {1500000000, 1 << 20, 3 << 20, 12, 5 << 20, 1000, 988, 9 << 20,
			   1988, 4, 0, 1, 4096, 25000000, 1500000000};
	for (size_t i = 0; i < sizeof(snap) / sizeof(snap[0]); i++)
		u(&b, snap[i]);
	add(s, HC_REC_SNAPSHOT, &b);

	b.n = 0;
	u(&b, 1750000000);
	u(&b, HC_NOTE_ERROR);
	str(&b, S("tracing \"stopped\"\t\x01"));
	add(s, HC_REC_NOTE, &b);

	b.n = 0;
	u(&b, 1800000000);
	u(&b, HC_EXIT_CALL);
	add(s, HC_REC_EXIT, &b);

	b.n = 0;
	u(&b, 1900000001);
	u(&b, HC_END_STOPPED);
	add(s, HC_REC_END, &b);
}

static const char golden_complete[] =
	"{\n"
	"  \"heapcreep_report\": 1,\n"
	"  \"verdict\": \"pass\",\n"
	"  \"reason\": null,\n"
	"  \"trace\": {\n"
	"    \"path\": \"dir/t\\\"1\\\".hct\",\n"
	"    \"pid\": 77,\n"
	"    \"ppid\": 7,\n"
	"    \"exe\": \"/opt/svc\\n\",\n"
	"    \"cmdline\": [\"svc\", \"-q\", \"\\ufffd\"],\n"
	"    \"complete\": true,\n"
	"    \"running\": false,\n"
	"    \"last_snapshot_age_s\": null,\n"
	"    \"end_reason\": \"stopped\",\n"
	"    \"end_signal\": null,\n"
	"    \"duration_s\": 1.900000001,\n"
	"    \"lost_events\": 4,\n"
	"    \"unknown_frees\": 1,\n"
	"    \"window\": null,\n"
	"    \"sample_bytes\": 0,\n"
	"    \"exit_began_s\": 1.800000000,\n"
	"    \"stopped_at_offset\": null,\n"
	"    \"stop_reason\": null,\n"
	"    \"notes\": [\n"
	"      {\"time_s\": 1.750000000, \"level\": \"error\", \"message\": \"tracing \\\"stopped\\\"\\t\\u0001\"}\n"
	"    ],\n"
	"    \"notes_dropped\": 0,\n"
	"    \"python\": null,\n"
	"    \"analysis_end_s\": 0,\n"
	"    \"teardown\": null\n"
	"  },\n"
	"  \"totals\": {\n"
	"    \"allocations\": 1000,\n"
	"    \"frees\": 988,\n"
	"    \"bytes_allocated\": 9437184,\n"
	"    \"peak_live_bytes\": 5242880,\n"
	"    \"unfreed_at_end_bytes\": 3145728,\n"
	"    \"unfreed_at_end_blocks\": 12,\n"
	"    \"live_bytes_end\": 0,\n"
	"    \"live_blocks_end\": 0,\n"
	"    \"temporary_allocations\": 0,\n"
	"    \"shim_bytes\": 4096,\n"
	"    \"collector_cpu_s\": 0.025000000,\n"
	"    \"process_cpu_s\": 1.500000000\n"
	"  },\n"
	"  \"settings\": {\n"
	"    \"budget_bytes\": 67108864,\n"
	"    \"horizon_s\": 86400,\n"
	"    \"limit_bytes\": null,\n"
	"    \"warmup_s\": 0,\n"
	"    \"false_discovery_rate\": 0.01\n"
	"  },\n"
	"  \"time_to_limit_s\": null,\n"
	"  \"time_to_limit_interval_s\": null,\n"
	"  \"windows\": {\n"
	"    \"time_s\": [],\n"
	"    \"heap_min_bytes\": [],\n"
	"    \"heap_max_bytes\": [],\n"
	"    \"rss_max_bytes\": [],\n"
	"    \"program_rss_max_bytes\": []\n"
	"  },\n"
	"  \"sites\": []\n"
	"}\n";

static struct hc_analysis *wrap(struct hc_analysis *a, struct hc_summary *s, const char *path)
{
	memset(a, 0, sizeof(*a));
	a->path = path;
	a->model.sum = *s;
	a->built = 1;
	hc_detect_defaults(&a->opts);
	return a;
}

static void test_json_report(void)
{
	struct hc_analysis a;
	struct hc_summary s;
	struct hc_reader r = {.status = HC_READ_COMPLETE, .stop_offset = 999, .records = 5,
			      .chunks = 1, .good_bytes = 999};
	hc_summary_init(&s);
	feed(&s);
	hc_summary_finish(&s, &r);
	char *out;
	CAPTURE(out, hc_report_json(f, wrap(&a, &s, "dir/t\"1\".hct")));
	is_str(out, golden_complete, "json report of a complete trace, byte for byte");
	free(out);

	/* The same, cut off in the middle: not complete, where and why. */
	r.status = HC_READ_TRUNCATED;
	r.stop_offset = 4096;
	strcpy(r.reason, "ends inside a chunk payload");
	hc_summary_finish(&s, &r);
	CAPTURE(out, hc_report_json(f, wrap(&a, &s, "t.hct")));
	ok(strstr(out, "\"complete\": false,\n") && strstr(out, "\"stopped_at_offset\": 4096,\n") &&
	   strstr(out, "\"stop_reason\": \"ends inside a chunk payload\",\n"),
	   "json report of a truncated trace: complete false, offset and reason");
	free(out);

	CAPTURE(out, hc_report_text(f, wrap(&a, &s, "t.hct"), 0));
	ok(strstr(out, "  process       pid 77 (parent 7): svc -q \"\\xff\"\n") != NULL,
	   "text report: the command line, escaped where needed");
	ok(strstr(out, "  trace         1.9 s, incomplete: ends inside a chunk at byte offset 4096\n") !=
	   NULL, "text report: incomplete, with the offset");
	ok(strstr(out, "  allocations   1000 (9.0 MiB), frees 988, temporary 0 (freed within 16 us)\n") !=
	   NULL, "text report: allocations with MiB");
	ok(strstr(out, "  heap          peak 5.0 MiB; unfreed at end 3.0 MiB in 12 blocks\n"),
	   "text report: peak and unfreed");
	ok(strstr(out, "  collector     0.03 s of CPU, 1.7% of the process's 1.50 s\n"),
	   "text report: the collector's CPU time and share");
	free(out);
	hc_summary_release(&s);

	/* A trace from before the CPU times: null, and no line. */
	hc_summary_init(&s);
	struct body b = {0};
	uint64_t snap[] = {1, 1 << 20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4096};
	for (size_t i = 0; i < sizeof(snap) / sizeof(snap[0]); i++)
		u(&b, snap[i]);
	add(&s, HC_REC_SNAPSHOT, &b);
	hc_summary_finish(&s, &r);
	CAPTURE(out, hc_report_json(f, wrap(&a, &s, "o.hct")));
	ok(strstr(out, "\"collector_cpu_s\": null,\n") && strstr(out, "\"process_cpu_s\": null\n"),
	   "json report of a trace without CPU times: nulls");
	free(out);
	CAPTURE(out, hc_report_text(f, wrap(&a, &s, "o.hct"), 0));
	ok(strstr(out, "  rss           peak") && !strstr(out, "  collector "),
	   "text report of a trace without CPU times: no collector line");
	free(out);
	hc_summary_release(&s);

	/* Nothing but a file header: nulls where nothing is known. */
	hc_summary_init(&s);
	r.status = HC_READ_COMPLETE;
	hc_summary_finish(&s, &r);
	CAPTURE(out, hc_report_json(f, wrap(&a, &s, "e.hct")));
	ok(strstr(out, "\"pid\": null,\n") && strstr(out, "\"exe\": null,\n") &&
	   strstr(out, "\"cmdline\": [],\n") && strstr(out, "\"end_reason\": null,\n") &&
	   strstr(out, "\"duration_s\": 0.000000000,\n") && strstr(out, "\"notes\": [],\n"),
	   "json report of an empty trace: nulls and empty lists");
	free(out);
	hc_summary_release(&s);
}

int main(void)
{
	test_utf8();
	test_terminal();
	test_json_strings();
	test_quoted();
	test_json_report();
	return done_testing();
}
