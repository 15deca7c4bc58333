/* The shim's internal map: the cross-file functions and state of preload/,
 * grouped under the file that defines them. The shim exports only the libc
 * allocation names (exports.map); everything here is hidden.
 *
 * Pipeline: hooks.c (interposed entry points) → unwind.c (stack + hash) →
 * ring.c (per-thread SPSC rings, thread.c hands them out) → merge.c (the
 * collector's drain: the rings' events in stamp order) → collector.c (the
 * one thread that owns all tables: heap.c) → writer.c.
 */
#ifndef HC_INTERNAL_H
#define HC_INTERNAL_H

#include <link.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define HC_HIDDEN __attribute__((visibility("hidden")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* --- config.c ------------------------------------------------------------ */

enum hc_fork_mode { HC_FORK_TRACE, HC_FORK_OFF };

struct hc_config {
	char output[4096];      /* output path pattern; %p pid, %% percent */
	uint64_t sample_bytes;  /* 0: every allocation */
	uint64_t promotion_ns;  /* nursery age before a block is written */
	uint64_t interval_ns;   /* snapshot interval */
	uint64_t wait_ns;       /* longest a producer waits for ring space */
	size_t ring_bytes;      /* per-thread ring size, a power of two */
	int max_frames;
	int fork_mode;
	int zstd_level;
	int python;             /* walk Python frames when the process runs CPython */
	char pymalloc[32];      /* PYTHONMALLOC as the process started ("": unset) */
	int dormant;            /* record nothing until a window is switched on */
	char control[512];      /* dormant mode's control directory */
	int clock;              /* HC_CLOCK_* */
	char text[1024];        /* our HEAPCREEP_ variables, for the header */
};
extern struct hc_config hc_config HC_HIDDEN;
/* The event clock: the TSC if the kernel keeps time with it, always (the
 * user trusts it), or never. */
enum { HC_CLOCK_AUTO, HC_CLOCK_TSC, HC_CLOCK_MONOTONIC };

/* Reads HEAPCREEP_* with secure_getenv. Returns 0, or -1 after writing one
 * line on stderr (tracing must then stay off). */
int hc_config_load(void) HC_HIDDEN;

/* --- log.c --------------------------------------------------------------- */

/* One line on stderr, "heapcreep: ..." + newline, formatted without stdio
 * (%s, %d, %u, %lu, %llu, %x only): safe inside the allocator. */
void hc_log(const char *fmt, ...) HC_HIDDEN __attribute__((format(printf, 1, 2)));
/* The same into a buffer (always NUL-terminated); returns the length. */
size_t hc_fmt(char *buf, size_t cap, const char *fmt, ...) HC_HIDDEN
	__attribute__((format(printf, 3, 4)));

/* --- time --------------------------------------------------------------- */

