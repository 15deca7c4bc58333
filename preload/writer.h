/* The trace writer: turns records into framed, checksummed, zstd-compressed
 * chunks on a file descriptor (include/heapcreep/trace.h has the format).
 * Used by the collector thread only (and by tests that build traces); it
 * never calls stdio and never writes to stderr: failures come back as -errno
 * and the caller decides what to tell the user.
 */
#ifndef HC_WRITER_H
#define HC_WRITER_H

#include <stddef.h>
#include <stdint.h>

struct hc_writer {
	int fd;
	int err;            /* first write error (-errno), sticky; 0 while healthy */
	int level;          /* zstd level; 0 stores chunks uncompressed */
	uint8_t *raw;       /* records of the chunk being built */
	size_t raw_len, raw_cap;
	uint8_t *body;      /* scratch for the record being built */
	size_t body_len, body_cap;
	uint8_t *out;       /* compressed chunk */
	size_t out_cap;
	void *zctx;
	uint64_t bytes_written;
	uint64_t good_bytes; /* file size after the last chunk written whole */
};

/* Takes ownership of fd's write position; writes the file header. */
int hc_writer_init(struct hc_writer *w, int fd, int zstd_level);
/* For adding chunks to an existing trace (`heapcreep symbolize`): no file
 * header is written; fd is positioned at its end (open it O_APPEND, and cut
 * any torn chunk off first), and good_bytes starts there, so
 * hc_writer_recover() never cuts into what was already in the file. */
int hc_writer_init_append(struct hc_writer *w, int fd, int zstd_level);
/* Frees buffers; does not close fd. */
void hc_writer_release(struct hc_writer *w);

/* Record building: begin, add fields, end. Fields go to a scratch body so the
 * length prefix can be written in front of it. A record is appended to the
 * current chunk; the chunk is written out when it passes its target size or
 * on hc_writer_flush(). After an error every call is a cheap no-op. */
void hc_rec_begin(struct hc_writer *w, unsigned type);
void hc_rec_u(struct hc_writer *w, uint64_t v);
void hc_rec_s(struct hc_writer *w, int64_t v);
void hc_rec_str(struct hc_writer *w, const void *s, size_t n);
void hc_rec_end(struct hc_writer *w);
/* Size of the record under construction, to split very long records. */
size_t hc_rec_len(const struct hc_writer *w);

/* Writes the pending chunk (if any). Returns 0 or the sticky -errno. */
int hc_writer_flush(struct hc_writer *w);
/* After an error: cuts the file back to its last whole chunk, drops what
 * was pending and clears the error, so that a final record can be tried. */
int hc_writer_recover(struct hc_writer *w);

#endif
