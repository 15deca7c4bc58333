/* The trace summary: one pass over a trace keeping what the reports need for
 * now (the header, the last SNAPSHOT, how and when the trace ended, the
 * notes) and how the reading went. Its memory does not grow with the trace:
 * nothing is kept per record, and notes are capped.
 */
#ifndef HC_SUMMARY_H
#define HC_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "decode.h"
#include "reader.h"

/* Notes beyond these are counted, not kept; a longer message is cut. */
#define HC_SUMMARY_MAX_NOTES 100
#define HC_SUMMARY_MAX_NOTE_LEN 4096

struct hc_summary_note {
	uint64_t ts, level;
	char *message;        /* NUL-terminated copy; len bytes (may hold NULs) */
	size_t len;
};

struct hc_summary {
	/* How reading went (copied from the reader at the end). file_ok: the
	 * file opened and its header passed, so the figures below mean something. */
	int file_ok;
	enum hc_read_status status;
	uint64_t stop_offset;
	char reason[128];     /* short, for "stop_reason" */
	char message[256];    /* the line for the user, without program and path */
	uint64_t records, chunks, bytes_read;
	uint64_t by_type[16]; /* records per known type (index = HC_REC_*) */
	uint64_t unknown_records;

	/* The first HEADER; its strings point into header_body, a copy. */
	int have_header;
	struct hc_header_rec header;
	uint8_t *header_body;

	/* The last SNAPSHOT. */
	int have_snapshot;
	uint64_t snapshots;
	struct hc_snapshot_rec last;

	/* The latest time any record carries (ns since the trace's start). */
	int have_ts;
	uint64_t last_ts;

	/* end_seen: the last record read was an END, SYMBOLS records appended
	 * after it aside (any other record after an END means the trace went
	 * on, e.g. after a failed exec). */
	int end_seen;
	uint64_t end_ts, end_reason, end_signal;
	int exit_seen;        /* the first EXIT: when teardown began */
	uint64_t exit_ts, exit_how;
	uint64_t execs;       /* EXEC records, and the last one */
	uint64_t exec_ts;
	char *exec_path;
	size_t exec_path_len;

	struct hc_summary_note *notes;
	size_t nnotes, notes_dropped;

	/* An END record was the last record and the file ended cleanly. */
	int complete;
};

void hc_summary_init(struct hc_summary *s);
/* Takes one record into the summary. Returns 0, -EBADMSG when the body of a
 * record the summary reads is malformed, -ENOMEM. */
int hc_summary_add(struct hc_summary *s, const struct hc_rec *rec);
/* Copies the reader's status and counts, and works out `complete`. */
void hc_summary_finish(struct hc_summary *s, const struct hc_reader *r);
/* The whole pass: open, add every record, finish. Returns 0 when the trace
 * was read to its end or to a truncation (status COMPLETE or TRUNCATED), or
 * -errno when it could not be opened, was corrupt or could not be read; the
 * summary then holds what was read before, and message says why. */
int hc_summary_read(struct hc_summary *s, const char *path);
void hc_summary_release(struct hc_summary *s);

#endif
