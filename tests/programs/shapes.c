/* Workload shapes for the detection tests: one shape's long-lived blocks come
 * from shape_<name>_alloc, on top of background churn, for SECONDS seconds.
 * Leaks: steady, stepped, slow, late, hidden. Benign: warmup, lru, sawtooth,
 * batch, startup, saturating, churn. Parameters come from SEED only; prints
 * nothing on stdout; exits without freeing, like a service. */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gen.h"

#define TICK_NS 10000000L /* one step of work every 10 ms, asleep in between */

/* The allocation sites must stay separate named functions in the binary:
 * no inlining, no cloning (a .constprop copy would change the name), and
 * each writes its own fill byte so identical-code folding cannot merge two. */
#if defined(__GNUC__) && !defined(__clang__)
#define SITE __attribute__((noinline, noclone))
#else
#define SITE __attribute__((noinline))
#endif

/* Every shape block starts with this header; sizes are at least 64. */
struct blk {
	struct blk *next;
	size_t size;
};

/* Global so the compiler cannot drop the blocks: the shape's retained list
 * (steady ... saturating), its slots (warmup, lru), and what it holds. */
struct blk *shape_kept;
#define SLOTS_MAX 2000
struct blk *shape_slots[SLOTS_MAX];
size_t shape_live_bytes, shape_live_blocks;

static void *volatile sink; /* keeps malloc+free pairs from being elided */

static struct rng param_rng, shape_rng, churn_rng;

/* base ± 25%: sizes vary per block around the seed's base size. */
static size_t jitter(size_t base)
{
	return base * 3 / 4 + rng_below(&shape_rng, base / 2 + 1);
}

/* How many events this tick, for a rate per second: the fraction is drawn. */
static unsigned per_tick(struct rng *r, double per_s)
{
	double n = per_s * TICK_NS / 1e9;
	unsigned whole = (unsigned)n;
	return whole + (rng_unit(r) < n - whole);
}

/* e^-x for x >= 0 without libm (the test-program rule links no -lm). */
static double exp_neg(double x)
{
	int k = 0;
	while (x > 0.5) {
		x /= 2;
		k++;
	}
	double sum = 1, term = 1;
	for (int i = 1; i < 12; i++) {
		term *= -x / i;
		sum += term;
	}
	while (k-- > 0)
		sum *= sum;
	return sum;
}

static void die_oom(void)
{
	fputs("shapes: out of memory\n", stderr);
	exit(1);
}

/* --- the shape's bookkeeping ---------------------------------------------- */

static struct blk *own(struct blk *b, size_t n)
{
	b->size = n;
	shape_live_bytes += n;
	shape_live_blocks++;
	return b;
}

static void keep(struct blk *b, size_t n)
{
	own(b, n)->next = shape_kept;
	shape_kept = b;
}

static void drop(struct blk *b)
{
	shape_live_bytes -= b->size;
	shape_live_blocks--;
	free(b);
}

static void drop_all(void)
{
	while (shape_kept) {
		struct blk *b = shape_kept;
		shape_kept = b->next;
		drop(b);
	}
}

typedef struct blk *alloc_fn(size_t n);

/* Keeps blocks from ALLOC until the shape holds as much as TARGET bytes
 * allows, never more (the next block's size is drawn once and waits). */
static size_t next_size;
static void grow_to(double target, alloc_fn *alloc, size_t base)
{
	for (;;) {
		if (!next_size)
			next_size = jitter(base);
		if (shape_live_bytes + next_size > target)
			return;
		keep(alloc(next_size), next_size);
		next_size = 0;
	}
}

/* --- background churn: every shape runs on top of it --------------------- */

/* The timing wheel (gen.h): 10-ms slots free churn blocks 10..150 ms after
 * their allocation. */

static double churn_rate; /* allocations per second, 2000..4000 per seed */

/* Short-lived blocks of several sizes: 30% freed at once (microseconds),
 * the rest after 1..10 ticks (10..100 ms). */
