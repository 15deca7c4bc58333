/* The event clock. When the kernel keeps time with the TSC (its chosen
 * clocksource is "tsc": it found the counter invariant and synchronised
 * across CPUs), or HEAPCREEP_CLOCK=tsc says to trust it (a VM whose kernel
 * keeps time with kvm-clock), events are stamped with the TSC, a third of
 * the cost of a clock_gettime; else with CLOCK_MONOTONIC. Which stamps may
 * skip the fence: internal.h, at hc_stamp; which need not read the clock
 * at all: internal.h, at hc_stamp_between. Only the collector converts
 * stamps to nanoseconds: it calibrates the TSC against CLOCK_MONOTONIC at
 * start and refines the rate at every snapshot, as the span grows.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#if defined(__has_include)
#if __has_include(<sys/rseq.h>)
#include <sys/rseq.h>
#endif
#endif

#include "internal.h"

int hc_use_tsc;
long hc_rseq_cpu_off;
uint64_t hc_solo_mul;
/* Written by the lone recording thread at every stamp: a line of their own. */
_Alignas(64) _Atomic uint64_t hc_solo_stamps;
_Atomic uint64_t hc_solo_reads;
static int kernel_tsc;  /* the kernel's clocksource is the TSC */
static char kernel_clock[24] = "unknown"; /* its name */
_Atomic int hc_stamp_fenced;
static _Atomic int solo_taken; /* a thread stamps unfenced, or did */

static uint64_t base_stamp, base_ns; /* collector only */
static double ns_per_stamp = 1.0;

void hc_clock_init(void)
{
#if defined(RSEQ_SIG) && !defined(HC_NO_RSEQ)
	/* glibc 2.35 and later register an rseq area for every thread (unless
	 * told not to, or the kernel has none: then its size is 0). struct
	 * rseq: cpu_id_start, then cpu_id (-1 while unregistered). */
	if (__rseq_size >= 8 && __rseq_offset)
		hc_rseq_cpu_off = (long)__rseq_offset + 4;
	if ((int32_t)hc_cpu() < 0)
		hc_rseq_cpu_off = 0;
#endif

	char buf[32] = "";
	int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
		      O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		size_t k = (size_t)n < sizeof(kernel_clock) ? (size_t)n : sizeof(kernel_clock) - 1;
		memcpy(kernel_clock, buf, k);
		kernel_clock[k] = '\0';
		if (k && kernel_clock[k - 1] == '\n')
			kernel_clock[k - 1] = '\0';
	}
	kernel_tsc = !strcmp(kernel_clock, "tsc");
	hc_use_tsc = kernel_tsc;
}

void hc_clock_choose(int clock)
{
	hc_use_tsc = clock == HC_CLOCK_TSC || (clock == HC_CLOCK_AUTO && kernel_tsc);
}

size_t hc_clock_describe(char *buf, size_t cap)
{
	if (hc_use_tsc && kernel_tsc)
		return hc_fmt(buf, cap, "event clock: the TSC (the kernel keeps time with it)");
	if (hc_use_tsc)
		return hc_fmt(buf, cap,
			      "event clock: the TSC, trusted (HEAPCREEP_CLOCK=tsc; the kernel "
			      "keeps time with %s)",
			      kernel_clock);
	return hc_fmt(buf, cap,
		      "event clock: clock_gettime (the kernel keeps time with %s; "
		      "HEAPCREEP_CLOCK=tsc would trust the TSC, a third of the cost)%s",
		      kernel_clock,
		      hc_rseq_cpu_off ? ""
				      : "; every stamp reads it (glibc registers no rseq area, "
					"so a thread's CPU is unknown)");
}

size_t hc_clock_describe_solo(char *buf, size_t cap)
{
	uint64_t n = atomic_load_explicit(&hc_solo_stamps, memory_order_relaxed);
	uint64_t reads = atomic_load_explicit(&hc_solo_reads, memory_order_relaxed);
	if (hc_use_tsc || !n)
		return 0;
	return hc_fmt(buf, cap,
		      "event stamps: %llu taken while one thread recorded alone, %llu of them "
		      "from a clock read, the rest from the TSC since the last read (never more "
		      "than %u ticks on, on the same CPU)",
		      (unsigned long long)n, (unsigned long long)reads, HC_SOLO_SPAN);
}

/* The TSC once every older instruction has completed. */
static inline uint64_t rdtsc_ordered(void)
{
	uint64_t t;
	__asm__ volatile("lfence; rdtsc; shl $32, %%rdx; or %%rdx, %%rax" : "=a"(t)::"rdx", "memory");
	return t;
}