#include <time.h>
/* A clock in ns; 0 if it cannot be read. */
static inline uint64_t hc_clock_ns(clockid_t clock)
{
	struct timespec ts;
	if (clock_gettime(clock, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* CLOCK_MONOTONIC in ns: a vDSO call, no syscall. The collector's clock. */
static inline uint64_t hc_now(void)
{
	return hc_clock_ns(CLOCK_MONOTONIC);
}

/* Event stamps: the TSC when the kernel itself keeps time with it (so it is
 * synchronised across CPUs) or HEAPCREEP_CLOCK=tsc says to trust it, else
 * CLOCK_MONOTONIC in ns; the collector converts (clock.c). Free events stamp
 * before the real free, alloc events after the real allocator returned, so
 * that for one address the stamps of its blocks' lives never overlap, and a
 * block handed from one thread to another is freed after it was allocated.
 * Once two threads record, every stamp reads the counter with RDTSCP (or
 * CLOCK_MONOTONIC, whose vDSO read is fenced the same way), which
 * waits until every older instruction has executed and every older load is
 * done: an allocation's stamp comes after the allocator's load that found
 * the block free, a free's after the load that handed it this block (a
 * plain RDTSC may execute before either load completes, up to 13 us early
 * here). A stamp always comes before the stores that follow it: x86 makes a
 * store visible only after every older instruction has completed.
 *
 * While one thread alone has recorded, it stamps with a plain RDTSC (15 ns
 * less a pair here), or, with CLOCK_MONOTONIC, from the TSC between clock
 * reads (hc_stamp_between). That is only ever early, never late, and an
 * inversion needs the later event of a pair that crosses threads to be
 * stamped early;
 * with one thread recording there is no such pair. A second thread claims
 * its state (hc_stamp_claim) before its first stamp: it sets
 * hc_stamp_fenced with a locked store, before any store of its own that the
 * first thread could load (a block handed over, an address freed), and x86
 * keeps the first thread's later load of the flag after its load of that
 * store. So the first thread fences every stamp that could follow one of
 * the second's. The collector stamps fenced without claiming: it records no
 * block's life. A ring's own stamps may then step back by a few cycles: the
 * merge checks each ring's order and a lifetime is a signed difference. */
extern int hc_use_tsc HC_HIDDEN;
extern _Atomic int hc_stamp_fenced HC_HIDDEN;
enum { HC_STAMP_NEW, HC_STAMP_SOLO, HC_STAMP_FENCED }; /* hc_tls.stamp */
void hc_stamp_claim(void) HC_HIDDEN;

#ifdef HC_MEASURE_COUNTER_STAMPS
/* For bench/parts.sh only: stamps from a per-thread counter, to measure
 * what the RDTSCP stamps cost. Not a valid tracer: threads' stamps are not
 * comparable and lifetimes are not times. Never set in a real build. */
extern __thread uint64_t hc_measure_stamp __attribute__((tls_model("initial-exec"))) HC_HIDDEN;
#endif

/* clock.c: decides the event clock (once, before any event) and converts
 * stamps to ns; the collector keeps the conversion calibrated. */
void hc_clock_init(void) HC_HIDDEN;
/* After the configuration is read, before any event: HC_CLOCK_*. */
void hc_clock_choose(int clock) HC_HIDDEN;
/* One line for the trace: which clock stamps events, and why. */
size_t hc_clock_describe(char *buf, size_t cap) HC_HIDDEN;
/* The same for a lone thread's stamps taken between clock reads; 0 if none. */
size_t hc_clock_describe_solo(char *buf, size_t cap) HC_HIDDEN;
/* This thread stamps fenced and records no block (the collector). */
void hc_stamp_fence_self(void) HC_HIDDEN;
/* Fork child: its one thread records alone again. */
void hc_stamp_postfork_child(void) HC_HIDDEN;
void hc_clock_calibrate(void) HC_HIDDEN;
double hc_ns_per_stamp(void) HC_HIDDEN;
void hc_clock_reset(void) HC_HIDDEN;

/* --- ownheap.c: the shim's own small heap ------------------------------- */

/* Serves what libc allocates for the shim (see ownheap.c): before the next
 * allocator is known, and on a thread inside hc_own_enter/leave. NULL when
 * it cannot: the caller then uses the next allocator. */
void *hc_own_alloc(size_t size, size_t align) HC_HIDDEN;
void *hc_own_calloc(size_t size) HC_HIDDEN;
void *hc_own_realloc(void *old, size_t size) HC_HIDDEN;
void hc_own_free(void *p) HC_HIDDEN;
size_t hc_own_size(const void *p) HC_HIDDEN;
#define HC_OWN_SIZE (1u << 20)
extern unsigned char hc_own_arena[HC_OWN_SIZE] HC_HIDDEN;
/* Whether p is one of its blocks: on every free, so inline. */
static inline int hc_own_owns(const void *p)
{
	return (uintptr_t)p - (uintptr_t)hc_own_arena < HC_OWN_SIZE;
}
/* Around a libc call that may allocate for the shim: signals blocked (a
 * handler's allocations are the program's), the guard held, and what the
 * call allocates served by the own heap. Nests. */
void hc_own_enter(sigset_t *saved) HC_HIDDEN;
void hc_own_leave(const sigset_t *saved) HC_HIDDEN;

/* --- hooks.c ------------------------------------------------------------- */

/* The next allocator's entry points (glibc, jemalloc, tcmalloc...). The C++
 * and *allocx ones are NULL when the next allocator lacks them. */
struct hc_real {
	void *(*malloc)(size_t);
	void (*free)(void *);
	void *(*calloc)(size_t, size_t);
	void *(*realloc)(void *, size_t);
	int (*posix_memalign)(void **, size_t, size_t);
	void *(*aligned_alloc)(size_t, size_t);
	void *(*memalign)(size_t, size_t);
	void *(*valloc)(size_t);
	void *(*pvalloc)(size_t);
	size_t (*malloc_usable_size)(void *);
	void *(*mallocx)(size_t, int);
	void *(*rallocx)(void *, size_t, int);
	size_t (*xallocx)(void *, size_t, size_t, int);
	size_t (*sallocx)(const void *, int);
	void (*dallocx)(void *, int);
	void (*sdallocx)(void *, size_t, int);
	size_t (*nallocx)(size_t, int);
	void *(*mmap)(void *, size_t, int, int, int, off_t);
	int (*munmap)(void *, size_t);
	void *(*mremap)(void *, size_t, size_t, int, ...);
	void *cxx_new[8];      /* see hooks_cxx.c for the order */
	void *cxx_delete[12];
};
extern struct hc_real hc_real HC_HIDDEN;

/* Resolves hc_real once (idempotent, thread-safe). */
void hc_resolve(void) HC_HIDDEN;
/* Whether hc_real is resolved (and found the next allocator). */
int hc_resolved(void) HC_HIDDEN;
/* Whether hc_real is resolved (resolving it if not, unless this thread is
 * resolving it now) and the calling thread's calls are recorded: not from
 * inside the shim, and only while tracing is on. */
int hc_hooks_traced(void) HC_HIDDEN;

/* --- thread.c: per-thread state ----------------------------------------- */

struct hc_ring;

struct hc_tls {
	int guard;               /* >0 while the shim works on this thread */
	int state;               /* HC_THREAD_* */
	int dtor_rounds;
	struct hc_ring *ring;
	int64_t sample_left;     /* bytes until the next sampled byte */
	uint64_t rng;
	uint64_t ring_retry_at;  /* no ring could be had: hc_now() of the next try */
	int own;                 /* >0: allocations go to the own heap (ownheap.c) */
	int64_t own_sample_left; /* sample_left while own */
	int stamp;               /* HC_STAMP_* */
	/* A lone recorder's stamps between clock reads (hc_stamp_between) */
	uint32_t solo_cpu;       /* CPU of the last read; HC_SOLO_NONE: read again */
	uint64_t solo_tsc;       /* the TSC right after the last read */
	uint64_t solo_ns;        /* what the last read gave */
	uint64_t solo_last;      /* the last stamp given */
	uint64_t rate_tsc, rate_ns; /* the read the TSC's rate is measured
				     * from; rate_tsc 0: none yet */
	uint32_t rate_cpu;       /* its CPU */
};
enum { HC_THREAD_NEW, HC_THREAD_ACTIVE, HC_THREAD_EXITED };

/* initial-exec: the general-dynamic model may call malloc on first access
 * (__tls_get_addr allocates the DTV), which would recurse into the hooks. */
extern __thread struct hc_tls hc_tls __attribute__((tls_model("initial-exec"))) HC_HIDDEN;

/* A lone recorder between clock reads. With CLOCK_MONOTONIC as the event
 * clock (the kernel does not keep time with the TSC), a thread that stamps
 * alone needs no fence either, and it need not read the clock for every
 * event: it reads it (hc_stamp_read), then takes the stamps that follow from
 * the TSC, as the clock's value at that read plus the ticks since, times a
 * rate measured by the thread itself from two reads at least 2^20 ticks
 * apart, less 1/64. Such a stamp is never late: the read's value is the
 * clock before the TSC taken after it, and the rate is low. It is early by
 * at most the read's own span (HC_SOLO_READ_MAX ticks) and 1/64 of the ticks
 * since (fewer than HC_SOLO_SPAN): under a microsecond. The clock is read
 * again once HC_SOLO_SPAN ticks have passed (so in a burst every few
 * microseconds, and for every event of a thread that allocates less often
 * than that), whenever the thread is on another CPU than at the read (the
 * rseq area glibc registers says which, one load; TSCs of two CPUs are not
 * compared), and while no rate is known. Without rseq, every stamp reads the
 * clock. Early stamps of one thread recording alone are as good as exact
 * ones for the order of events (see above); the lifetimes stay right to
 * within a microsecond. */
#define HC_SOLO_SPAN (1u << 14)      /* ticks a stamp may be taken from a read */
#define HC_SOLO_READ_MAX 1024u       /* ticks a usable read may take */
#define HC_SOLO_RATE_TICKS (1u << 20) /* ticks the rate is measured over, at least */
#define HC_SOLO_NONE UINT32_MAX
extern long hc_rseq_cpu_off HC_HIDDEN; /* the rseq cpu_id's offset from %fs; 0: none */
extern uint64_t hc_solo_mul HC_HIDDEN;  /* ns a tick, times 2^32, less 1/64; 0: unknown */
extern _Atomic uint64_t hc_solo_stamps HC_HIDDEN, hc_solo_reads HC_HIDDEN;
uint64_t hc_stamp_read(void) HC_HIDDEN;

static inline uint64_t hc_rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)::"memory");
	return (uint64_t)hi << 32 | lo;
}

