/* libFuzzer target for everything that reads a trace before any analysis:
 * the reader (file header, chunk framing, sizes, checksums, zstd), the
 * summary pass, and every record decoder with its lists (MODULES, STACK
 * frames, SITES, SYMBOLS), the command-line iterator and the name tables.
 * Built by `make fuzz` into build-fuzz/fuzz-reader with ASan and UBSan; run
 * by tests/t1700-fuzz.sh on the seed corpus in tests/fuzz/corpus/.
 *
 * A random change almost never keeps a chunk's CRC-32C right, so each input
 * is read twice: as it is (the framing checks), and with every chunk's
 * checksum recomputed (so the damage reaches the decompressor and the
 * records). With HC_FUZZ_MODEL=1 in the environment the whole analysis
 * (model, detection, symbols) runs on each input too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "analysis.h"
#include "decode.h"
#include "heapcreep/trace.h"
#include "reader.h"
#include "summary.h"

static volatile uint64_t sink;

static void eat(uint64_t v)
{
	sink += v;
}

static void eat_str(struct hc_str s)
{
	if (s.len)
		sink += (unsigned char)s.p[0] + (unsigned char)s.p[s.len - 1] + s.len;
}

/* Decodes one record with the decoder of its type, lists included. */
static void decode_one(const struct hc_rec *rec)
{
	const char *name = hc_record_name(rec->type);
	eat(name ? (uint64_t)name[0] : 0);
	struct hc_cur c;
	switch (rec->type) {
	case HC_REC_HEADER: {
		struct hc_header_rec h;
		if (hc_decode_header(rec, &h))
			return;
		eat(h.pid + h.interval_ns + h.promotion_ns + h.sample_bytes + h.flags);
		eat_str(h.exe);
		eat_str(h.config);
		eat_str(h.exe_build_id);
		struct hc_args it;
		struct hc_str arg;
		hc_args_init(&it, h.cmdline);
		while (hc_args_next(&it, &arg))
			eat_str(arg);
		return;
	}
	case HC_REC_MODULES: {
		uint64_t ts, count;
		struct hc_module_rec m;
		if (hc_decode_modules_begin(rec, &c, &ts, &count))
			return;
		for (uint64_t i = 0; i < count && !hc_decode_module(&c, &m); i++) {
			eat(m.start ^ m.end ^ m.file_offset);
			eat_str(m.path);
			eat_str(m.build_id);
		}
		return;
	}
	case HC_REC_STACK: {
		uint64_t id, n, addr = 0;
		if (hc_decode_stack_begin(rec, &c, &id, &n))
			return;
		for (uint64_t i = 0; i < n && !hc_decode_frame(&c, &addr); i++)
			eat(addr);
		return;
	}
	case HC_REC_THREAD: {
		struct hc_thread_rec t;
		if (!hc_decode_thread(rec, &t))
			eat_str(t.name);
		return;
	}
	case HC_REC_BLOCK: {
		struct hc_block_rec b;
		if (!hc_decode_block(rec, &b))
			eat(b.id_delta + b.stack + b.size + b.ts + b.addr);
		return;
	}
	case HC_REC_FREE: {
		struct hc_free_rec f;
		if (!hc_decode_free(rec, &f))
			eat(f.id + f.ts);
		return;
	}
	case HC_REC_SNAPSHOT: {
		struct hc_snapshot_rec s;
		if (!hc_decode_snapshot(rec, &s))
			eat(s.ts + s.heap_live_bytes + s.lost_events + s.shim_bytes);
		return;
	}
	case HC_REC_SITES: {
		uint64_t count;
		struct hc_site_rec s;
		if (hc_decode_sites_begin(rec, &c, &count))
			return;
		for (uint64_t i = 0; i < count && !hc_decode_site(&c, &s); i++) {
			eat(s.stack + s.live_bytes + s.allocs);
			for (unsigned h = 0; h < s.nhist; h++)
				eat(s.hist[h].bucket + s.hist[h].count);
		}
		return;
	}
	case HC_REC_EXIT: {
		struct hc_exit_rec e;
		if (!hc_decode_exit(rec, &e)) {
			const char *how = hc_exit_how_name(e.how);
			eat(how ? (uint64_t)how[0] : e.how);
		}
		return;
	}
	case HC_REC_END: {
		struct hc_end_rec e;
		if (!hc_decode_end(rec, &e)) {
			const char *why = hc_end_reason_name(e.reason);
			eat(why ? (uint64_t)why[0] : e.reason);
		}
		return;
	}
	case HC_REC_NOTE: {
		struct hc_note_rec n;
		if (!hc_decode_note(rec, &n)) {
			const char *level = hc_note_level_name(n.level);
			eat(level ? (uint64_t)level[0] : n.level);
			eat_str(n.message);
		}
		return;
	}
	case HC_REC_EXEC: {
		struct hc_exec_rec e;
		if (!hc_decode_exec(rec, &e))
			eat_str(e.path);
		return;
	}
	case HC_REC_SYMBOLS: {
		uint64_t count, addr, nframes;
		struct hc_symbol_frame_rec f;
		if (hc_decode_symbols_begin(rec, &c, &count))
			return;
		for (uint64_t i = 0; i < count; i++) {
			if (hc_decode_symbol(&c, &addr, &nframes))
				return;
			for (uint64_t k = 0; k < nframes; k++) {
				if (hc_decode_symbol_frame(&c, &f))
					return;
				eat_str(f.function);
				eat_str(f.file);
				eat(f.line);
			}
		}
		return;
	}
	}
}

