/* `heapcreep dump TRACE`: every record as one line of key=value fields (list
 * entries on their own lines, indented), for people and for golden tests.
 * It prints what the file says and never interprets it: no symbols beyond
 * the trace's own SYMBOLS records, no totals; BLOCK ids are the one thing
 * resolved (from deltas to absolute).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "decode.h"
#include "escape.h"
#include "pycode.h"
#include "reader.h"

static const char usage_line[] = "usage: " HC_PROG " dump TRACE";

static void put_ts(FILE *f, const char *key, uint64_t ns)
{
	fprintf(f, " %s=%" PRIu64 ".%09" PRIu64, key, ns / 1000000000u, ns % 1000000000u);
}

static void put_name(FILE *f, const char *key, const char *name, uint64_t v)
{
	if (name)
		fprintf(f, " %s=%s", key, name);
	else
		fprintf(f, " %s=%" PRIu64, key, v);
}

static void put_flags(FILE *f, uint64_t flags)
{
	static const struct { uint64_t bit; const char *name; } names[] = {
		{HC_HDR_SAMPLED, "sampled"},
		{HC_HDR_FORK_CHILD, "fork_child"},
	};
	fputs(" flags=", f);
	if (flags == 0) {
		putc('0', f);
		return;
	}
	const char *sep = "";
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (flags & names[i].bit) {
			fprintf(f, "%s%s", sep, names[i].name);
			sep = ",";
			flags &= ~names[i].bit;
		}
	}
	if (flags)
		fprintf(f, "%s0x%" PRIx64, sep, flags);
}

static int dump_header(FILE *f, const struct hc_rec *rec)
{
	struct hc_header_rec h;
	if (hc_decode_header(rec, &h))
		return -1;
	fprintf(f, "HEADER version=%" PRIu64 " pid=%" PRIu64 " ppid=%" PRIu64 " exec_seq=%" PRIu64
		" start_realtime_ns=%" PRIu64 " start_monotonic_ns=%" PRIu64 " page_size=%" PRIu64
		" cgroup_limit_bytes=%" PRIu64,
		h.version, h.pid, h.ppid, h.exec_seq, h.start_realtime_ns, h.start_monotonic_ns,
		h.page_size, h.cgroup_limit_bytes);
	put_flags(f, h.flags);
	fprintf(f, " sample_bytes=%" PRIu64 " promotion_ns=%" PRIu64 " interval_ns=%" PRIu64 " exe=",
		h.sample_bytes, h.promotion_ns, h.interval_ns);
	hc_put_quoted(f, h.exe.p, h.exe.len);
	fputs(" cmdline=[", f);
	struct hc_args args;
	struct hc_str arg;
	hc_args_init(&args, h.cmdline);
	for (const char *sep = ""; hc_args_next(&args, &arg); sep = " ") {
		fputs(sep, f);
		hc_put_quoted(f, arg.p, arg.len);
	}
	fputs("] exe_build_id=", f);
	hc_put_hex_id(f, h.exe_build_id.p, h.exe_build_id.len);
	fputs(" config=", f);
	hc_put_quoted(f, h.config.p, h.config.len);
	putc('\n', f);
	return 0;
}

static int dump_modules(FILE *f, const struct hc_rec *rec)
{
	struct hc_cur c;
	uint64_t ts, n;
	if (hc_decode_modules_begin(rec, &c, &ts, &n))
		return -1;
	fputs("MODULES", f);
	put_ts(f, "ts", ts);
	fprintf(f, " n=%" PRIu64 "\n", n);
	for (uint64_t i = 0; i < n; i++) {
		struct hc_module_rec m;
		if (hc_decode_module(&c, &m))
			return -1;
		fprintf(f, "  module start=0x%" PRIx64 " end=0x%" PRIx64 " offset=0x%" PRIx64 " path=",
			m.start, m.end, m.file_offset);
		hc_put_quoted(f, m.path.p, m.path.len);
		fputs(" build_id=", f);
		hc_put_hex_id(f, m.build_id.p, m.build_id.len);
		putc('\n', f);
	}
	return 0;
}

static int dump_stack(FILE *f, const struct hc_rec *rec)
{
	struct hc_cur c;
	uint64_t id, n, addr = 0;
	if (hc_decode_stack_begin(rec, &c, &id, &n))
		return -1;
	fprintf(f, "STACK id=%" PRIu64 " frames=[", id);
	for (uint64_t i = 0; i < n; i++) {
		if (hc_decode_frame(&c, &addr)) {
			fputs("]\n", f);
			return -1;
		}
		if (hc_pyframe_is(addr))
			fprintf(f, "%spy:%" PRIu32 "@%" PRId64 "%s", i ? " " : "", hc_pyframe_code(addr),
				hc_pyframe_index(addr), hc_pyframe_entry(addr) ? "!" : "");
		else if (hc_frame_is_mmap(addr))
			fprintf(f, "%smmap", i ? " " : "");
		else
			fprintf(f, "%s0x%" PRIx64, i ? " " : "", addr);
	}
	fputs("]\n", f);
	return 0;
}

static int dump_sites(FILE *f, const struct hc_rec *rec)
{
	struct hc_cur c;
	uint64_t n;
	if (hc_decode_sites_begin(rec, &c, &n))
		return -1;
	fprintf(f, "SITES n=%" PRIu64 "\n", n);
	for (uint64_t i = 0; i < n; i++) {
		struct hc_site_rec s;
		if (hc_decode_site(&c, &s))
			return -1;
		fprintf(f, "  site stack=%" PRIu64 " live_bytes=%" PRIu64 " live_blocks=%" PRIu64
			" allocs=%" PRIu64 " frees=%" PRIu64 " bytes_allocated=%" PRIu64
			" peak_live_bytes=%" PRIu64 " hist={",
			s.stack, s.live_bytes, s.live_blocks, s.allocs, s.frees, s.bytes_allocated,
			s.peak_live_bytes);
		for (unsigned k = 0; k < s.nhist; k++)
			fprintf(f, "%s%u:%" PRIu64, k ? "," : "", s.hist[k].bucket, s.hist[k].count);
		fputs("}\n", f);
	}
	return 0;
}

/* Bytes from the trace without quotes, for the SYMBOLS lines: valid UTF-8
 * as is, backslash and any control or invalid byte escaped. */
