/* Record decoding: turns the body of one record (see include/heapcreep/trace.h
 * for the fields) into a struct, so every command reads the fields the same
 * way. Strings point into the record body and live as long as it does. A
 * decoder never allocates and never prints; -1 means a malformed body.
 * Bytes after the fields a decoder knows are ignored (fields may be appended).
 */
#ifndef HC_DECODE_H
#define HC_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "heapcreep/trace.h"
#include "reader.h"

struct hc_str {
	const char *p;        /* not NUL-terminated */
	size_t len;
};

struct hc_header_rec {
	uint64_t version, pid, ppid, exec_seq, start_realtime_ns, start_monotonic_ns;
	uint64_t page_size, cgroup_limit_bytes, flags, sample_bytes, promotion_ns, interval_ns;
	struct hc_str exe, cmdline, exe_build_id, config;
	/* 0 in traces written before these fields */
	uint64_t process_start_realtime_ns, window;
};

struct hc_snapshot_rec {
	uint64_t ts, rss_bytes, heap_live_bytes, heap_live_blocks, heap_peak_bytes;
	uint64_t total_allocs, total_frees, total_bytes_allocated, events, lost_events;
	uint64_t ring_waits, unknown_frees, shim_bytes;
	/* CPU time of the collector thread and of the process since the trace
	 * began; have_cpu 0: a trace written before these fields */
	uint64_t collector_cpu_ns, process_cpu_ns;
	int have_cpu;
	/* of heap_live_bytes, the anonymous mappings' (have_mapped 0: a trace
	 * written before this field) */
	uint64_t mapped_live_bytes;
	int have_mapped;
	uint64_t unknown_free_bytes; /* 0 in traces written before it */
};

struct hc_module_rec {
	uint64_t start, end, file_offset;
	struct hc_str path, build_id;
};

struct hc_site_rec {
	uint64_t stack, live_bytes, live_blocks, allocs, frees, bytes_allocated, peak_live_bytes;
	unsigned nhist;       /* at most HC_HIST_BUCKETS: a bucket appears once */
	struct {
		unsigned bucket;  /* < HC_HIST_BUCKETS */
		uint64_t count;
	} hist[HC_HIST_BUCKETS];
};

struct hc_thread_rec { uint64_t ts, tid; struct hc_str name; };
struct hc_block_rec { uint64_t id_delta, stack, size, ts, addr; };
struct hc_free_rec { uint64_t id, ts; };
struct hc_exit_rec { uint64_t ts, how; };
struct hc_end_rec { uint64_t ts, reason, signal; /* signal: HC_END_SIGNAL's, else 0 */ };
struct hc_note_rec { uint64_t ts, level; struct hc_str message; };
struct hc_exec_rec { uint64_t ts; struct hc_str path; };
struct hc_symbol_frame_rec { struct hc_str function, file; uint64_t line; };
struct hc_code_rec {
	uint64_t id, flags;
	int64_t firstlineno;
	struct hc_str qualname, filename, linetable;
};
struct hc_python_rec {
	uint64_t version, eval_lo, eval_hi;
	struct hc_str path, pymalloc; /* pymalloc: PYTHONMALLOC, empty if unset */
};

/* "SNAPSHOT" for HC_REC_SNAPSHOT; NULL for a type this analyzer does not know. */
const char *hc_record_name(uint64_t type);

int hc_decode_header(const struct hc_rec *rec, struct hc_header_rec *h);
int hc_decode_snapshot(const struct hc_rec *rec, struct hc_snapshot_rec *s);
int hc_decode_thread(const struct hc_rec *rec, struct hc_thread_rec *t);
int hc_decode_block(const struct hc_rec *rec, struct hc_block_rec *b);
int hc_decode_free(const struct hc_rec *rec, struct hc_free_rec *f);
int hc_decode_exit(const struct hc_rec *rec, struct hc_exit_rec *e);
int hc_decode_end(const struct hc_rec *rec, struct hc_end_rec *e);
int hc_decode_note(const struct hc_rec *rec, struct hc_note_rec *n);
int hc_decode_exec(const struct hc_rec *rec, struct hc_exec_rec *e);
/* CODE: an id of 0 or past 2^30 is malformed. */
int hc_decode_code(const struct hc_rec *rec, struct hc_code_rec *k);
int hc_decode_python(const struct hc_rec *rec, struct hc_python_rec *p);

/* Records with a list: the *_begin call reads what precedes the list and
 * leaves the cursor on its first entry; each entry call reads one entry.
 * Counts come from the file: callers loop on them without allocating. */
int hc_decode_modules_begin(const struct hc_rec *rec, struct hc_cur *c, uint64_t *ts,
			    uint64_t *count);
int hc_decode_module(struct hc_cur *c, struct hc_module_rec *m);
int hc_decode_stack_begin(const struct hc_rec *rec, struct hc_cur *c, uint64_t *id,
			  uint64_t *nframes);
/* Frame addresses are deltas; *addr carries the previous one in and out
 * (start it at 0). */
int hc_decode_frame(struct hc_cur *c, uint64_t *addr);
int hc_decode_sites_begin(const struct hc_rec *rec, struct hc_cur *c, uint64_t *count);
int hc_decode_site(struct hc_cur *c, struct hc_site_rec *s);
/* SYMBOLS: count entries, each an address and its nframes frames (read each
 * with hc_decode_symbol_frame before the next entry). An empty file string
 * means the file is unknown, line 0 the line. */
int hc_decode_symbols_begin(const struct hc_rec *rec, struct hc_cur *c, uint64_t *count);
int hc_decode_symbol(struct hc_cur *c, uint64_t *addr, uint64_t *nframes);
int hc_decode_symbol_frame(struct hc_cur *c, struct hc_symbol_frame_rec *f);

/* The arguments of a command line as the HEADER stores it: separated (not
 * terminated) by NUL, so "a\0b" is a, b and "a\0" is a and an empty one;
 * an empty command line has no arguments. */
struct hc_args {
	struct hc_str rest;
	int done;
};

static inline void hc_args_init(struct hc_args *it, struct hc_str cmdline)
{
	it->rest = cmdline;
	it->done = cmdline.len == 0;
}

/* 1 and the next argument, or 0 when none is left. */
int hc_args_next(struct hc_args *it, struct hc_str *arg);

/* Names of enum values, or NULL for a value this analyzer does not know. */
const char *hc_exit_how_name(uint64_t how);
const char *hc_end_reason_name(uint64_t reason);
/* How the process ended, for a report: "exit", "exec", "SIGSEGV"...; buf
 * holds the words for a signal without a name. */
const char *hc_end_text(uint64_t reason, uint64_t signal, char *buf, size_t cap);
const char *hc_note_level_name(uint64_t level);

#endif