/* The CPU this thread runs on, from its rseq area; HC_SOLO_NONE if none. */
static inline uint32_t hc_cpu(void)
{
	uint32_t cpu;
	if (!hc_rseq_cpu_off)
		return HC_SOLO_NONE;
	__asm__ volatile("movl %%fs:(%1), %0" : "=r"(cpu) : "r"(hc_rseq_cpu_off));
	return cpu;
}

static inline uint64_t hc_stamp_between(void)
{
	uint64_t d = hc_rdtsc() - hc_tls.solo_tsc;
	atomic_store_explicit(&hc_solo_stamps,
			      atomic_load_explicit(&hc_solo_stamps, memory_order_relaxed) + 1,
			      memory_order_relaxed); /* one writer: the lone thread */
	if (likely(d < HC_SOLO_SPAN) && likely(hc_cpu() == hc_tls.solo_cpu)) {
		uint64_t s = hc_tls.solo_ns + ((d * hc_solo_mul) >> 32);
		if (unlikely(s <= hc_tls.solo_last))
			s = hc_tls.solo_last + 1;
		hc_tls.solo_last = s;
		return s;
	}
	return hc_stamp_read();
}

/* An event stamp: see hc_use_tsc above. */
static inline uint64_t hc_stamp(void)
{
#ifdef HC_MEASURE_COUNTER_STAMPS
	return hc_measure_stamp += 64;
#endif
	if (likely(hc_tls.stamp == HC_STAMP_SOLO) &&
	    likely(!atomic_load_explicit(&hc_stamp_fenced, memory_order_acquire)))
		return likely(hc_use_tsc) ? hc_rdtsc() : hc_stamp_between();
	if (unlikely(hc_tls.stamp == HC_STAMP_NEW)) {
		hc_stamp_claim();
		if (hc_tls.stamp == HC_STAMP_SOLO)
			return hc_use_tsc ? hc_rdtsc() : hc_stamp_read();
	}
	if (likely(hc_use_tsc)) {
		uint32_t lo, hi, aux;
		__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux)::"memory");
		return (uint64_t)hi << 32 | lo;
	}
	return hc_now();
}

/* The calling thread's ring, acquired on first use; NULL if none can be had. */
struct hc_ring *hc_thread_ring_slow(void) HC_HIDDEN;
static inline struct hc_ring *hc_thread_ring(void)
{
	struct hc_ring *r = hc_tls.ring;
	return likely(r != NULL) ? r : hc_thread_ring_slow();
}
/* After the thread's last destructor ran: a ring borrowed for one event,
 * given back after it. */
void hc_thread_release(struct hc_ring *r) HC_HIDDEN;
static inline void hc_thread_return_borrowed(struct hc_ring *r)
{
	if (unlikely(r != hc_tls.ring))
		hc_thread_release(r);
}
int hc_thread_init(void) HC_HIDDEN;
/* At most this many rings, whatever the number of threads. */
#define HC_MAX_RINGS 4096
/* Times a thread got no ring, by cause: no memory to map one, HC_MAX_RINGS
 * in use, or rings of exited threads waiting for a collector that is stuck. */
enum { HC_RING_FAIL_NOMEM, HC_RING_FAIL_LIMIT, HC_RING_FAIL_STUCK, HC_RING_FAIL_CAUSES };
void hc_thread_ring_failures(uint64_t out[HC_RING_FAIL_CAUSES]) HC_HIDDEN;
void hc_thread_postfork_child(void) HC_HIDDEN;

/* --- ring.c: single-producer single-consumer byte rings ------------------ */

/* Events are whole multiples of 8 bytes, starting with a header word:
 * kind in bits 0-7, length in 8-byte words in bits 8-23, a count (frames)
 * in bits 32-63. */
