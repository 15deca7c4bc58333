/* Unit tests of the trace reader and the summary: traces built with the real
 * writer are read back field by field, then cut at every byte, bit-flipped,
 * given absurd sizes and random bytes (files in a private temporary folder).
 * The reader must stop with the right status and byte offset, never crash,
 * and never hand out a record of a torn or corrupt chunk. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "decode.h"
#include "heapcreep/trace.h"
#include "reader.h"
#include "summary.h"
#include "tap.h"
#include "writer.h"

#define MAXCH 64

static char tmpdir[256];
static unsigned tmpn;

static void die(const char *what)
{
	perror(what);
	exit(99);
}

static void tmp_path(char *buf, size_t n)
{
	snprintf(buf, n, "%s/t%u.hct", tmpdir, tmpn++);
}

static void write_file(const char *path, const uint8_t *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die("open");
	while (n > 0) {
		ssize_t k = write(fd, p, n);
		if (k <= 0)
			die("write");
		p += k;
		n -= (size_t)k;
	}
	close(fd);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st))
		die("slurp");
	uint8_t *p = malloc((size_t)st.st_size + 1);
	if (!p || read(fd, p, (size_t)st.st_size) != st.st_size)
		die("slurp read");
	close(fd);
	*len = (size_t)st.st_size;
	return p;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return rng_state = x;
}

/* --- synthetic traces: record i has type 100+i and a body that depends on i */

/* Record 0 must not have an empty body: the writer's hc_rec_end() passes a
 * NULL body to memcpy when no field was ever added (UBSan stops on it). */
static void gen_record(struct hc_writer *w, unsigned i)
{
	char s[64], big[4096];
	hc_rec_begin(w, 100 + i);
	switch (i % 4) {
	case 0:
		hc_rec_u(w, i);
		hc_rec_s(w, -(int64_t)i * 7);
		snprintf(s, sizeof(s), "rec-%u", i);
		hc_rec_str(w, s, strlen(s));
		break;
	case 1: /* long and repetitive: makes its chunk worth compressing */
		for (unsigned j = 0; j < 1000 + i; j++)
			big[j] = (char)('a' + j % 13);
		hc_rec_u(w, i);
		hc_rec_str(w, big, 1000 + i);
		break;
	case 2:
		hc_rec_u(w, UINT64_MAX - i);
		hc_rec_s(w, INT64_MIN + (int64_t)i);
		hc_rec_s(w, INT64_MAX - (int64_t)i);
		break;
	case 3: /* empty body */
		break;
	}
	hc_rec_end(w);
}

/* 1 when rec is exactly record i as gen_record wrote it. */
static int check_record(const struct hc_rec *rec, unsigned i)
{
	if (rec->type != 100 + i)
		return 0;
	struct hc_cur c = hc_cur_of(rec);
	uint64_t u;
	int64_t v;
	const char *p;
	size_t n;
	char s[64];
	switch (i % 4) {
	case 0:
		snprintf(s, sizeof(s), "rec-%u", i);
		if (hc_cur_u(&c, &u) || u != i || hc_cur_s(&c, &v) || v != -(int64_t)i * 7 ||
		    hc_cur_str(&c, &p, &n) || n != strlen(s) || memcmp(p, s, n))
			return 0;
		break;
	case 1:
		if (hc_cur_u(&c, &u) || u != i || hc_cur_str(&c, &p, &n) || n != 1000 + i)
			return 0;
		for (unsigned j = 0; j < n; j++)
			if (p[j] != (char)('a' + j % 13))
				return 0;
		break;
	case 2:
		if (hc_cur_u(&c, &u) || u != UINT64_MAX - i || hc_cur_s(&c, &v) ||
		    v != INT64_MIN + (int64_t)i || hc_cur_s(&c, &v) || v != INT64_MAX - (int64_t)i)
			return 0;
		break;
	case 3:
		break;
	}
	return c.p == c.end && hc_cur_u(&c, &u) == -1;
}

struct trace {
	uint8_t *data;
	size_t len;
	size_t nchunks;            /* 0: chunk layout not checked */
	uint64_t off[MAXCH], end[MAXCH];
	unsigned codec[MAXCH];
	unsigned first[MAXCH + 1]; /* records of chunk c: [first[c], first[c+1]) */
	unsigned nrecs;
};

static void parse_chunks(struct trace *t)
{
	size_t pos = HC_FILE_HEADER_SIZE, c = 0;
	while (pos + HC_CHUNK_HEADER_SIZE <= t->len && c < MAXCH) {
		t->off[c] = pos;
		t->codec[c] = t->data[pos + 4];
		pos += HC_CHUNK_HEADER_SIZE + hc_get_le32(t->data + pos + 8);
		t->end[c++] = pos;
	}
	t->nchunks = c;
}

/* Writes per_chunk[c] records into chunk c, flushing after each group. */
static void build(struct trace *t, int level, const unsigned *per_chunk, size_t nchunks)
{
	char path[300];
	tmp_path(path, sizeof(path));
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		die("open");
	struct hc_writer w;
	if (hc_writer_init(&w, fd, level))
		die("hc_writer_init");
	memset(t, 0, sizeof(*t));
	unsigned i = 0;
	for (size_t c = 0; c < nchunks; c++) {
		t->first[c] = i;
		for (unsigned k = 0; k < per_chunk[c]; k++)
			gen_record(&w, i++);
		if (hc_writer_flush(&w))
			die("hc_writer_flush");
	}
	t->first[nchunks] = t->nrecs = i;
	hc_writer_release(&w);
	close(fd);
	t->data = slurp(path, &t->len);
	unlink(path);
	parse_chunks(t);
	if (t->nchunks != nchunks) {
		fprintf(stderr, "built %zu chunks, wanted %zu\n", t->nchunks, nchunks);
		exit(99);
	}
}

static size_t chunk_of(const struct trace *t, unsigned i)
{
	size_t c = 0;
	while (c + 1 < t->nchunks && i >= t->first[c + 1])
		c++;
	return c;
}

struct result {
	int open_rc, next_rc;
	enum hc_read_status status;
	uint64_t stop_offset, chunks, good_bytes;
	char reason[128], message[256];
	unsigned nrecs;
	int bad_record;            /* a record that is not the one expected */
	uint64_t hash;             /* of every record: type, bytes and place */
	size_t mem_peak;
};

static uint64_t fold(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3u;
}

/* Files read with and without read-ahead, and those that differed. */
static unsigned ahead_files, ahead_differ;

