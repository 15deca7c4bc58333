/* Workload families for the detection evaluation (tests/eval-detect.sh):
 * each family draws its parameters from wide ranges with SEED, runs for
 * SECONDS of virtual time at SPEED times real time on top of background
 * churn, and writes what is true of it (leak or not, which functions leak
 * and how fast, since when) as one JSON line to $FAMILIES_TRUTH, or to
 * stderr. Every allocation site is a named function fam_<family>_<what>;
 * bookkeeping lives in mmap'd memory, never in the traced heap.
 * usage: families FAMILY SEED SECONDS [SPEED]; families --list
 * FAMILIES_RATE and FAMILIES_ONSET (bytes per virtual second, seconds)
 * replace the drawn rate and onset, for a case made to order.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define WHEEL_CAP 4096
#include "gen.h"

#define TICK_NS 10000000L /* a step every 10 ms of real time */
/* The budget's rate with the analyzer's defaults: 64 MiB a day. */
#define THRESHOLD_BPS (64.0 * 1024 * 1024 / 86400)

#if defined(__GNUC__) && !defined(__clang__)
#define SITE __attribute__((noinline, noclone))
#else
#define SITE __attribute__((noinline))
#endif

static void *volatile sink;

static void die(const char *what)
{
	fprintf(stderr, "families: %s\n", what);
	exit(1);
}

/* --- randomness (gen.h), short names ------------------------------------------ */

static double unit(struct rng *r) { return rng_unit(r); }
static double uni(struct rng *r, double lo, double hi) { return rng_range(r, lo, hi); }
static uint64_t below(struct rng *r, uint64_t n) { return rng_below(r, n); }

/* ln and exp without libm (the test programs link no -lm) */
static double ln(double x)
{
	double k = 0;
	while (x >= 2) {
		x /= 2;
		k++;
	}
	while (x < 1) {
		x *= 2;
		k--;
	}
	double z = (x - 1) / (x + 1), z2 = z * z, sum = 0, p = z;
	for (int i = 1; i < 40; i += 2) {
		sum += p / i;
		p *= z2;
	}
	return k * 0.6931471805599453 + 2 * sum;
}

static double ex(double y)
{
	long k = (long)(y / 0.6931471805599453);
	double r = y - (double)k * 0.6931471805599453, sum = 1, term = 1;
	for (int i = 1; i < 30; i++) {
		term *= r / i;
		sum += term;
	}
	for (; k > 0; k--)
		sum *= 2;
	for (; k < 0; k++)
		sum /= 2;
	return sum;
}

/* log-uniform in [lo, hi]: every order of magnitude as likely */
static double logu(struct rng *r, double lo, double hi)
{
	return lo * ex(ln(hi / lo) * unit(r));
}

static struct rng prm, run, churn;

/* --- blocks and sets (bookkeeping outside the heap) ----------------------- */

struct blk {
	size_t size;
	double die_at;  /* virtual time to free it, or 0 */
};

struct set {
	struct blk **v;
	size_t n, cap;
	double bytes;
};

static void *map(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		die("cannot map bookkeeping");
	return p;
}

static void set_init(struct set *s, size_t cap)
{
	s->v = map(cap * sizeof(*s->v));
	s->cap = cap;
}

static void set_add(struct set *s, struct blk *b)
{
	if (s->n == s->cap)
		die("set full");
	s->v[s->n++] = b;
	s->bytes += (double)b->size;
}

/* removes and returns entry i (the last takes its place) */
static struct blk *set_take(struct set *s, size_t i)
{
	struct blk *b = s->v[i];
	s->v[i] = s->v[--s->n];
	s->bytes -= (double)b->size;
	return b;
}

static void set_free_all(struct set *s)
{
	while (s->n)
		free(set_take(s, s->n - 1));
}

/* A FIFO ring (oldest first) for LRU and TTL families. */
struct fifo {
	struct blk **v;
	size_t head, n, cap;
	double bytes;
};

static void fifo_init(struct fifo *q, size_t cap)
{
	q->v = map(cap * sizeof(*q->v));
	q->cap = cap;
}