static void read_all(const char *path)
{
	struct hc_reader r;
	if (hc_reader_open(&r, path) == 0) {
		struct hc_rec rec;
		int rc;
		while ((rc = hc_reader_next(&r, &rec)) == 1)
			decode_one(&rec);
		/* Once stopped, it stays stopped with the same answer. */
		if (hc_reader_next(&r, &rec) != rc)
			abort();
		eat(r.stop_offset + r.chunks + r.records + r.good_bytes + r.mem_peak);
		eat(strlen(r.message));
		/* Never a buffer bigger than a chunk may be, however the sizes lie. */
		if (r.mem_peak > 2 * (size_t)HC_CHUNK_MAX + (128u << 10))
			abort();
	}
	hc_reader_close(&r);

	struct hc_summary s;
	hc_summary_read(&s, path);
	eat(s.records + s.snapshots + s.nnotes + s.complete + strlen(s.message));
	for (size_t i = 0; i < s.nnotes; i++)
		eat(s.notes[i].len);
	hc_summary_release(&s);

	static int model = -1;
	if (model < 0)
		model = getenv("HC_FUZZ_MODEL") && atoi(getenv("HC_FUZZ_MODEL"));
	if (model) {
		struct hc_analysis a;
		struct hc_detect_opts o;
		hc_detect_defaults(&o);
		hc_analysis_open(&a, path, &o);
		hc_analysis_close(&a);
	}
}

/* Recomputes the checksum of every whole chunk; returns whether any changed. */
static int fix_checksums(uint8_t *d, size_t n)
{
	int changed = 0;
	size_t off = HC_FILE_HEADER_SIZE;
	while (off + HC_CHUNK_HEADER_SIZE <= n) {
		uint8_t *h = d + off;
		if (hc_get_le32(h) != HC_CHUNK_MAGIC)
			break;
		uint32_t stored = hc_get_le32(h + 8);
		if (stored > n - off - HC_CHUNK_HEADER_SIZE)
			break;
		uint32_t crc = hc_chunk_crc(h, h + HC_CHUNK_HEADER_SIZE, stored);
		if (hc_get_le32(h + 16) != crc) {
			hc_put_le32(h + 16, crc);
			changed = 1;
		}
		off += HC_CHUNK_HEADER_SIZE + stored;
	}
	return changed;
}

static int fd = -1;
static char path[64];

static void put_file(const uint8_t *d, size_t n)
{
	if (ftruncate(fd, 0) || pwrite(fd, d, n, 0) != (ssize_t)n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fd < 0) {
		fd = memfd_create("trace", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	put_file(data, size);
	read_all(path);

	uint8_t *copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (fix_checksums(copy, size)) {
		put_file(copy, size);
		read_all(path);
	}
	free(copy);
	return 0;
}
