/* The hot path: turns one allocator call into ring events. Called by the
 * hooks with the re-entrancy guard held and errno saved. Never locks, never
 * allocates, never touches stdio; the only system call is the rare futex
 * wake of a sleeping collector when a ring passes half full.
 *
 * A stack crosses the ring in full only the first time this ring meets it
 * (the per-ring known-stack cache); afterwards an event carries its hash.
 */
#include <math.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "heapcreep/trace.h"
#include "internal.h"

#ifdef HC_MEASURE_COUNTER_STAMPS
__thread uint64_t hc_measure_stamp __attribute__((tls_model("initial-exec")));
#endif

static _Atomic uint64_t lost_no_ring;

uint64_t hc_record_lost_no_ring(void)
{
	return atomic_load_explicit(&lost_no_ring, memory_order_relaxed);
}

/* Whether to record the call: while tracing is on, and while PENDING (the
 * collector is started or resumed; events wait in the rings). In HC_WAKE the
 * dormant collector is started or resumed and nothing is recorded; a window
 * that closed since the hook looked records nothing more. */
static inline int recording(void)
{
	int s = atomic_load_explicit(&hc_tracing, memory_order_relaxed);
	if (likely(s == HC_ON))
		return 1;
	if (s == HC_PENDING || s == HC_WAKE)
		hc_collector_poke();
	return s == HC_PENDING;
}

/* xorshift64*, seeded per thread; only used in sampled mode. */
static uint64_t rng_next(struct hc_tls *t)
{
	if (!t->rng)
		t->rng = (hc_now() ^ ((uint64_t)syscall(SYS_gettid) << 32)) | 1;
	t->rng ^= t->rng >> 12;
	t->rng ^= t->rng << 25;
	t->rng ^= t->rng >> 27;
	return t->rng * 0x2545f4914f6cdd1dull;
}

/* Distance to the next sampled byte: exponential with mean sample_bytes, as
 * jemalloc and tcmalloc draw it, so every byte has the same chance. */
static int64_t draw_distance(struct hc_tls *t)
{
	double u = ((double)(rng_next(t) >> 11) + 0.5) / 9007199254740992.0;
	double d = -log(u) * (double)hc_config.sample_bytes;
	return d < 1 ? 1 : (int64_t)d;
}

int64_t hc_sample_draw(void)
{
	return draw_distance(&hc_tls);
}

void hc_sample_first(void)
{
	hc_tls.sample_left = draw_distance(&hc_tls);
	/* A fork child's collector starts at its first allocation, as in exact
	 * mode, sampled or not: else a child that samples nothing has no trace
	 * (recording() pokes only for recorded events). */
	int s = atomic_load_explicit(&hc_tracing, memory_order_relaxed);
	if (s == HC_PENDING || s == HC_WAKE)
		hc_collector_poke();
}

/* Sends the stack if this ring has not sent it before: the check inline,
 * the sending out of line. */
static __attribute__((noinline)) void send_stack(struct hc_ring *r, const uint64_t *frames, int n,
						 uint64_t h, uint64_t *slot)
{
	unsigned words = 2 + (unsigned)n;
	uint64_t *e = hc_ring_reserve(r, words);
	if (!e)
		return; /* counted as lost; the collector files the event under stack 0 */
	e[0] = HC_EV_HDR(HC_EV_STACK, words, n);
	e[1] = h;
	memcpy(e + 2, frames, (size_t)n * 8);
	hc_ring_commit(r, words);
	*slot = h;
}

static inline void push_stack(struct hc_ring *r, const uint64_t *frames, int n, uint64_t h)
{
	uint64_t *slot = &r->known[h & (HC_STACK_CACHE - 1)];
	if (unlikely(*slot != h))
		send_stack(r, frames, n, h, slot);
}

static inline struct hc_ring *ring_or_count(void)
{
	struct hc_ring *r = hc_thread_ring();
	if (unlikely(!r))
		atomic_fetch_add_explicit(&lost_no_ring, 1, memory_order_relaxed);
	return r;
}