static void read_mode(const char *path, const struct trace *t, struct result *res, int ahead)
{
	struct hc_reader r;
	memset(res, 0, sizeof(*res));
	res->open_rc = hc_reader_open(&r, path);
	if (res->open_rc == 0) {
		struct hc_rec rec;
		int rc;
		if (ahead)
			hc_reader_readahead(&r);
		while ((rc = hc_reader_next(&r, &rec)) > 0) {
			res->hash = fold(res->hash, rec.type);
			for (size_t k = 0; k < rec.len; k++)
				res->hash = fold(res->hash, rec.body[k]);
			res->hash = fold(res->hash, rec.chunk_offset);
			res->hash = fold(res->hash, rec.chunk_index);
			res->hash = fold(res->hash, rec.raw_offset);
			unsigned i = res->nrecs++;
			if (!t)
				continue;
			if (i >= t->nrecs || !check_record(&rec, i))
				res->bad_record = 1;
			else if (t->nchunks && (rec.chunk_index != chunk_of(t, i) ||
						rec.chunk_offset != t->off[chunk_of(t, i)]))
				res->bad_record = 1;
		}
		res->next_rc = rc;
		if (hc_reader_next(&r, &rec) != rc) /* a stopped reader stays stopped */
			res->bad_record = 1;
	}
	res->status = r.status;
	res->stop_offset = r.stop_offset;
	res->chunks = r.chunks;
	res->good_bytes = r.good_bytes;
	res->mem_peak = r.mem_peak;
	memcpy(res->reason, r.reason, sizeof(res->reason));
	memcpy(res->message, r.message, sizeof(res->message));
	hc_reader_close(&r);
}

/* Reads the file as the analyzer's passes do, with read-ahead, too, and
 * counts a difference in anything but the memory held. */
static void read_all(const char *path, const struct trace *t, struct result *res)
{
	struct result a;
	struct stat st;
	read_mode(path, t, res, 0);
	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return; /* a pipe reads once; read-ahead is for regular files */
	read_mode(path, t, &a, 1);
	a.mem_peak = res->mem_peak;
	ahead_files++;
	if (memcmp(&a, res, sizeof(a))) {
		ahead_differ++;
		diag("read-ahead differs on %s: status %d/%d at %llu/%llu, %u/%u records, %s / %s",
		     path, res->status, a.status, (unsigned long long)res->stop_offset,
		     (unsigned long long)a.stop_offset, res->nrecs, a.nrecs, res->message, a.message);
	}
}

static void read_bytes(const uint8_t *p, size_t n, const struct trace *t, struct result *res)
{
	char path[300];
	tmp_path(path, sizeof(path));
	write_file(path, p, n);
	read_all(path, t, res);
	unlink(path);
}

/* --- hand-made chunks --------------------------------------------------- */

/* Appends a chunk with a correct checksum over whatever it is given. */
static size_t put_chunk(uint8_t *dst, unsigned codec, const void *payload, uint32_t stored,
			uint32_t raw)
{
	memset(dst, 0, HC_CHUNK_HEADER_SIZE);
	hc_put_le32(dst, HC_CHUNK_MAGIC);
	dst[4] = (uint8_t)codec;
	hc_put_le32(dst + 8, stored);
	hc_put_le32(dst + 12, raw);
	memmove(dst + HC_CHUNK_HEADER_SIZE, payload, stored);
	hc_put_le32(dst + 16, hc_chunk_crc(dst, dst + HC_CHUNK_HEADER_SIZE, stored));
	return HC_CHUNK_HEADER_SIZE + stored;
}

static size_t put_record(uint8_t *dst, unsigned type, const void *body, size_t len)
{
	size_t n = hc_put_uvarint(dst, type);
	n += hc_put_uvarint(dst + n, len);
	memcpy(dst + n, body, len);
	return n + len;
}

static size_t file_header(uint8_t *dst, unsigned version, unsigned size)
{
	memset(dst, 0, HC_FILE_HEADER_SIZE);
	memcpy(dst, HC_TRACE_MAGIC, 8);
	dst[8] = (uint8_t)version;
	dst[9] = (uint8_t)(version >> 8);
	dst[10] = (uint8_t)size;
	dst[11] = (uint8_t)(size >> 8);
	return HC_FILE_HEADER_SIZE;
}

/* --- tests ---------------------------------------------------------------- */

static const unsigned layout[] = {3, 1, 4, 2, 1, 5};
#define NLAYOUT (sizeof(layout) / sizeof(layout[0]))

static void test_roundtrip(int level)
{
	struct trace t;
	build(&t, level, layout, NLAYOUT);
	char path[300];
	tmp_path(path, sizeof(path));
	write_file(path, t.data, t.len);
	struct result res;
	read_all(path, &t, &res);
	unlink(path);
	is_int(res.open_rc, 0, "level %d: opens", level);
	is_int(res.nrecs, t.nrecs, "level %d: all %u records read", level, t.nrecs);
	ok(!res.bad_record, "level %d: every record exact, with its chunk's index and offset", level);
	is_int(res.next_rc, 0, "level %d: clean end", level);
	is_int(res.status, HC_READ_COMPLETE, "level %d: status complete", level);
	is_u64(res.chunks, NLAYOUT, "level %d: %zu chunks", level, NLAYOUT);
	is_u64(res.good_bytes, t.len, "level %d: all %zu bytes good", level, t.len);
	is_u64(res.stop_offset, t.len, "level %d: stopped at the end of file", level);
	unsigned zstd = 0, none = 0;
	for (size_t c = 0; c < t.nchunks; c++)
		*(t.codec[c] == HC_CODEC_ZSTD ? &zstd : &none) += 1;
	if (level > 0)
		ok(zstd >= 2 && none >= 1, "level %d: both codecs in the file (%u zstd, %u none)",
		   level, zstd, none);
	else
		ok(zstd == 0 && none == NLAYOUT, "level 0: every chunk uncompressed");
	free(t.data);
}

/* A later pass skips the chunks flagged as holding nothing it wants: it
 * sees exactly the records of the others, with their chunk indices, and
 * ends as a whole read does; chunks past the flags are read. */
static void test_skip(int ahead)
{
	const char *how = ahead ? "skipping with read-ahead" : "skipping";
	struct trace t;
	build(&t, 3, layout, NLAYOUT);
	char path[300];
	tmp_path(path, sizeof(path));
	write_file(path, t.data, t.len);
	uint8_t flags[NLAYOUT];
	for (size_t c = 0; c < NLAYOUT; c++)
		flags[c] = c % 3 == 1 ? 2 : 1; /* every third chunk wanted by "pass 2" */
	struct hc_reader r;
	int bad = 0;
	unsigned seen = 0, expect = 0, skipped = 0;
	for (size_t c = 0; c < NLAYOUT; c++) {
		int wanted = c % 3 == 1 || c + 1 == NLAYOUT;
		expect += wanted ? layout[c] : 0;
		skipped += !wanted;
	}
	if (hc_reader_open(&r, path))
		die("open");
	r.chunk_flags = flags;
	r.nchunk_flags = NLAYOUT - 1; /* the last chunk is not flagged: read */
	r.want_flags = 2;
	if (ahead)
		hc_reader_readahead(&r);
	ok(!ahead || r.ahead, "%s: the read-ahead thread runs", how);
	struct hc_rec rec;
	int rc;
	size_t last = SIZE_MAX;
	unsigned k = 0;
	while ((rc = hc_reader_next(&r, &rec)) > 0) {
		size_t c = rec.chunk_index;
		k = c == last ? k + 1 : 0;
		last = c;
		if (c >= NLAYOUT || (c % 3 != 1 && c + 1 != NLAYOUT) ||
		    rec.chunk_offset != t.off[c] || !check_record(&rec, t.first[c] + k))
			bad = 1;
		seen++;
	}
	is_int(rc, 0, "%s: clean end", how);
	is_int(r.status, HC_READ_COMPLETE, "%s: status complete", how);
	is_int((int)seen, (int)expect, "%s: the %u records of the wanted chunks, and only those",
	       how, expect);
	ok(!bad, "%s: each exact, with its own chunk's index and offset", how);
	is_u64(r.chunks, NLAYOUT, "%s: all %zu chunks passed", how, (size_t)NLAYOUT);
	is_u64(r.chunks_skipped, skipped, "%s: the %u others unread", how, skipped);
	is_u64(r.good_bytes, t.len, "%s: all bytes good", how);
	hc_reader_close(&r);
	unlink(path);
	free(t.data);
}

