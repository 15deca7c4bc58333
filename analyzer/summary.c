/* The trace summary (see summary.h): folds records into a handful of figures.
 * It must never keep anything per record: a trace of many GB passes through
 * it in constant memory (a header copy, one exec path, at most
 * HC_SUMMARY_MAX_NOTES notes).
 */
#include "summary.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hc_summary_init(struct hc_summary *s)
{
	memset(s, 0, sizeof(*s));
}

static void saw_ts(struct hc_summary *s, uint64_t ts)
{
	if (!s->have_ts || ts > s->last_ts)
		s->last_ts = ts;
	s->have_ts = 1;
}

/* A NUL-terminated copy of n bytes. */
static char *copy(const char *p, size_t n)
{
	char *c = malloc(n + 1);
	if (c) {
		memcpy(c, p, n);
		c[n] = '\0';
	}
	return c;
}

static int add_header(struct hc_summary *s, const struct hc_rec *rec)
{
	if (s->have_header) { /* one per trace; a second is counted, not used */
		struct hc_header_rec h;
		return hc_decode_header(rec, &h) ? -EBADMSG : 0;
	}
	uint8_t *body = malloc(rec->len ? rec->len : 1);
	if (!body)
		return -ENOMEM;
	memcpy(body, rec->body, rec->len);
	struct hc_rec copy_rec = *rec;
	copy_rec.body = body;
	if (hc_decode_header(&copy_rec, &s->header)) {
		free(body);
		return -EBADMSG;
	}
	s->header_body = body;
	s->have_header = 1;
	return 0;
}

static int add_note(struct hc_summary *s, const struct hc_rec *rec)
{
	struct hc_note_rec n;
	if (hc_decode_note(rec, &n))
		return -EBADMSG;
	saw_ts(s, n.ts);
	if (s->nnotes == HC_SUMMARY_MAX_NOTES) {
		s->notes_dropped++;
		return 0;
	}
	if (!s->notes) {
		s->notes = calloc(HC_SUMMARY_MAX_NOTES, sizeof(*s->notes));
		if (!s->notes)
			return -ENOMEM;
	}
	size_t len = n.message.len < HC_SUMMARY_MAX_NOTE_LEN ? n.message.len : HC_SUMMARY_MAX_NOTE_LEN;
	struct hc_summary_note *e = &s->notes[s->nnotes];
	e->message = copy(n.message.p, len);
	if (!e->message)
		return -ENOMEM;
	e->len = len;
	e->ts = n.ts;
	e->level = n.level;
	s->nnotes++;
	return 0;
}

int hc_summary_add(struct hc_summary *s, const struct hc_rec *rec)
{
	if (rec->type < sizeof(s->by_type) / sizeof(s->by_type[0]) && hc_record_name(rec->type))
		s->by_type[rec->type]++;
	else
		s->unknown_records++;
	/* SYMBOLS records are appended by `heapcreep symbolize`, after END:
	 * they do not make the trace go on. */
	if (rec->type != HC_REC_SYMBOLS)
		s->end_seen = 0;

	switch (rec->type) {
	case HC_REC_HEADER:
		return add_header(s, rec);
	case HC_REC_SNAPSHOT: {
		struct hc_snapshot_rec snap;
		if (hc_decode_snapshot(rec, &snap))
			return -EBADMSG;
		s->last = snap;
		s->have_snapshot = 1;
		s->snapshots++;
		saw_ts(s, snap.ts);
		return 0;
	}
	case HC_REC_MODULES: {
		struct hc_cur c;
		uint64_t ts, count;
		if (hc_decode_modules_begin(rec, &c, &ts, &count))
			return -EBADMSG;
		saw_ts(s, ts);
		return 0;
	}
	case HC_REC_THREAD: {
		struct hc_thread_rec t;
		if (hc_decode_thread(rec, &t))
			return -EBADMSG;
		saw_ts(s, t.ts);
		return 0;
	}
	case HC_REC_BLOCK: {
		struct hc_block_rec b;
		if (hc_decode_block(rec, &b))
			return -EBADMSG;
		saw_ts(s, b.ts);
		return 0;
	}
	case HC_REC_FREE: {
		struct hc_free_rec f;
		if (hc_decode_free(rec, &f))
			return -EBADMSG;
		saw_ts(s, f.ts);
		return 0;
	}
	case HC_REC_EXIT: {
		struct hc_exit_rec e;
		if (hc_decode_exit(rec, &e))
			return -EBADMSG;
		saw_ts(s, e.ts);
		if (!s->exit_seen) {
			s->exit_seen = 1;
			s->exit_ts = e.ts;
			s->exit_how = e.how;
		}
		return 0;
	}
	case HC_REC_END: {
		struct hc_end_rec e;
		if (hc_decode_end(rec, &e))
			return -EBADMSG;
		saw_ts(s, e.ts);
		s->end_seen = 1;
		s->end_ts = e.ts;
		s->end_reason = e.reason;
		s->end_signal = e.signal;
		return 0;
	}
	case HC_REC_NOTE:
		return add_note(s, rec);
	case HC_REC_EXEC: {
		struct hc_exec_rec e;
		if (hc_decode_exec(rec, &e))
			return -EBADMSG;
		saw_ts(s, e.ts);
		char *path = copy(e.path.p, e.path.len);
		if (!path)
			return -ENOMEM;
		free(s->exec_path);
		s->exec_path = path;
		s->exec_path_len = e.path.len;
		s->exec_ts = e.ts;
		s->execs++;
		return 0;
	}
	}
	/* STACK and SITES carry no time and nothing the summary needs yet;
	 * unknown types are skipped (new types never break old readers). */
	return 0;
}

void hc_summary_finish(struct hc_summary *s, const struct hc_reader *r)
{
	s->status = r->status;
	s->stop_offset = r->stop_offset;
	memcpy(s->reason, r->reason, sizeof(s->reason));
	memcpy(s->message, r->message, sizeof(s->message));
	s->records = r->records;
	s->chunks = r->chunks;
	s->bytes_read = r->good_bytes;
	s->complete = s->end_seen && r->status == HC_READ_COMPLETE;
}

int hc_summary_read(struct hc_summary *s, const char *path)
{
	struct hc_reader r;
	hc_summary_init(s);
	int rc = hc_reader_open(&r, path), nomem = 0;
	s->file_ok = rc == 0;
	if (rc == 0)
		hc_reader_readahead(&r);
	struct hc_rec rec;
	while (rc == 0 && (rc = hc_reader_next(&r, &rec)) > 0) {
		int err = hc_summary_add(s, &rec);
		if (err == -EBADMSG)
			rc = hc_reader_fail_record(&r, &rec, hc_record_name(rec.type));
		else if (err)
			rc = nomem = err;
		else
			rc = 0;
	}
	hc_summary_finish(s, &r);
	hc_reader_close(&r);
	if (nomem) {
		s->status = HC_READ_BAD_FILE;
		s->stop_offset = rec.chunk_offset;
		snprintf(s->reason, sizeof(s->reason), "%s", strerror(-nomem));
		snprintf(s->message, sizeof(s->message), "out of memory at byte offset %llu: %s",
			 (unsigned long long)rec.chunk_offset, s->reason);
	}
	if (rc == -ENODATA) /* truncated: what was read is good */
		rc = 0;
	return rc;
}

void hc_summary_release(struct hc_summary *s)
{
	free(s->header_body);
	free(s->exec_path);
	for (size_t i = 0; i < s->nnotes; i++)
		free(s->notes[i].message);
	free(s->notes);
	hc_summary_init(s);
}