enum hc_ev_kind {
	HC_EV_PAD = 0,       /* skip to the end of the ring */
	HC_EV_ALLOC = 1,     /* ptr, size, ts, hash */
	HC_EV_FREE = 2,      /* ptr, ts */
	HC_EV_REALLOC = 3,   /* old, new, size, ts_free, ts_alloc, hash */
	HC_EV_STACK = 4,     /* hash, frames... */
	HC_EV_EXIT = 5,      /* how, ts */
	HC_EV_EXEC = 6,      /* ts, path words... (NUL-padded) */
	HC_EV_CODE = 7,      /* a Python code object (pyframes.c, send_code) */
	/* Anonymous mappings (hooks_mmap.c), laid out as ALLOC, FREE and
	 * REALLOC so that the merge finds their stamps where it finds theirs: */
	HC_EV_MMAP = 8,      /* ptr, len, ts, hash */
	HC_EV_MUNMAP = 9,    /* ptr, ts, len */
	HC_EV_MREMAP = 10,   /* old, new, new_len, ts_free, ts_alloc, hash, old_len */
};
#define HC_EV_WORDS(h) (((h) >> 8) & 0xffff)
#define HC_EV_KIND(h) ((h) & 0xff)
#define HC_EV_COUNT(h) ((h) >> 32)
#define HC_EV_HDR(kind, words, count) \
	((uint64_t)(kind) | (uint64_t)(words) << 8 | (uint64_t)(count) << 32)

enum { HC_RING_FREE, HC_RING_OWNED, HC_RING_DEAD };
#define HC_STACK_CACHE 1024 /* per-ring known-stack hashes, direct-mapped */
#define HC_RULE_BITS 11     /* per-ring unwind rules: 2048, direct-mapped */
#define HC_MEMO_BITS 6      /* per-ring remembered stacks: 64, direct-mapped */
#define HC_MEMO_FRAMES 64
#define HC_PYCODE_BITS 8    /* per-ring code objects met, direct-mapped */

/* What tells a code object from another at its address (pyframes.c). */
struct hc_pycode_look {
	uint64_t table, qual, file; /* its line table's, name's and file's addresses */
	uint32_t line;              /* its first line */
};

/* A code object this thread met (pyframes.c): its id and what the walk
 * needs of it, so that a frame of a known code costs a few loads. */
struct hc_pycode_seen {
	uint64_t code;    /* its address; 0: empty */
	struct hc_pycode_look look; /* tells a reused address */
	uint32_t id;
	int32_t first;    /* _co_firsttraceable (3.11+) */
};

/* How to find the caller's frame from code at ip (unwind.c). */
struct hc_unwind_rule {
	uint64_t ip;      /* the return address it is for; 0: empty */
	int32_t cfa_off;  /* CFA = RSP or RBP (kind) + cfa_off */
	int32_t bp_off;   /* caller's RBP saved at CFA + bp_off; 0: unchanged */
	uint8_t kind;
	uint8_t pad[7];
};

/* A stack met before (unwind.c): the loads its walk made, to check it. */
struct hc_stack_memo {
	uint64_t hash;
	int n;            /* frames the walk returned */
	int nload;        /* loads to compare (frames[1..]), then one that was < 4096 */
	int low_end;
	uint32_t max_off;
	uint32_t off[HC_MEMO_FRAMES + 1];
	uint64_t frames[HC_MEMO_FRAMES + 1]; /* frames[0] is the key; 0: empty */
};

struct hc_ring {
	/* producer's line */
	_Atomic uint64_t head;
	uint64_t tail_cache;
	uint64_t gave_up_tail;      /* tail when a wait last timed out, + 1 */
	_Atomic uint64_t lost;      /* events dropped after waiting wait_ns */
	_Atomic uint64_t waits;     /* times the producer had to wait */
	uint64_t pad_pending;       /* a PAD reserved, published with the next commit */
	int prefetchw;              /* the CPU has PREFETCHW (hc_ring_reserve) */
	/* consumer's line */
	_Atomic uint64_t tail __attribute__((aligned(64)));
	/* control */
	_Atomic int state __attribute__((aligned(64)));
	_Atomic pid_t tid;
	_Atomic uint32_t owner_gen; /* bumped on each new owner */
	struct hc_ring *next;       /* registry link, immutable once published */
	uint32_t seen_gen;          /* collector only: owner whose name it wrote */
	char seen_name[16];
	size_t size;                /* data bytes, a power of two */
	uint8_t *data;
	uint64_t known[HC_STACK_CACHE];
	/* producer only: */
	uint64_t walks, memo_hits; /* stacks walked, and found in a memo */
	uint32_t rules_epoch;
	struct hc_unwind_rule rules[1u << HC_RULE_BITS];
	struct hc_stack_memo memos[1u << HC_MEMO_BITS];
	struct hc_pycode_seen pycode[1u << HC_PYCODE_BITS];
};

/* Ring registry: an append-only lock-free list, rings recycled, never freed. */
extern _Atomic(struct hc_ring *) hc_rings HC_HIDDEN;
/* DEAD rings the collector has drained and made FREE, ever. */
extern _Atomic uint64_t hc_rings_recycled HC_HIDDEN;
struct hc_ring *hc_ring_new(size_t size) HC_HIDDEN;
/* Producer: returns a pointer to `words` 8-byte words of room, or NULL when
 * the event must be dropped (counted); commit with hc_ring_commit. Inline
 * for the common case (room before the end, and known to be free); the
 * rest in ring.c. */
uint64_t *hc_ring_reserve_slow(struct hc_ring *r, unsigned words) HC_HIDDEN;
void hc_ring_commit_slow(struct hc_ring *r, uint64_t head) HC_HIDDEN;
static inline uint64_t *hc_ring_reserve(struct hc_ring *r, unsigned words)
{
	uint64_t bytes = (uint64_t)words * 8;
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t off = head & (r->size - 1);
	if (likely(off + bytes <= r->size && head + bytes - r->tail_cache <= r->size)) {
		/* Ask for the line 2 KiB on, to write: the collector read it
		 * last, and a store that must first take it back from the
		 * other core's cache stalls the thread (half the cost of exact
		 * mode, measured). A prefetch never faults. */
		if (likely(r->prefetchw))
			__asm__ volatile("prefetchw %0" ::"m"(r->data[(off + 2048) & (r->size - 1)]));
		return (uint64_t *)(r->data + off);
	}
	return hc_ring_reserve_slow(r, words);
}
static inline void hc_ring_commit(struct hc_ring *r, unsigned words)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	head += r->pad_pending + (uint64_t)words * 8;
	r->pad_pending = 0;
	atomic_store_explicit(&r->head, head, memory_order_release);
	/* Past half full (as last seen), the collector may need waking. */
	if (unlikely(head - r->tail_cache > r->size / 2))
		hc_ring_commit_slow(r, head);
}
/* Empties a ring's data and stack cache (fork child, recycling). */
void hc_ring_reset(struct hc_ring *r) HC_HIDDEN;
/* Consumer (the collector): calls fn for each event published so far, frees
 * the space, and recycles the ring (DEAD → FREE) once its thread is gone and
 * it is empty. Returns the number of events. */