static void fifo_push(struct fifo *q, struct blk *b)
{
	if (q->n == q->cap)
		die("fifo full");
	q->v[(q->head + q->n++) % q->cap] = b;
	q->bytes += (double)b->size;
}

static struct blk *fifo_pop(struct fifo *q)
{
	struct blk *b = q->v[q->head];
	q->head = (q->head + 1) % q->cap;
	q->n--;
	q->bytes -= (double)b->size;
	return b;
}

/* size around base: base * [0.75, 1.25], at least sizeof(struct blk) */
static size_t jit(size_t base)
{
	size_t n = base * 3 / 4 + (size_t)below(&run, base / 2 + 1);
	return n < sizeof(struct blk) ? sizeof(struct blk) : n;
}

static struct blk *mk(void *p, size_t n)
{
	if (!p)
		die("out of memory");
	struct blk *b = p;
	b->size = n;
	b->die_at = 0;
	return b;
}

/* --- background churn: the timing wheel (gen.h) frees blocks 10..150 ms later */

/* events due this tick for a rate per virtual second */
static double speed = 1;
static unsigned due(struct rng *r, double per_s)
{
	double n = per_s * speed * TICK_NS / 1e9;
	unsigned whole = (unsigned)n;
	return whole + (unit(r) < n - whole);
}

static double churn_rate;

__attribute__((noinline)) void fam_background_churn(void)
{
	unsigned n = due(&churn, churn_rate);
	for (unsigned i = 0; i < n; i++) {
		size_t size = (size_t)16 << below(&churn, 9); /* 16 B .. 4 KiB */
		char *p = malloc(size);
		if (!p)
			die("out of memory");
		memset(p, 0x5a, 16);
		if (below(&churn, 10) < 3) {
			sink = p;
			free(sink);
		} else {
			wheel_put(p, 1 + (unsigned)below(&churn, 10));
		}
	}
}

/* --- the allocation sites -------------------------------------------------- */

#define ALLOC(name, fill)                          \
	SITE struct blk *fam_##name(size_t n)      \
	{                                          \
		struct blk *b = mk(malloc(n), n); \
		memset((char *)b + sizeof(*b), fill, n > 48 ? 32 : n - sizeof(*b)); \
		return b;                          \
	}

ALLOC(steady_alloc, 1)
ALLOC(slow_alloc, 2)
ALLOC(stepped_alloc, 3)
ALLOC(onset_alloc, 4)
ALLOC(hidden_alloc, 5)
ALLOC(mixed_alloc, 6)
ALLOC(doubling_elem, 7)
ALLOC(xthread_alloc, 8)
ALLOC(multi_0, 9)
ALLOC(multi_1, 10)
ALLOC(multi_2, 11)
ALLOC(multi_3, 12)
ALLOC(warmup_fill, 13)
ALLOC(warmup_refill, 14)
ALLOC(lru_alloc, 15)
ALLOC(ttl_alloc, 16)
ALLOC(gc_alloc, 17)
ALLOC(batch_alloc, 18)
ALLOC(saturating_alloc, 19)
ALLOC(converging_alloc, 20)
ALLOC(lrulate_alloc, 21)
ALLOC(startup_alloc, 22)

/* The doubling family's index: an array of pointers that doubles (a new
 * array, the old one copied and freed), as a vector or hash table does. */
SITE void **fam_doubling_index(size_t n)
{
	void **p = malloc(n * sizeof(void *));
	if (!p)
		die("out of memory");
	return p;
}

/* --- families ---------------------------------------------------------------- */

static double run_s;
static double rate, block, period, onset_s, amount, life, frac, evict;
static unsigned nsites;
static double rates[4];
static struct set kept, tmp;
static struct fifo fifo;
static double done_bytes; /* progress of a rate-driven family */
static char params[512];
#define PARAMS(...) snprintf(params, sizeof params, __VA_ARGS__)

typedef struct blk *alloc_fn(size_t);

/* keeps blocks from f until `target` bytes were kept in all */
static void keep_to(double target, alloc_fn *f, struct set *s)
{
	while (done_bytes < target) {
		size_t n = jit((size_t)block);
		set_add(s, f(n));
		done_bytes += (double)n;
	}
}

