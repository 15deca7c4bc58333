/* The trace writer (see writer.h): records are gathered into a chunk of about
 * CHUNK_TARGET bytes, compressed with zstd into one frame, framed with a
 * checksummed header and written with a full-write loop that retries EINTR.
 * All memory comes from hc_map (zstd's too), never the traced heap. The first
 * write error is kept and every later call returns it without writing, so a
 * full disk stops the trace, never the program.
 */
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_createCCtx_advanced: mmap-backed memory */
#include "writer.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "heapcreep/trace.h"
#include "mem.h"

/* A chunk is written when its records pass this size: big enough for zstd to
 * find repetition, small enough that a torn chunk loses little. */
#define CHUNK_TARGET (256u << 10)

static void *zalloc(void *opaque, size_t size)
{
	(void)opaque;
	uint64_t *p = hc_map(size + 16);
	if (!p)
		return NULL;
	p[0] = size + 16;
	return p + 2;
}

static void zfree(void *opaque, void *ptr)
{
	(void)opaque;
	if (!ptr)
		return;
	uint64_t *p = (uint64_t *)ptr - 2;
	hc_unmap(p, p[0]);
}

/* Makes room for `need` more bytes in a buffer; -ENOMEM on failure. */
static int reserve(uint8_t **buf, size_t *cap, size_t len, size_t need)
{
	if (len + need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 64u << 10;
	while (ncap < len + need)
		ncap *= 2;
	uint8_t *n = hc_remap(*buf, *cap, ncap);
	if (!n)
		return -ENOMEM;
	*buf = n;
	*cap = ncap;
	return 0;
}

/* Writes everything, retrying EINTR, but not for ever: a descriptor that
 * only ever answers EINTR would keep the collector (and, once the rings are
 * full, the program) waiting. */
#define MAX_EINTR 1000

static int write_all(struct hc_writer *w, const uint8_t *p, size_t n)
{
	int interrupted = 0;
	while (n > 0) {
		ssize_t k = write(w->fd, p, n);
		if (k < 0) {
			if (errno == EINTR && ++interrupted < MAX_EINTR)
				continue;
			return -errno;
		}
		interrupted = 0;
		if (k == 0)
			return -EIO;
		p += k;
		n -= (size_t)k;
		w->bytes_written += (uint64_t)k;
	}
	return 0;
}

static int writer_setup(struct hc_writer *w, int fd, int zstd_level)
{
	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->level = zstd_level;
	if (zstd_level > 0) {
		ZSTD_customMem mem = {zalloc, zfree, NULL};
		w->zctx = ZSTD_createCCtx_advanced(mem);
		if (!w->zctx)
			return w->err = -ENOMEM;
	}
	return 0;
}

int hc_writer_init(struct hc_writer *w, int fd, int zstd_level)
{
	int rc = writer_setup(w, fd, zstd_level);
	if (rc)
		return rc;
	uint8_t hdr[HC_FILE_HEADER_SIZE] = {0};
	memcpy(hdr, HC_TRACE_MAGIC, 8);
	hdr[8] = (uint8_t)HC_TRACE_VERSION;
	hdr[9] = (uint8_t)(HC_TRACE_VERSION >> 8);
	hdr[10] = (uint8_t)HC_FILE_HEADER_SIZE;
	rc = write_all(w, hdr, sizeof(hdr));
	if (rc)
		w->err = rc;
	w->good_bytes = w->bytes_written;
	return rc;
}

int hc_writer_init_append(struct hc_writer *w, int fd, int zstd_level)
{
	int rc = writer_setup(w, fd, zstd_level);
	if (rc)
		return rc;
	off_t end = lseek(fd, 0, SEEK_END);
	if (end < 0)
		return w->err = -errno;
	/* bytes_written counts from the start of the file, as after init. */
	w->bytes_written = w->good_bytes = (uint64_t)end;
	return 0;
}

void hc_writer_release(struct hc_writer *w)
{
	if (w->zctx)
		ZSTD_freeCCtx(w->zctx);
	hc_unmap(w->raw, w->raw_cap);
	hc_unmap(w->body, w->body_cap);
	hc_unmap(w->out, w->out_cap);
	w->zctx = NULL;
	w->raw = w->body = w->out = NULL;
	w->raw_cap = w->body_cap = w->out_cap = 0;
}

void hc_rec_begin(struct hc_writer *w, unsigned type)
{
	w->body_len = 0;
	if (w->err)
		return;
	if (reserve(&w->raw, &w->raw_cap, w->raw_len, 10))
		w->err = -ENOMEM;
	else
		w->raw_len += hc_put_uvarint(w->raw + w->raw_len, type);
}

void hc_rec_u(struct hc_writer *w, uint64_t v)
{
	if (w->err)
		return;
	if (reserve(&w->body, &w->body_cap, w->body_len, 10)) {
		w->err = -ENOMEM;
		return;
	}
	w->body_len += hc_put_uvarint(w->body + w->body_len, v);
}

void hc_rec_s(struct hc_writer *w, int64_t v)
{
	hc_rec_u(w, hc_zigzag(v));
}

void hc_rec_str(struct hc_writer *w, const void *s, size_t n)
{
	hc_rec_u(w, n);
	if (w->err)
		return;
	if (reserve(&w->body, &w->body_cap, w->body_len, n)) {
		w->err = -ENOMEM;
		return;
	}
	memcpy(w->body + w->body_len, s, n);
	w->body_len += n;
}

size_t hc_rec_len(const struct hc_writer *w)
{
	return w->body_len;
}

void hc_rec_end(struct hc_writer *w)
{
	if (w->err)
		return;
	if (reserve(&w->raw, &w->raw_cap, w->raw_len, 10 + w->body_len)) {
		w->err = -ENOMEM;
		return;
	}
	w->raw_len += hc_put_uvarint(w->raw + w->raw_len, w->body_len);
	if (w->body_len)
		memcpy(w->raw + w->raw_len, w->body, w->body_len);
	w->raw_len += w->body_len;
	if (w->raw_len >= CHUNK_TARGET)
		hc_writer_flush(w);
}

int hc_writer_flush(struct hc_writer *w)
{
	if (w->err || w->raw_len == 0)
		return w->err;
	if (w->raw_len > HC_CHUNK_MAX) /* one record larger than a chunk may be */
		return w->err = -E2BIG;
	size_t bound = w->zctx ? ZSTD_compressBound(w->raw_len) : w->raw_len;
	if (reserve(&w->out, &w->out_cap, 0, HC_CHUNK_HEADER_SIZE + bound))
		return w->err = -ENOMEM;
	uint8_t *payload = w->out + HC_CHUNK_HEADER_SIZE;
	size_t stored = w->raw_len;
	uint8_t codec = HC_CODEC_NONE;
	if (w->zctx) {
		size_t z = ZSTD_compressCCtx(w->zctx, payload, bound, w->raw, w->raw_len, w->level);
		if (!ZSTD_isError(z) && z < w->raw_len) {
			stored = z;
			codec = HC_CODEC_ZSTD;
		}
	}
	if (codec == HC_CODEC_NONE)
		memcpy(payload, w->raw, w->raw_len);
	uint8_t *h = w->out;
	memset(h, 0, HC_CHUNK_HEADER_SIZE);
	hc_put_le32(h, HC_CHUNK_MAGIC);
	h[4] = codec;
	hc_put_le32(h + 8, (uint32_t)stored);
	hc_put_le32(h + 12, (uint32_t)w->raw_len);
	hc_put_le32(h + 16, hc_chunk_crc(h, payload, stored));
	int rc = write_all(w, w->out, HC_CHUNK_HEADER_SIZE + stored);
	w->raw_len = 0;
	if (rc)
		w->err = rc;
	else
		w->good_bytes = w->bytes_written;
	return rc;
}

int hc_writer_recover(struct hc_writer *w)
{
	/* A chunk torn by a failed write would hide everything after it from
	 * a reader; cut it off so a last record can still be read. */
	if (ftruncate(w->fd, (off_t)w->good_bytes) || lseek(w->fd, (off_t)w->good_bytes, SEEK_SET) < 0)
		return -errno;
	w->bytes_written = w->good_bytes;
	w->raw_len = 0;
	w->err = 0;
	return 0;
}