static const char *plain_byte(uint8_t c, int invalid, char *buf)
{
	if (c == '\\')
		return "\\\\";
	if (invalid || c < 0x20 || c == 0x7f) {
		snprintf(buf, 8, "\\x%02x", c);
		return buf;
	}
	return NULL;
}

static void put_plain(FILE *f, const char *s, size_t n)
{
	hc_put_utf8(f, s, n, plain_byte);
}

/* SYMBOLS: one line per address, "0xADDR function (file:line)" and, for
 * code inlined there, " <- caller (file:line)" for each function out. */
static int dump_symbols(FILE *f, const struct hc_rec *rec)
{
	struct hc_cur c;
	uint64_t n;
	if (hc_decode_symbols_begin(rec, &c, &n))
		return -1;
	fprintf(f, "SYMBOLS n=%" PRIu64 "\n", n);
	for (uint64_t i = 0; i < n; i++) {
		uint64_t addr, nf;
		if (hc_decode_symbol(&c, &addr, &nf))
			return -1;
		fprintf(f, "  0x%" PRIx64, addr);
		if (nf == 0)
			fputs(" [unknown]", f);
		for (uint64_t k = 0; k < nf; k++) {
			struct hc_symbol_frame_rec fr;
			if (hc_decode_symbol_frame(&c, &fr)) {
				putc('\n', f);
				return -1;
			}
			fputs(k ? " <- " : " ", f);
			put_plain(f, fr.function.p, fr.function.len);
			if (fr.file.len) {
				fputs(" (", f);
				put_plain(f, fr.file.p, fr.file.len);
				if (fr.line)
					fprintf(f, ":%" PRIu64, fr.line);
				putc(')', f);
			}
		}
		putc('\n', f);
	}
	return 0;
}