/* the block size for a rate: at least 60 blocks over the run */
static double block_for(double bps, double lo, double hi)
{
	double b = logu(&prm, lo, hi), most = bps * run_s / 60;
	if (b > most)
		b = most;
	return b < 32 ? 32 : b;
}

static void steady_init(void)
{
	rate = logu(&prm, 3e3, 3e5);
	block = block_for(rate, 16, 65536);
	PARAMS("\"rate\":%.0f,\"block\":%.0f", rate, block);
}
static void steady_step(double t) { keep_to(rate * t, fam_steady_alloc, &kept); }

static void slow_init(void)
{
	rate = THRESHOLD_BPS * uni(&prm, 2, 4);
	block = block_for(rate, 16, 1024);
	PARAMS("\"rate\":%.0f,\"block\":%.0f", rate, block);
}
static void slow_step(double t) { keep_to(rate * t, fam_slow_alloc, &kept); }

static void stepped_init(void)
{
	rate = logu(&prm, 3e3, 3e5);
	period = run_s * uni(&prm, 0.04, 0.15);
	block = block_for(rate, 64, 16384);
	PARAMS("\"rate\":%.0f,\"period\":%.2f,\"block\":%.0f", rate, period, block);
}
static void stepped_step(double t)
{
	keep_to(rate * period * (double)(long)(t / period), fam_stepped_alloc, &kept);
}

/* before the onset, the same site allocates as much, freed at once */
static void onset_init(void)
{
	rate = logu(&prm, 3e3, 3e5);
	onset_s = run_s * uni(&prm, 0, 0.6);
	block = block_for(rate * 0.4, 16, 16384);
	PARAMS("\"rate\":%.0f,\"block\":%.0f", rate, block);
}
static double churned;
static void onset_step(double t)
{
	if (t >= onset_s) {
		keep_to(rate * (t - onset_s), fam_onset_alloc, &kept);
		return;
	}
	while (churned < rate * t) {
		size_t n = jit((size_t)block);
		sink = fam_onset_alloc(n);
		free(sink);
		churned += (double)n;
	}
}

/* one site churns thousands of blocks a second and keeps one in `frac` */
static void hidden_init(void)
{
	rate = logu(&prm, 3e3, 1e5); /* kept */
	block = logu(&prm, 64, 4096);
	frac = logu(&prm, 20, 1000);
	if (rate / block * frac > 20000)
		frac = 20000 * block / rate;
	if (frac < 2)
		frac = 2;
	PARAMS("\"rate\":%.0f,\"block\":%.0f,\"one_kept_in\":%.0f", rate, block, frac);
}
static void hidden_step(double t)
{
	(void)t;
	unsigned n = due(&run, rate / block * frac);
	for (unsigned i = 0; i < n; i++) {
		size_t size = jit((size_t)block);
		struct blk *b = fam_hidden_alloc(size);
		if (unit(&run) * frac < 1)
			set_add(&kept, b);
		else if (below(&run, 4) == 0)
			free(b);
		else
			wheel_put(b, 1 + (unsigned)below(&run, 5));
	}
}

/* one site serves temporaries (frac of its allocations, freed within
 * 0..100 ms) and retained objects, of which `evict` are later freed at
 * random (evictions from a history, overwritten values) */
static void mixed_init(void)
{
	rate = logu(&prm, 3e3, 3e5); /* retained before evictions */
	frac = uni(&prm, 0, 0.99);
	evict = uni(&prm, 0, 0.10);
	block = block_for(rate, 16, 16384);
	PARAMS("\"rate\":%.0f,\"block\":%.0f,\"temporary\":%.3f,\"evicted\":%.3f", rate * (1 - evict),
	       block, frac, evict);
}
static double mixed_evicted;
static void mixed_step(double t)
{
	double per = rate / block / (1 - frac); /* allocations per second */
	unsigned n = due(&run, per);
	for (unsigned i = 0; i < n; i++) {
		size_t size = jit((size_t)block);
		struct blk *b = fam_mixed_alloc(size);
		if (unit(&run) < frac) {
			if (below(&run, 2))
				free(b);
			else
				wheel_put(b, 1 + (unsigned)below(&run, 10));
		} else {
			set_add(&kept, b);
		}
	}
	while (mixed_evicted < evict * rate / block * t && kept.n > 1) {
		free(set_take(&kept, (size_t)below(&run, kept.n)));
		mixed_evicted++;
	}
}