/* Many records: the writer cuts chunks by itself at its target size. */
static void test_autoflush(void)
{
	char path[300];
	tmp_path(path, sizeof(path));
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	struct hc_writer w;
	if (fd < 0 || hc_writer_init(&w, fd, 3))
		die("writer");
	const unsigned n = 2000;
	for (unsigned i = 0; i < n; i++)
		gen_record(&w, i);
	hc_writer_flush(&w);
	hc_writer_release(&w);
	close(fd);
	struct trace t = {.nrecs = n};
	struct result res;
	read_all(path, &t, &res);
	unlink(path);
	is_int(res.nrecs, n, "auto-flushed trace: all %u records", n);
	ok(!res.bad_record, "auto-flushed trace: every record exact");
	ok(res.chunks >= 4, "auto-flushed trace: several chunks (%llu)",
	   (unsigned long long)res.chunks);
	is_int(res.status, HC_READ_COMPLETE, "auto-flushed trace: complete");
}

/* Cuts the trace after every byte: a clean stop at a chunk boundary with
 * every record of the whole chunks, or a truncation at the torn chunk's
 * offset with exactly those records; never a record of the torn chunk. */
static void test_truncation(int level)
{
	struct trace t;
	build(&t, level, layout, NLAYOUT);
	unsigned bad = 0, complete = 0, truncated = 0;
	for (size_t L = 0; L <= t.len; L++) {
		struct result res;
		read_bytes(t.data, L, &t, &res);
		char why[160] = "";
		if (L < HC_FILE_HEADER_SIZE) {
			if (res.open_rc != -EINVAL || res.status != HC_READ_BAD_FILE || res.nrecs ||
			    res.stop_offset != 0)
				snprintf(why, sizeof(why), "header cut: rc %d status %d", res.open_rc,
					 res.status);
			else if (L == 0 && strcmp(res.reason, "file is empty"))
				snprintf(why, sizeof(why), "reason '%s'", res.reason);
			else if (L > 0 && !strstr(res.reason, "shorter than the 16-byte file header"))
				snprintf(why, sizeof(why), "reason '%s'", res.reason);
		} else {
			size_t k = 0;
			while (k < t.nchunks && t.end[k] <= L)
				k++;
			uint64_t boundary = k ? t.end[k - 1] : HC_FILE_HEADER_SIZE;
			if (res.bad_record || res.nrecs != t.first[k] || res.chunks != k ||
			    res.good_bytes != boundary) {
				snprintf(why, sizeof(why), "%u records, %llu chunks, bad %d", res.nrecs,
					 (unsigned long long)res.chunks, res.bad_record);
			} else if (L == boundary) {
				complete++;
				if (res.status != HC_READ_COMPLETE || res.next_rc != 0 ||
				    res.stop_offset != L)
					snprintf(why, sizeof(why), "at a boundary: status %d", res.status);
			} else {
				truncated++;
				const char *want = L - t.off[k] < HC_CHUNK_HEADER_SIZE
							   ? "ends inside a chunk header"
							   : "ends inside a chunk payload";
				char msg[128];
				snprintf(msg, sizeof(msg),
					 "trace is incomplete: ends inside a chunk at byte offset %llu",
					 (unsigned long long)t.off[k]);
				if (res.status != HC_READ_TRUNCATED || res.next_rc != -ENODATA ||
				    res.stop_offset != t.off[k] || strcmp(res.reason, want) ||
				    strcmp(res.message, msg))
					snprintf(why, sizeof(why), "torn: status %d at %llu '%s'",
						 res.status, (unsigned long long)res.stop_offset,
						 res.reason);
			}
		}
		if (*why && bad++ < 5)
			diag("cut at %zu: %s", L, why);
	}
	ok(bad == 0, "level %d: cut at each of %zu offsets: %u clean stops, %u truncations, "
	   "%u wrong", level, t.len + 1, complete, truncated, bad);
	is_int(complete, NLAYOUT + 1, "level %d: a clean stop at each chunk boundary", level);
	free(t.data);
}

/* Flips bits in every chunk header byte and every payload byte. */
static void test_flips(int level)
{
	struct trace t;
	build(&t, level, layout, NLAYOUT);
	uint8_t *copy = malloc(t.len);
	unsigned bad = 0, tried = 0, as_truncation = 0;
	for (size_t c = 0; c < t.nchunks; c++) {
		for (size_t b = t.off[c]; b < t.end[c]; b++) {
			for (int m = 0; m < 2; m++) {
				uint8_t mask = m ? 0x80 : 0x01;
				memcpy(copy, t.data, t.len);
				copy[b] ^= mask;
				struct result res;
				read_bytes(copy, t.len, &t, &res);
				tried++;
				size_t in = b - t.off[c];
				/* A larger stored size in a compressed chunk that runs
				 * past the end of the file reads as a torn chunk: the
				 * checksum cannot be checked without the payload. */
				uint32_t stored = hc_get_le32(copy + t.off[c] + 8);
				int torn = in >= 8 && in < 12 && t.codec[c] == HC_CODEC_ZSTD &&
					   stored <= HC_CHUNK_MAX &&
					   stored > t.len - t.off[c] - HC_CHUNK_HEADER_SIZE;
				enum hc_read_status want = torn ? HC_READ_TRUNCATED : HC_READ_CORRUPT;
				as_truncation += torn;
				int good = res.status == want && res.stop_offset == t.off[c] &&
					   res.nrecs == t.first[c] && !res.bad_record &&
					   res.chunks == c && res.good_bytes == t.off[c];
				if (good && in >= HC_CHUNK_HEADER_SIZE)
					good = strcmp(res.reason, "checksum mismatch") == 0;
				if (good && want == HC_READ_CORRUPT) {
					char msg[200];
					snprintf(msg, sizeof(msg),
						 "corrupt chunk at byte offset %llu: %s",
						 (unsigned long long)t.off[c], res.reason);
					good = strcmp(res.message, msg) == 0;
				}
				if (!good && bad++ < 5)
					diag("flip 0x%02x at byte %zu (chunk %zu +%zu): status %d at %llu "
					     "'%s', %u records", mask, b, c, in, res.status,
					     (unsigned long long)res.stop_offset, res.reason, res.nrecs);
			}
		}
	}
	ok(bad == 0, "level %d: %u flipped bytes in chunk headers and payloads stop at the "
	   "chunk's offset with the records before it (%u read as torn)", level, tried,
	   as_truncation);
	free(copy);
	free(t.data);
}

