/* The trace reader: streams the records of a trace file one chunk at a time
 * (include/heapcreep/trace.h has the format), and says exactly where and why
 * it stopped. It never holds more than one chunk (a few with read-ahead),
 * never allocates a size the file does not back, and never prints: callers
 * turn its status into words.
 *
 * Invariants callers rely on:
 *  - a chunk is checked whole (size limits, checksum, zstd, the framing of
 *    every record in it) before its first record is handed out, so a torn or
 *    corrupt chunk yields no record at all;
 *  - a record's body stays valid until the next hc_reader_next() call;
 *  - once hc_reader_next() has returned 0 or <0, it keeps returning that.
 */
#ifndef HC_READER_H
#define HC_READER_H

#include <stddef.h>
#include <stdint.h>

#include "heapcreep/trace.h"

enum hc_read_status {
	HC_READ_ACTIVE = 0,   /* records may follow */
	HC_READ_COMPLETE,     /* the file ended at a chunk boundary */
	HC_READ_TRUNCATED,    /* the file ends inside a chunk: the writer was cut
			       * off (SIGKILL, crash, full disk); not corruption */
	HC_READ_CORRUPT,      /* a chunk or a record failed a check */
	HC_READ_BAD_FILE,     /* cannot open or read, or a bad file header */
};

/* One record as read ("hc_record" is taken: trace.h's enum of record types). */
struct hc_rec {
	uint64_t type;        /* HC_REC_*, or a type this reader does not know */
	const uint8_t *body;
	size_t len;
	uint64_t chunk_offset; /* byte offset of the record's chunk in the file */
	uint64_t chunk_index;  /* 0 for the first chunk */
	size_t raw_offset;     /* offset of the record in the decompressed chunk */
};

struct hc_reader {
	const char *path;     /* not copied: the caller keeps it alive */
	int fd;
	int size_known;       /* a regular file: file_size is the size to check against */
	uint64_t file_size;
	uint64_t pos;         /* file offset of the next byte to read */
	uint16_t version;     /* from the file header */
	uint32_t file_flags;

	/* Where the reader stands: what it stopped on, and where. */
	enum hc_read_status status;
	int err;              /* -errno for hc_reader_next() to return once stopped */
	uint64_t stop_offset;
	char reason[128];     /* short: "checksum mismatch" */
	char message[256];    /* one line for the user, without program and path */

	uint64_t chunks;      /* chunks read whole so far */
	uint64_t records;     /* records handed out so far */
	uint64_t good_bytes;  /* file offset just past the last whole chunk */

	/* The current chunk; payload and raw may be the same buffer. */
	uint8_t *payload;
	size_t payload_cap;
	uint8_t *raw;
	size_t raw_cap;
	const uint8_t *cur;   /* decompressed records of the current chunk */
	size_t cur_len, cur_pos;
	uint64_t cur_offset, cur_index;
	size_t mem_peak;      /* most buffer bytes held at once (for tests) */
	void *zctx;           /* ZSTD_DCtx, reused from chunk to chunk */

	/* A later pass over a file an earlier pass read whole may skip chunks:
	 * chunk i (i < nchunk_flags) is passed over unread, neither checked nor
	 * decompressed, when chunk_flags[i] & want_flags is 0. Set by the
	 * caller after hc_reader_open; used for regular files only. */
	const uint8_t *chunk_flags;
	size_t nchunk_flags;
	uint8_t want_flags;
	uint64_t chunks_skipped;

	struct hc_ahead *ahead; /* the read-ahead thread, if one runs */
};

/* Opens path and checks the file header. Returns 0, or -errno with status
 * HC_READ_BAD_FILE and message saying why (the reader must still be closed). */
int hc_reader_open(struct hc_reader *r, const char *path);
/* Reads, checks and decompresses chunks on a second thread, a few ahead of
 * the records handed out, so that zstd and the checksum cost no time on the
 * caller's thread. Regular files only; call after hc_reader_open (and after
 * setting chunk_flags), before the first hc_reader_next. Records, statuses,
 * offsets and messages are exactly those of the reader without it; when the
 * thread cannot be started the reader simply stays on the caller's thread. */
void hc_reader_readahead(struct hc_reader *r);
/* 1 and a record; 0 at a clean end of file (status HC_READ_COMPLETE); <0 when
 * reading stopped early: -ENODATA truncated, -EBADMSG corrupt, -errno for a
 * read error. */
int hc_reader_next(struct hc_reader *r, struct hc_rec *rec);
/* Stops the reader as corrupt because a record the caller decoded was
 * malformed (what: "SNAPSHOT"); returns -EBADMSG. */
int hc_reader_fail_record(struct hc_reader *r, const struct hc_rec *rec, const char *what);
void hc_reader_close(struct hc_reader *r);

/* --- record bodies ------------------------------------------------------- */

/* A cursor over one record body. Each call returns 0 and advances, or -1 when
 * the body is exhausted or malformed (the cursor then stays where it was). */
struct hc_cur {
	const uint8_t *p, *end;
};

static inline struct hc_cur hc_cur_of(const struct hc_rec *rec)
{
	struct hc_cur c = {rec->body, rec->body + rec->len};
	return c;
}

/* Inline: a big trace's analysis decodes a few hundred million of them. */
static inline int hc_cur_u(struct hc_cur *c, uint64_t *v)
{
	if (c->p < c->end && !(*c->p & 0x80)) { /* the common one-byte case */
		*v = *c->p++;
		return 0;
	}
	return hc_get_uvarint(&c->p, c->end, v);
}

static inline int hc_cur_s(struct hc_cur *c, int64_t *v)
{
	uint64_t u;
	if (hc_cur_u(c, &u))
		return -1;
	*v = hc_unzigzag(u);
	return 0;
}
/* A string (length + bytes) that lies wholly inside the body; *s points into
 * the body and is not NUL-terminated. */
int hc_cur_str(struct hc_cur *c, const char **s, size_t *len);

#endif
