/* The trace reader (see reader.h): checks the file header, then reads one
 * chunk at a time, checks it whole and hands out its records. It must never
 * trust a size from the file before the file backs it: a declared size is
 * checked against HC_CHUNK_MAX and against the bytes left in the file before
 * anything is allocated, so a corrupt length cannot make it allocate 4 GiB.
 */
#include "reader.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "heapcreep/trace.h"

/* Buffers grow in steps of this size; when the file size is unknown (a pipe)
 * a payload buffer grows only as its bytes arrive, doubling from here. */
#define BUF_STEP (64u << 10)

/* Stops the reader with the reason already in r->reason. The message is
 * "<what> at byte offset N: <reason>", or for a torn chunk the sentence the
 * commands print before "reporting what was read". */
static int stop(struct hc_reader *r, enum hc_read_status status, int err, uint64_t offset,
		const char *what)
{
	r->status = status;
	r->err = err;
	r->stop_offset = offset;
	r->cur_len = r->cur_pos = 0;
	if (status == HC_READ_TRUNCATED)
		snprintf(r->message, sizeof(r->message),
			 "trace is incomplete: ends inside a chunk at byte offset %llu",
			 (unsigned long long)offset);
	else
		snprintf(r->message, sizeof(r->message), "%s at byte offset %llu: %s", what,
			 (unsigned long long)offset, r->reason);
	return err;
}

#define SET_REASON(r, fmt)                                              \
	do {                                                            \
		va_list ap_;                                            \
		va_start(ap_, fmt);                                     \
		vsnprintf((r)->reason, sizeof((r)->reason), fmt, ap_); \
		va_end(ap_);                                            \
	} while (0)

static int corrupt(struct hc_reader *r, uint64_t offset, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int corrupt(struct hc_reader *r, uint64_t offset, const char *fmt, ...)
{
	SET_REASON(r, fmt);
	return stop(r, HC_READ_CORRUPT, -EBADMSG, offset, "corrupt chunk");
}

static int bad_header(struct hc_reader *r, uint64_t offset, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int bad_header(struct hc_reader *r, uint64_t offset, const char *fmt, ...)
{
	SET_REASON(r, fmt);
	return stop(r, HC_READ_BAD_FILE, -EINVAL, offset, "bad file header");
}

static int truncated(struct hc_reader *r, uint64_t offset, const char *where)
{
	snprintf(r->reason, sizeof(r->reason), "ends inside a chunk %s", where);
	return stop(r, HC_READ_TRUNCATED, -ENODATA, offset, NULL);
}

/* err: -errno from read() or an allocation */
static int read_error(struct hc_reader *r, int err, uint64_t offset)
{
	snprintf(r->reason, sizeof(r->reason), "%s", strerror(-err));
	return stop(r, HC_READ_BAD_FILE, err, offset, err == -ENOMEM ? "out of memory" : "read error");
}

/* Reads up to n bytes; fewer only at the end of the file. Returns the count
 * or -errno. */
static ssize_t read_full(struct hc_reader *r, uint8_t *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = read(r->fd, buf + got, n - got);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			break;
		got += (size_t)k;
	}
	r->pos += got;
	return (ssize_t)got;
}

/* Makes *buf hold at least need bytes (need <= HC_CHUNK_MAX). */
static int grow(struct hc_reader *r, uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap && *buf)
		return 0;
	size_t ncap = (need + BUF_STEP - 1) / BUF_STEP * BUF_STEP;
	if (ncap == 0)
		ncap = BUF_STEP;
	uint8_t *n = realloc(*buf, ncap);
	if (!n)
		return -ENOMEM;
	*buf = n;
	*cap = ncap;
	size_t held = r->payload_cap + r->raw_cap;
	if (held > r->mem_peak)
		r->mem_peak = held;
	return 0;
}

/* Reads a payload of n bytes into r->payload. When the file size is unknown
 * the buffer grows only as bytes arrive, so a pipe that ends early never
 * makes the reader allocate the declared size. Returns bytes read or -errno. */