/* One flip per header field, each with its exact reason. */
static void test_header_field_flips(void)
{
	struct trace t;
	build(&t, 0, layout, NLAYOUT);
	enum { LITERAL, STORED_ABOVE, RAW_ABOVE, SIZES_DIFFER };
	static const struct {
		size_t at;
		uint8_t mask;
		int kind;
		const char *reason;
	} cases[] = {
		{0, 0x01, LITERAL, "bad chunk magic 0x4b434349"},
		{4, 0x07, LITERAL, "unknown codec 7"},
		{4, 0x01, LITERAL, "checksum mismatch"}, /* none -> zstd: the checksum covers it */
		{6, 0x10, LITERAL, "checksum mismatch"},
		{11, 0x80, STORED_ABOVE, NULL},
		{15, 0x01, RAW_ABOVE, NULL},
		{12, 0x01, SIZES_DIFFER, NULL},
		{16, 0x01, LITERAL, "checksum mismatch"},
	};
	size_t c = 2; /* a chunk in the middle */
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t *copy = malloc(t.len);
		memcpy(copy, t.data, t.len);
		copy[t.off[c] + cases[i].at] ^= cases[i].mask;
		struct result res;
		read_bytes(copy, t.len, &t, &res);
		uint32_t stored = hc_get_le32(copy + t.off[c] + 8);
		uint32_t raw = hc_get_le32(copy + t.off[c] + 12);
		char want[128];
		switch (cases[i].kind) {
		case STORED_ABOVE:
			snprintf(want, sizeof(want), "stored size %u above the 16777216-byte limit", stored);
			break;
		case RAW_ABOVE:
			snprintf(want, sizeof(want), "raw size %u above the 16777216-byte limit", raw);
			break;
		case SIZES_DIFFER:
			snprintf(want, sizeof(want),
				 "uncompressed chunk with stored size %u but raw size %u", stored, raw);
			break;
		default:
			snprintf(want, sizeof(want), "%s", cases[i].reason);
		}
		is_str(res.reason, want, "header byte %zu ^ 0x%02x: corrupt, '%s'", cases[i].at,
		       cases[i].mask, want);
		ok(res.status == HC_READ_CORRUPT && res.stop_offset == t.off[c] &&
		   res.nrecs == t.first[c] && !res.bad_record,
		   "header byte %zu ^ 0x%02x: at byte offset %llu after %u records", cases[i].at,
		   cases[i].mask, (unsigned long long)t.off[c], t.first[c]);
		free(copy);
	}
	free(t.data);
}

/* Chunks with a correct checksum but bad contents: only a buggy writer (or
 * a malicious file) makes these, and the reader must still stop cleanly. */
static void test_bad_contents(void)
{
	static uint8_t f[1 << 16], recs[4096], z[4096];
	size_t n, rl = 0;
	uint64_t second;
	struct result res;
	rl += put_record(recs + rl, 200, "\x05", 1);
	rl += put_record(recs + rl, 201, "", 0);

	/* garbage in a zstd chunk */
	n = file_header(f, 1, 16);
	n += put_chunk(f + n, HC_CODEC_NONE, recs, (uint32_t)rl, (uint32_t)rl);
	second = n;
	n += put_chunk(f + n, HC_CODEC_ZSTD, "not a zstd frame at all", 23, 100);
	read_bytes(f, n, NULL, &res);
	ok(res.status == HC_READ_CORRUPT && res.stop_offset == second && res.nrecs == 2,
	   "zstd garbage: corrupt at byte offset %llu after the first chunk's 2 records",
	   (unsigned long long)second);
	is_str(res.reason, "zstd: not a zstd frame", "zstd garbage: reason");

	/* a zstd frame whose declared size disagrees with the chunk header */
	size_t zl = ZSTD_compress(z, sizeof(z), recs, rl, 3);
	n = file_header(f, 1, 16);
	n += put_chunk(f + n, HC_CODEC_ZSTD, z, (uint32_t)zl, (uint32_t)rl + 1);
	read_bytes(f, n, NULL, &res);
	char want[128];
	snprintf(want, sizeof(want), "zstd frame holds %zu bytes, chunk header says %zu", rl, rl + 1);
	ok(res.status == HC_READ_CORRUPT && res.stop_offset == 16 && res.nrecs == 0,
	   "zstd frame size != raw size: corrupt at byte offset 16, no record");
	is_str(res.reason, want, "zstd frame size != raw size: reason");

	/* a frame that does not say its size: decompressing finds the mismatch */
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0);
	zl = ZSTD_compress2(cc, z, sizeof(z), recs, rl);
	ZSTD_freeCCtx(cc);
	ok(!ZSTD_isError(zl) && ZSTD_getFrameContentSize(z, zl) == ZSTD_CONTENTSIZE_UNKNOWN,
	   "a zstd frame without a content size");
	n = file_header(f, 1, 16);
	n += put_chunk(f + n, HC_CODEC_ZSTD, z, (uint32_t)zl, (uint32_t)rl + 1);
	read_bytes(f, n, NULL, &res);
	snprintf(want, sizeof(want), "decompressed size %zu, chunk header says %zu", rl, rl + 1);
	ok(res.status == HC_READ_CORRUPT && res.stop_offset == 16 && res.nrecs == 0,
	   "decompressed size short of raw size: corrupt, no record");
	is_str(res.reason, want, "decompressed size short of raw size: reason");
	n = file_header(f, 1, 16);
	n += put_chunk(f + n, HC_CODEC_ZSTD, z, (uint32_t)zl, (uint32_t)rl - 1);
	read_bytes(f, n, NULL, &res);
	ok(res.status == HC_READ_CORRUPT && res.nrecs == 0 && !strncmp(res.reason, "zstd: ", 6),
	   "decompressed size above raw size: zstd error ('%s')", res.reason);

	/* framing: a record longer than its chunk, a varint cut short */
	uint8_t bad[16];
	size_t bl = put_record(bad, 202, "abc", 3);
	bad[bl - 4] = 9; /* length 9, 3 bytes left */
	memcpy(recs + rl, bad, bl);
	n = file_header(f, 1, 16);
	n += put_chunk(f + n, HC_CODEC_NONE, recs, (uint32_t)(rl + bl), (uint32_t)(rl + bl));
	read_bytes(f, n, NULL, &res);
	snprintf(want, sizeof(want), "malformed record framing at byte %zu of the decompressed chunk",
		 rl);
	ok(res.status == HC_READ_CORRUPT && res.stop_offset == 16 && res.nrecs == 0,
	   "record longer than its chunk: corrupt, and not even the good records before it");
	is_str(res.reason, want, "record longer than its chunk: reason");
	recs[rl] = 0x80; /* a type varint that never ends */
	n = file_header(f, 1, 16);
	n += put_chunk(f + n, HC_CODEC_NONE, recs, (uint32_t)(rl + 1), (uint32_t)(rl + 1));
	read_bytes(f, n, NULL, &res);
	is_str(res.reason, want, "varint cut short at the end of a chunk: malformed framing");

	/* an empty chunk is legal and holds no record */
	n = file_header(f, 1, 16);
	n += put_chunk(f + n, HC_CODEC_NONE, "", 0, 0);
	n += put_chunk(f + n, HC_CODEC_NONE, recs, (uint32_t)rl, (uint32_t)rl);
	read_bytes(f, n, NULL, &res);
	ok(res.status == HC_READ_COMPLETE && res.nrecs == 2 && res.chunks == 2,
	   "an empty chunk, then 2 records: complete");
}