/* elements kept in an index that doubles */
static void **index_v;
static size_t index_n, index_cap;
static void doubling_init(void)
{
	rate = logu(&prm, 3e3, 3e5);
	block = block_for(rate, 16, 4096);
	PARAMS("\"rate\":%.0f,\"block\":%.0f", rate, block);
}
static void doubling_step(double t)
{
	while (done_bytes < rate * t) {
		size_t n = jit((size_t)block);
		if (index_n == index_cap) {
			size_t cap = index_cap ? index_cap * 2 : 16;
			void **v = fam_doubling_index(cap);
			if (index_n)
				memcpy(v, index_v, index_n * sizeof(void *));
			free(index_v);
			index_v = v;
			index_cap = cap;
		}
		index_v[index_n++] = fam_doubling_elem(n);
		done_bytes += (double)n;
	}
}

/* allocated on the main thread, handed over a queue to a keeper thread
 * that keeps `frac` of them and frees the rest */
#define XQ 65536
static struct blk *xq[XQ];
static size_t xq_head, xq_tail;
static pthread_mutex_t xq_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t xq_cond = PTHREAD_COND_INITIALIZER;
static int xq_done;
static struct rng keeper_rng;
static struct set xkept;

static void *keeper(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&xq_lock);
	for (;;) {
		while (xq_head == xq_tail && !xq_done)
			pthread_cond_wait(&xq_cond, &xq_lock);
		if (xq_head == xq_tail && xq_done)
			break;
		struct blk *b = xq[xq_head++ % XQ];
		pthread_mutex_unlock(&xq_lock);
		if (unit(&keeper_rng) < frac)
			set_add(&xkept, b);
		else
			free(b);
		pthread_mutex_lock(&xq_lock);
	}
	pthread_mutex_unlock(&xq_lock);
	return NULL;
}

static pthread_t keeper_thread;
static void xthread_init(void)
{
	rate = logu(&prm, 3e3, 3e5); /* kept */
	frac = uni(&prm, 0.05, 1);
	block = block_for(rate, 16, 16384);
	keeper_rng.s = run.s ^ 0x2545f4914f6cdd1dULL;
	set_init(&xkept, 1 << 24);
	if (pthread_create(&keeper_thread, NULL, keeper, NULL))
		die("cannot start the keeper thread");
	PARAMS("\"rate\":%.0f,\"block\":%.0f,\"kept\":%.2f", rate, block, frac);
}
static void xthread_step(double t)
{
	while (done_bytes < rate / frac * t) {
		size_t n = jit((size_t)block);
		struct blk *b = fam_xthread_alloc(n);
		done_bytes += (double)n;
		pthread_mutex_lock(&xq_lock);
		while (xq_tail - xq_head >= XQ) {
			pthread_mutex_unlock(&xq_lock);
			struct timespec ts = {0, 100000};
			nanosleep(&ts, NULL);
			pthread_mutex_lock(&xq_lock);
		}
		xq[xq_tail++ % XQ] = b;
		pthread_cond_signal(&xq_cond);
		pthread_mutex_unlock(&xq_lock);
	}
}

/* several sites leaking at rates up to 30x apart */
static alloc_fn *multi_fn[4] = {fam_multi_0, fam_multi_1, fam_multi_2, fam_multi_3};
static double multi_done[4];
static void multi_init(void)
{
	nsites = 2 + (unsigned)below(&prm, 3);
	int len = 0;
	block = logu(&prm, 32, 2048);
	for (unsigned i = 0; i < nsites; i++) {
		rates[i] = logu(&prm, 3e3, 1e5);
		if (block > rates[i] * run_s / 60)
			block = rates[i] * run_s / 60;
	}
	for (unsigned i = 0; i < nsites; i++)
		len += snprintf(params + len, sizeof params - (size_t)len, "%s\"rate_%u\":%.0f",
				i ? "," : "", i, rates[i]);
	snprintf(params + len, sizeof params - (size_t)len, ",\"block\":%.0f", block);
}
static void multi_step(double t)
{
	for (unsigned i = 0; i < nsites; i++)
		while (multi_done[i] < rates[i] * t) {
			size_t n = jit((size_t)block);
			set_add(&kept, multi_fn[i](n));
			multi_done[i] += (double)n;
		}
}