static ssize_t read_payload(struct hc_reader *r, size_t n)
{
	size_t got = 0;
	while (got < n) {
		size_t target = n;
		if (!r->size_known) {
			size_t step = got > BUF_STEP ? got * 2 : BUF_STEP;
			if (target > step)
				target = step;
		}
		int rc = grow(r, &r->payload, &r->payload_cap, target);
		if (rc)
			return rc;
		ssize_t k = read_full(r, r->payload + got, target - got);
		if (k < 0)
			return k;
		got += (size_t)k;
		if (got < target)
			break;
	}
	return (ssize_t)got;
}

/* The bytes of the file from offset on, refreshed when the file has grown
 * since we last looked (a trace still being written). */
static uint64_t bytes_left(struct hc_reader *r, uint64_t offset, uint64_t need)
{
	if (r->file_size < offset + need) {
		struct stat st;
		if (fstat(r->fd, &st) == 0 && st.st_size >= 0)
			r->file_size = (uint64_t)st.st_size;
	}
	return r->file_size > offset ? r->file_size - offset : 0;
}

/* Walks the records of a decompressed chunk once, so that no record of a
 * chunk with bad framing is ever handed out. */
static int check_framing(struct hc_reader *r, uint64_t offset, const uint8_t *p, size_t len)
{
	if (len == 0) /* an empty chunk: p may be NULL */
		return 0;
	const uint8_t *q = p, *end = p + len;
	while (q < end) {
		const uint8_t *rec = q;
		uint64_t type, n;
		if (hc_get_uvarint(&q, end, &type) || hc_get_uvarint(&q, end, &n) ||
		    n > (uint64_t)(end - q))
			return corrupt(r, offset,
				       "malformed record framing at byte %zu of the decompressed chunk",
				       (size_t)(rec - p));
		q += n;
	}
	return 0;
}

/* Reads, checks and decompresses the next chunk. Returns 1 with the chunk in
 * r->cur, 0 at a clean end of file, or <0 when the reader stopped. */
static int load_chunk(struct hc_reader *r)
{
	uint64_t off = r->pos;
	uint8_t h[HC_CHUNK_HEADER_SIZE];
	ssize_t n = read_full(r, h, sizeof(h));
	if (n < 0)
		return read_error(r, (int)n, off);
	if (n == 0) {
		r->status = HC_READ_COMPLETE;
		r->stop_offset = off;
		return 0;
	}
	if ((size_t)n < sizeof(h))
		return truncated(r, off, "header");

	uint32_t magic = hc_get_le32(h);
	unsigned codec = h[4];
	uint32_t stored = hc_get_le32(h + 8);
	uint32_t raw = hc_get_le32(h + 12);
	uint32_t crc = hc_get_le32(h + 16);
	if (magic != HC_CHUNK_MAGIC)
		return corrupt(r, off, "bad chunk magic 0x%08x", magic);
	if (codec != HC_CODEC_NONE && codec != HC_CODEC_ZSTD)
		return corrupt(r, off, "unknown codec %u", codec);
	if (stored > HC_CHUNK_MAX)
		return corrupt(r, off, "stored size %u above the %u-byte limit", stored, HC_CHUNK_MAX);
	if (raw > HC_CHUNK_MAX)
		return corrupt(r, off, "raw size %u above the %u-byte limit", raw, HC_CHUNK_MAX);
	if (codec == HC_CODEC_NONE && stored != raw)
		return corrupt(r, off, "uncompressed chunk with stored size %u but raw size %u",
			       stored, raw);
	/* A torn last chunk, or a corrupt size: the checksum cannot tell until
	 * the payload is there, and it is not, so it counts as truncation. */
	if (r->size_known && bytes_left(r, r->pos, stored) < stored)
		return truncated(r, off, "payload");
	if (r->size_known && r->chunks < r->nchunk_flags &&
	    !(r->chunk_flags[r->chunks] & r->want_flags)) {
		/* checked by the pass that set the flags: nothing here is wanted */
		if (lseek(r->fd, (off_t)(r->pos + stored), SEEK_SET) < 0)
			return read_error(r, -errno, r->pos);
		r->pos += stored;
		r->cur_len = r->cur_pos = 0;
		r->chunks++;
		r->chunks_skipped++;
		r->good_bytes = r->pos;
		return 1;
	}

	n = read_payload(r, stored);
	if (n < 0)
		return read_error(r, (int)n, n == -ENOMEM ? off : r->pos);
	if ((size_t)n < stored)
		return truncated(r, off, "payload");
	if (hc_chunk_crc(h, r->payload, stored) != crc)
		return corrupt(r, off, "checksum mismatch");

	const uint8_t *recs = r->payload;
	if (codec == HC_CODEC_ZSTD) {
		unsigned long long fcs = ZSTD_getFrameContentSize(r->payload, stored);
		if (fcs == ZSTD_CONTENTSIZE_ERROR)
			return corrupt(r, off, "zstd: not a zstd frame");
		if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != raw)
			return corrupt(r, off, "zstd frame holds %llu bytes, chunk header says %u",
				       fcs, raw);
		if (grow(r, &r->raw, &r->raw_cap, raw))
			return read_error(r, -ENOMEM, off);
		if (!r->zctx && !(r->zctx = ZSTD_createDCtx()))
			return read_error(r, -ENOMEM, off);
		size_t d = ZSTD_decompressDCtx(r->zctx, r->raw, raw, r->payload, stored);
		if (ZSTD_isError(d))
			return corrupt(r, off, "zstd: %s", ZSTD_getErrorName(d));
		if (d != raw)
			return corrupt(r, off, "decompressed size %zu, chunk header says %u", d, raw);
		recs = r->raw;
	}
	int rc = check_framing(r, off, recs, raw);
	if (rc)
		return rc;
	r->cur = recs;
	r->cur_len = raw;
	r->cur_pos = 0;
	r->cur_offset = off;
	r->cur_index = r->chunks++;
	r->good_bytes = r->pos;
	return 1;
}