/* Sizes no chunk may have: refused before any allocation of that size. */
static void test_absurd_sizes(void)
{
	static uint8_t f[4096];
	struct result res;
	size_t n = file_header(f, 1, 16);
	n += put_chunk(f + n, HC_CODEC_ZSTD, "x", 1, 10);
	hc_put_le32(f + 16 + 8, 0xffffffffu);
	read_bytes(f, n, NULL, &res);
	ok(res.status == HC_READ_CORRUPT && res.stop_offset == 16, "stored size 0xffffffff: corrupt");
	is_str(res.reason, "stored size 4294967295 above the 16777216-byte limit",
	       "stored size 0xffffffff: reason");
	is_int(res.mem_peak, 0, "stored size 0xffffffff: nothing allocated");

	n = file_header(f, 1, 16);
	n += put_chunk(f + n, HC_CODEC_ZSTD, "x", 1, HC_CHUNK_MAX + 1);
	read_bytes(f, n, NULL, &res);
	is_str(res.reason, "raw size 16777217 above the 16777216-byte limit",
	       "raw size above HC_CHUNK_MAX: corrupt");
	is_int(res.mem_peak, 0, "raw size above HC_CHUNK_MAX: nothing allocated");

	/* Within the limit but past the end of the file: a torn chunk. */
	n = file_header(f, 1, 16);
	n += put_chunk(f + n, HC_CODEC_ZSTD, "0123456789", 10, 100);
	hc_put_le32(f + 16 + 8, HC_CHUNK_MAX);
	read_bytes(f, n, NULL, &res);
	ok(res.status == HC_READ_TRUNCATED && res.stop_offset == 16,
	   "stored size HC_CHUNK_MAX in a 46-byte file: truncated at byte offset 16");
	is_int(res.mem_peak, 0, "stored size HC_CHUNK_MAX in a small file: nothing allocated");

	/* The same through a pipe, where the file size is unknown: the buffer
	 * grows only with the bytes that arrive. */
	int p[2];
	if (pipe(p))
		die("pipe");
	if (write(p[1], f, n) != (ssize_t)n)
		die("pipe write");
	close(p[1]);
	char path[64];
	snprintf(path, sizeof(path), "/dev/fd/%d", p[0]);
	read_all(path, NULL, &res);
	close(p[0]);
	ok(res.status == HC_READ_TRUNCATED && res.stop_offset == 16,
	   "through a pipe: truncated at byte offset 16");
	ok(res.mem_peak <= (128u << 10), "through a pipe: at most 128 KiB allocated (%zu)",
	   res.mem_peak);
}

static void test_file_headers(void)
{
	static uint8_t f[4096];
	struct result res;
	read_bytes(f, 0, NULL, &res);
	is_int(res.open_rc, -EINVAL, "empty file: -EINVAL");
	is_str(res.message, "bad file header at byte offset 0: file is empty", "empty file: message");

	read_bytes((const uint8_t *)"HCTRA", 5, NULL, &res);
	is_int(res.status, HC_READ_BAD_FILE, "5-byte file: bad file");
	is_str(res.message,
	       "bad file header at byte offset 0: file is 5 bytes, shorter than the 16-byte file "
	       "header", "5-byte file: message");

	read_bytes((const uint8_t *)"hello", 5, NULL, &res);
	is_str(res.message, "bad file header at byte offset 0: bad magic: not a heapcreep trace",
	       "5 bytes of something else: bad magic");

	size_t n = file_header(f, 1, 16);
	f[0] = 'h';
	read_bytes(f, n, NULL, &res);
	ok(res.open_rc == -EINVAL && res.stop_offset == 0 &&
	   !strcmp(res.reason, "bad magic: not a heapcreep trace"), "bad magic: rejected at byte 0");

	n = file_header(f, 99, 16);
	read_bytes(f, n, NULL, &res);
	ok(res.open_rc == -EINVAL && res.status == HC_READ_BAD_FILE, "version 99: rejected");
	is_str(res.message,
	       "bad file header at byte offset 8: unsupported format version 99 (this heapcreep "
	       "reads version 1)", "version 99: message");

	n = file_header(f, 1, 12);
	read_bytes(f, n, NULL, &res);
	is_str(res.message, "bad file header at byte offset 10: header size 12 below 16",
	       "header size 12: rejected");

	/* A longer header from a later writer: the extra bytes are skipped. */
	uint8_t recs[64];
	size_t rl = put_record(recs, 300, "\x01\x02", 2);
	n = file_header(f, 1, 24);
	memset(f + n, 0xee, 8);
	n += 8;
	n += put_chunk(f + n, HC_CODEC_NONE, recs, (uint32_t)rl, (uint32_t)rl);
	read_bytes(f, n, NULL, &res);
	ok(res.status == HC_READ_COMPLETE && res.nrecs == 1, "24-byte header: extra bytes skipped");
	read_bytes(f, 20, NULL, &res);
	is_str(res.message,
	       "bad file header at byte offset 20: file ends inside the 24-byte file header",
	       "24-byte header cut at 20: rejected");

	read_all("/nonexistent/trace.hct", NULL, &res);
	is_int(res.open_rc, -ENOENT, "missing file: -ENOENT");
	is_str(res.message, "cannot open: No such file or directory", "missing file: message");

	read_all(tmpdir, NULL, &res);
	is_int(res.open_rc, -EISDIR, "a directory: -EISDIR");
	is_str(res.message, "read error at byte offset 0: Is a directory", "a directory: message");
}

/* Random files: whatever they hold, the reader stops with a status. */
static void test_random_files(void)
{
	static uint8_t f[4096];
	rng_state = 12345;
	unsigned bad = 0, by_status[5] = {0};
	for (unsigned i = 0; i < 600; i++) {
		size_t n = rnd() % sizeof(f);
		for (size_t k = 0; k < n; k++)
			f[k] = (uint8_t)rnd();
		unsigned mode = i % 3;
		if (mode >= 1 && n >= 16)
			file_header(f, 1, 16);
		if (mode == 2 && n >= 16 + HC_CHUNK_HEADER_SIZE) {
			/* a plausible chunk header, half the time with a good checksum */
			uint32_t stored = (uint32_t)(rnd() % (n - 16 - HC_CHUNK_HEADER_SIZE + 8));
			if (stored > n - 16 - HC_CHUNK_HEADER_SIZE || rnd() % 2)
				hc_put_le32(f + 16, HC_CHUNK_MAGIC);
			else
				put_chunk(f + 16, (unsigned)(rnd() % 2), f + 16 + HC_CHUNK_HEADER_SIZE,
					  stored, (uint32_t)(rnd() % 2 ? stored : rnd() % 5000));
		}
		struct result res;
		read_bytes(f, n, NULL, &res);
		if (res.status == HC_READ_ACTIVE || res.status > HC_READ_BAD_FILE)
			bad++;
		else
			by_status[res.status]++;
		if (mode == 0 && n >= 8 && res.status != HC_READ_BAD_FILE)
			bad++;
	}
	ok(bad == 0, "600 random files: each stops with a status (%u complete, %u truncated, "
	   "%u corrupt, %u bad file)", by_status[HC_READ_COMPLETE], by_status[HC_READ_TRUNCATED],
	   by_status[HC_READ_CORRUPT], by_status[HC_READ_BAD_FILE]);
}