/* a table filled over the warm-up, then entries replaced at random, the
 * refills from the same place or another */
static int refill_elsewhere;
static void warmup_init(void)
{
	amount = logu(&prm, 1e5, 3e7);
	block = logu(&prm, 32, 8192);
	period = run_s * uni(&prm, 0.05, 0.4);
	evict = uni(&prm, 0, 0.05); /* of the entries, replaced a second */
	refill_elsewhere = (int)below(&prm, 2);
	PARAMS("\"bytes\":%.0f,\"block\":%.0f,\"fill_s\":%.1f,\"replaced_per_s\":%.3f,"
	       "\"refill_elsewhere\":%d", amount, block, period, evict, refill_elsewhere);
}
static double replaced;
static void warmup_step(double t)
{
	keep_to(amount * (t < period ? t / period : 1), fam_warmup_fill, &kept);
	if (t < period || !kept.n)
		return;
	while (replaced < evict * (double)kept.n * (t - period)) {
		size_t i = (size_t)below(&run, kept.n);
		size_t n = jit((size_t)block);
		free(set_take(&kept, i));
		set_add(&kept, (refill_elsewhere ? fam_warmup_refill : fam_warmup_fill)(n));
		replaced++;
	}
}

/* LRU at capacity: inserts at a constant rate, the oldest goes once full;
 * an entry lives `life` seconds, full from then on */
static void lru_init(void)
{
	amount = logu(&prm, 1e5, 2e7);
	life = run_s * uni(&prm, 0.02, 0.3);
	block = logu(&prm, 32, 16384);
	if (block > amount / 50)
		block = amount / 50;
	rate = amount / life;
	fifo_init(&fifo, 1 << 24);
	PARAMS("\"bytes\":%.0f,\"life_s\":%.1f,\"block\":%.0f", amount, life, block);
}
static void lru_insert(double t, alloc_fn *f)
{
	while (done_bytes < rate * t) {
		size_t n = jit((size_t)block);
		fifo_push(&fifo, f(n));
		done_bytes += (double)n;
		while (fifo.bytes > amount)
			free(fifo_pop(&fifo));
	}
}
static void lru_step(double t) { lru_insert(t, fam_lru_alloc); }

/* entries expire `life` seconds after insertion */
static void ttl_init(void)
{
	rate = logu(&prm, 3e3, 3e5);
	life = run_s * uni(&prm, 0.02, 0.3);
	block = block_for(rate, 16, 16384);
	fifo_init(&fifo, 1 << 24);
	PARAMS("\"rate\":%.0f,\"ttl_s\":%.1f,\"block\":%.0f", rate, life, block);
}
static void ttl_step(double t)
{
	while (done_bytes < rate * t) {
		size_t n = jit((size_t)block);
		struct blk *b = fam_ttl_alloc(n);
		b->die_at = t + life * uni(&run, 0.8, 1.2);
		fifo_push(&fifo, b);
		done_bytes += (double)n;
	}
	while (fifo.n && fifo.v[fifo.head]->die_at <= t)
		free(fifo_pop(&fifo));
}

/* a garbage collector's sawtooth: garbage piles up, a collection frees it
 * all; at least two collections in the run */
static void gc_init(void)
{
	rate = logu(&prm, 1e4, 1e6);
	period = run_s * uni(&prm, 0.08, 0.33);
	block = block_for(rate, 16, 4096);
	PARAMS("\"rate\":%.0f,\"period_s\":%.1f,\"block\":%.0f", rate, period, block);
}
static long gc_cycle;
static void gc_step(double t)
{
	long c = (long)(t / period);
	if (c != gc_cycle) {
		set_free_all(&kept);
		gc_cycle = c;
	}
	keep_to(rate * t, fam_gc_alloc, &kept);
}