/* A lone thread's clock read (see hc_stamp_between): the TSC just after it
 * is what later stamps count from; the rate comes from two such reads. */
uint64_t hc_stamp_read(void)
{
	atomic_fetch_add_explicit(&hc_solo_reads, 1, memory_order_relaxed);
	uint32_t cpu = hc_cpu();
	uint64_t before = rdtsc_ordered();
	uint64_t ns = hc_now();
	uint64_t after = rdtsc_ordered();
	if (ns <= hc_tls.solo_last)
		ns = hc_tls.solo_last + 1;
	hc_tls.solo_last = ns;
	hc_tls.solo_cpu = HC_SOLO_NONE; /* the next stamp reads again, unless: */
	/* cpu_id is negative while rseq is not registered, or failed to be */
	if ((int32_t)cpu < 0 || cpu != hc_cpu() || after - before > HC_SOLO_READ_MAX)
		return ns;
	if (!hc_tls.rate_tsc || hc_tls.rate_cpu != cpu || after <= hc_tls.rate_tsc ||
	    ns <= hc_tls.rate_ns) {
		hc_tls.rate_cpu = cpu;
		hc_tls.rate_tsc = after;
		hc_tls.rate_ns = ns;
	} else if (after - hc_tls.rate_tsc >= HC_SOLO_RATE_TICKS) {
		/* ns a tick, times 2^32, less 1/64: the reads' own spans make it
		 * at most 1/1024 high */
		unsigned __int128 q = ((unsigned __int128)(ns - hc_tls.rate_ns) << 32) /
				      (after - hc_tls.rate_tsc);
		uint64_t mul = q > ((unsigned __int128)1 << 40) ? 0 : (uint64_t)q;
		hc_solo_mul = mul - mul / 64;
	}
	if (hc_solo_mul) {
		hc_tls.solo_cpu = cpu;
		hc_tls.solo_tsc = after;
		hc_tls.solo_ns = ns;
	}
	return ns;
}

/* A thread's first stamp: the first thread to stamp may skip the fence
 * while no other has stamped; any other turns the fence on for all, with
 * a locked store (a full barrier) before its own first stamp. */
void hc_stamp_claim(void)
{
	int none = 0;
	if (atomic_compare_exchange_strong(&solo_taken, &none, 1)) {
		hc_tls.stamp = HC_STAMP_SOLO;
		return;
	}
	hc_tls.stamp = HC_STAMP_FENCED;
	atomic_store(&hc_stamp_fenced, 1);
}

void hc_stamp_fence_self(void)
{
	hc_tls.stamp = HC_STAMP_FENCED;
}

/* The child has one thread, this one: what the parent's others recorded is
 * not in its trace, and a thread it starts will claim anew. */
void hc_stamp_postfork_child(void)
{
	atomic_store(&solo_taken, 1);
	atomic_store(&hc_stamp_fenced, 0);
	hc_tls.stamp = HC_STAMP_SOLO;
	atomic_store(&hc_solo_stamps, 0); /* the child's trace counts its own */
	atomic_store(&hc_solo_reads, 0);
}

/* A stamp and the time at (about) the same moment: the stamp read on both
 * sides of the clock read, the closest pair of a few kept. */
static void pair(uint64_t *stamp, uint64_t *ns)
{
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < 5; i++) {
		uint64_t a = hc_stamp();
		uint64_t t = hc_now();
		uint64_t b = hc_stamp();
		if (b - a < best) {
			best = b - a;
			*stamp = a + (b - a) / 2;
			*ns = t;
		}
	}
}

void hc_clock_calibrate(void)
{
	if (!hc_use_tsc)
		return;
	uint64_t s, t;
	pair(&s, &t);
	if (!base_stamp) {
		base_stamp = s;
		base_ns = t;
		/* A first rate over 200 µs (good to about 1e-4), refined at
		 * every snapshot; spinning, not sleeping: this may run inside
		 * the program's first malloc after a fork. */
		while (hc_now() - t < 200000)
			;
		pair(&s, &t);
	}
	if (s > base_stamp && t > base_ns)
		ns_per_stamp = (double)(t - base_ns) / (double)(s - base_stamp);
}

double hc_ns_per_stamp(void)
{
	return ns_per_stamp;
}

/* Fork: the child calibrates anew (the collector starts again). */
void hc_clock_reset(void)
{
	base_stamp = base_ns = 0;
}