/* A real trace with random damage: what comes out is always a prefix of
 * what went in, record for record. */
static void test_mutations(void)
{
	struct trace t;
	build(&t, 3, layout, NLAYOUT);
	uint8_t *copy = malloc(t.len);
	rng_state = 777;
	unsigned bad = 0, full = 0;
	for (unsigned i = 0; i < 1000; i++) {
		memcpy(copy, t.data, t.len);
		unsigned nflip = 1 + (unsigned)(rnd() % 3);
		for (unsigned k = 0; k < nflip; k++)
			copy[16 + rnd() % (t.len - 16)] ^= (uint8_t)(1 + rnd() % 255);
		size_t len = rnd() % 4 ? t.len : 16 + rnd() % (t.len - 16);
		struct result res;
		read_bytes(copy, len, &t, &res);
		if (res.bad_record || res.status == HC_READ_ACTIVE)
			bad++;
		full += res.nrecs == t.nrecs;
	}
	ok(bad == 0, "1000 damaged copies: every record read is the one written (%u read whole)",
	   full);
	free(copy);
	free(t.data);
}

static void test_cursor(void)
{
	uint8_t b[64];
	size_t n = 0;
	n += hc_put_uvarint(b + n, 5);
	n += hc_put_uvarint(b + n, hc_zigzag(-3));
	n += hc_put_uvarint(b + n, 3);
	memcpy(b + n, "abc", 3);
	n += 3;
	struct hc_rec rec = {.body = b, .len = n};
	struct hc_cur c = hc_cur_of(&rec);
	uint64_t u = 0;
	int64_t s = 0;
	const char *p = NULL;
	size_t len = 0;
	ok(hc_cur_u(&c, &u) == 0 && u == 5, "cursor: u 5");
	ok(hc_cur_s(&c, &s) == 0 && s == -3, "cursor: s -3");
	ok(hc_cur_str(&c, &p, &len) == 0 && len == 3 && !memcmp(p, "abc", 3), "cursor: str abc");
	is_int(hc_cur_u(&c, &u), -1, "cursor: exhausted body");
	is_int(hc_cur_str(&c, &p, &len), -1, "cursor: no string in an exhausted body");

	uint8_t longer[12];
	memset(longer, 0x80, sizeof(longer));
	rec = (struct hc_rec){.body = longer, .len = sizeof(longer)};
	c = hc_cur_of(&rec);
	is_int(hc_cur_u(&c, &u), -1, "cursor: an 11-byte varint is malformed");
	is_int(hc_cur_s(&c, &s), -1, "cursor: so is a signed one");

	uint8_t shortstr[] = {5, 'a', 'b'};
	rec = (struct hc_rec){.body = shortstr, .len = sizeof(shortstr)};
	c = hc_cur_of(&rec);
	ok(hc_cur_str(&c, &p, &len) == -1 && c.p == shortstr,
	   "cursor: a string longer than the body fails and does not move");
	uint8_t huge[12];
	n = hc_put_uvarint(huge, UINT64_MAX - 1);
	huge[n] = 'x';
	rec = (struct hc_rec){.body = huge, .len = n + 1};
	c = hc_cur_of(&rec);
	is_int(hc_cur_str(&c, &p, &len), -1, "cursor: a string of length 2^64-2 fails");
}

/* A SNAPSHOT body of n fields, field i = 100 + i. */
static struct hc_rec snapshot_of(uint8_t *b, unsigned n)
{
	size_t len = 0;
	for (unsigned i = 0; i < n; i++)
		len += hc_put_uvarint(b + len, 100 + i);
	return (struct hc_rec){.type = HC_REC_SNAPSHOT, .body = b, .len = len};
}

/* SNAPSHOT grew two trailing fields (the CPU times): a trace written before
 * them still reads, one field of the two is malformed, and fields after
 * them are a later version's, ignored. */
static void test_snapshot_fields(void)
{
	uint8_t b[256];
	struct hc_snapshot_rec s;
	memset(&s, 0xff, sizeof(s));
	struct hc_rec rec = snapshot_of(b, 13);
	ok(hc_decode_snapshot(&rec, &s) == 0 && s.shim_bytes == 112 && !s.have_cpu &&
	   s.collector_cpu_ns == 0 && s.process_cpu_ns == 0,
	   "SNAPSHOT of 13 fields (before the CPU times): read, no CPU times");
	rec = snapshot_of(b, 15);
	ok(hc_decode_snapshot(&rec, &s) == 0 && s.have_cpu && s.collector_cpu_ns == 113 &&
	   s.process_cpu_ns == 114, "SNAPSHOT of 15 fields: collector 113 ns, process 114 ns");
	rec = snapshot_of(b, 14);
	is_int(hc_decode_snapshot(&rec, &s), -1, "SNAPSHOT with one CPU time of two: malformed");
	rec = snapshot_of(b, 12);
	is_int(hc_decode_snapshot(&rec, &s), -1, "SNAPSHOT of 12 fields: malformed");
	rec = snapshot_of(b, 17);
	ok(hc_decode_snapshot(&rec, &s) == 0 && s.have_cpu && s.process_cpu_ns == 114,
	   "SNAPSHOT of 17 fields: the two unknown ones ignored");
}

/* Arguments joined with '|' as hc_args_next() splits them. */
static const char *split_args(const char *s, size_t n)
{
	static char out[64];
	struct hc_args it;
	struct hc_str arg;
	size_t k = 0;
	hc_args_init(&it, (struct hc_str){s, n});
	out[0] = '\0';
	for (int i = 0; hc_args_next(&it, &arg); i++)
		k += (size_t)snprintf(out + k, sizeof(out) - k, "%s[%.*s]", i ? "|" : "",
				      (int)arg.len, arg.p);
	return out;
}

static void test_args(void)
{
	is_str(split_args("", 0), "", "cmdline: empty has no arguments");
	is_str(split_args("a", 1), "[a]", "cmdline: one argument");
	is_str(split_args("a\0bc", 4), "[a]|[bc]", "cmdline: NUL separates");
	is_str(split_args("a\0", 2), "[a]|[]", "cmdline: a final NUL starts an empty argument");
	is_str(split_args("\0", 1), "[]|[]", "cmdline: a lone NUL is two empty arguments");
	is_str(split_args("a\0\0b", 4), "[a]|[]|[b]", "cmdline: an empty argument in the middle");
}