__attribute__((noinline)) void background_churn(void)
{
	static const size_t sizes[] = {16, 24, 32, 48, 64, 96, 128, 200,
				       256, 512, 1024, 2048, 4096, 16384};
	unsigned n = per_tick(&churn_rng, churn_rate);
	for (unsigned i = 0; i < n; i++) {
		/* Small sizes are the common case: the index leans low. */
		size_t k = rng_below(&churn_rng, 14);
		k = k * rng_below(&churn_rng, 14) / 13;
		size_t size = sizes[k];
		char *p = malloc(size);
		if (!p)
			die_oom();
		memset(p, 0x5a, size < 16 ? size : 16);
		if (rng_below(&churn_rng, 10) < 3) {
			sink = p;
			free(sink);
		} else {
			wheel_put(p, 1 + (unsigned)rng_below(&churn_rng, 10));
		}
	}
}

/* --- the allocation sites ------------------------------------------------- */

#define ALLOC_SITE(name, fill)                                  \
	SITE struct blk *shape_##name##_alloc(size_t n)         \
	{                                                       \
		struct blk *b = malloc(n);                      \
		if (!b)                                         \
			die_oom();                              \
		memset(b, fill, 32);                            \
		return b;                                       \
	}

ALLOC_SITE(steady, 0x01)
ALLOC_SITE(stepped, 0x02)
ALLOC_SITE(slow, 0x03)
ALLOC_SITE(late, 0x04)
ALLOC_SITE(hidden, 0x05)
ALLOC_SITE(warmup, 0x06)
ALLOC_SITE(lru, 0x07)
ALLOC_SITE(sawtooth, 0x08)
ALLOC_SITE(batch, 0x09)
ALLOC_SITE(startup, 0x0a)
ALLOC_SITE(saturating, 0x0b)

/* --- the shapes: init draws the parameters, step runs at time t ---------- */

static double run_s;       /* SECONDS */
static char params[256];   /* the drawn parameters, for SHAPES_VERBOSE */
static double rate;        /* bytes per second */
static size_t base_size;   /* block size before jitter */
static double period;      /* seconds */
static double onset;       /* seconds */
static double amount;      /* bytes */
static unsigned entries;   /* slots in use at capacity */
static double slot_rate;   /* slot operations per second */
static double life;        /* seconds */

#define PARAMS(...) snprintf(params, sizeof params, __VA_ARGS__)

static void steady_init(void)
{
	rate = rng_range(&param_rng, 20, 40) * 1024;
	base_size = 100 + rng_below(&param_rng, 3997);
	PARAMS("rate %.0f B/s, block %zu B", rate, base_size);
}

static void steady_step(double t)
{
	grow_to(rate * t, shape_steady_alloc, base_size);
}

/* Bursts at period, 2 period, ...: flat from 0 to the first. */
static void stepped_init(void)
{
	period = rng_range(&param_rng, 2, 4);
	rate = rng_range(&param_rng, 20, 40) * 1024;
	base_size = 256 + rng_below(&param_rng, 3841);
	amount = rate * period;
	PARAMS("burst %.0f B every %.2f s (%.0f B/s), block %zu B", amount,
	       period, rate, base_size);
}

static void stepped_step(double t)
{
	grow_to(amount * (long)(t / period), shape_stepped_alloc, base_size);
}

static void slow_init(void)
{
	rate = rng_range(&param_rng, 4, 8) * 1024;
	base_size = 100 + rng_below(&param_rng, 925);
	PARAMS("rate %.0f B/s, block %zu B", rate, base_size);
}

static void slow_step(double t)
{
	grow_to(rate * t, shape_slow_alloc, base_size);
}

/* Before the onset the site allocates at the same rate but frees at once. */
static double late_churned;
static void late_init(void)
{
	onset = run_s * rng_range(&param_rng, 0.35, 0.45);
	rate = rng_range(&param_rng, 20, 40) * 1024;
	base_size = 100 + rng_below(&param_rng, 3997);
	PARAMS("onset %.1f s, rate %.0f B/s, block %zu B", onset, rate,
	       base_size);
}

static void late_step(double t)
{
	if (t >= onset) {
		grow_to(rate * (t - onset), shape_late_alloc, base_size);
		return;
	}
	while (late_churned < rate * t) {
		size_t n = jitter(base_size);
		sink = shape_late_alloc(n);
		free(sink);
		late_churned += n;
	}
}