int hc_reader_open(struct hc_reader *r, const char *path)
{
	memset(r, 0, sizeof(*r));
	r->path = path;
	r->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (r->fd < 0) {
		int err = -errno;
		read_error(r, err, 0);
		snprintf(r->message, sizeof(r->message), "cannot open: %s", r->reason);
		return err;
	}
	struct stat st;
	if (fstat(r->fd, &st) == 0 && S_ISREG(st.st_mode)) {
		r->size_known = 1;
		r->file_size = (uint64_t)st.st_size;
	}

	uint8_t h[HC_FILE_HEADER_SIZE];
	ssize_t n = read_full(r, h, sizeof(h));
	if (n < 0)
		return read_error(r, (int)n, 0);
	if (n == 0)
		return bad_header(r, 0, "file is empty");
	if ((size_t)n < 8 || memcmp(h, HC_TRACE_MAGIC, 8) != 0) {
		if ((size_t)n < 8 && memcmp(h, HC_TRACE_MAGIC, (size_t)n) == 0)
			return bad_header(r, 0, "file is %zd bytes, shorter than the %u-byte file header",
					  n, HC_FILE_HEADER_SIZE);
		return bad_header(r, 0, "bad magic: not a heapcreep trace");
	}
	if ((size_t)n < sizeof(h))
		return bad_header(r, 0, "file is %zd bytes, shorter than the %u-byte file header", n,
				  HC_FILE_HEADER_SIZE);
	r->version = (uint16_t)(h[8] | h[9] << 8);
	unsigned hsize = (unsigned)(h[10] | h[11] << 8);
	r->file_flags = hc_get_le32(h + 12);
	if (r->version != HC_TRACE_VERSION)
		return bad_header(r, 8, "unsupported format version %u (this heapcreep reads version %u)",
				  r->version, HC_TRACE_VERSION);
	if (hsize < HC_FILE_HEADER_SIZE)
		return bad_header(r, 10, "header size %u below %u", hsize, HC_FILE_HEADER_SIZE);
	/* A later writer may lengthen the header; what we do not know, we skip. */
	for (unsigned left = hsize - HC_FILE_HEADER_SIZE; left > 0;) {
		unsigned k = left < sizeof(h) ? left : (unsigned)sizeof(h);
		n = read_full(r, h, k);
		if (n < 0)
			return read_error(r, (int)n, r->pos);
		if ((unsigned)n < k)
			return bad_header(r, r->pos, "file ends inside the %u-byte file header", hsize);
		left -= k;
	}
	r->good_bytes = r->pos;
	return 0;
}

