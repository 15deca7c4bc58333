/* heapcreep trace format, version 1: the one contract between the shim
 * (preload/, which writes it) and the analyzer (analyzer/, which reads it).
 * docs/trace-format.md describes the same thing in prose; keep both in step.
 *
 * Invariants callers rely on:
 *  - a file is FILE_HEADER followed by chunks; every chunk stands alone
 *    (its own checksum, its own zstd frame), so a reader can stop cleanly at
 *    the first torn or corrupt chunk and keep everything before it;
 *  - inside a chunk, records are (varint type, varint length, body); a reader
 *    skips types it does not know, so new record types never break old readers;
 *  - all integers in bodies are LEB128 varints, signed ones zigzag-encoded;
 *    times are nanoseconds since the trace's start (monotonic clock).
 */
#ifndef HEAPCREEP_TRACE_H
#define HEAPCREEP_TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define HC_TRACE_MAGIC "HCTRACE\0"          /* 8 bytes at offset 0 */
#define HC_TRACE_VERSION 1u
#define HC_FILE_HEADER_SIZE 16u             /* magic[8] u16 version u16 size u32 flags */

#define HC_CHUNK_MAGIC 0x4b434348u          /* "HCCK" little-endian */
#define HC_CHUNK_HEADER_SIZE 20u            /* magic u32, codec u8, pad[3], stored u32, raw u32, crc u32 */
#define HC_CHUNK_MAX (16u << 20)            /* a reader refuses larger stored or raw sizes */

enum hc_codec {
	HC_CODEC_NONE = 0,
	HC_CODEC_ZSTD = 1,
};

/* Record types.  Fields are listed in order; "str" is varint length + bytes,
 * "s" a zigzag varint.  Fields may be appended to a record in later versions:
 * readers ignore trailing bytes they do not expect. */
enum hc_record {
	/* version, pid, ppid, exec_seq, start_realtime_ns, start_monotonic_ns,
	 * page_size, cgroup_limit_bytes (0: none), flags (HC_HDR_*),
	 * sample_bytes (0: every allocation), promotion_ns, interval_ns,
	 * exe str, cmdline str (arguments separated by NUL), exe_build_id str,
	 * config str ("NAME=value\n" lines of our own HEAPCREEP_ variables),
	 * process_start_realtime_ns (0: unknown), window (0: traced from the
	 * start; n: the n-th window of a dormant process, HC_HDR_WINDOW) */
	HC_REC_HEADER = 1,
	/* ts, count, then count × (start, end, file_offset, path str, build_id str).
	 * Replaces the previous module map as a whole. */
	HC_REC_MODULES = 2,
	/* stack id, nframes, nframes × s (delta from previous address, the first
	 * from 0); innermost frame first; return addresses as captured. When
	 * the thread ran Python, its Python frames follow the native ones,
	 * innermost first, as words with HC_PYFRAME_BIT set (hc_pyframe_*). */
	HC_REC_STACK = 3,
	/* ts, tid, name str */
	HC_REC_THREAD = 4,
	/* A block that outlived the promotion age: block id delta (from the
	 * previous BLOCK record's id, the first from 0), stack id, size,
	 * alloc ts, address. */
	HC_REC_BLOCK = 5,
	/* block id, free ts */
	HC_REC_FREE = 6,
	/* ts, rss_bytes, heap_live_bytes, heap_live_blocks, heap_peak_bytes,
	 * total_allocs, total_frees, total_bytes_allocated, events,
	 * lost_events, ring_waits, unknown_frees, shim_bytes, collector_cpu_ns,
	 * process_cpu_ns, mapped_live_bytes, unknown_free_bytes (in windows:
	 * the bytes of the unknown frees, where the allocator could tell).
	 * All cumulative since the start except rss and the live figures.
	 * lost_events counts events the shim could not record (never silent);
	 * unknown_frees counts frees of blocks the trace never saw allocated
	 * (allocated before tracing began, e.g. inherited across fork). */
	HC_REC_SNAPSHOT = 7,
	/* Per-site figures of the SNAPSHOT record just before it (a snapshot
	 * with many sites has several SITES records): count, then count ×
	 * (stack id, live_bytes, live_blocks, allocs, frees, bytes_allocated,
	 *  peak_live_bytes, nhist, nhist × (bucket, count)).
	 * Only sites that changed since the previous snapshot are listed; live
	 * and peak figures are absolute, the others count since the site's
	 * previous entry. Histogram bucket b counts blocks freed in that span
	 * whose lifetime in ns lies in [2^b, 2^(b+1)) (bucket 0 also holds 0). */
	HC_REC_SITES = 12,
	/* ts, how (HC_EXIT_*): the process began to exit; what follows is teardown */
	HC_REC_EXIT = 8,
	/* ts, reason (HC_END_*): the last record of a trace that ended cleanly */
	HC_REC_END = 9,
	/* ts, level (HC_NOTE_*), message str */
	HC_REC_NOTE = 10,
	/* ts, path str: the process called execve; if the trace continues, the
	 * call failed and the process went on */
	HC_REC_EXEC = 11,
	/* Symbols of frame addresses, added by `heapcreep symbolize` (appended
	 * to the trace, after END if there is one): count, then count ×
	 * (address, nframes, nframes × (function str, file str, line)).
	 * nframes 0: not resolved. Several frames: the innermost inlined
	 * function first, the function the code was inlined into last. */
	HC_REC_SYMBOLS = 13,
	/* A Python code object, copied once by the thread that first ran it:
	 * code id, firstlineno (s), flags (HC_CODE_*), qualname str (3.10:
	 * the name), filename str (both UTF-8), line table str (co_linetable
	 * as the interpreter keeps it, cut at 64 KiB). An id is never reused
	 * within a trace; an address reused by another code object gets a new
	 * id. */
	HC_REC_CODE = 14,
	/* The process runs CPython and its frames are walked: version
	 * (PY_VERSION_HEX), eval_lo, eval_hi (_PyEval_EvalFrameDefault: a
	 * native frame in this range ran the Python frames up to the next
	 * entry frame), interpreter path str, PYTHONMALLOC str (as the
	 * process started; empty: unset, pymalloc serves small objects). */
	HC_REC_PYTHON = 15,
};