/* One site churns thousands of blocks per second (freed at once or after
 * up to 50 ms) and keeps one in 200 of them forever. */
static void hidden_init(void)
{
	slot_rate = rng_range(&param_rng, 2000, 4000);
	base_size = 512 + rng_below(&param_rng, 1537);
	PARAMS("%.0f allocs/s, 1 in 200 kept, block %zu B (about %.0f B/s kept)",
	       slot_rate, base_size, slot_rate / 200 * base_size);
}

static void hidden_step(double t)
{
	(void)t;
	unsigned n = per_tick(&shape_rng, slot_rate);
	for (unsigned i = 0; i < n; i++) {
		size_t size = jitter(base_size);
		struct blk *b = shape_hidden_alloc(size);
		if (rng_below(&shape_rng, 200) == 0)
			keep(b, size);
		else if (rng_below(&shape_rng, 4) == 0)
			free(b);
		else
			wheel_put(b, 1 + (unsigned)rng_below(&shape_rng, 5));
	}
}

/* Fills ENTRIES slots over the first ~20% of the run; then, for half the
 * seeds, replaces a random entry one for one at SLOT_RATE per second. */
static double warmup_replaced;
static void warmup_init(void)
{
	entries = 500 + (unsigned)rng_below(&param_rng, 1501);
	base_size = 256 + rng_below(&param_rng, 769);
	period = run_s * rng_range(&param_rng, 0.15, 0.25);
	slot_rate = rng_below(&param_rng, 2) ? rng_range(&param_rng, 2, 20) : 0;
	PARAMS("%u entries of %zu B filled over %.1f s, then %.1f replaced/s",
	       entries, base_size, period, slot_rate);
}

static void warmup_step(double t)
{
	double fill = t < period ? entries * t / period : entries;
	while (shape_live_blocks < fill) {
		size_t n = jitter(base_size);
		shape_slots[shape_live_blocks] = own(shape_warmup_alloc(n), n);
	}
	if (t < period)
		return;
	while (warmup_replaced < slot_rate * (t - period)) {
		unsigned i = (unsigned)rng_below(&shape_rng, entries);
		size_t n = jitter(base_size);
		drop(shape_slots[i]);
		shape_slots[i] = own(shape_warmup_alloc(n), n);
		warmup_replaced++;
	}
}

/* ENTRIES slots, inserts at a constant rate, each evicting the oldest once
 * full: an entry lives LIFE seconds. */
static double lru_inserted;
static void lru_init(void)
{
	entries = 200 + (unsigned)rng_below(&param_rng, 1801);
	life = rng_range(&param_rng, 2, 8);
	slot_rate = entries / life;
	base_size = 128 + rng_below(&param_rng, 1921);
	PARAMS("%u entries of %zu B, %.0f inserts/s (entry life %.1f s)",
	       entries, base_size, slot_rate, life);
}

static void lru_step(double t)
{
	while (lru_inserted < slot_rate * t) {
		unsigned i = (unsigned)((uint64_t)lru_inserted % entries);
		size_t n = jitter(base_size);
		if (shape_slots[i])
			drop(shape_slots[i]);
		shape_slots[i] = own(shape_lru_alloc(n), n);
		lru_inserted++;
	}
}

/* Grows at RATE for PERIOD seconds, frees everything, again. */
static long sawtooth_cycle;
static void sawtooth_init(void)
{
	period = rng_range(&param_rng, 3, 6);
	rate = rng_range(&param_rng, 50, 150) * 1024;
	base_size = 256 + rng_below(&param_rng, 3841);
	PARAMS("period %.2f s, rate %.0f B/s (peak %.0f B), block %zu B",
	       period, rate, rate * period, base_size);
}

static void sawtooth_step(double t)
{
	long cycle = (long)(t / period);
	if (cycle != sawtooth_cycle) {
		drop_all();
		sawtooth_cycle = cycle;
	}
	grow_to(rate * (t - cycle * period), shape_sawtooth_alloc, base_size);
}