/* --- read-ahead ------------------------------------------------------------
 * A second thread runs load_chunk() on its own copy of the reader and
 * publishes each chunk, with the reader's state as it stood after that chunk,
 * in a slot. The caller's thread takes the slots in order and makes their
 * state its own, so it returns what the reader without read-ahead would: the
 * same records, and the same status, offset and message where it stops. A
 * slot owns the buffer that holds its records; the thread takes the slot's
 * consumed buffer in exchange, so buffers are reused, never copied. */

#define AHEAD_SLOTS 3 /* one being read by the caller, two ahead */

struct ahead_slot {
	int rc;                /* load_chunk()'s return for this chunk */
	struct hc_reader st;   /* the thread's reader after it */
	uint8_t *buf;          /* holds the chunk's records (st.cur) */
	size_t cap;
};

struct hc_ahead {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t more, room;
	unsigned filled;       /* slots published and not yet released */
	unsigned head, tail;   /* next slot to take / to fill */
	int held, quit;
	struct hc_reader w;    /* the thread's reader: same fd, own buffers */
	struct ahead_slot slot[AHEAD_SLOTS];
};

static void swap_buf(uint8_t **a, size_t *acap, uint8_t **b, size_t *bcap)
{
	uint8_t *t = *a;
	size_t c = *acap;
	*a = *b;
	*acap = *bcap;
	*b = t;
	*bcap = c;
}

static void *ahead_main(void *arg)
{
	struct hc_ahead *a = arg;
	struct hc_reader *w = &a->w;
	for (;;) {
		pthread_mutex_lock(&a->mu);
		while (a->filled == AHEAD_SLOTS && !a->quit)
			pthread_cond_wait(&a->room, &a->mu);
		int quit = a->quit;
		pthread_mutex_unlock(&a->mu);
		if (quit)
			break;
		struct ahead_slot *s = &a->slot[a->tail];
		int rc;
		do /* chunks skipped or empty hold no record: read on */
			rc = load_chunk(w);
		while (rc == 1 && w->cur_len == 0);
		if (rc == 1) {
			if (w->cur == w->raw)
				swap_buf(&w->raw, &w->raw_cap, &s->buf, &s->cap);
			else
				swap_buf(&w->payload, &w->payload_cap, &s->buf, &s->cap);
		}
		size_t held = w->payload_cap + w->raw_cap; /* only this thread sets caps */
		for (unsigned i = 0; i < AHEAD_SLOTS; i++)
			held += a->slot[i].cap;
		if (held > w->mem_peak)
			w->mem_peak = held;
		s->rc = rc;
		s->st = *w;
		a->tail = (a->tail + 1) % AHEAD_SLOTS;
		pthread_mutex_lock(&a->mu);
		a->filled++;
		pthread_cond_signal(&a->more);
		pthread_mutex_unlock(&a->mu);
		if (rc <= 0)
			break;
	}
	return NULL;
}

void hc_reader_readahead(struct hc_reader *r)
{
	if (!r->size_known || r->status != HC_READ_ACTIVE || r->ahead || r->cur_len)
		return;
	struct hc_ahead *a = calloc(1, sizeof(*a));
	if (!a)
		return;
	a->w = *r; /* the buffers move to the thread's reader */
	r->payload = r->raw = NULL;
	r->payload_cap = r->raw_cap = 0;
	r->zctx = NULL;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->more, NULL);
	pthread_cond_init(&a->room, NULL);
	if (pthread_create(&a->thread, NULL, ahead_main, a)) {
		r->payload = a->w.payload, r->payload_cap = a->w.payload_cap;
		r->raw = a->w.raw, r->raw_cap = a->w.raw_cap;
		r->zctx = a->w.zctx;
		pthread_cond_destroy(&a->more);
		pthread_cond_destroy(&a->room);
		pthread_mutex_destroy(&a->mu);
		free(a);
		return;
	}
	r->ahead = a;
}