/* periodic batches: `amount` bytes at once, living part of the period */
static double batch_next, batch_free_at;
static void batch_init(void)
{
	period = run_s * uni(&prm, 0.03, 0.2);
	amount = logu(&prm, 1e5, 1e7);
	life = period * uni(&prm, 0.2, 0.9);
	block = logu(&prm, 256, 65536);
	if (block > amount / 20)
		block = amount / 20;
	batch_next = period;
	PARAMS("\"period_s\":%.1f,\"bytes\":%.0f,\"life_s\":%.1f,\"block\":%.0f", period, amount,
	       life, block);
}
static void batch_step(double t)
{
	if (kept.n && t >= batch_free_at)
		set_free_all(&kept);
	if (t < batch_next)
		return;
	done_bytes = 0;
	keep_to(amount, fam_batch_alloc, &kept);
	batch_free_at = t + life;
	batch_next += period * uni(&run, 0.9, 1.1);
}

/* saturating growth: amount * (1 - e^(-t/tau)) */
static void saturating_init(void)
{
	amount = logu(&prm, 1e6, 5e7);
	period = run_s * uni(&prm, 0.05, 0.25);
	block = logu(&prm, 32, 8192);
	PARAMS("\"cap\":%.0f,\"tau_s\":%.1f,\"block\":%.0f", amount, period, block);
}
static void saturating_step(double t)
{
	keep_to(amount * (1 - ex(-t / period)), fam_saturating_alloc, &kept);
}

/* a slowly converging cache: amount * t / (t + tau) */
static void converging_init(void)
{
	amount = logu(&prm, 1e6, 5e7);
	period = run_s * uni(&prm, 0.05, 0.3);
	block = logu(&prm, 32, 8192);
	PARAMS("\"cap\":%.0f,\"tau_s\":%.1f,\"block\":%.0f", amount, period, block);
}
static void converging_step(double t)
{
	keep_to(amount * t / (t + period), fam_converging_alloc, &kept);
}

/* an LRU that fills its capacity late in the run (30..75%) */
static void lrulate_init(void)
{
	rate = logu(&prm, 3e3, 3e5);
	life = run_s * uni(&prm, 0.3, 0.75);
	amount = rate * life;
	block = block_for(rate, 32, 16384);
	fifo_init(&fifo, 1 << 24);
	PARAMS("\"rate\":%.0f,\"full_at_s\":%.1f,\"block\":%.0f", rate, life, block);
}
static void lrulate_step(double t) { lru_insert(t, fam_lrulate_alloc); }

/* a one-off at start, kept */
static void startup_init(void)
{
	amount = logu(&prm, 1e6, 5e7);
	period = uni(&prm, 0.1, 1);
	block = logu(&prm, 256, 65536);
	PARAMS("\"bytes\":%.0f,\"over_s\":%.2f,\"block\":%.0f", amount, period, block);
}
static void startup_step(double t)
{
	keep_to(t < period ? amount * t / period : amount, fam_startup_alloc, &kept);
}

static void churn_init(void) { PARAMS("\"churn_only\":1"); }
static void churn_step(double t) { (void)t; }

static const struct family {
	const char *name;
	int leak;
	const char *sites; /* the leaking functions, JSON */
	void (*init)(void);
	void (*step)(double t);
} families[] = {
#define F(name, leak, sites) {#name, leak, sites, name##_init, name##_step}
	F(steady, 1, "[\"fam_steady_alloc\"]"),
	F(slow, 1, "[\"fam_slow_alloc\"]"),
	F(stepped, 1, "[\"fam_stepped_alloc\"]"),
	F(onset, 1, "[\"fam_onset_alloc\"]"),
	F(hidden, 1, "[\"fam_hidden_alloc\"]"),
	F(mixed, 1, "[\"fam_mixed_alloc\"]"),
	F(doubling, 1, "[\"fam_doubling_elem\"]"),
	F(xthread, 1, "[\"fam_xthread_alloc\"]"),
	F(multi, 1, NULL),
	F(warmup, 0, "[]"),
	F(lru, 0, "[]"),
	F(ttl, 0, "[]"),
	F(gc, 0, "[]"),
	F(batch, 0, "[]"),
	F(saturating, 0, "[]"),
	F(converging, 0, "[]"),
	F(lrulate, 0, "[]"),
	F(startup, 0, "[]"),
	F(churn, 0, "[]"),
#undef F
};
#define NFAM (sizeof families / sizeof families[0])