/* Every PERIOD (±10%) seconds, AMOUNT bytes at once that live LIFE s. */
static double batch_next, batch_free_at;
static void batch_init(void)
{
	period = rng_range(&param_rng, 3, 5);
	amount = rng_range(&param_rng, 200, 800) * 1024;
	life = rng_range(&param_rng, 1, 2);
	base_size = 1024 + rng_below(&param_rng, 7169);
	batch_next = period;
	PARAMS("every %.2f s, %.0f B living %.2f s, block %zu B", period,
	       amount, life, base_size);
}

static void batch_step(double t)
{
	if (shape_kept && t >= batch_free_at)
		drop_all();
	if (t < batch_next)
		return;
	grow_to(amount, shape_batch_alloc, base_size);
	batch_free_at = t + life;
	batch_next += period * rng_range(&shape_rng, 0.9, 1.1);
}

/* AMOUNT bytes over the first PERIOD (< 1) seconds, kept to the end. */
static void startup_init(void)
{
	amount = rng_range(&param_rng, 2, 6) * 1024 * 1024;
	period = rng_range(&param_rng, 0.5, 1);
	base_size = 1024 + rng_below(&param_rng, 15361);
	PARAMS("%.0f B over %.2f s, block %zu B", amount, period, base_size);
}

static void startup_step(double t)
{
	grow_to(t < period ? amount * t / period : amount, shape_startup_alloc,
		base_size);
}

/* size(t) = AMOUNT * (1 - exp(-t / PERIOD)): never above AMOUNT. */
static void saturating_init(void)
{
	amount = rng_range(&param_rng, 1, 2) * 1024 * 1024;
	period = run_s * rng_range(&param_rng, 0.15, 0.25);
	base_size = 256 + rng_below(&param_rng, 1793);
	PARAMS("cap %.0f B, tau %.1f s, block %zu B", amount, period,
	       base_size);
}

static void saturating_step(double t)
{
	grow_to(amount * (1 - exp_neg(t / period)), shape_saturating_alloc,
		base_size);
}

static void churn_init(void) { PARAMS("background churn only"); }
static void churn_step(double t) { (void)t; }

static const struct shape {
	const char *name;
	int leak;
	void (*init)(void);
	void (*step)(double t);
} shapes[] = {
#define S(name, leak) {#name, leak, name##_init, name##_step}
	S(steady, 1),  S(stepped, 1),  S(slow, 1),    S(late, 1),
	S(hidden, 1),  S(warmup, 0),   S(lru, 0),     S(sawtooth, 0),
	S(batch, 0),   S(startup, 0),  S(saturating, 0), S(churn, 0),
#undef S
};

static void usage(void)
{
	fputs("usage: shapes SHAPE SEED SECONDS (SHAPE: steady stepped slow late "
	      "hidden warmup lru sawtooth batch startup saturating churn)\n",
	      stderr);
	exit(2);
}

static double since(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 4)
		usage();
	const struct shape *shape = NULL;
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
		if (!strcmp(argv[1], shapes[i].name))
			shape = &shapes[i];
	char *end;
	errno = 0;
	uint64_t seed = strtoull(argv[2], &end, 0);
	if (!shape || errno || end == argv[2] || *end)
		usage();
	run_s = strtod(argv[3], &end);
	if (end == argv[3] || *end || !(run_s > 0 && run_s < 1e7))
		usage();

	/* Separate streams, so the parameters depend on SEED alone and the
	 * churn does not shift with the shape's own draws. */
	param_rng.s = seed;
	shape_rng.s = seed ^ 0x5851f42d4c957f2dULL;
	churn_rng.s = seed ^ 0x14057b7ef767814fULL;
	churn_rate = rng_range(&param_rng, 2000, 4000);
	shape->init();

	struct timespec t0, next;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	next = t0;
	double t;
	while ((t = since(&t0)) < run_s) {
		wheel_advance();
		background_churn();
		shape->step(t);
		tick_wait(&next, TICK_NS);
	}

	if (getenv("SHAPES_VERBOSE") && !strcmp(getenv("SHAPES_VERBOSE"), "1"))
		fprintf(stderr, "shapes: %s (%s) seed %" PRIu64 " %.1f s: %s; "
			"churn %.0f allocs/s; shape site retains %zu B in %zu blocks\n",
			shape->name, shape->leak ? "leak" : "benign", seed, t, params,
			churn_rate, shape_live_bytes, shape_live_blocks);
	return 0;
}