static int dump_snapshot(FILE *f, const struct hc_rec *rec)
{
	struct hc_snapshot_rec s;
	if (hc_decode_snapshot(rec, &s))
		return -1;
	fputs("SNAPSHOT", f);
	put_ts(f, "ts", s.ts);
	fprintf(f, " rss=%" PRIu64 " heap_live_bytes=%" PRIu64 " heap_live_blocks=%" PRIu64
		" heap_peak_bytes=%" PRIu64 " total_allocs=%" PRIu64 " total_frees=%" PRIu64
		" total_bytes_allocated=%" PRIu64 " events=%" PRIu64 " lost_events=%" PRIu64
		" ring_waits=%" PRIu64 " unknown_frees=%" PRIu64 " shim_bytes=%" PRIu64,
		s.rss_bytes, s.heap_live_bytes, s.heap_live_blocks, s.heap_peak_bytes, s.total_allocs,
		s.total_frees, s.total_bytes_allocated, s.events, s.lost_events, s.ring_waits,
		s.unknown_frees, s.shim_bytes);
	if (s.have_cpu)
		fprintf(f, " collector_cpu_ns=%" PRIu64 " process_cpu_ns=%" PRIu64,
			s.collector_cpu_ns, s.process_cpu_ns);
	fputc('\n', f);
	return 0;
}

/* One record; -1 when its body is malformed. *block_id carries the id of the
 * previous BLOCK record (BLOCK ids are delta-encoded across the trace). */
static int dump_record(FILE *f, const struct hc_rec *rec, uint64_t *block_id)
{
	switch (rec->type) {
	case HC_REC_HEADER:
		return dump_header(f, rec);
	case HC_REC_MODULES:
		return dump_modules(f, rec);
	case HC_REC_STACK:
		return dump_stack(f, rec);
	case HC_REC_SITES:
		return dump_sites(f, rec);
	case HC_REC_SNAPSHOT:
		return dump_snapshot(f, rec);
	case HC_REC_SYMBOLS:
		return dump_symbols(f, rec);
	case HC_REC_CODE: {
		struct hc_code_rec k;
		if (hc_decode_code(rec, &k))
			return -1;
		fprintf(f, "CODE id=%" PRIu64 " firstlineno=%" PRId64 " flags=%" PRIu64 " qualname=",
			k.id, k.firstlineno, k.flags);
		hc_put_quoted(f, k.qualname.p, k.qualname.len);
		fputs(" file=", f);
		hc_put_quoted(f, k.filename.p, k.filename.len);
		fprintf(f, " linetable=%zu\n", k.linetable.len);
		return 0;
	}
	case HC_REC_PYTHON: {
		struct hc_python_rec py;
		if (hc_decode_python(rec, &py))
			return -1;
		char v[32];
		hc_pyversion(v, sizeof(v), (unsigned)py.version);
		fprintf(f, "PYTHON version=%s eval=0x%" PRIx64 "-0x%" PRIx64 " path=", v, py.eval_lo,
			py.eval_hi);
		hc_put_quoted(f, py.path.p, py.path.len);
		putc('\n', f);
		return 0;
	}
	case HC_REC_THREAD: {
		struct hc_thread_rec t;
		if (hc_decode_thread(rec, &t))
			return -1;
		fputs("THREAD", f);
		put_ts(f, "ts", t.ts);
		fprintf(f, " tid=%" PRIu64 " name=", t.tid);
		hc_put_quoted(f, t.name.p, t.name.len);
		putc('\n', f);
		return 0;
	}
	case HC_REC_BLOCK: {
		struct hc_block_rec b;
		if (hc_decode_block(rec, &b))
			return -1;
		*block_id += b.id_delta;
		fprintf(f, "BLOCK id=%" PRIu64 " stack=%" PRIu64 " size=%" PRIu64, *block_id, b.stack,
			b.size);
		put_ts(f, "ts", b.ts);
		fprintf(f, " addr=0x%" PRIx64 "\n", b.addr);
		return 0;
	}
	case HC_REC_FREE: {
		struct hc_free_rec fr;
		if (hc_decode_free(rec, &fr))
			return -1;
		fprintf(f, "FREE id=%" PRIu64, fr.id);
		put_ts(f, "ts", fr.ts);
		putc('\n', f);
		return 0;
	}
	case HC_REC_EXIT: {
		struct hc_exit_rec e;
		if (hc_decode_exit(rec, &e))
			return -1;
		fputs("EXIT", f);
		put_ts(f, "ts", e.ts);
		put_name(f, "how", hc_exit_how_name(e.how), e.how);
		putc('\n', f);
		return 0;
	}
	case HC_REC_END: {
		struct hc_end_rec e;
		if (hc_decode_end(rec, &e))
			return -1;
		fputs("END", f);
		put_ts(f, "ts", e.ts);
		put_name(f, "reason", hc_end_reason_name(e.reason), e.reason);
		if (e.reason == HC_END_SIGNAL) {
			char b[32];
			fprintf(f, " signal=%s", hc_end_text(e.reason, e.signal, b, sizeof(b)));
		}
		putc('\n', f);
		return 0;
	}
	case HC_REC_NOTE: {
		struct hc_note_rec n;
		if (hc_decode_note(rec, &n))
			return -1;
		fputs("NOTE", f);
		put_ts(f, "ts", n.ts);
		put_name(f, "level", hc_note_level_name(n.level), n.level);
		fputs(" message=", f);
		hc_put_quoted(f, n.message.p, n.message.len);
		putc('\n', f);
		return 0;
	}
	case HC_REC_EXEC: {
		struct hc_exec_rec e;
		if (hc_decode_exec(rec, &e))
			return -1;
		fputs("EXEC", f);
		put_ts(f, "ts", e.ts);
		fputs(" path=", f);
		hc_put_quoted(f, e.path.p, e.path.len);
		putc('\n', f);
		return 0;
	}
	}
	fprintf(f, "UNKNOWN type=%" PRIu64 " len=%zu\n", rec->type, rec->len);
	return 0;
}