/* The innermost frame of an anonymous mapping's stack: a pseudo-frame (no
 * return address is below 4096), so that a mapping made where an
 * allocation is also made is a site of its own, and every report can say
 * which sites are mappings (mmap, mremap) rather than allocator blocks. */
#define HC_FRAME_MMAP 1u
static inline int hc_frame_is_mmap(uint64_t w)
{
	return w == HC_FRAME_MMAP;
}

/* A Python frame word in a STACK record. */
#define HC_PYFRAME_BIT (1ull << 63)
static inline int hc_pyframe_is(uint64_t w)
{
	return (w & HC_PYFRAME_BIT) != 0;
}
/* The first frame its eval loop ran: the eval loop's native frame stands
 * for the Python frames from the one after the previous entry up to it. */
static inline int hc_pyframe_entry(uint64_t w)
{
	return (int)((w >> 62) & 1);
}
/* 0: a frame pushed but not yet started (it only pairs with its native
 * frame, and is not shown); 2^30 - 1: a code object the trace does not
 * hold (counted in a NOTE) */
static inline uint32_t hc_pyframe_code(uint64_t w)
{
	return (uint32_t)((w >> 32) & 0x3fffffff);
}
/* The instruction index (code units), -1 before the first */
static inline int64_t hc_pyframe_index(uint64_t w)
{
	return (int64_t)(uint32_t)w - 1;
}

enum hc_code_flags {
	HC_CODE_TABLE_CUT = 1u << 0,  /* the line table was longer than copied */
};

enum hc_header_flags {
	HC_HDR_SAMPLED = 1u << 0,
	HC_HDR_FORK_CHILD = 1u << 1,  /* this process was forked from a traced one */
	/* A window of a dormant process's life (heapcreep on/off): time zero is
	 * the window's start; blocks allocated before it are unknown. */
	HC_HDR_WINDOW = 1u << 2,
};

enum hc_exit_how {
	HC_EXIT_CALL = 1,     /* exit() was called */
	HC_EXIT_MAIN = 2,     /* main() returned */
};