size_t hc_ring_drain(struct hc_ring *r, void (*fn)(void *ctx, const uint64_t *e), void *ctx,
		     uint64_t *corrupt) HC_HIDDEN;

/* Gives the producer the space up to tail (a drain in progress). */
void hc_ring_free_space(struct hc_ring *r, uint64_t tail) HC_HIDDEN;
/* After a drain up to tail: frees the space for the producer and, if the
 * ring was seen DEAD (state read before its head) and is empty, recycles
 * it. */
void hc_ring_consumed(struct hc_ring *r, uint64_t tail, int state) HC_HIDDEN;

/* --- merge.c: the collector's drain, in time-stamp order ----------------- */

/* Called for each event; `now`: a free (a realloc's free) in it may be
 * applied at once, else it must wait a round (heap.h). */
typedef void (*hc_merge_fn)(void *ctx, const uint64_t *e, int now);
struct hc_merge_cursor;
struct hc_merge {
	struct hc_merge_cursor *cur, **act;
	size_t cap, n;
	struct hc_ring *seen;       /* the registry's head at the first look */
	int short_of_memory;
	int left;                   /* the last drain left events for the next */
	uint64_t drains, unordered; /* drains, and those whose frees all waited */
};
/* The first look: how far each ring of the registry `list` has published. */
void hc_merge_look(struct hc_merge *m, struct hc_ring *list) HC_HIDDEN;
/* The second look, then every event up to it, merged by stamp; frees the
 * rings' space and recycles DEAD rings. Returns the number of events. */
size_t hc_merge_drain(struct hc_merge *m, struct hc_ring *list, hc_merge_fn fn, void *ctx,
		      uint64_t *corrupt) HC_HIDDEN;
void hc_merge_release(struct hc_merge *m) HC_HIDDEN;

/* --- zstd.c: libzstd, opened when a trace begins ------------------------- */

/* Opens it (once; later calls give the first answer): 0, or -1 with
 * hc_zstd_error() saying what failed. Never from a hook. */
int hc_zstd_load(void) HC_HIDDEN;
const char *hc_zstd_error(void) HC_HIDDEN;

/* --- unwind.c ------------------------------------------------------------ */

#define HC_MAX_FRAMES 256
/* Room a frames buffer needs beyond max: the fallback's shim frames. */
#define HC_UNWIND_SLACK 8

/* Where a walk starts: the allocating code's frame as its hook sees it, so
 * that the shim's own frames are never walked. */
struct hc_frame {
	uint64_t ip; /* the hook's return address */
	uint64_t sp; /* the caller's stack pointer once the hook returns */
	uint64_t bp; /* the caller's RBP */
};
/* The calling function's frame, from inside a hook. __builtin_frame_address
 * makes gcc and clang give the hook a frame pointer: RBP points at the saved
 * caller's RBP, the return address above it. */
#define HC_CALLER()                                                             \
	(&(const struct hc_frame){                                              \
		.ip = ((const uint64_t *)__builtin_frame_address(0))[1],        \
		.sp = (uint64_t)(uintptr_t)__builtin_frame_address(0) + 16,     \
		.bp = ((const uint64_t *)__builtin_frame_address(0))[0],        \
	})

/* Captures the stack from `from` on, using frames (room for max +
 * HC_UNWIND_SLACK) as scratch; returns the count, the frames'
 * hc_stack_hash in *hash and where they are in *found (inside frames, or
 * a remembered copy valid until the thread's next call). ring holds the
 * thread's cached unwind rules and stacks (NULL: libunwind only). */
int hc_unwind(struct hc_ring *ring, const struct hc_frame *from, uint64_t *frames, int max,
	      uint64_t *hash, const uint64_t **found) HC_HIDDEN;
/* Bumped when code is mapped or unmapped: cached unwind rules are dropped. */
extern _Atomic uint32_t hc_code_epoch HC_HIDDEN;
/* Walks that fell back to libunwind (a frame the fast path does not know). */
extern _Atomic uint64_t hc_unwind_fallbacks HC_HIDDEN;
/* Of those, the ones that could not use it while a fork was under way: their
 * stacks end where the walk stopped. */
extern _Atomic uint64_t hc_stacks_cut HC_HIDDEN;
uint64_t hc_stack_hash(const uint64_t *frames, int n) HC_HIDDEN;

/* --- phdr.c: dl_iterate_phdr, never across a fork ----------------------- */

/* 1: the caller may call dl_iterate_phdr (directly or through libunwind)
 * and must call hc_phdr_leave after; 0: a fork was under way for all of
 * wait_ns, it must not. */
int hc_phdr_enter(uint64_t wait_ns) HC_HIDDEN;
void hc_phdr_leave(void) HC_HIDDEN;
#define HC_PHDR_WAIT_ALLOC 20000000ull /* on an allocation path: 20 ms */
#define HC_PHDR_WAIT 1000000000ull     /* elsewhere: a second */
/* dl_iterate_phdr(fn, arg) past the gate (waiting wait_ns at most); -1 if it
 * stayed closed. */
int hc_phdr_iterate(int (*fn)(struct dl_phdr_info *, size_t, void *), void *arg,
		    uint64_t wait_ns) HC_HIDDEN;