int hc_cmd_dump(int argc, char **argv)
{
	const char *path;
	int rc = hc_one_trace_arg(argc, argv, usage_line, &path);
	if (rc)
		return rc > 0 ? 0 : HC_EXIT_USAGE;

	struct hc_reader r;
	if (hc_reader_open(&r, path) < 0) {
		hc_err("'%s': %s", path, r.message);
		hc_reader_close(&r);
		return HC_EXIT_USAGE;
	}
	FILE *f = stdout;
	struct hc_rec rec;
	uint64_t block_id = 0, last_type = 0;
	while ((rc = hc_reader_next(&r, &rec)) > 0) {
		if (rec.type != HC_REC_SYMBOLS) /* `symbolize` appends them after END */
			last_type = rec.type;
		if (dump_record(f, &rec, &block_id)) {
			fprintf(f, "  <malformed %s record>\n", hc_record_name(rec.type));
			rc = hc_reader_fail_record(&r, &rec, hc_record_name(rec.type));
			break;
		}
	}
	fprintf(f, "# %" PRIu64 " records in %" PRIu64 " chunks, %" PRIu64 " bytes", r.records,
		r.chunks, r.good_bytes);
	int status = 0;
	if (rc == 0 && last_type == HC_REC_END) {
		fputs(": complete\n", f);
	} else if (rc == 0) {
		/* The writer stopped between chunks without saying goodbye:
		 * usually a SIGKILL or crash right after a flush. */
		fputs(": ends at a chunk boundary, no END record\n", f);
	} else {
		fprintf(f, "\n# stopped at byte offset %" PRIu64 ": %s\n", r.stop_offset, r.reason);
		fflush(f);
		hc_err("'%s': %s", path, r.message);
		status = r.status == HC_READ_TRUNCATED ? 0 : HC_EXIT_USAGE;
	}
	hc_reader_close(&r);
	return status;
}