/* --- the summary ------------------------------------------------------------ */

static const char build_id[20] = "\x01\x23\x45\x67\x89\xab\xcd\xef\x00\xff"
				 "\x10\x20\x30\x40\x50\x60\x70\x80\x90\xa0";

static void put_snapshot(struct hc_writer *w, uint64_t ts, uint64_t live, uint64_t blocks,
			 uint64_t peak, uint64_t allocs, uint64_t frees, uint64_t bytes,
			 uint64_t lost, uint64_t unknown, uint64_t cpu)
{
	hc_rec_begin(w, HC_REC_SNAPSHOT);
	uint64_t v[] = {ts, 10u << 20, live, blocks, peak, allocs, frees, bytes, allocs + frees,
			lost, 0, unknown, 65536, cpu, 4 * cpu};
	/* cpu 0: a snapshot as written before the CPU times were added */
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]) - (cpu ? 0 : 2); i++)
		hc_rec_u(w, v[i]);
	hc_rec_end(w);
}

/* A small trace of a process's life in three chunks; `upto` chunks kept,
 * `with_end` whether the last one ends with END. Returns the file's bytes. */
static uint8_t *life_trace(size_t *len, uint64_t offs[4])
{
	char path[300];
	tmp_path(path, sizeof(path));
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	struct hc_writer w;
	if (fd < 0 || hc_writer_init(&w, fd, 3))
		die("writer");
	hc_rec_begin(&w, HC_REC_HEADER);
	uint64_t h[] = {1, 4242, 1, 0, 1700000000123456789u, 5000, 4096, 2u << 30, HC_HDR_SAMPLED,
			524288, 2000000000, 1000000000};
	for (size_t i = 0; i < sizeof(h) / sizeof(h[0]); i++)
		hc_rec_u(&w, h[i]);
	hc_rec_str(&w, "/usr/bin/demo", 13);
	hc_rec_str(&w, "demo\0--size\0" "100", 15);
	hc_rec_str(&w, build_id, 20);
	hc_rec_str(&w, "HEAPCREEP_OUTPUT=x.hct\n", 23);
	hc_rec_end(&w);
	hc_rec_begin(&w, HC_REC_MODULES);
	hc_rec_u(&w, 0);
	hc_rec_u(&w, 1);
	hc_rec_u(&w, 0x400000);
	hc_rec_u(&w, 0x401000);
	hc_rec_u(&w, 0);
	hc_rec_str(&w, "/usr/bin/demo", 13);
	hc_rec_str(&w, build_id, 20);
	hc_rec_end(&w);
	hc_rec_begin(&w, HC_REC_THREAD);
	hc_rec_u(&w, 1000);
	hc_rec_u(&w, 4242);
	hc_rec_str(&w, "main", 4);
	hc_rec_end(&w);
	hc_rec_begin(&w, HC_REC_STACK);
	hc_rec_u(&w, 1);
	hc_rec_u(&w, 2);
	hc_rec_s(&w, 0x401010);
	hc_rec_s(&w, -0x10);
	hc_rec_end(&w);
	put_snapshot(&w, 1000000000, 1000, 10, 2000, 50, 40, 5000, 0, 0, 0);
	hc_rec_begin(&w, HC_REC_SITES);
	hc_rec_u(&w, 1);
	uint64_t site[] = {1, 1000, 10, 50, 40, 5000, 2000, 1, 10, 40};
	for (size_t i = 0; i < sizeof(site) / sizeof(site[0]); i++)
		hc_rec_u(&w, site[i]);
	hc_rec_end(&w);
	hc_writer_flush(&w);

	hc_rec_begin(&w, HC_REC_BLOCK);
	uint64_t blk[] = {1, 1, 100, 500000000, 0x55550000};
	for (size_t i = 0; i < 5; i++)
		hc_rec_u(&w, blk[i]);
	hc_rec_end(&w);
	hc_rec_begin(&w, HC_REC_FREE);
	hc_rec_u(&w, 1);
	hc_rec_u(&w, 2500000000u);
	hc_rec_end(&w);
	put_snapshot(&w, 2000000000, 4096, 7, 8192, 120, 113, 20000, 3, 2, 250000000);
	hc_rec_begin(&w, HC_REC_NOTE);
	hc_rec_u(&w, 2100000000);
	hc_rec_u(&w, HC_NOTE_WARNING);
	hc_rec_str(&w, "ring full: waited", 17);
	hc_rec_end(&w);
	hc_writer_flush(&w);

	hc_rec_begin(&w, HC_REC_EXIT);
	hc_rec_u(&w, 3000000000u);
	hc_rec_u(&w, HC_EXIT_MAIN);
	hc_rec_end(&w);
	put_snapshot(&w, 3250000000u, 512, 2, 8192, 130, 128, 21000, 3, 2, 400000000);
	hc_rec_begin(&w, HC_REC_END);
	hc_rec_u(&w, 3500000000u);
	hc_rec_u(&w, HC_END_EXIT);
	hc_rec_end(&w);
	hc_writer_flush(&w);
	hc_writer_release(&w);
	close(fd);
	uint8_t *data = slurp(path, len);
	unlink(path);
	struct trace t = {.data = data, .len = *len};
	parse_chunks(&t);
	if (t.nchunks != 3)
		die("life_trace chunks");
	for (int i = 0; i < 3; i++)
		offs[i] = t.off[i];
	offs[3] = t.len;
	return data;
}

static int summarize(const uint8_t *p, size_t n, struct hc_summary *s)
{
	char path[300];
	tmp_path(path, sizeof(path));
	write_file(path, p, n);
	int rc = hc_summary_read(s, path);
	unlink(path);
	return rc;
}