void hc_phdr_prefork(void) HC_HIDDEN;
void hc_phdr_postfork_parent(void) HC_HIDDEN;
void hc_phdr_postfork_child(void) HC_HIDDEN;

/* --- pyframes.c: Python frames ------------------------------------------ */

/* The layout facts of one CPython minor version (byte offsets; 0xffff: the
 * field does not exist in that version), generated into pyoffsets.h by
 * tools/gen-pyoffsets from the interpreters' own headers. */
struct hc_pyoffsets {
	uint16_t version;                 /* major << 8 | minor */
	uint16_t rt_finalizing, rt_autotss, tss_initialized, tss_key;
	uint16_t ts_frame, cf_current, ts_thread_id;
	uint16_t fr_code, fr_previous, fr_instr, fr_owner, fr_is_entry;
	uint8_t owned_by_generator, owned_by_cstack; /* 0xff: none */
	uint16_t co_firstlineno, co_filename, co_name, co_qualname, co_firsttraceable, co_code;
	uint16_t co_basicsize, co_linetable;
	uint16_t ob_type, var_size, bytes_data;
	uint16_t str_length, str_state, str_ascii_data, str_compact_data;
	uint32_t str_kind_mask, str_compact_mask, str_ascii_mask;
	uint16_t tp_basicsize, tp_members, md_size, md_offset;
	/* 3.13+: where _Py_DebugOffsets (at _PyRuntime) keeps the same facts */
	uint16_t dbg_size, dbg_version, dbg_free_threaded, dbg_finalizing, dbg_ts_frame,
		dbg_ts_thread_id, dbg_fr_previous, dbg_fr_code, dbg_fr_instr, dbg_fr_owner,
		dbg_co_filename, dbg_co_name, dbg_co_qualname, dbg_co_linetable,
		dbg_co_firstlineno, dbg_co_code;
};

/* A Python frame in a stack: bit 63 set (no user-space return address has
 * it), bit 62 for an entry frame (the first its eval loop ran), the code
 * id in bits 32-61 (0: a frame not yet started), the instruction index + 1
 * in bits 0-31. The trace format (trace.h) says the same. */
#define HC_PY_FRAME (1ull << 63)
#define HC_PY_MAX_FRAMES 128
#define HC_PY_MAX_TABLE (64u << 10) /* line table bytes copied, at most */
#define HC_PY_MAX_CODES ((1u << 30) - 1)
#define HC_PY_UNKNOWN_CODE ((1u << 30) - 1) /* a code object the trace lacks */
/* Whether the walker is on (relaxed test on the hot path). */
extern _Atomic int hc_py_on HC_HIDDEN;
extern _Atomic uint64_t hc_py_unknown_code HC_HIDDEN;
/* This thread's Python frames, innermost first, into out (max words);
 * sends the CODE events of code objects new to the trace through r. */
int hc_py_walk(struct hc_ring *r, uint64_t *out, int max) HC_HIDDEN;
/* The collector, for each executable mapping while no interpreter is
 * known: 1 when path is a CPython the walker now follows, -1 when it is one
 * the walker cannot follow, 0 when it is no interpreter; msg says which
 * (for a NOTE) when not 0. Never called on the hot path. */
int hc_py_consider(const char *path, uint64_t map_start, uint64_t map_off, char *msg,
		   size_t cap) HC_HIDDEN;
struct hc_py_info {
	unsigned version;                 /* PY_VERSION_HEX */
	unsigned interpreter;             /* the same for a CPython whose frames
					   * are off (an unknown layout): 0 for
					   * no CPython */
	uint64_t eval_lo, eval_hi;        /* _PyEval_EvalFrameDefault */
	const char *path;
};
void hc_py_info(struct hc_py_info *out) HC_HIDDEN;
void hc_py_postfork_child(void) HC_HIDDEN;

/* --- sampled.c: sampled mode's live sampled blocks ----------------------- */

int hc_sampled_init(void) HC_HIDDEN;
void hc_sampled_add(void *p) HC_HIDDEN;
/* Takes p out of the set; 1 if it was there (or the set overflowed). The
 * common answer, "no sampled block lives in p's bucket", is inline. */
int hc_sampled_take_slow(void *p) HC_HIDDEN;
#define HC_SAMPLED_COUNT_BITS 14
extern _Atomic(_Atomic uint8_t *) hc_sampled_counts HC_HIDDEN;
/* An address's hash; its top bits pick its counter here, and its slot in
 * sampled.c's table. */
#define HC_SAMPLED_SHIFT 4 /* also in passthru.c's assembly */
#define HC_SAMPLED_MUL 0x9e3779b97f4a7c15
static inline uint64_t hc_sampled_hash(uint64_t p)
{
	return (p >> HC_SAMPLED_SHIFT) * (uint64_t)HC_SAMPLED_MUL;
}
static inline size_t hc_sampled_bucket(uint64_t p)
{
	return (size_t)(hc_sampled_hash(p) >> (64 - HC_SAMPLED_COUNT_BITS));
}
/* Whether p's block was surely never sampled: its bucket's counter is zero.
 * The free hook asks this before any other check (see hc_sample_skip); false
 * in exact mode and before the shim is resolved (no counters yet). */
static inline int hc_sampled_never(void *p)
{
	/* acquire: mapped after hc_real was resolved */
	_Atomic uint8_t *c = atomic_load_explicit(&hc_sampled_counts, memory_order_acquire);
	return c && atomic_load_explicit(&c[hc_sampled_bucket((uint64_t)(uintptr_t)p)],
					 memory_order_acquire) == 0;
}
static inline int hc_sampled_take(void *p)
{
	return likely(hc_sampled_never(p)) ? 0 : hc_sampled_take_slow(p);
}
void hc_sampled_reset(void) HC_HIDDEN;

/* record.c: the distance to the next sampled byte for the calling thread. */
int64_t hc_sample_draw(void) HC_HIDDEN;
/* A thread's first draw (a new thread's, or a fork child's): also starts the
 * collector if it has not started. */