static void usage(void)
{
	fputs("usage: families FAMILY SEED SECONDS [SPEED]; families --list\n", stderr);
	exit(2);
}

static double since(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static double truth_rate(const struct family *f)
{
	if (!f->leak)
		return 0;
	if (!strcmp(f->name, "multi")) {
		double r = 0;
		for (unsigned i = 0; i < nsites; i++)
			r += rates[i];
		return r;
	}
	if (!strcmp(f->name, "mixed"))
		return rate * (1 - evict);
	return rate;
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--list")) {
		for (size_t i = 0; i < NFAM; i++)
			printf("%s %s\n", families[i].name, families[i].leak ? "leak" : "benign");
		return 0;
	}
	if (argc != 4 && argc != 5)
		usage();
	const struct family *f = NULL;
	for (size_t i = 0; i < NFAM; i++)
		if (!strcmp(argv[1], families[i].name))
			f = &families[i];
	char *end;
	errno = 0;
	uint64_t seed = strtoull(argv[2], &end, 0);
	if (!f || errno || end == argv[2] || *end)
		usage();
	run_s = strtod(argv[3], &end);
	if (end == argv[3] || *end || !(run_s > 0 && run_s < 1e6))
		usage();
	if (argc == 5) {
		speed = strtod(argv[4], &end);
		if (end == argv[4] || *end || !(speed > 0 && speed <= 100))
			usage();
	}
	prm.s = seed;
	run.s = seed ^ 0x5851f42d4c957f2dULL;
	churn.s = seed ^ 0x14057b7ef767814fULL;
	churn_rate = logu(&prm, 300, 5000);
	set_init(&kept, 1 << 24);
	set_init(&tmp, 16);
	f->init();
	const char *e = getenv("FAMILIES_RATE");
	if (e && *e) {
		rate = strtod(e, NULL);
		if (!(rate > 0))
			usage();
		snprintf(params + strlen(params), sizeof params - strlen(params),
			 ",\"rate_set\":%.0f", rate);
	}
	if ((e = getenv("FAMILIES_ONSET")) && *e)
		onset_s = strtod(e, NULL);

	struct timespec t0, next;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	next = t0;
	double t;
	while ((t = since(&t0) * speed) < run_s) {
		wheel_advance();
		fam_background_churn();
		f->step(t);
		tick_wait(&next, TICK_NS);
	}
	if (f->init == xthread_init) {
		pthread_mutex_lock(&xq_lock);
		xq_done = 1;
		pthread_cond_signal(&xq_cond);
		pthread_mutex_unlock(&xq_lock);
		pthread_join(keeper_thread, NULL);
	}

	char sites[160];
	if (f->sites) {
		snprintf(sites, sizeof sites, "%s", f->sites);
	} else {
		int len = snprintf(sites, sizeof sites, "[");
		for (unsigned i = 0; i < nsites; i++)
			len += snprintf(sites + len, sizeof sites - (size_t)len, "%s\"fam_multi_%u\"",
					i ? "," : "", i);
		snprintf(sites + len, sizeof sites - (size_t)len, "]");
	}
	const char *path = getenv("FAMILIES_TRUTH");
	FILE *out = path && *path ? fopen(path, "w") : stderr;
	if (!out)
		die("cannot write the truth file");
	fprintf(out,
		"{\"family\":\"%s\",\"seed\":%" PRIu64 ",\"seconds\":%.1f,\"speed\":%g,"
		"\"leak\":%s,\"sites\":%s,\"rate\":%.1f,\"onset_s\":%.2f,\"churn\":%.0f,"
		"\"params\":{%s}}\n",
		f->name, seed, run_s, speed, f->leak ? "true" : "false", sites, truth_rate(f),
		f->init == onset_init ? onset_s : 0, churn_rate, params);
	if (out != stderr)
		fclose(out);
	return 0;
}