static void test_summary(void)
{
	size_t len;
	uint64_t offs[4];
	uint8_t *data = life_trace(&len, offs);
	struct hc_summary s;

	is_int(summarize(data, len, &s), 0, "summary of a whole trace: read");
	ok(s.file_ok && s.status == HC_READ_COMPLETE && s.complete, "whole trace: complete");
	is_u64(s.records, 13, "whole trace: 13 records");
	is_u64(s.chunks, 3, "whole trace: 3 chunks");
	is_u64(s.bytes_read, len, "whole trace: every byte read");
	ok(s.have_header && s.header.pid == 4242 && s.header.ppid == 1 && s.header.exec_seq == 0,
	   "header: pid 4242, ppid 1, exec_seq 0");
	ok(s.header.start_realtime_ns == 1700000000123456789u && s.header.page_size == 4096 &&
	   s.header.cgroup_limit_bytes == 2u << 30 && s.header.flags == HC_HDR_SAMPLED &&
	   s.header.sample_bytes == 524288 && s.header.promotion_ns == 2000000000 &&
	   s.header.interval_ns == 1000000000,
	   "header: start time, page size, cgroup limit, flags, sampling, promotion, interval");
	ok(s.header.exe.len == 13 && !memcmp(s.header.exe.p, "/usr/bin/demo", 13),
	   "header: exe /usr/bin/demo");
	struct hc_args args;
	struct hc_str arg;
	hc_args_init(&args, s.header.cmdline);
	const char *want[] = {"demo", "--size", "100"};
	unsigned nargs = 0, args_ok = 1;
	while (hc_args_next(&args, &arg)) {
		if (nargs >= 3 || arg.len != strlen(want[nargs]) || memcmp(arg.p, want[nargs], arg.len))
			args_ok = 0;
		nargs++;
	}
	ok(args_ok && nargs == 3, "header: cmdline [demo, --size, 100]");
	ok(s.header.exe_build_id.len == 20 && !memcmp(s.header.exe_build_id.p, build_id, 20),
	   "header: build-id, 20 bytes");
	is_u64(s.snapshots, 3, "3 snapshots");
	is_u64(s.last.total_allocs, 130, "totals: allocations 130 (last snapshot)");
	is_u64(s.last.total_frees, 128, "totals: frees 128");
	is_u64(s.last.total_bytes_allocated, 21000, "totals: bytes allocated 21000");
	is_u64(s.last.heap_peak_bytes, 8192, "totals: peak live 8192");
	is_u64(s.last.heap_live_bytes, 512, "totals: unfreed at end 512 bytes");
	is_u64(s.last.heap_live_blocks, 2, "totals: unfreed at end 2 blocks");
	is_u64(s.last.lost_events, 3, "lost events 3");
	is_u64(s.last.unknown_frees, 2, "unknown frees 2");
	ok(s.last.have_cpu && s.last.collector_cpu_ns == 400000000u &&
	   s.last.process_cpu_ns == 1600000000u, "CPU times: collector 0.4 s, process 1.6 s");
	is_u64(s.last_ts, 3500000000u, "last time 3.5 s (the END record)");
	ok(s.end_seen && s.end_reason == HC_END_EXIT && s.end_ts == 3500000000u, "END: exit at 3.5 s");
	ok(s.exit_seen && s.exit_how == HC_EXIT_MAIN && s.exit_ts == 3000000000u,
	   "EXIT: main returned at 3 s");
	ok(s.nnotes == 1 && s.notes[0].level == HC_NOTE_WARNING && s.notes[0].ts == 2100000000 &&
	   !strcmp(s.notes[0].message, "ring full: waited"), "one NOTE kept, with level and time");
	ok(s.by_type[HC_REC_SNAPSHOT] == 3 && s.by_type[HC_REC_BLOCK] == 1 &&
	   s.by_type[HC_REC_FREE] == 1 && s.unknown_records == 0, "records counted by type");
	hc_summary_release(&s);

	/* Cut inside the last chunk: figures from what was read. */
	is_int(summarize(data, offs[2] + 30, &s), 0, "summary of a truncated trace: read");
	ok(s.status == HC_READ_TRUNCATED && !s.complete && s.stop_offset == offs[2],
	   "truncated: not complete, stopped at the last chunk's offset");
	is_u64(s.records, 10, "truncated: 10 records");
	is_u64(s.last.total_allocs, 120, "truncated: allocations 120 (second snapshot)");
	is_u64(s.last.heap_live_bytes, 4096, "truncated: unfreed 4096 bytes");
	is_u64(s.last_ts, 2500000000u, "truncated: last time 2.5 s (the FREE record)");
	ok(!s.end_seen && !s.exit_seen, "truncated: no END, no EXIT");
	hc_summary_release(&s);

	/* Cut at a chunk boundary: clean end of file, but no END record. */
	is_int(summarize(data, offs[2], &s), 0, "summary without the last chunk: read");
	ok(s.status == HC_READ_COMPLETE && !s.complete, "no END record: not complete");
	hc_summary_release(&s);

	/* A malformed SNAPSHOT in a sound chunk is corruption at that chunk. */
	static uint8_t f[4096];
	memcpy(f, data, offs[1]);
	uint8_t recs[64];
	size_t rl = put_record(recs, HC_REC_SNAPSHOT, "\x01\x02", 2);
	size_t n = offs[1] + put_chunk(f + offs[1], HC_CODEC_NONE, recs, (uint32_t)rl, (uint32_t)rl);
	is_int(summarize(f, n, &s), -EBADMSG, "malformed SNAPSHOT: -EBADMSG");
	ok(s.status == HC_READ_CORRUPT && s.stop_offset == offs[1] && s.chunks == 1 &&
	   s.bytes_read == offs[1], "malformed SNAPSHOT: corrupt at its chunk's offset");
	is_str(s.reason, "malformed SNAPSHOT record at byte 0 of the decompressed chunk",
	       "malformed SNAPSHOT: reason");
	is_u64(s.last.total_allocs, 50, "malformed SNAPSHOT: figures from before it");
	ok(!s.last.have_cpu, "malformed SNAPSHOT: the one before it had no CPU times");
	hc_summary_release(&s);

	/* A record after END: the trace went on (a failed exec). */
	memcpy(f, data, len);
	rl = put_record(recs, HC_REC_EXEC, "\x01\x02/x", 4);
	n = len + put_chunk(f + len, HC_CODEC_NONE, recs, (uint32_t)rl, (uint32_t)rl);
	summarize(f, n, &s);
	ok(s.status == HC_READ_COMPLETE && !s.end_seen && !s.complete && s.execs == 1 &&
	   s.exec_path_len == 2 && !strcmp(s.exec_path, "/x"),
	   "a record after END: not complete; EXEC kept");
	hc_summary_release(&s);
	free(data);
}

/* The chunk checksum: CRC-32C's check value, and the table and SSE4.2
 * versions equal on every length and alignment, also when chained. */
static void test_crc(void)
{
	is_int((int)hc_crc32c_sw(0, "123456789", 9), (int)0xe3069283u, "CRC-32C check value (table)");
	is_int((int)hc_crc32c(0, "123456789", 9), (int)0xe3069283u, "CRC-32C check value (in use)");
	uint8_t buf[300];
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	int same = 1;
	for (size_t off = 0; off < 9; off++)
		for (size_t len = 0; len + off <= sizeof(buf); len += 7) {
			uint32_t a = hc_crc32c_sw(0, buf + off, len);
			same &= hc_crc32c(0, buf + off, len) == a;
			same &= hc_crc32c(hc_crc32c(0, buf + off, len / 3), buf + off + len / 3,
					  len - len / 3) == a;
		}
	ok(same, "every length, offset and split gives the table's CRC");
}

int main(void)
{
	test_crc();
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof(tmpdir), "%s/hc-test-reader.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir))
		die("mkdtemp");

	test_roundtrip(3);
	test_roundtrip(0);
	test_autoflush();
	test_skip(0);
	test_skip(1);
	test_truncation(3);
	test_truncation(0);
	test_flips(3);
	test_flips(0);
	test_header_field_flips();
	test_bad_contents();
	test_absurd_sizes();
	test_file_headers();
	test_random_files();
	test_mutations();
	test_cursor();
	test_snapshot_fields();
	test_args();
	test_summary();
	is_int((int)ahead_differ, 0,
	       "read-ahead: the same records, status, offsets and messages as without it on all %u files",
	       ahead_files);

	rmdir(tmpdir);
	return done_testing();
}