void hc_sample_first(void) HC_HIDDEN;

/* Whether no sample point falls in the next size bytes of the thread's
 * countdown (which it then spends). Sampled mode's malloc asks this before
 * any other check: such an allocation cannot be recorded whatever the state.
 * False in exact mode (sample_left stays 0) and before the shim is resolved
 * (the countdown is drawn only after). An allocation made inside the shim
 * may spend part of the countdown; the distance is memoryless, so the
 * program's bytes are sampled at the same rate. */
static inline int hc_sample_skip(size_t size)
{
	struct hc_tls *t = &hc_tls;
	if (likely(t->sample_left > 0 && (uint64_t)t->sample_left > size)) {
		t->sample_left -= (int64_t)size;
		return 1;
	}
	return 0;
}

/* Whether an allocation of size bytes is recorded: always when every
 * allocation is; when sampling, when a sample point falls in its bytes
 * (exponential distances, as jemalloc and tcmalloc draw them; memoryless,
 * so the next distance is drawn afresh). Call once per allocation, before
 * the real call: an unsampled allocation costs only this. */
static inline int hc_sample_want(size_t size)
{
	if (likely(hc_config.sample_bytes == 0))
		return 1;
	if (likely(hc_sample_skip(size)))
		return 0;
	struct hc_tls *t = &hc_tls;
	if (unlikely(t->sample_left == 0)) { /* the thread's first: draw one */
		hc_sample_first();
		if (hc_sample_skip(size))
			return 0;
	}
	t->sample_left = hc_sample_draw();
	return 1;
}

/* Whether the free of p is recorded: always when every allocation is; when
 * sampling, only for sampled blocks. Call before the real free. */
static inline int hc_free_traced(void *p)
{
	return !hc_config.sample_bytes || hc_sampled_take(p);
}

/* --- record.c: turning calls into events (the hot path) ------------------ */

/* from: HC_CALLER() in the hook. */
void hc_record_alloc(void *p, size_t size, const struct hc_frame *from) HC_HIDDEN;
/* Before the real free: in a window, the block's size goes with the event
 * (a block from before the window is an unknown free of so many bytes). */
void hc_record_free(void *p, uint64_t ts) HC_HIDDEN;
/* The same with its size known (0: unknown), for a free already done. */
void hc_record_free_sized(void *p, uint64_t ts, uint64_t size) HC_HIDDEN;
/* In a window (dormant mode), p's usable size; else 0. */
uint64_t hc_window_size(void *p) HC_HIDDEN;
/* old: NULL when its free is not recorded (sampled mode, unsampled block);
 * old_size: hc_window_size(old) before the real call; want: whether the
 * new block is recorded (hc_sample_want). */
void hc_record_realloc(void *old, uint64_t old_size, void *p, size_t size, uint64_t ts_free,
		       int want, const struct hc_frame *from) HC_HIDDEN;
void hc_record_exit(int how) HC_HIDDEN;
/* Anonymous mappings (hooks_mmap.c): a new one (its stack from `from`),
 * one unmapped (ts: before the real munmap), one moved or resized. */
void hc_record_map(void *p, size_t len, const struct hc_frame *from) HC_HIDDEN;
void hc_record_unmap(void *p, size_t len, uint64_t ts) HC_HIDDEN;
void hc_record_remap(void *old, size_t old_len, void *p, size_t len, uint64_t ts_free,
		     const struct hc_frame *from) HC_HIDDEN;
/* Events lost because no ring could be mapped for the thread. */
uint64_t hc_record_lost_no_ring(void) HC_HIDDEN;
/* Pushes an EXEC marker and waits (bounded) until the collector wrote it. */
void hc_record_exec(const char *path) HC_HIDDEN;

/* --- collector.c --------------------------------------------------------- */

/* HC_PENDING: events are recorded into the rings but the collector has not
 * started yet (before the constructor ran, or in a fork child until its first
 * event). HC_DORMANT: dormant mode between windows; nothing is recorded.
 * HC_WAKE: dormant, and the next hook call starts (or resumes after a fork)
 * the collector that watches for a window; it records nothing. The hooks
 * go to the recording path for states above HC_OFF. */
enum { HC_DORMANT = -1, HC_OFF = 0, HC_ON = 1, HC_PENDING = 2, HC_WAKE = 3 };
/* Whether events are recorded. Read on every hook call (relaxed). */
extern _Atomic int hc_tracing HC_HIDDEN;
/* Sets hc_tracing and, with it, hc_pass. */
void hc_tracing_set(int state) HC_HIDDEN;
/* Whether the state records events (ON, or PENDING: into the rings). */
static inline int hc_recording(void)
{
	int s = atomic_load_explicit(&hc_tracing, memory_order_relaxed);
	return s == HC_ON || s == HC_PENDING;
}
/* Whether the collector thread runs; it starts lazily after a fork. */
extern _Atomic int hc_collector_running HC_HIDDEN;
extern pid_t hc_pid HC_HIDDEN;
/* Time zero of the trace (first hook call, or the fork), as an event stamp. */
extern uint64_t hc_t0 HC_HIDDEN;
/* Set once the constructor has read the configuration. */
extern int hc_config_loaded HC_HIDDEN;

/* Starts the collector and opens the trace; on failure tracing goes off with
 * one line on stderr. Idempotent. */
void hc_collector_start(void) HC_HIDDEN;
/* From a hook while tracing is HC_PENDING: starts the collector (a fork
 * child's), or resumes one paused across a fork once its time has come. */
void hc_collector_poke(void) HC_HIDDEN;
/* Resumes a collector paused across a fork, now (exec, exit). */
void hc_collector_unpause(void) HC_HIDDEN;
/* Wakes the collector if it sleeps (a producer's ring is filling). */
void hc_collector_kick(void) HC_HIDDEN;
/* Asks the collector to drain every ring and flush the trace, and waits for
 * it at most timeout_ns. If `final`, it then writes the end record, closes
 * the trace and exits. Returns 0 when done in time. */