/* Appends the thread's Python frames (if it runs Python) to the native
 * ones, into frames (room for HC_MAX_FRAMES + HC_UNWIND_SLACK +
 * HC_PY_MAX_FRAMES), and hashes the whole. */
static __attribute__((noinline)) int with_python(struct hc_ring *r, uint64_t *frames, int n,
						 uint64_t *h, const uint64_t **stack)
{
	const uint64_t *s = *stack;
	if (s != frames && s > frames && s < frames + HC_MAX_FRAMES + HC_UNWIND_SLACK) {
		memmove(frames, s, (size_t)n * 8); /* the walk writes after them */
		*stack = s = frames;
	}
	int np = hc_py_walk(r, frames + n, HC_PY_MAX_FRAMES);
	if (!np)
		return n;
	if (s != frames) /* a remembered copy, outside frames */
		memcpy(frames, s, (size_t)n * 8);
	*stack = frames;
	*h = hc_stack_hash(frames, n + np);
	return n + np;
}

/* A stack with the mapping pseudo-frame innermost: the caller's frames
 * moved one word up (from a remembered copy or in place). */
static __attribute__((noinline)) int with_map_frame(uint64_t *frames, int n, uint64_t *h,
						    const uint64_t **stack)
{
	memmove(frames + 1, *stack, (size_t)n * 8);
	frames[0] = HC_FRAME_MMAP;
	*stack = frames;
	*h = hc_stack_hash(frames, n + 1);
	return n + 1;
}

/* The events with a stack: an allocation (ALLOC, or REALLOC when old is set:
 * its free at ts_free) or a mapping (MMAP, or MREMAP when old is set, with
 * its old length), the stack from the hook's caller on. */
enum { AS_BLOCK, AS_MAPPING };
static inline __attribute__((always_inline)) void record_alloc_at(void *old, void *p, size_t size,
								  uint64_t ts_free, uint64_t ts,
								  const struct hc_frame *from,
								  int as, size_t old_len)
{
	struct hc_ring *r = ring_or_count();
	if (!r)
		return;
	uint64_t frames[1 + HC_MAX_FRAMES + HC_UNWIND_SLACK + HC_PY_MAX_FRAMES];
	uint64_t h;
	const uint64_t *stack;
	int n = hc_unwind(r, from, frames, hc_config.max_frames ? hc_config.max_frames : 64, &h,
			  &stack);
	if (as == AS_MAPPING)
		n = with_map_frame(frames, n, &h, &stack);
	if (unlikely(atomic_load_explicit(&hc_py_on, memory_order_acquire)))
		n = with_python(r, frames, n, &h, &stack);
	push_stack(r, stack, n, h);
	/* a block's old size (a window's realloc) rides where a mapping's
	 * old length does */
	unsigned words = old ? (as == AS_MAPPING || old_len ? 8 : 7) : 5;
	uint64_t *e = hc_ring_reserve(r, words);
	if (e) {
		uint64_t *f = e + 1;
		unsigned kind = as == AS_MAPPING ? (old ? HC_EV_MREMAP : HC_EV_MMAP)
						 : (old ? HC_EV_REALLOC : HC_EV_ALLOC);
		e[0] = HC_EV_HDR(kind, words, 0);
		if (old)
			*f++ = (uint64_t)old;
		*f++ = (uint64_t)p;
		*f++ = size;
		if (old)
			*f++ = ts_free;
		*f++ = ts;
		*f++ = h;
		if (words == 8)
			*f = old_len;
		hc_ring_commit(r, words);
	}
	if (hc_config.sample_bytes && as == AS_BLOCK)
		hc_sampled_add(p);
	hc_thread_return_borrowed(r);
}

void hc_record_alloc(void *p, size_t size, const struct hc_frame *from)
{
	uint64_t ts = hc_stamp(); /* after the real allocator returned p */
	if (!recording())
		return;
	record_alloc_at(NULL, p, size, 0, ts, from, AS_BLOCK, 0);
}

