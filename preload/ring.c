/* Per-thread single-producer single-consumer byte rings (the design of
 * libbpf's ringbuf and LTTng-UST's per-CPU buffers, minus the kernel):
 * head and tail are free-running byte counters. The producer writes an event
 * at head & mask and publishes it with a release store of head; the consumer
 * reads head with acquire, processes [tail, head) and publishes tail with
 * release. An event never wraps: a PAD event fills the end of the ring and
 * is published in the same head store as the event after it.
 * A full ring makes the producer wait for the collector (no silent drop);
 * after waiting HEAPCREEP_WAIT the event is dropped and counted, so a stuck
 * collector (a hung disk) can slow the program but never hang it. Once a
 * wait has timed out, the ring drops at once until the collector moves its
 * tail again: a collector stuck in write() costs one wait, not one per event.
 */
#include <cpuid.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "internal.h"
#include "mem.h"

_Atomic(struct hc_ring *) hc_rings;
_Atomic uint64_t hc_rings_recycled;

/* CPUID 0x80000001, ECX bit 8: PREFETCHW (Intel since Broadwell, AMD).
 * Asked once: CPUID traps to the hypervisor in a VM, and every new thread
 * maps a ring. */
static int has_prefetchw(void)
{
	static _Atomic int known = -1;
	int k = atomic_load_explicit(&known, memory_order_relaxed);
	if (k < 0) {
		unsigned a, b, c, d;
		k = __get_cpuid(0x80000001, &a, &b, &c, &d) && (c & (1u << 8));
		atomic_store_explicit(&known, k, memory_order_relaxed);
	}
	return k;
}

struct hc_ring *hc_ring_new(size_t size)
{
	size_t hdr = (sizeof(struct hc_ring) + 4095) & ~(size_t)4095;
	uint8_t *mem = hc_map(hdr + size);
	if (!mem)
		return NULL;
	struct hc_ring *r = (struct hc_ring *)mem;
	r->data = mem + hdr;
	r->size = size;
	r->prefetchw = has_prefetchw();
	return r;
}

void hc_ring_reset(struct hc_ring *r)
{
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	atomic_store_explicit(&r->tail, head, memory_order_relaxed);
	r->tail_cache = head;
	r->gave_up_tail = 0;
	r->pad_pending = 0;
	memset(r->known, 0, sizeof(r->known));
	memset(r->pycode, 0, sizeof(r->pycode)); /* a fork child sends codes anew */
}

static void pause_ns(long ns)
{
	struct timespec ts = {0, ns};
	nanosleep(&ts, NULL);
}

/* Waits until `need` bytes fit after head. Returns 0 when they do, -1 when
 * the event must be dropped. */
static int wait_for_room(struct hc_ring *r, uint64_t head, uint64_t need)
{
	uint64_t deadline = 0;
	long nap = 20000;
	if (r->gave_up_tail) {
		if (r->gave_up_tail - 1 == r->tail_cache)
			return -1; /* the collector has not moved since the last wait timed out */
		r->gave_up_tail = 0;
	}
	atomic_fetch_add_explicit(&r->waits, 1, memory_order_relaxed);
	for (int i = 0;; i++) {
		if (atomic_load_explicit(&hc_tracing, memory_order_relaxed) <= HC_OFF)
			return -1; /* off, or a window closed: nothing more to record */
		if (!atomic_load_explicit(&hc_collector_running, memory_order_acquire)) {
			hc_collector_start(); /* no-op until the configuration is read */
			if (!atomic_load_explicit(&hc_collector_running, memory_order_acquire))
				return -1;
		}
		hc_collector_kick();
		r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (head + need - r->tail_cache <= r->size)
			return 0;
		if (i < 16) {
			sched_yield();
			continue;
		}
		uint64_t now = hc_now();
		if (!deadline) {
			deadline = now + hc_config.wait_ns;
		} else if (now >= deadline) {
			r->gave_up_tail = r->tail_cache + 1;
			return -1;
		}
		pause_ns(nap);
		if (nap < 1000000)
			nap *= 2;
	}
}

uint64_t *hc_ring_reserve_slow(struct hc_ring *r, unsigned words)
{
	uint64_t bytes = (uint64_t)words * 8;
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	uint64_t off = head & (r->size - 1);
	uint64_t pad = off + bytes > r->size ? r->size - off : 0;
	uint64_t need = pad + bytes;
	if (unlikely(bytes > r->size / 4))
		goto drop; /* cannot happen with HC_MAX_FRAMES; keeps the bound */
	if (unlikely(head + need - r->tail_cache > r->size)) {
		r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
		if (head + need - r->tail_cache > r->size && wait_for_room(r, head, need))
			goto drop;
	}
	if (pad)
		*(uint64_t *)(r->data + off) = HC_EV_HDR(HC_EV_PAD, pad / 8, 0);
	r->pad_pending = pad;
	return (uint64_t *)(r->data + ((head + pad) & (r->size - 1)));
drop:
	atomic_fetch_add_explicit(&r->lost, 1, memory_order_relaxed);
	return NULL;
}

void hc_ring_commit_slow(struct hc_ring *r, uint64_t head)
{
	/* Past half full, make sure the collector is awake: it may be in its
	 * idle sleep while this thread allocates in a burst. */
	r->tail_cache = atomic_load_explicit(&r->tail, memory_order_acquire);
	if (head - r->tail_cache > r->size / 2)
		hc_collector_kick();
}

size_t hc_ring_drain(struct hc_ring *r, void (*fn)(void *ctx, const uint64_t *e), void *ctx,
		     uint64_t *corrupt)
{
	/* state before head: a ring seen DEAD has all its events published. */
	int state = atomic_load_explicit(&r->state, memory_order_acquire);
	if (state == HC_RING_FREE)
		return 0;
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	size_t n = 0;
	while (tail != head) {
		const uint64_t *e = (const uint64_t *)(r->data + (tail & (r->size - 1)));
		uint64_t words = HC_EV_WORDS(e[0]);
		if (!words || tail + words * 8 > head) {
			++*corrupt; /* cannot happen: only record.c writes rings */
			tail = head;
			break;
		}
		if (HC_EV_KIND(e[0]) != HC_EV_PAD) {
			fn(ctx, e);
			n++;
		}
		tail += words * 8;
	}
	hc_ring_consumed(r, tail, state);
	return n;
}

void hc_ring_free_space(struct hc_ring *r, uint64_t tail)
{
	/* Release: the producer may reuse the space once it sees this tail. */
	atomic_store_explicit(&r->tail, tail, memory_order_release);
}

void hc_ring_consumed(struct hc_ring *r, uint64_t tail, int state)
{
	hc_ring_free_space(r, tail);
	if (state == HC_RING_DEAD && tail == atomic_load_explicit(&r->head, memory_order_relaxed)) {
		/* Its thread is gone and no one else writes it: give the pages
		 * back, so rings kept for recycling cost address space only. */
		madvise(r->data, r->size, MADV_DONTNEED);
		int dead = HC_RING_DEAD;
		if (atomic_compare_exchange_strong_explicit(&r->state, &dead, HC_RING_FREE,
							    memory_order_release,
							    memory_order_relaxed))
			atomic_fetch_add_explicit(&hc_rings_recycled, 1, memory_order_release);
	}
}