enum hc_end_reason {
	HC_END_EXIT = 0,      /* normal process exit */
	HC_END_EXEC = 1,      /* the process image was replaced by execve */
	HC_END_STOPPED = 2,   /* tracing stopped early; a NOTE says why */
	HC_END_SIGNAL = 3,    /* a fatal signal (its number follows) ended the process */
	HC_END_WINDOW = 4,    /* the window was switched off (or its duration ran out) */
};

enum hc_note_level {
	HC_NOTE_INFO = 0,
	HC_NOTE_WARNING = 1,
	HC_NOTE_ERROR = 2,
};

#define HC_HIST_BUCKETS 64

/* --- varints ------------------------------------------------------------ */

/* Writes v as LEB128 into p (at least 10 bytes of room); returns bytes used. */
static inline size_t hc_put_uvarint(uint8_t *p, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		p[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

static inline uint64_t hc_zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t hc_unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

/* Reads a LEB128 varint from [*p, end). Returns 0 and advances *p, or -1 on
 * a truncated or over-long (more than 10 bytes) encoding. */
static inline int hc_get_uvarint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	uint64_t v = 0;
	unsigned shift = 0;
	const uint8_t *q = *p;
	while (q < end && shift < 64) {
		uint8_t b = *q++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*p = q;
			*out = v;
			return 0;
		}
		shift += 7;
	}
	return -1;
}

static inline void hc_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t hc_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* --- CRC-32C (Castagnoli), the chunk checksum --------------------------- */

/* Byte-wise reflected CRC-32C with a table built on first use. Racing
 * builders write identical values and publish with release, so no lock. */
static inline uint32_t hc_crc32c_sw(uint32_t crc, const void *data, size_t len)
{
	static uint32_t table[256];
	static int ready;
	if (!__atomic_load_n(&ready, __ATOMIC_ACQUIRE)) {
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = (c >> 1) ^ (0x82f63b78u & -(c & 1u));
			table[i] = c;
		}
		__atomic_store_n(&ready, 1, __ATOMIC_RELEASE);
	}
	const uint8_t *p = data;
	crc = ~crc;
	while (len--)
		crc = (crc >> 8) ^ table[(crc ^ *p++) & 0xff];
	return ~crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <cpuid.h>
/* The same CRC with SSE4.2's crc32 instruction (it computes CRC-32C):
 * 8 bytes a step instead of one, for the analyzer's reads of big traces. */
__attribute__((target("sse4.2"))) static inline uint32_t hc_crc32c_hw(uint32_t crc,
								      const void *data,
								      size_t len)
{
	const uint8_t *p = data;
	uint64_t c = ~crc;
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t v;
		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
	}
	uint32_t c32 = (uint32_t)c;
	while (len--)
		c32 = __builtin_ia32_crc32qi(c32, *p++);
	return ~c32;
}

static inline int hc_have_sse42(void)
{
	static int have; /* 0: not asked yet, 1: no, 2: yes */
	int h = __atomic_load_n(&have, __ATOMIC_RELAXED);
	if (!h) {
		unsigned a, b, c, d;
		h = __get_cpuid(1, &a, &b, &c, &d) && (c & bit_SSE4_2) ? 2 : 1;
		__atomic_store_n(&have, h, __ATOMIC_RELAXED);
	}
	return h == 2;
}

static inline uint32_t hc_crc32c(uint32_t crc, const void *data, size_t len)
{
	return hc_have_sse42() ? hc_crc32c_hw(crc, data, len) : hc_crc32c_sw(crc, data, len);
}
#else
static inline uint32_t hc_crc32c(uint32_t crc, const void *data, size_t len)
{
	return hc_crc32c_sw(crc, data, len);
}
#endif

/* Checksum of a chunk: the header bytes 4..15 (codec, pad, stored and raw
 * sizes) followed by the stored payload. */
static inline uint32_t hc_chunk_crc(const uint8_t *header, const uint8_t *payload,
				    size_t stored)
{
	return hc_crc32c(hc_crc32c(0, header + 4, 12), payload, stored);
}

#endif