static inline __attribute__((always_inline)) void record_free(void *p, uint64_t ts,
								uint64_t size)
{
	if (!recording())
		return;
	struct hc_ring *r = ring_or_count();
	if (!r)
		return;
	unsigned words = size ? 4 : 3;
	uint64_t *e = hc_ring_reserve(r, words);
	if (e) {
		e[0] = HC_EV_HDR(HC_EV_FREE, words, 0);
		e[1] = (uint64_t)p;
		e[2] = ts;
		if (size)
			e[3] = size;
		hc_ring_commit(r, words);
	}
	hc_thread_return_borrowed(r);
}

void hc_record_free_sized(void *p, uint64_t ts, uint64_t size)
{
	record_free(p, ts, size);
}

uint64_t hc_window_size(void *p)
{
	return hc_config.dormant && hc_real.malloc_usable_size ? hc_real.malloc_usable_size(p)
							       : 0;
}

void hc_record_free(void *p, uint64_t ts)
{
	if (unlikely(hc_config.dormant))
		record_free(p, ts, hc_window_size(p));
	else
		record_free(p, ts, 0);
}

void hc_record_realloc(void *old, uint64_t old_size, void *p, size_t size, uint64_t ts_free,
		       int want, const struct hc_frame *from)
{
	uint64_t ts = hc_stamp();
	if (!recording())
		return;
	if (!want) {
		if (old)
			hc_record_free_sized(old, ts_free, old_size);
		return;
	}
	/* old NULL: it was not sampled, only the new block counts */
	record_alloc_at(old, p, size, ts_free, ts, from, AS_BLOCK, old_size);
}

void hc_record_map(void *p, size_t len, const struct hc_frame *from)
{
	uint64_t ts = hc_stamp(); /* after the kernel mapped p */
	if (!recording())
		return;
	record_alloc_at(NULL, p, len, 0, ts, from, AS_MAPPING, 0);
}

void hc_record_remap(void *old, size_t old_len, void *p, size_t len, uint64_t ts_free,
		     const struct hc_frame *from)
{
	uint64_t ts = hc_stamp();
	if (!recording())
		return;
	record_alloc_at(old, p, len, ts_free, ts, from, AS_MAPPING, old_len);
}

void hc_record_unmap(void *p, size_t len, uint64_t ts)
{
	if (!recording())
		return;
	struct hc_ring *r = ring_or_count();
	if (!r)
		return;
	uint64_t *e = hc_ring_reserve(r, 4);
	if (e) {
		e[0] = HC_EV_HDR(HC_EV_MUNMAP, 4, 0);
		e[1] = (uint64_t)p;
		e[2] = ts;
		e[3] = len;
		hc_ring_commit(r, 4);
	}
	hc_thread_return_borrowed(r);
}

void hc_record_exit(int how)
{
	struct hc_ring *r = ring_or_count();
	if (!r)
		return;
	uint64_t *e = hc_ring_reserve(r, 3);
	if (e) {
		e[0] = HC_EV_HDR(HC_EV_EXIT, 3, 0);
		e[1] = (uint64_t)how;
		e[2] = hc_stamp();
		hc_ring_commit(r, 3);
	}
	hc_thread_return_borrowed(r);
}

void hc_record_exec(const char *path)
{
	struct hc_ring *r = ring_or_count();
	if (!r)
		return;
	size_t len = path ? strnlen(path, 1024) : 0;
	unsigned words = 2 + (unsigned)(len + 8) / 8; /* NUL-padded */
	uint64_t *e = hc_ring_reserve(r, words);
	if (e) {
		e[0] = HC_EV_HDR(HC_EV_EXEC, words, len);
		e[1] = hc_stamp();
		memset(e + 2, 0, (size_t)(words - 2) * 8);
		if (len)
			memcpy(e + 2, path, len);
		hc_ring_commit(r, words);
	}
	hc_thread_return_borrowed(r);
	hc_collector_flush(0, 2000000000u);
}