/* The next chunk from the thread, in place of load_chunk(). */
static int ahead_take(struct hc_reader *r)
{
	struct hc_ahead *a = r->ahead;
	pthread_mutex_lock(&a->mu);
	if (a->held) {
		a->held = 0;
		a->head = (a->head + 1) % AHEAD_SLOTS;
		a->filled--;
		pthread_cond_signal(&a->room);
	}
	while (a->filled == 0)
		pthread_cond_wait(&a->more, &a->mu);
	pthread_mutex_unlock(&a->mu);
	const struct ahead_slot *s = &a->slot[a->head];
	const struct hc_reader *st = &s->st;
	a->held = 1;
	r->pos = st->pos;
	r->file_size = st->file_size;
	r->status = st->status;
	r->err = st->err;
	r->stop_offset = st->stop_offset;
	memcpy(r->reason, st->reason, sizeof(r->reason));
	memcpy(r->message, st->message, sizeof(r->message));
	r->chunks = st->chunks;
	r->good_bytes = st->good_bytes;
	r->chunks_skipped = st->chunks_skipped;
	r->cur = st->cur;
	r->cur_len = st->cur_len;
	r->cur_pos = st->cur_pos;
	r->cur_offset = st->cur_offset;
	r->cur_index = st->cur_index;
	r->mem_peak = st->mem_peak;
	return s->rc;
}

static void ahead_stop(struct hc_reader *r)
{
	struct hc_ahead *a = r->ahead;
	pthread_mutex_lock(&a->mu);
	a->quit = 1;
	pthread_cond_signal(&a->room);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->thread, NULL);
	for (unsigned i = 0; i < AHEAD_SLOTS; i++)
		free(a->slot[i].buf);
	free(a->w.payload);
	free(a->w.raw);
	ZSTD_freeDCtx(a->w.zctx);
	pthread_cond_destroy(&a->more);
	pthread_cond_destroy(&a->room);
	pthread_mutex_destroy(&a->mu);
	free(a);
	r->ahead = NULL;
}

int hc_reader_next(struct hc_reader *r, struct hc_rec *rec)
{
	for (;;) {
		if (r->status == HC_READ_COMPLETE)
			return 0;
		if (r->status != HC_READ_ACTIVE)
			return r->err;
		if (r->cur_pos < r->cur_len) {
			/* check_framing() has vouched for these varints and lengths. */
			const uint8_t *start = r->cur + r->cur_pos, *q = start;
			const uint8_t *end = r->cur + r->cur_len;
			uint64_t type = 0, n = 0;
			hc_get_uvarint(&q, end, &type);
			hc_get_uvarint(&q, end, &n);
			rec->type = type;
			rec->body = q;
			rec->len = (size_t)n;
			rec->chunk_offset = r->cur_offset;
			rec->chunk_index = r->cur_index;
			rec->raw_offset = r->cur_pos;
			r->cur_pos = (size_t)(q + n - r->cur);
			r->records++;
			return 1;
		}
		int rc = r->ahead ? ahead_take(r) : load_chunk(r);
		if (rc <= 0)
			return rc;
	}
}

int hc_reader_fail_record(struct hc_reader *r, const struct hc_rec *rec, const char *what)
{
	r->chunks = rec->chunk_index;
	r->good_bytes = rec->chunk_offset;
	return corrupt(r, rec->chunk_offset, "malformed %s record at byte %zu of the decompressed chunk",
		       what, rec->raw_offset);
}

void hc_reader_close(struct hc_reader *r)
{
	if (r->ahead)
		ahead_stop(r);
	if (r->fd >= 0)
		close(r->fd);
	free(r->payload);
	free(r->raw);
	ZSTD_freeDCtx(r->zctx);
	r->zctx = NULL;
	r->fd = -1;
	r->payload = r->raw = NULL;
	r->payload_cap = r->raw_cap = 0;
	r->cur = NULL;
	r->cur_len = r->cur_pos = 0;
}

int hc_cur_str(struct hc_cur *c, const char **s, size_t *len)
{
	const uint8_t *p = c->p;
	uint64_t n;
	if (hc_get_uvarint(&p, c->end, &n) || n > (uint64_t)(c->end - p))
		return -1;
	*s = (const char *)p;
	*len = (size_t)n;
	c->p = p + n;
	return 0;
}