int hc_collector_flush(int final, uint64_t timeout_ns) HC_HIDDEN;
/* A fatal signal's final flush (fatal.c), from its handler: as
 * hc_collector_flush(1, ...), the trace then ending with the signal; not
 * from the collector thread itself (-1). Async-signal-safe. */
int hc_collector_fatal(int sig, uint64_t timeout_ns) HC_HIDDEN;
/* Installs the fatal signals' handlers where the disposition is the
 * default (fatal.c). */
void hc_fatal_install(void) HC_HIDDEN;
/* fork handlers (fork.c calls them) */
void hc_collector_prefork(void) HC_HIDDEN;
void hc_collector_postfork_parent(void) HC_HIDDEN;
void hc_collector_postfork_child(void) HC_HIDDEN;

/* --- passthru.c: the exported entry points' first instructions ---------- */

/* 1 while every call goes straight to the next allocator: the shim is
 * resolved and records nothing (tracing off, or dormant between windows).
 * The entry points test it first and jump (passthru.c); blocks of the own
 * heap still go to it. Set through hc_tracing_set. */
extern _Atomic unsigned char hc_pass HC_HIDDEN;
/* Dormant mode's allocation calls past the shim (bypass.c): 1 points each
 * object's own GOT slots for the allocating entry points at the next
 * allocator, 0 back at the shim. Returns the slots written. Called by one
 * thread at a time (the constructor, then the collector). */
unsigned hc_bypass_set(int away) HC_HIDDEN;
/* An object a RTLD_DEEPBIND open brought in (its program headers): its
 * unbound slots are left alone. */
void hc_bypass_deep(const void *phdr) HC_HIDDEN;

/* --- elfdyn.c: an object's dynamic section and GOT slots ---------------- */

struct hc_elfobj {
	uintptr_t base, lo, hi;       /* load bias; the span of its PT_LOAD segments */
	uintptr_t relro_lo, relro_hi; /* PT_GNU_RELRO, page-aligned; 0 when none */
	const ElfW(Dyn) *dyn;         /* NULL: no dynamic section */
};
void hc_elfobj_read(const struct dl_phdr_info *info, struct hc_elfobj *o) HC_HIDDEN;
/* rela[0]: DT_JMPREL's when DT_PLTREL is DT_RELA; rela[1]: DT_RELA's. */
struct hc_elftables {
	const ElfW(Sym) *symtab;
	const char *strtab;
	size_t strsz;
	const ElfW(Rela) *rela[2];
	size_t nrela[2];
};
/* 0, or -1 without a symbol or string table (o->dyn is not NULL). */
int hc_elftables_read(const struct hc_elfobj *o, struct hc_elftables *tb) HC_HIDDEN;
/* Writes v into a slot of o. The first slot in its RELRO pages takes the
 * slots lock and makes them writable (*opened = 1) until hc_slots_close;
 * -1 when they cannot be: nothing written, the lock let go. No dlsym while
 * it is held (bypass.c takes it holding the loader's lock). */
int hc_slots_write(const struct hc_elfobj *o, int *opened, uintptr_t slot, uintptr_t v) HC_HIDDEN;
void hc_slots_close(const struct hc_elfobj *o, int opened) HC_HIDDEN;
void hc_slots_postfork_child(void) HC_HIDDEN;

/* --- keep.c: what a dormant process's collector keeps between windows --- */

/* 0, or -1 when out of memory (the next window then misses the stack). */
int hc_keep_stack(uint64_t hash, const uint64_t *frames, unsigned n) HC_HIDDEN;
const uint64_t *hc_kept_stack(uint64_t hash, unsigned *n) HC_HIDDEN;
/* A CODE event (its words as in the ring), by code id. */
int hc_keep_code(uint64_t id, const uint64_t *event) HC_HIDDEN;
const uint64_t *hc_kept_code(uint64_t id) HC_HIDDEN;

/* --- control.c: dormant mode's control files ----------------------------- */

struct hc_control_req {
	unsigned long long id;
	int on;
	uint64_t duration_ns;   /* 0: until switched off */
	char output[4096];      /* "": the default */
};
enum { HC_CONTROL_DORMANT, HC_CONTROL_ON, HC_CONTROL_ERROR };
/* The control directory checked (created if missing); -1 after one line on
 * stderr: the process stays dormant and cannot be switched on. */
int hc_control_init(void) HC_HIDDEN;
/* 1 when a new request was read into req. */
int hc_control_poll(struct hc_control_req *req) HC_HIDDEN;
/* The answer the CLI waits for: the state, the request it follows, the
 * trace (the window's, or the last one's), an error message or "". */
void hc_control_status(int state, unsigned long long id, const char *trace,
		       const char *error) HC_HIDDEN;
/* At exit: the request and the status go. */
void hc_control_remove(void) HC_HIDDEN;

/* --- procinfo.c: facts about the process, read by the collector --------- */

uint64_t hc_proc_rss(void) HC_HIDDEN;
/* The process's thread count (/proc/self/stat's 20th field); -1 unknown. */
int hc_proc_threads(void) HC_HIDDEN;
uint64_t hc_proc_cgroup_limit(void) HC_HIDDEN;
/* When the process started, CLOCK_REALTIME in ns (0: unknown). */
uint64_t hc_proc_start_realtime(void) HC_HIDDEN;
/* Reads a whole small /proc file into buf; returns bytes or -1. */
ssize_t hc_proc_read(const char *path, char *buf, size_t cap) HC_HIDDEN;
/* Reads the GNU build-id note of an ELF file; returns its length or 0. */
size_t hc_elf_build_id(const char *path, uint8_t *out, size_t cap) HC_HIDDEN;

/* --- lifecycle.c: start, fork, exec, exit ------------------------------- */

/* Nothing here is called from other files: the constructor reads the
 * configuration and starts the collector; the destructor, exit, _exit and
 * the exec family flush the trace; fork handlers call the collector's. */

#endif
